from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field

from opora.auth.models import Availability, Role, TicketAccess


def _line(value: object) -> object:
    return 4 if value == "vendor" else value


LineValue = Annotated[int, BeforeValidator(_line), Field(ge=1, le=4)]
Language = Literal["en", "ru"]


class AssignmentMode(StrEnum):
    """How a group's new tickets get an agent (``automation.routing``)."""

    MANUAL = "manual"  # nobody is picked: agents take tickets themselves
    ROUND_ROBIN = "round_robin"  # the member who got one the longest ago
    LEAST_LOADED = "least_loaded"  # the member with the fewest open tickets


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=8, max_length=200)
    role: Role = Role.AGENT
    ticket_access: TicketAccess = TicketAccess.ALL
    language: Language = "en"
    timezone: str = "UTC"
    skills: list[str] = []
    languages: list[str] = []
    capacity: int = Field(default=20, ge=0, le=1000)
    group_ids: list[int] = []


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=8, max_length=200)
    role: Role | None = None
    ticket_access: TicketAccess | None = None
    language: Language | None = None
    timezone: str | None = None
    skills: list[str] | None = None
    languages: list[str] | None = None
    capacity: int | None = Field(default=None, ge=0, le=1000)
    availability: Availability | None = None
    is_active: bool | None = None
    group_ids: list[int] | None = None


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: str
    ticket_access: str
    language: str
    timezone: str
    skills: list[str]
    languages: list[str]
    capacity: int
    availability: str
    is_active: bool
    group_ids: list[int] = []
    created_at: datetime


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    line: LineValue = 1
    description: str = ""
    assignment: AssignmentMode = AssignmentMode.MANUAL
    reassign_when_offline: bool = False
    member_ids: list[int] = []


class GroupUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    line: LineValue | None = None
    description: str | None = None
    is_active: bool | None = None
    assignment: AssignmentMode | None = None
    reassign_when_offline: bool | None = None
    member_ids: list[int] | None = None


class GroupRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    line: int
    description: str
    is_active: bool
    assignment: str
    reassign_when_offline: bool
    member_ids: list[int] = []


class AvailabilityUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    availability: Availability


class AvailabilityRead(BaseModel):
    user_id: int
    availability: str
    # tickets handed back to routing because the user went offline
    reassigned: int = 0


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""


class TokenCreated(BaseModel):
    id: int
    token: str
    prefix: str
