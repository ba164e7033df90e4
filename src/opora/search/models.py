from __future__ import annotations

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from opora.db import Base


class TicketSearch(Base):
    """The analysed text of one ticket, as two documents keyed by the ticket id:
    ``public_terms`` (subject and public messages: what a customer may search) and
    ``all_terms`` (the same plus internal notes: what agents search).

    SQLite indexes each column with an FTS5 table whose rowid *is* the ticket id
    (``ticket_fts_public``, ``ticket_fts_all``, kept in step by triggers); PostgreSQL with
    generated tsvector columns (``public_tsv``, ``all_tsv``) and GIN indexes. A match
    therefore yields ticket ids directly, with no lookup per matching document.
    """

    __tablename__ = "ticket_search"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    public_terms: Mapped[str] = mapped_column(Text, default="")
    all_terms: Mapped[str] = mapped_column(Text, default="")
