"""Submitting a request from the portal: the ticket form with its fields, signed in or not;
mistakes re-render with the text kept and store nothing; honeypot and rate limits."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from opora.auth.actor import system_actor
from opora.contacts.models import ContactIdentity
from opora.db import Database
from opora.fields import service as fields_service
from opora.fields.schemas import CustomFieldCreate, TicketFormCreate
from opora.kb.models import KbOutcome
from opora.portal import service
from opora.tickets.models import Ticket
from tests.conftest import Company
from tests.portal.support import portal_sign_in
from tests.web.helpers import csrf_of

CAROL = "carol@acme.ru"


async def _tickets(db: Database) -> list[Ticket]:
    async with db.unit_of_work(write=False) as s:
        return list(await s.scalars(select(Ticket).order_by(Ticket.id)))


async def _bug_form(db: Database) -> int:
    """A default customer form "Bug report" requiring the app version; plus a field
    hidden from customers."""
    actor = system_actor("tests")
    async with db.unit_of_work() as s:
        await fields_service.create_field(
            s, actor=actor,
            data=CustomFieldCreate(key="app_version", label="App version",
                                   label_ru="Версия приложения", type="text"),
        )  # fmt: skip
        await fields_service.create_field(
            s, actor=actor,
            data=CustomFieldCreate(key="internal_cost", label="Internal cost", type="number",
                                   visible_to_customer=False),
        )  # fmt: skip
        form = await fields_service.create_ticket_form(
            s, actor=actor,
            data=TicketFormCreate(name="Bug report", ticket_type="incident",
                                  field_keys=["app_version"], required_keys=["app_version"],
                                  is_default=True),
        )  # fmt: skip
        return form.id


def _anonymous(token: str, **extra: str) -> dict[str, str]:
    return {"csrf_token": token, "name": "Фёдор", "email": "fedor@example.ru",
            "subject": "Не могу оплатить", "body": "Карта не проходит, ошибка 51.",
            **extra}  # fmt: skip


class TestTheForm:
    async def test_the_subject_asks_for_suggestions_and_fields_follow_the_form(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await _bug_form(db)
        r = await client.get("/help/requests/new")
        assert r.status_code == 200
        subject = r.text.split('id="subject"')[1].split(">")[0]
        for attr in ('hx-get="/help/suggest"', 'hx-trigger="input changed delay:400ms"',
                     'hx-target="#kb-suggestions"', 'name="subject"'):  # fmt: skip
            assert attr in subject
        assert 'name="locale" id="request-locale" value="en"' in r.text
        assert '<div id="kb-suggestions" aria-live="polite"></div>' in r.text
        assert 'name="cf.app_version"' in r.text and "internal_cost" not in r.text
        assert 'name="website"' in r.text  # the honeypot, hidden from people by CSS

    async def test_a_russian_page_labels_fields_in_russian(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await _bug_form(db)
        r = await client.get("/help/requests/new", headers={"Accept-Language": "ru"})
        assert 'lang="ru"' in r.text and "Версия приложения" in r.text


class TestSubmitting:
    async def test_a_visitor_submits_and_a_contact_is_made_by_address(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        page = await client.get("/help/requests/new")
        r = await client.post("/help/requests/new", data=_anonymous(csrf_of(page.text)))
        assert r.status_code == 200, r.text
        assert 'id="request-submitted"' in r.text and "fedor@example.ru" in r.text
        [ticket] = await _tickets(db)
        assert ticket.channel == "web" and ticket.subject == "Не могу оплатить"
        async with db.unit_of_work(write=False) as s:
            identity = (await s.scalars(select(ContactIdentity).where(
                ContactIdentity.value == "fedor@example.ru"))).one()  # fmt: skip
            outcome = (await s.scalars(select(KbOutcome))).one()
        assert ticket.requester_id == identity.contact_id
        assert outcome.kind == "ticket" and outcome.ticket_id == ticket.id
        assert outcome.visitor == client.cookies["opora_visitor"]  # the help center's visitor

    async def test_a_signed_in_customer_submits_as_themselves(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await portal_sign_in(client, db, CAROL)
        page = await client.get("/help/requests/new")
        assert 'id="email"' not in page.text  # known already
        r = await client.post(
            "/help/requests/new",
            data={"csrf_token": csrf_of(page.text), "subject": "Счёт", "body": "Нужен счёт"},
        )
        assert r.status_code == 303
        [ticket] = await _tickets(db)
        assert ticket.requester_id == company.customer.id
        assert r.headers["location"] == f"/help/requests/{ticket.id}?notice=submitted"
        assert "Нужен счёт" in (await client.get(r.headers["location"])).text

    async def test_a_missing_required_field_re_renders_with_the_text_kept(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        form_id = await _bug_form(db)
        page = await client.get("/help/requests/new")
        data = _anonymous(csrf_of(page.text), form_id=str(form_id))
        r = await client.post("/help/requests/new", data=data)
        assert r.status_code == 422
        assert 'aria-invalid="true" aria-describedby="cf-app_version-error"' in r.text
        assert 'id="cf-app_version-error"' in r.text
        assert "Карта не проходит, ошибка 51.</textarea>" in r.text
        assert 'value="Не могу оплатить"' in r.text and 'value="fedor@example.ru"' in r.text
        assert await _tickets(db) == []
        r = await client.post("/help/requests/new", data={**data, "cf.app_version": "2.4.1"})
        assert r.status_code == 200
        [ticket] = await _tickets(db)
        assert ticket.custom_fields == {"app_version": "2.4.1"} and ticket.type == "incident"

    @pytest.mark.parametrize(
        ("drop", "error_id"),
        [("email", "email-error"), ("name", "name-error"), ("subject", "subject-error"),
         ("body", "body-error")],
    )  # fmt: skip
    async def test_each_missing_input_is_marked(
        self, client: httpx.AsyncClient, db: Database, company: Company, drop: str,
        error_id: str,
    ) -> None:  # fmt: skip
        page = await client.get("/help/requests/new")
        r = await client.post("/help/requests/new",
                              data={**_anonymous(csrf_of(page.text)), drop: ""})  # fmt: skip
        assert r.status_code == 400 and f'id="{error_id}"' in r.text
        assert await _tickets(db) == []


class TestSpam:
    async def test_a_filled_honeypot_stores_nothing_and_says_why(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        page = await client.get("/help/requests/new")
        data = _anonymous(csrf_of(page.text), website="http://cheap-pills.example")
        r = await client.post("/help/requests/new", data=data)
        assert r.status_code == 400 and 'id="request-form-error"' in r.text
        assert "Карта не проходит" in r.text  # the text is kept for a person who got here
        assert await _tickets(db) == []
        async with db.unit_of_work(write=False) as s:
            assert (await s.scalar(select(func.count()).select_from(ContactIdentity).where(
                ContactIdentity.value == "fedor@example.ru"))) == 0  # fmt: skip

    async def test_requests_per_client_address_are_limited_with_the_text_kept(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        page = await client.get("/help/requests/new")
        token = csrf_of(page.text)
        for n in range(service.SUBMIT_IP_LIMIT):
            data = _anonymous(token, email=f"person{n}@example.ru")
            assert (await client.post("/help/requests/new", data=data)).status_code == 200
        r = await client.post("/help/requests/new",
                              data=_anonymous(token, body="Одиннадцатый запрос"))  # fmt: skip
        assert r.status_code == 429 and 'id="request-form-error"' in r.text
        assert "Одиннадцатый запрос</textarea>" in r.text
        assert len(await _tickets(db)) == service.SUBMIT_IP_LIMIT

    async def test_requests_per_address_are_limited(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        page = await client.get("/help/requests/new")
        token = csrf_of(page.text)
        for _ in range(service.SUBMIT_EMAIL_LIMIT):
            assert (
                await client.post("/help/requests/new", data=_anonymous(token))
            ).status_code == 200
        r = await client.post("/help/requests/new", data=_anonymous(token))
        assert r.status_code == 429
        assert len(await _tickets(db)) == service.SUBMIT_EMAIL_LIMIT
