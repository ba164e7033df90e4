"""Merge, link and the resolution asked for on solving, on the ticket page (both backends)."""

from __future__ import annotations

import httpx
import pytest

from opora.auth.actor import system_actor
from opora.db import Database
from opora.tickets import service as tickets_service
from opora.tickets.models import Ticket
from opora.tickets.schemas import RequesterIn, TicketCreate, TicketUpdate
from tests.conftest import Company
from tests.web.helpers import csrf_of, set_password, sign_in

LENA = ("lena@opora.dev", "lena-secret")


async def make_ticket(db: Database, company: Company, subject: str, body: str) -> Ticket:
    async with db.unit_of_work() as s:
        return await tickets_service.create_ticket(
            s,
            actor=system_actor("tests"),
            data=TicketCreate(
                subject=subject,
                body=body,
                requester=RequesterIn(email="carol@acme.ru", name="Carol Customer"),
                group_id=company.l1_group_id,
            ),
        )


async def load(db: Database, ticket_id: int) -> Ticket:
    async with db.unit_of_work() as s:
        ticket = await s.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


@pytest.fixture
async def source(db: Database, company: Company) -> Ticket:
    return await make_ticket(db, company, "Printer jams", "Paper jams in tray 2.")


@pytest.fixture
async def target(db: Database, company: Company) -> Ticket:
    return await make_ticket(db, company, "Printer broken", "The office printer is broken.")


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


async def messages_of(client: httpx.AsyncClient, company: Company, ticket_id: int) -> list[str]:
    r = await client.get(f"/api/v1/tickets/{ticket_id}", headers=company.admin.headers)
    assert r.status_code == 200
    return [m["body_text"] for m in r.json()["messages"]]


class TestMergeTicket:
    async def test_asks_to_confirm_with_both_subjects_and_changes_nothing_yet(
        self, lena: httpx.AsyncClient, db: Database, source: Ticket, target: Ticket
    ) -> None:
        token = await form_csrf(lena, source.id)
        r = await lena.post(
            f"/tickets/{source.id}/merge", data={"csrf_token": token, "number": str(target.number)}
        )
        assert r.status_code == 200
        assert 'id="merge-confirm"' in r.text
        assert "Printer jams" in r.text and "Printer broken" in r.text
        assert 'name="confirm" value="1"' in r.text and 'id="merge-cancel"' in r.text
        assert (await load(db, source.id)).merged_into_id is None

    async def test_merge_by_number_moves_the_messages_closes_the_source_and_redirects(
        self,
        lena: httpx.AsyncClient,
        db: Database,
        company: Company,
        source: Ticket,
        target: Ticket,
    ) -> None:
        token = await form_csrf(lena, source.id)
        r = await lena.post(
            f"/tickets/{source.id}/merge",
            data={"csrf_token": token, "number": f"#{target.number}", "confirm": "1"},
        )
        assert r.status_code == 303
        assert r.headers["location"] == f"/tickets/{target.id}?merged={source.number}#merged-notice"
        merged = await load(db, source.id)
        assert merged.status == "closed" and merged.merged_into_id == target.id
        assert "Paper jams in tray 2." in await messages_of(lena, company, target.id)
        page = await lena.get(r.headers["location"])
        assert f"Ticket #{source.number} is merged into this ticket." in page.text

    @pytest.mark.parametrize(
        ("number", "message"),
        [
            ("", "Enter a ticket number."),
            ("abc", "Enter a ticket number."),
            ("999999", "There is no ticket with this number that you may see."),
            ("self", "A ticket cannot be merged into itself."),
        ],
    )
    async def test_a_bad_number_is_shown_in_the_form_and_changes_nothing(
        self,
        lena: httpx.AsyncClient,
        db: Database,
        company: Company,
        source: Ticket,
        number: str,
        message: str,
    ) -> None:
        number = str(source.number) if number == "self" else number
        token = await form_csrf(lena, source.id)
        for confirm in ("", "1"):
            r = await lena.post(
                f"/tickets/{source.id}/merge",
                data={"csrf_token": token, "number": number, "confirm": confirm},
            )
            assert r.status_code == 400
            assert message in r.text
            assert 'id="merge-number" ' in r.text and 'aria-invalid="true"' in r.text
            assert f'value="{number}"' in r.text
        ticket = await load(db, source.id)
        assert ticket.status == "new" and ticket.merged_into_id is None
        assert await messages_of(lena, company, source.id) == ["Paper jams in tray 2."]

    async def test_a_closed_target_is_refused(
        self, lena: httpx.AsyncClient, db: Database, source: Ticket, target: Ticket
    ) -> None:
        async with db.unit_of_work() as s:
            for status in ("solved", "closed"):
                await tickets_service.update_ticket(
                    s,
                    actor=system_actor("tests"),
                    ticket_id=target.id,
                    data=TicketUpdate(status=status),
                )
        token = await form_csrf(lena, source.id)
        r = await lena.post(
            f"/tickets/{source.id}/merge",
            data={"csrf_token": token, "number": str(target.number), "confirm": "1"},
        )
        assert r.status_code == 400
        assert "That ticket is closed; pick an open one." in r.text
        assert (await load(db, source.id)).merged_into_id is None


class TestLinks:
    async def test_link_to_a_ticket_by_number_lists_it_in_the_sidebar_and_unlinks(
        self, lena: httpx.AsyncClient, source: Ticket, target: Ticket
    ) -> None:
        token = await form_csrf(lena, source.id)
        r = await lena.post(
            f"/tickets/{source.id}/links",
            data={"csrf_token": token, "kind": "parent", "number": str(target.number)},
        )
        assert r.status_code == 303
        page = (await lena.get(f"/tickets/{source.id}")).text
        assert f'href="/tickets/{target.id}">#{target.number} Printer broken</a>' in page
        assert 'data-link-kind="parent"' in page and "Parent of" in page
        other = (await lena.get(f"/tickets/{target.id}")).text
        assert "Child of" in other and f"#{source.number} Printer jams" in other

        link_path = page.split(f'action="/tickets/{source.id}/links/', 1)[1].split('"', 1)[0]
        r = await lena.post(
            f"/tickets/{source.id}/links/{link_path}", data={"csrf_token": csrf_of(page)}
        )
        assert r.status_code == 303
        page = (await lena.get(f"/tickets/{source.id}")).text
        assert 'id="ticket-links"' not in page and "No links." in page

    async def test_a_vendor_link_keeps_its_address_and_reference(
        self, lena: httpx.AsyncClient, source: Ticket
    ) -> None:
        token = await form_csrf(lena, source.id)
        r = await lena.post(
            f"/tickets/{source.id}/links",
            data={
                "csrf_token": token,
                "kind": "vendor",
                "external_url": "https://vendor.example/issues/77",
                "external_ref": "VND-77",
            },
        )
        assert r.status_code == 303
        page = (await lena.get(f"/tickets/{source.id}")).text
        assert 'href="https://vendor.example/issues/77"' in page and ">VND-77</a>" in page

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"kind": "related", "number": "999999"}, "There is no ticket with this number"),
            ({"kind": "related", "number": "x"}, "Enter a ticket number."),
            ({"kind": "related", "number": "self"}, "A ticket cannot be linked to itself."),
            ({"kind": "vendor", "external_url": ""}, "Enter the address of the vendor"),
            ({"kind": "vendor", "external_url": "ftp://x"}, "Enter an http:// or https://"),
        ],
    )
    async def test_bad_input_is_shown_and_kept(
        self, lena: httpx.AsyncClient, source: Ticket, data: dict[str, str], message: str
    ) -> None:
        if data.get("number") == "self":
            data = {**data, "number": str(source.number)}
        token = await form_csrf(lena, source.id)
        r = await lena.post(f"/tickets/{source.id}/links", data={"csrf_token": token, **data})
        assert r.status_code == 400
        assert message in r.text and 'aria-invalid="true"' in r.text
        assert "No links." in r.text

    async def test_unlinking_without_the_token_is_refused(
        self, lena: httpx.AsyncClient, source: Ticket, target: Ticket
    ) -> None:
        token = await form_csrf(lena, source.id)
        await lena.post(
            f"/tickets/{source.id}/links",
            data={"csrf_token": token, "kind": "related", "number": str(target.number)},
        )
        page = (await lena.get(f"/tickets/{source.id}")).text
        link_path = page.split(f'action="/tickets/{source.id}/links/', 1)[1].split('"', 1)[0]
        r = await lena.post(f"/tickets/{source.id}/links/{link_path}", data={})
        assert r.status_code == 403
        assert 'id="ticket-links"' in (await lena.get(f"/tickets/{source.id}")).text


class TestResolutionOnSolve:
    def form(self, token: str, company: Company, **extra: str) -> dict[str, str]:
        return {
            "csrf_token": token,
            "status": "solved",
            "priority": "normal",
            "type": "question",
            "group_id": str(company.l1_group_id),
            "assignee_id": "",
            "tags": "",
            **extra,
        }

    async def test_solving_without_a_solution_is_refused_with_the_input_kept(
        self, lena: httpx.AsyncClient, db: Database, company: Company, source: Ticket
    ) -> None:
        token = await form_csrf(lena, source.id)
        r = await lena.post(
            f"/tickets/{source.id}",
            data=self.form(token, company, resolution_problem="Tray 2 roller worn"),
        )
        assert r.status_code == 400
        assert "Say how the problem was solved before solving the ticket." in r.text
        assert (
            'id="edit-resolution-solution" name="resolution_solution" rows="2" aria-invalid="true"'
            in r.text
        )
        assert ">Tray 2 roller worn</textarea>" in r.text
        ticket = await load(db, source.id)
        assert ticket.status == "new" and not ticket.resolution

    async def test_solving_with_a_resolution_stores_and_shows_it(
        self, lena: httpx.AsyncClient, db: Database, company: Company, source: Ticket
    ) -> None:
        token = await form_csrf(lena, source.id)
        r = await lena.post(
            f"/tickets/{source.id}",
            data=self.form(
                token,
                company,
                resolution_problem="Tray 2 roller worn",
                resolution_solution="Replaced the roller",
                resolution_outcome="Prints fine",
            ),
        )
        assert r.status_code == 303, r.text
        ticket = await load(db, source.id)
        assert ticket.status == "solved"
        assert ticket.resolution == {
            "problem": "Tray 2 roller worn",
            "solution": "Replaced the roller",
            "outcome": "Prints fine",
        }
        page = (await lena.get(f"/tickets/{source.id}")).text
        assert 'id="resolution"' in page
        assert '<dd id="resolution-solution">Replaced the roller</dd>' in page

    async def test_other_statuses_need_no_resolution(
        self, lena: httpx.AsyncClient, db: Database, company: Company, source: Ticket
    ) -> None:
        token = await form_csrf(lena, source.id)
        r = await lena.post(f"/tickets/{source.id}", data=self.form(token, company, status="open"))
        assert r.status_code == 303
        assert (await load(db, source.id)).status == "open"
        page = (await lena.get(f"/tickets/{source.id}")).text
        assert 'id="resolution"' not in page
