"""The knowledge base at the API boundary."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Locale = Literal["en", "ru"]
LOCALES: tuple[Locale, ...] = ("en", "ru")
Visibility = Literal["public", "internal"]
Status = Literal["draft", "published"]
MAX_POSITION = 100_000
MAX_BODY = 500_000  # characters of HTML


def _names(value: dict[str, str]) -> dict[str, str]:
    cleaned = {k: v.strip() for k, v in value.items() if v and v.strip()}
    for name in cleaned.values():
        if len(name) > 200:
            raise ValueError("a name is at most 200 characters")
    return cleaned


class CategoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    names: dict[Locale, str]  # at least one locale
    descriptions: dict[Locale, str] = Field(default_factory=dict)
    parent_id: int | None = None  # set: a section of that category
    position: int | None = Field(default=None, ge=0, le=MAX_POSITION)  # None: last
    getting_started: bool = False
    visibility: Visibility = "public"

    @field_validator("names")
    @classmethod
    def _some_name(cls, value: dict[str, str]) -> dict[str, str]:
        cleaned = _names(value)
        if not cleaned:
            raise ValueError("give the category a name in English or Russian")
        return cleaned


class CategoryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    names: dict[Locale, str] | None = None
    descriptions: dict[Locale, str] | None = None
    parent_id: int | None = None
    position: int | None = Field(default=None, ge=0, le=MAX_POSITION)
    getting_started: bool | None = None
    visibility: Visibility | None = None

    @field_validator("names")
    @classmethod
    def _some_name(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        cleaned = _names(value)
        if not cleaned:
            raise ValueError("give the category a name in English or Russian")
        return cleaned


class CategoryRead(BaseModel):
    id: int
    parent_id: int | None
    names: dict[str, str]
    descriptions: dict[str, str]
    position: int
    getting_started: bool
    visibility: str
    created_at: datetime
    updated_at: datetime


class TranslationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    body_html: str = Field(default="", max_length=MAX_BODY)
    status: Status = "draft"

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("the title is empty")
        return value


class ArticleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category_id: int
    visibility: Visibility = "public"
    position: int | None = Field(default=None, ge=0, le=MAX_POSITION)
    tags: list[str] = Field(default_factory=list, max_length=30)
    related_ids: list[int] = Field(default_factory=list, max_length=20)
    source_ticket_id: int | None = None
    translations: dict[Locale, TranslationIn] = Field(min_length=1)


class ArticleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category_id: int | None = None
    visibility: Visibility | None = None
    position: int | None = Field(default=None, ge=0, le=MAX_POSITION)
    tags: list[str] | None = Field(default=None, max_length=30)
    related_ids: list[int] | None = Field(default=None, max_length=20)
    # each given locale's text replaces that translation (a new revision); others stay
    translations: dict[Locale, TranslationIn] | None = None


class TranslationRead(BaseModel):
    locale: str
    title: str
    slug: str
    body_html: str
    status: str
    published_at: datetime | None
    updated_at: datetime
    author_id: int | None
    view_count: int
    helpful_count: int
    unhelpful_count: int


class ArticleRead(BaseModel):
    id: int
    category_id: int
    visibility: str
    position: int
    tags: list[str]
    related_ids: list[int]
    source_ticket_id: int | None
    created_at: datetime
    updated_at: datetime
    translations: dict[str, TranslationRead]


class RevisionRead(BaseModel):
    id: int
    locale: str
    title: str
    status: str
    author_id: int | None
    created_at: datetime


class SearchHit(BaseModel):
    article_id: int
    locale: str  # the translation shown: the asked locale's when it has one
    title: str
    title_html: str  # the title with the matched words in <mark>
    snippet_html: str  # a passage of the text with the matched words in <mark>
    url: str
    visibility: str
    score: float


class SearchResults(BaseModel):
    query: str
    locale: str
    hits: list[SearchHit]
    corrected: list[str] = Field(default_factory=list)  # words read as others (typos)


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    helpful: bool
    comment: str = Field(default="", max_length=2000)
    locale: Locale = "en"
