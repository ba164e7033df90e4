"""The ticket page's SLA box (tickets/_sla.html, from sla.service.ticket_sla_view) and the
hand-back to line 1 (POST /tickets/{id}/deescalate), on both backends.

The clock is set by hand, as tests/sla/test_service.py does: the ticket's ``created_at``
moved to a Friday afternoon in Moscow and its policy assigned again at that moment; the
page's "now" is frozen (``sla.service.utcnow``), so the business time left is exact."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.schemas import UserUpdate
from opora.db import Database
from opora.sla import service as sla_service
from opora.sla.schemas import CalendarCreate, PolicyCreate
from opora.tickets import service as tickets_service
from opora.tickets.models import Message, Ticket
from opora.tickets.schemas import EscalateIn, RequesterIn, TicketCreate
from tests.conftest import Company
from tests.web.helpers import csrf_of, set_password, sign_in

MSK = ZoneInfo("Europe/Moscow")
ALICE = ("alice@opora.dev", "alice-secret")
IGOR = ("igor@opora.dev", "igor-secret")
FRIDAY_4PM = datetime(2027, 3, 5, 16, 0, tzinfo=MSK)  # a Friday
FRIDAY_5PM = datetime(2027, 3, 5, 17, 0, tzinfo=MSK)
MONDAY_2PM = datetime(2027, 3, 8, 14, 0, tzinfo=MSK)


@pytest.fixture
async def alice(client: httpx.AsyncClient, db: Database, company: Company) -> httpx.AsyncClient:
    """The admin, in Yekaterinburg (UTC+5): the box shows due times in her zone."""
    async with db.unit_of_work() as s:
        await auth_service.update_user(
            s, actor=system_actor("tests"), user_id=company.admin.id,
            data=UserUpdate(timezone="Asia/Yekaterinburg"),
        )  # fmt: skip
    assert (await sign_in(client, *ALICE)).status_code == 303
    return client


def freeze(monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    monkeypatch.setattr(sla_service, "utcnow", lambda: at.astimezone(UTC))


async def office_policy(db: Database, **fields: Any) -> None:
    """Office (Moscow, Mon-Fri 09:00-18:00) and a policy on it: normal tickets get a first
    response in 4 business hours and a resolution in 8."""
    actor = system_actor("tests")
    async with db.unit_of_work() as s:
        cal = await sla_service.create_calendar(
            s, actor=actor,
            data=CalendarCreate(name="Office", timezone="Europe/Moscow",
                                hours={d: [["09:00", "18:00"]]
                                       for d in ("mon", "tue", "wed", "thu", "fri")}),
        )  # fmt: skip
        data: dict[str, Any] = {
            "name": "Business hours", "calendar_id": cal.id,
            "targets": {"normal": {"first_response": 240, "resolution": 480}},
        }  # fmt: skip
        data.update(fields)
        await sla_service.create_policy(s, actor=actor, data=PolicyCreate(**data))


async def ticket_created(db: Database, company: Company, at: datetime, **fields: Any) -> int:
    """A ticket whose clock started at ``at``."""
    actor = system_actor("tests")
    async with db.unit_of_work() as s:
        ticket = await tickets_service.create_ticket(
            s, actor=actor,
            data=TicketCreate(subject="Printer on fire", body="Room 4, again.",
                              requester=RequesterIn(email="carol@acme.ru"),
                              group_id=company.l1_group_id, **fields),
        )  # fmt: skip
        ticket.created_at = at.astimezone(UTC)
        ticket.sla_state = {}
        await sla_service.assign_policy(s, ticket, now=at)
        return ticket.id


def sla_box(html: str) -> str:
    match = re.search(r'<section class="card sla-box".*?</section>', html, re.S)
    assert match, "the page has no SLA box"
    return re.sub(r"\s+", " ", match.group(0))


def target(box: str, name: str) -> str:
    match = re.search(rf'<li class="sla-target [^"]*" data-target="{name}".*?</li>', box)
    assert match, f"no {name} in the SLA box"
    return match.group(0)


class TestSlaBox:
    async def test_shows_each_target_with_its_due_time_and_business_time_left(
        self, alice: httpx.AsyncClient, db: Database, company: Company,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:  # fmt: skip
        await office_policy(db)
        ticket_id = await ticket_created(db, company, FRIDAY_4PM)
        freeze(monkeypatch, FRIDAY_5PM)
        box = sla_box((await alice.get(f"/tickets/{ticket_id}")).text)
        assert 'id="sla-policy">Business hours</p>' in box
        assert "Business hours: Office" in box
        first = target(box, "first_response")
        # 240 minutes from Friday 16:00: 2 h on Friday, then Monday 09:00-11:00 (Moscow),
        # shown in Yekaterinburg: 13:00; an hour gone, 3 business hours left
        assert 'data-state="running"' in first and "On track" in first
        assert "First response" in first
        assert '<time datetime="2027-03-08T08:00:00+00:00">2027-03-08 13:00</time>' in first
        assert "3 h left" in first
        resolution = target(box, "resolution")
        # 480 minutes: 2 h on Friday, 6 h on Monday, due 15:00 Moscow (17:00 in Yekaterinburg)
        assert "2027-03-08 17:00" in resolution and "7 h left" in resolution
        assert "next_response" not in box  # the policy gives this priority none

    async def test_a_breached_target_says_so_in_words(
        self, alice: httpx.AsyncClient, db: Database, company: Company,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:  # fmt: skip
        await office_policy(db)
        ticket_id = await ticket_created(db, company, FRIDAY_4PM)
        async with db.unit_of_work() as s:
            result = await sla_service.sweep_batch(s, now=MONDAY_2PM)
        assert result.breaches == 1  # the first response, due Monday 11:00
        freeze(monkeypatch, MONDAY_2PM)
        box = sla_box((await alice.get(f"/tickets/{ticket_id}")).text)
        first = target(box, "first_response")
        assert 'class="sla-target sla-breached"' in first and "Overdue" in first
        assert "overdue by 3 h" in first
        resolution = target(box, "resolution")
        # warned at 75% of 480 (360 minutes: Monday 13:00); due at 15:00, 1 h left
        assert 'data-state="warning"' in resolution and "Due soon" in resolution
        assert "1 h left" in resolution

    async def test_waiting_for_the_customer_pauses_the_clock(
        self, alice: httpx.AsyncClient, db: Database, company: Company,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:  # fmt: skip
        await office_policy(db)
        ticket_id = await ticket_created(db, company, FRIDAY_4PM)
        async with db.unit_of_work() as s:
            ticket = await s.get(Ticket, ticket_id)
            assert ticket is not None
            ticket.status = "pending"
            await sla_service.on_status_change(s, ticket, old="open", new="pending",
                                               at=FRIDAY_5PM)  # fmt: skip
        freeze(monkeypatch, MONDAY_2PM)
        box = sla_box((await alice.get(f"/tickets/{ticket_id}")).text)
        for name in ("first_response", "resolution"):
            item = target(box, name)
            assert 'data-state="paused"' in item and "Paused" in item
            assert "paused: waiting for the customer" in item and "left" not in item

    async def test_a_met_target_says_when(
        self, alice: httpx.AsyncClient, db: Database, company: Company,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:  # fmt: skip
        await office_policy(db)
        ticket_id = await ticket_created(db, company, FRIDAY_4PM)
        async with db.unit_of_work() as s:
            ticket = await s.get(Ticket, ticket_id)
            assert ticket is not None
            await sla_service.on_agent_reply(s, ticket, at=FRIDAY_5PM)
        freeze(monkeypatch, FRIDAY_5PM)
        first = target(sla_box((await alice.get(f"/tickets/{ticket_id}")).text), "first_response")
        assert 'data-state="met"' in first and "met at 2027-03-05 19:00" in first

    async def test_around_the_clock_and_no_box_without_a_policy(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        ticket_id = await ticket_created(db, company, datetime.now(UTC))
        assert 'class="card sla-box"' not in (await alice.get(f"/tickets/{ticket_id}")).text
        async with db.unit_of_work() as s:
            await sla_service.create_policy(
                s, actor=system_actor("tests"),
                data=PolicyCreate(name="24/7", targets={"normal": {"resolution": 600}}),
            )  # fmt: skip
        second = await ticket_created(db, company, datetime.now(UTC))
        box = sla_box((await alice.get(f"/tickets/{second}")).text)
        assert "Around the clock" in box and "10 h left" in box

    async def test_the_inbox_says_paused_for_a_paused_ticket(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await office_policy(db)
        ticket_id = await ticket_created(db, company, FRIDAY_4PM)
        async with db.unit_of_work() as s:
            ticket = await s.get(Ticket, ticket_id)
            assert ticket is not None
            ticket.status = "pending"
            await sla_service.on_status_change(s, ticket, old="open", new="pending",
                                               at=FRIDAY_5PM)  # fmt: skip
        view = await alice.post(
            "/api/v1/views", headers=company.admin.headers,
            json={"name": "Due", "columns": ["number", "subject", "status", "due_at"]},
        )  # fmt: skip
        assert view.status_code == 201, view.text
        page = (await alice.get(f"/inbox/{view.json()['key']}")).text
        row = re.search(rf'<tr data-ticket="{ticket_id}">(.*?)</tr>', page, re.S)
        assert row is not None
        assert '<span class="due-paused">paused</span>' in row.group(1)


class TestHandBack:
    @pytest.fixture
    async def igor(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> httpx.AsyncClient:
        await set_password(db, company.l2_agent.id, IGOR[1])
        assert (await sign_in(client, *IGOR)).status_code == 303
        return client

    async def escalated(self, db: Database, company: Company) -> int:
        ticket_id = await ticket_created(db, company, datetime.now(UTC))
        async with db.unit_of_work() as s:
            await tickets_service.escalate_ticket(
                s, actor=system_actor("tests"), ticket_id=ticket_id,
                data=EscalateIn(reason="Needs the firmware team"),
            )  # fmt: skip
        return ticket_id

    async def test_the_form_shows_only_above_line_1(
        self, igor: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        on_line_1 = await ticket_created(db, company, datetime.now(UTC))
        assert 'id="deescalate-form"' not in (await igor.get(f"/tickets/{on_line_1}")).text
        ticket_id = await self.escalated(db, company)
        page = (await igor.get(f"/tickets/{ticket_id}")).text
        assert 'id="deescalate-form"' in page and "Hand back to line 1" in page
        assert '<label for="deescalate-reason">' in page

    async def test_a_reason_is_required(
        self, igor: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        ticket_id = await self.escalated(db, company)
        csrf = csrf_of((await igor.get(f"/tickets/{ticket_id}")).text)
        r = await igor.post(f"/tickets/{ticket_id}/deescalate",
                            data={"csrf_token": csrf, "reason": "  "})  # fmt: skip
        assert r.status_code == 400
        assert re.search(r'id="deescalate-reason"[^>]*aria-invalid="true"', r.text)
        assert "Say why the ticket goes back to line 1." in r.text
        assert not re.search(r'id="escalate-reason"[^>]*aria-invalid', r.text)
        async with db.unit_of_work(write=False) as s:
            assert (await s.get(Ticket, ticket_id)).line == 2  # type: ignore[union-attr]

    async def test_with_a_reason_the_ticket_goes_to_line_1_with_a_note(
        self, igor: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        ticket_id = await self.escalated(db, company)
        csrf = csrf_of((await igor.get(f"/tickets/{ticket_id}")).text)
        reason = "Not a firmware fault: the customer's power supply"
        r = await igor.post(f"/tickets/{ticket_id}/deescalate",
                            data={"csrf_token": csrf, "reason": reason})  # fmt: skip
        assert (r.status_code, r.headers["location"]) == (
            303, f"/tickets/{ticket_id}?deescalated=1",
        )  # fmt: skip
        async with db.unit_of_work(write=False) as s:
            ticket = await s.get(Ticket, ticket_id)
            assert ticket is not None
            assert (ticket.line, ticket.group_id) == (1, company.l1_group_id)
            notes = (
                await s.execute(select(Message.body_text, Message.visibility)
                                .where(Message.ticket_id == ticket_id))
            ).all()  # fmt: skip
        assert any(reason in body and vis == "internal" for body, vis in notes)
        page = (await igor.get(r.headers["location"])).text
        assert 'id="deescalated-notice"' in page and "handed back to line 1" in page
        assert 'id="deescalate-form"' not in page

    async def test_the_text_is_kept_when_there_is_no_line_1_group(
        self, igor: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        ticket_id = await self.escalated(db, company)
        async with db.unit_of_work() as s:
            group = await auth_service.get_group(
                s, actor=system_actor("tests"), group_id=company.l1_group_id
            )
            group.is_active = False
        csrf = csrf_of((await igor.get(f"/tickets/{ticket_id}")).text)
        r = await igor.post(f"/tickets/{ticket_id}/deescalate",
                            data={"csrf_token": csrf, "reason": "Back to you"})  # fmt: skip
        assert r.status_code == 400
        assert re.search(r'id="deescalate-error">[^<]*no active line 1 group', r.text)
        assert ">Back to you</textarea>" in r.text
