from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from opora.tickets.models import Channel, LinkKind, Priority, TicketStatus, TicketType, Visibility


class RequesterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    name: str = Field(default="", max_length=200)
    language: Literal["en", "ru"] | None = None


class ResolutionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    problem: str = Field(default="", max_length=5000)
    solution: str = Field(default="", max_length=5000)
    outcome: str = Field(default="", max_length=5000)


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=500)
    body: str = Field(default="", max_length=200_000)
    html: str | None = Field(default=None, max_length=1_000_000)
    requester: RequesterIn | None = None
    requester_id: int | None = None
    priority: Priority = Priority.NORMAL
    type: TicketType = TicketType.QUESTION
    status: TicketStatus | None = None
    group_id: int | None = None
    assignee_id: int | None = None
    tags: list[str] = []
    custom_fields: dict[str, Any] = {}
    channel: Channel = Channel.API
    attachment_ids: list[int] = []

    @model_validator(mode="after")
    def _one_requester(self) -> TicketCreate:
        if (self.requester is None) == (self.requester_id is None):
            raise ValueError("give exactly one of requester {email, name} or requester_id")
        if not self.body.strip() and not (self.html or "").strip():
            raise ValueError("body must describe the request")
        return self


class CustomerTicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=500)
    body: str = Field(min_length=1, max_length=200_000)
    type: TicketType = TicketType.QUESTION
    custom_fields: dict[str, Any] = {}
    attachment_ids: list[int] = []


class TicketUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(default=None, min_length=1, max_length=500)
    status: TicketStatus | None = None
    priority: Priority | None = None
    type: TicketType | None = None
    group_id: int | None = None
    assignee_id: int | None = None
    requester_id: int | None = None
    tags: list[str] | None = None
    add_tags: list[str] = []
    remove_tags: list[str] = []
    custom_fields: dict[str, Any] | None = None
    resolution: ResolutionIn | None = None


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(default="", max_length=200_000)
    html: str | None = Field(default=None, max_length=1_000_000)
    visibility: Visibility = Visibility.PUBLIC
    attachment_ids: list[int] = []

    @model_validator(mode="after")
    def _not_empty(self) -> MessageCreate:
        if not self.body.strip() and not (self.html or "").strip() and not self.attachment_ids:
            raise ValueError("a message needs a body or an attachment")
        return self


class CustomerMessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(default="", max_length=200_000)
    attachment_ids: list[int] = []

    @model_validator(mode="after")
    def _not_empty(self) -> CustomerMessageCreate:
        if not self.body.strip() and not self.attachment_ids:
            raise ValueError("a message needs a body or an attachment")
        return self


class EscalateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=10_000)
    group_id: int | None = None


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into_id: int


class LinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: LinkKind = LinkKind.RELATED
    target_id: int | None = None
    external_url: str | None = Field(default=None, max_length=1000)
    external_ref: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _target(self) -> LinkCreate:
        if (self.target_id is None) == (self.external_url is None):
            raise ValueError("give exactly one of target_id or external_url")
        return self


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    content_type: str
    size: int
    url: str = ""

    @classmethod
    def of(cls, att: Any) -> AttachmentRead:
        return cls(
            id=att.id,
            filename=att.filename,
            content_type=att.content_type,
            size=att.size,
            url=f"/api/v1/attachments/{att.id}",
        )


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    visibility: str
    author_kind: str
    author_user_id: int | None
    author_contact_id: int | None
    body_text: str
    body_html: str
    channel: str
    delivery_state: str
    delivery_error: str | None = None
    attachments: list[AttachmentRead] = []
    created_at: datetime


class CustomerMessageRead(BaseModel):
    """What a customer sees of a message: never internal, no delivery internals."""

    id: int
    author_kind: str
    author_name: str
    body_text: str
    body_html: str
    attachments: list[AttachmentRead] = []
    created_at: datetime


class LinkRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source_id: int
    target_id: int | None
    kind: str
    external_url: str | None
    external_ref: str | None


class SlaRead(BaseModel):
    """A ticket's SLA (UTC ISO 8601): its policy, the due times still running, the
    targets breached and warned about, and whether the clock is paused."""

    policy_id: int | None = None
    first_response_due_at: datetime | None = None
    next_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    breached: list[str] = []
    warned: list[str] = []
    paused: bool = False


class TicketListItem(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: int
    subject: str
    status: str
    priority: str
    type: str
    channel: str
    requester_id: int
    organization_id: int | None
    group_id: int | None
    line: int
    assignee_id: int | None
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None = None  # the earliest running SLA target (none while paused)
    tags: list[str] = []


class TicketRead(TicketListItem):
    custom_fields: dict[str, Any]
    merged_into_id: int | None
    first_responded_at: datetime | None
    last_customer_message_at: datetime | None
    last_agent_message_at: datetime | None
    escalated_at: datetime | None
    solved_at: datetime | None
    closed_at: datetime | None
    resolution: dict[str, Any]
    satisfaction: str | None = None
    follower_contact_ids: list[int] = []
    links: list[LinkRead] = []
    sla: SlaRead = SlaRead()
    messages: list[MessageRead] = []


class TicketCreated(BaseModel):
    id: int
    number: int
    status: str


class CustomerTicketRead(BaseModel):
    """A ticket as its customer sees it: no internal fields, no internal notes."""

    id: int
    number: int
    subject: str
    status: str
    type: str
    created_at: datetime
    updated_at: datetime
    assignee_name: str | None
    custom_fields: dict[str, Any]
    messages: list[CustomerMessageRead] = []


class TagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)


class TagRead(BaseModel):
    id: int
    name: str
    ticket_count: int = 0


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    actor_kind: str
    actor_user_id: int | None
    actor_contact_id: int | None
    actor_label: str | None
    field: str | None
    old_value: Any
    new_value: Any
    message_id: int | None
    created_at: datetime


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
