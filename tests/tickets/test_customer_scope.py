"""The customer's own flows through ``/api/v1/me``, end to end, on both backends.

A customer opens tickets that are theirs, fills in the fields meant for them and no
others, replies (reopening a solved ticket, or following up on a closed one), and
shares files that only the people on the ticket can download.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from opora.db import Database
from opora.tickets.models import Attachment, Message, Ticket, TicketEvent
from tests.conftest import Company


async def counts(db: Database) -> dict[str, int]:
    """Rows that any accepted request would add: a refused one must leave them alone."""
    async with db.unit_of_work(write=False) as s:
        return {
            model.__tablename__: (
                await s.execute(select(func.count()).select_from(model))
            ).scalar_one()
            for model in (Ticket, Message, TicketEvent, Attachment)
        }


async def create_field(client: httpx.AsyncClient, company: Company, **field: Any) -> None:
    data = {"label": field["key"], "type": "text"} | field
    r = await client.post("/api/v1/custom-fields", headers=company.admin.headers, json=data)
    assert r.status_code == 201, r.text


async def open_ticket_for_carol(client: httpx.AsyncClient, company: Company) -> int:
    r = await client.post(
        "/api/v1/tickets",
        headers=company.l1_agent.headers,
        json={
            "subject": "Cannot sign in",
            "body": "The password is refused.",
            "requester_id": company.customer.id,
            "group_id": company.l1_group_id,
        },
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def agent_view(client: httpx.AsyncClient, company: Company, ticket_id: int) -> Any:
    r = await client.get(f"/api/v1/tickets/{ticket_id}", headers=company.admin.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def set_status(
    client: httpx.AsyncClient, company: Company, ticket_id: int, status: str
) -> None:
    r = await client.patch(
        f"/api/v1/tickets/{ticket_id}", headers=company.l1_agent.headers, json={"status": status}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == status


async def upload(client: httpx.AsyncClient, headers: dict[str, str], data: bytes) -> int:
    r = await client.post(
        "/api/v1/uploads", headers=headers, files={"file": ("notes.txt", data, "text/plain")}
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


class TestSubmitRequest:
    async def test_the_ticket_belongs_to_the_customer_who_submitted_it(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        carol = company.customer
        r = await client.post(
            "/api/v1/me/tickets",
            headers=carol.headers,
            json={"subject": "Export is empty", "body": "The CSV export has no rows."},
        )
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["status"] == "new"
        ticket = await agent_view(client, company, created["id"])
        assert ticket["requester_id"] == carol.id
        assert ticket["organization_id"] == company.acme_id
        assert ticket["channel"] == "api"
        assert [
            (m["author_kind"], m["author_contact_id"], m["visibility"], m["body_text"])
            for m in ticket["messages"]
        ] == [("contact", carol.id, "public", "The CSV export has no rows.")]
        mine = await client.get("/api/v1/me/tickets", headers=carol.headers)
        assert [t["id"] for t in mine.json()["items"]] == [created["id"]]
        theirs = await client.get(
            f"/api/v1/me/tickets/{created['id']}", headers=company.other_org_customer.headers
        )
        assert theirs.status_code == 404

    async def test_a_required_field_shown_to_customers_must_be_filled(
        self, client: httpx.AsyncClient, company: Company, db: Database
    ) -> None:
        await create_field(client, company, key="order_number", required=True)
        before = await counts(db)
        r = await client.post(
            "/api/v1/me/tickets",
            headers=company.customer.headers,
            json={"subject": "Refund", "body": "Please refund my order."},
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "field_required"
        assert r.json()["error"]["field"] == "custom_fields.order_number"
        assert await counts(db) == before
        r = await client.post(
            "/api/v1/me/tickets",
            headers=company.customer.headers,
            json={
                "subject": "Refund",
                "body": "Please refund my order.",
                "custom_fields": {"order_number": "A-1001"},
            },
        )
        assert r.status_code == 201, r.text
        ticket = await agent_view(client, company, r.json()["id"])
        assert ticket["custom_fields"] == {"order_number": "A-1001"}

    async def test_a_field_hidden_from_customers_cannot_be_set_by_them(
        self, client: httpx.AsyncClient, company: Company, db: Database
    ) -> None:
        await create_field(client, company, key="churn_risk", visible_to_customer=False)
        before = await counts(db)
        r = await client.post(
            "/api/v1/me/tickets",
            headers=company.customer.headers,
            json={
                "subject": "Refund",
                "body": "Please refund my order.",
                "custom_fields": {"churn_risk": "none at all"},
            },
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == "custom_fields.churn_risk"
        assert await counts(db) == before

    async def test_a_required_field_hidden_from_customers_is_not_asked_of_them(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        """Agents fill it in; it is enforced when they solve the ticket, not on the portal."""
        await create_field(
            client, company, key="root_cause", required=True, visible_to_customer=False
        )
        r = await client.post(
            "/api/v1/me/tickets",
            headers=company.customer.headers,
            json={"subject": "Slow page", "body": "The dashboard takes a minute to load."},
        )
        assert r.status_code == 201, r.text

    async def test_a_value_hidden_from_customers_never_comes_back_to_them(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await create_field(client, company, key="churn_risk", visible_to_customer=False)
        await create_field(client, company, key="browser")
        ticket_id = await open_ticket_for_carol(client, company)
        r = await client.patch(
            f"/api/v1/tickets/{ticket_id}",
            headers=company.l1_agent.headers,
            json={"custom_fields": {"churn_risk": "likely to leave", "browser": "Firefox"}},
        )
        assert r.status_code == 200, r.text
        carol = company.customer.headers
        detail = await client.get(f"/api/v1/me/tickets/{ticket_id}", headers=carol)
        listed = await client.get("/api/v1/me/tickets", headers=carol)
        reply = await client.post(
            f"/api/v1/me/tickets/{ticket_id}/messages", headers=carol, json={"body": "Thanks"}
        )
        for response in (detail, reply):
            assert response.json()["custom_fields"] == {"browser": "Firefox"}
        assert listed.json()["items"][0]["custom_fields"] == {"browser": "Firefox"}
        for response in (detail, listed, reply):
            assert "likely to leave" not in response.text

    @pytest.mark.parametrize(
        "extra",
        [
            {"priority": "urgent"},
            {"status": "solved"},
            {"group_id": 1},
            {"assignee_id": 1},
            {"requester_id": 1},
            {"tags": ["vip"]},
            {"channel": "email"},
            {"visibility": "internal"},
        ],
        ids=lambda extra: next(iter(extra)),
    )
    async def test_fields_only_agents_may_set_are_rejected(
        self, client: httpx.AsyncClient, company: Company, db: Database, extra: dict[str, Any]
    ) -> None:
        before = await counts(db)
        r = await client.post(
            "/api/v1/me/tickets",
            headers=company.customer.headers,
            json={"subject": "Hello", "body": "Please help."} | extra,
        )
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "validation_error"
        assert error["field"] == f"body.{next(iter(extra))}"
        assert await counts(db) == before


class TestCustomerReply:
    async def test_a_reply_to_a_solved_ticket_reopens_it(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        ticket_id = await open_ticket_for_carol(client, company)
        await set_status(client, company, ticket_id, "solved")
        r = await client.post(
            f"/api/v1/me/tickets/{ticket_id}/messages",
            headers=company.customer.headers,
            json={"body": "It happened again this morning."},
        )
        assert r.status_code == 201, r.text
        assert r.json()["id"] == ticket_id
        assert r.json()["status"] == "open"
        ticket = await agent_view(client, company, ticket_id)
        assert ticket["status"] == "open"
        assert ticket["solved_at"] is None
        assert ticket["messages"][-1]["body_text"] == "It happened again this morning."
        events = await client.get(
            f"/api/v1/tickets/{ticket_id}/events", headers=company.admin.headers
        )
        reopened = [e for e in events.json() if e["field"] == "status" and e["new_value"] == "open"]
        assert [(e["old_value"], e["actor_contact_id"]) for e in reopened] == [
            ("solved", company.customer.id)
        ]

    async def test_a_reply_to_a_closed_ticket_opens_a_linked_follow_up(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        old_id = await open_ticket_for_carol(client, company)
        await set_status(client, company, old_id, "closed")
        old_before = await agent_view(client, company, old_id)
        r = await client.post(
            f"/api/v1/me/tickets/{old_id}/messages",
            headers=company.customer.headers,
            json={"body": "The same error is back."},
        )
        assert r.status_code == 201, r.text
        follow_up = r.json()
        assert follow_up["id"] != old_id
        assert follow_up["subject"] == "Follow-up: Cannot sign in"
        assert follow_up["status"] == "new"
        assert [m["body_text"] for m in follow_up["messages"]] == ["The same error is back."]
        new = await agent_view(client, company, follow_up["id"])
        assert new["requester_id"] == company.customer.id
        assert new["group_id"] == company.l1_group_id
        assert [(link["source_id"], link["target_id"], link["kind"]) for link in new["links"]] == [
            (old_id, follow_up["id"], "follow_up")
        ]
        old = await agent_view(client, company, old_id)
        assert old["status"] == "closed"
        assert old["messages"] == old_before["messages"]
        mine = await client.get("/api/v1/me/tickets", headers=company.customer.headers)
        assert {t["id"] for t in mine.json()["items"]} == {old_id, follow_up["id"]}

    async def test_a_customer_cannot_post_an_internal_note(
        self, client: httpx.AsyncClient, company: Company, db: Database
    ) -> None:
        ticket_id = await open_ticket_for_carol(client, company)
        before = await counts(db)
        r = await client.post(
            f"/api/v1/me/tickets/{ticket_id}/messages",
            headers=company.customer.headers,
            json={"body": "Only for the agents, please.", "visibility": "internal"},
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "validation_error"
        assert r.json()["error"]["field"] == "body.visibility"
        assert await counts(db) == before

    async def test_an_empty_reply_is_refused_and_changes_nothing(
        self, client: httpx.AsyncClient, company: Company, db: Database
    ) -> None:
        ticket_id = await open_ticket_for_carol(client, company)
        before = await counts(db)
        r = await client.post(
            f"/api/v1/me/tickets/{ticket_id}/messages",
            headers=company.customer.headers,
            json={"body": "   "},
        )
        assert r.status_code == 422, r.text
        assert await counts(db) == before


class TestCustomerAttachments:
    async def test_a_customers_upload_is_shared_with_the_ticket_and_no_one_else(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        ticket_id = await open_ticket_for_carol(client, company)
        data = b"error log: 401 at 09:14"
        att_id = await upload(client, company.customer.headers, data)
        url = f"/api/v1/attachments/{att_id}"
        r = await client.get(url, headers=company.other_org_customer.headers)
        assert r.status_code == 404  # an unused upload is its uploader's alone
        r = await client.post(
            f"/api/v1/me/tickets/{ticket_id}/messages",
            headers=company.customer.headers,
            json={"body": "Log attached.", "attachment_ids": [att_id]},
        )
        assert r.status_code == 201, r.text
        assert [a["id"] for a in r.json()["messages"][-1]["attachments"]] == [att_id]
        readers = (company.customer, company.same_org_customer, company.admin, company.l1_agent)
        for persona in readers:
            r = await client.get(url, headers=persona.headers)
            assert r.status_code == 200, persona.name
            assert r.content == data
        r = await client.get(url, headers=company.other_org_customer.headers)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "attachment_not_found"

    async def test_a_customer_can_attach_a_file_when_opening_a_ticket(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        att_id = await upload(client, company.customer.headers, b"screenshot bytes")
        r = await client.post(
            "/api/v1/me/tickets",
            headers=company.customer.headers,
            json={"subject": "Broken page", "body": "See the file.", "attachment_ids": [att_id]},
        )
        assert r.status_code == 201, r.text
        ticket = await agent_view(client, company, r.json()["id"])
        assert [a["id"] for a in ticket["messages"][0]["attachments"]] == [att_id]

    async def test_a_customer_cannot_attach_someone_elses_file(
        self, client: httpx.AsyncClient, company: Company, db: Database
    ) -> None:
        ticket_id = await open_ticket_for_carol(client, company)
        erins = await upload(client, company.other_org_customer.headers, b"erin's invoice")
        agents = await upload(client, company.l1_agent.headers, b"agent's checklist")
        for att_id in (erins, agents):
            before = await counts(db)
            r = await client.post(
                f"/api/v1/me/tickets/{ticket_id}/messages",
                headers=company.customer.headers,
                json={"body": "Look at this.", "attachment_ids": [att_id]},
            )
            assert r.status_code == 422, r.text
            assert r.json()["error"]["field"] == "attachment_ids"
            assert await counts(db) == before
            r = await client.get(f"/api/v1/attachments/{att_id}", headers=company.customer.headers)
            assert r.status_code == 404

    async def test_an_internal_notes_attachment_is_hidden_from_every_customer(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        ticket_id = await open_ticket_for_carol(client, company)
        data = b"internal: customer owes two invoices"
        att_id = await upload(client, company.l1_agent.headers, data)
        r = await client.post(
            f"/api/v1/tickets/{ticket_id}/messages",
            headers=company.l1_agent.headers,
            json={"body": "See the ledger.", "visibility": "internal", "attachment_ids": [att_id]},
        )
        assert r.status_code == 201, r.text
        url = f"/api/v1/attachments/{att_id}"
        for agent in (company.admin, company.l1_agent, company.l2_agent):
            r = await client.get(url, headers=agent.headers)
            assert r.status_code == 200, agent.name
            assert r.content == data
        for customer in (company.customer, company.same_org_customer, company.other_org_customer):
            r = await client.get(url, headers=customer.headers)
            assert r.status_code == 404, customer.name
            assert b"owes" not in r.content
        r = await client.get(f"/api/v1/me/tickets/{ticket_id}", headers=company.customer.headers)
        assert [m["attachments"] for m in r.json()["messages"]] == [[]]
        assert "ledger" not in r.text
