"""Users, groups and API tokens through the REST API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Company, Persona

API = "/api/v1"


def error(r: httpx.Response) -> dict[str, Any]:
    return r.json()["error"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class TestAuthentication:
    @pytest.mark.parametrize(
        "headers",
        [{}, {"Authorization": "Basic YWxpY2U6eA=="}, bearer(""), bearer("opr_not-a-real-token"),
         bearer("sk_something_else")],
    )  # fmt: skip
    async def test_without_a_valid_token_it_is_a_401(
        self, client: httpx.AsyncClient, company: Company, headers: dict[str, str]
    ) -> None:
        r = await client.get(f"{API}/users/me", headers=headers)
        assert (r.status_code, error(r)["code"]) == (401, "unauthorized")
        assert r.headers["www-authenticate"] == "Bearer"

    async def test_me_is_the_tokens_user_with_their_groups(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.get(f"{API}/users/me", headers=company.l1_agent.headers)
        assert r.status_code == 200
        me = r.json()
        assert (me["id"], me["email"], me["role"]) == (
            company.l1_agent.id,
            "lena@opora.dev",
            "agent",
        )
        assert me["group_ids"] == [company.l1_group_id]
        assert "password_hash" not in me

    async def test_a_customer_is_not_a_user(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.get(f"{API}/users/me", headers=company.customer.headers)
        assert r.status_code == 403


class TestCreateUser:
    async def post(
        self, client: httpx.AsyncClient, persona: Persona, **body: Any
    ) -> httpx.Response:
        return await client.post(f"{API}/users", headers=persona.headers, json=body)

    async def test_an_admin_creates_an_agent_in_groups(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await self.post(
            client, company.admin, email="Olga@Opora.dev", name="Olga", password="long-enough",
            group_ids=[company.l2_group_id, company.l1_group_id], languages=["ru", "en"],
        )  # fmt: skip
        assert r.status_code == 201, r.text
        olga = r.json()
        assert (olga["email"], olga["role"], olga["is_active"]) == ("olga@opora.dev", "agent", True)
        assert olga["group_ids"] == sorted([company.l1_group_id, company.l2_group_id])
        r = await client.get(f"{API}/groups/{company.l2_group_id}", headers=company.admin.headers)
        assert olga["id"] in r.json()["member_ids"]

    async def test_an_agent_may_not_create_users(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await self.post(client, company.l1_agent, email="x@opora.dev", name="X")
        assert (r.status_code, error(r)["code"]) == (403, "forbidden")
        r = await client.get(f"{API}/users", headers=company.admin.headers)
        assert "x@opora.dev" not in r.text

    @pytest.mark.parametrize(
        ("body", "status", "field"),
        [
            ({"email": "LENA@opora.dev", "name": "Lena 2"}, 409, "email"),
            ({"email": "n@opora.dev", "name": "N", "group_ids": [999]}, 422, "group_ids"),
            ({"email": "n@opora.dev", "name": "N", "password": "short"}, 422, "body.password"),
            ({"email": "n@opora.dev", "name": "N", "role": "god"}, 422, "body.role"),
            ({"email": "n@opora.dev", "name": ""}, 422, "body.name"),
        ],
    )
    async def test_bad_input_is_refused_naming_the_field(
        self,
        client: httpx.AsyncClient,
        company: Company,
        body: dict[str, Any],
        status: int,
        field: str,
    ) -> None:
        r = await self.post(client, company.admin, **body)
        assert (r.status_code, error(r)["field"]) == (status, field), r.text
        r = await client.get(f"{API}/users", headers=company.admin.headers)
        assert len(r.json()) == 3


class TestUpdateUser:
    async def test_an_agent_changes_their_own_name_and_availability(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.patch(
            f"{API}/users/{company.l1_agent.id}", headers=company.l1_agent.headers,
            json={"name": "Елена", "availability": "online"},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        assert (r.json()["name"], r.json()["availability"]) == ("Елена", "online")

    @pytest.mark.parametrize(
        ("target", "body"),
        [("self", {"role": "admin"}), ("self", {"group_ids": []}), ("other", {"name": "Hacked"})],
    )
    async def test_an_agent_may_not_change_roles_groups_or_colleagues(
        self, client: httpx.AsyncClient, company: Company, target: str, body: dict[str, Any]
    ) -> None:
        user = company.l1_agent.id if target == "self" else company.l2_agent.id
        r = await client.patch(f"{API}/users/{user}", headers=company.l1_agent.headers, json=body)
        assert r.status_code == 403
        r = await client.get(f"{API}/users/{user}", headers=company.admin.headers)
        assert r.json()["role"] == "agent"
        assert r.json()["name"] != "Hacked"
        assert r.json()["group_ids"] != []

    async def test_an_admin_moves_an_agent_between_groups(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.patch(
            f"{API}/users/{company.l1_agent.id}", headers=company.admin.headers,
            json={"group_ids": [company.l2_group_id], "role": "supervisor"},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        assert (r.json()["group_ids"], r.json()["role"]) == ([company.l2_group_id], "supervisor")

    async def test_an_unknown_user_is_a_404(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.get(f"{API}/users/99999", headers=company.admin.headers)
        assert (r.status_code, error(r)["code"]) == (404, "user_not_found")


class TestDeactivateUser:
    async def test_a_deactivated_users_tokens_stop_working(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.delete(f"{API}/users/{company.l2_agent.id}", headers=company.admin.headers)
        assert r.status_code == 204
        r = await client.get(f"{API}/users/me", headers=company.l2_agent.headers)
        assert r.status_code == 401
        r = await client.get(f"{API}/users/{company.l2_agent.id}", headers=company.admin.headers)
        assert r.json()["is_active"] is False

    async def test_an_admin_cannot_deactivate_themselves_and_an_agent_nobody(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.delete(f"{API}/users/{company.admin.id}", headers=company.admin.headers)
        assert r.status_code == 409
        r = await client.delete(
            f"{API}/users/{company.l2_agent.id}", headers=company.l1_agent.headers
        )
        assert r.status_code == 403
        r = await client.get(f"{API}/users/me", headers=company.l2_agent.headers)
        assert r.status_code == 200


class TestTokens:
    async def test_a_new_token_works_until_it_is_revoked(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.post(
            f"{API}/users/me/tokens", headers=company.l1_agent.headers, json={"name": "CI"}
        )
        assert r.status_code == 201, r.text
        token = r.json()
        assert token["token"].startswith("opr_")
        assert token["token"].startswith(token["prefix"])
        r = await client.get(f"{API}/users/me", headers=bearer(token["token"]))
        assert r.json()["id"] == company.l1_agent.id
        r = await client.delete(f"{API}/tokens/{token['id']}", headers=company.l2_agent.headers)
        assert r.status_code == 404  # someone else's token does not exist for you
        r = await client.delete(f"{API}/tokens/{token['id']}", headers=company.l1_agent.headers)
        assert r.status_code == 204
        r = await client.get(f"{API}/users/me", headers=bearer(token["token"]))
        assert r.status_code == 401
        r = await client.get(f"{API}/users/me", headers=company.l1_agent.headers)
        assert r.status_code == 200  # the other tokens still work


class TestGroups:
    async def test_groups_are_listed_by_line_with_their_members(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.get(f"{API}/groups", headers=company.l1_agent.headers)
        assert r.status_code == 200
        assert [(g["name"], g["line"], g["member_ids"]) for g in r.json()] == [
            ("L1 Support", 1, [company.l1_agent.id]),
            ("L2 Specialists", 2, [company.l2_agent.id]),
            ("L3 Engineering", 3, []),
        ]

    async def test_an_admin_creates_a_vendor_group_and_changes_it(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.post(
            f"{API}/groups", headers=company.admin.headers,
            json={"name": "PayCo", "line": "vendor", "member_ids": [company.l2_agent.id]},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        group = r.json()
        assert (group["line"], group["member_ids"]) == (4, [company.l2_agent.id])
        r = await client.patch(
            f"{API}/groups/{group['id']}", headers=company.admin.headers,
            json={"description": "external payments vendor", "member_ids": []},
        )  # fmt: skip
        assert r.status_code == 200
        assert (r.json()["description"], r.json()["member_ids"]) == (
            "external payments vendor", [],
        )  # fmt: skip

    @pytest.mark.parametrize(
        ("body", "status", "field"),
        [
            ({"name": "L1 Support"}, 409, "name"),
            ({"name": "L5", "line": 5}, 422, "body.line"),
            ({"name": "L0", "line": 0}, 422, "body.line"),
            ({"name": "Ghosts", "member_ids": [99999]}, 422, "member_ids"),
        ],
    )
    async def test_bad_groups_are_refused(
        self,
        client: httpx.AsyncClient,
        company: Company,
        body: dict[str, Any],
        status: int,
        field: str,
    ) -> None:
        r = await client.post(f"{API}/groups", headers=company.admin.headers, json=body)
        assert (r.status_code, error(r)["field"]) == (status, field), r.text
        r = await client.get(f"{API}/groups", headers=company.admin.headers)
        assert len(r.json()) == 3

    async def test_only_an_admin_manages_groups(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.post(f"{API}/groups", headers=company.l1_agent.headers, json={"name": "X"})
        assert r.status_code == 403
        r = await client.patch(
            f"{API}/groups/{company.l1_group_id}", headers=company.l1_agent.headers,
            json={"line": 3},
        )  # fmt: skip
        assert r.status_code == 403
        r = await client.delete(
            f"{API}/groups/{company.l1_group_id}", headers=company.l1_agent.headers
        )
        assert r.status_code == 403
        r = await client.get(f"{API}/groups", headers=company.customer.headers)
        assert r.status_code == 403

    async def test_a_group_in_use_is_deactivated_not_deleted(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        ticket = {"subject": "x", "body": "y", "requester_id": company.customer.id}
        r = await client.post(
            f"{API}/tickets", headers=company.l1_agent.headers,
            json={**ticket, "group_id": company.l3_group_id},
        )  # fmt: skip
        assert r.status_code == 201
        path = f"{API}/groups/{company.l3_group_id}"
        r = await client.delete(path, headers=company.admin.headers)
        assert (r.status_code, error(r)["code"]) == (409, "conflict")
        r = await client.patch(path, headers=company.admin.headers, json={"is_active": False})
        assert (r.status_code, r.json()["is_active"]) == (200, False)
        r = await client.post(
            f"{API}/tickets", headers=company.l1_agent.headers,
            json={**ticket, "group_id": company.l3_group_id},
        )  # fmt: skip
        assert (r.status_code, error(r)["field"]) == (422, "group_id")

    async def test_an_unused_group_is_deleted(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        path = f"{API}/groups/{company.l2_group_id}"
        assert (await client.delete(path, headers=company.admin.headers)).status_code == 204
        r = await client.get(path, headers=company.admin.headers)
        assert (r.status_code, error(r)["code"]) == (404, "group_not_found")
        r = await client.get(f"{API}/users/{company.l2_agent.id}", headers=company.admin.headers)
        assert r.json()["group_ids"] == []
