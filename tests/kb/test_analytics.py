"""The knowledge base's search analytics (kb/analytics.py): the page for supervisors, its
CSV files and the JSON API, on both backends.

The world, in UTC, read over 1–10 March 2024 (the time zone of sam, a supervisor):

- v1 searches «Сброс пароля» (2 results) on the 2nd at 10:00 and opens "reset" (1st
  result); again «сброс  пароля» on the 3rd (no click). An API search for the same text
  (no visitor) on the 8th (no click).
- v2 searches «вход через смс» twice (nothing found) at 12:00 and 12:05 on the 4th, then
  «не могу войти» at 12:20 (1 result) and opens "login" (2nd result), then submits a
  request at 12:40: 20 minutes after the last search, 35 and 40 after the failed ones.
- v3 searches "refund" (nothing) on the 5th at 08:00, submits a request at 08:29, and
  searches «возврат» (1 result) at 08:45 — 45 minutes after the failed search.
- v7 searches «последний» (nothing) on the 10th at 23:50, then «после полуночи» at 00:10
  on the 11th: after the range, but within 30 minutes of a failed search in it.
- Someone reads "login" on the 9th without searching.
- Three deflections (6th, 7th, 7th) and the two requests above.
- Feedback on "reset": helped with a comment (2nd), didn't help with a comment that looks
  like a spreadsheet formula (6th), helped without comment (7th); on "login": didn't help
  (4th).
- Outside the range: a search on 28 February, one on 11 March at 00:00, one at 22:00 on
  29 February (1 March 01:00 in Moscow), a click on the 11th, a view and a deflection in
  February, feedback on the 20th, a request on the 12th.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.models import User
from opora.auth.schemas import UserCreate
from opora.db import Database
from opora.kb import analytics
from opora.kb import service as kb_service
from opora.kb.models import KbClick, KbFeedback, KbOutcome, KbSearch, KbView
from opora.kb.schemas import FeedbackIn
from opora.kit.time import utcnow
from tests.conftest import Company
from tests.kb.conftest import Kb
from tests.web.helpers import set_password, sign_in

ACTOR = system_actor("tests")
SAM = ("sam@opora.dev", "sam-supervises")
LENA = ("lena@opora.dev", "lena-secret")
RANGE = {"from": "2024-03-01", "to": "2024-03-10"}


def at(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


class World:
    def __init__(self, db: Database, kb_: Kb) -> None:
        self.db, self.kb = db, kb_
        self.sam_id = 0
        self.sam_token = ""

    async def search(
        self, when: datetime, query: str, results: int, visitor: str, source: str = "portal"
    ) -> int:
        async with self.db.unit_of_work() as s:
            sid = await kb_service.log_search(
                s, query=query, locale="ru", results=results, source=source, visitor=visitor
            )
            await s.execute(update(KbSearch).where(KbSearch.id == sid).values(created_at=when))
        return sid

    async def click(self, when: datetime, search_id: int, article_id: int, position: int) -> None:
        async with self.db.unit_of_work() as s:
            await kb_service.record_click(
                s, search_id=search_id, article_id=article_id, position=position
            )
            await s.execute(
                update(KbClick).where(KbClick.search_id == search_id).values(created_at=when)
            )

    async def view(self, when: datetime, article_id: int, visitor: str) -> None:
        async with self.db.unit_of_work() as s:
            await kb_service.record_view(s, article_id=article_id, locale="ru", visitor=visitor)
            await s.execute(
                update(KbView)
                .where(KbView.visitor == visitor, KbView.created_at > at(1, month=4))
                .values(created_at=when)
            )

    async def feedback(self, when: datetime, article_id: int, helpful: bool, comment: str) -> None:
        async with self.db.unit_of_work() as s:
            row = await kb_service.record_feedback(
                s, actor=None, article_id=article_id,
                data=FeedbackIn(helpful=helpful, comment=comment, locale="ru"),
            )  # fmt: skip
            await s.execute(
                update(KbFeedback).where(KbFeedback.id == row.id).values(created_at=when)
            )

    async def outcome(self, when: datetime, kind: Any, visitor: str) -> None:
        async with self.db.unit_of_work() as s:
            await kb_service.record_outcome(s, kind=kind, visitor=visitor)
            await s.execute(
                update(KbOutcome)
                .where(KbOutcome.visitor == visitor, KbOutcome.created_at > at(1, month=4))
                .values(created_at=when)
            )


async def build_world(db: Database, kb_: Kb) -> World:
    w = World(db, kb_)
    async with db.unit_of_work() as s:
        sam = await auth_service.create_user(
            s, actor=ACTOR,
            data=UserCreate(email=SAM[0], name="Sam Supervisor", role="supervisor",
                            password=SAM[1]),
        )  # fmt: skip
        _, w.sam_token = await auth_service.create_token(s, user_id=sam.id)
        w.sam_id = sam.id
    login, reset = kb_.login, kb_.reset
    s1 = await w.search(at(2, 10), "Сброс пароля", 2, "v1")
    await w.click(at(2, 10, 1), s1, reset, 1)
    await w.view(at(2, 10, 1), reset, "v1")
    await w.search(at(3, 9), "сброс  пароля", 2, "v1")
    await w.search(at(8, 15), "Сброс пароля", 2, "", source="api")

    await w.search(at(4, 12), "вход через смс", 0, "v2")
    await w.search(at(4, 12, 5), "Вход через СМС", 0, "v2")
    s5 = await w.search(at(4, 12, 20), "не могу войти", 1, "v2")
    await w.click(at(4, 12, 21), s5, login, 2)
    await w.view(at(4, 12, 21), login, "v2")
    await w.outcome(at(4, 12, 40), "ticket", "v2")

    await w.search(at(5, 8), "refund", 0, "v3")
    await w.outcome(at(5, 8, 29), "ticket", "v3")
    await w.search(at(5, 8, 45), "возврат", 1, "v3")

    await w.search(at(10, 23, 50), "последний", 0, "v7")
    await w.search(at(11, 0, 10), "после полуночи", 0, "v7")

    await w.view(at(9, 14), login, "v9")
    for when, visitor in ((at(6), "v4"), (at(7, 10), "v5"), (at(7, 11), "v6")):
        await w.outcome(when, "deflected", visitor)

    await w.feedback(at(2, 10, 5), reset, True, "Помогло, спасибо")
    await w.feedback(at(6, 9), reset, False, '=HYPERLINK("http://x")')
    await w.feedback(at(7, 9), reset, True, "")
    await w.feedback(at(4, 13), login, False, "Не про СМС")

    # outside the range
    await w.search(at(28, 23, month=2), "сброс пароля", 0, "v1")
    late = await w.search(at(11), "вход через смс", 0, "v2")
    await w.click(at(11, 0, 1), late, reset, 1)
    await w.search(at(29, 22, month=2), "ночной", 0, "v10")
    await w.view(at(20, month=2), kb_.refund, "v11")
    await w.outcome(at(25, month=2), "deflected", "v8")
    await w.feedback(at(20), reset, False, "old")
    await w.outcome(at(12), "ticket", "v1")
    return w


@pytest.fixture
async def world(db: Database, kb: Kb) -> World:
    return await build_world(db, kb)


async def report(db: Database, w: World, **kw: Any) -> analytics.SearchAnalytics:
    async with db.unit_of_work(write=False) as s:
        actor = await auth_service.actor_for_user(s, await s.get(User, w.sam_id))  # type: ignore[arg-type]
        return await analytics.get_search_analytics(
            s, actor=actor, date_from=kw.pop("date_from", RANGE["from"]),
            date_to=kw.pop("date_to", RANGE["to"]), **kw,
        )  # fmt: skip


class TestReport:
    async def test_the_summary_and_the_range(self, db: Database, world: World) -> None:
        r = await report(db, world)
        assert (r.date_from.isoformat(), r.date_to.isoformat(), r.timezone) == (
            "2024-03-01", "2024-03-10", "UTC",
        )  # fmt: skip
        assert (r.start, r.end) == (at(1), at(11))
        s = r.summary
        assert (s.searches, s.with_results, s.no_results, s.with_click, s.no_click, s.queries) == (
            9, 5, 4, 2, 3, 6,
        )  # fmt: skip

    async def test_top_queries(self, db: Database, world: World) -> None:
        top = (await report(db, world)).top_queries
        assert [q.query for q in top[:2]] == ["сброс пароля", "вход через смс"]
        assert {q.query: (q.searches, q.with_results, q.results_share, q.with_click,
                          q.click_through) for q in top} == {
            "сброс пароля": (3, 3, 1.0, 1, 0.3333),
            "вход через смс": (2, 0, 0.0, 0, 0.0),
            "не могу войти": (1, 1, 1.0, 1, 1.0),
            "refund": (1, 0, 0.0, 0, 0.0),
            "возврат": (1, 1, 1.0, 0, 0.0),
            "последний": (1, 0, 0.0, 0, 0.0),
        }  # fmt: skip

    async def test_queries_with_no_results_and_no_click(self, db: Database, world: World) -> None:
        r = await report(db, world)
        assert [(q.query, q.searches, q.last_seen) for q in r.no_results] == [
            ("вход через смс", 2, at(4, 12, 5)),
            ("последний", 1, at(10, 23, 50)),
            ("refund", 1, at(5, 8)),
        ]
        assert [(q.query, q.searches, q.last_seen) for q in r.no_click] == [
            ("сброс пароля", 2, at(8, 15)),
            ("возврат", 1, at(5, 8, 45)),
        ]

    async def test_clicks_and_views_per_article(self, db: Database, world: World, kb: Kb) -> None:
        rows = (await report(db, world)).articles
        assert [(a.article_id, a.title, a.clicks, a.avg_position, a.views, a.click_share)
                for a in rows] == [
            (kb.login, "Trouble signing in", 1, 2.0, 2, 0.5),
            (kb.reset, "Reset your password", 1, 1.0, 1, 0.5),
        ]  # fmt: skip

    async def test_what_was_searched_after_a_failed_search(
        self, db: Database, world: World
    ) -> None:
        pairs = (await report(db, world)).after_failed
        assert [(p.failed_query, p.next_query, p.count, p.next_with_results) for p in pairs] == [
            ("вход через смс", "не могу войти", 2, 2),
            ("последний", "после полуночи", 1, 0),
        ]

    async def test_searches_followed_by_a_request(self, db: Database, world: World) -> None:
        f = (await report(db, world)).followed_by_ticket
        assert (f.searches, f.followed, f.share) == (8, 2, 0.25)
        assert [(q.query, q.searches) for q in f.top_queries] == [
            ("refund", 1),
            ("не могу войти", 1),
        ]

    async def test_the_deflection_rate(self, db: Database, world: World) -> None:
        d = (await report(db, world)).deflection
        assert (d.deflected, d.tickets, d.rate) == (3, 2, 0.6)

    async def test_helpfulness_with_the_latest_comments(
        self, db: Database, world: World, kb: Kb
    ) -> None:
        rows = (await report(db, world)).helpfulness
        assert [(h.article_id, h.helpful, h.not_helpful, h.helpful_share) for h in rows] == [
            (kb.reset, 2, 1, 0.6667),
            (kb.login, 0, 1, 0.0),
        ]
        assert [(c.helpful, c.comment, c.created_at) for c in rows[0].comments] == [
            (False, '=HYPERLINK("http://x")', at(6, 9)),
            (True, "Помогло, спасибо", at(2, 10, 5)),
        ]
        assert [c.comment for c in rows[1].comments] == ["Не про СМС"]

    async def test_the_days_are_the_viewers_days(self, db: Database, world: World) -> None:
        async with db.unit_of_work() as s:
            await s.execute(
                update(User).where(User.id == world.sam_id).values(timezone="Europe/Moscow")
            )
        r = await report(db, world)
        assert (r.timezone, r.start, r.end) == ("Europe/Moscow", at(29, 21, month=2), at(10, 21))
        assert [q.query for q in r.no_results] == ["вход через смс", "refund", "ночной"]

    async def test_an_empty_range(self, db: Database, world: World) -> None:
        r = await report(db, world, date_from="2023-01-01", date_to="2023-01-31")
        assert r.summary.searches == 0 and r.top_queries == [] and r.helpfulness == []
        assert (r.deflection.rate, r.followed_by_ticket.share) == (None, None)

    async def test_the_default_range_is_the_last_30_days(self, db: Database, world: World) -> None:
        r = await report(db, world, date_from=None, date_to=None)
        today = utcnow().date()
        assert (r.date_from, r.date_to) == (today - timedelta(days=29), today)

    async def test_limit(self, db: Database, world: World) -> None:
        r = await report(db, world, limit=1)
        assert [q.query for q in r.top_queries] == ["сброс пароля"]
        assert len(r.no_results) == len(r.articles) == len(r.after_failed) == 1


class TestParseRange:
    NOW = datetime(2024, 3, 15, 22, 30, tzinfo=UTC)

    def parse(self, f: str | None, t: str | None, zone: str = "UTC") -> analytics.DateRange:
        return analytics.parse_range(f, t, zone=analytics.zone_of(zone), now=self.NOW)

    @pytest.mark.parametrize(
        ("f", "t", "field", "reason"),
        [
            ("2024-03-10", "2024-03-01", "from", "order"),
            ("yesterday", "2024-03-01", "from", "date"),
            ("2024-03-01", "2024-13-01", "to", "date"),
            ("2023-03-01", "2024-03-01", "from", "too_long"),
            ("9999-12-01", "9999-12-31", "to", "date"),
            (None, "0001-01-05", "to", "date"),
        ],
    )
    def test_bad_ranges(self, f: str | None, t: str, field: str, reason: str) -> None:
        with pytest.raises(analytics.BadDateRange) as exc:
            self.parse(f, t)
        assert (exc.value.field, exc.value.details["reason"], exc.value.status_code) == (
            field, reason, 422,
        )  # fmt: skip

    def test_366_days_are_allowed(self) -> None:
        assert self.parse("2023-03-02", "2024-03-01").date_from.isoformat() == "2023-03-02"

    def test_today_is_the_viewers_today(self) -> None:
        r = self.parse(None, None, "Europe/Moscow")  # 16 March 01:30 in Moscow
        assert (r.date_from.isoformat(), r.date_to.isoformat()) == ("2024-02-16", "2024-03-16")
        assert self.parse(None, None).date_to.isoformat() == "2024-03-15"

    def test_an_unknown_zone_is_utc(self) -> None:
        assert analytics.zone_of("Mars/Olympus").key == "UTC"


class TestApi:
    URL = "/api/v1/kb/analytics"

    async def test_a_supervisor_gets_every_table(
        self, client: httpx.AsyncClient, world: World, kb: Kb
    ) -> None:
        r = await client.get(
            self.URL, params=RANGE, headers={"Authorization": f"Bearer {world.sam_token}"}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["date_from"], body["date_to"], body["timezone"]) == (
            "2024-03-01", "2024-03-10", "UTC",
        )  # fmt: skip
        assert body["summary"]["searches"] == 9
        assert body["top_queries"][0] == {
            "query": "сброс пароля", "searches": 3, "with_results": 3, "results_share": 1.0,
            "with_click": 1, "click_through": 0.3333,
        }  # fmt: skip
        assert body["no_results"][0]["query"] == "вход через смс"
        assert body["no_results"][0]["last_seen"].startswith("2024-03-04T12:05:00")
        assert [q["query"] for q in body["no_click"]] == ["сброс пароля", "возврат"]
        assert body["articles"][0]["article_id"] == kb.login
        assert body["after_failed"][0]["count"] == 2
        assert body["followed_by_ticket"]["followed"] == 2
        assert body["deflection"] == {"deflected": 3, "tickets": 2, "rate": 0.6}
        assert body["helpfulness"][0]["comments"][0]["comment"] == '=HYPERLINK("http://x")'

    async def test_an_admin_may_too(
        self, client: httpx.AsyncClient, world: World, company: Company
    ) -> None:
        r = await client.get(self.URL, params=RANGE, headers=company.admin.headers)
        assert r.status_code == 200 and r.json()["deflection"]["deflected"] == 3

    async def test_agents_and_customers_get_403_anonymous_401(
        self, client: httpx.AsyncClient, world: World, company: Company
    ) -> None:
        for persona in (company.l1_agent, company.customer):
            r = await client.get(self.URL, params=RANGE, headers=persona.headers)
            assert r.status_code == 403, persona.name
            assert "top_queries" not in r.text
        assert (await client.get(self.URL, params=RANGE)).status_code == 401

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"from": "2024-03-10", "to": "2024-03-01"}, "from"),
            ({"from": "01.03.2024", "to": "2024-03-10"}, "from"),
            ({"from": "2024-03-01", "to": "2024-02-30"}, "to"),
            ({"from": "2022-01-01", "to": "2024-03-01"}, "from"),
        ],
    )
    async def test_a_bad_range_is_a_422_naming_the_field(
        self, client: httpx.AsyncClient, company: Company, params: dict[str, str], field: str
    ) -> None:
        r = await client.get(self.URL, params=params, headers=company.admin.headers)
        assert r.status_code == 422
        error = r.json()["error"]
        assert (error["code"], error["field"]) == ("invalid_date_range", field)
        assert error["message"].startswith(f"{field}:")


class TestPage:
    URL = "/reports/kb-search"

    async def test_a_supervisor_sees_the_figures(
        self, client: httpx.AsyncClient, world: World, kb: Kb
    ) -> None:
        assert (await sign_in(client, *SAM)).status_code == 303
        r = await client.get(self.URL, params=RANGE)
        assert r.status_code == 200, r.text
        page = r.text
        assert re.search(r'id="total-searches">9<', page)
        assert 'value="2024-03-01"' in page and 'value="2024-03-10"' in page
        row = _row(page, 'data-query="сброс пароля"')
        assert "data-searches>3<" in row and "3 (100.0 %)" in row and "33.3 %" in row
        row = _row(page, f'data-article-id="{kb.login}"')
        assert "Trouble signing in" in row and "data-views>2<" in row and "50.0 %" in row
        row = _row(page, 'data-pair="вход через смс → не могу войти"')
        assert "data-count>2<" in row
        assert re.search(r"data-followed>2<", page) and "25.0 %" in page
        assert re.search(r"data-rate>60.0 %<", page)
        row = _row(page[page.index('id="kb-helpfulness"') :], f'data-article-id="{kb.reset}"')
        assert "data-helpful>2<" in row and "66.7 %" in row and "Помогло, спасибо" in row
        assert (
            'href="/reports/kb-search.csv?table=top_queries&amp;from=2024-03-01&amp;to=2024-03-10"'
            in page
        )
        assert "2024-03-04 12:05" in _row(
            page[page.index('id="kb-no_results"') :], 'data-query="вход через смс"'
        )

    async def test_the_default_range_and_the_link_from_the_workload_page(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        await sign_in(client, *SAM)
        assert 'href="/reports/kb-search"' in (await client.get("/workload")).text
        r = await client.get(self.URL)
        today = utcnow().date()
        assert r.status_code == 200
        assert f'value="{(today - timedelta(days=29)).isoformat()}"' in r.text
        assert f'value="{today.isoformat()}"' in r.text

    async def test_an_admin_sees_it_too(self, client: httpx.AsyncClient, world: World) -> None:
        await sign_in(client, "alice@opora.dev", "alice-secret")
        r = await client.get(self.URL, params=RANGE)
        assert r.status_code == 200 and 'id="kb-top_queries"' in r.text

    async def test_a_bad_range_marks_the_field(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        await sign_in(client, *SAM)
        r = await client.get(self.URL, params={"from": "2024-03-10", "to": "2024-03-01"})
        assert r.status_code == 422
        assert 'id="range-from"' in r.text and 'aria-describedby="range-from-error"' in r.text
        assert "The first day is after the last day." in r.text
        assert 'value="2024-03-10"' in r.text and 'id="kb-top_queries"' not in r.text
        r = await client.get(self.URL, params={"from": "2024-03-01", "to": "soon"})
        assert r.status_code == 422 and 'aria-describedby="range-to-error"' in r.text
        assert 'aria-describedby="range-from-error"' not in r.text

    async def test_an_agent_gets_403(
        self, client: httpx.AsyncClient, db: Database, world: World, company: Company
    ) -> None:
        await set_password(db, company.l1_agent.id, LENA[1])
        await sign_in(client, *LENA)
        for url in (self.URL, f"{self.URL}.csv"):
            r = await client.get(url, params=RANGE)
            assert r.status_code == 403 and 'data-status="403"' in r.text
            assert "сброс пароля" not in r.text

    async def test_anonymous_goes_to_sign_in(self, client: httpx.AsyncClient) -> None:
        for url in (self.URL, f"{self.URL}.csv"):
            r = await client.get(url, params=RANGE)
            assert r.status_code == 303 and r.headers["location"].startswith("/login")


class TestCsv:
    URL = "/reports/kb-search.csv"

    @pytest.fixture
    async def sam(self, client: httpx.AsyncClient, world: World) -> httpx.AsyncClient:
        assert (await sign_in(client, *SAM)).status_code == 303
        return client

    async def test_top_queries(self, sam: httpx.AsyncClient) -> None:
        r = await sam.get(self.URL, params={"table": "top_queries", **RANGE})
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        assert r.headers["content-disposition"] == (
            "attachment; filename*=UTF-8''kb-search-top_queries-2024-03-01-2024-03-10.csv"
        )
        assert r.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0] == ["Query", "Searches", "With results", "Share with results",
                           "With a click", "Click-through"]  # fmt: skip
        assert rows[1] == ["сброс пароля", "3", "3", "1", "1", "0.3333"]
        assert len(rows) == 7

    async def test_every_table_downloads_with_its_columns(self, sam: httpx.AsyncClient) -> None:
        sizes = {"top_queries": 6, "no_results": 3, "no_click": 2, "articles": 2,
                 "after_failed": 2, "followed_by_ticket": 2, "deflection": 1,
                 "helpfulness": 2}  # fmt: skip
        assert set(sizes) == set(analytics.TABLES)
        for table, size in sizes.items():
            r = await sam.get(self.URL, params={"table": table, **RANGE})
            assert r.status_code == 200, table
            rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
            assert len(rows) == size + 1, table
            assert {len(row) for row in rows} == {len(rows[0])}, table

    async def test_times_are_the_viewers_and_formulas_stay_text(
        self, sam: httpx.AsyncClient
    ) -> None:
        r = await sam.get(self.URL, params={"table": "no_results", **RANGE})
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[1] == ["вход через смс", "2", "2024-03-04 12:05"]
        r = await sam.get(self.URL, params={"table": "helpfulness", **RANGE})
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[1][2:] == ["2", "1", "0.6667",
                               "'=HYPERLINK(\"http://x\") | Помогло, спасибо"]  # fmt: skip
        r = await sam.get(self.URL, params={"table": "deflection", **RANGE})
        assert r.content.decode("utf-8-sig").splitlines()[1] == "3,2,0.6"

    async def test_an_unknown_table_and_a_bad_range(self, sam: httpx.AsyncClient) -> None:
        r = await sam.get(self.URL, params={"table": "passwords", **RANGE})
        assert r.status_code == 404
        r = await sam.get(self.URL, params={"table": "top_queries", "from": "2020-01-01",
                                            "to": "2024-03-01"})  # fmt: skip
        assert r.status_code == 422 and "text/html" in r.headers["content-type"]
        assert "Choose a range of at most 366 days." in r.text


def _row(page: str, marker: str) -> str:
    start = page.index(marker)
    return page[start : page.index("</tr>", start)]
