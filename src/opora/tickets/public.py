"""Customer-facing JSON API (``/api/v1/me``): a contact's own tickets, never a note.

Every read goes through the same services with the customer as the actor, so the
customer scope (``tickets_readable_by``, ``messages_readable_by``) applies; a ticket
that is not theirs is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from opora.tickets import repository, service
from opora.tickets.models import Ticket
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


def _customer_read(
    ticket: Ticket, detail: service.TicketDetail | None, view: service.CustomerView
) -> CustomerTicketRead:
    messages: list[CustomerMessageRead] = []
    if detail is not None:
        for m in detail.messages:
            assert m.visibility == "public", "an internal note must never reach a customer"
            author = (
                view.author_names.get(("user", m.author_user_id or 0))
                or view.author_names.get(("contact", m.author_contact_id or 0))
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
        assignee_name=view.assignee_names.get(ticket.assignee_id or 0),
        custom_fields={k: v for k, v in ticket.custom_fields.items() if k in view.shown_fields},
        messages=messages,
    )


async def _detail_read(session: Session, detail: service.TicketDetail) -> CustomerTicketRead:
    view = await service.customer_view(session, tickets=[detail.ticket], messages=detail.messages)
    return _customer_read(detail.ticket, detail, view)


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
    view = await service.customer_view(session, tickets=tickets, messages=[])
    return Page[CustomerTicketRead](
        items=[_customer_read(t, None, view) for t in tickets], next_cursor=next_cursor
    )


@router.get("/tickets/{ticket_id}", response_model=CustomerTicketRead)
async def my_ticket(ticket_id: int, actor: CustomerActor, session: Session) -> CustomerTicketRead:
    detail = await service.get_ticket_detail(session, actor=actor, ticket_id=ticket_id)
    return await _detail_read(session, detail)


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
    return await _detail_read(session, detail)
