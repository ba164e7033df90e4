"""Customer-facing JSON API (``/api/v1/me``): a contact's own tickets, never a note.

Every read goes through the same services with the customer as the actor, so the
customer scope (``tickets_readable_by``, ``messages_readable_by``) applies; a ticket
that is not theirs is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from opora.auth.models import User
from opora.contacts.models import Contact
from opora.fields import service as fields
from opora.tickets import repository, service
from opora.tickets.models import Message, Ticket
from opora.tickets.schemas import (
    AttachmentRead,
    CustomerMessageCreate,
    CustomerMessageRead,
    CustomerTicketCreate,
    CustomerTicketRead,
    Page,
    TicketCreated,
)
from opora.web.deps import CustomerActor, Session, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1/me", route_class=UnitOfWorkRoute, tags=["customer"])


async def _names(session: Session, messages: list[Message]) -> dict[tuple[str, int], str]:
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


async def _customer_fields(session: Session) -> frozenset[str]:
    """Keys of the ticket fields a customer may see; the others stay with the agents."""
    defs = await fields.definitions(session, entity="ticket", customer_only=True)
    return frozenset(d.key for d in defs)


async def _customer_read(
    session: Session,
    ticket: Ticket,
    detail: service.TicketDetail | None,
    shown_fields: frozenset[str],
) -> CustomerTicketRead:
    assignee_name = None
    if ticket.assignee_id:
        assignee_name = (
            await session.execute(select(User.name).where(User.id == ticket.assignee_id))
        ).scalar_one_or_none()
    messages: list[CustomerMessageRead] = []
    if detail is not None:
        names = await _names(session, detail.messages)
        for m in detail.messages:
            assert m.visibility == "public", "an internal note must never reach a customer"
            author = (
                names.get(("user", m.author_user_id or 0))
                or names.get(("contact", m.author_contact_id or 0))
                or ""
            )
            messages.append(
                CustomerMessageRead(
                    id=m.id,
                    author_kind=m.author_kind,
                    author_name=author,
                    body_text=m.body_text,
                    body_html=m.body_html,
                    attachments=[AttachmentRead.of(a) for a in detail.attachments.get(m.id, [])],
                    created_at=m.created_at,
                )
            )
    return CustomerTicketRead(
        id=ticket.id,
        number=ticket.number,
        subject=ticket.subject,
        status=ticket.status,
        type=ticket.type,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        assignee_name=assignee_name,
        custom_fields={k: v for k, v in ticket.custom_fields.items() if k in shown_fields},
        messages=messages,
    )


@router.get("/tickets", response_model=Page[CustomerTicketRead])
async def my_tickets(
    actor: CustomerActor,
    session: Session,
    status: str | None = None,
    q: Annotated[str | None, Query(max_length=500, description="words to search for")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: str | None = None,
) -> Page[CustomerTicketRead]:
    filters = repository.TicketFilters(status=tuple(s for s in (status or "").split(",") if s))
    tickets, _, next_cursor = await service.list_tickets(
        session, actor=actor, filters=filters, query=q, limit=limit, cursor=cursor
    )
    shown = await _customer_fields(session)
    return Page[CustomerTicketRead](
        items=[await _customer_read(session, t, None, shown) for t in tickets],
        next_cursor=next_cursor,
    )


@router.get("/tickets/{ticket_id}", response_model=CustomerTicketRead)
async def my_ticket(ticket_id: int, actor: CustomerActor, session: Session) -> CustomerTicketRead:
    detail = await service.get_ticket_detail(session, actor=actor, ticket_id=ticket_id)
    return await _customer_read(session, detail.ticket, detail, await _customer_fields(session))


@router.post("/tickets", status_code=201, response_model=TicketCreated)
async def submit(
    data: CustomerTicketCreate, actor: CustomerActor, session: Session
) -> TicketCreated:
    ticket = await service.submit_request(session, actor=actor, data=data, channel="api")
    return TicketCreated(id=ticket.id, number=ticket.number, status=ticket.status)


@router.post("/tickets/{ticket_id}/messages", status_code=201, response_model=CustomerTicketRead)
async def reply(
    ticket_id: int, data: CustomerMessageCreate, actor: CustomerActor, session: Session
) -> CustomerTicketRead:
    """Returns the ticket the reply landed on: a new follow-up when the old one was closed."""
    added = await service.add_customer_message(session, actor=actor, ticket_id=ticket_id, data=data)
    detail = await service.get_ticket_detail(session, actor=actor, ticket_id=added.ticket.id)
    return await _customer_read(session, detail.ticket, detail, await _customer_fields(session))
