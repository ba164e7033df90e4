"""The agent's new-ticket page (src/opora/tickets/new_pages.py) on both backends."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from opora.auth.actor import system_actor
from opora.contacts.models import Contact
from opora.db import Database
from opora.fields import service as fields_service
from opora.fields.schemas import CustomFieldCreate, TicketFormCreate
from opora.tickets.models import Message, Ticket
from tests.conftest import Company
from tests.web.helpers import csrf_of, page_csrf, set_password, sign_in

LENA = ("lena@opora.dev", "lena-secret")


@pytest.fixture
async def forms(db: Database, company: Company) -> dict[str, int]:
    """Fields platform (select), version (text), agreed (checkbox), notes (text); the
    default form "Bug" needs platform and version; "Call" asks only for notes."""
    actor = system_actor("tests")
    async with db.unit_of_work() as s:
        for spec in (
            CustomFieldCreate(key="platform", label="Platform", label_ru="Платформа",
                              type="select", options=["ios", "web"]),
            CustomFieldCreate(key="version", label="Version", type="text"),
            CustomFieldCreate(key="agreed", label="Agreed", type="checkbox"),
            CustomFieldCreate(key="notes", label="Notes", type="text"),
        ):  # fmt: skip
            await fields_service.create_field(s, actor=actor, data=spec)
        bug = await fields_service.create_ticket_form(
            s, actor=actor,
            data=TicketFormCreate(name="Bug", ticket_type="incident", is_default=True,
                                  field_keys=["version", "platform", "agreed"],
                                  required_keys=["platform", "version"]),
        )  # fmt: skip
        call = await fields_service.create_ticket_form(
            s, actor=actor,
            data=TicketFormCreate(name="Call", ticket_type="callback", field_keys=["notes"]),
        )  # fmt: skip
        return {"bug": bug.id, "call": call.id}


@pytest.fixture
async def lena(client: httpx.AsyncClient, db: Database, company: Company) -> httpx.AsyncClient:
    await set_password(db, company.l1_agent.id, LENA[1])
    assert (await sign_in(client, *LENA)).status_code == 303
    return client


async def count(db: Database, model: type[Any]) -> int:
    async with db.unit_of_work() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


def ticket_form(csrf: str, form: int | str, **extra: Any) -> dict[str, Any]:
    return {
        "csrf_token": csrf,
        "requester_email": "carol@acme.ru",
        "requester_name": "",
        "subject": "App crashes on start",
        "body": "Called: the app crashes since the update.",
        "form_id": str(form),
        "type": "incident",
        "priority": "high",
        "group_id": "",
        "assignee_id": "",
        "tags": "crash, mobile",
        "channel": "phone",
        "cf.platform": "ios",
        "cf.version": "2.4.1",
        **extra,
    }


class TestNewTicketPage:
    async def test_the_page_opens_with_the_default_form_and_its_fields_in_order(
        self, lena: httpx.AsyncClient, forms: dict[str, int]
    ) -> None:
        r = await lena.get("/tickets/new")
        assert r.status_code == 200
        assert 'id="nav-new-ticket"' in r.text
        assert f'<option value="{forms["bug"]}" selected>Bug</option>' in r.text
        order = [m for m in re.findall(r'data-custom-field="(\w+)"', r.text)]
        assert order == ["version", "platform", "agreed"]
        assert '<option value="incident" selected>' in r.text  # the form's type

    async def test_another_form_or_none_changes_the_fields(
        self, lena: httpx.AsyncClient, forms: dict[str, int]
    ) -> None:
        r = await lena.get(f"/tickets/new?form_id={forms['call']}")
        assert re.findall(r'data-custom-field="(\w+)"', r.text) == ["notes"]
        assert '<option value="callback" selected>' in r.text
        r = await lena.get("/tickets/new?form_id=")
        assert re.findall(r'data-custom-field="(\w+)"', r.text) == [
            "platform", "version", "agreed", "notes",
        ]  # fmt: skip

    async def test_a_requester_id_prefills_the_requester(
        self, lena: httpx.AsyncClient, company: Company, forms: dict[str, int]
    ) -> None:
        r = await lena.get(f"/tickets/new?requester_id={company.customer.id}")
        assert 'name="requester_email" type="email" autocomplete="off"\n' in r.text
        assert 'value="carol@acme.ru"' in r.text
        assert 'value="Carol Customer"' in r.text

    async def test_the_htmx_block_keeps_typed_values_and_takes_the_forms_type(
        self, lena: httpx.AsyncClient, forms: dict[str, int]
    ) -> None:
        r = await lena.get(
            "/tickets/new/fields",
            params={"form_id": str(forms["bug"]), "type": "question", "cf.notes": "x",
                    "cf.version": "9.9"},
        )  # fmt: skip
        assert r.status_code == 200
        assert r.text.lstrip().startswith('<div id="new-ticket-fields"')
        assert 'name="cf.version" value="9.9"' in r.text
        assert '<option value="incident" selected>' in r.text

    async def test_an_anonymous_visitor_goes_to_login(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/tickets/new")
        assert (r.status_code, r.headers["location"].startswith("/login")) == (303, True)


class TestCreateTicket:
    async def test_creating_a_ticket_with_the_forms_fields(
        self, lena: httpx.AsyncClient, db: Database, company: Company, forms: dict[str, int]
    ) -> None:
        csrf = await page_csrf(lena, "/tickets/new")
        r = await lena.post(
            "/tickets/new", data=ticket_form(csrf, forms["bug"], **{"cf.agreed": "on"})
        )
        assert r.status_code == 303, r.text
        ticket_id = int(r.headers["location"].removeprefix("/tickets/"))
        async with db.unit_of_work() as s:
            ticket = await s.get(Ticket, ticket_id)
            assert ticket is not None
            assert ticket.requester_id == company.customer.id
            assert (ticket.subject, ticket.type, ticket.priority, ticket.channel) == (
                "App crashes on start", "incident", "high", "phone",
            )  # fmt: skip
            assert ticket.custom_fields == {"platform": "ios", "version": "2.4.1", "agreed": True}
            [message] = (
                await s.execute(select(Message).where(Message.ticket_id == ticket_id))
            ).scalars()
            assert (message.visibility, message.body_text) == (
                "public", "Called: the app crashes since the update.",
            )  # fmt: skip
        page = await lena.get(f"/tickets/{ticket_id}")
        assert "App crashes on start" in page.text
        assert "crash" in page.text and "mobile" in page.text

    async def test_a_missing_required_field_is_marked_the_input_kept_nothing_created(
        self, lena: httpx.AsyncClient, db: Database, forms: dict[str, int]
    ) -> None:
        before = await count(db, Ticket)
        csrf = await page_csrf(lena, "/tickets/new")
        data = ticket_form(csrf, forms["bug"], **{"cf.platform": ""})
        r = await lena.post("/tickets/new", data=data)
        assert r.status_code == 422
        assert re.search(r'id="cf-platform" name="cf.platform"[^>]*aria-invalid="true"', r.text)
        assert 'id="new-cf-platform-error"' in r.text
        assert 'name="cf.version" value="2.4.1"' in r.text
        assert 'value="App crashes on start"' in r.text
        assert "Called: the app crashes since the update.</textarea>" in r.text
        assert 'value="crash, mobile"' in r.text
        assert await count(db, Ticket) == before

    async def test_a_required_field_of_the_form_is_not_asked_on_another_form(
        self, lena: httpx.AsyncClient, db: Database, forms: dict[str, int]
    ) -> None:
        csrf = await page_csrf(lena, "/tickets/new")
        data = ticket_form(csrf, forms["call"], **{"cf.platform": "", "cf.version": ""})
        r = await lena.post("/tickets/new", data=data)
        assert r.status_code == 303, r.text

    async def test_an_unknown_requester_email_creates_the_contact(
        self, lena: httpx.AsyncClient, db: Database, forms: dict[str, int]
    ) -> None:
        contacts = await count(db, Contact)
        csrf = await page_csrf(lena, "/tickets/new")
        data = ticket_form(
            csrf, forms["bug"], requester_email="new.person@example.org",
            requester_name="New Person",
        )  # fmt: skip
        r = await lena.post("/tickets/new", data=data)
        assert r.status_code == 303, r.text
        assert await count(db, Contact) == contacts + 1
        async with db.unit_of_work() as s:
            contact = (
                await s.execute(select(Contact).where(Contact.name == "New Person"))
            ).scalar_one()
            ticket = (
                await s.execute(select(Ticket).where(Ticket.requester_id == contact.id))
            ).scalar_one()
            assert ticket.subject == "App crashes on start"

    @pytest.mark.parametrize(
        ("change", "marked"),
        [
            ({"requester_email": ""}, "requester_email"),
            ({"requester_email": "not an email"}, "requester_email"),
            ({"subject": "  "}, "subject"),
            ({"body": " "}, "body"),
            ({"cf.platform": "symbian"}, "cf-platform"),
            ({"priority": "whenever"}, "priority"),
            ({"group_id": "999"}, "group_id"),
            ({"form_id": "999"}, "form_id"),
            ({"channel": "telegram"}, "channel"),
            ({"assignee_id": "abc"}, "assignee_id"),
        ],
    )
    async def test_bad_input_is_marked_and_creates_nothing(
        self,
        lena: httpx.AsyncClient,
        db: Database,
        forms: dict[str, int],
        change: dict[str, str],
        marked: str,
    ) -> None:
        before = (await count(db, Ticket), await count(db, Contact))
        csrf = await page_csrf(lena, "/tickets/new")
        data = ticket_form(csrf, forms["bug"])
        r = await lena.post("/tickets/new", data={**data, **change})
        assert r.status_code in (400, 422), r.text
        assert f'aria-describedby="new-{marked}-error"' in r.text
        assert 'id="new-ticket-error"' in r.text
        assert (await count(db, Ticket), await count(db, Contact)) == before

    async def test_an_assignee_outside_the_group_is_marked(
        self, lena: httpx.AsyncClient, db: Database, company: Company, forms: dict[str, int]
    ) -> None:
        csrf = await page_csrf(lena, "/tickets/new")
        data = ticket_form(
            csrf, forms["bug"], group_id=str(company.l2_group_id),
            assignee_id=str(company.l1_agent.id),
        )  # fmt: skip
        r = await lena.post("/tickets/new", data=data)
        assert r.status_code == 422
        assert 'aria-describedby="new-assignee_id-error"' in r.text
        assert "This agent is not a member of the ticket" in r.text
        assert await count(db, Ticket) == 0

    async def test_apply_form_without_javascript_shows_its_fields_and_creates_nothing(
        self, lena: httpx.AsyncClient, db: Database, forms: dict[str, int]
    ) -> None:
        csrf = await page_csrf(lena, "/tickets/new")
        data = ticket_form(csrf, forms["call"], apply="1", **{"cf.notes": "call back at 5"})
        r = await lena.post("/tickets/new", data=data)
        assert r.status_code == 200
        assert re.findall(r'data-custom-field="(\w+)"', r.text) == ["notes"]
        assert 'name="cf.notes" value="call back at 5"' in r.text
        assert 'value="App crashes on start"' in r.text
        assert await count(db, Ticket) == 0

    async def test_a_post_without_the_csrf_token_is_refused(
        self, lena: httpx.AsyncClient, db: Database, forms: dict[str, int]
    ) -> None:
        r = await lena.post("/tickets/new", data=ticket_form("", forms["bug"]))
        assert r.status_code == 403
        r = await lena.post("/tickets/new", data=ticket_form("forged", forms["bug"]))
        assert r.status_code == 403
        assert await count(db, Ticket) == 0

    async def test_the_page_works_without_any_form(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        r = await lena.get("/tickets/new")
        assert r.status_code == 200
        data = ticket_form(csrf_of(r.text), "")
        r = await lena.post("/tickets/new", data=data)
        assert r.status_code == 303, r.text
        assert await count(db, Ticket) == 1
