"""Queries for users, groups, tokens, browser sessions and failed sign-ins."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor
from opora.auth.models import ApiToken, Group, GroupMembership, LoginAttempt, User, UserSession


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


# -- browser sessions -------------------------------------------------------------------


async def live_session_with_user(
    session: AsyncSession, *, token_hash: str, created_after: datetime, roles: Iterable[str]
) -> tuple[UserSession, User] | None:
    """The session with this token and its user, in one query: only if the session is not
    revoked, started after ``created_after``, and its user is active with one of ``roles``."""
    row = (
        await session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(
                UserSession.token_hash == token_hash,
                UserSession.revoked_at.is_(None),
                UserSession.created_at > created_after,
                User.is_active.is_(True),
                User.role.in_(list(roles)),
            )
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def live_sessions_of(
    session: AsyncSession, *, user_id: int, created_after: datetime
) -> list[UserSession]:
    rows = await session.execute(
        select(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.created_at > created_after,
        )
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return list(rows.scalars())


async def session_by_hash(session: AsyncSession, token_hash: str) -> UserSession | None:
    return (
        await session.execute(select(UserSession).where(UserSession.token_hash == token_hash))
    ).scalar_one_or_none()


# -- failed sign-ins --------------------------------------------------------------------


async def attempts_since(
    session: AsyncSession, *, keys: list[str], since: datetime
) -> dict[str, tuple[int, datetime]]:
    """Per key: how many attempts since ``since``, and the oldest of them."""
    rows = await session.execute(
        select(LoginAttempt.key, func.count(), func.min(LoginAttempt.attempted_at))
        .where(LoginAttempt.key.in_(keys), LoginAttempt.attempted_at >= since)
        .group_by(LoginAttempt.key)
    )
    return {key: (count, oldest) for key, count, oldest in rows}
