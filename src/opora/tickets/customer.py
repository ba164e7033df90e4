"""A ticket as its customer reads it: the one builder behind the customer API
(``public.py``: ``/api/v1/me/tickets``) and the agent's "view as the customer" preview
(``pages.py``: ``/tickets/{id}/customer-view``), so the preview cannot show more than the
customer gets.

The ticket and its messages are read with the customer as the actor, so the customer scope
(``tickets_readable_by``, ``messages_readable_by``) has already dropped internal notes;
the builder still refuses one, loudly.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor
from opora.fields import service as fields_service
from opora.fields.models import CustomField
from opora.tickets import service
from opora.tickets.models import Ticket
from opora.tickets.schemas import AttachmentRead, CustomerMessageRead, CustomerTicketRead


def customer_read(
    ticket: Ticket, detail: service.TicketDetail | None, view: service.CustomerView
) -> CustomerTicketRead:
    """The customer's fields of ``ticket``; with ``detail``, its public messages too."""
    messages: list[CustomerMessageRead] = []
    if detail is not None:
        for m in detail.messages:
            if m.visibility != "public":  # not an assert: it must hold under python -O too
                raise RuntimeError("an internal note must never reach a customer")
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


async def detail_read(session: AsyncSession, detail: service.TicketDetail) -> CustomerTicketRead:
    view = await service.customer_view(session, tickets=[detail.ticket], messages=detail.messages)
    return customer_read(detail.ticket, detail, view)


async def customer_ticket(
    session: AsyncSession, *, actor: Actor, ticket_id: int
) -> CustomerTicketRead:
    """One ticket with its public messages, read by the customer ``actor`` (a 404 when it
    is not theirs)."""
    detail = await service.get_ticket_detail(session, actor=actor, ticket_id=ticket_id)
    return await detail_read(session, detail)


async def shown_fields(session: AsyncSession, read: CustomerTicketRead) -> list[CustomField]:
    """The definitions of the custom fields the customer's rendering shows (for labels)."""
    return [
        d
        for d in await fields_service.list_fields(session, entity="ticket")
        if d.key in read.custom_fields
    ]
