from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from opora.db import Base, IdMixin, utcnow


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting for the customer
    ON_HOLD = "on_hold"  # waiting for a third party
    SOLVED = "solved"
    CLOSED = "closed"


OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD)


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class TicketType(StrEnum):
    QUESTION = "question"
    INCIDENT = "incident"
    PROBLEM = "problem"
    FEATURE_REQUEST = "feature_request"
    COMPLAINT = "complaint"
    TASK = "task"
    CALLBACK = "callback"


class Channel(StrEnum):
    API = "api"
    EMAIL = "email"
    WEB = "web"  # portal and web form
    CHAT = "chat"
    TELEGRAM = "telegram"
    VK = "vk"
    PHONE = "phone"
    AGENT = "agent"  # opened by an agent on the customer's behalf


class Visibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


class AuthorKind(StrEnum):
    USER = "user"
    CONTACT = "contact"
    SYSTEM = "system"


class DeliveryState(StrEnum):
    NONE = "none"  # nothing to deliver (internal note, message from the customer)
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"


class LinkKind(StrEnum):
    RELATED = "related"
    FOLLOW_UP = "follow_up"  # target follows up on source (a closed ticket)
    DUPLICATE = "duplicate"
    PARENT = "parent"  # source is the parent of target
    VENDOR = "vendor"  # an issue at an external vendor (line 4/5)


class Counter(Base):
    """Named gap-free counters (ticket numbers), incremented in the caller's transaction."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Ticket(IdMixin, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_updated", "status", "updated_at", "id"),
        Index("ix_tickets_group_status_updated", "group_id", "status", "updated_at", "id"),
        Index("ix_tickets_assignee_status_updated", "assignee_id", "status", "updated_at", "id"),
        Index("ix_tickets_requester_updated", "requester_id", "updated_at", "id"),
        Index("ix_tickets_organization_updated", "organization_id", "updated_at", "id"),
        Index("ix_tickets_updated", "updated_at", "id"),
        # time rules: "pending for 3 business days" reads tickets by status and its age
        Index("ix_tickets_status_changed", "status", "status_changed_at", "id"),
        # time rules: the tickets an age threshold ("new for 4 hours", "assigned for 2
        # hours") passed since the last run
        Index("ix_tickets_created", "created_at"),
        Index("ix_tickets_assigned", "assigned_at"),
        # escalated tickets only: the "escalated to my line" view without reading every
        # open ticket (a partial index; both backends have them)
        # unassigned tickets only: the "unassigned in my groups" view and its count
        Index(
            "ix_tickets_unassigned_group_status_updated",
            "group_id",
            "status",
            "updated_at",
            "id",
            sqlite_where=text("assignee_id IS NULL"),
            postgresql_where=text("assignee_id IS NULL"),
        ),
        # solved tickets only: the "recently solved" view's count reads the index alone
        # (on PostgreSQL it bitmap-scanned ~16,000 rows at 1M tickets: 7-14 ms)
        Index(
            "ix_tickets_solved_status_updated",
            "status",
            "updated_at",
            "solved_at",
            sqlite_where=text("solved_at IS NOT NULL"),
            postgresql_where=text("solved_at IS NOT NULL"),
        ),
        Index(
            "ix_tickets_escalated_status_updated",
            "status",
            "updated_at",
            "id",
            sqlite_where=text("escalated_at IS NOT NULL"),
            postgresql_where=text("escalated_at IS NOT NULL"),
        ),
    )

    number: Mapped[int] = mapped_column(BigInteger, unique=True)
    subject: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default=TicketStatus.NEW)
    priority: Mapped[str] = mapped_column(String(20), default=Priority.NORMAL)
    type: Mapped[str] = mapped_column(String(30), default=TicketType.QUESTION)
    channel: Mapped[str] = mapped_column(String(20), default=Channel.API)
    requester_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"))
    line: Mapped[int] = mapped_column(Integer, default=1)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    # SLA (filled by the SLA capability; indexed due columns for the periodic check)
    sla_policy_id: Mapped[int | None] = mapped_column(Integer)
    first_response_due_at: Mapped[datetime | None] = mapped_column(index=True)
    next_response_due_at: Mapped[datetime | None] = mapped_column(index=True)
    resolution_due_at: Mapped[datetime | None] = mapped_column(index=True)
    # the earliest running SLA target (sla.rules.columns); the inbox's "due" column
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    # per target: start, minutes, due, warning; the pause; warnings and breaches recorded
    sla_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # the next instant the SLA sweep must look at this ticket (a warning or a due time)
    sla_check_at: Mapped[datetime | None] = mapped_column(index=True)
    # when the status last changed (time rules: "pending for 3 business days")
    status_changed_at: Mapped[datetime | None]
    # lifecycle timestamps
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_responded_at: Mapped[datetime | None]
    assigned_at: Mapped[datetime | None]  # when the current assignee got it (None: nobody)
    last_customer_message_at: Mapped[datetime | None]
    last_agent_message_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    solved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # a short resolution summary (problem, solution, outcome) kept when solving
    resolution: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Tag(IdMixin, Base):
    __tablename__ = "tags"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketTag(Base):
    __tablename__ = "ticket_tags"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TicketFollower(Base):
    """A CC'd contact or a watching agent: exactly one of the two ids is set."""

    __tablename__ = "ticket_followers"
    __table_args__ = (
        UniqueConstraint("ticket_id", "contact_id", "user_id"),
        Index("ix_ticket_followers_contact", "contact_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class TicketLink(IdMixin, Base):
    __tablename__ = "ticket_links"
    __table_args__ = (UniqueConstraint("source_id", "target_id", "kind"),)

    source_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    target_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    external_url: Mapped[str | None] = mapped_column(String(1000))
    external_ref: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Message(IdMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_ticket_created", "ticket_id", "created_at", "id"),
        Index("ix_messages_external", "channel", "external_id"),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    visibility: Mapped[str] = mapped_column(String(20), default=Visibility.PUBLIC)
    author_kind: Mapped[str] = mapped_column(String(20))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(20), default=Channel.API)
    external_id: Mapped[str | None] = mapped_column(String(500))
    delivery_state: Mapped[str] = mapped_column(String(20), default=DeliveryState.NONE)
    delivery_error: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attachment(IdMixin, Base):
    """File metadata; the bytes live under the data dir, addressed by SHA-256."""

    __tablename__ = "attachments"

    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    uploaded_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    uploaded_by_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    inline: Mapped[bool] = mapped_column(default=False)
    # an email part's Content-ID (without <>): the message's HTML shows it by cid:
    content_id: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketEvent(IdMixin, Base):
    """One change on a ticket: who, when, what (field old -> new). The timeline."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket_created", "ticket_id", "created_at", "id"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    actor_label: Mapped[str | None] = mapped_column(String(200))  # e.g. the rule's name
    field: Mapped[str | None] = mapped_column(String(64))
    old_value: Mapped[Any] = mapped_column(JSON)
    new_value: Mapped[Any] = mapped_column(JSON)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
