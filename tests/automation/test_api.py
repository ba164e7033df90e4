"""The automation API on both backends: triggers and time rules through their whole life,
bad definitions refused with the path at fault and nothing stored, unique names, and who
may call what (admins: rules; agents: macros; customers: nothing)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Company

API = "/api/v1/automation"

TRIGGER: dict[str, Any] = {
    "name": "VIP to L2",
    "events": ["ticket.created"],
    "conditions": {"all": [{"field": "organization.vip", "value": "true"}]},
    "actions": [{"action": "set_priority", "priority": "high"}],
}
TIME_RULE: dict[str, Any] = {
    "name": "Close solved after 4 days",
    "conditions": {"all": [
        {"field": "status", "value": "solved"},
        {"field": "hours_since_status_change", "op": "gte", "value": "96"},
    ]},
    "actions": [{"action": "set_status", "status": "closed"}],
}  # fmt: skip


def note(text: str) -> list[dict[str, Any]]:
    return [{"action": "add_note", "text": text}]


class TestTriggers:
    async def test_a_trigger_through_its_life(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        h = company.admin.headers
        r = await client.post(f"{API}/triggers", headers=h, json={**TRIGGER, "position": 5})
        assert r.status_code == 201, r.text
        created = r.json()
        # stored normalized: "true" is true, op defaults to is, any is explicit
        assert created["conditions"] == {
            "all": [{"field": "organization.vip", "op": "is", "value": True}], "any": []
        }  # fmt: skip
        assert created["actions"] == [{"action": "set_priority", "priority": "high"}]
        assert created["events"] == ["ticket.created"] and created["is_active"] is True
        second = await client.post(f"{API}/triggers", headers=h, json={
            **TRIGGER, "name": "Later", "position": 0,
        })  # fmt: skip
        listed = (await client.get(f"{API}/triggers", headers=h)).json()
        assert [t["name"] for t in listed] == ["Later", "VIP to L2"]  # by position
        tid = created["id"]
        r = await client.patch(f"{API}/triggers/{tid}", headers=h, json={
            "name": "VIP first", "is_active": False,
            "conditions": {"all": [{"field": "priority", "op": "in", "value": ["urgent", "high"]}]},
        })  # fmt: skip
        assert r.status_code == 200, r.text
        got = (await client.get(f"{API}/triggers/{tid}", headers=h)).json()
        assert got["name"] == "VIP first" and got["is_active"] is False
        assert got["conditions"]["all"][0]["value"] == ["high", "urgent"]
        assert got["actions"] == created["actions"]
        r = await client.delete(f"{API}/triggers/{tid}", headers=h)
        assert r.status_code == 204
        assert (await client.get(f"{API}/triggers/{tid}", headers=h)).status_code == 404
        assert [t["id"] for t in (await client.get(f"{API}/triggers", headers=h)).json()] == [
            second.json()["id"]
        ]

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"events": ["ticket.closed"]}, "events.0"),
            ({"events": []}, "events"),
            ({"conditions": {"all": [{"field": "colour", "value": "red"}]}},
             "conditions.all.0.field"),
            ({"conditions": {"all": [{"field": "priority", "value": "extreme"}]}},
             "conditions.all.0.value"),
            ({"conditions": {"any": [{"field": "status", "op": "bigger", "value": "open"}]}},
             "conditions.any.0.op"),
            ({"conditions": {"all": [{"field": "event", "value": "ticket.escalated"}]},
              "events": []}, "conditions.all.0.value"),
            ({"actions": []}, "actions"),
            ({"actions": [{"action": "reply", "text": "Hi"}]}, "actions.0.action"),
            ({"actions": [{"action": "set_status", "status": "done"}]}, "actions.0.status"),
            ({"actions": note("ok") + note("{{ticket.secret}}")}, "actions.1.text"),
            ({"actions": [{"action": "notify_email", "to": "the boss", "subject": "s",
                           "body": "b"}]}, "actions.0.to"),
            ({"actions": [{"action": "webhook", "url": "https://x.test/{{ticket.number}}"}]},
             "actions.0.url"),
            ({"actions": [{"action": "set_group", "group_id": 999999}]}, "actions.0.group_id"),
            ({"actions": [{"action": "assign", "user_id": 999999}]}, "actions.0.user_id"),
            ({"actions": [{"action": "set_custom_field", "key": "nope", "value": 1}]},
             "actions.0.key"),
        ],
    )  # fmt: skip
    async def test_a_bad_trigger_names_the_path_and_stores_nothing(
        self, client: httpx.AsyncClient, company: Company, changes: dict[str, Any], field: str
    ) -> None:
        h = company.admin.headers
        r = await client.post(f"{API}/triggers", headers=h, json={**TRIGGER, **changes})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == field
        assert (await client.get(f"{API}/triggers", headers=h)).json() == []

    async def test_a_bad_change_keeps_the_trigger_as_it_was(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        h = company.admin.headers
        created = (await client.post(f"{API}/triggers", headers=h, json=TRIGGER)).json()
        r = await client.patch(f"{API}/triggers/{created['id']}", headers=h, json={
            "name": "Renamed", "actions": [{"action": "set_priority", "priority": "max"}],
        })  # fmt: skip
        assert r.status_code == 422 and r.json()["error"]["field"] == "actions.0.priority"
        got = (await client.get(f"{API}/triggers/{created['id']}", headers=h)).json()
        assert (got["name"], got["actions"]) == (created["name"], created["actions"])

    async def test_names_are_unique(self, client: httpx.AsyncClient, company: Company) -> None:
        h = company.admin.headers
        first = (await client.post(f"{API}/triggers", headers=h, json=TRIGGER)).json()
        r = await client.post(f"{API}/triggers", headers=h, json=TRIGGER)
        assert r.status_code == 409 and r.json()["error"]["field"] == "name"
        other = (await client.post(f"{API}/triggers", headers=h,
                                   json={**TRIGGER, "name": "Other"})).json()  # fmt: skip
        r = await client.patch(f"{API}/triggers/{other['id']}", headers=h,
                               json={"name": first["name"]})  # fmt: skip
        assert r.status_code == 409 and r.json()["error"]["field"] == "name"

    async def test_an_event_condition_is_enough(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        body = {**TRIGGER, "events": [], "conditions": {"all": [
            {"field": "event", "op": "in", "value": ["message.created", "sla.breached"]},
        ]}}  # fmt: skip
        r = await client.post(f"{API}/triggers", headers=company.admin.headers, json=body)
        assert r.status_code == 201, r.text


class TestTimeRules:
    async def test_a_time_rule_through_its_life(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        h = company.admin.headers
        cal = (await client.post("/api/v1/sla/calendars", headers=h, json={
            "name": "Office", "timezone": "Europe/Moscow",
            "hours": {"mon": [["09:00", "18:00"]]},
        })).json()  # fmt: skip
        r = await client.post(f"{API}/time-rules", headers=h,
                              json={**TIME_RULE, "calendar_id": cal["id"]})  # fmt: skip
        assert r.status_code == 201, r.text
        rule = r.json()
        assert rule["conditions"]["all"][1] == {
            "field": "hours_since_status_change", "op": "gte", "value": 96
        }  # fmt: skip
        assert rule["calendar_id"] == cal["id"] and rule["position"] == 0
        r = await client.patch(f"{API}/time-rules/{rule['id']}", headers=h,
                               json={"calendar_id": None, "position": 7})  # fmt: skip
        assert r.status_code == 200, r.text
        assert (r.json()["calendar_id"], r.json()["position"]) == (None, 7)
        listed = (await client.get(f"{API}/time-rules", headers=h)).json()
        assert [x["id"] for x in listed] == [rule["id"]]
        assert (await client.delete(f"{API}/time-rules/{rule['id']}", headers=h)).status_code == 204
        assert (await client.get(f"{API}/time-rules/{rule['id']}", headers=h)).status_code == 404

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"conditions": {"all": [{"field": "status", "value": "solved"}]}},
             "conditions.all"),
            ({"conditions": {"all": [*TIME_RULE["conditions"]["all"],
                                     {"field": "event", "value": "ticket.updated"}]}},
             "conditions.all.2.field"),
            ({"conditions": {"all": [*TIME_RULE["conditions"]["all"],
                                     {"field": "message.text", "op": "contains", "value": "x"}]}},
             "conditions.all.2.field"),
            ({"conditions": {"all": [*TIME_RULE["conditions"]["all"],
                                     {"field": "priority", "op": "changed", "value": True}]}},
             "conditions.all.2.op"),
            ({"conditions": {"all": [{"field": "hours_since_created", "op": "gte",
                                      "value": -1}]}}, "conditions.all.0.value"),
            ({"actions": [{"action": "reply", "text": "Closing"}]}, "actions.0.action"),
            ({"calendar_id": 999999}, "calendar_id"),
        ],
    )  # fmt: skip
    async def test_a_bad_time_rule_names_the_path_and_stores_nothing(
        self, client: httpx.AsyncClient, company: Company, changes: dict[str, Any], field: str
    ) -> None:
        h = company.admin.headers
        r = await client.post(f"{API}/time-rules", headers=h, json={**TIME_RULE, **changes})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == field
        assert (await client.get(f"{API}/time-rules", headers=h)).json() == []

    async def test_names_are_unique(self, client: httpx.AsyncClient, company: Company) -> None:
        h = company.admin.headers
        first = await client.post(f"{API}/time-rules", headers=h, json=TIME_RULE)
        assert first.status_code == 201
        r = await client.post(f"{API}/time-rules", headers=h, json=TIME_RULE)
        assert r.status_code == 409 and r.json()["error"]["field"] == "name"


class TestMacroDefinitions:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"body": "Привет, {{contact.nickname}}"}, "body"),
            ({"body": "  "}, "body"),
            ({"body": "x", "actions": [{"action": "notify_email", "to": "requester"}]},
             "actions.0.subject"),
            ({"body": "x", "visibility": "secret"}, "body.visibility"),
        ],
    )  # fmt: skip
    async def test_a_bad_macro_names_the_path_and_stores_nothing(
        self, client: httpx.AsyncClient, company: Company, body: dict[str, Any], field: str
    ) -> None:
        h = company.l1_agent.headers
        r = await client.post(f"{API}/macros", headers=h, json={"name": "Bad", **body})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == field
        assert (await client.get(f"{API}/macros", headers=h)).json() == []


def endpoints(ids: dict[str, int]) -> list[tuple[str, str, dict[str, Any] | None]]:
    t, r, m = ids["trigger"], ids["rule"], ids["macro"]
    return [
        ("GET", f"{API}/triggers", None),
        ("POST", f"{API}/triggers", TRIGGER | {"name": "Other"}),
        ("GET", f"{API}/triggers/{t}", None),
        ("PATCH", f"{API}/triggers/{t}", {"name": "Mine"}),
        ("DELETE", f"{API}/triggers/{t}", None),
        ("GET", f"{API}/time-rules", None),
        ("POST", f"{API}/time-rules", TIME_RULE | {"name": "Other"}),
        ("POST", f"{API}/time-rules/run", None),
        ("GET", f"{API}/time-rules/{r}", None),
        ("PATCH", f"{API}/time-rules/{r}", {"name": "Mine"}),
        ("DELETE", f"{API}/time-rules/{r}", None),
        ("GET", f"{API}/macros", None),
        ("POST", f"{API}/macros", {"name": "Mine", "body": "x"}),
        ("GET", f"{API}/macros/{m}", None),
        ("PATCH", f"{API}/macros/{m}", {"name": "Mine"}),
        ("DELETE", f"{API}/macros/{m}", None),
        ("GET", f"{API}/macros/{m}/preview?ticket_id={ids['ticket']}", None),
        ("POST", f"{API}/macros/{m}/apply", {"ticket_id": ids["ticket"]}),
    ]


class TestWhoMayCall:
    async def _setup(self, client: httpx.AsyncClient, company: Company) -> dict[str, int]:
        h = company.admin.headers
        ticket = await client.post("/api/v1/tickets", headers=company.l1_agent.headers, json={
            "subject": "Вход", "body": "Не могу войти", "requester_id": company.customer.id,
        })  # fmt: skip
        assert ticket.status_code == 201, ticket.text
        trigger = await client.post(f"{API}/triggers", headers=h, json=TRIGGER)
        rule = await client.post(f"{API}/time-rules", headers=h, json=TIME_RULE)
        shared = {"name": "Shared", "body": "Hi", "shared": True}
        macro = await client.post(f"{API}/macros", headers=h, json=shared)
        return {
            "trigger": trigger.json()["id"],
            "rule": rule.json()["id"],
            "macro": macro.json()["id"],
            "ticket": ticket.json()["id"],
        }

    async def test_customers_get_403_everywhere(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        ids = await self._setup(client, company)
        for persona in (company.customer, company.same_org_customer, company.other_org_customer):
            for method, url, body in endpoints(ids):
                r = await client.request(method, url, headers=persona.headers, json=body)
                assert r.status_code == 403, (persona.name, method, url, r.text)
        h = company.admin.headers  # and nothing changed
        assert len((await client.get(f"{API}/triggers", headers=h)).json()) == 1
        assert len((await client.get(f"{API}/macros", headers=h)).json()) == 1

    async def test_agents_may_not_touch_rules(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        ids = await self._setup(client, company)
        for method, url, body in endpoints(ids):
            if "/macros" in url:
                continue
            r = await client.request(method, url, headers=company.l1_agent.headers, json=body)
            assert r.status_code == 403, (method, url, r.text)

    async def test_without_a_token_401(self, client: httpx.AsyncClient, company: Company) -> None:
        for path in ("triggers", "time-rules", "macros"):
            assert (await client.get(f"{API}/{path}")).status_code == 401
