"""Mailboxes, and the record of every email that arrived.

A ``Mailbox`` is one support address (``support@acme.ru``): where its mail comes from
(IMAP polling, and/or the SMTP/LMTP receiver and the pipe, which route by address), the
group and priority its new tickets get, and how replies leave (its address as the sender,
the global SMTP settings unless the mailbox names its own server).

An ``InboundEmail`` is written for every message taken in, by any route, before anything
else happens to it: its Message-ID (unique: the same message is never ingested twice),
the raw bytes' SHA-256 (the original, downloadable, kept under the data directory), what
became of it (a new ticket, a message on a ticket, a bounce, ignored or refused, with the
reason), and the sender and time for the per-sender rate limit.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opora.db import Base, IdMixin, TimestampMixin, utcnow


class ImapSecurity(StrEnum):
    SSL = "ssl"
    STARTTLS = "starttls"
    NONE = "none"


class ImapProcessed(StrEnum):
    FLAG = "flag"  # keep processed mail in the folder, flagged
    MOVE = "move"  # move processed mail to another folder


class SmtpSecurity(StrEnum):
    SSL = "ssl"
    STARTTLS = "starttls"
    NONE = "none"


class Route(StrEnum):
    IMAP = "imap"
    SMTP = "smtp"  # delivered to `opora serve`'s SMTP/LMTP receiver
    PIPE = "pipe"  # `opora mail ingest` (an MTA alias)
    API = "api"


class InboundStatus(StrEnum):
    TICKET_CREATED = "ticket_created"
    MESSAGE_ADDED = "message_added"
    BOUNCE = "bounce"  # a delivery report about one of our messages
    IGNORED = "ignored"  # our own outgoing mail coming back, an auto-reply to an auto-reply
    REFUSED = "refused"  # rate limit, no sender: kept, never turned into a ticket


class Mailbox(IdMixin, TimestampMixin, Base):
    __tablename__ = "mailboxes"
    __table_args__ = (Index("ix_mailboxes_next_poll", "imap_enabled", "next_poll_at"),)

    name: Mapped[str] = mapped_column(String(100), unique=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)  # lower-case
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # new tickets
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    default_priority: Mapped[str] = mapped_column(String(20), default="normal")
    # the "we received your request" email and the response time it promises when no SLA
    # policy gives the ticket a first-response due time
    send_receipt: Mapped[bool] = mapped_column(Boolean, default=True)
    response_promise_minutes: Mapped[int] = mapped_column(Integer, default=720)
    # IMAP polling
    imap_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    imap_host: Mapped[str] = mapped_column(String(255), default="")
    imap_port: Mapped[int] = mapped_column(Integer, default=993)
    imap_security: Mapped[str] = mapped_column(String(20), default=ImapSecurity.SSL)
    imap_username: Mapped[str] = mapped_column(String(320), default="")
    imap_password: Mapped[str] = mapped_column(String(500), default="")
    imap_folder: Mapped[str] = mapped_column(String(255), default="INBOX")
    imap_processed: Mapped[str] = mapped_column(String(20), default=ImapProcessed.FLAG)
    imap_processed_folder: Mapped[str] = mapped_column(String(255), default="Processed")
    imap_verify_certificate: Mapped[bool] = mapped_column(Boolean, default=True)
    poll_interval_seconds: Mapped[int] = mapped_column(Integer, default=60)
    next_poll_at: Mapped[datetime | None]
    last_polled_at: Mapped[datetime | None]
    last_poll_error: Mapped[str | None] = mapped_column(Text)
    # outgoing: an SMTP server of this mailbox's own (empty host: the global OPORA_SMTP_*)
    smtp_host: Mapped[str] = mapped_column(String(255), default="")
    smtp_port: Mapped[int] = mapped_column(Integer, default=587)
    smtp_security: Mapped[str] = mapped_column(String(20), default=SmtpSecurity.STARTTLS)
    smtp_username: Mapped[str] = mapped_column(String(320), default="")
    smtp_password: Mapped[str] = mapped_column(String(500), default="")


class InboundEmail(IdMixin, Base):
    __tablename__ = "inbound_emails"
    __table_args__ = (
        Index("ix_inbound_emails_sender_received", "sender", "received_at"),
        Index("ix_inbound_emails_ticket", "ticket_id"),
    )

    # the message's Message-ID without <>, or "sha256.<hex>@opora.invalid" when it had none
    message_key: Mapped[str] = mapped_column(String(998), unique=True)
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="SET NULL"), index=True
    )
    route: Mapped[str] = mapped_column(String(10))
    raw_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    sender: Mapped[str] = mapped_column(String(320), default="")  # lower-case address
    subject: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    auto: Mapped[str | None] = mapped_column(String(20))  # parsing.AutoKind
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class EmailReference(IdMixin, Base):
    """A Message-ID that belongs to a ticket: a customer's email taken in, or one we sent
    (a reply, a notification). Threading looks a new message's ``In-Reply-To`` and
    ``References`` up here; a bounce finds the message it is about here."""

    __tablename__ = "email_references"

    message_key: Mapped[str] = mapped_column(String(998), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    direction: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
