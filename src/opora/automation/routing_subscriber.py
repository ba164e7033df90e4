"""Routing follows the ticket: an in-transaction event subscriber.

A ticket is routed (``routing.route_ticket``, the group's own mode) when it has no
assignee, is waiting for us (``new`` or ``open``), and its group's ``assignment`` is not
manual, after:

- ``ticket.created``;
- ``ticket.updated`` that changed its group, or cleared its assignee. Clearing the
  assignee is taken as "give it to someone else": the ticket is routed again (the agent
  who cleared it may get it back only if routing picks them, as for anyone);
- ``ticket.escalated`` (and handed back down: the same event), whose new group gets it.

A ticket an agent assigns by hand has an assignee and is never routed. The subscriber
is installed after the automation triggers (a trigger may set the group of a new
ticket) and before the notifications (so "assigned to you" goes to the routed agent).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from opora import events
from opora.auth.models import Group
from opora.auth.schemas import AssignmentMode
from opora.automation import routing
from opora.tickets.models import Ticket

_EVENTS = frozenset({"ticket.created", "ticket.updated", "ticket.escalated"})


def _calls_for_routing(name: str, payload: dict[str, Any]) -> bool:
    if name != "ticket.updated":
        return True  # created, escalated: the ticket is new to its group
    changes: dict[str, list[Any]] = payload.get("changes") or {}
    assignee = changes.get("assignee_id")
    return "group_id" in changes or (assignee is not None and assignee[1] is None)


async def on_event(session: AsyncSession, event: events.DomainEvent) -> None:
    if event.name not in _EVENTS or not _calls_for_routing(event.name, event.payload):
        return
    ticket = await session.get(Ticket, event.payload.get("ticket_id"))
    if (
        ticket is None
        or ticket.assignee_id is not None
        or ticket.group_id is None
        or ticket.status not in routing.WAITING_STATUSES
    ):
        return
    group = await session.get(Group, ticket.group_id)
    if group is None or not group.is_active or group.assignment == AssignmentMode.MANUAL:
        return
    await routing.route_ticket(session, ticket)


def install() -> None:
    events.subscribe_in_transaction(on_event)
