"""Contacts and organizations through the REST API (agents only)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from opora.contacts.models import Contact, ContactIdentity, Organization
from opora.db import Database
from opora.kit.pagination import encode_cursor
from tests.conftest import Company, Persona

API = "/api/v1"


async def counts(db: Database) -> tuple[int, int, int]:
    async with db.unit_of_work(write=False) as s:
        found = [
            int((await s.execute(select(func.count()).select_from(m))).scalar_one())
            for m in (Contact, ContactIdentity, Organization)
        ]
    return found[0], found[1], found[2]


async def post_contact(client: httpx.AsyncClient, persona: Persona, **body: Any) -> httpx.Response:
    return await client.post(f"{API}/contacts", headers=persona.headers, json=body)


def error(r: httpx.Response) -> dict[str, Any]:
    return r.json()["error"]


class TestCreateContact:
    async def test_a_contact_gets_its_identities_normalized_and_its_domains_organization(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await post_contact(
            client, company.l1_agent, name="Пётр", email="Petr@ACME.ru", language="ru",
            technical_level="novice",
            identities=[{"kind": "phone", "value": "+7 (912) 345-67-89"},
                        {"kind": "telegram", "value": "petr_tg"}],
        )  # fmt: skip
        assert r.status_code == 201, r.text
        c = r.json()
        assert (c["email"], c["organization_id"], c["language"]) == (
            "petr@acme.ru", company.acme_id, "ru",
        )  # fmt: skip
        assert c["technical_level"] == "novice"
        assert [(i["kind"], i["value"], i["is_primary"]) for i in c["identities"]] == [
            ("email", "petr@acme.ru", True),
            ("phone", "+79123456789", True),
            ("telegram", "petr_tg", True),
        ]

    @pytest.mark.parametrize(
        "identity",
        [
            {"email": "CAROL@acme.ru"},
            {"identities": [{"kind": "email", "value": " carol@acme.ru "}]},
        ],
    )
    async def test_an_identity_that_belongs_to_someone_else_is_a_409_and_nothing_is_made(
        self, client: httpx.AsyncClient, company: Company, db: Database, identity: dict[str, Any]
    ) -> None:
        before = await counts(db)
        r = await post_contact(client, company.l1_agent, name="Carol again", **identity)
        assert r.status_code == 409
        assert error(r)["field"] == "identities"
        assert error(r)["contact_id"] == company.customer.id
        assert await counts(db) == before

    @pytest.mark.parametrize(
        ("body", "status", "field"),
        [
            ({"email": "not-an-email"}, 422, "body.email"),
            ({"identities": [{"kind": "phone", "value": "12"}]}, 422, "identities"),
            ({"identities": [{"kind": "fax", "value": "1"}]}, 422, "body.identities.0.kind"),
            ({"organization_id": 999_999}, 422, "organization_id"),
            ({"technical_level": "guru"}, 422, "body.technical_level"),
            ({"custom_fields": {"nope": 1}}, 422, "custom_fields.nope"),
        ],
    )
    async def test_bad_input_is_refused_naming_the_field(
        self,
        client: httpx.AsyncClient,
        company: Company,
        db: Database,
        body: dict[str, Any],
        status: int,
        field: str,
    ) -> None:
        before = await counts(db)
        r = await post_contact(client, company.l1_agent, name="X", **body)
        assert (r.status_code, error(r)["field"]) == (status, field), r.text
        assert await counts(db) == before

    async def test_customers_may_not_use_the_contacts_api(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await post_contact(client, company.customer, name="X")
        assert r.status_code == 403
        r = await client.get(f"{API}/contacts", headers=company.customer.headers)
        assert r.status_code == 403


class TestListContacts:
    async def ids(self, client: httpx.AsyncClient, company: Company, **params: Any) -> list[int]:
        r = await client.get(f"{API}/contacts", headers=company.l1_agent.headers, params=params)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    async def test_finds_by_name_identity_and_organization(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        carol, dave, erin = (
            company.customer.id, company.same_org_customer.id, company.other_org_customer.id
        )  # fmt: skip
        assert await self.ids(client, company) == [carol, dave, erin]
        assert await self.ids(client, company, q="colleague") == [dave]
        assert await self.ids(client, company, q="GLOBEX.com") == [erin]
        assert await self.ids(client, company, organization_id=company.acme_id) == [carol, dave]

    async def test_pages_walk_every_contact_once(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        everyone = await self.ids(client, company)
        walked: list[int] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            r = await client.get(f"{API}/contacts", headers=company.l1_agent.headers, params=params)
            walked += [c["id"] for c in r.json()["items"]]
            cursor = r.json()["next_cursor"]
            if cursor is None:
                break
        assert walked == everyone

    @pytest.mark.parametrize(
        "cursor", ["garbage!", encode_cursor(["x"]), encode_cursor([1, 2]), encode_cursor([])]
    )
    async def test_a_bad_cursor_is_a_422(
        self, client: httpx.AsyncClient, company: Company, cursor: str
    ) -> None:
        for path in ("contacts", "organizations"):
            r = await client.get(
                f"{API}/{path}", headers=company.l1_agent.headers, params={"cursor": cursor}
            )
            assert (r.status_code, error(r)["field"]) == (422, "cursor"), path


class TestGetContact:
    async def test_an_unknown_contact_is_a_404(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.get(f"{API}/contacts/999999", headers=company.l1_agent.headers)
        assert (r.status_code, error(r)["code"]) == (404, "contact_not_found")


class TestUpdateContact:
    async def test_changes_fields_and_adds_and_removes_identities(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        cid = company.customer.id
        r = await client.patch(
            f"{API}/contacts/{cid}", headers=company.l1_agent.headers,
            json={"name": "Carol C.", "technical_level": "expert", "timezone": "Europe/Moscow",
                  "add_identities": [{"kind": "email", "value": "carol@home.org"},
                                     {"kind": "vk", "value": "id777"}]},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        c = r.json()
        assert (c["name"], c["technical_level"], c["timezone"]) == (
            "Carol C.", "expert", "Europe/Moscow",
        )  # fmt: skip
        idents = {(i["kind"], i["value"]): i for i in c["identities"]}
        assert idents[("email", "carol@acme.ru")]["is_primary"] is True
        assert idents[("email", "carol@home.org")]["is_primary"] is False
        assert idents[("vk", "id777")]["is_primary"] is True
        home = idents[("email", "carol@home.org")]["id"]
        r = await client.patch(
            f"{API}/contacts/{cid}", headers=company.l1_agent.headers,
            json={"remove_identity_ids": [home]},
        )  # fmt: skip
        assert r.status_code == 200
        assert "carol@home.org" not in r.text

    async def test_taking_someone_elses_identity_is_a_409_and_changes_nothing(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.patch(
            f"{API}/contacts/{company.customer.id}", headers=company.l1_agent.headers,
            json={"name": "Renamed",
                  "add_identities": [{"kind": "email", "value": "erin@globex.com"}]},
        )  # fmt: skip
        assert r.status_code == 409
        r = await client.get(
            f"{API}/contacts/{company.customer.id}", headers=company.l1_agent.headers
        )
        assert r.json()["name"] == "Carol Customer"

    async def test_removing_another_contacts_identity_is_a_422(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.get(
            f"{API}/contacts/{company.other_org_customer.id}", headers=company.l1_agent.headers
        )
        erins = r.json()["identities"][0]["id"]
        r = await client.patch(
            f"{API}/contacts/{company.customer.id}", headers=company.l1_agent.headers,
            json={"remove_identity_ids": [erins]},
        )  # fmt: skip
        assert (r.status_code, error(r)["field"]) == (422, "remove_identity_ids")


class TestDeactivateContact:
    async def test_a_deleted_contact_is_kept_inactive_and_its_token_stops_working(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.get(f"{API}/me/tickets", headers=company.customer.headers)
        assert r.status_code == 200
        r = await client.delete(
            f"{API}/contacts/{company.customer.id}", headers=company.l1_agent.headers
        )
        assert r.status_code == 204
        r = await client.get(
            f"{API}/contacts/{company.customer.id}", headers=company.l1_agent.headers
        )
        assert (r.status_code, r.json()["is_active"]) == (200, False)
        r = await client.get(f"{API}/me/tickets", headers=company.customer.headers)
        assert r.status_code == 401


class TestOrganizations:
    async def test_create_read_update_and_list(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        headers = company.l1_agent.headers
        r = await client.post(
            f"{API}/organizations", headers=headers,
            json={"name": "Initech", "domains": [" Initech.COM ", "initech.com", ""], "vip": True},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        org = r.json()
        assert (org["domains"], org["vip"]) == (["initech.com"], True)
        r = await client.patch(
            f"{API}/organizations/{org['id']}", headers=headers,
            json={"notes": "pays late", "vip": False},
        )  # fmt: skip
        assert (r.json()["notes"], r.json()["vip"]) == ("pays late", False)
        r = await client.get(f"{API}/organizations/{org['id']}", headers=headers)
        assert r.json()["notes"] == "pays late"
        r = await client.get(f"{API}/organizations", headers=headers, params={"q": "init"})
        assert [o["name"] for o in r.json()["items"]] == ["Initech"]
        r = await post_contact(client, company.l1_agent, email="peter@initech.com")
        assert r.json()["organization_id"] == org["id"]

    async def test_a_duplicate_name_is_a_409(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        for path, body in (
            ("organizations", {"name": "Acme"}),
            (f"organizations/{company.globex_id}", {"name": "Acme"}),
        ):
            method = client.post if path == "organizations" else client.patch
            r = await method(f"{API}/{path}", headers=company.l1_agent.headers, json=body)
            assert (r.status_code, error(r)["field"]) == (409, "name"), path

    async def test_an_unknown_organization_is_a_404(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.get(f"{API}/organizations/999999", headers=company.l1_agent.headers)
        assert (r.status_code, error(r)["code"]) == (404, "organization_not_found")

    async def test_only_an_admin_deletes_and_the_contacts_stay(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        path = f"{API}/organizations/{company.globex_id}"
        assert (await client.delete(path, headers=company.l1_agent.headers)).status_code == 403
        assert (await client.delete(path, headers=company.admin.headers)).status_code == 204
        assert (await client.get(path, headers=company.admin.headers)).status_code == 404
        r = await client.get(
            f"{API}/contacts/{company.other_org_customer.id}", headers=company.admin.headers
        )
        assert (r.status_code, r.json()["organization_id"]) == (200, None)
