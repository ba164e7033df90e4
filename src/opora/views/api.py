"""JSON API for views (agents only): the inbox sidebar and its ticket lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from opora.tickets.schemas import Page, TicketListItem
from opora.views import service
from opora.views.schemas import CountRead, ViewCreate, ViewRead, ViewUpdate
from opora.web.deps import AgentActor, Session, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute, tags=["views"])


def view_read(
    view: service.ViewDef, language: str, count: service.ViewCount | None = None
) -> ViewRead:
    return ViewRead(
        key=view.key,
        id=view.id,
        builtin=view.builtin,
        shared=view.shared,
        owner_id=view.owner_id,
        name=view.name(language),
        name_en=view.name_en,
        name_ru=view.name_ru,
        position=view.position,
        conditions=view.conditions,
        columns=view.columns,
        sort=view.sort,
        editable=view.editable,
        created_at=view.created_at,
        updated_at=view.updated_at,
        count=CountRead(count=count.count, capped=count.capped) if count else None,
    )


@router.get("/views", response_model=list[ViewRead])
async def list_views(actor: AgentActor, session: Session, counts: bool = True) -> list[ViewRead]:
    views = await service.list_views(session, actor=actor)
    found = await service.view_counts(session, actor=actor, views=views) if counts else {}
    return [view_read(v, actor.language, found.get(v.key)) for v in views]


@router.get("/views/counts", response_model=dict[str, CountRead])
async def view_counts(actor: AgentActor, session: Session) -> dict[str, CountRead]:
    found = await service.view_counts(session, actor=actor)
    return {key: CountRead(count=c.count, capped=c.capped) for key, c in found.items()}


@router.post("/views", status_code=201, response_model=ViewRead)
async def create_view(data: ViewCreate, actor: AgentActor, session: Session) -> ViewRead:
    view = await service.create_view(session, actor=actor, data=data)
    return view_read(view, actor.language)


@router.get("/views/{key}", response_model=ViewRead)
async def get_view(key: str, actor: AgentActor, session: Session) -> ViewRead:
    view = await service.get_view(session, actor=actor, view_key=key)
    return view_read(view, actor.language)


@router.patch("/views/{key}", response_model=ViewRead)
async def update_view(key: str, data: ViewUpdate, actor: AgentActor, session: Session) -> ViewRead:
    view = await service.update_view(session, actor=actor, view_key=key, data=data)
    return view_read(view, actor.language)


@router.delete("/views/{key}", status_code=204)
async def delete_view(key: str, actor: AgentActor, session: Session) -> None:
    await service.delete_view(session, actor=actor, view_key=key)


@router.get("/views/{key}/tickets", response_model=Page[TicketListItem])
async def view_tickets(
    key: str,
    actor: AgentActor,
    session: Session,
    sort: str | None = None,
    q: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Page[TicketListItem]:
    page = await service.view_tickets(
        session, actor=actor, view_key=key, cursor=cursor, limit=limit, sort=sort, query=q
    )
    items = []
    for ticket in page.tickets:
        item = TicketListItem.model_validate(ticket)
        item.tags = page.tags.get(ticket.id, [])
        items.append(item)
    return Page[TicketListItem](items=items, next_cursor=page.next_cursor)
