"""The inbox list (src/opora/views/pages.py): columns, sorting by every column, the filter
bar with full-text search, and bulk actions (POST /tickets/bulk), on both backends."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select, update

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.schemas import UserUpdate
from opora.db import Database
from opora.kit.pagination import encode_cursor
from opora.kit.time import utcnow
from opora.tickets.models import Ticket, TicketEvent
from opora.views import pages
from tests.conftest import Company
from tests.web.helpers import csrf_of, set_password, sign_in

API = "/api/v1"
LENA = ("lena@opora.dev", "lena-secret")
IGOR = ("igor@opora.dev", "igor-secret")
TICKET_ROW = re.compile(r'<tr data-ticket="(\d+)">')


def rows(html: str) -> list[int]:
    return [int(i) for i in TICKET_ROW.findall(html)]


def unescape(url: str) -> str:
    return url.replace("&amp;", "&")


async def _ticket(client: httpx.AsyncClient, company: Company, subject: str, **fields: Any) -> int:
    body = {"subject": subject, "body": fields.pop("body", "Please help."),
            "requester": {"email": fields.pop("requester", "carol@acme.ru")}, **fields}  # fmt: skip
    r = await client.post(f"{API}/tickets", headers=company.admin.headers, json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def _get(client: httpx.AsyncClient, company: Company, ticket_id: int) -> dict[str, Any]:
    r = await client.get(f"{API}/tickets/{ticket_id}", headers=company.admin.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.fixture
async def world(client: httpx.AsyncClient, company: Company, db: Database) -> dict[str, int]:
    l1, l2 = company.l1_group_id, company.l2_group_id
    lena, igor = company.l1_agent.id, company.l2_agent.id
    t = {
        "fire": await _ticket(client, company, "Printer is on fire", group_id=l1,
                              assignee_id=lena, status="open", priority="urgent",
                              tags=["printer"], type="incident", channel="email",
                              body="Smoke comes out of the toner tray."),
        "jam": await _ticket(client, company, "Paper jam again", group_id=l1,
                             assignee_id=lena, status="pending", priority="normal",
                             tags=["printer", "paper"], requester="dave@acme.ru"),
        "new": await _ticket(client, company, "Cannot sign in", group_id=l1, priority="low",
                             requester="erin@globex.com", body="The password is refused."),
        "db": await _ticket(client, company, "Database is slow", group_id=l2,
                            assignee_id=igor, status="open", priority="high", type="problem"),
    }  # fmt: skip
    await set_password(db, lena, LENA[1])
    await set_password(db, igor, IGOR[1])
    return t


async def signed_in(client: httpx.AsyncClient, who: tuple[str, str] = LENA) -> None:
    r = await sign_in(client, *who)
    assert r.status_code == 303, r.text


class TestColumns:
    async def test_the_views_columns_are_the_tables_columns_and_the_due_time_shows(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int], db: Database
    ) -> None:
        r = await client.post(f"{API}/views", headers=company.admin.headers, json={
            "name": "Due soon", "shared": True,
            "conditions": [{"field": "group_id", "op": "eq", "value": company.l1_group_id}],
            "columns": ["number", "subject", "line", "due_at"], "sort": "due_at",
        })  # fmt: skip
        assert r.status_code == 201, r.text
        key = r.json()["key"]
        now = utcnow()
        async with db.unit_of_work() as s:
            for name, due in (("fire", now - timedelta(hours=2)), ("jam", now + timedelta(days=1))):
                await s.execute(update(Ticket).where(Ticket.id == world[name]).values(due_at=due))
        await signed_in(client)
        r = await client.get(f"/inbox/{key}")
        assert r.status_code == 200, r.text
        assert re.findall(r'<th scope="col" data-column="([a-z_]+)"', r.text) == [
            "number",
            "subject",
            "line",
            "due_at",
        ]
        assert "Requester" not in r.text.split("<thead>", 1)[1].split("</thead>", 1)[0]
        # the due sort: the overdue one first, then the later one, then the one without
        assert rows(r.text) == [world["fire"], world["jam"], world["new"]]
        fire = r.text.split(f'data-ticket="{world["fire"]}"', 1)[1].split("</tr>", 1)[0]
        assert '<time datetime="' in fire and 'class="overdue"' in fire and "overdue</span>" in fire
        jam = r.text.split(f'data-ticket="{world["jam"]}"', 1)[1].split("</tr>", 1)[0]
        assert "<time" in jam and "overdue" not in jam
        new = r.text.split(f'data-ticket="{world["new"]}"', 1)[1].split("</tr>", 1)[0]
        assert '<td class="due"></td>' in new
        assert "<td>L1</td>" in fire


class TestSorting:
    async def test_every_header_is_a_sort_link_and_says_which_way_it_sorts(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client)
        r = await client.get("/inbox/all-open?sort=-priority")
        head = r.text.split("<thead>", 1)[1].split("</thead>", 1)[0]
        sorts = re.findall(r'data-sort="([^"]+)"', head)
        assert sorts == ["-number", "subject", "requester", "status", "priority", "group",
                         "assignee", "-updated_at"]  # fmt: skip
        assert re.search(r'data-column="priority" aria-sort="descending"', head)
        assert head.count("aria-sort=") == 1
        assert rows(r.text)[:1] == [world["fire"]]  # urgent first

    async def test_a_sort_no_index_serves_is_refused_on_a_long_list_and_said_so(
        self,
        client: httpx.AsyncClient,
        company: Company,
        world: dict[str, int],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from opora.views import service as views_service

        monkeypatch.setattr(views_service, "SORT_LIMIT", 3)  # "All open" holds 4 tickets
        await signed_in(client)
        r = await client.get("/inbox/all-open?sort=-priority")
        assert r.status_code == 200, r.text
        assert 'id="sort-refused"' in r.text and "more than 3 tickets" in r.text
        # the usual order, and the headers say so
        assert rows(r.text) == [world["db"], world["new"], world["jam"], world["fire"]]
        head = r.text.split("<thead>", 1)[1].split("</thead>", 1)[0]
        assert re.search(r'data-column="updated_at" aria-sort="descending"', head)
        # an index-backed sort is never refused
        r = await client.get("/inbox/all-open?sort=number")
        assert 'id="sort-refused"' not in r.text
        assert rows(r.text) == sorted(world.values())
        # narrowed by a filter to three tickets, the sort applies
        r = await client.get(f"/inbox/all-open?sort=-priority&group_id={company.l1_group_id}")
        assert 'id="sort-refused"' not in r.text
        assert rows(r.text) == [world["fire"], world["jam"], world["new"]]

    @pytest.mark.parametrize(
        ("sort", "names"),
        [
            ("subject", ["new", "db", "jam", "fire"]),
            ("-subject", ["fire", "jam", "db", "new"]),
            ("status", ["new", "fire", "db", "jam"]),
            ("-priority", ["fire", "db", "jam", "new"]),
            ("priority", ["new", "jam", "db", "fire"]),
            ("requester", ["fire", "db", "jam", "new"]),  # Carol, Carol, Dave, Erin
            ("assignee", ["db", "fire", "jam", "new"]),  # Igor, Lena, Lena, nobody last
            ("-assignee", ["jam", "fire", "db", "new"]),
            ("group", ["fire", "jam", "new", "db"]),
        ],
    )
    async def test_each_sort_orders_the_list(
        self, client: httpx.AsyncClient, world: dict[str, int], sort: str, names: list[str]
    ) -> None:
        await signed_in(client)
        r = await client.get(f"/inbox/all-open?sort={sort}")
        assert r.status_code == 200
        assert rows(r.text) == [world[n] for n in names]

    async def test_pages_of_a_new_sort_keep_the_filters_and_give_every_ticket_once(
        self, client: httpx.AsyncClient, world: dict[str, int], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(pages, "PAGE_SIZE", 1)
        await signed_in(client)
        url = "/inbox/all-open?tag=printer&sort=-priority"
        seen: list[int] = []
        for _ in range(5):
            r = await client.get(url)
            assert r.status_code == 200
            seen += rows(r.text)
            match = re.search(r'id="next-page"', r.text)
            if not match:
                break
            link = re.search(r'href="([^"]+)"\s+hx-get="[^"]+"[^>]*rel="next"', r.text)
            assert link, r.text
            url = unescape(link.group(1))
            query = parse_qs(urlsplit(url).query)
            assert query["tag"] == ["printer"] and query["sort"] == ["-priority"]
            assert "cursor" in query
        assert seen == [world["fire"], world["jam"]]

    async def test_long_russian_subjects_page_by_subject(
        self,
        client: httpx.AsyncClient,
        company: Company,
        world: dict[str, int],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(pages, "PAGE_SIZE", 2)
        long = "Не могу войти в личный кабинет " * 15  # 465 characters
        ids = [await _ticket(client, company, long + tail, tags=["long"]) for tail in "бав"]
        await signed_in(client)
        r = await client.get("/inbox/all-open?tag=long&sort=subject")
        assert rows(r.text) == ids[:2]  # the first 100 characters tie: then by id
        link = re.search(r'href="([^"]+)"\s+hx-get="[^"]+"[^>]*rel="next"', r.text)
        assert link
        r = await client.get(unescape(link.group(1)))
        assert r.status_code == 200, r.text
        assert rows(r.text) == ids[2:]

    async def test_an_edited_cursor_starts_again_keeping_the_filters(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client)
        cursor = encode_cursor(["not a number", 1])
        r = await client.get(f"/inbox/all-open?status=open&sort=-priority&cursor={cursor}")
        assert r.status_code == 303
        assert r.headers["location"] == "/inbox/all-open?status=open&sort=-priority"

    async def test_an_unknown_sort_falls_back_to_the_views(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client)
        r = await client.get("/inbox/all-open?sort=shoe_size")
        assert r.status_code == 200
        assert len(rows(r.text)) == 4
        assert 'data-column="updated_at" aria-sort="descending"' in r.text


class TestFilters:
    @pytest.mark.parametrize(
        ("query", "names"),
        [
            ("status=open", ["fire", "db"]),
            ("priority=urgent", ["fire"]),
            ("assignee=me", ["fire", "jam"]),
            ("assignee=none", ["new"]),
            ("type=problem", ["db"]),
            ("channel=email", ["fire"]),
            ("tag=Printer", ["fire", "jam"]),  # normalized like tags are
            ("tag=printer&status=pending", ["jam"]),
            ("q=toner", ["fire"]),  # a word of a message
            ("q=password&priority=low", ["new"]),
            ("q=printer", ["fire"]),  # the subject; "Paper jam" only has the tag
        ],
    )
    async def test_a_filter_narrows_the_view(
        self, client: httpx.AsyncClient, world: dict[str, int], query: str, names: list[str]
    ) -> None:
        await signed_in(client)
        r = await client.get(f"/inbox/all-open?{query}&sort=number")
        assert r.status_code == 200, r.text
        assert rows(r.text) == [world[n] for n in names]

    async def test_assignee_and_group_by_id(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client)
        r = await client.get(f"/inbox/all-open?assignee={company.l2_agent.id}")
        assert rows(r.text) == [world["db"]]
        r = await client.get(f"/inbox/all-open?group_id={company.l1_group_id}&sort=number")
        assert rows(r.text) == [world["fire"], world["jam"], world["new"]]
        assert f'<option value="{company.l1_group_id}" selected>' in r.text

    async def test_filters_and_the_views_own_conditions_must_both_hold(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client)
        r = await client.get("/inbox/pending?status=open")  # the view says pending
        assert r.status_code == 200 and rows(r.text) == []
        assert "No tickets in this view match these filters." in r.text
        r = await client.get(f"/inbox/my-open?assignee={company.l2_agent.id}")
        assert rows(r.text) == []
        r = await client.get("/inbox/my-open?assignee=none")
        assert rows(r.text) == []
        r = await client.get(f"/inbox/my-groups?group_id={company.l2_group_id}")
        assert rows(r.text) == []  # lena's groups are L1 only

    async def test_the_sidebar_counts_stay_the_views_own(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client)
        r = await client.get("/inbox/all-open?priority=urgent")
        assert rows(r.text) == [world["fire"]]
        nav = r.text.split('id="view-nav"', 1)[1].split("</nav>", 1)[0]
        counts = dict(
            re.findall(r'data-view="([^"]+)".*?<span class="view-count">([^<]+)</span>', nav, re.S)
        )
        assert counts["all-open"] == "4"
        assert counts["my-open"] == "2"

    async def test_sort_links_and_the_form_keep_the_filters_and_a_link_saves_them_as_a_view(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client)
        r = await client.get("/inbox/all-open?status=open&q=printer")
        head = r.text.split("<thead>", 1)[1].split("</thead>", 1)[0]
        link = unescape(re.findall(r'href="([^"]+)"', head)[0])
        assert parse_qs(urlsplit(link).query) == {
            "status": ["open"],
            "q": ["printer"],
            "sort": ["-number"],
        }
        assert 'name="q" type="search" value="printer" data-shortcut="search"' in r.text
        assert '<label for="filter-q">' in r.text
        assert '<option value="open" selected>' in r.text
        assert 'hx-get="/inbox/all-open" hx-target="#ticket-list" hx-push-url="true"' in r.text
        save = re.search(r'href="([^"]+)" id="save-as-view"', r.text)
        assert save
        parts = urlsplit(unescape(save.group(1)))
        assert parts.path == "/views/new"
        assert parse_qs(parts.query) == {
            "status": ["open"],
            "q": ["printer"],
            "sort": ["-updated_at"],
        }
        r = await client.get("/inbox/all-open")
        assert 'id="save-as-view"' not in r.text

    async def test_an_htmx_filter_gets_the_list_only(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client)
        r = await client.get(
            "/inbox/all-open?priority=high",
            headers={"HX-Request": "true", "HX-Target": "ticket-list"},
        )
        assert r.status_code == 200
        assert "<html" not in r.text and rows(r.text) == [world["db"]]

    @pytest.mark.parametrize(
        ("query", "field", "text"),
        [
            ("status=bogus", "status", "Choose one of the values in the list."),
            ("priority=5", "priority", "Choose one of the values in the list."),
            ("assignee=lena", "assignee", "Choose an agent"),
            ("group_id=-3", "group_id", "Choose a group from the list."),
            ("channel=fax", "channel", "Choose one of the values in the list."),
            ("tag=" + "x" * 150, "tag", "A tag has at most 100 characters."),
            ("q=" + "word " * 120, "q", "The search is too long"),
            ("q=%3F%21", "q", "The search has no words to look for."),
        ],
    )
    async def test_a_bad_filter_is_said_in_the_filter_bar_and_left_out(
        self,
        client: httpx.AsyncClient,
        world: dict[str, int],
        query: str,
        field: str,
        text: str,
    ) -> None:
        await signed_in(client)
        r = await client.get(f"/inbox/all-open?{query}&priority=urgent")
        assert r.status_code == 400, r.text
        assert 'id="filter-problems"' in r.text
        assert f'aria-invalid="true" aria-describedby="filter-{field}-error"' in r.text
        assert text in r.text
        # the other filters still hold; links leave the bad value out
        assert rows(r.text) == [world["fire"]] if field != "priority" else len(rows(r.text)) == 4
        head = r.text.split("<thead>", 1)[1].split("</thead>", 1)[0]
        assert f"{field}=" not in unescape(re.findall(r'href="([^"]+)"', head)[0])


async def _bulk(
    client: httpx.AsyncClient,
    ids: list[int],
    action: str,
    *,
    page: str = "/inbox/all-open",
    **fields: str,
) -> httpx.Response:
    r = await client.get(page)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = {
        "csrf_token": csrf_of(r.text), "ticket_ids": [str(i) for i in ids], "action": action,
        "next": unescape(re.search(r'name="next" value="([^"]*)"', r.text).group(1)),  # type: ignore[union-attr]
        **fields,
    }  # fmt: skip
    return await client.post("/tickets/bulk", data=data)


async def _events(db: Database, ticket_id: int, field: str) -> list[TicketEvent]:
    async with db.unit_of_work(write=False) as s:
        stmt = select(TicketEvent).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.field == field
        )
        return list((await s.execute(stmt)).scalars())


class TestBulk:
    async def test_the_rows_have_labelled_checkboxes_and_the_page_a_bulk_form(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client)
        r = await client.get("/inbox/all-open")
        fire = await _get(client, company, world["fire"])
        assert (
            f'name="ticket_ids" value="{world["fire"]}" form="bulk-form"\n'
            f'            aria-label="Select ticket #{fire["number"]}"'
        ) in r.text
        assert 'aria-label="Select all tickets on this page"' in r.text
        assert (
            '<form id="bulk-form" class="bulk-bar" method="post" action="/tickets/bulk"' in r.text
        )
        assert 'name="next" value="/inbox/all-open"' in r.text

    async def test_set_priority_on_two_tickets(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int], db: Database
    ) -> None:
        await signed_in(client)
        ids = [world["jam"], world["new"]]
        r = await _bulk(client, ids, "priority", page="/inbox/all-open?tag=printer&sort=number",
                        priority="high")  # fmt: skip
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/inbox/all-open?tag=printer&sort=number&updated=2"
        for tid in ids:
            assert (await _get(client, company, tid))["priority"] == "high"
            events = await _events(db, tid, "priority")
            assert [(e.old_value, e.new_value, e.actor_user_id) for e in events] == [
                (("normal" if tid == world["jam"] else "low"), "high", company.l1_agent.id)
            ]
        assert (await _get(client, company, world["fire"]))["priority"] == "urgent"
        r = await client.get(r.headers["location"])
        assert (
            '<div class="alert alert-ok" role="status" id="bulk-done">2 tickets updated</div>'
            in r.text
        )

    async def test_assign_with_a_group_set_status_and_tags(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client)
        ids = [world["fire"], world["new"]]
        r = await _bulk(client, ids, "assign", assignee_id=str(company.l2_agent.id),
                        group_id=str(company.l2_group_id))  # fmt: skip
        assert r.status_code == 303, r.text
        for tid in ids:
            t = await _get(client, company, tid)
            assert (t["assignee_id"], t["group_id"], t["line"]) == (
                company.l2_agent.id,
                company.l2_group_id,
                2,
            )
        r = await _bulk(client, ids, "assign", assignee_id="none")
        assert r.status_code == 303, r.text
        assert [(await _get(client, company, t))["assignee_id"] for t in ids] == [None, None]
        r = await _bulk(client, ids, "status", status="on_hold")
        assert r.status_code == 303, r.text
        assert {(await _get(client, company, t))["status"] for t in ids} == {"on_hold"}
        r = await _bulk(client, ids, "add_tags", tags="vip, Second-Floor")
        assert r.status_code == 303, r.text
        assert (await _get(client, company, world["fire"]))["tags"] == [
            "printer",
            "second-floor",
            "vip",
        ]
        r = await _bulk(client, ids, "remove_tags", tags="printer vip")
        assert r.status_code == 303, r.text
        assert (await _get(client, company, world["fire"]))["tags"] == ["second-floor"]
        assert (await _get(client, company, world["new"]))["tags"] == ["second-floor"]

    async def test_merge_into_one_of_them_or_another_number(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client)
        fire = await _get(client, company, world["fire"])
        r = await _bulk(client, [world["fire"], world["jam"]], "merge",
                        merge_into=f"#{fire['number']}")  # fmt: skip
        assert r.status_code == 303, r.text
        assert parse_qs(urlsplit(r.headers["location"]).query) == {
            "merged": ["1"],
            "into": [str(fire["number"])],
        }
        jam = await _get(client, company, world["jam"])
        assert (jam["status"], jam["merged_into_id"]) == ("closed", world["fire"])
        r = await client.get(r.headers["location"])
        assert f"1 ticket merged into #{fire['number']}" in r.text
        db_ = await _get(client, company, world["db"])
        r = await _bulk(client, [world["new"]], "merge", merge_into=str(db_["number"]))
        assert r.status_code == 303, r.text
        assert (await _get(client, company, world["new"]))["merged_into_id"] == world["db"]

    async def test_one_closed_ticket_fails_them_all_and_names_it(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int], db: Database
    ) -> None:
        r = await client.post(f"{API}/tickets/{world['jam']}/merge", headers=company.admin.headers,
                              json={"into_id": world["fire"]})  # fmt: skip
        assert r.status_code == 200, r.text
        jam = await _get(client, company, world["jam"])
        await signed_in(client)
        r = await _bulk(client, [world["fire"], world["jam"], world["new"]], "priority",
                        priority="low")  # fmt: skip
        assert r.status_code == 400, r.text
        error = r.text.split('id="bulk-error"', 1)[1].split("</div>", 1)[0]
        assert "Nothing was changed." in error
        assert f"#{jam['number']}:" in error and "the ticket is closed" in error
        assert error.count("<li>") == 1
        assert (await _get(client, company, world["fire"]))["priority"] == "urgent"
        assert await _events(db, world["fire"], "priority") == []
        # the choice is kept: the same boxes stay ticked
        assert re.search(
            rf'value="{world["fire"]}" form="bulk-form"\s+aria-label="[^"]+" checked', r.text
        )

    async def test_an_assignee_outside_the_group_fails_naming_every_ticket(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client)
        ids = [world["fire"], world["new"], world["db"]]
        r = await _bulk(client, ids, "assign", assignee_id=str(company.l2_agent.id))
        assert r.status_code == 400, r.text
        error = r.text.split('id="bulk-error"', 1)[1].split("</div>", 1)[0]
        numbers = [(await _get(client, company, t))["number"] for t in ids]
        assert f"#{numbers[0]}:" in error and f"#{numbers[1]}:" in error
        assert f"#{numbers[2]}:" not in error  # igor is in L2: that one was fine
        assert "not a member of the ticket's group" in error
        assert (await _get(client, company, world["db"]))["assignee_id"] == company.l2_agent.id
        assert (await _get(client, company, world["new"]))["assignee_id"] is None

    async def test_an_agent_limited_to_their_groups_cannot_touch_other_tickets(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int], db: Database
    ) -> None:
        async with db.unit_of_work() as s:
            await auth_service.update_user(
                s, actor=system_actor("tests"), user_id=company.l2_agent.id,
                data=UserUpdate(ticket_access="groups"),
            )  # fmt: skip
        await signed_in(client, IGOR)
        r = await _bulk(client, [world["db"], world["new"]], "priority", priority="urgent")
        assert r.status_code == 400, r.text
        error = r.text.split('id="bulk-error"', 1)[1].split("</div>", 1)[0]
        assert f"ticket id {world['new']}: not found, or not a ticket you may change" in error
        assert (await _get(client, company, world["db"]))["priority"] == "high"
        assert (await _get(client, company, world["new"]))["priority"] == "low"
        r = await _bulk(client, [world["db"], world["new"]], "merge", merge_into="1")
        assert r.status_code == 400
        assert (await _get(client, company, world["new"]))["merged_into_id"] is None

    @pytest.mark.parametrize(
        ("ids", "action", "fields", "text"),
        [
            ([], "priority", {"priority": "high"}, "Select at least one ticket."),
            (["fire"], "priority", {}, "Choose a priority."),
            (["fire"], "priority", {"priority": "extreme"}, "Check the chosen value."),
            (["fire"], "status", {"status": "new"}, "cannot take this status"),
            (["fire"], "status", {"status": "solved"}, "solving needs a resolution summary"),
            (["fire"], "assign", {}, "Choose an assignee or a group."),
            (["fire"], "add_tags", {"tags": " , "}, "Enter at least one tag."),
            (["fire"], "explode", {}, "Choose what to do with the selected tickets."),
            (["fire"], "merge", {"merge_into": "abc"}, "Enter the number of the ticket to merge"),
            (["fire"], "merge", {"merge_into": "999999"}, "There is no such ticket to merge into."),
        ],
    )
    async def test_a_bad_bulk_form_says_why_and_changes_nothing(
        self,
        client: httpx.AsyncClient,
        world: dict[str, int],
        db: Database,
        ids: list[str],
        action: str,
        fields: dict[str, str],
        text: str,
    ) -> None:
        await signed_in(client)
        async with db.unit_of_work(write=False) as s:
            before = (await s.execute(select(func.count()).select_from(TicketEvent))).scalar()
        r = await _bulk(client, [world[n] for n in ids], action, **fields)
        assert r.status_code == 400, r.text
        assert text in r.text.split('id="bulk-error"', 1)[1].split("</div>", 1)[0]
        async with db.unit_of_work(write=False) as s:
            after = (await s.execute(select(func.count()).select_from(TicketEvent))).scalar()
        assert after == before

    async def test_merging_a_ticket_into_itself_alone_is_refused(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client)
        number = (await _get(client, company, world["fire"]))["number"]
        r = await _bulk(client, [world["fire"]], "merge", merge_into=str(number))
        assert r.status_code == 400
        assert "besides the one to merge into" in r.text

    async def test_at_most_a_hundred_tickets_at_once(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client)
        ids = [world["fire"], *range(10_000, 10_100)]
        r = await _bulk(client, ids, "priority", priority="low")
        assert r.status_code == 400
        assert "Select at most 100 tickets at a time." in r.text

    async def test_without_the_csrf_token_nothing_changes(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client)
        r = await client.post(
            "/tickets/bulk",
            data={"ticket_ids": [str(world["fire"])], "action": "priority", "priority": "low",
                  "next": "/inbox/all-open"},
        )  # fmt: skip
        assert r.status_code == 403, r.text
        assert (await _get(client, company, world["fire"]))["priority"] == "urgent"

    async def test_the_way_back_stays_on_the_inbox(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client)
        r = await client.get("/inbox/all-open")
        r = await client.post("/tickets/bulk", data={
            "csrf_token": csrf_of(r.text), "ticket_ids": [str(world["new"])],
            "action": "priority", "priority": "high", "next": "https://evil.example/inbox",
        })  # fmt: skip
        assert r.status_code == 303
        assert r.headers["location"] == "/inbox/my-open?updated=1"

    async def test_anonymous_is_sent_to_login(self, client: httpx.AsyncClient) -> None:
        r = await client.post("/tickets/bulk", data={"action": "priority"})
        assert r.status_code == 403  # no session, so no token: refused before anything
