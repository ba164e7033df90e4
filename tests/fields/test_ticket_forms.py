"""Ticket forms: the service's rules and the REST API, on both backends."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from opora.auth.actor import system_actor
from opora.db import Database
from opora.errors import FieldRequired, InvalidInput
from opora.fields import service
from opora.fields.schemas import CustomFieldCreate, TicketFormCreate, TicketFormUpdate
from tests.conftest import Company

API = "/api/v1"
FORMS = f"{API}/ticket-forms"


def error(r: httpx.Response) -> dict[str, Any]:
    return r.json()["error"]


@pytest.fixture
async def fields(client: httpx.AsyncClient, company: Company) -> list[str]:
    """Three active ticket fields, one hidden from customers, and one deactivated."""
    specs: list[dict[str, Any]] = [
        {"key": "platform", "label": "Platform", "type": "select", "options": ["ios", "web"]},
        {"key": "version", "label": "Version", "type": "text"},
        {"key": "internal_ref", "label": "Ref", "type": "text", "visible_to_customer": False},
        {"key": "old", "label": "Old", "type": "text"},
    ]
    ids = {}
    for spec in specs:
        r = await client.post(f"{API}/custom-fields", headers=company.admin.headers, json=spec)
        assert r.status_code == 201, r.text
        ids[spec["key"]] = r.json()["id"]
    r = await client.delete(f"{API}/custom-fields/{ids['old']}", headers=company.admin.headers)
    assert r.status_code == 204
    return ["platform", "version", "internal_ref"]


async def create(client: httpx.AsyncClient, company: Company, **body: Any) -> httpx.Response:
    return await client.post(FORMS, headers=company.admin.headers, json=body)


async def listed(client: httpx.AsyncClient, company: Company) -> list[dict[str, Any]]:
    r = await client.get(FORMS, headers=company.admin.headers)
    assert r.status_code == 200
    return list(r.json())


class TestCreateTicketForm:
    async def test_an_admin_creates_forms_and_agents_list_them_in_order(
        self, client: httpx.AsyncClient, company: Company, fields: list[str]
    ) -> None:
        r = await create(
            client, company, name="Bug report", name_ru="Сообщение об ошибке",
            ticket_type="incident", field_keys=["version", "platform"],
            required_keys=["platform"], position=2,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["field_keys"] == ["version", "platform"]
        assert (body["required_keys"], body["ticket_type"]) == (["platform"], "incident")
        assert (body["is_active"], body["is_default"]) == (True, False)
        assert (await create(client, company, name="Question", position=1)).status_code == 201
        r = await client.get(FORMS, headers=company.l1_agent.headers)
        assert [f["name"] for f in r.json()] == ["Question", "Bug report"]
        r = await client.get(f"{FORMS}/{body['id']}", headers=company.l2_agent.headers)
        assert (r.status_code, r.json()["name_ru"]) == (200, "Сообщение об ошибке")

    @pytest.mark.parametrize(
        ("body", "status", "field"),
        [
            ({"field_keys": ["nope"]}, 422, "field_keys"),
            ({"field_keys": ["old"]}, 422, "field_keys"),  # deactivated
            ({"field_keys": ["version", "version"]}, 422, "field_keys"),
            ({"field_keys": ["version"], "required_keys": ["platform"]}, 422, "required_keys"),
            ({"required_keys": ["version"]}, 422, "required_keys"),
            ({"ticket_type": "holiday"}, 422, "body.ticket_type"),
            ({"name": "   "}, 422, "body.name"),
            ({"name": ""}, 422, "body.name"),
            ({"colour": "red"}, 422, "body.colour"),
            ({"name": "existing"}, 409, "name"),
            ({"name": "EXISTING"}, 409, "name"),
        ],
    )
    async def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
        self,
        client: httpx.AsyncClient,
        company: Company,
        fields: list[str],
        body: dict[str, Any],
        status: int,
        field: str,
    ) -> None:
        assert (await create(client, company, name="Existing")).status_code == 201
        before = await listed(client, company)
        r = await create(client, company, **{"name": "New form", **body})
        assert (r.status_code, error(r)["field"]) == (status, field), r.text
        assert await listed(client, company) == before

    async def test_only_an_admin_writes_forms(
        self, client: httpx.AsyncClient, company: Company, fields: list[str]
    ) -> None:
        r = await client.post(FORMS, headers=company.l1_agent.headers, json={"name": "X"})
        assert r.status_code == 403
        r = await client.post(FORMS, headers=company.customer.headers, json={"name": "X"})
        assert r.status_code == 403
        form = (await create(client, company, name="Mine")).json()
        r = await client.patch(
            f"{FORMS}/{form['id']}", headers=company.l2_agent.headers, json={"name": "Theirs"}
        )
        assert r.status_code == 403
        r = await client.delete(f"{FORMS}/{form['id']}", headers=company.l1_agent.headers)
        assert r.status_code == 403
        assert [(f["name"], f["is_active"]) for f in await listed(client, company)] == [
            ("Mine", True)
        ]


class TestDefaultForm:
    async def test_setting_a_default_unsets_the_previous_one(
        self, client: httpx.AsyncClient, company: Company, fields: list[str]
    ) -> None:
        first = (await create(client, company, name="First", is_default=True)).json()
        assert first["is_default"] is True
        second = (await create(client, company, name="Second", is_default=True)).json()
        assert [(f["name"], f["is_default"]) for f in await listed(client, company)] == [
            ("First", False),
            ("Second", True),
        ]
        r = await client.patch(
            f"{FORMS}/{first['id']}", headers=company.admin.headers, json={"is_default": True}
        )
        assert (r.status_code, r.json()["is_default"]) == (200, True)
        assert [f["is_default"] for f in await listed(client, company)] == [True, False]
        assert second["id"] != first["id"]

    async def test_a_deactivated_form_is_nobodys_default(
        self, client: httpx.AsyncClient, company: Company, fields: list[str]
    ) -> None:
        form = (await create(client, company, name="Only", is_default=True)).json()
        r = await client.delete(f"{FORMS}/{form['id']}", headers=company.admin.headers)
        assert r.status_code == 204
        assert [(f["is_active"], f["is_default"]) for f in await listed(client, company)] == [
            (False, False)
        ]
        r = await client.patch(
            f"{FORMS}/{form['id']}", headers=company.admin.headers, json={"is_default": True}
        )
        assert (r.status_code, error(r)["field"]) == (422, "is_default")


class TestUpdateTicketForm:
    async def test_taking_a_field_off_the_form_drops_its_required_mark(
        self, client: httpx.AsyncClient, company: Company, fields: list[str]
    ) -> None:
        form = (
            await create(
                client, company, name="F", field_keys=["platform", "version"],
                required_keys=["platform", "version"],
            )
        ).json()  # fmt: skip
        path = f"{FORMS}/{form['id']}"
        r = await client.patch(
            path, headers=company.admin.headers, json={"field_keys": ["version"]}
        )
        assert (r.status_code, r.json()["required_keys"]) == (200, ["version"])
        r = await client.patch(
            path, headers=company.admin.headers, json={"ticket_type": "task", "name": "G"}
        )
        assert (r.json()["ticket_type"], r.json()["name"]) == ("task", "G")
        r = await client.patch(path, headers=company.admin.headers, json={"ticket_type": None})
        assert r.json()["ticket_type"] is None

    @pytest.mark.parametrize(
        ("body", "status", "field"),
        [
            ({"required_keys": ["platform"]}, 422, "required_keys"),
            ({"field_keys": ["version", "nope"]}, 422, "field_keys"),
            ({"name": "Other"}, 409, "name"),
            ({"name": None}, 422, "name"),
            ({"is_active": None}, 422, "is_active"),
            ({"ticket_type": "x"}, 422, "body.ticket_type"),
        ],
    )
    async def test_a_bad_change_is_refused_and_changes_nothing(
        self,
        client: httpx.AsyncClient,
        company: Company,
        fields: list[str],
        body: dict[str, Any],
        status: int,
        field: str,
    ) -> None:
        await create(client, company, name="Other")
        form = (await create(client, company, name="F", field_keys=["version"])).json()
        before = await listed(client, company)
        r = await client.patch(f"{FORMS}/{form['id']}", headers=company.admin.headers, json=body)
        assert (r.status_code, error(r)["field"]) == (status, field), r.text
        assert await listed(client, company) == before

    async def test_an_unknown_form_is_404(
        self, client: httpx.AsyncClient, company: Company, fields: list[str]
    ) -> None:
        r = await client.patch(f"{FORMS}/999", headers=company.admin.headers, json={"name": "x"})
        assert r.status_code == 404
        r = await client.get(f"{FORMS}/999", headers=company.admin.headers)
        assert r.status_code == 404
        r = await client.delete(f"{FORMS}/999", headers=company.admin.headers)
        assert r.status_code == 404


class TestCustomersSeeTheirForms:
    async def test_a_customer_lists_only_active_public_forms_without_hidden_fields(
        self, client: httpx.AsyncClient, company: Company, fields: list[str]
    ) -> None:
        public = (
            await create(
                client, company, name="Public", field_keys=["internal_ref", "platform"],
                required_keys=["internal_ref"],
            )
        ).json()  # fmt: skip
        agents_only = await create(client, company, name="Agents", visible_to_customers=False)
        gone = (await create(client, company, name="Gone")).json()
        await client.delete(f"{FORMS}/{gone['id']}", headers=company.admin.headers)
        r = await client.get(FORMS, headers=company.customer.headers)
        assert r.status_code == 200
        assert [(f["name"], f["field_keys"], f["required_keys"]) for f in r.json()] == [
            ("Public", ["platform"], [])
        ]
        for hidden in (agents_only.json()["id"], gone["id"]):
            r = await client.get(f"{FORMS}/{hidden}", headers=company.customer.headers)
            assert r.status_code == 404
        r = await client.get(f"{FORMS}/{public['id']}", headers=company.customer.headers)
        assert r.json()["field_keys"] == ["platform"]
        r = await client.get(FORMS, headers=company.l1_agent.headers)
        assert len(r.json()) == 3
        r = await client.get(FORMS, headers=company.l1_agent.headers, params={"active_only": 1})
        assert [f["name"] for f in r.json()] == ["Public", "Agents"]

    async def test_anonymous_gets_401(self, client: httpx.AsyncClient) -> None:
        assert (await client.get(FORMS)).status_code == 401


class TestCheckFormValues:
    """The service check the new-ticket page runs before creating a ticket."""

    async def test_a_required_key_of_the_form_must_be_filled(
        self, db: Database, company: Company
    ) -> None:
        actor = system_actor("tests")
        async with db.unit_of_work() as s:
            for key, kind in (("platform", "select"), ("agreed", "checkbox")):
                await service.create_field(
                    s, actor=actor,
                    data=CustomFieldCreate(key=key, label=key.title(), type=kind,
                                           options=["ios"] if kind == "select" else []),
                )  # fmt: skip
            form = await service.create_ticket_form(
                s, actor=actor,
                data=TicketFormCreate(name="F", field_keys=["platform", "agreed"],
                                      required_keys=["platform", "agreed"]),
            )  # fmt: skip
            with pytest.raises(FieldRequired) as caught:
                await service.check_form_values(s, actor=actor, form_id=form.id, values={})
            assert (caught.value.field, caught.value.message) == (
                "custom_fields.platform",
                "Platform is required",
            )
            with pytest.raises(FieldRequired) as caught:
                await service.check_form_values(
                    s, actor=actor, form_id=form.id, values={"platform": "ios", "agreed": False}
                )
            assert caught.value.field == "custom_fields.agreed"
            checked = await service.check_form_values(
                s, actor=actor, form_id=form.id, values={"platform": "ios", "agreed": True}
            )
            assert checked.id == form.id
            await service.update_ticket_form(
                s, actor=actor, form_id=form.id, data=TicketFormUpdate(is_active=False)
            )
            with pytest.raises(InvalidInput) as invalid:
                await service.check_form_values(s, actor=actor, form_id=form.id, values={})
            assert invalid.value.field == "form_id"
