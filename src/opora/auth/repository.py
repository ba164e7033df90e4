"""Queries for users, groups and tokens."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor
from opora.auth.models import ApiToken, Group, GroupMembership, User


def users_readable_by(actor: Actor) -> Select[User]:
    """Agents see their colleagues; customers see no user records through this path."""
    stmt = select(User)
    if not (actor.is_user or actor.is_system):
        return stmt.where(False)  # type: ignore[arg-type]
    return stmt


def groups_readable_by(actor: Actor) -> Select[Group]:
    stmt = select(Group)
    if not (actor.is_user or actor.is_system):
        return stmt.where(False)  # type: ignore[arg-type]
    return stmt


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()


async def group_ids_of(session: AsyncSession, user_id: int) -> list[int]:
    rows = await session.execute(
        select(GroupMembership.group_id).where(GroupMembership.user_id == user_id)
    )
    return list(rows.scalars())


async def member_ids_of(session: AsyncSession, group_id: int) -> list[int]:
    rows = await session.execute(
        select(GroupMembership.user_id).where(GroupMembership.group_id == group_id)
    )
    return list(rows.scalars())


async def is_member(session: AsyncSession, *, user_id: int, group_id: int) -> bool:
    row = await session.execute(
        select(GroupMembership.id).where(
            GroupMembership.user_id == user_id, GroupMembership.group_id == group_id
        )
    )
    return row.first() is not None


async def token_by_hash(session: AsyncSession, token_hash: str) -> ApiToken | None:
    return (
        await session.execute(select(ApiToken).where(ApiToken.token_hash == token_hash))
    ).scalar_one_or_none()


async def group_ids_by_user(session: AsyncSession, user_ids: list[int]) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {uid: [] for uid in user_ids}
    if not user_ids:
        return result
    rows = await session.execute(
        select(GroupMembership.user_id, GroupMembership.group_id)
        .where(GroupMembership.user_id.in_(user_ids))
        .order_by(GroupMembership.group_id)
    )
    for uid, gid in rows:
        result[uid].append(gid)
    return result
