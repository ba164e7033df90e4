"""Ticket queries. ``tickets_readable_by(actor)`` is the one place that says who sees
which tickets; every query that reads tickets starts from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import TextualSelect

from opora.auth.actor import Actor
from opora.auth.models import Group, GroupMembership, User
from opora.contacts.models import Contact
from opora.errors import InvalidInput
from opora.kit.pagination import decode_cursor, encode_cursor
from opora.tickets.models import (
    Attachment,
    Message,
    Tag,
    Ticket,
    TicketEvent,
    TicketFollower,
    TicketLink,
    TicketTag,
    Visibility,
)


def tickets_readable_by(actor: Actor) -> Select[Ticket]:
    stmt = select(Ticket)
    if actor.sees_all_tickets:
        return stmt
    if actor.is_user:  # agents restricted to their groups
        conditions = [Ticket.assignee_id == actor.id]
        if actor.group_ids:
            conditions.append(Ticket.group_id.in_(sorted(actor.group_ids)))
        return stmt.where(or_(*conditions))
    if actor.is_customer:
        followed = select(TicketFollower.ticket_id).where(TicketFollower.contact_id == actor.id)
        conditions = [Ticket.requester_id == actor.id, Ticket.id.in_(followed)]
        if actor.sees_organization_tickets and actor.organization_id is not None:
            conditions.append(Ticket.organization_id == actor.organization_id)
        return stmt.where(or_(*conditions))
    return stmt.where(false())


def messages_readable_by(actor: Actor) -> Select[Message]:
    """Messages of readable tickets; a customer never gets an internal note."""
    stmt = select(Message)
    if not actor.is_customer and (actor.is_user or actor.is_system):
        return stmt
    return stmt.where(Message.visibility == Visibility.PUBLIC)


async def get_readable_ticket(
    session: AsyncSession, actor: Actor, ticket_id: int, *, for_update: bool = False
) -> Ticket | None:
    stmt = tickets_readable_by(actor).where(Ticket.id == ticket_id)
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def ticket_messages(session: AsyncSession, actor: Actor, ticket_id: int) -> list[Message]:
    stmt = (
        messages_readable_by(actor)
        .where(Message.ticket_id == ticket_id)
        .order_by(Message.created_at, Message.id)
    )
    return list((await session.execute(stmt)).scalars())


async def attachments_of(session: AsyncSession, message_ids: list[int]) -> list[Attachment]:
    if not message_ids:
        return []
    stmt = (
        select(Attachment)
        .where(Attachment.message_id.in_(message_ids))
        .order_by(Attachment.message_id, Attachment.id)
    )
    return list((await session.execute(stmt)).scalars())


async def tags_of(session: AsyncSession, ticket_ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {tid: [] for tid in ticket_ids}
    if not ticket_ids:
        return result
    stmt = (
        select(TicketTag.ticket_id, Tag.name)
        .join(Tag, Tag.id == TicketTag.tag_id)
        .where(TicketTag.ticket_id.in_(ticket_ids))
        .order_by(Tag.name)
    )
    for ticket_id, name in await session.execute(stmt):
        result[ticket_id].append(name)
    return result


async def followers_of(session: AsyncSession, ticket_id: int) -> list[TicketFollower]:
    stmt = select(TicketFollower).where(TicketFollower.ticket_id == ticket_id)
    return list((await session.execute(stmt)).scalars())


async def links_of(session: AsyncSession, ticket_id: int) -> list[TicketLink]:
    stmt = (
        select(TicketLink)
        .where(or_(TicketLink.source_id == ticket_id, TicketLink.target_id == ticket_id))
        .order_by(TicketLink.id)
    )
    return list((await session.execute(stmt)).scalars())


async def events_of(session: AsyncSession, ticket_id: int) -> list[TicketEvent]:
    stmt = (
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket_id)
        .order_by(TicketEvent.created_at, TicketEvent.id)
    )
    return list((await session.execute(stmt)).scalars())


@dataclass(frozen=True, slots=True)
class TicketFilters:
    status: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    type: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    assignee_id: int | None = None
    unassigned: bool = False
    group_id: int | None = None
    line: int | None = None
    tag: str | None = None
    requester_id: int | None = None
    organization_id: int | None = None
    updated_since: datetime | None = None
    group_ids: tuple[int, ...] | None = None  # group in these ("my groups"); () matches none
    line_at_least: int | None = None
    escalated: bool = False  # escalated_at is set
    solved_since: datetime | None = None
    ticket_ids: Select[Any] | TextualSelect | None = None  # e.g. a full-text match
    # when ticket_ids is a large set, walk the tickets in sort order and test membership
    # rather than fetch and sort every member (SQLite's planner does the latter)
    many_ticket_ids: bool = False


SORTS = {
    "updated_at": (Ticket.updated_at, False),
    "-updated_at": (Ticket.updated_at, True),
    "created_at": (Ticket.created_at, False),
    "-created_at": (Ticket.created_at, True),
    "number": (Ticket.number, False),
    "-number": (Ticket.number, True),
}


def apply_filters(stmt: Select[Ticket], f: TicketFilters) -> Select[Ticket]:
    if f.status:
        stmt = stmt.where(Ticket.status.in_(f.status))
    if f.priority:
        stmt = stmt.where(Ticket.priority.in_(f.priority))
    if f.type:
        stmt = stmt.where(Ticket.type.in_(f.type))
    if f.channel:
        stmt = stmt.where(Ticket.channel.in_(f.channel))
    if f.unassigned:
        stmt = stmt.where(Ticket.assignee_id.is_(None))
    elif f.assignee_id is not None:
        stmt = stmt.where(Ticket.assignee_id == f.assignee_id)
    if f.group_id is not None:
        stmt = stmt.where(Ticket.group_id == f.group_id)
    if f.line is not None:
        stmt = stmt.where(Ticket.line == f.line)
    if f.tag:
        tagged = (
            select(TicketTag.ticket_id)
            .join(Tag, Tag.id == TicketTag.tag_id)
            .where(Tag.name == f.tag)
        )
        stmt = stmt.where(Ticket.id.in_(tagged))
    if f.requester_id is not None:
        stmt = stmt.where(Ticket.requester_id == f.requester_id)
    if f.organization_id is not None:
        stmt = stmt.where(Ticket.organization_id == f.organization_id)
    if f.updated_since is not None:
        stmt = stmt.where(Ticket.updated_at >= f.updated_since)
    if f.group_ids is not None:
        stmt = stmt.where(Ticket.group_id.in_(f.group_ids) if f.group_ids else false())
    if f.line_at_least is not None:
        stmt = stmt.where(Ticket.line >= f.line_at_least)
    if f.escalated:
        stmt = stmt.where(Ticket.escalated_at.is_not(None))
    if f.solved_since is not None:
        stmt = stmt.where(Ticket.solved_at >= f.solved_since)
    if f.ticket_ids is not None:
        # "id + 0" keeps SQLite from driving the query by the id list
        key = (Ticket.id + 0) if f.many_ticket_ids else Ticket.id
        stmt = stmt.where(key.in_(f.ticket_ids))
    return stmt


async def list_tickets(
    session: AsyncSession,
    actor: Actor,
    filters: TicketFilters,
    *,
    sort: str = "-updated_at",
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Ticket], str | None]:
    if sort not in SORTS:
        raise InvalidInput(f"sort must be one of: {', '.join(SORTS)}", field="sort")
    column, descending = SORTS[sort]
    stmt = apply_filters(tickets_readable_by(actor), filters)
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != 2 or values[0] is None:
            raise InvalidInput("the cursor is not one this server gave out", field="cursor")
        raw, last_id = values
        try:  # a cursor comes back from the client: trust nothing in it
            key: Any = datetime.fromisoformat(raw) if column.key.endswith("_at") else int(raw)
            last_id = int(last_id)
        except (TypeError, ValueError):
            key = None
        if key is None or (isinstance(key, datetime) and key.tzinfo is None):
            raise InvalidInput("the cursor is not one this server gave out", field="cursor")
        if descending:
            stmt = stmt.where(or_(column < key, and_(column == key, Ticket.id < last_id)))
        else:
            stmt = stmt.where(or_(column > key, and_(column == key, Ticket.id > last_id)))
    order = (column.desc(), Ticket.id.desc()) if descending else (column.asc(), Ticket.id.asc())
    stmt = stmt.order_by(*order).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        value = getattr(last, column.key)
        next_cursor = encode_cursor(
            [value.isoformat() if isinstance(value, datetime) else value, last.id]
        )
    return rows, next_cursor


async def author_names(
    session: AsyncSession, messages: list[Message]
) -> dict[tuple[str, int], str]:
    """("user" | "contact", id) -> display name for the authors of these messages."""
    from opora.auth.models import User

    user_ids = {m.author_user_id for m in messages if m.author_user_id}
    contact_ids = {m.author_contact_id for m in messages if m.author_contact_id}
    names: dict[tuple[str, int], str] = {}
    if user_ids:
        for uid, name in await session.execute(
            select(User.id, User.name).where(User.id.in_(user_ids))
        ):
            names[("user", uid)] = name
    if contact_ids:
        for cid, name in await session.execute(
            select(Contact.id, Contact.name).where(Contact.id.in_(contact_ids))
        ):
            names[("contact", cid)] = name
    return names


async def user_names(session: AsyncSession, user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = await session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))
    return {uid: name for uid, name in rows}


async def previous_tickets(
    session: AsyncSession, actor: Actor, requester_id: int, *, exclude_id: int, limit: int = 10
) -> list[Ticket]:
    """The requester's other tickets the actor may read, the most recently updated first."""
    stmt = (
        tickets_readable_by(actor)
        .where(Ticket.requester_id == requester_id, Ticket.id != exclude_id)
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def active_groups(session: AsyncSession) -> list[Group]:
    stmt = select(Group).where(Group.is_active.is_(True)).order_by(Group.line, Group.name)
    return list((await session.execute(stmt)).scalars())


async def assignable_users(session: AsyncSession, group_id: int | None) -> list[User]:
    """Active staff who may take a ticket of this group: its members, or anyone without one."""
    stmt = select(User).where(User.is_active.is_(True))
    if group_id is not None:
        members = select(GroupMembership.user_id).where(GroupMembership.group_id == group_id)
        stmt = stmt.where(User.id.in_(members))
    return list((await session.execute(stmt.order_by(User.name, User.id))).scalars())
