from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from opora.fields.models import FieldEntity, FieldType
from opora.tickets.models import TicketType


class CustomFieldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: FieldEntity = FieldEntity.TICKET
    key: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1, max_length=200)
    label_ru: str = ""
    type: FieldType
    options: list[str] = []
    required: bool = False
    visible_to_customer: bool = True
    position: int = 0


class CustomFieldUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(default=None, min_length=1, max_length=200)
    label_ru: str | None = None
    options: list[str] | None = None
    required: bool | None = None
    visible_to_customer: bool | None = None
    position: int | None = None
    is_active: bool | None = None


class CustomFieldRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    entity: str
    key: str
    label: str
    label_ru: str
    type: str
    options: list[str]
    required: bool
    visible_to_customer: bool
    position: int
    is_active: bool


class TicketFormCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    name_ru: str = Field(default="", max_length=200)
    ticket_type: TicketType | None = None
    field_keys: list[str] = []
    required_keys: list[str] = []
    position: int = 0
    is_default: bool = False
    visible_to_customers: bool = True


class TicketFormUpdate(BaseModel):
    """Only what is sent changes. ``ticket_type`` may be sent as null to clear it; sending
    ``field_keys`` without ``required_keys`` drops the required keys no longer on the form."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_ru: str | None = Field(default=None, max_length=200)
    ticket_type: TicketType | None = None
    field_keys: list[str] | None = None
    required_keys: list[str] | None = None
    position: int | None = None
    is_default: bool | None = None
    visible_to_customers: bool | None = None
    is_active: bool | None = None


class TicketFormRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    name_ru: str
    ticket_type: str | None
    field_keys: list[str]
    required_keys: list[str]
    position: int
    is_default: bool
    visible_to_customers: bool
    is_active: bool
