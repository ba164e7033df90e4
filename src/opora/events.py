"""Domain events: recorded inside a transaction, dispatched after it commits.

A service calls ``record(session, DomainEvent(...))``. The unit of work calls
``dispatch_committed(session)`` after a successful commit; a rolled-back transaction's
events are dropped with it. Subscribers (the realtime hub, later automation) register
with ``subscribe``; a failing subscriber is logged and never breaks the request.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

_KEY = "opora.pending_events"


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """``name`` is ``noun.past_verb`` (``ticket.escalated``); payload holds ids."""

    name: str
    payload: dict[str, Any]
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


Subscriber = Callable[[DomainEvent], Awaitable[None]]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> None:
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def unsubscribe(subscriber: Subscriber) -> None:
    if subscriber in _subscribers:
        _subscribers.remove(subscriber)


def record(session: AsyncSession, event: DomainEvent) -> None:
    session.info.setdefault(_KEY, []).append(event)


def pending(session: AsyncSession) -> list[DomainEvent]:
    return list(session.info.get(_KEY, []))


async def dispatch_committed(session: AsyncSession) -> list[DomainEvent]:
    committed: list[DomainEvent] = session.info.pop(_KEY, [])
    for event in committed:
        for subscriber in list(_subscribers):
            try:
                await subscriber(event)
            except Exception:  # a subscriber must never undo a committed change
                log.exception("event subscriber failed for %s", event.name)
    return committed
