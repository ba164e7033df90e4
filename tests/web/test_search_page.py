"""The global search page (src/opora/search/pages.py) and the header's search box, on both
backends."""

from __future__ import annotations

import re

import httpx
import pytest

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.schemas import UserUpdate
from opora.contacts import service as contacts_service
from opora.contacts.schemas import ContactCreate
from opora.db import Database
from opora.tickets import service as tickets_service
from opora.tickets.schemas import MessageCreate, TicketCreate
from tests.conftest import Company
from tests.web.helpers import set_password, sign_in

LENA = ("lena@opora.dev", "lena-secret")
IGOR = ("igor@opora.dev", "igor-secret")
NOTE_WORD = "квитанция"


async def make(
    db: Database, requester_id: int, subject: str, body: str, group_id: int
) -> tuple[int, int]:
    async with db.unit_of_work() as s:
        t = await tickets_service.create_ticket(
            s,
            actor=system_actor("tests"),
            data=TicketCreate(
                subject=subject, body=body, requester_id=requester_id, group_id=group_id
            ),
        )
        return t.id, t.number


@pytest.fixture
async def login_ticket(db: Database, company: Company) -> tuple[int, int]:
    """Carol's ticket in L1 about logging in, with an internal note."""
    ticket = await make(
        db, company.customer.id, "Ошибка при входе", "Не могу войти в личный кабинет.",
        company.l1_group_id,
    )  # fmt: skip
    async with db.unit_of_work() as s:
        await tickets_service.add_message(
            s,
            actor=system_actor("tests"),
            ticket_id=ticket[0],
            data=MessageCreate(body=f"Проверить {NOTE_WORD} об оплате", visibility="internal"),
        )
    return ticket


@pytest.fixture
async def lena(client: httpx.AsyncClient, db: Database, company: Company) -> httpx.AsyncClient:
    await set_password(db, company.l1_agent.id, LENA[1])
    assert (await sign_in(client, *LENA)).status_code == 303
    return client


@pytest.fixture
async def igor_groups(
    other_client: httpx.AsyncClient, db: Database, company: Company
) -> httpx.AsyncClient:
    async with db.unit_of_work() as s:
        await auth_service.update_user(
            s, actor=system_actor("tests"), user_id=company.l2_agent.id,
            data=UserUpdate(ticket_access="groups", password=IGOR[1]),
        )  # fmt: skip
    assert (await sign_in(other_client, *IGOR)).status_code == 303
    return other_client


def section(html: str, sid: str) -> str:
    match = re.search(rf'<section class="search-section"[^>]*id="{sid}">.*?</section>', html, re.S)
    assert match, f"no section {sid}"
    return match.group(0)


class TestSearchPage:
    async def test_the_header_has_the_search_box(self, lena: httpx.AsyncClient) -> None:
        html = (await lena.get("/account")).text
        assert '<form class="global-search" role="search" method="get" action="/search">' in html
        assert '<label for="global-search"' in html
        assert 'name="q"' in html and 'data-shortcut="global-search"' in html

    async def test_an_empty_query_shows_a_hint_and_no_results(
        self, lena: httpx.AsyncClient, login_ticket: tuple[int, int]
    ) -> None:
        for q in ("", "   "):
            r = await lena.get("/search", params={"q": q})
            assert r.status_code == 200
            assert "A ticket number such as 123" in r.text
            assert 'id="search-tickets"' not in r.text

    async def test_a_number_opens_the_ticket(
        self, lena: httpx.AsyncClient, login_ticket: tuple[int, int]
    ) -> None:
        ticket_id, number = login_ticket
        for q in (str(number), f"#{number}", f" # {number} "):
            r = await lena.get("/search", params={"q": q})
            assert r.status_code == 303, q
            assert r.headers["location"] == f"/tickets/{ticket_id}"

    async def test_an_unknown_number_searches_instead(self, lena: httpx.AsyncClient) -> None:
        r = await lena.get("/search", params={"q": "#424242"})
        assert r.status_code == 200
        assert "There is no ticket #424242 that you may see" in r.text

    async def test_a_word_finds_tickets_in_other_forms(
        self, lena: httpx.AsyncClient, company: Company, login_ticket: tuple[int, int]
    ) -> None:
        for q in ("войти", "вход", "кабинета"):
            r = await lena.get("/search", params={"q": q})
            assert r.status_code == 200
            tickets = section(r.text, "search-tickets")
            assert "Ошибка при входе" in tickets, q
            assert "Carol Customer" in tickets and "badge-status-new" in tickets
        r = await lena.get("/search", params={"q": "принтер"})
        assert "No tickets found." in section(r.text, "search-tickets")

    async def test_agents_find_words_of_internal_notes(
        self, lena: httpx.AsyncClient, login_ticket: tuple[int, int]
    ) -> None:
        r = await lena.get("/search", params={"q": NOTE_WORD})
        assert "Ошибка при входе" in section(r.text, "search-tickets")

    async def test_finds_contacts_by_email_and_name_and_organizations_by_name(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        r = await lena.get("/search", params={"q": "dave@acme.ru"})
        contacts = section(r.text, "search-contacts")
        assert f'href="/contacts/{company.same_org_customer.id}"' in contacts
        assert "Carol" not in contacts
        r = await lena.get("/search", params={"q": "Erin"})
        assert "Erin Other" in section(r.text, "search-contacts")
        r = await lena.get("/search", params={"q": "globex"})
        assert f'href="/organizations/{company.globex_id}"' in section(r.text, "search-orgs")
        assert "erin@globex.com" not in section(r.text, "search-contacts")  # not mid-address
        async with db.unit_of_work() as s:
            await contacts_service.create_contact(
                s, actor=system_actor("tests"), data=ContactCreate(name="Ольга Смирнова")
            )
        r = await lena.get("/search", params={"q": "смирнова"})
        assert "Ольга Смирнова" in section(r.text, "search-contacts")

    async def test_results_keep_the_query_in_the_boxes(self, lena: httpx.AsyncClient) -> None:
        r = await lena.get("/search", params={"q": "вход <b>"})
        assert r.status_code == 200
        assert 'value="вход &lt;b&gt;"' in r.text and "<b>" not in r.text

    async def test_a_too_long_query_is_refused(self, lena: httpx.AsyncClient) -> None:
        r = await lena.get("/search", params={"q": "x" * 201})
        assert r.status_code == 400
        assert "Use at most 200 characters." in r.text
        assert 'id="search-tickets"' not in r.text


class TestSearchScope:
    async def test_an_agent_of_some_groups_finds_only_their_groups_tickets(
        self,
        igor_groups: httpx.AsyncClient,
        db: Database,
        company: Company,
        login_ticket: tuple[int, int],
    ) -> None:
        l2_id, l2_number = await make(
            db, company.other_org_customer.id, "Вход через SSO", "Войти не получается",
            company.l2_group_id,
        )  # fmt: skip
        r = await igor_groups.get("/search", params={"q": "войти"})
        tickets = section(r.text, "search-tickets")
        assert "Вход через SSO" in tickets
        assert "Ошибка при входе" not in tickets
        r = await igor_groups.get("/search", params={"q": NOTE_WORD})
        assert NOTE_WORD not in section(r.text, "search-tickets")
        assert "Ошибка при входе" not in r.text
        # the number of a ticket he may not read does not open it, nor show it
        r = await igor_groups.get("/search", params={"q": f"#{login_ticket[1]}"})
        assert r.status_code == 200
        assert "Ошибка при входе" not in r.text
        r = await igor_groups.get("/search", params={"q": str(l2_number)})
        assert r.status_code == 303 and r.headers["location"] == f"/tickets/{l2_id}"

    async def test_signed_out_and_customers_are_sent_to_sign_in(
        self, client: httpx.AsyncClient, company: Company, login_ticket: tuple[int, int]
    ) -> None:
        for headers in ({}, company.customer.headers):
            r = await client.get("/search", params={"q": "войти"}, headers=headers)
            assert r.status_code == 303
            assert r.headers["location"].startswith("/login")
            assert "Ошибка" not in r.text
