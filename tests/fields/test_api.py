"""Custom field definitions through the REST API, and their use on tickets."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Company, Persona

API = "/api/v1"


def error(r: httpx.Response) -> dict[str, Any]:
    return r.json()["error"]


async def define(client: httpx.AsyncClient, persona: Persona, **body: Any) -> httpx.Response:
    return await client.post(f"{API}/custom-fields", headers=persona.headers, json=body)


class TestCreateField:
    async def test_an_admin_defines_typed_fields_that_tickets_then_validate(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        for body in (
            {"key": "platform", "label": "Platform", "label_ru": "Платформа", "type": "select",
             "options": ["ios", "android", "web"], "required": True},
            {"key": "topics", "label": "Topics", "type": "multiselect", "options": ["a", "b"]},
            {"key": "amount", "label": "Amount", "type": "number"},
            {"key": "since", "label": "Since", "type": "date"},
            {"key": "agreed", "label": "Agreed", "type": "checkbox"},
        ):  # fmt: skip
            r = await define(client, company.admin, **body)
            assert r.status_code == 201, r.text
        r = await client.get(f"{API}/custom-fields", headers=company.l1_agent.headers)
        assert [(f["key"], f["type"]) for f in r.json()] == [
            ("platform", "select"), ("topics", "multiselect"), ("amount", "number"),
            ("since", "date"), ("agreed", "checkbox"),
        ]  # fmt: skip
        ticket = {"subject": "x", "body": "y", "requester_id": company.customer.id}
        r = await client.post(
            f"{API}/tickets", headers=company.l1_agent.headers,
            json={**ticket, "custom_fields": {"platform": "ios", "topics": ["b", "a"],
                                              "amount": 9.5, "since": "2025-01-31",
                                              "agreed": True}},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        r = await client.get(f"{API}/tickets/{r.json()['id']}", headers=company.l1_agent.headers)
        assert r.json()["custom_fields"] == {
            "platform": "ios", "topics": ["a", "b"], "amount": 9.5, "since": "2025-01-31",
            "agreed": True,
        }  # fmt: skip
        r = await client.post(
            f"{API}/tickets", headers=company.l1_agent.headers,
            json={**ticket, "custom_fields": {"platform": "symbian"}},
        )  # fmt: skip
        assert (r.status_code, error(r)["field"]) == (422, "custom_fields.platform")

    @pytest.mark.parametrize(
        ("body", "status", "field"),
        [
            ({"type": "select", "options": []}, 422, "options"),
            ({"type": "multiselect"}, 422, "options"),
            ({"type": "select", "options": ["a", "a"]}, 422, "options"),
            ({"type": "colour"}, 422, "body.type"),
            ({"type": "text", "key": "Bad Key"}, 422, "body.key"),
            ({"type": "text", "entity": "planet"}, 422, "body.entity"),
        ],
    )
    async def test_a_bad_definition_is_refused_naming_the_field(
        self,
        client: httpx.AsyncClient,
        company: Company,
        body: dict[str, Any],
        status: int,
        field: str,
    ) -> None:
        r = await define(client, company.admin, **{"key": "f", "label": "F", **body})
        assert (r.status_code, error(r)["field"]) == (status, field), r.text
        r = await client.get(f"{API}/custom-fields", headers=company.admin.headers)
        assert r.json() == []

    async def test_a_key_is_unique_per_entity(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        body = {"key": "plan", "label": "Plan", "type": "text"}
        assert (await define(client, company.admin, **body)).status_code == 201
        r = await define(client, company.admin, **body)
        assert (r.status_code, error(r)["field"]) == (409, "key")
        r = await define(client, company.admin, **body, entity="contact")
        assert r.status_code == 201

    async def test_only_an_admin_defines_fields(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await define(client, company.l1_agent, key="x", label="X", type="text")
        assert r.status_code == 403


class TestUpdateAndRemoveField:
    async def test_options_of_a_select_cannot_be_emptied(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await define(client, company.admin, key="p", label="P", type="select", options=["a"])
        path = f"{API}/custom-fields/{r.json()['id']}"
        r = await client.patch(path, headers=company.admin.headers, json={"options": []})
        assert (r.status_code, error(r)["field"]) == (422, "options")
        r = await client.patch(path, headers=company.admin.headers, json={"options": ["a", "b"]})
        assert (r.status_code, r.json()["options"]) == (200, ["a", "b"])

    async def test_a_removed_field_is_deactivated_and_tickets_keep_their_values(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await define(client, company.admin, key="order", label="Order", type="text",
                         required=True)  # fmt: skip
        field = r.json()["id"]
        ticket = {"subject": "x", "body": "y", "requester_id": company.customer.id}
        r = await client.post(
            f"{API}/tickets", headers=company.l1_agent.headers,
            json={**ticket, "custom_fields": {"order": "A-1"}},
        )  # fmt: skip
        old = r.json()["id"]
        r = await client.delete(f"{API}/custom-fields/{field}", headers=company.admin.headers)
        assert r.status_code == 204
        r = await client.get(f"{API}/tickets/{old}", headers=company.l1_agent.headers)
        assert r.json()["custom_fields"] == {"order": "A-1"}
        r = await client.post(f"{API}/tickets", headers=company.l1_agent.headers, json=ticket)
        assert r.status_code == 201  # no longer required
        r = await client.get(f"{API}/custom-fields", headers=company.admin.headers)
        assert [(f["key"], f["is_active"], f["required"]) for f in r.json()] == [
            ("order", False, False)
        ]

    async def test_customers_see_only_the_active_fields_meant_for_them(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await define(client, company.admin, key="seen", label="Seen", type="text")
        await define(client, company.admin, key="hidden", label="Hidden", type="text",
                     visible_to_customer=False)  # fmt: skip
        r = await define(client, company.admin, key="gone", label="Gone", type="text")
        await client.delete(f"{API}/custom-fields/{r.json()['id']}", headers=company.admin.headers)
        r = await client.get(f"{API}/custom-fields", headers=company.customer.headers)
        assert [f["key"] for f in r.json()] == ["seen"]
