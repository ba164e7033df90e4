"""Full-text indexes and the ticket index built on them.

``TextIndex`` is the one interface over the two backends: a column of analysed terms in
a content table keyed by an integer, indexed by an FTS5 table (SQLite) or a generated
tsvector column with a GIN index (PostgreSQL). ``keys_matching`` turns a query into a
subquery of keys on either backend. The ticket index below uses two of them; the
knowledge base adds its own with the same class.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, TextClause, column, func, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import TextualSelect

from opora.search.analysis import fts5_query, index_text, query_groups, tsquery
from opora.search.models import TicketSearch

# A ticket's terms stop growing here (tsvector's limit is 1 MB; a ticket this long is
# a log dump, and its first 400,000 characters of terms are plenty to find it by).
MAX_TERMS_CHARS = 400_000


@dataclass(frozen=True, slots=True)
class TextIndex:
    table: str  # the content table
    key: str  # its integer key: the FTS5 rowid, and what a match returns
    column: str  # the column of analysed terms
    fts_table: str  # SQLite: the FTS5 table over ``column``
    tsv_column: str  # PostgreSQL: the generated tsvector column over ``column``

    def keys_matching(self, dialect: str, groups: list[list[str]]) -> TextualSelect:
        """``SELECT key`` of the rows having a stem of every group."""
        if dialect == "postgresql":
            sql: TextClause = text(
                f"SELECT {self.key} FROM {self.table} "
                f"WHERE {self.tsv_column} @@ to_tsquery('simple', :tsq)"
            ).bindparams(tsq=tsquery(groups))
        else:
            sql = text(
                f"SELECT rowid AS {self.key} FROM {self.fts_table} "
                f"WHERE {self.fts_table} MATCH :ftsq"
            ).bindparams(ftsq=fts5_query(groups))
        return sql.columns(column(self.key, Integer))


TICKETS_PUBLIC = TextIndex(
    "ticket_search", "ticket_id", "public_terms", "ticket_fts_public", "public_tsv"
)
TICKETS_ALL = TextIndex("ticket_search", "ticket_id", "all_terms", "ticket_fts_all", "all_tsv")


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def matching_ticket_ids(
    dialect: str, query: str, *, include_internal: bool
) -> TextualSelect | None:
    """A subquery of ticket ids having every word of ``query`` somewhere in their subject
    or messages (internal notes too when ``include_internal``); None when ``query`` has
    no words."""
    groups = query_groups(query)
    if not groups:
        return None
    index = TICKETS_ALL if include_internal else TICKETS_PUBLIC
    return index.keys_matching(dialect, groups)


MANY_MATCHES = 2000


async def matches_many(session: AsyncSession, query: str, *, include_internal: bool) -> bool:
    """Whether ``query`` matches so many tickets that a list is better walked in its sort
    order, testing each ticket, than built from every match and sorted. SQLite counts
    the matches (the index alone answers, in milliseconds); PostgreSQL's planner makes
    this choice itself from its statistics, so there it is always False."""
    if _dialect(session) == "postgresql":
        return False
    groups = query_groups(query)
    if not groups:
        return False
    index = TICKETS_ALL if include_internal else TICKETS_PUBLIC
    count = (
        await session.execute(
            text(
                f"SELECT count(*) FROM (SELECT 1 FROM {index.fts_table} "
                f"WHERE {index.fts_table} MATCH :q LIMIT {MANY_MATCHES})"
            ),
            {"q": fts5_query(groups)},
        )
    ).scalar_one()
    return int(count) >= MANY_MATCHES


async def index_new_ticket(
    session: AsyncSession, *, ticket_id: int, subject: str, body: str
) -> None:
    terms = index_text(f"{subject}\n{body}")[:MAX_TERMS_CHARS]
    session.add(TicketSearch(ticket_id=ticket_id, public_terms=terms, all_terms=terms))


def _appended(col: object, terms: str) -> object:
    return func.substr(col + " " + terms, 1, MAX_TERMS_CHARS)  # type: ignore[operator]


async def append_message(
    session: AsyncSession, *, ticket_id: int, text_: str, internal: bool
) -> None:
    """Add a new message's terms to its ticket's documents (a note only to ``all``)."""
    terms = index_text(text_)
    if not terms:
        return
    values: dict[str, object] = {"all_terms": _appended(TicketSearch.all_terms, terms)}
    if not internal:
        values["public_terms"] = _appended(TicketSearch.public_terms, terms)
    result = await session.execute(
        update(TicketSearch).where(TicketSearch.ticket_id == ticket_id).values(**values)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise LookupError(f"ticket {ticket_id} has no search document")


async def reindex_ticket(
    session: AsyncSession, *, ticket_id: int, subject: str, messages: list[tuple[str, bool]]
) -> None:
    """Rebuild a ticket's documents from its subject and (text, internal) messages, after
    a subject change or a merge; the hot path appends instead."""
    public, every = [index_text(subject)], [index_text(subject)]
    for body, internal in messages:
        terms = index_text(body)
        every.append(terms)
        if not internal:
            public.append(terms)
    values = {
        "ticket_id": ticket_id,
        "public_terms": " ".join(t for t in public if t)[:MAX_TERMS_CHARS],
        "all_terms": " ".join(t for t in every if t)[:MAX_TERMS_CHARS],
    }
    insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    stmt = insert(TicketSearch).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["ticket_id"],
            set_={"public_terms": values["public_terms"], "all_terms": values["all_terms"]},
        )
    )
