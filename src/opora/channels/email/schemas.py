"""Mailboxes at the API boundary. Passwords are write-only: never read back."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from opora.channels.email.models import ImapProcessed, ImapSecurity, SmtpSecurity
from opora.tickets.models import Priority


class MailboxFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sender_name: str = Field(default="", max_length=200)
    is_active: bool = True
    group_id: int | None = None
    default_priority: Priority = Priority.NORMAL
    send_receipt: bool = True
    response_promise_minutes: int = Field(default=720, ge=1, le=60 * 24 * 60)
    imap_enabled: bool = False
    imap_host: str = Field(default="", max_length=255)
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_security: ImapSecurity = ImapSecurity.SSL
    imap_username: str = Field(default="", max_length=320)
    imap_password: str = Field(default="", max_length=500)
    imap_folder: str = Field(default="INBOX", min_length=1, max_length=255)
    imap_processed: ImapProcessed = ImapProcessed.FLAG
    imap_processed_folder: str = Field(default="Processed", max_length=255)
    imap_verify_certificate: bool = True
    poll_interval_seconds: int = Field(default=60, ge=10, le=86_400)
    smtp_host: str = Field(default="", max_length=255)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_username: str = Field(default="", max_length=320)
    smtp_password: str = Field(default="", max_length=500)


class MailboxCreate(MailboxFields):
    name: str = Field(min_length=1, max_length=100)
    address: str = Field(min_length=3, max_length=320)


class MailboxUpdate(BaseModel):
    """Only the fields sent change; an empty password keeps the stored one."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    address: str | None = Field(default=None, min_length=3, max_length=320)
    sender_name: str | None = Field(default=None, max_length=200)
    is_active: bool | None = None
    group_id: int | None = None
    default_priority: Priority | None = None
    send_receipt: bool | None = None
    response_promise_minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 60)
    imap_enabled: bool | None = None
    imap_host: str | None = Field(default=None, max_length=255)
    imap_port: int | None = Field(default=None, ge=1, le=65535)
    imap_security: ImapSecurity | None = None
    imap_username: str | None = Field(default=None, max_length=320)
    imap_password: str | None = Field(default=None, max_length=500)
    imap_folder: str | None = Field(default=None, min_length=1, max_length=255)
    imap_processed: ImapProcessed | None = None
    imap_processed_folder: str | None = Field(default=None, max_length=255)
    imap_verify_certificate: bool | None = None
    poll_interval_seconds: int | None = Field(default=None, ge=10, le=86_400)
    smtp_host: str | None = Field(default=None, max_length=255)
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_security: SmtpSecurity | None = None
    smtp_username: str | None = Field(default=None, max_length=320)
    smtp_password: str | None = Field(default=None, max_length=500)


class MailboxRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    address: str
    sender_name: str
    is_active: bool
    group_id: int | None
    default_priority: str
    send_receipt: bool
    response_promise_minutes: int
    imap_enabled: bool
    imap_host: str
    imap_port: int
    imap_security: str
    imap_username: str
    imap_password_set: bool
    imap_folder: str
    imap_processed: str
    imap_processed_folder: str
    imap_verify_certificate: bool
    poll_interval_seconds: int
    last_polled_at: datetime | None
    next_poll_at: datetime | None
    last_poll_error: str | None
    smtp_host: str
    smtp_port: int
    smtp_security: str
    smtp_username: str
    smtp_password_set: bool
    created_at: datetime
    updated_at: datetime


class MailboxCheckRead(BaseModel):
    ok: bool
    message: str
    total: int | None = None
    unprocessed: int | None = None


class IngestRead(BaseModel):
    status: str
    reason: str
    duplicate: bool
    ticket_id: int | None
    ticket_number: int | None
    message_id: int | None
    inbound_id: int
