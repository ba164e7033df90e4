"""Helpers for the email tests: build a message, take it in, look at what happened."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy import select

from opora.channels.email.intake import Delivery, ingest_many
from opora.channels.email.models import InboundEmail, Mailbox, Route
from opora.channels.email.service import IngestOptions, IngestResult, SenderLimit, ingest_email
from opora.config import Settings, load_secret_key
from opora.db import Database
from opora.jobs.models import Job
from opora.kit.blobs import BlobStore
from opora.kit.time import utcnow
from opora.tickets.models import Message, Ticket

SEND = "channels.email.send"


def build(
    *,
    sender: str = "Иван Петров <ivan@example.ru>",
    to: str = "support@acme-help.ru",
    subject: str = "Не могу войти в аккаунт",
    body: str = "Здравствуйте! После обновления не могу войти в аккаунт.",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    cc: str | None = None,
    headers: dict[str, str] | None = None,
    html: str | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id or make_msgid(domain="example.ru")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def options(settings: Settings, *, limit: SenderLimit | None = None) -> IngestOptions:
    return IngestOptions(
        store=BlobStore(settings.attachments_dir),
        secret=load_secret_key(settings),
        limit=limit or SenderLimit(),
    )


async def ingest(
    db: Database,
    settings: Settings,
    raw: bytes,
    *,
    route: Route = Route.PIPE,
    limit: SenderLimit | None = None,
    **kwargs: Any,
) -> IngestResult:
    async with db.unit_of_work() as session:
        return await ingest_email(
            session, raw=raw, route=route, options=options(settings, limit=limit), **kwargs
        )


async def ingest_in_batch(
    db: Database,
    settings: Settings,
    raw: bytes,
    *,
    route: Route = Route.PIPE,
    limit: SenderLimit | None = None,
    mailbox_id: int | None = None,
    recipients: Sequence[str] = (),
    mailbox_name: str | None = None,
) -> IngestResult:
    """``ingest`` through ``intake.ingest_many`` with a batch of one (raising what refused it)."""
    if mailbox_name is not None:  # the batches are for IMAP and SMTP: no mailbox by name
        return await ingest(db, settings, raw, route=route, limit=limit, mailbox_name=mailbox_name)
    [outcome] = await ingest_many(
        db, [Delivery(raw, tuple(recipients))], route=route,
        options=options(settings, limit=limit), mailbox_id=mailbox_id,
    )  # fmt: skip
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


async def add_mailbox(db: Database, **fields: Any) -> int:
    values: dict[str, Any] = {
        "name": "Support",
        "address": "support@acme-help.ru",
        "sender_name": "Acme Support",
    }
    values.update(fields)
    async with db.unit_of_work() as session:
        mailbox = Mailbox(**values)
        session.add(mailbox)
        await session.flush()
        return mailbox.id


async def ticket(db: Database, ticket_id: int) -> Ticket:
    async with db.unit_of_work(write=False) as session:
        found = await session.get(Ticket, ticket_id)
    assert found is not None
    return found


async def messages(db: Database, ticket_id: int) -> list[Message]:
    async with db.unit_of_work(write=False) as session:
        rows = await session.execute(
            select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)
        )
        return list(rows.scalars())


async def count(db: Database, model: Any) -> int:
    from sqlalchemy import func

    async with db.unit_of_work(write=False) as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def email_jobs(db: Database, *, name: str = SEND) -> list[dict[str, Any]]:
    """Payloads of the queued jobs called ``name``, oldest first."""
    async with db.unit_of_work(write=False) as session:
        rows = await session.execute(select(Job).where(Job.name == name).order_by(Job.id))
        return [j.payload for j in rows.scalars()]


async def inbound(db: Database, inbound_id: int) -> InboundEmail:
    async with db.unit_of_work(write=False) as session:
        found = await session.get(InboundEmail, inbound_id)
    assert found is not None
    return found


async def backdate_inbound(db: Database, minutes: int) -> None:
    from sqlalchemy import update

    async with db.unit_of_work() as session:
        await session.execute(
            update(InboundEmail).values(received_at=utcnow() - timedelta(minutes=minutes))
        )


def dsn(original_key: str, recipient: str) -> bytes:
    """A Postfix-style delivery status notification about ``original_key``."""
    boundary = "dsn-boundary-1"
    return (
        "From: MAILER-DAEMON@mx.example.ru (Mail Delivery System)\r\n"
        "To: support@acme-help.ru\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce.1@mx.example.ru>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        f"<{recipient}>: host mx.example.ru said: 550 5.1.1 User unknown\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.ru\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        "From: support@acme-help.ru\r\n"
        f"To: {recipient}\r\n"
        f"Message-ID: <{original_key}>\r\n"
        "Subject: Re: test\r\n"
        f"--{boundary}--\r\n"
    ).encode()
