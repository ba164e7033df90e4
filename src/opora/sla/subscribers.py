"""The SLA clock follows the ticket: an in-transaction event subscriber (installed before
the notifications, so a receipt already knows the first-response due time)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from opora import events
from opora.kit.time import utcnow
from opora.sla import service
from opora.tickets.models import Message, Ticket, TicketStatus


async def on_event(session: AsyncSession, event: events.DomainEvent) -> None:
    name = event.name
    if name not in _INTERESTING:
        return
    payload = event.payload
    ticket = await session.get(Ticket, payload.get("ticket_id"))
    if ticket is None:
        return
    now = utcnow()
    if name == "ticket.created":
        await service.assign_policy(session, ticket, now=now)
    elif name in ("ticket.updated", "ticket.escalated"):
        await _updated(session, ticket, payload, now)
    elif name == "ticket.merged":
        if ticket.status == TicketStatus.CLOSED:
            await service.on_status_change(
                session, ticket, old=TicketStatus.OPEN, new=TicketStatus.CLOSED, at=now
            )
    elif name == "message.created":
        await _message(session, ticket, payload, now)


async def _updated(
    session: AsyncSession, ticket: Ticket, payload: dict[str, Any], now: Any
) -> None:
    changes: dict[str, list[Any]] = payload.get("changes") or {}
    status = changes.get("status")
    if status is not None:
        await service.on_status_change(session, ticket, old=status[0], new=status[1], at=now)
    fields = set(payload.get("fields") or []) | set(changes)
    if payload.get("from_line") is not None or fields & service.POLICY_INPUTS:
        await service.assign_policy(session, ticket, now=now)


async def _message(
    session: AsyncSession, ticket: Ticket, payload: dict[str, Any], now: Any
) -> None:
    if payload.get("visibility") != "public":
        return
    status = (payload.get("changes") or {}).get("status")
    if status is not None:
        await service.on_status_change(session, ticket, old=status[0], new=status[1], at=now)
    message = await session.get(Message, payload.get("message_id"))
    if message is None:
        return
    if message.author_kind == "user":
        await service.on_agent_reply(session, ticket, at=message.created_at)
    elif message.author_kind == "contact" and not payload.get("quiet"):
        await service.on_customer_message(session, ticket, at=message.created_at)


_INTERESTING = frozenset(
    {"ticket.created", "ticket.updated", "ticket.escalated", "ticket.merged", "message.created"}
)


def install() -> None:
    events.subscribe_in_transaction(on_event)
