from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opora.db import Base, IdMixin


class SearchDocument(IdMixin, Base):
    """Analysed text of one searchable thing (a ticket's subject, a message, an article).

    ``terms`` holds the stems; SQLite indexes it with the FTS5 table ``search_fts``
    (kept in step by triggers), PostgreSQL with the generated ``tsv`` column (GIN).
    """

    __tablename__ = "search_documents"
    __table_args__ = (
        UniqueConstraint("kind", "ref_id"),
        Index("ix_search_documents_ticket", "ticket_id"),
    )

    kind: Mapped[str] = mapped_column(String(20))
    ref_id: Mapped[int] = mapped_column(Integer)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str | None] = mapped_column(String(10))
    terms: Mapped[str] = mapped_column(Text, default="")
