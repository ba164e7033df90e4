from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ViewCreate(BaseModel):
    """Conditions, columns and sort are checked by ``views.rules`` (errors name the path,
    e.g. ``conditions.0.field``); omitted columns and sort take the defaults."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    shared: bool = False  # shared views are created by admins only
    position: int = Field(default=0, ge=0, le=10_000)
    conditions: list[Any] = []
    columns: list[Any] | None = None
    sort: str | None = None


class ViewUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    position: int | None = Field(default=None, ge=0, le=10_000)
    conditions: list[Any] | None = None
    columns: list[Any] | None = None
    sort: str | None = None


class CountRead(BaseModel):
    count: int
    capped: bool  # true: there are more than ``count`` tickets


class ViewRead(BaseModel):
    key: str  # a built-in's key ("my-open") or a saved view's id as a string
    id: int | None
    builtin: bool
    shared: bool
    owner_id: int | None
    name: str  # in the actor's language
    name_en: str
    name_ru: str
    position: int
    conditions: list[dict[str, Any]]
    columns: list[str]
    sort: str
    editable: bool  # may this actor change or delete it
    created_at: datetime | None = None
    updated_at: datetime | None = None
    count: CountRead | None = None
