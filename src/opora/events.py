"""Domain events: recorded inside a transaction, handled in it, dispatched after it commits.

A service calls ``record(session, DomainEvent(...))``. Two kinds of subscribers:

- **In the transaction** (``subscribe_in_transaction``): the unit of work calls
  ``run_in_transaction(session)`` just before it commits; each such subscriber gets the
  session and every event recorded so far, and writes what must happen because of it in
  the same transaction — outbox job rows (notification emails, replies to send). A
  failure there fails the whole transaction, so a change and its side effects commit or
  roll back together. Events they record are handled too (up to ``MAX_ROUNDS`` rounds).
- **After commit** (``subscribe``): ``dispatch_committed(session)`` runs after a
  successful commit (the realtime hub); a rolled-back transaction's events are dropped
  with it, and a failing subscriber is logged and never undoes the committed change.
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
TransactionalSubscriber = Callable[[AsyncSession, DomainEvent], Awaitable[None]]
_in_transaction: list[TransactionalSubscriber] = []
_DONE_KEY = "opora.events_handled"  # how many pending events the in-transaction round saw
MAX_ROUNDS = 5


def subscribe_in_transaction(subscriber: TransactionalSubscriber) -> None:
    if subscriber not in _in_transaction:
        _in_transaction.append(subscriber)


def unsubscribe_in_transaction(subscriber: TransactionalSubscriber) -> None:
    if subscriber in _in_transaction:
        _in_transaction.remove(subscriber)


async def run_in_transaction(session: AsyncSession) -> None:
    """Hand each event not yet handled to the in-transaction subscribers, until none is
    left (events they record are handled in the next round)."""
    for _ in range(MAX_ROUNDS):
        pending_events: list[DomainEvent] = session.info.get(_KEY, [])
        start = session.info.get(_DONE_KEY, 0)
        if start >= len(pending_events):
            return
        session.info[_DONE_KEY] = len(pending_events)
        for event in pending_events[start:]:
            for subscriber in list(_in_transaction):
                await subscriber(session, event)
    raise RuntimeError(f"events still being recorded after {MAX_ROUNDS} rounds: a loop")


def mark(session: AsyncSession) -> int:
    """A position in the pending events, for ``forget_since`` (a savepoint's start)."""
    return len(session.info.get(_KEY, []))


def forget_since(session: AsyncSession, position: int) -> None:
    """Drop the events recorded after ``position``: their savepoint rolled back."""
    pending_events: list[DomainEvent] = session.info.get(_KEY, [])
    del pending_events[position:]
    if session.info.get(_DONE_KEY, 0) > position:
        session.info[_DONE_KEY] = position


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
    session.info.pop(_DONE_KEY, None)
    for event in committed:
        for subscriber in list(_subscribers):
            try:
                await subscriber(event)
            except Exception:  # a subscriber must never undo a committed change
                log.exception("event subscriber failed for %s", event.name)
    return committed
