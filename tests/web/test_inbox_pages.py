"""The inbox page (src/opora/views/pages.py) on both backends, signed in as lena and igor."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.schemas import UserUpdate
from opora.db import Database
from opora.views import service as views_service
from tests.conftest import Company
from tests.web.helpers import set_password, sign_in

LENA = ("lena@opora.dev", "lena-secret")
IGOR = ("igor@opora.dev", "igor-secret")
TICKET_ROW = re.compile(r'<tr data-ticket="(\d+)">')


async def _ticket(client: httpx.AsyncClient, company: Company, subject: str, **fields: Any) -> int:
    r = await client.post(
        "/api/v1/tickets",
        headers=company.admin.headers,
        json={"subject": subject, "body": "Please help.",
              "requester": {"email": "carol@acme.ru"}, **fields},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def rows(html: str) -> list[int]:
    return [int(i) for i in TICKET_ROW.findall(html)]


@pytest.fixture
async def world(client: httpx.AsyncClient, company: Company, db: Database) -> dict[str, int]:
    l1, l2 = company.l1_group_id, company.l2_group_id
    lena, igor = company.l1_agent.id, company.l2_agent.id
    t = {
        "lena_open": await _ticket(client, company, "Printer is on fire", group_id=l1,
                                   assignee_id=lena, status="open", priority="urgent"),
        "lena_pending": await _ticket(client, company, "Waiting for logs", group_id=l1,
                                      assignee_id=lena, status="pending"),
        "l1_new": await _ticket(client, company, "New in L1", group_id=l1),
        "igor_open": await _ticket(client, company, "Database is slow", group_id=l2,
                                   assignee_id=igor, status="open"),
    }  # fmt: skip
    await set_password(db, lena, LENA[1])
    await set_password(db, igor, IGOR[1])
    return t


async def signed_in(client: httpx.AsyncClient, who: tuple[str, str]) -> None:
    r = await sign_in(client, *who)
    assert r.status_code == 303, r.text


class TestInboxPage:
    async def test_home_goes_to_the_inbox_and_shows_my_open(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        home = await client.get("/")
        assert home.status_code == 303 and home.headers["location"] == "/inbox"
        r = await client.get("/inbox")
        assert r.status_code == 200
        assert sorted(rows(r.text)) == sorted([world["lena_open"], world["lena_pending"]])
        assert f'href="/tickets/{world["lena_open"]}"' in r.text
        assert "Printer is on fire" in r.text
        assert "Carol Customer" in r.text  # requester
        assert "Lena L1" in r.text  # assignee
        assert "L1 Support" in r.text  # group
        assert 'class="badge badge-status-open">Open<' in r.text
        assert 'class="badge badge-priority-urgent">Urgent<' in r.text
        assert 'aria-label="Views"' in r.text
        assert 'href="/inbox" id="nav-inbox"' in r.text

    async def test_the_sidebar_lists_every_view_with_its_count(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        r = await client.get("/inbox/my-groups")
        nav = r.text.split('id="view-nav"', 1)[1].split("</nav>", 1)[0]
        for key in ("my-open", "my-groups", "all-open", "pending", "recently-solved"):
            assert f'data-view="{key}"' in nav
        current = re.findall(r'data-view="([^"]+)"[^>]*aria-current="page"', nav, re.S)
        assert current == ["my-groups"]
        counts = dict(
            re.findall(r'data-view="([^"]+)".*?<span class="view-count">([^<]+)</span>', nav, re.S)
        )
        assert counts["my-open"] == "2"
        assert counts["my-groups"] == "3"
        assert counts["all-open"] == "4"
        assert counts["pending"] == "1"

    async def test_each_agent_sees_exactly_the_views_tickets(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client, IGOR)
        r = await client.get("/inbox/my-open")
        assert rows(r.text) == [world["igor_open"]]
        r = await client.get("/inbox/my-groups")
        assert rows(r.text) == [world["igor_open"]]
        r = await client.get("/inbox/pending")
        assert rows(r.text) == [world["lena_pending"]]

    async def test_an_empty_view_says_so(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client, IGOR)
        r = await client.get("/inbox/on-hold")
        assert r.status_code == 200
        assert rows(r.text) == []
        assert "No tickets in this view." in r.text

    async def test_a_capped_count_shows_a_plus(
        self, client: httpx.AsyncClient, world: dict[str, int], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(views_service, "COUNT_CAP", 2)
        await signed_in(client, LENA)
        r = await client.get("/inbox")
        assert '<span class="view-count">2+</span>' in r.text

    async def test_an_unknown_view_is_a_404_page(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        r = await client.get("/inbox/no-such-view")
        assert r.status_code == 404
        assert "View not found" in r.text and 'href="/inbox"' in r.text

    async def test_a_stale_cursor_starts_the_view_again(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        r = await client.get("/inbox/all-open?sort=number&cursor=garbage")
        assert r.status_code == 303
        assert r.headers["location"] == "/inbox/all-open?sort=number"


class TestSortingAndPages:
    async def test_sort_by_number_both_ways(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        ids = [world["lena_open"], world["lena_pending"], world["l1_new"]]
        r = await client.get("/inbox/my-groups?sort=number")
        assert rows(r.text) == ids
        assert 'aria-sort="ascending"' in r.text
        r = await client.get("/inbox/my-groups?sort=-number")
        assert rows(r.text) == ids[::-1]
        assert 'href="/inbox/my-groups?sort=number"' in r.text  # the header flips the order

    async def test_an_unknown_sort_falls_back_to_the_views(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        r = await client.get("/inbox/my-groups?sort=shoe_size")
        assert r.status_code == 200
        assert len(rows(r.text)) == 3

    async def test_next_page_and_first_page(
        self,
        client: httpx.AsyncClient,
        world: dict[str, int],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from opora.views import pages

        monkeypatch.setattr(pages, "PAGE_SIZE", 2)
        await signed_in(client, LENA)
        r = await client.get("/inbox/all-open?sort=number")
        first = rows(r.text)
        assert first == [world["lena_open"], world["lena_pending"]]
        assert 'id="first-page"' not in r.text
        match = re.search(r'href="(/inbox/all-open\?[^"]*cursor=[^"]+)"', r.text)
        assert match, "no next page link"
        r = await client.get(match.group(1).replace("&amp;", "&"))
        assert rows(r.text) == [world["l1_new"], world["igor_open"]]
        assert 'id="first-page"' in r.text
        assert 'id="next-page"' not in r.text


class TestHtmx:
    async def test_a_sidebar_click_gets_the_list_and_the_sidebar_out_of_band(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        r = await client.get(
            "/inbox/pending", headers={"HX-Request": "true", "HX-Target": "ticket-list"}
        )
        assert r.status_code == 200
        assert "<html" not in r.text
        assert 'hx-swap-oob="true"' in r.text
        assert rows(r.text) == [world["lena_pending"]]
        assert "HX-Request" in r.headers["vary"]

    async def test_a_history_restore_gets_the_whole_page(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        headers = {
            "HX-Request": "true",
            "HX-Target": "ticket-list",
            "HX-History-Restore-Request": "true",
        }
        r = await client.get("/inbox/pending", headers=headers)
        assert "<html" in r.text


class TestWhoMayLook:
    async def test_anonymous_is_sent_to_login(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/inbox/pending")
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=/inbox/pending"

    async def test_a_customer_token_is_not_a_page_session(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.get("/inbox", headers=company.customer.headers)
        assert r.status_code == 303
        assert r.headers["location"].startswith("/login")


class TestRussian:
    async def test_a_russian_agent_reads_russian_labels(
        self, client: httpx.AsyncClient, world: dict[str, int], db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            await auth_service.update_user(
                s,
                actor=system_actor("tests"),
                user_id=company.l1_agent.id,
                data=UserUpdate(language="ru"),
            )
        await signed_in(client, LENA)
        r = await client.get("/inbox")
        assert '<html lang="ru">' in r.text
        assert "Мои открытые" in r.text
        assert "Входящие" in r.text
        assert "Открыт" in r.text  # the status badge
        assert "Срочный" in r.text  # the priority badge
