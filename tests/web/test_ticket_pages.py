"""The agent's ticket page (src/opora/tickets/pages.py) on both backends."""

from __future__ import annotations

import re

import httpx
import pytest

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.schemas import UserUpdate
from opora.db import Database
from opora.fields import service as fields_service
from opora.fields.schemas import CustomFieldCreate
from opora.tickets import service as tickets_service
from opora.tickets.schemas import MessageCreate, RequesterIn, TicketCreate
from tests.conftest import Company
from tests.web.helpers import csrf_of, set_password, sign_in

LENA = ("lena@opora.dev", "lena-secret")
IGOR = ("igor@opora.dev", "igor-secret")
NOTE = "Customer is on the legacy plan, do not offer the upgrade"


async def make_ticket(db: Database, company: Company) -> int:
    """A ticket in L1 from Carol, with an internal note after her message."""
    actor = system_actor("tests")
    async with db.unit_of_work() as s:
        ticket = await tickets_service.create_ticket(
            s,
            actor=actor,
            data=TicketCreate(
                subject="Printer on fire",
                body="The printer in room 4 is on fire again.",
                requester=RequesterIn(email="carol@acme.ru", name="Carol Customer"),
                group_id=company.l1_group_id,
            ),
        )
        await tickets_service.add_message(
            s,
            actor=actor,
            ticket_id=ticket.id,
            data=MessageCreate(body=NOTE, visibility="internal"),
        )
        return ticket.id


@pytest.fixture
async def ticket_id(db: Database, company: Company) -> int:
    return await make_ticket(db, company)


@pytest.fixture
async def lena(client: httpx.AsyncClient, db: Database, company: Company) -> httpx.AsyncClient:
    await set_password(db, company.l1_agent.id, LENA[1])
    r = await sign_in(client, *LENA)
    assert r.status_code == 303
    return client


async def form_csrf(client: httpx.AsyncClient, ticket_id: int) -> str:
    r = await client.get(f"/tickets/{ticket_id}")
    assert r.status_code == 200, r.text
    return csrf_of(r.text)


def entry_of(html: str, text: str) -> str:
    """The timeline <li> that holds ``text``."""
    for match in re.finditer(r"<li class=\"entry.*?</li>", html, re.S):
        if text in match.group(0):
            return match.group(0)
    raise AssertionError(f"no timeline entry holds {text!r}")


async def messages_of(client: httpx.AsyncClient, company: Company, ticket_id: int) -> list[dict]:
    r = await client.get(f"/api/v1/tickets/{ticket_id}", headers=company.admin.headers)
    assert r.status_code == 200
    return list(r.json()["messages"])


class TestTicketPage:
    async def test_shows_the_header_messages_and_the_labelled_internal_note(
        self, lena: httpx.AsyncClient, ticket_id: int
    ) -> None:
        r = await lena.get(f"/tickets/{ticket_id}")
        assert r.status_code == 200
        html = r.text
        assert "Printer on fire" in html
        assert "Carol Customer" in html and "carol@acme.ru" in html and "Acme" in html
        customer = entry_of(html, "room 4 is on fire")
        assert 'data-visibility="public"' in customer
        note = entry_of(html, NOTE)
        assert 'data-visibility="internal"' in note
        assert "message-internal" in note
        assert "Internal note" in note
        assert '<label for="edit-assignee">' in html
        assert 'name="visibility" value="internal"' in html

    async def test_the_note_label_is_russian_for_a_russian_agent(
        self, lena: httpx.AsyncClient, db: Database, company: Company, ticket_id: int
    ) -> None:
        async with db.unit_of_work() as s:
            await auth_service.update_user(
                s,
                actor=system_actor("tests"),
                user_id=company.l1_agent.id,
                data=UserUpdate(language="ru"),
            )
        r = await lena.get(f"/tickets/{ticket_id}")
        assert "Внутренняя заметка" in entry_of(r.text, NOTE)

    async def test_signed_out_goes_to_login(
        self, client: httpx.AsyncClient, ticket_id: int
    ) -> None:
        r = await client.get(f"/tickets/{ticket_id}")
        assert r.status_code == 303
        assert r.headers["location"].startswith("/login?next=/tickets/")

    async def test_a_ticket_out_of_the_agents_groups_is_a_404_page(
        self, client: httpx.AsyncClient, db: Database, company: Company, ticket_id: int
    ) -> None:
        async with db.unit_of_work() as s:
            await auth_service.update_user(
                s,
                actor=system_actor("tests"),
                user_id=company.l2_agent.id,
                data=UserUpdate(ticket_access="groups", password=IGOR[1]),
            )
        assert (await sign_in(client, *IGOR)).status_code == 303
        r = await client.get(f"/tickets/{ticket_id}")
        assert r.status_code == 404
        assert "Printer on fire" not in r.text and NOTE not in r.text
        assert (await client.get("/tickets/999999")).status_code == 404
        csrf = csrf_of((await client.get("/account")).text)
        posted = await client.post(
            f"/tickets/{ticket_id}/messages", data={"csrf_token": csrf, "body": "hi"}
        )
        assert posted.status_code == 404


class TestComposer:
    async def test_a_public_reply_and_an_internal_note_are_stored_as_such(
        self, lena: httpx.AsyncClient, company: Company, ticket_id: int
    ) -> None:
        csrf = await form_csrf(lena, ticket_id)
        r = await lena.post(
            f"/tickets/{ticket_id}/messages",
            data={"csrf_token": csrf, "body": "We are on our way.", "visibility": "public"},
        )
        assert r.status_code == 303
        assert r.headers["location"].startswith(f"/tickets/{ticket_id}?sent=1#message-")
        r = await lena.post(
            f"/tickets/{ticket_id}/messages",
            data={"csrf_token": csrf, "body": "Bring the extinguisher.", "visibility": "internal"},
        )
        assert r.status_code == 303
        stored = {
            m["body_text"]: m["visibility"] for m in await messages_of(lena, company, ticket_id)
        }
        assert stored["We are on our way."] == "public"
        assert stored["Bring the extinguisher."] == "internal"
        page = (await lena.get(f"/tickets/{ticket_id}?sent=1")).text
        assert 'data-visibility="internal"' in entry_of(page, "Bring the extinguisher.")
        assert 'data-visibility="public"' in entry_of(page, "We are on our way.")
        assert "data-draft-sent" in page

    async def test_an_empty_reply_is_refused_and_nothing_is_saved(
        self, lena: httpx.AsyncClient, company: Company, ticket_id: int
    ) -> None:
        before = await messages_of(lena, company, ticket_id)
        csrf = await form_csrf(lena, ticket_id)
        r = await lena.post(
            f"/tickets/{ticket_id}/messages",
            data={"csrf_token": csrf, "body": "   ", "visibility": "internal"},
        )
        assert r.status_code == 400
        assert 'id="composer-body-error"' in r.text
        assert "Write a message before sending it." in r.text
        assert re.search(r'id="visibility-internal"\s+checked', r.text)
        assert await messages_of(lena, company, ticket_id) == before

    async def test_the_customer_rendering_never_shows_the_note(
        self, client: httpx.AsyncClient, company: Company, ticket_id: int
    ) -> None:
        r = await client.get(f"/api/v1/me/tickets/{ticket_id}", headers=company.customer.headers)
        assert r.status_code == 200
        assert "room 4 is on fire" in r.text
        assert NOTE not in r.text


class TestEscalate:
    async def test_a_reason_is_required(
        self, lena: httpx.AsyncClient, company: Company, ticket_id: int
    ) -> None:
        csrf = await form_csrf(lena, ticket_id)
        r = await lena.post(
            f"/tickets/{ticket_id}/escalate", data={"csrf_token": csrf, "reason": " "}
        )
        assert r.status_code == 400
        assert 'id="escalate-reason-error"' in r.text
        assert re.search(r'id="escalate-reason"[^>]*aria-invalid="true"', r.text)
        api = await lena.get(f"/api/v1/tickets/{ticket_id}", headers=company.admin.headers)
        assert api.json()["line"] == 1

    async def test_with_a_reason_the_ticket_goes_to_line_2_and_the_reason_is_a_note(
        self, lena: httpx.AsyncClient, company: Company, ticket_id: int
    ) -> None:
        csrf = await form_csrf(lena, ticket_id)
        reason = "Needs a specialist for the fire suppression firmware"
        r = await lena.post(
            f"/tickets/{ticket_id}/escalate", data={"csrf_token": csrf, "reason": reason}
        )
        assert r.status_code == 303
        api = await lena.get(f"/api/v1/tickets/{ticket_id}", headers=company.admin.headers)
        assert api.json()["line"] == 2
        page = (await lena.get(r.headers["location"])).text
        note = entry_of(page, f"{reason}</div>")
        assert 'data-visibility="internal"' in note
        assert "line 1 → line 2" in page


class TestUpdate:
    async def test_changes_are_saved_and_shown_in_the_timeline(
        self, lena: httpx.AsyncClient, company: Company, ticket_id: int
    ) -> None:
        csrf = await form_csrf(lena, ticket_id)
        r = await lena.post(
            f"/tickets/{ticket_id}",
            data={
                "csrf_token": csrf,
                "status": "pending",
                "priority": "high",
                "type": "incident",
                "group_id": str(company.l1_group_id),
                "assignee_id": str(company.l1_agent.id),
                "tags": "fire, hardware",
            },
        )
        assert r.status_code == 303
        data = (
            await lena.get(f"/api/v1/tickets/{ticket_id}", headers=company.admin.headers)
        ).json()
        assert (data["status"], data["priority"], data["type"]) == ("pending", "high", "incident")
        assert data["assignee_id"] == company.l1_agent.id
        assert data["tags"] == ["fire", "hardware"]
        page = (await lena.get(f"/tickets/{ticket_id}")).text
        assert "Lena L1 changed status:" in page

    async def test_an_assignee_outside_the_group_is_marked_and_the_input_kept(
        self, lena: httpx.AsyncClient, company: Company, ticket_id: int
    ) -> None:
        csrf = await form_csrf(lena, ticket_id)
        r = await lena.post(
            f"/tickets/{ticket_id}",
            data={
                "csrf_token": csrf,
                "status": "open",
                "priority": "urgent",
                "type": "question",
                "group_id": str(company.l1_group_id),
                "assignee_id": str(company.l2_agent.id),
                "tags": "kept-tag",
            },
        )
        assert r.status_code == 400
        assert re.search(r'id="edit-assignee"[^>]*aria-invalid="true"', r.text)
        assert 'id="edit-assignee_id-error"' in r.text
        assert "not a member of the ticket" in r.text
        assert f'<option value="{company.l2_agent.id}" selected>Igor L2</option>' in r.text
        assert 'value="kept-tag"' in r.text
        assert re.search(r'<option value="urgent" selected>', r.text)
        data = (
            await lena.get(f"/api/v1/tickets/{ticket_id}", headers=company.admin.headers)
        ).json()
        # nothing of the refused change is kept
        assert (data["priority"], data["status"], data["tags"]) == ("normal", "new", [])
        assert data["assignee_id"] is None


class TestAttachments:
    async def test_an_attachment_downloads_through_the_page_session(
        self, lena: httpx.AsyncClient, company: Company, ticket_id: int
    ) -> None:
        up = await lena.post(
            "/api/v1/uploads",
            headers=company.l1_agent.headers,
            files={"file": ("notes.txt", b"hello", "text/plain")},
        )
        assert up.status_code == 201
        att_id = up.json()["id"]
        r = await lena.post(
            f"/api/v1/tickets/{ticket_id}/messages",
            headers=company.l1_agent.headers,
            json={"body": "see file", "attachment_ids": [att_id]},
        )
        assert r.status_code == 201
        page = (await lena.get(f"/tickets/{ticket_id}")).text
        link = f"/tickets/{ticket_id}/attachments/{att_id}"
        assert f'href="{link}"' in page
        got = await lena.get(link)
        assert got.status_code == 200 and got.content == b"hello"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-disposition"].startswith("attachment;")
        assert "sandbox" in got.headers["content-security-policy"]

    async def test_solving_without_a_required_field_is_refused_with_the_status_kept(
        self, lena: httpx.AsyncClient, db: Database, company: Company, ticket_id: int
    ) -> None:
        async with db.unit_of_work() as s:
            await fields_service.create_field(
                s,
                actor=system_actor("tests"),
                data=CustomFieldCreate(
                    key="root_cause", label="Root cause", type="text", required=True
                ),
            )
        csrf = await form_csrf(lena, ticket_id)
        r = await lena.post(
            f"/tickets/{ticket_id}",
            data={
                "csrf_token": csrf,
                "status": "solved",
                "priority": "normal",
                "type": "question",
                "group_id": str(company.l1_group_id),
                "assignee_id": "",
                "tags": "",
            },
        )
        assert r.status_code == 400
        assert "Fill in the required fields before solving the ticket." in r.text
        assert '<option value="solved" selected>' in r.text
        data = (
            await lena.get(f"/api/v1/tickets/{ticket_id}", headers=company.admin.headers)
        ).json()
        assert data["status"] == "new"
