"""The article index: each translation's analysed terms (``kb_search``, searched with
FTS5 on SQLite and a tsvector on PostgreSQL, as the ticket index), the vocabulary typo
correction looks in (``kb_terms``: how many translations hold each term), and the first,
wide cut of a search: the translations holding *any* of the query's stems, best first by
the database's own ranking (bm25 / ts_rank), which ``rules.score`` then orders.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from opora.kb.models import KbSearchDoc, KbTerm, KbTranslation
from opora.kb.rules import Candidate, QueryGroup
from opora.search.analysis import index_text

MAX_TERMS_CHARS = 400_000
CANDIDATES = 50  # translations the database hands over for ranking


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def document_terms(title: str, body_text: str) -> str:
    return f"{index_text(title)} {index_text(body_text)}".strip()[:MAX_TERMS_CHARS]


async def _count_terms(session: AsyncSession, terms: set[str], step: int) -> None:
    if not terms:
        return
    if step > 0:
        insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
        rows = [{"term": t, "documents": 1} for t in sorted(terms)]
        for i in range(0, len(rows), 500):
            stmt = insert(KbTerm).values(rows[i : i + 500])
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["term"], set_={"documents": KbTerm.documents + 1}
                )
            )
        return
    names = sorted(terms)
    for i in range(0, len(names), 500):
        chunk = names[i : i + 500]
        await session.execute(
            update(KbTerm).where(KbTerm.term.in_(chunk)).values(documents=KbTerm.documents - 1)
        )
    await session.execute(delete(KbTerm).where(KbTerm.documents <= 0))


async def index_translation(
    session: AsyncSession, *, translation_id: int, title: str, body_text: str
) -> None:
    """(Re)write a translation's terms and keep the vocabulary's counts in step."""
    terms = document_terms(title, body_text)
    doc = await session.get(KbSearchDoc, translation_id)
    old = set(doc.terms.split()) if doc is not None else set()
    new = set(terms.split())
    if doc is None:
        session.add(KbSearchDoc(translation_id=translation_id, terms=terms))
    else:
        doc.terms = terms
    await session.flush()
    await _count_terms(session, new - old, +1)
    await _count_terms(session, old - new, -1)


async def unindex_translation(session: AsyncSession, *, translation_id: int) -> None:
    doc = await session.get(KbSearchDoc, translation_id)
    if doc is None:
        return
    old = set(doc.terms.split())
    await session.delete(doc)
    await session.flush()
    await _count_terms(session, old, -1)


async def term_counts(session: AsyncSession, stems: set[str]) -> dict[str, int]:
    """How many translations hold each of ``stems`` (those the index has)."""
    if not stems:
        return {}
    rows = await session.execute(
        select(KbTerm.term, KbTerm.documents).where(KbTerm.term.in_(sorted(stems)))
    )
    return {term: int(n) for term, n in rows}


async def document_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(KbSearchDoc)) or 0)


async def corrections(session: AsyncSession, word_stem: str, *, limit: int = 2) -> list[str]:
    """Terms of the index that ``word_stem`` is probably a typo of: one edit away (two
    for words of six letters and more), with the same first letter (a typo there is
    rare, and the first letter keeps the comparison to a slice of the vocabulary)."""
    if len(word_stem) < 4:
        return []
    allowed = 1 if len(word_stem) < 6 else 2
    first = word_stem[0]
    rows = await session.execute(
        select(KbTerm.term).where(
            KbTerm.term >= first,
            KbTerm.term < chr(ord(first) + 1),
            func.length(KbTerm.term).between(len(word_stem) - allowed, len(word_stem) + allowed),
        )
    )
    choices = list(rows.scalars())
    found = process.extract(
        word_stem, choices, scorer=Levenshtein.distance, score_cutoff=allowed, limit=limit
    )
    return [choice for choice, _, _ in sorted(found, key=lambda f: (f[1], f[0]))]


def _fts5_any(groups: Sequence[QueryGroup]) -> str:
    parts = []
    for group in groups:
        for s in sorted(group.stems):
            quoted = '"' + s.replace('"', "") + '"'
            parts.append(quoted + ("*" if group.prefix else ""))
    return " OR ".join(parts)


def _tsquery_any(groups: Sequence[QueryGroup]) -> str:
    parts = []
    for group in groups:
        for s in sorted(group.stems):
            safe = "'" + s.replace("'", "").replace("\\", "") + "'"
            parts.append(safe + (":*" if group.prefix else ""))
    return " | ".join(parts)


async def candidates(
    session: AsyncSession,
    groups: Sequence[QueryGroup],
    *,
    where: str,
    limit: int = CANDIDATES,
) -> list[Candidate]:
    """The translations (``t``, of articles ``a``) holding any stem of the query that
    also pass ``where`` (SQL over ``t`` and ``a``), best first by the database's rank."""
    if not groups:
        return []
    # first the ids, best first (the database ranks every match: only small columns go
    # through its sort), then the rows of those few
    if _dialect(session) == "postgresql":
        sql = (
            "SELECT s.translation_id FROM kb_search s "
            "JOIN kb_translations t ON t.id = s.translation_id "
            "JOIN kb_articles a ON a.id = t.article_id "
            f"WHERE s.tsv @@ to_tsquery('simple', :q) AND {where} "
            "ORDER BY ts_rank(s.tsv, to_tsquery('simple', :q)) DESC, s.translation_id "
            "LIMIT :limit"
        )
        q = _tsquery_any(groups)
    else:
        sql = (
            "SELECT f.rowid FROM kb_fts f "
            "JOIN kb_translations t ON t.id = f.rowid "
            "JOIN kb_articles a ON a.id = t.article_id "
            f"WHERE kb_fts MATCH :q AND {where} "
            "ORDER BY bm25(kb_fts), f.rowid LIMIT :limit"
        )
        q = _fts5_any(groups)
    ids = [int(r[0]) for r in await session.execute(text(sql), {"q": q, "limit": limit})]
    if not ids:
        return []
    place = {translation_id: i for i, translation_id in enumerate(ids)}
    rows = await session.execute(
        select(
            KbTranslation.id, KbTranslation.article_id, KbTranslation.locale, KbTranslation.title,
            KbSearchDoc.terms, KbTranslation.view_count, KbTranslation.helpful_count,
            KbTranslation.unhelpful_count,
        )
        .join(KbSearchDoc, KbSearchDoc.translation_id == KbTranslation.id)
        .where(KbTranslation.id.in_(ids))
    )  # fmt: skip
    found = sorted(rows, key=lambda r: place[r[0]])
    return [
        Candidate(
            translation_id=r[0], article_id=r[1], locale=r[2], title=r[3], terms=r[4] or "",
            views=r[5] or 0, helpful=r[6] or 0, unhelpful=r[7] or 0, db_rank=i,
        )
        for i, r in enumerate(found)
    ]  # fmt: skip
