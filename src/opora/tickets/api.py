"""JSON API for agents: thin routers that parse, resolve the actor, call one service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import Response

from opora.errors import InvalidInput
from opora.kit.blobs import BlobStore
from opora.tickets import repository, service
from opora.tickets.models import Attachment, Message, Tag, Ticket
from opora.tickets.schemas import (
    AttachmentRead,
    EscalateIn,
    EventRead,
    LinkCreate,
    LinkRead,
    MergeIn,
    MessageCreate,
    MessageRead,
    Page,
    SlaRead,
    TagIn,
    TagRead,
    TicketCreate,
    TicketCreated,
    TicketListItem,
    TicketRead,
    TicketUpdate,
)
from opora.web.deps import AgentActor, CurrentActor, Session, UnitOfWorkRoute
from opora.web.downloads import file_response

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute, tags=["tickets"])


def message_read(message: Message, attachments: list[Attachment]) -> MessageRead:
    read = MessageRead.model_validate(message)
    read.attachments = [AttachmentRead.of(a) for a in attachments]
    return read


def list_item(ticket: Ticket, tags: list[str]) -> TicketListItem:
    item = TicketListItem.model_validate(ticket)
    item.tags = tags
    return item


def ticket_read(detail: service.TicketDetail) -> TicketRead:
    t = detail.ticket
    read = TicketRead.model_validate(t)
    read.tags = detail.tags
    read.follower_contact_ids = detail.follower_contact_ids
    read.links = [LinkRead.model_validate(link) for link in detail.links]
    state = t.sla_state or {}
    read.sla = SlaRead(
        policy_id=t.sla_policy_id,
        first_response_due_at=t.first_response_due_at,
        next_response_due_at=t.next_response_due_at,
        resolution_due_at=t.resolution_due_at,
        breached=list(state.get("breached", [])),
        warned=list(state.get("warned", [])),
        paused=state.get("paused_at") is not None,
    )
    read.messages = [message_read(m, detail.attachments.get(m.id, [])) for m in detail.messages]
    return read


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()


@router.post("/tickets", status_code=201, response_model=TicketCreated)
async def create_ticket(data: TicketCreate, actor: AgentActor, session: Session) -> TicketCreated:
    ticket = await service.create_ticket(session, actor=actor, data=data)
    return TicketCreated(id=ticket.id, number=ticket.number, status=ticket.status)


@router.get("/tickets", response_model=Page[TicketListItem])
async def list_tickets(
    actor: AgentActor,
    session: Session,
    status: Annotated[str | None, Query(description="comma-separated statuses")] = None,
    priority: str | None = None,
    type: str | None = None,
    channel: str | None = None,
    assignee_id: Annotated[str | None, Query(description="a user id, or 'none'")] = None,
    group_id: int | None = None,
    line: Annotated[int | None, Query(ge=1, le=4)] = None,
    tag: str | None = None,
    requester_id: int | None = None,
    organization_id: int | None = None,
    updated_since: datetime | None = None,
    q: Annotated[str | None, Query(max_length=500)] = None,
    sort: str = "-updated_at",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Page[TicketListItem]:
    unassigned = assignee_id == "none"
    assignee: int | None = None
    if assignee_id and not unassigned:
        if not assignee_id.isdigit():
            raise InvalidInput("assignee_id must be a user id or 'none'", field="assignee_id")
        assignee = int(assignee_id)
    if updated_since is not None and updated_since.tzinfo is None:
        raise InvalidInput("updated_since needs a time zone (e.g. Z)", field="updated_since")
    filters = repository.TicketFilters(
        status=_csv(status),
        priority=_csv(priority),
        type=_csv(type),
        channel=_csv(channel),
        assignee_id=assignee,
        unassigned=unassigned,
        group_id=group_id,
        line=line,
        tag=service.normalize_tag(tag) if tag and tag.strip() else None,
        requester_id=requester_id,
        organization_id=organization_id,
        updated_since=updated_since,
    )
    tickets, tags, next_cursor = await service.list_tickets(
        session, actor=actor, filters=filters, query=q, sort=sort, limit=limit, cursor=cursor
    )
    return Page[TicketListItem](
        items=[list_item(t, tags[t.id]) for t in tickets], next_cursor=next_cursor
    )


@router.get("/tickets/{ticket_id}", response_model=TicketRead)
async def get_ticket(ticket_id: int, actor: AgentActor, session: Session) -> TicketRead:
    return ticket_read(await service.get_ticket_detail(session, actor=actor, ticket_id=ticket_id))


@router.patch("/tickets/{ticket_id}", response_model=TicketRead)
async def update_ticket(
    ticket_id: int, data: TicketUpdate, actor: AgentActor, session: Session
) -> TicketRead:
    await service.update_ticket(session, actor=actor, ticket_id=ticket_id, data=data)
    return ticket_read(await service.get_ticket_detail(session, actor=actor, ticket_id=ticket_id))


@router.post("/tickets/{ticket_id}/messages", status_code=201, response_model=MessageRead)
async def add_message(
    ticket_id: int, data: MessageCreate, actor: AgentActor, session: Session
) -> MessageRead:
    added = await service.add_message(session, actor=actor, ticket_id=ticket_id, data=data)
    atts = await service.message_attachments(session, added.message)
    return message_read(added.message, atts)


@router.get("/tickets/{ticket_id}/events", response_model=list[EventRead])
async def ticket_events(ticket_id: int, actor: AgentActor, session: Session) -> list[EventRead]:
    events = await service.ticket_timeline(session, actor=actor, ticket_id=ticket_id)
    return [EventRead.model_validate(e) for e in events]


@router.post("/tickets/{ticket_id}/escalate", response_model=TicketRead)
async def escalate(
    ticket_id: int, data: EscalateIn, actor: AgentActor, session: Session
) -> TicketRead:
    await service.escalate_ticket(session, actor=actor, ticket_id=ticket_id, data=data)
    return ticket_read(await service.get_ticket_detail(session, actor=actor, ticket_id=ticket_id))


@router.post("/tickets/{ticket_id}/deescalate", response_model=TicketRead)
async def deescalate(
    ticket_id: int, data: EscalateIn, actor: AgentActor, session: Session
) -> TicketRead:
    """Back down to line 1 (or to ``group_id`` on a lower line), with the reason as a note."""
    await service.deescalate_ticket(session, actor=actor, ticket_id=ticket_id, data=data)
    return ticket_read(await service.get_ticket_detail(session, actor=actor, ticket_id=ticket_id))


@router.post("/tickets/{ticket_id}/merge", response_model=TicketRead)
async def merge(ticket_id: int, data: MergeIn, actor: AgentActor, session: Session) -> TicketRead:
    target = await service.merge_tickets(
        session, actor=actor, source_id=ticket_id, into_id=data.into_id
    )
    return ticket_read(await service.get_ticket_detail(session, actor=actor, ticket_id=target.id))


@router.post("/tickets/{ticket_id}/links", status_code=201, response_model=LinkRead)
async def link(ticket_id: int, data: LinkCreate, actor: AgentActor, session: Session) -> LinkRead:
    created = await service.link_ticket(session, actor=actor, ticket_id=ticket_id, data=data)
    return LinkRead.model_validate(created)


@router.delete("/tickets/{ticket_id}/links/{link_id}", status_code=204)
async def unlink(ticket_id: int, link_id: int, actor: AgentActor, session: Session) -> Response:
    await service.unlink_ticket(session, actor=actor, ticket_id=ticket_id, link_id=link_id)
    return Response(status_code=204)


# --- attachments (agents and customers) ----------------------------------------------------


@router.post("/uploads", status_code=201, response_model=AttachmentRead, tags=["attachments"])
async def upload(
    request: Request,
    actor: CurrentActor,
    session: Session,
    file: Annotated[UploadFile, File(description="the file to attach to a later message")],
) -> AttachmentRead:
    settings = request.app.state.settings
    limit = settings.max_attachment_bytes
    data = await file.read(limit + 1)
    att = await service.upload_attachment(
        session,
        actor=actor,
        store=BlobStore(settings.attachments_dir),
        filename=file.filename or "attachment",
        content_type=file.content_type,
        data=data,
        max_bytes=limit,
    )
    return AttachmentRead.of(att)


@router.get("/attachments/{attachment_id}", tags=["attachments"])
async def download(
    attachment_id: int, request: Request, actor: CurrentActor, session: Session
) -> Response:
    att = await service.get_attachment(session, actor=actor, attachment_id=attachment_id)
    store = BlobStore(request.app.state.settings.attachments_dir)
    return file_response(
        store.read(att.sha256), filename=att.filename, content_type=att.content_type
    )


# --- tags ----------------------------------------------------------------------------------


def _tag_read(tag: Tag, count: int = 0) -> TagRead:
    return TagRead(id=tag.id, name=tag.name, ticket_count=count)


@router.get("/tags", response_model=list[TagRead], tags=["tags"])
async def list_tags(actor: AgentActor, session: Session) -> list[TagRead]:
    return [_tag_read(t, n) for t, n in await service.list_tags(session, actor=actor)]


@router.post("/tags", status_code=201, response_model=TagRead, tags=["tags"])
async def create_tag(data: TagIn, actor: AgentActor, session: Session) -> TagRead:
    return _tag_read(await service.create_tag(session, actor=actor, name=data.name))


@router.patch("/tags/{tag_id}", response_model=TagRead, tags=["tags"])
async def rename_tag(tag_id: int, data: TagIn, actor: AgentActor, session: Session) -> TagRead:
    return _tag_read(await service.rename_tag(session, actor=actor, tag_id=tag_id, name=data.name))


@router.delete("/tags/{tag_id}", status_code=204, tags=["tags"])
async def delete_tag(tag_id: int, actor: AgentActor, session: Session) -> Response:
    await service.delete_tag(session, actor=actor, tag_id=tag_id)
    return Response(status_code=204)
