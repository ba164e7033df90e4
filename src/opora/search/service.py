"""Index and query documents; the backend is chosen by the session's dialect."""

from __future__ import annotations

from sqlalchemy import Select, bindparam, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from opora.search.analysis import fts5_query, index_text, query_groups, tsquery
from opora.search.models import SearchDocument


def _dialect(session: AsyncSession) -> str:
    bind = session.get_bind()
    return bind.dialect.name


async def index_document(
    session: AsyncSession,
    *,
    kind: str,
    ref_id: int,
    text_: str,
    ticket_id: int | None = None,
    internal: bool = False,
    locale: str | None = None,
) -> None:
    """Add or replace the document (kind, ref_id)."""
    terms = index_text(text_)
    existing = (
        await session.execute(
            select(SearchDocument).where(
                SearchDocument.kind == kind, SearchDocument.ref_id == ref_id
            )
        )
    ).scalar_one_or_none()
    if existing is None:
        session.add(
            SearchDocument(
                kind=kind,
                ref_id=ref_id,
                ticket_id=ticket_id,
                internal=internal,
                locale=locale,
                terms=terms,
            )
        )
    else:
        existing.terms = terms
        existing.ticket_id = ticket_id
        existing.internal = internal
        existing.locale = locale
    await session.flush()


async def add_document(
    session: AsyncSession,
    *,
    kind: str,
    ref_id: int,
    text_: str,
    ticket_id: int | None = None,
    internal: bool = False,
    locale: str | None = None,
) -> None:
    """Add a new document without checking for an old one (hot path: new messages)."""
    session.add(
        SearchDocument(
            kind=kind,
            ref_id=ref_id,
            ticket_id=ticket_id,
            internal=internal,
            locale=locale,
            terms=index_text(text_),
        )
    )


async def remove_document(session: AsyncSession, *, kind: str, ref_id: int) -> None:
    await session.execute(
        delete(SearchDocument).where(SearchDocument.kind == kind, SearchDocument.ref_id == ref_id)
    )


async def move_ticket_documents(
    session: AsyncSession, *, from_ticket_id: int, to_ticket_id: int, kinds: tuple[str, ...]
) -> None:
    await session.execute(
        update(SearchDocument)
        .where(SearchDocument.ticket_id == from_ticket_id, SearchDocument.kind.in_(kinds))
        .values(ticket_id=to_ticket_id)
    )


def matching_ticket_ids(
    dialect: str, query: str, *, include_internal: bool, kinds: tuple[str, ...] | None = None
) -> Select[int | None] | None:
    """A subquery of ticket ids whose documents match ``query``; None when it has no words.

    A ticket matches when each word of the query is somewhere in it (its subject or any
    message), not necessarily all in one document."""
    groups = query_groups(query)
    if not groups:
        return None

    def documents_matching(group: list[str]) -> Select[int | None]:
        stmt = select(SearchDocument.ticket_id).where(SearchDocument.ticket_id.is_not(None))
        if not include_internal:
            stmt = stmt.where(SearchDocument.internal.is_(False))
        if kinds:
            stmt = stmt.where(SearchDocument.kind.in_(kinds))
        if dialect == "postgresql":
            return stmt.where(
                text("search_documents.tsv @@ to_tsquery('simple', :tsq)").bindparams(
                    bindparam("tsq", tsquery([group]), unique=True)
                )
            )
        return stmt.where(
            text(
                "search_documents.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH :q)"
            ).bindparams(bindparam("q", fts5_query([group]), unique=True))
        )

    first, *rest = groups
    stmt = documents_matching(first)
    for group in rest:
        stmt = stmt.where(SearchDocument.ticket_id.in_(documents_matching(group)))
    return stmt
