"""The people pages (src/opora/contacts/pages.py) and the ticket sidebar's customer
links, on both backends."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.schemas import UserUpdate
from opora.contacts import service as contacts_service
from opora.contacts.models import Contact, Organization
from opora.contacts.schemas import ContactCreate, IdentityIn, OrganizationUpdate
from opora.db import Database
from opora.tickets import service as tickets_service
from opora.tickets.schemas import TicketCreate
from tests.conftest import Company
from tests.web.helpers import csrf_of, set_password, sign_in

LENA = ("lena@opora.dev", "lena-secret")
IGOR = ("igor@opora.dev", "igor-secret")


@dataclass
class Tickets:
    carol_l1: int  # Carol's (Acme), in L1
    carol_l2: int  # Carol's (Acme), in L2
    dave_l1: int  # Dave's (Acme), in L1
    erin_l1: int  # Erin's (Globex), in L1


async def _ticket(db: Database, requester_id: int, subject: str, group_id: int) -> int:
    async with db.unit_of_work() as s:
        ticket = await tickets_service.create_ticket(
            s,
            actor=system_actor("tests"),
            data=TicketCreate(
                subject=subject, body=f"{subject}, please.", requester_id=requester_id,
                group_id=group_id,
            ),
        )  # fmt: skip
        return ticket.id


@pytest.fixture
async def tickets(db: Database, company: Company) -> Tickets:
    c, l1, l2 = company, company.l1_group_id, company.l2_group_id
    return Tickets(
        carol_l1=await _ticket(db, c.customer.id, "Printer jams", l1),
        carol_l2=await _ticket(db, c.customer.id, "VPN drops", l2),
        dave_l1=await _ticket(db, c.same_org_customer.id, "Mail bounces", l1),
        erin_l1=await _ticket(db, c.other_org_customer.id, "Globex laptop", l1),
    )


@pytest.fixture
async def lena(client: httpx.AsyncClient, db: Database, company: Company) -> httpx.AsyncClient:
    await set_password(db, company.l1_agent.id, LENA[1])
    assert (await sign_in(client, *LENA)).status_code == 303
    return client


@pytest.fixture
async def igor_groups(
    other_client: httpx.AsyncClient, db: Database, company: Company
) -> httpx.AsyncClient:
    """Igor, who may read only his group's (L2) tickets."""
    async with db.unit_of_work() as s:
        await auth_service.update_user(
            s, actor=system_actor("tests"), user_id=company.l2_agent.id,
            data=UserUpdate(ticket_access="groups", password=IGOR[1]),
        )  # fmt: skip
    assert (await sign_in(other_client, *IGOR)).status_code == 303
    return other_client


async def contact_row(
    db: Database, contact_id: int
) -> tuple[str, str | None, str, str, int | None]:
    async with db.unit_of_work(write=False) as s:
        c = await s.get(Contact, contact_id)
        assert c is not None
        return c.name, c.technical_level, c.language, c.timezone, c.organization_id


def ticket_numbers(html: str, table_id: str) -> set[str]:
    match = re.search(rf'<table class="ticket-table" id="{table_id}">.*?</table>', html, re.S)
    if match is None:
        return set()
    return set(re.findall(r'<td class="num">#(\d+)</td>', match.group(0)))


async def numbers_of(db: Database, *ids: int) -> list[str]:
    async with db.unit_of_work(write=False) as s:
        return [str((await tickets_service.get_ticket(
            s, actor=system_actor("tests"), ticket_id=i)).number) for i in ids]  # fmt: skip


class TestContactPage:
    async def test_shows_the_card_and_the_contacts_tickets(
        self, lena: httpx.AsyncClient, db: Database, company: Company, tickets: Tickets
    ) -> None:
        async with db.unit_of_work() as s:
            await contacts_service.update_contact(
                s, actor=system_actor("tests"), contact_id=company.customer.id,
                data=contacts_service.ContactUpdate(
                    technical_level="expert", timezone="Europe/Moscow",
                    add_identities=[IdentityIn(kind="phone", value="+7 999 123-45-67")],
                ),
            )  # fmt: skip
        r = await lena.get(f"/contacts/{company.customer.id}")
        assert r.status_code == 200
        html = r.text
        assert "Carol Customer" in html and "carol@acme.ru" in html and "+79991234567" in html
        assert "Europe/Moscow" in html and "Expert" in html
        assert f'<a href="/organizations/{company.acme_id}">Acme</a>' in html
        assert f'href="/tickets/new?requester_id={company.customer.id}"' in html
        carol_l1, carol_l2, dave_l1 = await numbers_of(
            db, tickets.carol_l1, tickets.carol_l2, tickets.dave_l1
        )
        assert ticket_numbers(html, "contact-tickets") == {carol_l1, carol_l2}
        assert dave_l1 not in ticket_numbers(html, "contact-tickets")  # a colleague's
        assert "badge-status-new" in html

    async def test_an_agent_of_some_groups_sees_only_their_groups_tickets(
        self, igor_groups: httpx.AsyncClient, db: Database, company: Company, tickets: Tickets
    ) -> None:
        r = await igor_groups.get(f"/contacts/{company.customer.id}")
        assert r.status_code == 200
        (carol_l2,) = await numbers_of(db, tickets.carol_l2)
        assert ticket_numbers(r.text, "contact-tickets") == {carol_l2}
        assert "Printer jams" not in r.text

    async def test_unknown_contact_is_a_404_page(self, lena: httpx.AsyncClient) -> None:
        r = await lena.get("/contacts/999999")
        assert r.status_code == 404
        assert "Contact not found" in r.text

    async def test_tickets_are_paged_with_a_cursor(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        for i in range(27):
            await _ticket(db, company.other_org_customer.id, f"Case {i}", company.l1_group_id)
        r = await lena.get(f"/contacts/{company.other_org_customer.id}")
        first = ticket_numbers(r.text, "contact-tickets")
        assert len(first) == 25
        next_url = re.search(r'href="(/contacts/\d+\?cursor=[^"#]+)#contact-tickets"', r.text)
        assert next_url
        r2 = await lena.get(next_url.group(1).replace("&amp;", "&"))
        second = ticket_numbers(r2.text, "contact-tickets")
        assert len(second) == 2 and not first & second
        bad = await lena.get(f"/contacts/{company.other_org_customer.id}?cursor=garbage")
        assert bad.status_code == 400
        assert "not valid any more" in bad.text


class TestEditContact:
    async def form(self, client: httpx.AsyncClient, contact_id: int, **values: str) -> dict:
        csrf = csrf_of((await client.get(f"/contacts/{contact_id}")).text)
        data = {"name": "Carol Customer", "technical_level": "", "language": "en",
                "timezone": "UTC", "organization": "Acme"}  # fmt: skip
        data.update(values)
        return {"csrf_token": csrf, **data}

    async def test_saves_name_level_language_zone_and_organization(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        data = await self.form(
            lena, company.customer.id, name="Carol Smith", technical_level="novice",
            language="ru", timezone="Asia/Yekaterinburg", organization="Globex",
        )  # fmt: skip
        r = await lena.post(f"/contacts/{company.customer.id}", data=data)
        assert r.status_code == 303
        assert r.headers["location"] == f"/contacts/{company.customer.id}?saved=1"
        assert await contact_row(db, company.customer.id) == (
            "Carol Smith",
            "novice",
            "ru",
            "Asia/Yekaterinburg",
            company.globex_id,
        )
        page = await lena.get(r.headers["location"])
        assert "Saved." in page.text and "Novice" in page.text

    async def test_an_empty_organization_takes_the_contact_out_of_it(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        data = await self.form(lena, company.customer.id, organization="")
        assert (await lena.post(f"/contacts/{company.customer.id}", data=data)).status_code == 303
        assert (await contact_row(db, company.customer.id))[4] is None

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("timezone", "Mars/Olympus", "Enter a time zone such as Europe/Moscow."),
            ("organization", "Initech", "There is no organization with this name."),
            ("name", "N" * 201, "Use at most 200 characters."),
            ("technical_level", "wizard", "Check this field."),
        ],
    )
    async def test_bad_input_is_marked_kept_and_changes_nothing(
        self,
        lena: httpx.AsyncClient,
        db: Database,
        company: Company,
        field: str,
        value: str,
        message: str,
    ) -> None:
        before = await contact_row(db, company.customer.id)
        data = await self.form(lena, company.customer.id, **{"name": "Carol Renamed", field: value})
        r = await lena.post(f"/contacts/{company.customer.id}", data=data)
        assert r.status_code == 400
        assert await contact_row(db, company.customer.id) == before
        html = r.text
        assert message in html
        assert f'aria-describedby="contact-{field}-error"' in html
        if field != "technical_level":
            assert f'value="{value}"' in html
        if field != "name":
            assert 'value="Carol Renamed"' in html  # the other fields keep their text too

    async def test_a_form_without_its_token_changes_nothing(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        before = await contact_row(db, company.customer.id)
        data = await self.form(lena, company.customer.id, name="Mallory")
        data["csrf_token"] = "forged"
        r = await lena.post(f"/contacts/{company.customer.id}", data=data)
        assert r.status_code == 403
        assert await contact_row(db, company.customer.id) == before


class TestContactList:
    async def names(self, client: httpx.AsyncClient, q: str) -> list[str]:
        r = await client.get("/contacts", params={"q": q})
        assert r.status_code == 200
        table = re.search(r'<table[^>]*id="contact-list".*?</table>', r.text, re.S)
        return re.findall(r'<a href="/contacts/\d+">([^<]+)</a>', table.group(0)) if table else []

    async def test_lists_the_newest_first(self, lena: httpx.AsyncClient) -> None:
        assert await self.names(lena, "") == ["Erin Other", "Dave Colleague", "Carol Customer"]

    async def test_finds_by_email_phone_and_name(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            await contacts_service.create_contact(
                s, actor=system_actor("tests"),
                data=ContactCreate(
                    name="Иван Петров", email="ivan_p@mail.ru",
                    identities=[IdentityIn(kind="phone", value="8 (912) 555-01-02")],
                ),
            )  # fmt: skip
        assert await self.names(lena, "carol@acme.ru") == ["Carol Customer"]
        assert await self.names(lena, "CAROL") == ["Carol Customer"]  # the address's beginning
        assert await self.names(lena, "ivan_p") == ["Иван Петров"]  # "_" is no wildcard
        assert await self.names(lena, "iva%") == []
        assert await self.names(lena, "8 912 555") == ["Иван Петров"]
        assert await self.names(lena, "+8912") == ["Иван Петров"]
        assert await self.names(lena, "555") == []  # a phone matches from its beginning
        assert await self.names(lena, "colleague") == ["Dave Colleague"]  # a word of the name
        assert await self.names(lena, "петров") == ["Иван Петров"]
        assert await self.names(lena, "Ива") == ["Иван Петров"]
        assert await self.names(lena, "olleague") == []
        assert await self.names(lena, "acme.ru") == []  # not the middle of an address

    async def test_pages_with_a_cursor(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            for i in range(52):
                await contacts_service.create_contact(
                    s, actor=system_actor("tests"), data=ContactCreate(name=f"Bulk {i:02d}")
                )
        r = await lena.get("/contacts", params={"q": "bulk"})
        first = re.findall(r">Bulk (\d\d)<", r.text)
        assert len(first) == 50 and first[0] == "51"
        next_url = re.search(r'href="(/contacts\?[^"]+)" rel="next"', r.text)
        assert next_url
        r2 = await lena.get(next_url.group(1).replace("&amp;", "&"))
        assert re.findall(r">Bulk (\d\d)<", r2.text) == ["01", "00"]
        assert 'rel="next"' not in r2.text

    async def test_lists_an_organizations_contacts(
        self, lena: httpx.AsyncClient, company: Company
    ) -> None:
        r = await lena.get("/contacts", params={"organization_id": company.acme_id})
        assert r.status_code == 200
        assert "Carol Customer" in r.text and "Dave Colleague" in r.text
        assert "Erin Other" not in r.text


class TestOrganizationPages:
    async def test_list_and_search_by_name(self, lena: httpx.AsyncClient) -> None:
        r = await lena.get("/organizations")
        assert r.status_code == 200 and "Acme" in r.text and "Globex" in r.text
        r = await lena.get("/organizations", params={"q": "glob"})
        assert "Globex" in r.text and ">Acme<" not in r.text

    async def test_shows_domains_vip_notes_contacts_and_tickets(
        self, lena: httpx.AsyncClient, db: Database, company: Company, tickets: Tickets
    ) -> None:
        async with db.unit_of_work() as s:
            await contacts_service.update_organization(
                s, actor=system_actor("tests"), org_id=company.acme_id,
                data=OrganizationUpdate(vip=True, notes="Pays on time."),
            )  # fmt: skip
        r = await lena.get(f"/organizations/{company.acme_id}")
        assert r.status_code == 200
        html = r.text
        assert 'id="org-vip"' in html and "acme.ru" in html and "Pays on time." in html
        assert "Carol Customer" in html and "Dave Colleague" in html and "Erin Other" not in html
        expected = set(await numbers_of(db, tickets.carol_l1, tickets.carol_l2, tickets.dave_l1))
        assert ticket_numbers(html, "org-tickets") == expected

    async def test_an_agent_of_some_groups_sees_only_their_groups_tickets(
        self, igor_groups: httpx.AsyncClient, db: Database, company: Company, tickets: Tickets
    ) -> None:
        r = await igor_groups.get(f"/organizations/{company.acme_id}")
        assert r.status_code == 200
        assert ticket_numbers(r.text, "org-tickets") == set(await numbers_of(db, tickets.carol_l2))
        assert "Mail bounces" not in r.text and "Printer jams" not in r.text

    async def test_edit_saves_and_bad_input_changes_nothing(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        url = f"/organizations/{company.acme_id}"
        csrf = csrf_of((await lena.get(url)).text)
        bad = {"csrf_token": csrf, "name": "Acme Corp", "domains": "acme.ru, not a domain!",
               "notes": "Keep me"}  # fmt: skip
        r = await lena.post(url, data=bad)
        assert r.status_code == 400
        assert 'aria-describedby="org-domains-error"' in r.text
        assert 'value="acme.ru, not a domain!"' in r.text and "Keep me" in r.text
        taken = {**bad, "name": "Globex", "domains": "acme.ru"}
        r = await lena.post(url, data=taken)
        assert r.status_code == 400 and "This is already taken." in r.text
        async with db.unit_of_work(write=False) as s:
            org = await s.get(Organization, company.acme_id)
            assert org is not None
            assert (org.name, org.domains, org.vip, org.notes) == ("Acme", ["acme.ru"], False, "")
        good = {**bad, "domains": "acme.ru, ACME.com", "vip": "1"}
        r = await lena.post(url, data=good)
        assert r.status_code == 303
        async with db.unit_of_work(write=False) as s:
            org = await s.get(Organization, company.acme_id)
            assert org is not None
            assert (org.name, org.domains, org.vip, org.notes) == (
                "Acme Corp",
                ["acme.com", "acme.ru"],
                True,
                "Keep me",
            )

    async def test_unknown_organization_is_a_404_page(self, lena: httpx.AsyncClient) -> None:
        assert (await lena.get("/organizations/999999")).status_code == 404
        assert (await lena.get("/contacts?organization_id=999999")).status_code == 404


class TestWhoMayOpenThem:
    PATHS = ("/contacts", "/contacts/{carol}", "/organizations", "/organizations/{acme}")

    async def test_signed_out_and_customers_are_sent_to_sign_in(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        for path in self.PATHS:
            url = path.format(carol=company.customer.id, acme=company.acme_id)
            for headers in ({}, company.customer.headers, company.same_org_customer.headers):
                r = await client.get(url, headers=headers)
                assert r.status_code == 303, (url, headers)
                assert r.headers["location"].startswith("/login")
                assert "Carol" not in r.text

    async def test_a_customer_cannot_sign_in_to_the_pages(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await sign_in(client, "carol@acme.ru", "whatever-password")
        assert r.status_code != 303
        assert (await client.get("/contacts")).status_code == 303

    async def test_a_post_without_a_session_changes_nothing(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        before = await contact_row(db, company.customer.id)
        r = await client.post(
            f"/contacts/{company.customer.id}",
            data={"name": "Hacked", "timezone": "UTC", "language": "en"},
            headers=company.admin.headers,
        )
        assert r.status_code in (303, 403)
        assert await contact_row(db, company.customer.id) == before


class TestTicketSidebar:
    async def test_links_the_contact_and_organization_and_lists_the_orgs_tickets(
        self, lena: httpx.AsyncClient, db: Database, company: Company, tickets: Tickets
    ) -> None:
        r = await lena.get(f"/tickets/{tickets.carol_l1}")
        assert r.status_code == 200
        html = r.text
        assert f'href="/contacts/{company.customer.id}"' in html
        assert f'<a href="/organizations/{company.acme_id}">Acme</a>' in html
        org_part = html[
            html.index('id="org-tickets"') : html.index("</ul>", html.index('id="org-tickets"'))
        ]
        assert "Mail bounces" in org_part  # Dave's, a colleague at Acme
        assert "Printer jams" not in org_part and "VPN drops" not in org_part  # Carol's own
        assert "Globex laptop" not in org_part
        previous = html[html.index('id="previous-tickets"') :]
        assert "VPN drops" in previous[: previous.index("</ul>")]

    async def test_no_organization_section_without_an_organization(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            loner = await contacts_service.create_contact(
                s, actor=system_actor("tests"), data=ContactCreate(name="Lone Wolf")
            )
            orgs = (await s.execute(select(Organization.id))).scalars().all()
            assert loner.organization_id is None and len(orgs) == 2
        ticket_id = await _ticket(db, loner.id, "Alone", company.l1_group_id)
        r = await lena.get(f"/tickets/{ticket_id}")
        assert r.status_code == 200
        assert "Organization's tickets" not in r.text and 'id="org-tickets"' not in r.text

    async def test_the_orgs_tickets_respect_the_agents_groups(
        self, igor_groups: httpx.AsyncClient, db: Database, company: Company, tickets: Tickets
    ) -> None:
        await _ticket(db, company.same_org_customer.id, "Dave in L2", company.l2_group_id)
        r = await igor_groups.get(f"/tickets/{tickets.carol_l2}")
        assert r.status_code == 200
        org_part = r.text[r.text.index("Organization's tickets") :]
        assert "Dave in L2" in org_part and "Mail bounces" not in org_part
