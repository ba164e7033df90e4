"""JSON API for users, groups and API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Response

from opora.auth import service
from opora.auth.models import Group, User
from opora.auth.schemas import (
    AvailabilityRead,
    AvailabilityUpdate,
    GroupCreate,
    GroupRead,
    GroupUpdate,
    TokenCreate,
    TokenCreated,
    UserCreate,
    UserRead,
    UserUpdate,
)
from opora.web.deps import AgentActor, Session, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute, tags=["users and groups"])


async def _user_reads(session: Session, users: list[User]) -> list[UserRead]:
    groups = await service.group_ids_by_user(session, users)
    reads = []
    for u in users:
        read = UserRead.model_validate(u)
        read.group_ids = groups[u.id]
        reads.append(read)
    return reads


async def _group_read(session: Session, group: Group) -> GroupRead:
    read = GroupRead.model_validate(group)
    read.member_ids = await service.member_ids(session, group)
    return read


@router.get("/users/me", response_model=UserRead)
async def me(actor: AgentActor, session: Session) -> UserRead:
    user = await service.get_user(session, actor=actor, user_id=actor.id or 0)
    return (await _user_reads(session, [user]))[0]


@router.put("/users/me/availability", response_model=AvailabilityRead)
async def set_own_availability(
    data: AvailabilityUpdate, actor: AgentActor, session: Session
) -> AvailabilityRead:
    """Online, away or offline; going offline hands waiting tickets back to routing in
    the groups that ask for it (``reassigned`` says how many)."""
    user, moved = await service.set_availability(
        session, actor=actor, availability=data.availability
    )
    return AvailabilityRead(user_id=user.id, availability=user.availability, reassigned=moved)


@router.put("/users/{user_id}/availability", response_model=AvailabilityRead)
async def set_availability(
    user_id: int, data: AvailabilityUpdate, actor: AgentActor, session: Session
) -> AvailabilityRead:
    """An admin sets anyone's availability (users their own)."""
    user, moved = await service.set_availability(
        session, actor=actor, availability=data.availability, user_id=user_id
    )
    return AvailabilityRead(user_id=user.id, availability=user.availability, reassigned=moved)


@router.get("/users", response_model=list[UserRead])
async def list_users(actor: AgentActor, session: Session) -> list[UserRead]:
    return await _user_reads(session, await service.list_users(session, actor=actor))


@router.post("/users", status_code=201, response_model=UserRead)
async def create_user(data: UserCreate, actor: AgentActor, session: Session) -> UserRead:
    user = await service.create_user(session, actor=actor, data=data)
    return (await _user_reads(session, [user]))[0]


@router.get("/users/{user_id}", response_model=UserRead)
async def get_user(user_id: int, actor: AgentActor, session: Session) -> UserRead:
    user = await service.get_user(session, actor=actor, user_id=user_id)
    return (await _user_reads(session, [user]))[0]


@router.patch("/users/{user_id}", response_model=UserRead)
async def update_user(
    user_id: int, data: UserUpdate, actor: AgentActor, session: Session
) -> UserRead:
    user = await service.update_user(session, actor=actor, user_id=user_id, data=data)
    return (await _user_reads(session, [user]))[0]


@router.delete("/users/{user_id}", status_code=204)
async def deactivate_user(user_id: int, actor: AgentActor, session: Session) -> Response:
    await service.deactivate_user(session, actor=actor, user_id=user_id)
    return Response(status_code=204)


@router.post("/users/me/tokens", status_code=201, response_model=TokenCreated)
async def create_own_token(data: TokenCreate, actor: AgentActor, session: Session) -> TokenCreated:
    token, raw = await service.create_token(session, user_id=actor.id, name=data.name)
    return TokenCreated(id=token.id, token=raw, prefix=token.prefix)


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: int, actor: AgentActor, session: Session) -> Response:
    await service.revoke_token(session, actor=actor, token_id=token_id)
    return Response(status_code=204)


@router.get("/groups", response_model=list[GroupRead])
async def list_groups(actor: AgentActor, session: Session) -> list[GroupRead]:
    return [await _group_read(session, g) for g in await service.list_groups(session, actor=actor)]


@router.post("/groups", status_code=201, response_model=GroupRead)
async def create_group(data: GroupCreate, actor: AgentActor, session: Session) -> GroupRead:
    return await _group_read(session, await service.create_group(session, actor=actor, data=data))


@router.get("/groups/{group_id}", response_model=GroupRead)
async def get_group(group_id: int, actor: AgentActor, session: Session) -> GroupRead:
    group = await service.get_group(session, actor=actor, group_id=group_id)
    return await _group_read(session, group)


@router.patch("/groups/{group_id}", response_model=GroupRead)
async def update_group(
    group_id: int, data: GroupUpdate, actor: AgentActor, session: Session
) -> GroupRead:
    group = await service.update_group(session, actor=actor, group_id=group_id, data=data)
    return await _group_read(session, group)


@router.delete("/groups/{group_id}", status_code=204)
async def delete_group(group_id: int, actor: AgentActor, session: Session) -> Response:
    await service.delete_group(session, actor=actor, group_id=group_id)
    return Response(status_code=204)
