"""Customer-facing JSON API (``/api/v1/me``): a contact's own tickets, never a note.

Every read goes through the same services with the customer as the actor, so the
customer scope (``tickets_readable_by``, ``messages_readable_by``) applies; a ticket
that is not theirs is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from opora.tickets import repository, service
from opora.tickets.customer import customer_read, customer_ticket, detail_read
from opora.tickets.schemas import (
    CustomerMessageCreate,
    CustomerTicketCreate,
    CustomerTicketRead,
    Page,
    TicketCreated,
)
from opora.web.deps import CustomerActor, Session, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1/me", route_class=UnitOfWorkRoute, tags=["customer"])


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
        items=[customer_read(t, None, view) for t in tickets], next_cursor=next_cursor
    )


@router.get("/tickets/{ticket_id}", response_model=CustomerTicketRead)
async def my_ticket(ticket_id: int, actor: CustomerActor, session: Session) -> CustomerTicketRead:
    return await customer_ticket(session, actor=actor, ticket_id=ticket_id)


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
    return await detail_read(session, detail)
