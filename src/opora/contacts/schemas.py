from __future__ import annotations

import functools
import zoneinfo
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from opora.contacts.models import IdentityKind, TechnicalLevel


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_timezone(value: str | None) -> str | None:
    """An IANA time zone name («Europe/Moscow»); any name passes where the system has no
    time zone database to check against."""
    if value is None or value == "UTC":
        return value
    zones = _time_zones()
    if zones and value not in zones:
        raise ValueError("not a known time zone (e.g. Europe/Moscow)")
    return value


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320)


class IdentityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    value: str
    is_primary: bool


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=200)
    email: EmailStr | None = None
    identities: list[IdentityIn] = []
    organization_id: int | None = None
    sees_organization_tickets: bool = False
    language: Literal["en", "ru"] = "en"
    timezone: str = "UTC"
    technical_level: TechnicalLevel | None = None
    notes: str = ""
    custom_fields: dict[str, Any] = {}

    _timezone = field_validator("timezone")(check_timezone)


class ContactUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    organization_id: int | None = None
    sees_organization_tickets: bool | None = None
    language: Literal["en", "ru"] | None = None
    timezone: str | None = None
    technical_level: TechnicalLevel | None = None
    notes: str | None = None
    custom_fields: dict[str, Any] | None = None
    add_identities: list[IdentityIn] = []
    remove_identity_ids: list[int] = []

    _timezone = field_validator("timezone")(check_timezone)


class ContactRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str | None = None
    identities: list[IdentityRead] = []
    organization_id: int | None
    sees_organization_tickets: bool
    language: str
    timezone: str
    technical_level: str | None
    notes: str
    custom_fields: dict[str, Any]
    is_active: bool
    created_at: datetime


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    domains: list[str] = []
    vip: bool = False
    notes: str = ""
    custom_fields: dict[str, Any] = {}


class OrganizationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    domains: list[str] | None = None
    vip: bool | None = None
    notes: str | None = None
    custom_fields: dict[str, Any] | None = None


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    domains: list[str]
    vip: bool
    notes: str
    custom_fields: dict[str, Any]
    created_at: datetime
