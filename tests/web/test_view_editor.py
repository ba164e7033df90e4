"""The view editor pages (src/opora/views/editor_pages.py) on both backends: lena and igor
are agents, alice is the admin."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from opora.db import Database
from tests.conftest import Company
from tests.web.helpers import csrf_of, set_password, sign_in

LENA = ("lena@opora.dev", "lena-secret")
IGOR = ("igor@opora.dev", "igor-secret")
ALICE = ("alice@opora.dev", "alice-secret")
TICKET_ROW = re.compile(r'<tr data-ticket="(\d+)"')


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
    return sorted(int(i) for i in TICKET_ROW.findall(html))


def nav(html: str) -> str:
    match = re.search(r'<nav id="view-nav".*?</nav>', html, re.S)
    assert match, "the page has no sidebar"
    return match.group(0)


@pytest.fixture
async def world(client: httpx.AsyncClient, company: Company, db: Database) -> dict[str, int]:
    l1, l2 = company.l1_group_id, company.l2_group_id
    lena, igor = company.l1_agent.id, company.l2_agent.id
    t = {
        "urgent_open": await _ticket(client, company, "Printer is on fire", group_id=l1,
                                     assignee_id=lena, status="open", priority="urgent"),
        "urgent_pending": await _ticket(client, company, "Waiting for logs", group_id=l1,
                                        status="pending", priority="urgent"),
        "normal_new": await _ticket(client, company, "New in L1", group_id=l1),
        "l2_open": await _ticket(client, company, "Database is slow", group_id=l2,
                                 assignee_id=igor, status="open", priority="urgent"),
    }  # fmt: skip
    await set_password(db, lena, LENA[1])
    await set_password(db, igor, IGOR[1])
    return t


async def signed_in(client: httpx.AsyncClient, who: tuple[str, str]) -> None:
    r = await sign_in(client, *who)
    assert r.status_code == 303, r.text


async def saved_views(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/views?counts=false", headers=headers)
    assert r.status_code == 200, r.text
    return [v for v in r.json() if not v["builtin"]]


async def post_form(
    client: httpx.AsyncClient, path: str, form_path: str, data: dict[str, Any]
) -> httpx.Response:
    page = await client.get(form_path)
    assert page.status_code == 200, page.text
    return await client.post(path, data={"csrf_token": csrf_of(page.text), **data})


URGENT_OPEN = {
    "name": "Urgent and open",
    "field_0": "status", "op_0": "in", "value_0": ["open", "new", "pending"],
    "field_1": "priority", "op_1": "eq", "value_1": "urgent",
    "field_2": "my_groups", "op_2": "eq", "value_2": "true",
    "field_3": "", "op_3": "eq", "value_3": "",
    "columns": ["subject", "number", "priority"],
    "colpos_subject": "1", "colpos_number": "2", "colpos_priority": "3",
    "colpos_status": "4",  # unticked: not shown whatever its number
    "sort": "-number", "position": "5",
}  # fmt: skip


async def create_urgent_view(client: httpx.AsyncClient) -> str:
    r = await post_form(client, "/views", "/views/new", URGENT_OPEN)
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert re.fullmatch(r"/inbox/\d+", location)
    return location.rsplit("/", 1)[1]


class TestCreateView:
    async def test_a_personal_view_is_saved_shown_in_the_sidebar_and_lists_its_tickets(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        form = await client.get("/views/new")
        assert form.status_code == 200
        assert 'id="view-form"' in form.text and 'name="shared"' not in form.text  # agents
        key = await create_urgent_view(client)

        (view,) = await saved_views(client, company.l1_agent.headers)
        assert view["key"] == key and view["owner_id"] == company.l1_agent.id
        assert view["name"] == "Urgent and open" and view["position"] == 5
        assert view["conditions"] == [
            {"field": "status", "op": "in", "value": ["new", "open", "pending"]},
            {"field": "priority", "op": "eq", "value": "urgent"},
            {"field": "my_groups", "op": "eq", "value": True},
        ]
        assert view["columns"] == ["subject", "number", "priority"]
        assert view["sort"] == "-number" and view["editable"] is True

        page = await client.get(f"/inbox/{key}")
        assert page.status_code == 200
        # in lena's groups, urgent, not solved: not igor's L2 ticket, not the normal one
        assert rows(page.text) == sorted([world["urgent_open"], world["urgent_pending"]])
        headers = re.findall(r'<th scope="col" data-column="([a-z_]+)"', page.text)
        assert headers == ["subject", "number", "priority"]  # the view's columns, in order
        sidebar = nav(page.text)
        assert 'data-section="mine"' in sidebar
        mine = re.search(
            rf'data-view="{key}".*?<span class="view-count">([^<]+)</span>', sidebar, re.S
        )
        assert mine and mine.group(1) == "2"
        assert f'href="/views/{key}/edit"' in sidebar
        assert 'href="/views/new"' in sidebar
        assert 'href="/views/my-open/edit"' not in sidebar  # built-ins are read-only

    async def test_the_list_of_the_view_is_sorted_its_way(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        key = await create_urgent_view(client)
        page = await client.get(f"/inbox/{key}")
        found = [int(i) for i in TICKET_ROW.findall(page.text)]
        assert found == [world["urgent_pending"], world["urgent_open"]]  # -number

    async def test_the_columns_come_back_in_their_order(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        key = await create_urgent_view(client)
        form = await client.get(f"/views/{key}/edit")
        ticked = re.findall(r'name="columns" value="([a-z_]+)" id="col-[a-z_]+" checked', form.text)
        assert ticked == ["subject", "number", "priority"]
        # every column is offered, the ticked ones first
        offered = re.findall(r'name="columns" value="([a-z_]+)"', form.text)
        assert offered[:3] == ["subject", "number", "priority"] and len(offered) == 10


class TestEditView:
    async def test_the_form_shows_the_saved_view_and_a_change_is_saved(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        key = await create_urgent_view(client)
        form = await client.get(f"/views/{key}/edit")
        assert form.status_code == 200
        assert 'value="Urgent and open"' in form.text
        assert '<option value="status" selected>' in form.text
        assert '<option value="in" selected>' in form.text
        assert 'id="value_0" name="value_0" data-multi multiple' in form.text
        assert '<option value="pending" selected>' in form.text
        assert '<option value="-number" selected>' in form.text
        assert f'action="/views/{key}"' in form.text

        r = await post_form(client, f"/views/{key}", f"/views/{key}/edit", {
            "name": "Normal ones", "field_0": "priority", "op_0": "eq", "value_0": "normal",
            "field_1": "", "columns": ["number", "subject"], "sort": "number", "position": "1",
        })  # fmt: skip
        assert r.status_code == 303 and r.headers["location"] == f"/inbox/{key}"
        (view,) = await saved_views(client, company.l1_agent.headers)
        assert view["name"] == "Normal ones"
        assert view["conditions"] == [{"field": "priority", "op": "eq", "value": "normal"}]
        assert view["columns"] == ["number", "subject"] and view["sort"] == "number"
        page = await client.get(f"/inbox/{key}")
        assert rows(page.text) == [world["normal_new"]]

    async def test_assignee_days_line_and_tag_values_round_trip(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        r = await post_form(client, "/views", "/views/new", {
            "name": "Mine lately",
            "field_0": "assignee_id", "op_0": "eq", "value_0": "me",
            "field_1": "updated_within_days", "op_1": "eq", "value_1": "7",
            "field_2": "line", "op_2": "gte", "value_2": "my_line",
            "field_3": "tag", "op_3": "eq", "value_3": "  VPN Issue ",
            "field_4": "group_id", "op_4": "in",
            "value_4": [str(company.l1_group_id), str(company.l2_group_id)],
            "columns": ["number"], "sort": "-updated_at", "position": "0",
        })  # fmt: skip
        assert r.status_code == 303, r.text
        (view,) = await saved_views(client, company.l1_agent.headers)
        assert view["conditions"] == [
            {"field": "assignee_id", "op": "eq", "value": "me"},
            {"field": "updated_within_days", "op": "eq", "value": 7},
            {"field": "line", "op": "gte", "value": "my_line"},
            {"field": "tag", "op": "eq", "value": "vpn-issue"},
            {"field": "group_id", "op": "in",
             "value": sorted([company.l1_group_id, company.l2_group_id])},
        ]  # fmt: skip
        form = await client.get(f"/views/{view['key']}/edit")
        assert '<option value="me" selected>' in form.text
        assert (
            'id="value_1" name="value_1" inputmode="numeric"\n             value="7"' in form.text
        )
        assert '<option value="my_line" selected>' in form.text
        assert 'value="vpn-issue"' in form.text
        assert f'<option value="{company.l2_group_id}" selected>' in form.text

    async def test_unassigned_is_stored_as_is_null(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        r = await post_form(client, "/views", "/views/new", {
            "name": "Nobody's", "field_0": "assignee_id", "op_0": "eq", "value_0": "none",
            "columns": ["number"], "sort": "-updated_at", "position": "0",
        })  # fmt: skip
        assert r.status_code == 303, r.text
        (view,) = await saved_views(client, company.l1_agent.headers)
        assert view["conditions"] == [{"field": "assignee_id", "op": "is_null", "value": True}]
        page = await client.get(r.headers["location"])
        assert world["urgent_pending"] in rows(page.text)
        assert world["urgent_open"] not in rows(page.text)
        form = await client.get(f"/views/{view['key']}/edit")
        assert '<option value="none" selected>' in form.text


class TestDeleteView:
    async def test_delete_asks_first_then_removes_the_view(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        key = await create_urgent_view(client)
        form = await client.get(f"/views/{key}/edit")
        assert f'href="/views/{key}/delete"' in form.text
        confirm = await client.get(f"/views/{key}/delete")
        assert confirm.status_code == 200
        assert f'action="/views/{key}/delete"' in confirm.text and "Urgent and open" in confirm.text
        assert await saved_views(client, company.l1_agent.headers)  # asking deleted nothing
        r = await client.post(f"/views/{key}/delete", data={"csrf_token": csrf_of(confirm.text)})
        assert r.status_code == 303 and r.headers["location"] == "/inbox"
        assert await saved_views(client, company.l1_agent.headers) == []
        page = await client.get("/inbox")
        assert f'data-view="{key}"' not in page.text
        gone = await client.get(f"/views/{key}/edit")
        assert gone.status_code == 404 and "text/html" in gone.headers["content-type"]


class TestFormErrors:
    async def test_a_bad_value_marks_its_row_keeps_the_input_and_saves_nothing(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        r = await post_form(client, "/views", "/views/new", {
            "name": "Lately", "field_0": "status", "op_0": "eq", "value_0": "open",
            "field_1": "", "op_1": "eq",
            "field_2": "updated_within_days", "op_2": "eq", "value_2": "a week",
            "columns": ["number", "subject"], "sort": "number", "position": "3",
        })  # fmt: skip
        assert r.status_code == 422
        assert "text/html" in r.headers["content-type"]
        assert 'role="alert"' in r.text
        # the second condition is the form's third row
        value = re.search(r'<input id="value_2"[^>]*>', r.text)
        assert value, r.text
        assert 'value="a week"' in value.group(0)
        assert 'aria-invalid="true"' in value.group(0)
        assert 'aria-describedby="row-2-value-error"' in value.group(0)
        assert 'id="row-2-value-error">Enter a number of days from 1 to 3650.' in r.text
        assert 'id="value_0" name="value_0" aria-invalid' not in r.text  # only the bad one
        assert 'value="Lately"' in r.text and 'value="3"' in r.text
        assert '<option value="number" selected>' in r.text
        assert len(re.findall(r'class="cond-row" data-row="\d+"', r.text)) == 6  # 3 sent, 3 empty
        assert await saved_views(client, company.l1_agent.headers) == []

    async def test_a_field_used_twice_marks_the_second(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        r = await post_form(client, "/views", "/views/new", {
            "name": "Twice", "field_0": "status", "op_0": "eq", "value_0": "open",
            "field_1": "status", "op_1": "eq", "value_1": "new",
            "columns": ["number"], "sort": "number", "position": "0",
        })  # fmt: skip
        assert r.status_code == 422
        assert re.search(
            r'<select id="field_1" name="field_1" data-field aria-invalid="true"', r.text
        )
        assert "This field is already used in another condition." in r.text
        assert await saved_views(client, company.l1_agent.headers) == []

    async def test_a_missing_name_and_no_columns_are_marked(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        r = await post_form(client, "/views", "/views/new", {
            "name": "  ", "field_0": "priority", "op_0": "eq", "value_0": "high",
            "sort": "number", "position": "0",
        })  # fmt: skip
        assert r.status_code == 422
        assert re.search(r'<input id="name"[^>]*aria-invalid="true"', r.text)
        assert '<option value="high" selected>' in r.text  # the condition is kept
        r = await post_form(client, "/views", "/views/new", {
            "name": "No columns", "sort": "number", "position": "0",
        })  # fmt: skip
        assert r.status_code == 422
        assert 'id="columns-error"' in r.text
        r = await post_form(client, "/views", "/views/new", {
            "name": "Bad place", "columns": ["number"], "sort": "number", "position": "-1",
        })  # fmt: skip
        assert r.status_code == 422 and 'id="position-error"' in r.text
        assert await saved_views(client, company.l1_agent.headers) == []

    async def test_a_bad_edit_changes_nothing(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        key = await create_urgent_view(client)
        r = await post_form(client, f"/views/{key}", f"/views/{key}/edit", {
            "name": "Renamed", "field_0": "line", "op_0": "eq", "value_0": "my_line",
            "columns": ["number"], "sort": "number", "position": "0",
        })  # fmt: skip
        assert r.status_code == 422
        assert re.search(r'<select id="value_0" name="value_0" aria-invalid="true"', r.text)
        assert 'value="Renamed"' in r.text
        (view,) = await saved_views(client, company.l1_agent.headers)
        assert view["name"] == "Urgent and open" and len(view["conditions"]) == 3

    async def test_update_the_form_shows_fitting_inputs_without_saving(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        r = await post_form(client, "/views", "/views/new", {
            "name": "Draft", "field_0": "channel", "op_0": "eq", "value_0": "",
            "columns": ["number"], "sort": "number", "position": "0", "action": "refresh",
        })  # fmt: skip
        assert r.status_code == 200
        assert '<option value="telegram">Telegram</option>' in r.text
        assert 'value="Draft"' in r.text
        assert await saved_views(client, company.l1_agent.headers) == []


class TestWhoMayEdit:
    async def test_an_agent_cannot_change_a_shared_view(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        r = await client.post(
            "/api/v1/views",
            headers=company.admin.headers,
            json={"name": "Team urgent", "shared": True,
                  "conditions": [{"field": "priority", "op": "eq", "value": "urgent"}]},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        key = r.json()["key"]
        await signed_in(client, LENA)
        inbox = await client.get("/inbox")
        sidebar = nav(inbox.text)
        assert 'data-section="shared"' in sidebar and f'data-view="{key}"' in sidebar
        assert f'href="/views/{key}/edit"' not in sidebar
        page = await client.get(f"/views/{key}/edit")
        assert page.status_code == 403 and "text/html" in page.headers["content-type"]
        assert 'id="view-forbidden"' in page.text
        assert "Only an admin may change or delete a shared view." in page.text
        csrf = csrf_of(inbox.text)
        r = await client.post(f"/views/{key}", data={
            "csrf_token": csrf, "name": "Mine now", "columns": ["number"], "sort": "number",
            "position": "0",
        })  # fmt: skip
        assert r.status_code == 403 and 'id="view-forbidden"' in r.text
        r = await client.post(f"/views/{key}/delete", data={"csrf_token": csrf})
        assert r.status_code == 403 and 'id="view-forbidden"' in r.text
        assert (await client.get(f"/views/{key}/delete")).status_code == 403
        (view,) = await saved_views(client, company.admin.headers)
        assert view["name"] == "Team urgent"

    async def test_an_agent_cannot_see_or_change_another_agents_view(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client, IGOR)
        key = await create_urgent_view(client)
        await client.post(
            "/logout", data={"csrf_token": csrf_of((await client.get("/inbox")).text)}
        )
        await signed_in(client, LENA)
        inbox = await client.get("/inbox")
        assert f'data-view="{key}"' not in inbox.text
        page = await client.get(f"/views/{key}/edit")
        assert page.status_code == 404 and "text/html" in page.headers["content-type"]
        r = await client.post(f"/views/{key}", data={
            "csrf_token": csrf_of(inbox.text), "name": "Stolen", "columns": ["number"],
            "sort": "number", "position": "0",
        })  # fmt: skip
        assert r.status_code == 404 and "View not found" in r.text
        r = await client.post(f"/views/{key}/delete", data={"csrf_token": csrf_of(inbox.text)})
        assert r.status_code == 404
        (view,) = await saved_views(client, company.l2_agent.headers)
        assert view["name"] == "Urgent and open"

    async def test_built_in_views_are_read_only(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        page = await client.get("/views/my-open/edit")
        assert page.status_code == 403 and "Built-in views" in page.text
        r = await client.post("/views/my-open/delete", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 403 and "text/html" in r.headers["content-type"]

    async def test_an_agent_cannot_make_a_shared_view(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        r = await post_form(client, "/views", "/views/new", {**URGENT_OPEN, "shared": "on"})
        assert r.status_code == 403 and "text/html" in r.headers["content-type"]
        assert "Only an admin may share a view with everyone." in r.text
        assert await saved_views(client, company.l1_agent.headers) == []

    async def test_an_admin_shares_a_view_with_every_agent(
        self,
        client: httpx.AsyncClient,
        other_client: httpx.AsyncClient,
        company: Company,
        world: dict[str, int],
    ) -> None:
        await signed_in(client, ALICE)
        form = await client.get("/views/new")
        assert 'name="shared"' in form.text
        r = await post_form(client, "/views", "/views/new", {**URGENT_OPEN, "shared": "on"})
        assert r.status_code == 303, r.text
        key = r.headers["location"].rsplit("/", 1)[1]
        (view,) = await saved_views(client, company.admin.headers)
        assert view["shared"] is True and view["owner_id"] is None
        assert f'href="/views/{key}/edit"' in nav((await client.get("/inbox")).text)
        edit = await client.get(f"/views/{key}/edit")
        assert 'id="view-audience"' in edit.text and 'name="shared"' not in edit.text
        for who in (LENA, IGOR):
            other_client.cookies.clear()
            await signed_in(other_client, who)
            page = await other_client.get(f"/inbox/{key}")
            assert page.status_code == 200
            sidebar = nav(page.text)
            assert 'data-section="shared"' in sidebar and f'data-view="{key}"' in sidebar
            assert f'href="/views/{key}/edit"' not in sidebar
        # igor sees his group's urgent open ticket: "my groups" is the reader's
        assert rows(page.text) == [world["l2_open"]]


class TestCsrf:
    async def test_a_form_without_its_token_is_refused(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        r = await client.post("/views", data=URGENT_OPEN)
        assert r.status_code == 403
        key = await create_urgent_view(client)
        r = await client.post(f"/views/{key}", data={**URGENT_OPEN, "name": "Changed"})
        assert r.status_code == 403
        r = await client.post(f"/views/{key}/delete", data={"csrf_token": "forged"})
        assert r.status_code == 403
        (view,) = await saved_views(client, company.l1_agent.headers)
        assert view["name"] == "Urgent and open"


class TestPrefill:
    async def test_the_inbox_filters_become_conditions(
        self, client: httpx.AsyncClient, company: Company, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        query = (
            f"status=open&status=new&priority=urgent&assignee=me&group_id={company.l1_group_id}"
            "&type=incident&channel=email&channel=chat&tag=vpn&sort=-number"
        )
        r = await client.get(f"/views/new?{query}")
        assert r.status_code == 200
        selects = re.findall(r'<select id="field_\d+"[^>]*>(.*?)</select>', r.text, re.S)
        chosen = [re.search(r'<option value="([a-z_]*)" selected>', s) for s in selects]
        assert [m.group(1) for m in chosen if m] == [
            "status",
            "priority",
            "type",
            "channel",
            "group_id",
            "assignee_id",
            "tag",
        ]
        row0 = r.text[r.text.index('id="field_0"') : r.text.index('id="field_1"')]
        assert '<option value="in" selected>' in row0
        assert '<option value="open" selected>' in row0 and '<option value="new" selected>' in row0
        assert '<option value="me" selected>' in r.text
        assert f'<option value="{company.l1_group_id}" selected>' in r.text
        assert 'value="vpn"' in r.text
        assert '<option value="-number" selected>' in r.text
        # and saving the prefilled form gives those conditions
        csrf = csrf_of(r.text)
        data: dict[str, Any] = {
            "csrf_token": csrf, "name": "From the filter bar", "columns": ["number"],
            "sort": "-number", "position": "0",
            "field_0": "status", "op_0": "in", "value_0": ["open", "new"],
            "field_1": "assignee_id", "op_1": "eq", "value_1": "none",
        }  # fmt: skip
        saved = await client.post("/views", data=data)
        assert saved.status_code == 303
        (view,) = await saved_views(client, company.l1_agent.headers)
        assert view["conditions"][0] == {"field": "status", "op": "in", "value": ["new", "open"]}

    async def test_assignee_none_prefills_unassigned(
        self, client: httpx.AsyncClient, world: dict[str, int]
    ) -> None:
        await signed_in(client, LENA)
        r = await client.get("/views/new?assignee=none&sort=bogus")
        assert '<option value="none" selected>' in r.text
        assert '<option value="-updated_at" selected>' in r.text
