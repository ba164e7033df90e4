"""View queries. ``views_readable_by(actor)`` starts every read of saved views: shared
views and the actor's own. Ticket counts start from ``tickets_readable_by``."""

from __future__ import annotations

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor
from opora.auth.models import Group, User
from opora.contacts.models import Contact
from opora.tickets.models import Ticket
from opora.tickets.repository import TicketFilters, apply_filters, tickets_readable_by
from opora.views.models import View


def views_readable_by(actor: Actor) -> Select[View]:
    stmt = select(View)
    if actor.is_system:
        return stmt
    if actor.is_user and actor.id is not None:
        return stmt.where(or_(View.owner_id.is_(None), View.owner_id == actor.id))
    return stmt.where(false())


async def saved_views(session: AsyncSession, actor: Actor) -> list[View]:
    stmt = views_readable_by(actor).order_by(View.position, View.id)
    return list((await session.execute(stmt)).scalars())


async def get_readable_view(session: AsyncSession, actor: Actor, view_id: int) -> View | None:
    stmt = views_readable_by(actor).where(View.id == view_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def highest_line(session: AsyncSession, group_ids: frozenset[int]) -> int | None:
    if not group_ids:
        return None
    stmt = select(func.max(Group.line)).where(Group.id.in_(sorted(group_ids)))
    line = (await session.execute(stmt)).scalar_one_or_none()
    return int(line) if line is not None else None


async def count_tickets(
    session: AsyncSession, actor: Actor, filters: TicketFilters, *, cap: int
) -> int:
    """How many readable tickets match, counting at most ``cap + 1`` of them: the count
    walks an index and stops there, so it never reads a million rows."""
    matching = (
        apply_filters(tickets_readable_by(actor), filters)
        .with_only_columns(Ticket.id)
        .limit(cap + 1)
        .subquery()
    )
    return int((await session.execute(select(func.count()).select_from(matching))).scalar_one())


async def count_tickets_many(
    session: AsyncSession, actor: Actor, filters: list[TicketFilters], *, cap: int
) -> list[int]:
    """``count_tickets`` for several filters in one statement (the sidebar's counts):
    one round trip instead of one per view."""
    if not filters:
        return []
    counts = [
        select(func.count())
        .select_from(
            apply_filters(tickets_readable_by(actor), f)
            .with_only_columns(Ticket.id)
            .limit(cap + 1)
            .subquery()
        )
        .scalar_subquery()
        for f in filters
    ]
    row = (await session.execute(select(*counts))).one()
    return [int(n) for n in row]


async def list_names(
    session: AsyncSession, tickets: list[Ticket]
) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """Names for a ticket list: (requesters, assignees, groups), each id -> name, in
    at most three queries."""
    contact_ids = sorted({t.requester_id for t in tickets})
    user_ids = sorted({t.assignee_id for t in tickets if t.assignee_id is not None})
    group_ids = sorted({t.group_id for t in tickets if t.group_id is not None})
    requesters: dict[int, str] = {}
    assignees: dict[int, str] = {}
    groups: dict[int, str] = {}
    if contact_ids:
        rows = await session.execute(
            select(Contact.id, Contact.name).where(Contact.id.in_(contact_ids))
        )
        requesters = {cid: name for cid, name in rows}
    if user_ids:
        rows = await session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))
        assignees = {uid: name for uid, name in rows}
    if group_ids:
        rows = await session.execute(select(Group.id, Group.name).where(Group.id.in_(group_ids)))
        groups = {gid: name for gid, name in rows}
    return requesters, assignees, groups


async def active_groups(session: AsyncSession) -> list[tuple[int, str]]:
    stmt = select(Group.id, Group.name).where(Group.is_active.is_(True))
    return [(gid, name) for gid, name in await session.execute(stmt.order_by(Group.name))]


async def active_agents(session: AsyncSession) -> list[tuple[int, str]]:
    stmt = select(User.id, User.name).where(User.is_active.is_(True))
    return [(uid, name) for uid, name in await session.execute(stmt.order_by(User.name))]
