"""Search analytics of the knowledge base, for supervisors: what readers searched, found,
opened and read, and which searches still ended in a request.

Everything counts what happened in a date range: from the start of ``date_from`` to the
end of ``date_to`` in the viewer's time zone (their user's ``timezone``, else UTC),
[start, end) in UTC. A search belongs to the range by its time; a click, a view, a piece
of feedback and an outcome by theirs.

- **Top queries**: searches by their normalized text (lower case, single spaces, ё = е),
  how many of them found something, and their click-through: the share of those searches
  from which at least one result was opened.
- **No results**: searches that found nothing, by text, with the last time.
- **Results but no click**: searches that found something and from which nothing was
  opened.
- **Articles**: per article, results opened from a search (clicks, with the average
  position of the result), reads (views, however the reader came), and its share of all
  the clicks of the range. The results a search *showed* are not stored, so no
  impression-based click-through is claimed.
- **After a failed search**: for each search that found nothing, the next search of the
  same visitor with a different text within 30 minutes, counted by (failed, next) pair,
  with how many of those next searches found something.
- **Followed by a request**: searches after which the same visitor submitted a request
  (a ``ticket`` outcome) within 30 minutes, their share of the searches that carry a
  visitor key (only those can be followed), and the queries most often followed.
- **Deflection rate**: deflected / (deflected + requests) among the outcomes of the range.
- **Helpfulness**: per article, "helped" and "didn't help" answers, the helped share, and
  the latest comments.

The counts are portable GROUP BYs; the "within 30 minutes" sequences are walked in
Python over the searches and requests of the visitors concerned (date arithmetic in SQL
differs between SQLite and PostgreSQL), ordered by visitor and time.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, and_, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor
from opora.auth.models import User
from opora.errors import Forbidden, InvalidInput
from opora.kb.models import KbClick, KbFeedback, KbOutcome, KbSearch, KbTranslation, KbView
from opora.kit.time import utcnow

DEFAULT_DAYS = 30
MAX_DAYS = 366
WINDOW = timedelta(minutes=30)
LIMIT = 50  # rows per table on the page and in the API by default
MAX_LIMIT = 1000  # rows per table of a CSV file
COMMENTS = 3  # latest comments per article
TABLES = (
    "top_queries",
    "no_results",
    "no_click",
    "articles",
    "after_failed",
    "followed_by_ticket",
    "deflection",
    "helpfulness",
)


class BadDateRange(InvalidInput):
    """An unparsable date, ``from`` after ``to``, or a range longer than ``MAX_DAYS``.
    ``field`` is ``from`` or ``to``; ``reason`` is ``date``, ``order`` or ``too_long``."""

    code = "invalid_date_range"


# --- the range ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DateRange:
    date_from: date
    date_to: date  # inclusive
    timezone: str
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _parse_date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadDateRange(
            f"{name}: not a date, write it as YYYY-MM-DD", field=name, reason="date"
        ) from None


def parse_range(
    date_from: str | None, date_to: str | None, *, zone: ZoneInfo, now: datetime
) -> DateRange:
    """``date_from`` and ``date_to`` as YYYY-MM-DD, both days included; an empty ``to``
    is today, an empty ``from`` is ``DEFAULT_DAYS`` days up to ``to``."""
    today = now.astimezone(zone).date()
    first = _parse_date(date_from, "from") if date_from and date_from.strip() else None
    last = _parse_date(date_to, "to") if date_to and date_to.strip() else None
    if last is None:
        last = today
    if first is None:
        if last.year < 2:
            raise BadDateRange("to: too early", field="to", reason="date")
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if last.year > 9998:
        raise BadDateRange("to: too late", field="to", reason="date")
    if first > last:
        raise BadDateRange("from: after to", field="from", reason="order")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadDateRange(
            f"from: the range is longer than {MAX_DAYS} days", field="from", reason="too_long"
        )
    start = datetime.combine(first, time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
    return DateRange(first, last, zone.key, start, end)


# --- the report -----------------------------------------------------------------------------


@dataclass(slots=True)
class Summary:
    searches: int = 0
    with_results: int = 0
    no_results: int = 0
    with_click: int = 0
    no_click: int = 0  # with results, nothing opened
    queries: int = 0  # distinct normalized texts


@dataclass(slots=True)
class TopQuery:
    query: str
    searches: int
    with_results: int
    results_share: float | None
    with_click: int
    click_through: float | None


@dataclass(slots=True)
class QueryCount:
    query: str
    searches: int
    last_seen: datetime


@dataclass(slots=True)
class ArticleClicks:
    article_id: int
    title: str
    clicks: int
    avg_position: float | None
    views: int
    click_share: float | None


@dataclass(slots=True)
class FailedNext:
    failed_query: str
    next_query: str
    count: int
    next_with_results: int


@dataclass(slots=True)
class QueryTotal:
    query: str
    searches: int


@dataclass(slots=True)
class FollowedByTicket:
    searches: int  # searches of the range with a visitor key
    followed: int  # ... followed by a request of that visitor within 30 minutes
    share: float | None
    top_queries: list[QueryTotal] = field(default_factory=list)


@dataclass(slots=True)
class Deflection:
    deflected: int
    tickets: int
    rate: float | None


@dataclass(slots=True)
class Comment:
    helpful: bool
    comment: str
    locale: str
    created_at: datetime


@dataclass(slots=True)
class ArticleHelpfulness:
    article_id: int
    title: str
    helpful: int
    not_helpful: int
    helpful_share: float | None
    comments: list[Comment] = field(default_factory=list)


@dataclass(slots=True)
class SearchAnalytics:
    date_from: date
    date_to: date
    timezone: str
    start: datetime
    end: datetime
    summary: Summary
    top_queries: list[TopQuery]
    no_results: list[QueryCount]
    no_click: list[QueryCount]
    articles: list[ArticleClicks]
    after_failed: list[FailedNext]
    followed_by_ticket: FollowedByTicket
    deflection: Deflection
    helpfulness: list[ArticleHelpfulness]


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _in(column: Any, r: DateRange) -> ColumnElement[bool]:
    return and_(column >= r.start, column < r.end)


def _clicked() -> ColumnElement[bool]:
    return exists().where(KbClick.search_id == KbSearch.id)


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def _summary(session: AsyncSession, r: DateRange) -> Summary:
    row = (
        await session.execute(
            select(
                func.count(),
                _count_if(KbSearch.results > 0),
                _count_if(_clicked()),
                _count_if(and_(KbSearch.results > 0, ~_clicked())),
                func.count(func.distinct(KbSearch.normalized)),
            ).where(_in(KbSearch.created_at, r))
        )
    ).one()
    searches, found, clicked, no_click, queries = (int(v or 0) for v in row)
    return Summary(searches, found, searches - found, clicked, no_click, queries)


async def _top_queries(session: AsyncSession, r: DateRange, limit: int) -> list[TopQuery]:
    n = func.count().label("n")
    rows = await session.execute(
        select(KbSearch.normalized, n, _count_if(KbSearch.results > 0), _count_if(_clicked()))
        .where(_in(KbSearch.created_at, r))
        .group_by(KbSearch.normalized)
        .order_by(n.desc(), KbSearch.normalized)
        .limit(limit)
    )
    out = []
    for query, count, found, clicked in rows:
        count, found, clicked = int(count), int(found), int(clicked)
        out.append(
            TopQuery(query, count, found, share(found, count), clicked, share(clicked, count))
        )
    return out


async def _query_counts(
    session: AsyncSession, r: DateRange, condition: ColumnElement[bool], limit: int
) -> list[QueryCount]:
    n, last = func.count().label("n"), func.max(KbSearch.created_at).label("last")
    rows = await session.execute(
        select(KbSearch.normalized, n, last)
        .where(_in(KbSearch.created_at, r), condition)
        .group_by(KbSearch.normalized)
        .order_by(n.desc(), last.desc(), KbSearch.normalized)
        .limit(limit)
    )
    return [QueryCount(query, int(count), seen) for query, count, seen in rows]


async def _titles(session: AsyncSession, ids: Iterable[int], language: str) -> dict[int, str]:
    """An article's title in the viewer's language, else English, else Russian."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(KbTranslation.article_id, KbTranslation.locale, KbTranslation.title).where(
            KbTranslation.article_id.in_(wanted)
        )
    )
    order = {language: 0, "en": 1, "ru": 2}
    best: dict[int, tuple[int, str, str]] = {}
    for article_id, locale, title in rows:
        key = (order.get(locale, 3), locale, title)
        if article_id not in best or key < best[article_id]:
            best[article_id] = key
    return {article_id: key[2] for article_id, key in best.items()}


async def _articles(
    session: AsyncSession, r: DateRange, limit: int, language: str
) -> list[ArticleClicks]:
    clicks = {
        int(aid): (int(n), float(avg) if avg is not None else None)
        for aid, n, avg in await session.execute(
            select(KbClick.article_id, func.count(), func.avg(KbClick.position))
            .where(_in(KbClick.created_at, r))
            .group_by(KbClick.article_id)
        )
    }
    views = {
        int(aid): int(n)
        for aid, n in await session.execute(
            select(KbView.article_id, func.count())
            .where(_in(KbView.created_at, r))
            .group_by(KbView.article_id)
        )
    }
    total = sum(n for n, _ in clicks.values())
    ids = sorted(
        set(clicks) | set(views),
        key=lambda a: (-clicks.get(a, (0, None))[0], -views.get(a, 0), a),
    )[:limit]
    titles = await _titles(session, ids, language)
    out = []
    for aid in ids:
        n, avg = clicks.get(aid, (0, None))
        out.append(
            ArticleClicks(
                aid,
                titles.get(aid, ""),
                n,
                round(avg, 1) if avg is not None else None,
                views.get(aid, 0),
                share(n, total),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class _Search:
    visitor: str
    at: datetime
    id: int
    normalized: str
    results: int


async def _sequences(
    session: AsyncSession, r: DateRange
) -> tuple[dict[str, list[_Search]], dict[str, list[datetime]]]:
    """The searches (up to 30 minutes past the range) of the visitors who searched in
    vain or submitted a request in the range, and those visitors' requests, each by
    visitor in time order."""
    late = r.end + WINDOW
    failed = select(KbSearch.visitor).where(
        _in(KbSearch.created_at, r), KbSearch.results == 0, KbSearch.visitor != ""
    )
    asking = (
        KbOutcome.kind == "ticket",
        KbOutcome.created_at >= r.start,
        KbOutcome.created_at < late,
        KbOutcome.visitor != "",
    )
    asked = select(KbOutcome.visitor).where(*asking)
    rows = await session.execute(
        select(
            KbSearch.visitor,
            KbSearch.created_at,
            KbSearch.id,
            KbSearch.normalized,
            KbSearch.results,
        )
        .where(
            KbSearch.created_at >= r.start,
            KbSearch.created_at < late,
            KbSearch.visitor != "",
            KbSearch.visitor.in_(failed.union(asked)),
        )
        .order_by(KbSearch.visitor, KbSearch.created_at, KbSearch.id)
    )
    searches: dict[str, list[_Search]] = defaultdict(list)
    for visitor, at, sid, normalized, results in rows:
        searches[visitor].append(_Search(visitor, at, sid, normalized, int(results)))
    tickets: dict[str, list[datetime]] = defaultdict(list)
    for visitor, at in await session.execute(
        select(KbOutcome.visitor, KbOutcome.created_at)
        .where(*asking)
        .order_by(KbOutcome.visitor, KbOutcome.created_at)
    ):
        tickets[visitor].append(at)
    return searches, tickets


def failed_then_next(
    searches: dict[str, list[_Search]], r: DateRange, limit: int
) -> list[FailedNext]:
    """(failed query, next different query of the same visitor within ``WINDOW``) pairs."""
    pairs: Counter[tuple[str, str]] = Counter()
    found: Counter[tuple[str, str]] = Counter()
    for seq in searches.values():
        for i, s in enumerate(seq):
            if s.results or not (r.start <= s.at < r.end):
                continue
            for after in seq[i + 1 :]:
                if after.at - s.at > WINDOW:
                    break
                if after.normalized != s.normalized:
                    pairs[(s.normalized, after.normalized)] += 1
                    found[(s.normalized, after.normalized)] += after.results > 0
                    break
    ranked = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [FailedNext(a, b, n, found[(a, b)]) for (a, b), n in ranked]


def followed_by_ticket(
    searches: dict[str, list[_Search]],
    tickets: dict[str, list[datetime]],
    r: DateRange,
    identified: int,
    limit: int,
) -> FollowedByTicket:
    """Searches of the range after which the visitor submitted a request within
    ``WINDOW`` (at the same moment or later)."""
    counts: Counter[str] = Counter()
    for visitor, seq in searches.items():
        times = tickets.get(visitor, [])
        for s in seq:
            if r.start <= s.at < r.end and any(s.at <= t <= s.at + WINDOW for t in times):
                counts[s.normalized] += 1
    followed = sum(counts.values())
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return FollowedByTicket(
        identified, followed, share(followed, identified), [QueryTotal(q, n) for q, n in top]
    )


async def _identified(session: AsyncSession, r: DateRange) -> int:
    return int(
        (
            await session.execute(
                select(func.count()).where(_in(KbSearch.created_at, r), KbSearch.visitor != "")
            )
        ).scalar_one()
    )


async def _deflection(session: AsyncSession, r: DateRange) -> Deflection:
    rows = await session.execute(
        select(KbOutcome.kind, func.count())
        .where(_in(KbOutcome.created_at, r))
        .group_by(KbOutcome.kind)
    )
    counts = {str(kind): int(n) for kind, n in rows}
    deflected, tickets = int(counts.get("deflected", 0)), int(counts.get("ticket", 0))
    return Deflection(deflected, tickets, share(deflected, deflected + tickets))


async def _helpfulness(
    session: AsyncSession, r: DateRange, limit: int, language: str
) -> list[ArticleHelpfulness]:
    total = func.count().label("n")
    rows = (
        await session.execute(
            select(
                KbFeedback.article_id,
                _count_if(KbFeedback.helpful),
                _count_if(~KbFeedback.helpful),
                total,
            )
            .where(_in(KbFeedback.created_at, r))
            .group_by(KbFeedback.article_id)
            .order_by(total.desc(), KbFeedback.article_id)
            .limit(limit)
        )
    ).all()
    ids = [int(row[0]) for row in rows]
    if not ids:
        return []
    ranked = (
        select(
            KbFeedback.article_id,
            KbFeedback.helpful,
            KbFeedback.comment,
            KbFeedback.locale,
            KbFeedback.created_at,
            func.row_number()
            .over(
                partition_by=KbFeedback.article_id,
                order_by=(KbFeedback.created_at.desc(), KbFeedback.id.desc()),
            )
            .label("rank"),
        )
        .where(
            _in(KbFeedback.created_at, r), KbFeedback.comment != "", KbFeedback.article_id.in_(ids)
        )
        .subquery()
    )
    comments: dict[int, list[Comment]] = defaultdict(list)
    for aid, helpful, text, locale, at in await session.execute(
        select(
            ranked.c.article_id,
            ranked.c.helpful,
            ranked.c.comment,
            ranked.c.locale,
            ranked.c.created_at,
        )
        .where(ranked.c.rank <= COMMENTS)
        .order_by(ranked.c.article_id, ranked.c.rank)
    ):
        comments[int(aid)].append(Comment(bool(helpful), text, locale, at))
    titles = await _titles(session, ids, language)
    out = []
    for aid, yes, no, _ in rows:
        yes, no = int(yes), int(no)
        out.append(
            ArticleHelpfulness(
                int(aid),
                titles.get(int(aid), ""),
                yes,
                no,
                share(yes, yes + no),
                comments.get(int(aid), []),
            )
        )
    return out


async def viewer_zone(session: AsyncSession, actor: Actor) -> ZoneInfo:
    """The viewer's time zone: their user's, else UTC."""
    if not actor.is_user or actor.id is None:
        return ZoneInfo("UTC")
    name = (await session.execute(select(User.timezone).where(User.id == actor.id))).scalar()
    return zone_of(name)


def require_viewer(actor: Actor) -> None:
    if not actor.is_supervisor:
        raise Forbidden("only supervisors and admins may see the search analytics")


async def get_search_analytics(
    session: AsyncSession,
    *,
    actor: Actor,
    date_from: str | None = None,
    date_to: str | None = None,
    limit: int = LIMIT,
    now: datetime | None = None,
) -> SearchAnalytics:
    """Supervisors and admins only (``Forbidden`` for anyone else); ``BadDateRange``
    for a range that cannot be read."""
    require_viewer(actor)
    r = parse_range(date_from, date_to, zone=await viewer_zone(session, actor), now=now or utcnow())
    limit = max(1, min(limit, MAX_LIMIT))
    searches, tickets = await _sequences(session, r)
    return SearchAnalytics(
        date_from=r.date_from,
        date_to=r.date_to,
        timezone=r.timezone,
        start=r.start,
        end=r.end,
        summary=await _summary(session, r),
        top_queries=await _top_queries(session, r, limit),
        no_results=await _query_counts(session, r, KbSearch.results == 0, limit),
        no_click=await _query_counts(session, r, and_(KbSearch.results > 0, ~_clicked()), limit),
        articles=await _articles(session, r, limit, actor.language),
        after_failed=failed_then_next(searches, r, limit),
        followed_by_ticket=followed_by_ticket(
            searches, tickets, r, await _identified(session, r), limit
        ),
        deflection=await _deflection(session, r),
        helpfulness=await _helpfulness(session, r, limit, actor.language),
    )


# --- CSV ------------------------------------------------------------------------------------


def _when(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def table_rows(report: SearchAnalytics, table: str) -> list[list[Any]]:
    """The rows of one table as CSV cells (times in the report's time zone, shares as
    fractions of 1, empty where there is nothing to divide by)."""
    zone = zone_of(report.timezone)
    if table == "top_queries":
        return [
            [
                q.query,
                q.searches,
                q.with_results,
                _num(q.results_share),
                q.with_click,
                _num(q.click_through),
            ]
            for q in report.top_queries
        ]
    if table in ("no_results", "no_click"):
        rows: Sequence[QueryCount] = getattr(report, table)
        return [[q.query, q.searches, _when(q.last_seen, zone)] for q in rows]
    if table == "articles":
        return [
            [a.article_id, a.title, a.clicks, _num(a.avg_position), a.views, _num(a.click_share)]
            for a in report.articles
        ]
    if table == "after_failed":
        return [
            [p.failed_query, p.next_query, p.count, p.next_with_results]
            for p in report.after_failed
        ]
    if table == "followed_by_ticket":
        return [[q.query, q.searches] for q in report.followed_by_ticket.top_queries]
    if table == "deflection":
        d = report.deflection
        return [[d.deflected, d.tickets, _num(d.rate)]]
    if table == "helpfulness":
        return [
            [
                h.article_id,
                h.title,
                h.helpful,
                h.not_helpful,
                _num(h.helpful_share),
                " | ".join(c.comment for c in h.comments),
            ]
            for h in report.helpfulness
        ]
    raise KeyError(table)


def _cell(value: Any) -> Any:
    """A text that a spreadsheet would run as a formula (a visitor typed the query) is
    kept as text by a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte order mark (so Excel reads Cyrillic), CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")
