"""Views through the JSON API, on both backends, tried by the personas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.db import Database
from opora.kit.time import utcnow
from opora.tickets.models import Ticket
from opora.views import service as views_service
from opora.views.models import View
from tests.conftest import Company

BUILTIN_KEYS = [
    "my-open",
    "unassigned-my-groups",
    "my-groups",
    "all-open",
    "pending",
    "on-hold",
    "escalated-to-my-line",
    "recently-solved",
]


@dataclass
class World:
    tickets: dict[str, int]  # label -> ticket id
    gina: dict[str, str]  # headers of a groups-only agent in the L2 group


async def _ticket(client: httpx.AsyncClient, company: Company, label: str, **fields: Any) -> int:
    r = await client.post(
        "/api/v1/tickets",
        headers=company.admin.headers,
        json={"subject": f"Ticket {label}", "body": "Please help.",
              "requester": {"email": "carol@acme.ru"}, **fields},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def _patch(client: httpx.AsyncClient, company: Company, ticket_id: int, **body: Any) -> None:
    r = await client.patch(f"/api/v1/tickets/{ticket_id}", headers=company.admin.headers, json=body)
    assert r.status_code == 200, r.text


async def _escalate(client: httpx.AsyncClient, company: Company, ticket_id: int) -> None:
    r = await client.post(
        f"/api/v1/tickets/{ticket_id}/escalate",
        headers=company.admin.headers,
        json={"reason": "needs a specialist"},
    )
    assert r.status_code == 200, r.text


async def build_world(client: httpx.AsyncClient, company: Company, db: Database) -> World:
    l1, l2 = company.l1_group_id, company.l2_group_id
    lena, igor = company.l1_agent.id, company.l2_agent.id
    t: dict[str, int] = {}
    t["lena_open"] = await _ticket(client, company, "lena_open", group_id=l1, assignee_id=lena,
                                   status="open")  # fmt: skip
    t["lena_pending"] = await _ticket(client, company, "lena_pending", group_id=l1,
                                      assignee_id=lena, status="pending")  # fmt: skip
    t["l1_new"] = await _ticket(client, company, "l1_new", group_id=l1)
    t["l1_on_hold"] = await _ticket(client, company, "l1_on_hold", group_id=l1, status="on_hold")
    t["igor_open"] = await _ticket(client, company, "igor_open", group_id=l2, assignee_id=igor,
                                   status="open")  # fmt: skip
    t["l2_new"] = await _ticket(client, company, "l2_new", group_id=l2)
    t["no_group"] = await _ticket(client, company, "no_group")
    t["escalated_l2"] = await _ticket(client, company, "escalated_l2", group_id=l1)
    await _escalate(client, company, t["escalated_l2"])  # to L2, open, unassigned
    t["escalated_l3"] = await _ticket(client, company, "escalated_l3", group_id=l2,
                                      assignee_id=igor, status="open")  # fmt: skip
    await _escalate(client, company, t["escalated_l3"])  # to L3; igor is not in L3
    t["solved"] = await _ticket(client, company, "solved", group_id=l1, assignee_id=lena,
                                status="open")  # fmt: skip
    await _patch(client, company, t["solved"], status="solved")
    t["solved_long_ago"] = await _ticket(client, company, "solved_long_ago", group_id=l1,
                                         assignee_id=lena, status="open")  # fmt: skip
    await _patch(client, company, t["solved_long_ago"], status="solved")
    long_ago = utcnow() - timedelta(days=30)
    async with db.unit_of_work() as s:
        await s.execute(
            update(Ticket)
            .where(Ticket.id == t["solved_long_ago"])
            .values(solved_at=long_ago, updated_at=long_ago)
        )
    r = await client.post(
        "/api/v1/users", headers=company.admin.headers,
        json={"email": "gina@opora.dev", "name": "Gina Groups", "ticket_access": "groups",
              "group_ids": [l2]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    async with db.unit_of_work() as s:
        _, token = await auth_service.create_token(s, user_id=r.json()["id"])
    return World(tickets=t, gina={"Authorization": f"Bearer {token}"})


@pytest.fixture
async def world(client: httpx.AsyncClient, company: Company, db: Database) -> World:
    return await build_world(client, company, db)


ALL_OPEN = {"lena_open", "lena_pending", "l1_new", "l1_on_hold", "igor_open", "l2_new",
            "no_group", "escalated_l2", "escalated_l3"}  # fmt: skip
COMMON = {
    "all-open": ALL_OPEN,
    "pending": {"lena_pending"},
    "on-hold": {"l1_on_hold"},
    "recently-solved": {"solved"},
}
EXPECTED = {
    "l1_agent": {
        **COMMON,
        "my-open": {"lena_open", "lena_pending"},
        "unassigned-my-groups": {"l1_new", "l1_on_hold"},
        "my-groups": {"lena_open", "lena_pending", "l1_new", "l1_on_hold"},
        "escalated-to-my-line": {"escalated_l2", "escalated_l3"},  # line >= 1
    },
    "l2_agent": {
        **COMMON,
        "my-open": {"igor_open"},
        "unassigned-my-groups": {"l2_new", "escalated_l2"},
        "my-groups": {"igor_open", "l2_new", "escalated_l2"},
        "escalated-to-my-line": {"escalated_l2", "escalated_l3"},  # line >= 2
    },
}


async def _labels(
    client: httpx.AsyncClient, world: World, headers: dict[str, str], key: str, **params: Any
) -> list[str]:
    by_id = {v: k for k, v in world.tickets.items()}
    labels: list[str] = []
    cursor = None
    while True:
        query = {"limit": 3, **params} | ({"cursor": cursor} if cursor else {})
        r = await client.get(f"/api/v1/views/{key}/tickets", headers=headers, params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        labels += [by_id[item["id"]] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return labels


class TestBuiltinViews:
    @pytest.mark.parametrize("persona", ["l1_agent", "l2_agent"])
    async def test_each_view_lists_exactly_its_tickets_and_counts_them(
        self, client: httpx.AsyncClient, company: Company, world: World, persona: str
    ) -> None:
        headers = getattr(company, persona).headers
        r = await client.get("/api/v1/views", headers=headers)
        assert r.status_code == 200, r.text
        views = {v["key"]: v for v in r.json()}
        assert [v["key"] for v in r.json()] == BUILTIN_KEYS
        for key, expected in EXPECTED[persona].items():
            labels = await _labels(client, world, headers, key)
            assert len(labels) == len(set(labels)), key  # the cursor never repeats a ticket
            assert set(labels) == expected, key
            assert views[key]["count"] == {"count": len(expected), "capped": False}, key

    async def test_names_in_both_languages(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.get("/api/v1/views", headers=company.l1_agent.headers)
        first = r.json()[0]
        assert (first["name_en"], first["name_ru"]) == ("My open", "Мои открытые")
        assert first["name"] == "My open" and first["builtin"] and not first["editable"]

    async def test_a_view_lists_in_its_sort_or_the_one_asked_for(
        self, client: httpx.AsyncClient, company: Company, world: World
    ) -> None:
        headers = company.l1_agent.headers
        by_number = await _labels(client, world, headers, "my-groups", sort="number")
        assert by_number == ["lena_open", "lena_pending", "l1_new", "l1_on_hold"]
        newest_first = await _labels(client, world, headers, "my-groups")
        assert newest_first == list(reversed(by_number))

    async def test_counts_stop_at_the_cap(
        self,
        client: httpx.AsyncClient,
        company: Company,
        world: World,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(views_service, "COUNT_CAP", 2)
        r = await client.get("/api/v1/views/counts", headers=company.l1_agent.headers)
        assert r.status_code == 200, r.text
        counts = r.json()
        assert counts["all-open"] == {"count": 2, "capped": True}
        assert counts["my-open"] == {"count": 2, "capped": False}
        assert counts["pending"] == {"count": 1, "capped": False}

    async def test_every_count_is_one_statement(
        self, db: Database, company: Company, world: World
    ) -> None:
        """The sidebar's eight counts cost one statement (plus the scope's line), not one
        per view: a hot path on every inbox page."""
        from tests.tickets.test_service import counting_queries

        async with db.unit_of_work(write=False) as s:
            user = await auth_service.get_user(
                s, actor=system_actor("tests"), user_id=company.l1_agent.id
            )
            actor = await auth_service.actor_for_user(s, user)
            with counting_queries(db) as statements:
                counts = await views_service.view_counts(s, actor=actor)
        assert len(counts) == len(BUILTIN_KEYS)
        assert len([q for q in statements if "count(" in q.lower()]) == 1, statements
        assert len(statements) <= 3, statements

    async def test_a_groups_only_agent_counts_only_their_scope(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        r = await client.get("/api/v1/views", headers=world.gina)
        counts = {v["key"]: v["count"]["count"] for v in r.json()}
        in_scope = {"igor_open", "l2_new", "escalated_l2"}  # the L2 group's open tickets
        assert counts["all-open"] == len(in_scope)
        assert set(await _labels(client, world, world.gina, "all-open")) == in_scope
        assert counts["my-groups"] == len(in_scope)
        assert counts["pending"] == 0 and counts["recently-solved"] == 0
        assert counts["my-open"] == 0
        assert set(await _labels(client, world, world.gina, "escalated-to-my-line")) == {
            "escalated_l2"
        }

    async def test_an_agent_in_no_group_has_empty_group_views(
        self, client: httpx.AsyncClient, company: Company, world: World
    ) -> None:
        r = await client.get("/api/v1/views/counts", headers=company.admin.headers)
        counts = r.json()
        assert counts["my-groups"]["count"] == 0
        assert counts["escalated-to-my-line"]["count"] == 0
        assert counts["all-open"]["count"] == len(ALL_OPEN)
        assert await _labels(client, world, company.admin.headers, "my-groups") == []

    async def test_customers_get_403(self, client: httpx.AsyncClient, company: Company) -> None:
        for persona in (company.customer, company.same_org_customer, company.other_org_customer):
            for method, url in (
                ("GET", "/api/v1/views"),
                ("GET", "/api/v1/views/counts"),
                ("GET", "/api/v1/views/all-open/tickets"),
                ("POST", "/api/v1/views"),
            ):
                r = await client.request(method, url, headers=persona.headers, json={"name": "x"})
                assert r.status_code == 403, (persona.name, url, r.text)

    async def test_an_unknown_view_is_404(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        for key in ("nope", "999"):
            r = await client.get(f"/api/v1/views/{key}/tickets", headers=company.l1_agent.headers)
            assert r.status_code == 404
            assert r.json()["error"]["code"] == "view_not_found"

    async def test_built_in_views_cannot_be_changed(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.patch(
            "/api/v1/views/my-open", headers=company.admin.headers, json={"name": "Mine"}
        )
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "view_builtin"
        r = await client.delete("/api/v1/views/my-open", headers=company.admin.headers)
        assert r.status_code == 403


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    r = await client.post("/api/v1/views", headers=headers, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _saved_views(db: Database) -> int:
    async with db.unit_of_work(write=False) as s:
        return int((await s.execute(select(func.count()).select_from(View))).scalar_one())


class TestPersonalViews:
    async def test_an_agent_saves_a_view_and_lists_its_tickets(
        self, client: httpx.AsyncClient, company: Company, world: World
    ) -> None:
        view = await _create(
            client, company.l1_agent.headers, name="  My urgent-ish  ",
            conditions=[{"field": "my_groups", "value": True},
                        {"field": "status", "op": "in", "value": ["open", "pending"]},
                        {"field": "assignee_id", "value": "me"}],
            columns=["number", "subject", "due_at"], sort="number",
        )  # fmt: skip
        assert view["name"] == "My urgent-ish"
        assert view["conditions"][0] == {"field": "my_groups", "op": "eq", "value": True}
        assert (view["shared"], view["editable"], view["owner_id"]) == (
            False, True, company.l1_agent.id,
        )  # fmt: skip
        labels = await _labels(client, world, company.l1_agent.headers, view["key"])
        assert labels == ["lena_open", "lena_pending"]  # the view's sort: number
        r = await client.get("/api/v1/views", headers=company.l1_agent.headers)
        listed = {v["key"]: v for v in r.json()}
        assert listed[view["key"]]["count"] == {"count": 2, "capped": False}

    async def test_personal_views_are_invisible_to_other_agents(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        view = await _create(client, company.l1_agent.headers, name="Lena's")
        for persona in (company.l2_agent, company.admin):
            r = await client.get("/api/v1/views", headers=persona.headers)
            assert view["key"] not in {v["key"] for v in r.json()}
            r = await client.get(f"/api/v1/views/{view['key']}/tickets", headers=persona.headers)
            assert r.status_code == 404
            r = await client.patch(
                f"/api/v1/views/{view['key']}", headers=persona.headers, json={"name": "Mine"}
            )
            assert r.status_code == 404
            r = await client.delete(f"/api/v1/views/{view['key']}", headers=persona.headers)
            assert r.status_code == 404

    async def test_the_owner_edits_and_deletes_it(
        self, client: httpx.AsyncClient, company: Company, db: Database
    ) -> None:
        headers = company.l1_agent.headers
        view = await _create(client, headers, name="Mine")
        r = await client.patch(
            f"/api/v1/views/{view['key']}",
            headers=headers,
            json={"name": "Urgent", "conditions": [{"field": "priority", "value": "urgent"}]},
        )
        assert r.status_code == 200, r.text
        assert r.json()["name"] == "Urgent"
        assert r.json()["conditions"] == [{"field": "priority", "op": "eq", "value": "urgent"}]
        r = await client.delete(f"/api/v1/views/{view['key']}", headers=headers)
        assert r.status_code == 204
        assert await _saved_views(db) == 0


class TestSharedViews:
    async def test_an_admin_shares_a_view_every_agent_sees(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        view = await _create(
            client, company.admin.headers, name="VIP", shared=True,
            conditions=[{"field": "organization_id", "value": company.acme_id}],
        )  # fmt: skip
        assert view["shared"] and view["owner_id"] is None
        r = await client.get("/api/v1/views", headers=company.l2_agent.headers)
        listed = {v["key"]: v for v in r.json()}
        assert listed[view["key"]]["editable"] is False

    async def test_only_admins_create_change_or_delete_shared_views(
        self, client: httpx.AsyncClient, company: Company, db: Database
    ) -> None:
        r = await client.post(
            "/api/v1/views", headers=company.l1_agent.headers, json={"name": "X", "shared": True}
        )
        assert r.status_code == 403
        view = await _create(client, company.admin.headers, name="Team", shared=True)
        r = await client.patch(
            f"/api/v1/views/{view['key']}", headers=company.l1_agent.headers, json={"name": "Y"}
        )
        assert r.status_code == 403
        r = await client.delete(f"/api/v1/views/{view['key']}", headers=company.l1_agent.headers)
        assert r.status_code == 403
        assert await _saved_views(db) == 1
        r = await client.patch(
            f"/api/v1/views/{view['key']}", headers=company.admin.headers, json={"position": 3}
        )
        assert r.status_code == 200 and r.json()["position"] == 3


class TestInvalidViews:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"conditions": [{"field": "colour", "value": "red"}]}, "conditions.0.field"),
            (
                {
                    "conditions": [
                        {"field": "status", "value": "open"},
                        {"field": "status", "op": "like", "value": "o"},
                    ]
                },
                "conditions.1.field",
            ),
            ({"conditions": [{"field": "status", "op": "like", "value": "o"}]}, "conditions.0.op"),
            ({"conditions": [{"field": "status", "value": "opened"}]}, "conditions.0.value"),
            ({"conditions": [{"field": "status", "op": "in", "value": []}]}, "conditions.0.value"),
            ({"conditions": [{"field": "assignee_id", "value": "you"}]}, "conditions.0.value"),
            ({"conditions": [{"field": "group_id", "value": True}]}, "conditions.0.value"),
            ({"conditions": [{"field": "line", "value": 9}]}, "conditions.0.value"),
            ({"conditions": [{"field": "updated_within_days", "value": 0}]}, "conditions.0.value"),
            ({"conditions": [{"field": "tag", "value": "x", "extra": 1}]}, "conditions.0.extra"),
            ({"conditions": ["status"]}, "conditions.0"),
            ({"columns": ["number", "colour"]}, "columns.1"),
            ({"columns": []}, "columns"),
            ({"sort": "shoe_size"}, "sort"),
            ({"name": "   "}, "name"),
        ],
    )
    async def test_bad_input_is_422_naming_the_field_and_saves_nothing(
        self,
        client: httpx.AsyncClient,
        company: Company,
        db: Database,
        body: dict[str, Any],
        field: str,
    ) -> None:
        r = await client.post(
            "/api/v1/views", headers=company.l1_agent.headers, json={"name": "Bad", **body}
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_view"
        assert r.json()["error"]["field"] == field
        assert await _saved_views(db) == 0

    async def test_a_bad_update_changes_nothing(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        headers = company.l1_agent.headers
        view = await _create(client, headers, name="Keep")
        r = await client.patch(
            f"/api/v1/views/{view['key']}",
            headers=headers,
            json={"name": "Changed", "conditions": [{"field": "nope"}]},
        )
        assert r.status_code == 422
        assert r.json()["error"]["field"] == "conditions.0.field"
        r = await client.get(f"/api/v1/views/{view['key']}", headers=headers)
        assert r.json()["name"] == "Keep"
