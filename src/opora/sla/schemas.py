"""Business calendars and SLA policies at the API boundary (the issue's contract):

- ``POST /api/v1/sla/calendars`` {name, timezone, hours: {"mon": [["09:00", "18:00"]], …},
  holidays: ["2027-01-01", …]} — empty hours: 24/7;
- ``POST /api/v1/sla/policies`` {name, position, conditions, targets: {"urgent":
  {"first_response": minutes, "next_response": minutes, "resolution": minutes}, …},
  calendar_id, pause_on_hold}.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CalendarCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(default="UTC", min_length=1, max_length=64)
    hours: dict[str, list[list[str]]] = Field(default_factory=dict)
    holidays: list[str] = Field(default_factory=list, max_length=2000)


class CalendarUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    hours: dict[str, list[list[str]]] | None = None
    holidays: list[str] | None = Field(default=None, max_length=2000)


class CalendarRead(BaseModel):
    id: int
    name: str
    timezone: str
    hours: dict[str, Any]
    holidays: list[str]
    always_open: bool
    created_at: datetime
    updated_at: datetime


class HolidaysImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    csv: str = Field(max_length=200_000)
    replace: bool = False  # false: add to the calendar's holidays


class PolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    position: int = Field(default=0, ge=0, le=100_000)
    is_active: bool = True
    conditions: Any = Field(default_factory=dict)
    targets: dict[str, dict[str, int]]
    calendar_id: int | None = None
    pause_on_hold: bool = False
    warning_percent: int = Field(default=75, ge=1, le=99)
    delay_notice: bool = True


class PolicyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    position: int | None = Field(default=None, ge=0, le=100_000)
    is_active: bool | None = None
    conditions: Any = None
    targets: dict[str, dict[str, int]] | None = None
    calendar_id: int | None = None
    pause_on_hold: bool | None = None
    warning_percent: int | None = Field(default=None, ge=1, le=99)
    delay_notice: bool | None = None


class PolicyRead(BaseModel):
    id: int
    name: str
    position: int
    is_active: bool
    conditions: dict[str, Any]
    targets: dict[str, dict[str, int]]
    calendar_id: int | None
    pause_on_hold: bool
    warning_percent: int
    delay_notice: bool
    created_at: datetime
    updated_at: datetime
