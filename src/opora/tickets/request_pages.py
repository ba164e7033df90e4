"""The customer's link to their request, from our emails: ``/requests/{id}/{token}``.

No sign-in: the token (``rules.request_token``: the ticket and its requester signed with
the secret key) is the key, as in the help desks customers know. The page is the
customer's own rendering of the ticket (``tickets/customer.py``, read with the requester
as the actor, so internal notes are never loaded) in the requester's language; its files
download through the same link. A wrong token is a 404 like a missing ticket.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response

from opora.auth import service as auth_service
from opora.config import load_secret_key
from opora.contacts.models import Contact
from opora.kit.blobs import BlobStore
from opora.tickets import rules, service
from opora.tickets.customer import customer_ticket, shown_fields
from opora.tickets.models import Ticket
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.downloads import file_response
from opora.web.templating import render

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


async def _requester(
    request: Request, session: Session, ticket_id: int, token: str
) -> Contact | None:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        return None
    secret = load_secret_key(request.app.state.settings)
    expected = rules.request_token(secret, ticket.id, ticket.requester_id)
    if not hmac.compare_digest(expected, token):
        return None
    return await session.get(Contact, ticket.requester_id)


def _not_found(request: Request) -> Response:
    return render(request, "portal/not_found.html", status_code=404)


@router.get("/requests/{ticket_id}/{token}")
async def request_page(request: Request, session: Session, ticket_id: int, token: str) -> Response:
    requester = await _requester(request, session, ticket_id, token)
    if requester is None:
        return _not_found(request)
    actor = auth_service.actor_for_contact(requester)
    try:
        read = await customer_ticket(session, actor=actor, ticket_id=ticket_id)
    except service.TicketNotFound:
        return _not_found(request)
    shown = await shown_fields(session, read)
    return render(
        request,
        "portal/ticket.html",
        lang=requester.language if requester.language in ("en", "ru") else None,
        t=read,
        customer_fields=shown,
        attachment_base=f"/requests/{ticket_id}/{token}/attachments/",
        preview_of=None,
        back_url=None,
    )


@router.get("/requests/{ticket_id}/{token}/attachments/{attachment_id}")
async def request_attachment(
    request: Request, session: Session, ticket_id: int, token: str, attachment_id: int
) -> Response:
    requester = await _requester(request, session, ticket_id, token)
    if requester is None:
        return _not_found(request)
    actor = auth_service.actor_for_contact(requester)
    try:
        att = await service.get_attachment(session, actor=actor, attachment_id=attachment_id)
    except service.AttachmentNotFound:
        return _not_found(request)
    store = BlobStore(request.app.state.settings.attachments_dir)
    return file_response(
        store.read(att.sha256), filename=att.filename, content_type=att.content_type
    )
