"""Triggers, time rules and macros at the API boundary.

The rule language itself (conditions, actions, placeholders) is validated by the service
with ``automation.conditions`` / ``actions`` / ``placeholders``, so that a mistake is
named by its path in the definition (``conditions.all.0.value``, ``actions.2.to``);
these schemas only check the shape around it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_POSITION = 100_000

# --- triggers -------------------------------------------------------------------------------


class TriggerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    position: int | None = Field(default=None, ge=0, le=MAX_POSITION)  # None: after the last
    is_active: bool = True
    events: list[str] = Field(default_factory=list, max_length=10)
    conditions: Any = Field(default_factory=dict)
    actions: Any


class TriggerUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    position: int | None = Field(default=None, ge=0, le=MAX_POSITION)
    is_active: bool | None = None
    events: list[str] | None = Field(default=None, max_length=10)
    conditions: Any = None
    actions: Any = None


class TriggerRead(BaseModel):
    id: int
    name: str
    description: str
    position: int
    is_active: bool
    events: list[str]
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


# --- time rules -----------------------------------------------------------------------------


class TimeRuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    position: int | None = Field(default=None, ge=0, le=MAX_POSITION)
    is_active: bool = True
    conditions: Any
    actions: Any
    calendar_id: int | None = None  # business hours; None: around the clock


class TimeRuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    position: int | None = Field(default=None, ge=0, le=MAX_POSITION)
    is_active: bool | None = None
    conditions: Any = None
    actions: Any = None
    calendar_id: int | None = None


class TimeRuleRead(BaseModel):
    id: int
    name: str
    description: str
    position: int
    is_active: bool
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    calendar_id: int | None
    created_at: datetime
    updated_at: datetime


class TimeRulesRun(BaseModel):
    """What one run of the time rules did."""

    rules: int  # active rules looked at
    checked: int  # candidate tickets evaluated
    fired: int  # rule and ticket pairs whose actions ran
    failed: int  # of them, the ones whose actions were refused (see the ticket's timeline)


# --- macros ---------------------------------------------------------------------------------


class MacroCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=20_000)
    visibility: Literal["public", "internal"] = "public"
    actions: list[Any] = Field(default_factory=list, max_length=30)
    position: int = Field(default=0, ge=0, le=MAX_POSITION)
    is_active: bool = True
    shared: bool = False  # admins only: a macro for everyone


class MacroUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=20_000)
    visibility: Literal["public", "internal"] | None = None
    actions: list[Any] | None = Field(default=None, max_length=30)
    position: int | None = Field(default=None, ge=0, le=MAX_POSITION)
    is_active: bool | None = None


class MacroRead(BaseModel):
    id: int
    name: str
    body: str
    visibility: str
    actions: list[dict[str, Any]]
    position: int
    is_active: bool
    owner_id: int | None
    shared: bool
    created_at: datetime
    updated_at: datetime


class MacroPreview(BaseModel):
    """A macro as it would apply to one ticket: the text with its placeholders filled in,
    where it goes, and what its actions will do, one line each."""

    text: str
    visibility: str
    actions: list[str]


class MacroApply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket_id: int
    # the text to post (the preview, perhaps edited); None: the macro's own body
    text: str | None = Field(default=None, max_length=200_000)


class MacroApplied(BaseModel):
    ticket_id: int
    message_id: int | None  # the reply or note posted; None when the text was empty
    visibility: str
    actions: list[str]
