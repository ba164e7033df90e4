"""A ticket as rule conditions see it: a flat mapping of field names to values
(``automation.conditions.evaluate`` reads it). Built once per ticket and event by the
triggers, the SLA policies and the time rules.

Keys: ``status``, ``priority``, ``type``, ``channel``, ``group_id``, ``assignee_id``,
``requester_id``, ``organization_id``, ``line``, ``subject``, ``tags`` (a list),
``custom_fields.<key>``, ``organization.vip``, ``requester.email_domain``,
``requester.language``; with an event: ``event``, ``changes`` ({field: [old, new]}),
``message.visibility``, ``message.author``, ``message.text``, ``text`` (subject and the
message); for time rules: ``hours_since_created``, ``hours_since_updated``,
``hours_since_status_change``, ``hours_since_assigned`` and, with a calendar,
``business_hours_since_status_change``, ``business_hours_since_created`` and
``within_business_hours``; ``sla.breached`` and ``sla.warning`` (lists of target names).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from opora.contacts import repository as contacts_repository
from opora.contacts.models import Contact, Organization
from opora.sla.calendar import BusinessCalendar, business_minutes_between, is_open
from opora.tickets.models import Message, Tag, Ticket, TicketTag

# the snapshot's keys ``requester_facts`` reads (a contact, an address, an organization)
PEOPLE_FIELDS = frozenset({"requester.language", "requester.email_domain", "organization.vip"})


async def ticket_tags(session: AsyncSession, ticket_id: int) -> list[str]:
    rows = await session.execute(
        select(Tag.name)
        .join(TicketTag, TicketTag.tag_id == Tag.id)
        .where(TicketTag.ticket_id == ticket_id)
    )
    return sorted(rows.scalars())


async def requester_facts(session: AsyncSession, ticket: Ticket) -> dict[str, Any]:
    """The requester's email domain and language, the organization's VIP flag (one
    query: a ticket update's triggers wait for it)."""
    facts: dict[str, Any] = {"organization.vip": False}
    email = contacts_repository.primary_email_query(Contact.id).scalar_subquery()
    org = ticket.organization_id
    vip = (
        select(Organization.vip).where(Organization.id == org).scalar_subquery()
        if org is not None
        else literal(False)
    )
    row = (
        await session.execute(
            select(Contact.language, email, vip).where(Contact.id == ticket.requester_id)
        )
    ).one_or_none()
    if row is not None:
        language, address, is_vip = row
        facts["requester.language"] = language
        if address:
            facts["requester.email_domain"] = address.rpartition("@")[2].lower()
        facts["organization.vip"] = bool(is_vip)
    elif org is not None:
        found = await session.get(Organization, org)
        facts["organization.vip"] = bool(found and found.vip)
    return facts


def ticket_fields(ticket: Ticket) -> dict[str, Any]:
    snapshot: dict[str, Any] = {
        "status": ticket.status,
        "priority": ticket.priority,
        "type": ticket.type,
        "channel": ticket.channel,
        "group_id": ticket.group_id,
        "assignee_id": ticket.assignee_id,
        "requester_id": ticket.requester_id,
        "organization_id": ticket.organization_id,
        "line": ticket.line,
        "subject": ticket.subject,
    }
    for key, value in (ticket.custom_fields or {}).items():
        snapshot[f"custom_fields.{key}"] = value
    state = ticket.sla_state or {}
    snapshot["sla.breached"] = list(state.get("breached", []))
    snapshot["sla.warning"] = list(state.get("warned", []))
    return snapshot


async def build(
    session: AsyncSession,
    ticket: Ticket,
    *,
    event: str | None = None,
    changes: dict[str, list[Any]] | None = None,
    message: Message | None = None,
    with_people: bool = True,
    reads: Collection[str] | None = None,
) -> dict[str, Any]:
    """The snapshot of ``ticket`` for an event (or for a time rule: ``event`` None).
    With ``reads`` (``conditions.referenced_fields`` of the rules to evaluate), the
    tags and the requester's facts are read from the database only when a rule reads
    them: most rules look at the ticket's own fields, which cost no query."""
    snapshot = ticket_fields(ticket)
    if reads is None or "tags" in reads:
        snapshot["tags"] = await ticket_tags(session, ticket.id)
    if with_people and (reads is None or not PEOPLE_FIELDS.isdisjoint(reads)):
        snapshot.update(await requester_facts(session, ticket))
    if event is not None:
        snapshot["event"] = event
    snapshot["changes"] = changes or {}
    if message is not None:
        snapshot["message.visibility"] = message.visibility
        snapshot["message.author"] = {"contact": "customer", "user": "agent"}.get(
            message.author_kind, "system"
        )
        snapshot["message.text"] = message.body_text
        snapshot["text"] = f"{ticket.subject}\n{message.body_text}"
    else:
        snapshot["text"] = ticket.subject
    return snapshot


def add_ages(
    snapshot: dict[str, Any],
    ticket: Ticket,
    *,
    now: datetime,
    calendar: BusinessCalendar | None,
    only: Collection[str] | None = None,
) -> None:
    """The time-rule fields: hours since creation, update, status change, assignment.
    ``only`` (the fields a rule reads, ``conditions.referenced_fields``) skips the
    business-hours fields nobody reads: each walks the calendar from its start."""

    def hours(since: datetime | None) -> float | None:
        return (now - since).total_seconds() / 3600 if since is not None else None

    def wanted(name: str) -> bool:
        return only is None or name in only

    snapshot["hours_since_created"] = hours(ticket.created_at)
    snapshot["hours_since_updated"] = hours(ticket.updated_at)
    changed = ticket.status_changed_at or ticket.updated_at
    snapshot["hours_since_status_change"] = hours(changed)
    snapshot["hours_since_assigned"] = hours(ticket.assigned_at)
    if calendar is not None:
        if wanted("business_hours_since_status_change"):
            snapshot["business_hours_since_status_change"] = (
                business_minutes_between(changed, now, calendar) / 60 if changed else None
            )
        if wanted("business_hours_since_created"):
            snapshot["business_hours_since_created"] = (
                business_minutes_between(ticket.created_at, now, calendar) / 60
            )
        snapshot["within_business_hours"] = is_open(now, calendar)
