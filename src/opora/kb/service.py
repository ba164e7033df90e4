"""Knowledge base use cases: categories and articles (agents write, admins and
supervisors arrange and delete), reading (customers and anonymous visitors see public,
published articles only), search, and the record of what readers did.

Who reads what is decided here, once (``_readable``): an internal article, a draft, or
an article in an internal category never reaches anyone but an agent, by any path —
reading, search, related articles, suggestions.

An article is one piece of knowledge in up to two languages: a translation per locale,
each with its own title, text and status. Saving a translation stores a revision (who,
when, what) and re-indexes it. Its HTML is sanitized (``kit.html``) and its plain text
derived for search and snippets.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, exists, func, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor
from opora.db import shared_cache
from opora.errors import Conflict, Forbidden, InvalidInput, NotFound
from opora.kb import index, rules
from opora.kb.models import (
    KbArticle,
    KbCategory,
    KbClick,
    KbFeedback,
    KbOutcome,
    KbRevision,
    KbSearch,
    KbTranslation,
    KbView,
)
from opora.kb.schemas import (
    LOCALES,
    ArticleCreate,
    ArticleUpdate,
    CategoryCreate,
    CategoryUpdate,
    FeedbackIn,
    SearchHit,
    SearchResults,
    TranslationIn,
)
from opora.kit.html import html_to_text, sanitize_html
from opora.kit.time import utcnow
from opora.tickets.models import Ticket
from opora.tickets.service import normalize_tag

PUBLIC = "public"
PUBLISHED = "published"
# a stem in more than this share of the articles (and at least this many) is too common
# to look articles up by (``_selective``)
COMMON_SHARE = 0.2
COMMON_FLOOR = 200
COUNT_SECONDS = 60


class CategoryNotFound(NotFound):
    code = "kb_category_not_found"


class ArticleNotFound(NotFound):
    code = "kb_article_not_found"


class CategoryInUse(Conflict):
    code = "kb_category_in_use"


# --- who may do what ------------------------------------------------------------------------


def is_agent(actor: Actor | None) -> bool:
    return actor is not None and (actor.is_user or actor.is_system)


def _require_writer(actor: Actor | None) -> Actor:
    if actor is None or not is_agent(actor):
        raise Forbidden("only agents write the knowledge base")
    return actor


def _require_arranger(actor: Actor | None) -> Actor:
    if actor is None or not actor.is_supervisor:
        raise Forbidden("only admins and supervisors arrange and delete knowledge-base content")
    return actor


async def public_category_ids(session: AsyncSession) -> set[int]:
    """Categories a customer may see: public ones whose parent (if any) is public too."""
    rows = (await session.execute(select(KbCategory))).scalars().all()
    public = {c.id for c in rows if c.visibility == PUBLIC}
    return {c.id for c in rows if c.id in public and (c.parent_id is None or c.parent_id in public)}


@dataclass(frozen=True, slots=True)
class _Scope:
    """What the reader may see: everything (agents), or public published articles in
    public categories (customers, anonymous visitors)."""

    agent: bool
    categories: frozenset[int]


async def _scope(session: AsyncSession, actor: Actor | None) -> _Scope:
    if is_agent(actor):
        return _Scope(agent=True, categories=frozenset())
    return _Scope(agent=False, categories=frozenset(await public_category_ids(session)))


def _readable(scope: _Scope, article: KbArticle, translation: KbTranslation | None) -> bool:
    if scope.agent:
        return True
    return (
        article.visibility == PUBLIC
        and article.category_id in scope.categories
        and translation is not None
        and translation.status == PUBLISHED
    )


# --- categories -----------------------------------------------------------------------------


async def list_categories(session: AsyncSession, *, actor: Actor | None) -> list[KbCategory]:
    rows = (
        await session.execute(
            select(KbCategory).order_by(
                KbCategory.getting_started.desc(), KbCategory.position, KbCategory.id
            )
        )
    ).scalars()
    scope = await _scope(session, actor)
    return [c for c in rows if scope.agent or c.id in scope.categories]


async def get_category(
    session: AsyncSession, *, actor: Actor | None, category_id: int
) -> KbCategory:
    row = await session.get(KbCategory, category_id)
    scope = await _scope(session, actor)
    if row is None or not (scope.agent or row.id in scope.categories):
        raise CategoryNotFound(f"category {category_id} not found")
    return row


async def _check_parent(session: AsyncSession, parent_id: int | None, own_id: int | None) -> None:
    if parent_id is None:
        return
    parent = await session.get(KbCategory, parent_id)
    if parent is None:
        raise InvalidInput(f"category {parent_id} does not exist", field="parent_id")
    if parent.parent_id is not None:
        raise InvalidInput("a section's parent must be a category, not a section",
                           field="parent_id")  # fmt: skip
    if own_id is not None:
        if parent_id == own_id:
            raise InvalidInput("a category cannot be its own section", field="parent_id")
        has_sections = await session.scalar(
            select(func.count()).select_from(KbCategory).where(KbCategory.parent_id == own_id)
        )
        if has_sections:
            raise InvalidInput("a category with sections cannot become a section",
                               field="parent_id")  # fmt: skip


async def _next_position(session: AsyncSession, model: Any, **where: Any) -> int:
    stmt = select(func.max(model.position))
    for name, value in where.items():
        column = getattr(model, name)
        stmt = stmt.where(column.is_(None) if value is None else column == value)
    last = await session.scalar(stmt)
    return (last or 0) + 10


async def create_category(
    session: AsyncSession, *, actor: Actor, data: CategoryCreate
) -> KbCategory:
    _require_arranger(actor)
    await _check_parent(session, data.parent_id, None)
    position = data.position
    if position is None:
        position = await _next_position(session, KbCategory, parent_id=data.parent_id)
    row = KbCategory(
        parent_id=data.parent_id, names={str(k): v for k, v in data.names.items()},
        descriptions={k: v.strip() for k, v in data.descriptions.items() if v.strip()},
        position=position, getting_started=data.getting_started, visibility=data.visibility,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def update_category(
    session: AsyncSession, *, actor: Actor, category_id: int, data: CategoryUpdate
) -> KbCategory:
    _require_arranger(actor)
    row = await get_category(session, actor=actor, category_id=category_id)
    given = data.model_dump(exclude_unset=True)
    if "parent_id" in given:
        await _check_parent(session, given["parent_id"], row.id)
        row.parent_id = given["parent_id"]
    if data.names is not None:
        row.names = {str(k): v for k, v in data.names.items()}
    if data.descriptions is not None:
        row.descriptions = {k: v.strip() for k, v in data.descriptions.items() if v.strip()}
    for name in ("position", "getting_started", "visibility"):
        value = given.get(name)
        if value is not None:
            setattr(row, name, value)
    row.updated_at = utcnow()
    await session.flush()
    return row


async def delete_category(session: AsyncSession, *, actor: Actor, category_id: int) -> None:
    _require_arranger(actor)
    row = await get_category(session, actor=actor, category_id=category_id)
    articles = await session.scalar(
        select(func.count()).select_from(KbArticle).where(KbArticle.category_id == row.id)
    )
    sections = await session.scalar(
        select(func.count()).select_from(KbCategory).where(KbCategory.parent_id == row.id)
    )
    if articles or sections:
        raise CategoryInUse(
            f"the category still holds {articles} articles and {sections} sections: "
            "move or delete them first"
        )
    await session.delete(row)
    await session.flush()


# --- articles -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Article:
    """An article with the translations the reader may see, by locale."""

    row: KbArticle
    translations: dict[str, KbTranslation]

    def shown(self, locale: str) -> KbTranslation | None:
        """The translation to show a reader of ``locale``: theirs, else the other one."""
        return self.translations.get(locale) or next(iter(self.translations.values()), None)


async def _translations(
    session: AsyncSession, article_ids: Sequence[int]
) -> dict[int, list[KbTranslation]]:
    found: dict[int, list[KbTranslation]] = {}
    if not article_ids:
        return found
    rows = await session.execute(
        select(KbTranslation).where(KbTranslation.article_id.in_(list(article_ids)))
    )
    for t in rows.scalars():
        found.setdefault(t.article_id, []).append(t)
    return found


def _visible(scope: _Scope, row: KbArticle, translations: list[KbTranslation]) -> Article | None:
    shown = {t.locale: t for t in translations if _readable(scope, row, t)}
    if not shown:
        return None if not scope.agent else Article(row, {})
    return Article(row, shown)


async def get_article(session: AsyncSession, *, actor: Actor | None, article_id: int) -> Article:
    row = await session.get(KbArticle, article_id)
    if row is None:
        raise ArticleNotFound(f"article {article_id} not found")
    scope = await _scope(session, actor)
    found = _visible(scope, row, (await _translations(session, [row.id])).get(row.id, []))
    if found is None:
        raise ArticleNotFound(f"article {article_id} not found")
    return found


async def list_articles(
    session: AsyncSession,
    *,
    actor: Actor | None,
    category_id: int | None = None,
    locale: str | None = None,
    status: str | None = None,
    visibility: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Article]:
    scope = await _scope(session, actor)
    stmt = select(KbArticle).order_by(KbArticle.position, KbArticle.id)
    if category_id is not None:
        stmt = stmt.where(KbArticle.category_id == category_id)
    if visibility is not None:
        stmt = stmt.where(KbArticle.visibility == visibility)
    if not scope.agent:
        stmt = stmt.where(
            KbArticle.visibility == PUBLIC, KbArticle.category_id.in_(sorted(scope.categories))
        )
    wanted = select(KbTranslation.article_id)
    if locale is not None:
        wanted = wanted.where(KbTranslation.locale == locale)
    if status is not None:
        wanted = wanted.where(KbTranslation.status == status)
    if not scope.agent:
        wanted = wanted.where(KbTranslation.status == PUBLISHED)
    if locale is not None or status is not None or not scope.agent:
        stmt = stmt.where(KbArticle.id.in_(wanted))
    rows = list((await session.execute(stmt.limit(limit).offset(offset))).scalars())
    by_article = await _translations(session, [r.id for r in rows])
    found = []
    for row in rows:
        article = _visible(scope, row, by_article.get(row.id, []))
        if article is None:
            continue
        if locale is not None or status is not None:
            keep = {
                k: t for k, t in article.translations.items()
                if (locale is None or k == locale) and (status is None or t.status == status)
            }  # fmt: skip
            article = Article(row, keep)
        found.append(article)
    return found


async def articles_by_category(
    session: AsyncSession,
    *,
    actor: Actor | None,
    category_ids: Sequence[int],
    per_category: int | None = None,
) -> dict[int, list[Article]]:
    """The articles the reader may see in each of ``category_ids``, by position; with
    ``per_category``, only that many each (one query, whatever the number of categories:
    a ``UNION ALL`` of one limited part per category, each on the category's index)."""
    scope = await _scope(session, actor)
    wanted = [c for c in category_ids if scope.agent or c in scope.categories]
    if not wanted:
        return {}

    def of(category_id: int) -> Select[Any]:
        stmt = select(KbArticle.id).where(KbArticle.category_id == category_id)
        if not scope.agent:
            published = exists().where(
                KbTranslation.article_id == KbArticle.id, KbTranslation.status == PUBLISHED
            )
            stmt = stmt.where(KbArticle.visibility == PUBLIC, published)
        stmt = stmt.order_by(KbArticle.position, KbArticle.id)
        return stmt.limit(per_category) if per_category is not None else stmt

    # one statement, a part per category, each reading its category's index in order
    parts = [of(c).subquery() for c in wanted]
    stmt = union_all(*(select(p.c.id) for p in parts))
    ids = [int(i) for i in (await session.execute(stmt)).scalars()]
    found: dict[int, list[Article]] = {}
    for article in await _articles_in_order(session, scope, ids):
        found.setdefault(article.row.category_id, []).append(article)
    for articles in found.values():
        articles.sort(key=lambda a: (a.row.position, a.row.id))
    return found


async def popular_articles(
    session: AsyncSession, *, actor: Actor | None, locale: str, limit: int = 6
) -> list[Article]:
    """The most read articles in ``locale`` that the reader may see (read off the index
    on locale, status and views)."""
    scope = await _scope(session, actor)
    stmt = (
        select(KbTranslation.article_id)
        .join(KbArticle, KbArticle.id == KbTranslation.article_id)
        .where(KbTranslation.locale == locale, KbTranslation.status == PUBLISHED)
        .order_by(KbTranslation.view_count.desc(), KbTranslation.article_id)
        .limit(limit)
    )
    if not scope.agent:
        stmt = stmt.where(
            KbArticle.visibility == PUBLIC, KbArticle.category_id.in_(sorted(scope.categories))
        )
    ids = [int(r) for r in (await session.execute(stmt)).scalars()]
    return await _articles_in_order(session, scope, ids)


async def _articles_in_order(session: AsyncSession, scope: _Scope, ids: list[int]) -> list[Article]:
    if not ids:
        return []
    rows = {
        r.id: r
        for r in (await session.execute(select(KbArticle).where(KbArticle.id.in_(ids)))).scalars()
    }
    by_article = await _translations(session, ids)
    found = []
    for article_id in ids:
        row = rows.get(article_id)
        if row is None:
            continue
        article = _visible(scope, row, by_article.get(article_id, []))
        if article is not None and article.translations:
            found.append(article)
    return found


async def related_articles(
    session: AsyncSession, *, actor: Actor | None, article: Article
) -> list[Article]:
    scope = await _scope(session, actor)
    return await _articles_in_order(session, scope, list(article.row.related_ids or []))


def _clean_tags(tags: Sequence[str]) -> list[str]:
    return sorted({normalize_tag(t) for t in tags})


async def _check_category(session: AsyncSession, category_id: int) -> None:
    if await session.get(KbCategory, category_id) is None:
        raise InvalidInput(f"category {category_id} does not exist", field="category_id")


async def _check_related(
    session: AsyncSession, ids: Sequence[int], own_id: int | None
) -> list[int]:
    wanted = [i for i in dict.fromkeys(ids) if i != own_id]
    if not wanted:
        return []
    found = set(
        (await session.execute(select(KbArticle.id).where(KbArticle.id.in_(wanted)))).scalars()
    )
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput(f"articles {missing} do not exist", field="related_ids")
    return wanted


async def _save_translation(
    session: AsyncSession, *, actor: Actor, article: KbArticle, locale: str, data: TranslationIn
) -> KbTranslation:
    html = sanitize_html(data.body_html)
    text = html_to_text(html) if html else ""
    now = utcnow()
    row = (
        await session.execute(
            select(KbTranslation).where(
                KbTranslation.article_id == article.id, KbTranslation.locale == locale
            )
        )
    ).scalar_one_or_none()
    if row is None:
        row = KbTranslation(article_id=article.id, locale=locale, author_id=actor.id,
                            view_count=0, helpful_count=0, unhelpful_count=0,
                            created_at=now)  # fmt: skip
        session.add(row)
    row.title = data.title
    row.slug = rules.slugify(data.title)
    row.body_html = html
    row.body_text = text
    if data.status == PUBLISHED and row.status != PUBLISHED:
        row.published_at = now
    row.status = data.status
    row.updated_at = now
    await session.flush()
    session.add(KbRevision(translation_id=row.id, title=row.title, body_html=html,
                           status=row.status, author_id=actor.id, created_at=now))  # fmt: skip
    await index.index_translation(session, translation_id=row.id, title=row.title, body_text=text)
    return row


async def create_article(session: AsyncSession, *, actor: Actor, data: ArticleCreate) -> Article:
    _require_writer(actor)
    await _check_category(session, data.category_id)
    if (
        data.source_ticket_id is not None
        and await session.get(Ticket, data.source_ticket_id) is None
    ):
        raise InvalidInput(
            f"ticket {data.source_ticket_id} does not exist", field="source_ticket_id"
        )
    position = data.position
    if position is None:
        position = await _next_position(session, KbArticle, category_id=data.category_id)
    row = KbArticle(
        category_id=data.category_id, visibility=data.visibility, position=position,
        tags=_clean_tags(data.tags), related_ids=[], source_ticket_id=data.source_ticket_id,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    row.related_ids = await _check_related(session, data.related_ids, row.id)
    for locale in LOCALES:
        if locale in data.translations:
            await _save_translation(session, actor=actor, article=row, locale=locale,
                                    data=data.translations[locale])  # fmt: skip
    return await get_article(session, actor=actor, article_id=row.id)


async def update_article(
    session: AsyncSession, *, actor: Actor, article_id: int, data: ArticleUpdate
) -> Article:
    _require_writer(actor)
    row = await session.get(KbArticle, article_id)
    if row is None:
        raise ArticleNotFound(f"article {article_id} not found")
    if data.category_id is not None:
        await _check_category(session, data.category_id)
        row.category_id = data.category_id
    if data.visibility is not None:
        row.visibility = data.visibility
    if data.position is not None:
        row.position = data.position
    if data.tags is not None:
        row.tags = _clean_tags(data.tags)
    if data.related_ids is not None:
        row.related_ids = await _check_related(session, data.related_ids, row.id)
    for locale in LOCALES:
        if data.translations and locale in data.translations:
            await _save_translation(session, actor=actor, article=row, locale=locale,
                                    data=data.translations[locale])  # fmt: skip
    row.updated_at = utcnow()
    await session.flush()
    return await get_article(session, actor=actor, article_id=row.id)


async def delete_article(session: AsyncSession, *, actor: Actor, article_id: int) -> None:
    _require_arranger(actor)
    row = await session.get(KbArticle, article_id)
    if row is None:
        raise ArticleNotFound(f"article {article_id} not found")
    for t in (await _translations(session, [row.id])).get(row.id, []):
        await index.unindex_translation(session, translation_id=t.id)
    await session.delete(row)
    await session.flush()


async def list_revisions(
    session: AsyncSession, *, actor: Actor, article_id: int
) -> list[tuple[str, KbRevision]]:
    _require_writer(actor)
    if await session.get(KbArticle, article_id) is None:
        raise ArticleNotFound(f"article {article_id} not found")
    rows = await session.execute(
        select(KbTranslation.locale, KbRevision)
        .join(KbTranslation, KbTranslation.id == KbRevision.translation_id)
        .where(KbTranslation.article_id == article_id)
        .order_by(KbRevision.created_at.desc(), KbRevision.id.desc())
    )
    return [(locale, rev) for locale, rev in rows]


# --- search ---------------------------------------------------------------------------------


def article_url(article_id: int, slug: str) -> str:
    return f"/help/articles/{article_id}" + (f"-{slug}" if slug else "")


async def search(
    session: AsyncSession,
    *,
    actor: Actor | None,
    query: str,
    locale: str,
    limit: int = 10,
    typing: bool = False,
    include_internal: bool = True,
) -> SearchResults:
    """Articles answering ``query``, best first, each once, shown in ``locale`` where it
    has that translation (found through the other one when only that one matches: "reset
    password" finds «Сброс пароля» by its English text). Words are stemmed, synonyms
    count (``search/synonyms.txt``), common words do not (``search/stopwords.txt``), and
    a word the index does not hold is read as the nearest ones it does (a typo). With
    ``typing``, the last word may be unfinished (the request form's suggestions)."""
    groups = rules.query_groups(query, typing=typing)
    if not groups:
        return SearchResults(query=query, locale=locale, hits=[])
    counts = await index.term_counts(session, set().union(*(g.stems for g in groups)))
    common = await _common_limit(session)
    corrected: list[str] = []
    fixed = []
    for group in groups:
        if group.prefix or not group.stems.isdisjoint(counts):
            fixed.append(group)
            continue
        near = await index.corrections(session, min(group.stems, key=len))
        extra = frozenset().union(*(rules.synonyms_of(n) for n in near))
        extra_counts = await index.term_counts(session, set(extra))
        # a typo is read as a word the articles use, not as one nearly all of them do
        # («приходит» is not «приложите»)
        extra = frozenset(t for t in extra if 0 < extra_counts.get(t, 0) <= common)
        counts.update({t: extra_counts[t] for t in extra})
        if extra:
            corrected.append(group.word)
            fixed.append(rules.QueryGroup(word=group.word, stems=group.stems | extra))
        else:
            fixed.append(group)
    scope = await _scope(session, actor)
    # what the reader may see, as SQL over the translation ``t`` and its article ``a``
    where = "t.status = 'published'"
    if not scope.agent or not include_internal:
        where += " AND a.visibility = 'public'"
    if not scope.agent:
        ids = sorted(scope.categories) or [0]
        where += " AND a.category_id IN (" + ", ".join(str(int(i)) for i in ids) + ")"
    found = await index.candidates(session, _selective(fixed, counts, common), where=where)
    best: dict[int, tuple[float, float, rules.Candidate]] = {}
    for cand in found:
        coverage, value = rules.score(cand, fixed)
        if coverage <= 0:
            continue
        kept = best.get(cand.article_id)
        if kept is None or value > kept[1]:
            best[cand.article_id] = (coverage, value, cand)
    if not best:
        return SearchResults(query=query, locale=locale, hits=[], corrected=corrected)
    top_coverage = max(c for c, _, _ in best.values())
    ranked = sorted(
        (b for b in best.values() if b[0] >= top_coverage / 2),
        key=lambda b: (-b[1], b[2].article_id),
    )[:limit]
    ids = [b[2].article_id for b in ranked]
    articles = {a.row.id: a for a in await _articles_in_order(session, scope, ids)}
    hits = []
    for _coverage, value, cand in ranked:
        article = articles.get(cand.article_id)
        if article is None:
            continue
        shown = article.translations.get(locale)
        if shown is None or shown.status != PUBLISHED:
            shown = article.translations.get(cand.locale)
        if shown is None:
            continue
        hits.append(
            SearchHit(
                article_id=article.row.id, locale=shown.locale, title=shown.title,
                title_html=rules.marked(shown.title, fixed),
                snippet_html=rules.marked(shown.body_text, fixed, words=rules.SNIPPET_WORDS),
                url=article_url(article.row.id, shown.slug), visibility=article.row.visibility,
                score=round(value, 3),
            )
        )  # fmt: skip
    return SearchResults(query=query, locale=locale, hits=hits, corrected=corrected)


async def _common_limit(session: AsyncSession) -> int:
    """Stems in more translations than this are too common to look articles up by (the
    count of translations is cached per process for a minute: it moves slowly)."""
    cache = shared_cache(session, "kb")
    known = cache.get("documents")
    if known is None or time.monotonic() - known[0] > COUNT_SECONDS:
        known = (time.monotonic(), await index.document_count(session))
        cache["documents"] = known
    return max(COMMON_FLOOR, int(known[1] * COMMON_SHARE))


def _selective(
    groups: list[rules.QueryGroup], counts: dict[str, int], limit: int
) -> list[rules.QueryGroup]:
    """The query's stems worth asking the index for: not those in a large share of all
    articles (in "app crashes on start", "app" is in every article that says "update the
    app"): matching them would make the database rank nearly every article. They still
    count in ``rules.score``. When every stem is that common, the rarest group stays."""
    kept = []
    for group in groups:
        stems = frozenset(s for s in group.stems if group.prefix or counts.get(s, 0) <= limit)
        if stems:
            kept.append(rules.QueryGroup(word=group.word, stems=stems, prefix=group.prefix))
    if kept:
        return kept
    return [min(groups, key=lambda g: min((counts.get(s, 0) for s in g.stems), default=0))]


# --- what readers did -----------------------------------------------------------------------


def normalize_query(query: str) -> str:
    return " ".join(query.lower().replace("ё", "е").split())[:300]


async def log_search(
    session: AsyncSession,
    *,
    query: str,
    locale: str,
    results: int,
    source: str,
    visitor: str = "",
    actor: Actor | None = None,
) -> int:
    """Record a search for the analytics; returns its id (for the clicks on its results)."""
    row = KbSearch(
        query=" ".join(query.split())[:300], normalized=normalize_query(query), locale=locale,
        results=results, source=source, visitor=visitor[:64],
        contact_id=actor.id if actor is not None and actor.is_customer else None,
        user_id=actor.id if actor is not None and actor.is_user else None, created_at=utcnow(),
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row.id


async def record_click(
    session: AsyncSession, *, search_id: int, article_id: int, position: int, visitor: str = ""
) -> None:
    """A result opened from a search (the search must be this visitor's)."""
    found = await session.get(KbSearch, search_id)
    if found is None or (visitor and found.visitor and found.visitor != visitor):
        return
    if await session.get(KbArticle, article_id) is None:
        return
    session.add(KbClick(search_id=search_id, article_id=article_id, position=max(position, 0),
                        created_at=utcnow()))  # fmt: skip
    await session.flush()


async def record_view(
    session: AsyncSession, *, article_id: int, locale: str, visitor: str = ""
) -> None:
    session.add(
        KbView(article_id=article_id, locale=locale, visitor=visitor[:64], created_at=utcnow())
    )
    await session.execute(
        update(KbTranslation)
        .where(KbTranslation.article_id == article_id, KbTranslation.locale == locale)
        .values(view_count=KbTranslation.view_count + 1)
    )
    await session.flush()


async def record_feedback(
    session: AsyncSession,
    *,
    actor: Actor | None,
    article_id: int,
    data: FeedbackIn,
    visitor: str = "",
) -> KbFeedback:
    """ "Helped / didn't help" on an article the reader may see (else a 404)."""
    article = await get_article(session, actor=actor, article_id=article_id)
    shown = article.shown(data.locale)
    locale = shown.locale if shown is not None else data.locale
    row = KbFeedback(
        article_id=article_id, locale=locale, helpful=data.helpful, comment=data.comment.strip(),
        visitor=visitor[:64], created_at=utcnow(),
        contact_id=actor.id if actor is not None and actor.is_customer else None,
    )  # fmt: skip
    session.add(row)
    column = KbTranslation.helpful_count if data.helpful else KbTranslation.unhelpful_count
    await session.execute(
        update(KbTranslation)
        .where(KbTranslation.article_id == article_id, KbTranslation.locale == locale)
        .values({column.key: column + 1})
    )
    await session.flush()
    return row


async def record_outcome(
    session: AsyncSession,
    *,
    kind: Literal["ticket", "deflected"],
    visitor: str,
    ticket_id: int | None = None,
    article_id: int | None = None,
) -> None:
    """What a visitor of the request form did: submitted ``ticket_id``, or left because
    ``article_id`` helped (a deflected request). The search analytics count them."""
    session.add(
        KbOutcome(
            kind=kind, visitor=visitor[:64], ticket_id=ticket_id, article_id=article_id,
            created_at=utcnow(),
        )
    )  # fmt: skip
    await session.flush()
