"""A short-lived, per-process cache of authenticated actors, keyed by token hash.

Resolving a token costs three queries (token, user, memberships) on every request. The
cache keeps the result for ``TTL_SECONDS``. Any change that could alter an actor (role,
groups, deactivation, a revoked token) clears the whole cache in this process at once and
again after its commit; other processes see the change within ``TTL_SECONDS``.
"""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncSession

from opora import events
from opora.auth.actor import Actor

TTL_SECONDS = 10.0
MAX_ENTRIES = 10_000
CHANGED = "auth.actors_changed"

_entries: dict[str, tuple[float, Actor]] = {}


def get(token_hash: str) -> Actor | None:
    entry = _entries.get(token_hash)
    if entry is None:
        return None
    expires, actor = entry
    if expires < time.monotonic():
        _entries.pop(token_hash, None)
        return None
    return actor


def put(token_hash: str, actor: Actor) -> None:
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()
    _entries[token_hash] = (time.monotonic() + TTL_SECONDS, actor)


def clear() -> None:
    _entries.clear()


def invalidate(session: AsyncSession) -> None:
    """Call from any service that changes who an actor is or whether a token works."""
    clear()
    events.record(session, events.DomainEvent(CHANGED, {}))


async def _on_event(event: events.DomainEvent) -> None:
    if event.name == CHANGED:
        clear()


events.subscribe(_on_event)
