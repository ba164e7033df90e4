"""Bulk changes from the inbox: one change made to many tickets, all or nothing.

Each ticket goes through the same use case as a single change (``update_ticket``,
``merge_tickets``), so the same rules hold (who may touch which ticket, closed tickets,
an assignee outside the group, status transitions) and the same timeline events are
written. Every ticket is tried, each in its own savepoint, so that the error can name
every ticket at fault; if any failed, ``BulkFailed`` is raised and the caller's savepoint
(``web.forms.attempt``) or transaction drops every change. Services never commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor, require_agent
from opora.errors import InvalidInput, OporaError
from opora.tickets import repository, service
from opora.tickets.models import Ticket
from opora.tickets.schemas import TicketUpdate

MAX_BULK = 100


@dataclass(frozen=True, slots=True)
class BulkFailure:
    ticket_id: int
    number: int | None  # None: not a ticket the actor may read
    code: str
    message: str
    field: str | None = None


class BulkFailed(InvalidInput):
    """Some tickets could not be changed; nothing was."""

    code = "bulk_failed"

    def __init__(self, failures: list[BulkFailure]) -> None:
        named = ", ".join(f"#{f.number}" if f.number else f"id {f.ticket_id}" for f in failures)
        super().__init__(f"nothing was changed; these tickets failed: {named}", field="ticket_ids")
        self.failures = failures


class BulkTooMany(InvalidInput):
    code = "bulk_too_many"


class BulkNothingChosen(InvalidInput):
    code = "bulk_nothing_chosen"


def _checked_ids(ticket_ids: list[int]) -> list[int]:
    ids = list(dict.fromkeys(ticket_ids))  # once each, in the order given
    if not ids:
        raise BulkNothingChosen("choose at least one ticket", field="ticket_ids")
    if len(ids) > MAX_BULK:
        raise BulkTooMany(
            f"at most {MAX_BULK} tickets can be changed at once; {len(ids)} were chosen",
            field="ticket_ids",
        )
    return ids


async def _numbers(session: AsyncSession, actor: Actor, ids: list[int]) -> dict[int, int]:
    """id -> number of the chosen tickets the actor may read."""
    stmt = (
        repository.tickets_readable_by(actor)
        .where(Ticket.id.in_(ids))
        .with_only_columns(Ticket.id, Ticket.number)
    )
    return {tid: number for tid, number in await session.execute(stmt)}


async def _each(
    session: AsyncSession,
    actor: Actor,
    ids: list[int],
    change: Callable[[int], Awaitable[Any]],
) -> None:
    numbers = await _numbers(session, actor, ids)
    failures: list[BulkFailure] = []
    for tid in ids:
        if tid not in numbers:
            failures.append(
                BulkFailure(tid, None, service.TicketNotFound.code, f"ticket {tid} not found")
            )
            continue
        try:
            async with session.begin_nested():
                await change(tid)
        except OporaError as exc:
            failures.append(BulkFailure(tid, numbers[tid], exc.code, exc.message, exc.field))
    if failures:
        raise BulkFailed(failures)


async def bulk_update_tickets(
    session: AsyncSession, *, actor: Actor, ticket_ids: list[int], data: TicketUpdate
) -> int:
    """Make the same change to every chosen ticket (as the ticket page would: solving
    needs a resolution summary); returns how many tickets were chosen."""
    require_agent(actor)
    ids = _checked_ids(ticket_ids)

    async def change(tid: int) -> None:
        await service.update_ticket(
            session, actor=actor, ticket_id=tid, data=data, require_resolution=True
        )

    await _each(session, actor, ids, change)
    return len(ids)


async def bulk_merge_tickets(
    session: AsyncSession, *, actor: Actor, ticket_ids: list[int], into_number: int
) -> tuple[Ticket, int]:
    """Merge the chosen tickets into the one numbered ``into_number`` (one of them, or
    another); returns the target and how many tickets were merged into it."""
    require_agent(actor)
    ids = _checked_ids(ticket_ids)
    try:
        target = await service.ticket_by_number(session, actor=actor, number=into_number)
    except service.TicketNotFound as exc:
        raise InvalidInput(f"there is no ticket #{into_number}", field="merge_into") from exc
    sources = [tid for tid in ids if tid != target.id]
    if not sources:
        raise BulkNothingChosen(
            "choose at least one ticket besides the one to merge into", field="ticket_ids"
        )
    target_id = target.id

    async def change(tid: int) -> None:
        await service.merge_tickets(session, actor=actor, source_id=tid, into_id=target_id)

    await _each(session, actor, sources, change)
    merged = await session.get(Ticket, target_id)
    assert merged is not None
    return merged, len(sources)
