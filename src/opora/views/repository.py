"""View queries. ``views_readable_by(actor)`` starts every read of saved views: shared
views and the actor's own. Ticket counts start from ``tickets_readable_by``."""

from __future__ import annotations

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor
from opora.auth.models import Group
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
