"""SLAs on both backends: calendars and policies through the API (the issue's contract and
its bad input), the clock on real tickets (start, business hours, pause and resume,
first and next response, resolution), and the sweep that records each warning and
breach exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from opora.auth import service as auth_service
from opora.auth.actor import Actor, system_actor
from opora.db import Database
from opora.sla import service as sla
from opora.tickets import service as tickets
from opora.tickets.models import Ticket, TicketEvent
from opora.tickets.schemas import MessageCreate, RequesterIn, TicketCreate, TicketUpdate
from tests.conftest import Company

MSK = ZoneInfo("Europe/Moscow")
OFFICE = {
    "name": "Office", "timezone": "Europe/Moscow",
    "hours": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2027-01-01", "2027-01-07"],
}  # fmt: skip


async def agent(db: Database, user_id: int) -> Actor:
    async with db.unit_of_work(write=False) as s:
        user = await auth_service.get_user(s, actor=system_actor("t"), user_id=user_id)
        return await auth_service.actor_for_user(s, user)


async def policy(client: httpx.AsyncClient, company: Company, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Standard", "position": 10, "conditions": {},
        "targets": {p: {"first_response": 60, "next_response": 120, "resolution": 480}
                    for p in ("low", "normal", "high", "urgent")},
    }  # fmt: skip
    body.update(fields)
    r = await client.post("/api/v1/sla/policies", headers=company.admin.headers, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def new_ticket(db: Database, company: Company, **fields: Any) -> Ticket:
    data: dict[str, Any] = {
        "subject": "Не могу войти", "body": "Пишет «неверный пароль»",
        "requester": RequesterIn(email="carol@acme.ru"), "group_id": company.l1_group_id,
    }  # fmt: skip
    data.update(fields)
    async with db.unit_of_work() as s:
        return await tickets.create_ticket(
            s, actor=await agent(db, company.l1_agent.id), data=TicketCreate(**data)
        )


async def load(db: Database, ticket_id: int) -> Ticket:
    async with db.unit_of_work(write=False) as s:
        found = await s.get(Ticket, ticket_id)
    assert found is not None
    return found


class TestApi:
    async def test_a_calendar_and_a_policy_as_the_contract_says(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        h = company.admin.headers
        r = await client.post("/api/v1/sla/calendars", headers=h, json=OFFICE)
        assert r.status_code == 201, r.text
        cal = r.json()
        assert cal["hours"]["mon"] == [["09:00", "18:00"]] and cal["always_open"] is False
        assert cal["holidays"] == ["2027-01-01", "2027-01-07"]
        always = {"name": "24/7", "timezone": "UTC", "hours": {}}
        r = await client.post("/api/v1/sla/calendars", headers=h, json=always)
        assert r.json()["always_open"] is True
        p = await policy(
            client, company, calendar_id=cal["id"], pause_on_hold=True,
            conditions={"all": [{"field": "priority", "op": "is", "value": "urgent"}]},
            targets={"urgent": {"first_response": 30, "next_response": 60, "resolution": 240}},
        )  # fmt: skip
        assert p["targets"] == {
            "urgent": {"first_response": 30, "next_response": 60, "resolution": 240}
        }
        assert p["calendar_id"] == cal["id"] and p["pause_on_hold"] is True

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({**OFFICE, "timezone": "Mars/Olympus"}, "timezone"),
            ({**OFFICE, "hours": {"mon": [["18:00", "09:00"]]}}, "hours.mon.0"),
            ({**OFFICE, "hours": {"funday": [["09:00", "18:00"]]}}, "hours.funday"),
            ({**OFFICE, "holidays": ["2027-02-30"]}, "holidays.0"),
        ],
    )
    async def test_a_bad_calendar_names_the_field_and_stores_nothing(
        self, client: httpx.AsyncClient, company: Company, body: dict[str, Any], field: str
    ) -> None:
        r = await client.post("/api/v1/sla/calendars", headers=company.admin.headers, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == field
        listed = await client.get("/api/v1/sla/calendars", headers=company.admin.headers)
        assert listed.json() == []

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"targets": {"extreme": {"first_response": 30}}}, "targets.extreme"),
            ({"targets": {"urgent": {"first_resp": 30}}}, "targets.urgent.first_resp"),
            ({"targets": {"urgent": {"resolution": 0}}}, "targets.urgent.resolution"),
            ({"conditions": {"all": [{"field": "subjectz", "op": "is", "value": 1}]}},
             "conditions.all.0.field"),
            ({"calendar_id": 9999}, "calendar_id"),
        ],
    )  # fmt: skip
    async def test_a_bad_policy_names_the_field(
        self, client: httpx.AsyncClient, company: Company, changes: dict[str, Any], field: str
    ) -> None:
        body = {"name": "Bad", "targets": {"urgent": {"first_response": 30}}, **changes}
        r = await client.post("/api/v1/sla/policies", headers=company.admin.headers, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"].startswith(field)

    async def test_holidays_are_imported_from_csv(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        h = company.admin.headers
        cal = (await client.post("/api/v1/sla/calendars", headers=h, json=OFFICE)).json()
        csv = "\ufeffдата;название\n23.02.2027;День защитника\n2027-03-08,8 марта\n"
        r = await client.post(f"/api/v1/sla/calendars/{cal['id']}/holidays", headers=h,
                              json={"csv": csv})  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.json()["holidays"] == ["2027-01-01", "2027-01-07", "2027-02-23", "2027-03-08"]
        bad = await client.post(f"/api/v1/sla/calendars/{cal['id']}/holidays", headers=h,
                                json={"csv": "2027-04-01\nnot a date\n"})  # fmt: skip
        assert bad.status_code == 422 and "line" in bad.json()["error"]["field"]

    async def test_only_admins(self, client: httpx.AsyncClient, company: Company) -> None:
        for persona in (company.l1_agent, company.customer):
            r = await client.get("/api/v1/sla/policies", headers=persona.headers)
            assert r.status_code == 403


class TestClock:
    async def test_a_new_ticket_carries_its_targets_in_every_read(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await policy(client, company)
        t = await new_ticket(db, company, priority="high")
        r = await client.get(f"/api/v1/tickets/{t.id}", headers=company.l1_agent.headers)
        got = r.json()["sla"]
        created = datetime.fromisoformat(r.json()["created_at"])
        assert got["policy_id"] is not None and got["breached"] == []
        assert datetime.fromisoformat(got["first_response_due_at"]) == created + timedelta(hours=1)
        assert datetime.fromisoformat(got["resolution_due_at"]) == created + timedelta(hours=8)
        assert got["next_response_due_at"] is None
        assert datetime.fromisoformat(r.json()["due_at"]) == created + timedelta(hours=1)

    async def test_the_first_matching_policy_by_position_wins(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await policy(client, company)
        vip = await policy(
            client, company, name="VIP", position=1,
            conditions={"all": [{"field": "organization_id", "op": "is",
                                 "value": company.acme_id}]},
            targets={"normal": {"first_response": 15}},
        )  # fmt: skip
        t = await new_ticket(db, company)  # carol is at Acme
        assert (await load(db, t.id)).sla_policy_id == vip["id"]
        other = await new_ticket(db, company, requester=RequesterIn(email="someone@else.org"))
        assert (await load(db, other.id)).sla_policy_id != vip["id"]

    async def test_business_hours_move_the_due_time_over_a_weekend(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        cal = (
            await client.post("/api/v1/sla/calendars", headers=company.admin.headers, json=OFFICE)
        ).json()
        await policy(client, company, calendar_id=cal["id"])
        t = await new_ticket(db, company)
        friday_5pm = datetime(2027, 3, 5, 17, 0, tzinfo=MSK)  # a Friday
        async with db.unit_of_work() as s:
            ticket = await s.get(Ticket, t.id)
            assert ticket is not None
            ticket.created_at = friday_5pm.astimezone(UTC)
            ticket.sla_state = {}
            await sla.assign_policy(s, ticket, now=friday_5pm)
        got = await load(db, t.id)
        # 60 business minutes: 17:00-18:00 on Friday -> due Friday 18:00
        assert got.first_response_due_at == datetime(2027, 3, 5, 18, 0, tzinfo=MSK)
        # 480: 1 h on Friday, then Monday 09:00 + 7 h = 16:00
        assert got.resolution_due_at == datetime(2027, 3, 8, 16, 0, tzinfo=MSK)

    async def test_waiting_for_the_customer_pauses_and_resuming_keeps_the_time_left(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await policy(client, company)  # 24/7
        t = await new_ticket(db, company)
        before = await load(db, t.id)
        assert before.resolution_due_at is not None
        start = before.created_at
        async with db.unit_of_work() as s:
            ticket = await s.get(Ticket, t.id)
            assert ticket is not None
            await sla.on_status_change(s, ticket, old="open", new="pending",
                                       at=start + timedelta(hours=2))  # fmt: skip
        paused = await load(db, t.id)
        assert paused.due_at is None and paused.sla_check_at is None
        assert paused.sla_state["paused_at"] is not None
        async with db.unit_of_work() as s:
            ticket = await s.get(Ticket, t.id)
            assert ticket is not None
            await sla.on_status_change(s, ticket, old="pending", new="open",
                                       at=start + timedelta(hours=26))  # fmt: skip
        resumed = await load(db, t.id)
        # 8 h target, 2 h used before the 24 h pause: 6 h left from the resumption
        assert resumed.resolution_due_at == start + timedelta(hours=32)
        assert resumed.sla_state["paused_at"] is None and resumed.due_at is not None

    async def test_on_hold_pauses_only_when_the_policy_says_so(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await policy(client, company, pause_on_hold=False)
        t = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            await tickets.update_ticket(
                s, actor=await agent(db, company.l1_agent.id), ticket_id=t.id,
                data=TicketUpdate(status="on_hold"),
            )  # fmt: skip
        assert (await load(db, t.id)).sla_state["paused_at"] is None
        async with db.unit_of_work() as s:
            await tickets.update_ticket(
                s, actor=await agent(db, company.l1_agent.id), ticket_id=t.id,
                data=TicketUpdate(status="pending"),
            )  # fmt: skip
        assert (await load(db, t.id)).sla_state["paused_at"] is not None

    async def test_a_reply_meets_the_first_response_and_a_customer_message_starts_the_next(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await policy(client, company)
        t = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            await tickets.add_message(
                s, actor=await agent(db, company.l1_agent.id), ticket_id=t.id,
                data=MessageCreate(body="Попробуйте сбросить пароль"),
            )  # fmt: skip
        answered = await load(db, t.id)
        assert answered.first_response_due_at is None
        assert "first_response" in answered.sla_state["met"]
        r = await client.post(
            f"/api/v1/me/tickets/{t.id}/messages", headers=company.customer.headers,
            json={"body": "Не помогло"},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        waiting = await load(db, t.id)
        assert waiting.next_response_due_at is not None
        assert waiting.last_customer_message_at is not None
        assert waiting.next_response_due_at == waiting.last_customer_message_at + timedelta(hours=2)
        async with db.unit_of_work() as s:
            await tickets.add_message(
                s, actor=await agent(db, company.l1_agent.id), ticket_id=t.id,
                data=MessageCreate(body="Проверил, исправили"),
            )  # fmt: skip
        assert (await load(db, t.id)).next_response_due_at is None

    async def test_solving_meets_the_resolution_and_clears_the_due_column(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await policy(client, company)
        t = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            actor = await agent(db, company.l1_agent.id)
            await tickets.add_message(s, actor=actor, ticket_id=t.id,
                                      data=MessageCreate(body="Готово"))  # fmt: skip
            await tickets.update_ticket(s, actor=actor, ticket_id=t.id,
                                        data=TicketUpdate(status="solved"))  # fmt: skip
        solved = await load(db, t.id)
        assert solved.due_at is None and solved.sla_check_at is None
        assert set(solved.sla_state["met"]) == {"first_response", "resolution"}

    async def test_a_higher_priority_restarts_the_targets_from_creation(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await policy(
            client, company,
            targets={"normal": {"first_response": 240}, "urgent": {"first_response": 15}},
        )  # fmt: skip
        t = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            await tickets.update_ticket(
                s, actor=await agent(db, company.l1_agent.id), ticket_id=t.id,
                data=TicketUpdate(priority="urgent"),
            )  # fmt: skip
        got = await load(db, t.id)
        assert got.first_response_due_at == got.created_at + timedelta(minutes=15)


class TestSweep:
    async def _overdue(self, db: Database, client: httpx.AsyncClient, company: Company) -> int:
        await policy(client, company)
        t = await new_ticket(db, company)
        async with db.unit_of_work() as s:  # as if created 10 hours ago
            ticket = await s.get(Ticket, t.id)
            assert ticket is not None
            ticket.created_at = ticket.created_at - timedelta(hours=10)
            ticket.sla_state = {}
            await sla.assign_policy(s, ticket, now=ticket.created_at)
        return t.id

    async def test_each_breach_and_warning_is_recorded_exactly_once(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        tid = await self._overdue(db, client, company)
        async with db.unit_of_work() as s:
            first = await sla.sweep_batch(s)
        async with db.unit_of_work() as s:
            again = await sla.sweep_batch(s)
        assert (first.breaches, again.breaches, again.warnings) == (2, 0, 0)
        got = await load(db, tid)
        assert sorted(got.sla_state["breached"]) == ["first_response", "resolution"]
        r = await client.get(f"/api/v1/tickets/{tid}", headers=company.l1_agent.headers)
        assert sorted(r.json()["sla"]["breached"]) == ["first_response", "resolution"]
        async with db.unit_of_work(write=False) as s:
            kinds = (
                await s.execute(
                    select(TicketEvent.kind, TicketEvent.field, TicketEvent.actor_label).where(
                        TicketEvent.ticket_id == tid, TicketEvent.kind == "sla_breached"
                    )
                )
            ).all()
        assert sorted(kinds) == [("sla_breached", "first_response", "SLA"),
                                 ("sla_breached", "resolution", "SLA")]  # fmt: skip

    async def test_two_workers_sweeping_at_once_record_it_once(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        tid = await self._overdue(db, client, company)

        async def one() -> int:
            async with db.unit_of_work() as s:
                return (await sla.sweep_batch(s)).breaches

        results = await asyncio.gather(one(), one())
        assert sum(results) == 2
        async with db.unit_of_work(write=False) as s:
            n = (
                await s.execute(
                    select(func.count()).where(
                        TicketEvent.ticket_id == tid, TicketEvent.kind == "sla_breached"
                    )
                )
            ).scalar_one()
        assert n == 2

    async def test_a_warning_comes_before_the_breach(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await policy(client, company, targets={"normal": {"resolution": 100}})
        t = await new_ticket(db, company)
        got = await load(db, t.id)
        warn_at = got.created_at + timedelta(minutes=75)
        assert got.sla_check_at == warn_at  # 75 % of 100 minutes
        async with db.unit_of_work() as s:
            result = await sla.sweep_batch(s, now=warn_at + timedelta(seconds=1))
        assert (result.warnings, result.breaches) == (1, 0)
        assert (await load(db, t.id)).sla_check_at == got.created_at + timedelta(minutes=100)

    async def test_a_paused_ticket_never_breaches(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        tid = await self._overdue(db, client, company)
        async with db.unit_of_work() as s:
            await tickets.update_ticket(
                s, actor=await agent(db, company.l1_agent.id), ticket_id=tid,
                data=TicketUpdate(status="pending"),
            )  # fmt: skip
        async with db.unit_of_work() as s:
            result = await sla.sweep_batch(s)
        # the targets that were already overdue when it paused are recorded when it
        # resumes; while paused nothing is
        assert result.breaches == 0


async def test_timers_survive_a_restart(
    client: httpx.AsyncClient, db: Database, company: Company, settings: Any
) -> None:
    """Due times are stored: a new process (a new Database) finds what is due."""
    tid = await TestSweep()._overdue(db, client, company)
    other = Database(settings.resolved_database_url, settings=settings)
    try:
        async with other.unit_of_work() as s:
            result = await sla.sweep_batch(s)
    finally:
        await other.dispose()
    assert result.breaches == 2
    assert sorted((await load(db, tid)).sla_state["breached"]) == ["first_response", "resolution"]


async def test_the_ticket_page_shows_business_time_left(
    client: httpx.AsyncClient, db: Database, company: Company
) -> None:
    cal = (
        await client.post("/api/v1/sla/calendars", headers=company.admin.headers, json=OFFICE)
    ).json()
    await policy(client, company, calendar_id=cal["id"])
    t = await new_ticket(db, company)
    friday_5pm = datetime(2027, 3, 5, 17, 0, tzinfo=MSK)
    async with db.unit_of_work() as s:
        ticket = await s.get(Ticket, t.id)
        assert ticket is not None
        ticket.created_at = friday_5pm.astimezone(UTC)
        ticket.sla_state = {}
        await sla.assign_policy(s, ticket, now=friday_5pm)
        view = await sla.ticket_sla_view(s, ticket, now=datetime(2027, 3, 8, 9, 10, tzinfo=MSK))
    assert view is not None and view.calendar_name == "Office" and not view.paused
    by_name = {v.name: v for v in view.targets}
    # the first response was due Friday 18:00: 10 business minutes overdue on Monday 09:10
    assert by_name["first_response"].business_minutes_left == pytest.approx(-10)
    assert by_name["first_response"].state == "breached"  # before the sweep records it
    # the resolution: 480 minutes, 60 used on Friday and 10 on Monday
    assert by_name["resolution"].business_minutes_left == pytest.approx(410)
    assert by_name["resolution"].state == "running"
