"""Ticket queries. ``tickets_readable_by(actor)`` is the one place that says who sees
which tickets; every query that reads tickets starts from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, false, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.selectable import TextualSelect

from opora.auth.actor import Actor
from opora.auth.models import Group, GroupMembership, User
from opora.contacts.models import Contact
from opora.errors import InvalidInput
from opora.kit.pagination import decode_cursor, encode_cursor
from opora.tickets.models import (
    PRIORITY_RANK,
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
    if for_update and session.get_bind().dialect.name == "postgresql":  # locked, read afresh
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
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
    more_tags: tuple[str, ...] = ()  # further tags a ticket must also have
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


@dataclass(frozen=True, slots=True)
class SortKey:
    """One part of a sort: an expression that is never NULL, what its values are (for
    the cursor) and its direction. ``attr`` names the ticket attribute holding the value
    when the key is a plain column; a computed key is selected along with the ticket."""

    expr: Any  # a column or a SQL expression
    kind: str  # "int", "str" or "datetime"
    descending: bool
    attr: str | None = None


@dataclass(frozen=True, slots=True)
class Sort:
    keys: tuple[SortKey, ...]  # the last one is always the ticket id
    joins: tuple[str, ...] = ()  # "requester", "assignee", "group"


SUBJECT_KEY = 100
STATUS_ORDER = ("new", "open", "pending", "on_hold", "solved", "closed")
_FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)
_Requester = aliased(Contact, name="sort_requester")
_Assignee = aliased(User, name="sort_assignee")
_Group = aliased(Group, name="sort_group")
_JOINS: dict[str, tuple[Any, ColumnElement[bool]]] = {
    "requester": (_Requester, _Requester.id == Ticket.requester_id),
    "assignee": (_Assignee, _Assignee.id == Ticket.assignee_id),
    "group": (_Group, _Group.id == Ticket.group_id),
}


def _missing_last(column: Any) -> ColumnElement[int]:
    return case((column.is_(None), 1), else_=0)


# name -> the parts of the key: (expression, kind, attr, follows the direction?). A part
# that does not follow the direction keeps rows without a value last both ways.
_SORT_PARTS: dict[str, tuple[tuple[tuple[Any, str, str | None, bool], ...], tuple[str, ...]]] = {
    "updated_at": (((Ticket.updated_at, "datetime", "updated_at", True),), ()),
    "created_at": (((Ticket.created_at, "datetime", "created_at", True),), ()),
    "number": (((Ticket.number, "int", "number", True),), ()),
    # the first 100 characters (then the id): a total order whose cursor stays short
    "subject": (((func.substr(Ticket.subject, 1, SUBJECT_KEY), "str", None, True),), ()),
    "status": (((case({s: i for i, s in enumerate(STATUS_ORDER)}, value=Ticket.status,
                      else_=len(STATUS_ORDER)), "int", None, True),), ()),
    "priority": (((case({str(p): r for p, r in PRIORITY_RANK.items()}, value=Ticket.priority,
                        else_=0), "int", None, True),), ()),
    "requester": (((func.coalesce(_Requester.name, ""), "str", None, True),), ("requester",)),
    "assignee": (((_missing_last(Ticket.assignee_id), "int", None, False),
                  (func.coalesce(_Assignee.name, ""), "str", None, True)), ("assignee",)),
    "group": (((_missing_last(Ticket.group_id), "int", None, False),
               (func.coalesce(_Group.name, ""), "str", None, True),
               (Ticket.line, "int", "line", True)), ("group",)),
    "line": (((Ticket.line, "int", "line", True),), ()),
    "due_at": (((_missing_last(Ticket.due_at), "int", None, False),
                (func.coalesce(Ticket.due_at, literal(_FAR_FUTURE, Ticket.due_at.type)),
                 "datetime", None, True)), ()),
}  # fmt: skip


def _build_sorts() -> dict[str, Sort]:
    sorts: dict[str, Sort] = {}
    for name, (parts, joins) in _SORT_PARTS.items():
        for prefix, descending in (("", False), ("-", True)):
            keys = (
                *(SortKey(e, k, descending and follows, a) for e, k, a, follows in parts),
                SortKey(Ticket.id, "int", descending, "id"),
            )
            sorts[prefix + name] = Sort(keys=keys, joins=joins)
    return sorts


# "x" sorts ascending, "-x" descending; every sort ends with the ticket id so that the
# order is total and a cursor (the last row's key values) names one place in it
SORTS: dict[str, Sort] = _build_sorts()


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
    for name in f.more_tags:
        also = select(TicketTag.ticket_id).join(Tag, Tag.id == TicketTag.tag_id)
        stmt = stmt.where(Ticket.id.in_(also.where(Tag.name == name)))
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


_BAD_CURSOR = "the cursor is not one this server gave out"
MAX_CURSOR_TEXT = 1_000


def _cursor_values(cursor: str, keys: tuple[SortKey, ...]) -> list[Any]:
    """The key values in a cursor, checked against the sort's keys: a cursor comes back
    from the client, so nothing in it is trusted."""
    values = decode_cursor(cursor)
    if len(values) != len(keys):
        raise InvalidInput(_BAD_CURSOR, field="cursor")
    result: list[Any] = []
    for key, raw in zip(keys, values, strict=True):
        value: Any = None
        ok_int = key.kind == "int" and type(raw) is int
        if ok_int or (key.kind == "str" and isinstance(raw, str) and len(raw) <= MAX_CURSOR_TEXT):
            value = raw
        elif key.kind == "datetime" and isinstance(raw, str):
            try:
                value = datetime.fromisoformat(raw)
            except ValueError:
                value = None
            if value is not None and value.tzinfo is None:
                value = None
        if value is None:
            raise InvalidInput(_BAD_CURSOR, field="cursor")
        result.append(value)
    return result


def _after(keys: tuple[SortKey, ...], values: list[Any]) -> ColumnElement[bool]:
    """Rows after the cursor's row: (k1 > v1) or (k1 = v1 and k2 > v2) or ..., each key
    compared in its own direction."""
    clauses = []
    for i, key in enumerate(keys):
        beyond = key.expr < values[i] if key.descending else key.expr > values[i]
        clauses.append(and_(*(keys[j].expr == values[j] for j in range(i)), beyond))
    return or_(*clauses)


def _encode(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def page_statement(
    actor: Actor, filters: TicketFilters, spec: Sort, *, limit: int, cursor: str | None
) -> Select[Any]:
    """The query of one page: the tickets (and any computed sort keys) after the cursor."""
    stmt: Select[Any] = apply_filters(tickets_readable_by(actor), filters)
    for name in spec.joins:
        target, onclause = _JOINS[name]
        stmt = stmt.outerjoin(target, onclause)
    computed = [key.expr for key in spec.keys if key.attr is None]
    if computed:
        stmt = stmt.add_columns(*computed)
    if cursor:
        stmt = stmt.where(_after(spec.keys, _cursor_values(cursor, spec.keys)))
    return stmt.order_by(
        *(key.expr.desc() if key.descending else key.expr.asc() for key in spec.keys)
    ).limit(limit + 1)


async def list_tickets(
    session: AsyncSession,
    actor: Actor,
    filters: TicketFilters,
    *,
    sort: str = "-updated_at",
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Ticket], str | None]:
    """A page of tickets in a sort of ``SORTS``, with keyset pagination: the cursor holds
    the last row's key values, so every page is one indexed (or top-N) read."""
    spec = SORTS.get(sort)
    if spec is None:
        raise InvalidInput(f"sort must be one of: {', '.join(SORTS)}", field="sort")
    stmt = page_statement(actor, filters, spec, limit=limit, cursor=cursor)
    computed = any(key.attr is None for key in spec.keys)
    result = await session.execute(stmt)
    rows = list(result.all()) if computed else [(t,) for t in result.scalars()]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        extra = iter(last[1:])
        next_cursor = encode_cursor(
            [_encode(getattr(last[0], key.attr) if key.attr else next(extra)) for key in spec.keys]
        )
    return [row[0] for row in rows[:limit]], next_cursor


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


async def organization_tickets(
    session: AsyncSession,
    actor: Actor,
    organization_id: int,
    *,
    exclude_id: int,
    exclude_requester_id: int,
    limit: int = 10,
) -> list[Ticket]:
    """The organization's other tickets the actor may read, the most recently updated
    first, leaving out the requester's own (``previous_tickets`` has those). One query
    down ix_tickets_organization_updated."""
    stmt = (
        tickets_readable_by(actor)
        .where(
            Ticket.organization_id == organization_id,
            Ticket.id != exclude_id,
            Ticket.requester_id != exclude_requester_id,
        )
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
