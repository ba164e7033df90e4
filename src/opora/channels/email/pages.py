"""Agent pages of the email channel: the original of an incoming message.

The admin pages for mailboxes, the incoming-mail log and notification templates live in
``admin/mailboxes.py`` and ``admin/notifications.py``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from opora.auth import service as auth_service
from opora.channels.email import service
from opora.errors import NotFound
from opora.kit.blobs import BlobStore
from opora.tickets import service as tickets
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.downloads import file_response
from opora.web.page_auth import PageUser, verify_csrf
from opora.web.templating import render

router = APIRouter(
    route_class=UnitOfWorkRoute, include_in_schema=False, dependencies=[Depends(verify_csrf)]
)


@router.get("/tickets/{ticket_id}/messages/{message_id}/original")
async def original_message(
    request: Request, session: Session, user: PageUser, ticket_id: int, message_id: int
) -> Response:
    """The email exactly as it arrived, quoted history and signature included (``.eml``),
    for an agent who may read the ticket."""
    actor = await auth_service.actor_for_user(session, user)
    try:
        detail = await tickets.get_ticket_detail(session, actor=actor, ticket_id=ticket_id)
        message = next(m for m in detail.messages if m.id == message_id)
        inbound_id = int((message.extra or {}).get("email", {})["inbound_id"])
        record = await service.get_inbound(session, actor=actor, inbound_id=inbound_id)
    except (NotFound, StopIteration, KeyError, TypeError, ValueError):
        return render(request, "tickets/not_found.html", status_code=404)
    store = BlobStore(request.app.state.settings.attachments_dir)
    return file_response(
        store.read(record.raw_sha256), filename=f"message-{message_id}.eml",
        content_type="message/rfc822",
    )  # fmt: skip
