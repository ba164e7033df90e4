"""The knowledge base and what customers do with it.

- ``KbCategory``: a category, or a section when it has a parent (one level); names in
  each locale; ``getting_started`` categories come first on the help center's home.
- ``KbArticle``: one article across languages (category, visibility, tags, related
  articles); ``KbTranslation``: its text in one locale (title, sanitized HTML, plain
  text for search, draft or published, views, feedback counts); ``KbRevision``: every
  saved version of a translation, with author and time.
- ``KbSearchDoc``: a translation's analysed terms (``search.analysis``), indexed by an
  FTS5 table (SQLite: ``kb_fts``, rowid = translation id) or a tsvector column with a
  GIN index (PostgreSQL: ``tsv``), like the ticket index; ``KbTerm``: how many
  translations hold each term (the vocabulary typo correction looks in).
- What people do, for the search analytics: ``KbSearch`` (a query, its results, who),
  ``KbClick`` (a result opened from a search), ``KbView`` (an article read),
  ``KbFeedback`` ("helped / didn't help" and a comment), ``KbOutcome`` (a request
  submitted, or given up because an article helped: a deflection).

Who did something is a ``visitor`` key: the portal's visitor cookie, the same before and
after sign-in, so a search and the request that followed it can be joined.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from opora.db import Base, IdMixin, TimestampMixin, utcnow


class KbCategory(IdMixin, TimestampMixin, Base):
    __tablename__ = "kb_categories"

    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_categories.id", ondelete="RESTRICT"), index=True
    )  # set: a section of that category
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # locale -> name
    descriptions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    getting_started: Mapped[bool] = mapped_column(Boolean, default=False)
    visibility: Mapped[str] = mapped_column(String(20), default="public")


class KbArticle(IdMixin, TimestampMixin, Base):
    __tablename__ = "kb_articles"
    # a category's articles in order (the help center's lists)
    __table_args__ = (Index("ix_kb_articles_category_position", "category_id", "position", "id"),)

    category_id: Mapped[int] = mapped_column(
        ForeignKey("kb_categories.id", ondelete="RESTRICT"), index=True
    )
    visibility: Mapped[str] = mapped_column(String(20), default="public")  # or "internal"
    position: Mapped[int] = mapped_column(Integer, default=0)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    related_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    source_ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL")
    )  # made from that ticket's resolution


class KbTranslation(IdMixin, TimestampMixin, Base):
    __tablename__ = "kb_translations"
    __table_args__ = (
        UniqueConstraint("article_id", "locale"),
        Index("ix_kb_translations_locale_status_views", "locale", "status", "view_count"),
    )

    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(10))  # "en" or "ru"
    title: Mapped[str] = mapped_column(String(300))
    slug: Mapped[str] = mapped_column(String(120), default="")
    body_html: Mapped[str] = mapped_column(Text, default="")  # sanitized
    body_text: Mapped[str] = mapped_column(Text, default="")  # from the HTML, for snippets
    status: Mapped[str] = mapped_column(String(20), default="draft")  # or "published"
    published_at: Mapped[datetime | None]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    helpful_count: Mapped[int] = mapped_column(Integer, default=0)
    unhelpful_count: Mapped[int] = mapped_column(Integer, default=0)


class KbRevision(IdMixin, Base):
    __tablename__ = "kb_revisions"

    translation_id: Mapped[int] = mapped_column(
        ForeignKey("kb_translations.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    body_html: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KbSearchDoc(Base):
    __tablename__ = "kb_search"

    translation_id: Mapped[int] = mapped_column(
        ForeignKey("kb_translations.id", ondelete="CASCADE"), primary_key=True
    )
    terms: Mapped[str] = mapped_column(Text, default="")  # the title's terms, then the body's


class KbTerm(Base):
    __tablename__ = "kb_terms"

    term: Mapped[str] = mapped_column(String(60), primary_key=True)
    documents: Mapped[int] = mapped_column(Integer, default=0)


class KbSearch(IdMixin, Base):
    __tablename__ = "kb_searches"
    __table_args__ = (
        Index("ix_kb_searches_created", "created_at"),
        Index("ix_kb_searches_visitor_created", "visitor", "created_at"),
    )

    query: Mapped[str] = mapped_column(String(300))  # as typed, trimmed
    normalized: Mapped[str] = mapped_column(String(300))  # lower case, single spaces
    locale: Mapped[str] = mapped_column(String(10))
    results: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(20), default="portal")  # api, suggest, agent
    visitor: Mapped[str] = mapped_column(String(64), default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KbClick(IdMixin, Base):
    __tablename__ = "kb_clicks"

    search_id: Mapped[int] = mapped_column(
        ForeignKey("kb_searches.id", ondelete="CASCADE"), index=True
    )
    article_id: Mapped[int] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)  # 1 = the first result
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KbView(IdMixin, Base):
    __tablename__ = "kb_views"
    __table_args__ = (Index("ix_kb_views_article_created", "article_id", "created_at"),)

    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(10))
    visitor: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class KbFeedback(IdMixin, Base):
    __tablename__ = "kb_feedback"
    __table_args__ = (Index("ix_kb_feedback_article_created", "article_id", "created_at"),)

    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(10))
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    visitor: Mapped[str] = mapped_column(String(64), default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class KbOutcome(IdMixin, Base):
    """What a visitor of the request form did: submitted a ticket, or left because an
    article they were shown helped (``deflected``, with the article)."""

    __tablename__ = "kb_outcomes"
    __table_args__ = (Index("ix_kb_outcomes_visitor_created", "visitor", "created_at"),)

    kind: Mapped[str] = mapped_column(String(20))  # "ticket" or "deflected"
    visitor: Mapped[str] = mapped_column(String(64), default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


__all__ = [
    "KbArticle",
    "KbCategory",
    "KbClick",
    "KbFeedback",
    "KbOutcome",
    "KbRevision",
    "KbSearch",
    "KbSearchDoc",
    "KbTerm",
    "KbTranslation",
    "KbView",
]
