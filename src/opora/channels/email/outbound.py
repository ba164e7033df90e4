"""Email about a ticket leaves through the outbox: ``queue_ticket_email`` writes the job in
the caller's transaction, ``send_ticket_email`` (the ``channels.email.send`` job) composes
and sends it.

Every such email carries our own Message-ID (remembered as an ``EmailReference``, so a
reply to it threads back and a bounce finds it), ``In-Reply-To`` / ``References`` of the
ticket's thread, the ticket number in the subject, a per-ticket ``Reply-To`` address, and
``X-Opora-Ticket``. Automatic mail (receipts, notices) also says ``Auto-Submitted:
auto-replied`` and ``X-Auto-Response-Suppress: All``, so that well-behaved robots do not
answer it. It is sent from the ticket's mailbox (the one its mail came in through, else
the first active one, else ``OPORA_MAIL_FROM``), by that mailbox's own SMTP server when
it has one.

**Internal notes are never sent**: queueing refuses a message that is not public, and the
job checks again when it runs (a message cannot become internal, but the check costs
nothing and guards every path).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import formataddr, parseaddr
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opora import jobs
from opora.channels.email import repository, threading
from opora.channels.email.models import Direction, EmailReference, Mailbox, SmtpSecurity
from opora.config import Settings, load_secret_key
from opora.errors import InvalidInput
from opora.jobs.worker import backoff_seconds
from opora.kit.blobs import BlobStore
from opora.kit.time import utcnow
from opora.notifications import mail
from opora.tickets.models import Attachment, DeliveryState, Message, Ticket, Visibility

log = logging.getLogger(__name__)

SEND = "channels.email.send"
# tries of one email (15 s, 1 min, 4 min, 16 min, 1 h, 4 h, 4 h apart: about 9 hours)
SEND_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    ticket_id: int
    to: list[str]
    subject: str
    text: str
    html: str | None = None
    cc: list[str] = field(default_factory=list)
    message_id: int | None = None  # the public reply this email carries
    automatic: bool = False  # a notification: Auto-Submitted: auto-replied
    kind: str = "reply"


def settings_of(session: AsyncSession) -> Settings:
    """The app's settings riding on the session (``Database(settings=…)``)."""
    found = session.info.get("settings")
    return found if isinstance(found, Settings) else Settings()


async def mailbox_for_ticket(session: AsyncSession, ticket_id: int) -> Mailbox | None:
    mailbox_id = await repository.mailbox_of_ticket(session, ticket_id)
    if mailbox_id is not None:
        mailbox = await session.get(Mailbox, mailbox_id)
        if mailbox is not None and mailbox.is_active:
            return mailbox
    active = await repository.mailboxes(session, active_only=True)
    return active[0] if active else None


def _domain_of(mailbox: Mailbox | None, settings: Settings) -> str:
    address = mailbox.address if mailbox else parseaddr(settings.mail_from)[1]
    return address.rpartition("@")[2] or "localhost"


async def queue_ticket_email(session: AsyncSession, email: OutgoingEmail) -> str:
    """Write the send job and remember its Message-ID; returns the Message-ID (no <>)."""
    if not email.to:
        raise InvalidInput("an email needs a recipient", field="to")
    ticket = await session.get(Ticket, email.ticket_id)
    if ticket is None:
        raise InvalidInput(f"ticket {email.ticket_id} does not exist", field="ticket_id")
    message = None
    if email.message_id is not None:
        message = await session.get(Message, email.message_id)
        if message is None or message.visibility != Visibility.PUBLIC:
            raise InvalidInput("only public replies are sent to customers", field="message_id")
    settings = settings_of(session)
    mailbox = await mailbox_for_ticket(session, ticket.id)
    key = threading.new_message_key(ticket.number, _domain_of(mailbox, settings))
    session.add(
        EmailReference(
            message_key=key, ticket_id=ticket.id, message_id=email.message_id,
            direction=Direction.OUT.value, created_at=utcnow(),
        )
    )  # fmt: skip
    if message is not None:
        message.delivery_state = DeliveryState.QUEUED
        message.delivery_error = None
        message.external_id = key
        message.extra = {**message.extra, "email_to": email.to, "email_cc": email.cc}
    payload: dict[str, Any] = {
        "ticket_id": ticket.id,
        "message_key": key,
        "mailbox_id": mailbox.id if mailbox else None,
        "to": email.to,
        "cc": email.cc,
        "subject": " ".join(email.subject.split()),
        "text": email.text,
        "html": email.html,
        "message_id": email.message_id,
        "automatic": email.automatic,
        "kind": email.kind,
    }
    await jobs.enqueue(session, SEND, payload, idempotency_key=f"email:{key}")
    return key


def _sender(mailbox: Mailbox | None, settings: Settings) -> str:
    if mailbox is None:
        return settings.mail_from
    name = mailbox.sender_name.strip() or parseaddr(settings.mail_from)[0]
    return formataddr((name, mailbox.address)) if name else mailbox.address


def _smtp(mailbox: Mailbox | None, settings: Settings) -> mail.SmtpConfig:
    base = mail.SmtpConfig.from_settings(settings)
    sender = _sender(mailbox, settings)
    if mailbox is None or not mailbox.smtp_host.strip():
        return mail.SmtpConfig(
            host=base.host, port=base.port, username=base.username, password=base.password,
            starttls=base.starttls, ssl=base.ssl, timeout_seconds=base.timeout_seconds,
            mail_from=sender,
        )  # fmt: skip
    return mail.SmtpConfig(
        host=mailbox.smtp_host.strip(),
        port=mailbox.smtp_port,
        username=mailbox.smtp_username or None,
        password=mailbox.smtp_password or None,
        starttls=mailbox.smtp_security == SmtpSecurity.STARTTLS,
        ssl=mailbox.smtp_security == SmtpSecurity.SSL,
        timeout_seconds=base.timeout_seconds,
        mail_from=sender,
    )


async def _attachments(
    session: AsyncSession, message_id: int, store: BlobStore
) -> list[mail.FilePart]:
    rows = await session.execute(
        select(Attachment).where(Attachment.message_id == message_id).order_by(Attachment.id)
    )
    return [mail.FilePart(a.filename, a.content_type, store.read(a.sha256)) for a in rows.scalars()]


async def send_ticket_email(
    session: AsyncSession,
    payload: dict[str, Any],
    *,
    last_attempt: bool,
    settings: Settings | None = None,
) -> None:
    """Compose and send one queued email (the job). A failure on the last attempt, or a
    permanent one (5xx), marks the carried message failed with the reason and ends the
    job; any other failure raises ``mail.DeliveryError`` so the worker retries."""
    settings = settings or settings_of(session)
    message = None
    if payload.get("message_id") is not None:
        message = await session.get(Message, payload["message_id"])
        if message is None:
            log.info("email %s: its message is gone; not sent", payload["message_key"])
            return
        if message.visibility != Visibility.PUBLIC:  # never, whatever queued it
            message.delivery_state = DeliveryState.FAILED
            message.delivery_error = "internal notes are never sent"
            return
    ticket = await session.get(Ticket, payload["ticket_id"])
    if ticket is None:
        return
    mailbox = await session.get(Mailbox, payload["mailbox_id"]) if payload["mailbox_id"] else None
    config = _smtp(mailbox, settings)
    key = payload["message_key"]
    thread = [k for k in await repository.thread_keys(session, ticket.id) if k != key]
    parent = await repository.last_inbound_key(session, ticket.id)
    headers = {"X-Opora-Ticket": str(ticket.number)}
    if mailbox is not None:
        secret = load_secret_key(settings)
        headers["Reply-To"] = threading.reply_address(mailbox.address, ticket.number, secret)
    if parent or thread:
        headers["In-Reply-To"] = f"<{parent or thread[-1]}>"
        headers["References"] = " ".join(f"<{k}>" for k in thread[-10:])
    if payload.get("automatic"):
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    files: list[mail.FilePart] = []
    if message is not None:
        files = await _attachments(session, message.id, BlobStore(settings.attachments_dir))
    built = mail.build_message(
        mail_from=config.mail_from,
        to=payload["to"],
        cc=payload.get("cc") or [],
        subject=payload["subject"],
        text=payload["text"],
        html=payload.get("html"),
        headers=headers,
        message_id=f"<{key}>",
        attachments=files,
    )
    try:
        await mail.send_message(built, config)
    except mail.DeliveryError as exc:
        attempt = int(payload.get("attempt", 1))
        if exc.permanent or last_attempt or attempt >= SEND_ATTEMPTS:
            if message is not None:
                message.delivery_state = DeliveryState.FAILED
                message.delivery_error = str(exc)[:2000]
            log.warning("email %s to %s failed for good: %s", key, payload["to"], exc)
            return
        # try again later, and say so on the message meanwhile: a new job in this same
        # transaction (the worker's own retry would roll the reason back with the job)
        retry_at = utcnow() + timedelta(seconds=backoff_seconds(attempt))
        if message is not None:
            message.delivery_error = f"{exc}; trying again at {retry_at:%H:%M} UTC"[:2000]
        await jobs.enqueue(
            session, SEND, {**payload, "attempt": attempt + 1}, run_at=retry_at,
            idempotency_key=f"email:{key}:{attempt + 1}",
        )  # fmt: skip
        log.info("email %s: attempt %d failed, again at %s: %s", key, attempt, retry_at, exc)
        return
    if message is not None:
        message.delivery_state = DeliveryState.SENT
        message.delivery_error = None
        message.extra = {**message.extra, "email_sent_at": utcnow().isoformat()}
