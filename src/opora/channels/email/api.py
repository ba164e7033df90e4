"""JSON API of the email channel (admins): mailboxes, taking a raw message in, the record
of incoming mail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from opora.auth.actor import require_admin
from opora.channels.email import service
from opora.channels.email.models import InboundEmail, Mailbox, Route
from opora.channels.email.schemas import (
    IngestRead,
    MailboxCheckRead,
    MailboxCreate,
    MailboxRead,
    MailboxUpdate,
)
from opora.errors import PayloadTooLarge
from opora.kit.blobs import BlobStore
from opora.web.deps import AgentActor, Session, UnitOfWorkRoute
from opora.web.downloads import file_response

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute, tags=["email"])


def mailbox_read(m: Mailbox) -> MailboxRead:
    return MailboxRead(
        id=m.id, name=m.name, address=m.address, sender_name=m.sender_name,
        is_active=m.is_active, group_id=m.group_id, default_priority=m.default_priority,
        send_receipt=m.send_receipt, response_promise_minutes=m.response_promise_minutes,
        imap_enabled=m.imap_enabled, imap_host=m.imap_host, imap_port=m.imap_port,
        imap_security=m.imap_security, imap_username=m.imap_username,
        imap_password_set=bool(m.imap_password), imap_folder=m.imap_folder,
        imap_processed=m.imap_processed, imap_processed_folder=m.imap_processed_folder,
        imap_verify_certificate=m.imap_verify_certificate,
        poll_interval_seconds=m.poll_interval_seconds, last_polled_at=m.last_polled_at,
        next_poll_at=m.next_poll_at, last_poll_error=m.last_poll_error,
        smtp_host=m.smtp_host, smtp_port=m.smtp_port, smtp_security=m.smtp_security,
        smtp_username=m.smtp_username, smtp_password_set=bool(m.smtp_password),
        created_at=m.created_at, updated_at=m.updated_at,
    )  # fmt: skip


class InboundRead(BaseModel):
    id: int
    message_key: str
    mailbox_id: int | None
    route: str
    size: int
    sender: str
    subject: str
    status: str
    reason: str
    auto: str | None
    ticket_id: int | None
    message_id: int | None
    received_at: str

    @classmethod
    def of(cls, r: InboundEmail) -> InboundRead:
        return cls(
            id=r.id, message_key=r.message_key, mailbox_id=r.mailbox_id, route=r.route,
            size=r.size, sender=r.sender, subject=r.subject, status=r.status, reason=r.reason,
            auto=r.auto, ticket_id=r.ticket_id, message_id=r.message_id,
            received_at=r.received_at.isoformat(),
        )  # fmt: skip


@router.get("/mailboxes", response_model=list[MailboxRead])
async def list_mailboxes(actor: AgentActor, session: Session) -> list[MailboxRead]:
    return [mailbox_read(m) for m in await service.list_mailboxes(session, actor=actor)]


@router.post("/mailboxes", response_model=MailboxRead, status_code=201)
async def create_mailbox(actor: AgentActor, session: Session, data: MailboxCreate) -> MailboxRead:
    return mailbox_read(await service.create_mailbox(session, actor=actor, data=data))


@router.get("/mailboxes/{mailbox_id}", response_model=MailboxRead)
async def get_mailbox(actor: AgentActor, session: Session, mailbox_id: int) -> MailboxRead:
    return mailbox_read(await service.get_mailbox(session, actor=actor, mailbox_id=mailbox_id))


@router.patch("/mailboxes/{mailbox_id}", response_model=MailboxRead)
async def update_mailbox(
    actor: AgentActor, session: Session, mailbox_id: int, data: MailboxUpdate
) -> MailboxRead:
    return mailbox_read(
        await service.update_mailbox(session, actor=actor, mailbox_id=mailbox_id, data=data)
    )


@router.delete("/mailboxes/{mailbox_id}", status_code=204)
async def delete_mailbox(actor: AgentActor, session: Session, mailbox_id: int) -> Response:
    await service.delete_mailbox(session, actor=actor, mailbox_id=mailbox_id)
    return Response(status_code=204)


@router.post("/mailboxes/{mailbox_id}/check", response_model=MailboxCheckRead)
async def check_mailbox(
    actor: AgentActor, session: Session, mailbox_id: int, request: Request
) -> MailboxCheckRead:
    """Connect to the mailbox's IMAP server and count what is there (changes nothing)."""
    check = await service.check_mailbox_connection(
        session, actor=actor, mailbox_id=mailbox_id,
        ca_file=request.app.state.settings.email_ca_file,
    )  # fmt: skip
    return MailboxCheckRead(
        ok=check.ok, message=check.message, total=check.total, unprocessed=check.unprocessed
    )


@router.post("/mailboxes/{mailbox_id}/poll", status_code=202)
async def poll_mailbox(actor: AgentActor, session: Session, mailbox_id: int) -> dict[str, int]:
    """Poll the mailbox now (a job; the worker runs it within seconds)."""
    return {"job_id": await service.request_poll(session, actor=actor, mailbox_id=mailbox_id)}


@router.post("/email/inbound", response_model=IngestRead)
async def ingest(
    actor: AgentActor,
    session: Session,
    request: Request,
    response: Response,
    mailbox: Annotated[str | None, Query(max_length=100)] = None,
) -> IngestRead:
    """Take one raw message in (the body, ``message/rfc822``), as if it had arrived by
    mail: 201 when it made or joined a ticket, 200 for a duplicate or a message kept but
    refused (``status`` and ``reason`` say why)."""
    require_admin(actor)
    settings = request.app.state.settings
    raw = await request.body()
    if len(raw) > settings.max_email_bytes:
        raise PayloadTooLarge(
            f"the message is {len(raw)} bytes; the limit is {settings.max_email_bytes}",
            field="message",
        )
    result = await service.ingest_email(
        session, raw=raw, route=Route.API, options=service.ingest_options(settings),
        mailbox_name=mailbox,
    )  # fmt: skip
    response.status_code = 201 if result.accepted and not result.duplicate else 200
    return IngestRead(
        status=result.status, reason=result.reason, duplicate=result.duplicate,
        ticket_id=result.ticket_id, ticket_number=result.ticket_number,
        message_id=result.message_id, inbound_id=result.inbound_id,
    )  # fmt: skip


@router.get("/email/inbound", response_model=list[InboundRead])
async def list_inbound(
    actor: AgentActor,
    session: Session,
    status: Annotated[str | None, Query(max_length=20)] = None,
    before_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[InboundRead]:
    found = await service.list_inbound(
        session, actor=actor, status=status, before_id=before_id, limit=limit
    )
    return [InboundRead.of(r) for r in found]


@router.get("/email/inbound/{inbound_id}/raw")
async def inbound_raw(
    actor: AgentActor, session: Session, request: Request, inbound_id: int
) -> Response:
    """The message exactly as it arrived (``.eml``)."""
    record = await service.get_inbound(session, actor=actor, inbound_id=inbound_id)
    store = BlobStore(request.app.state.settings.attachments_dir)
    return file_response(
        store.read(record.raw_sha256), filename=f"message-{record.id}.eml",
        content_type="message/rfc822",
    )  # fmt: skip
