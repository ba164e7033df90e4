"""Triggers on both backends: every matching trigger runs, in position order, once per
event; loops stop; conditions over changes, message text, VIP organizations and business
hours; every automated change is a timeline row naming its rule; SLA breaches escalate
L1 → L2 → L3 and the customer is told; an agent hands the ticket back to L1.

The helpers at the top are shared by the other automation test files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from opora.auth import service as auth_service
from opora.auth.actor import Actor, system_actor
from opora.automation import engine
from opora.automation import service as automation
from opora.automation.schemas import TimeRuleCreate, TriggerCreate
from opora.contacts import service as contacts
from opora.contacts.schemas import OrganizationUpdate
from opora.db import Database
from opora.errors import InvalidInput
from opora.jobs.models import Job
from opora.sla import service as sla
from opora.tickets import service as tickets
from opora.tickets.models import Message, Ticket, TicketEvent
from opora.tickets.schemas import EscalateIn, MessageCreate, RequesterIn, TicketCreate, TicketUpdate
from tests.conftest import Company

ADMIN = system_actor("tests")
MSK = ZoneInfo("Europe/Moscow")
OFFICE = {
    "name": "Office", "timezone": "Europe/Moscow",
    "hours": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
}  # fmt: skip


# --- shared helpers ---------------------------------------------------------------------------


async def agent(db: Database, user_id: int) -> Actor:
    async with db.unit_of_work(write=False) as s:
        user = await auth_service.get_user(s, actor=ADMIN, user_id=user_id)
        return await auth_service.actor_for_user(s, user)


async def new_ticket(db: Database, company: Company, **fields: Any) -> Ticket:
    """A ticket Lena (L1) opened for Carol on the phone: customer mail goes out for it."""
    data: dict[str, Any] = {
        "subject": "Не могу войти", "body": "Пишет «неверный пароль»",
        "requester": RequesterIn(email="carol@acme.ru"), "group_id": company.l1_group_id,
        "channel": "phone",
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


async def add_trigger(db: Database, name: str, **fields: Any) -> int:
    async with db.unit_of_work() as s:
        row = await automation.create_trigger(
            s, actor=ADMIN, data=TriggerCreate(name=name, **fields)
        )
        return row.id


async def add_time_rule(db: Database, name: str, **fields: Any) -> int:
    async with db.unit_of_work() as s:
        row = await automation.create_time_rule(
            s, actor=ADMIN, data=TimeRuleCreate(name=name, **fields)
        )
        return row.id


async def timeline(db: Database, ticket_id: int, *kinds: str) -> list[TicketEvent]:
    async with db.unit_of_work(write=False) as s:
        stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
        if kinds:
            stmt = stmt.where(TicketEvent.kind.in_(kinds))
        rows = await s.execute(stmt.order_by(TicketEvent.id))
        return list(rows.scalars())


async def messages(db: Database, ticket_id: int) -> list[Message]:
    async with db.unit_of_work(write=False) as s:
        rows = await s.execute(
            select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)
        )
        return list(rows.scalars())


async def jobs_named(db: Database, name: str) -> list[Job]:
    async with db.unit_of_work(write=False) as s:
        rows = await s.execute(select(Job).where(Job.name == name).order_by(Job.id))
        return list(rows.scalars())


async def rules_applied(db: Database, ticket_id: int) -> list[str]:
    return [e.new_value["rule"] for e in await timeline(db, ticket_id, "rule_applied")]


async def update(db: Database, company: Company, ticket_id: int, **fields: Any) -> None:
    async with db.unit_of_work() as s:
        await tickets.update_ticket(
            s, actor=await agent(db, company.l1_agent.id), ticket_id=ticket_id,
            data=TicketUpdate(**fields),
        )  # fmt: skip


def note(text: str) -> dict[str, Any]:
    return {"action": "add_note", "text": text}


def when(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"all": [{"field": field, "op": op, "value": value}]}


@pytest.fixture
def frozen_clock() -> Iterator[list[datetime]]:
    """The triggers' clock, set by the test (``[at]``)."""
    now = [datetime.now(UTC)]
    original = engine.clock
    engine.clock = lambda: now[0]
    try:
        yield now
    finally:
        engine.clock = original


# --- order and once per event -----------------------------------------------------------------


class TestOrder:
    async def test_every_matching_trigger_runs_in_position_order(
        self, db: Database, company: Company
    ) -> None:
        await add_trigger(db, "Second", position=20, events=["ticket.created"],
                          actions=[note("second")])  # fmt: skip
        await add_trigger(db, "First", position=10, events=["ticket.created"],
                          actions=[note("first")])  # fmt: skip
        await add_trigger(db, "Not for this ticket", position=5, events=["ticket.created"],
                          conditions=when("priority", "is", "urgent"),
                          actions=[note("never")])  # fmt: skip
        t = await new_ticket(db, company)
        notes = [m.body_text for m in await messages(db, t.id) if m.visibility == "internal"]
        assert notes == ["first", "second"]  # not only the first that matched
        assert await rules_applied(db, t.id) == ["Trigger: First", "Trigger: Second"]

    async def test_a_trigger_without_a_position_goes_last(
        self, db: Database, company: Company
    ) -> None:
        await add_trigger(db, "A", position=50, events=["ticket.created"], actions=[note("a")])
        await add_trigger(db, "B", events=["ticket.created"], actions=[note("b")])
        t = await new_ticket(db, company)
        assert await rules_applied(db, t.id) == ["Trigger: A", "Trigger: B"]

    async def test_a_trigger_fires_once_per_event(self, db: Database, company: Company) -> None:
        await add_trigger(db, "Seen", events=["ticket.updated"], actions=[note("seen")])
        t = await new_ticket(db, company)
        await update(db, company, t.id, priority="high")
        assert await rules_applied(db, t.id) == ["Trigger: Seen"]
        await update(db, company, t.id, type="incident")  # a new event, a new transaction
        assert await rules_applied(db, t.id) == ["Trigger: Seen", "Trigger: Seen"]
        await update(db, company, t.id, type="incident")  # no change: no event
        assert len(await rules_applied(db, t.id)) == 2

    async def test_an_inactive_trigger_never_fires(self, db: Database, company: Company) -> None:
        await add_trigger(db, "Off", is_active=False, events=["ticket.created"],
                          actions=[note("off")])  # fmt: skip
        t = await new_ticket(db, company)
        assert await rules_applied(db, t.id) == []

    async def test_the_event_can_be_a_condition(self, db: Database, company: Company) -> None:
        await add_trigger(db, "On updates", conditions=when("event", "is", "ticket.updated"),
                          actions=[{"action": "add_tags", "tags": ["updated"]}])  # fmt: skip
        t = await new_ticket(db, company)
        assert await rules_applied(db, t.id) == []
        await update(db, company, t.id, priority="low")
        assert await rules_applied(db, t.id) == ["Trigger: On updates"]


# --- loops ------------------------------------------------------------------------------------


class TestLoops:
    async def test_a_trigger_that_would_retrigger_itself_runs_once(
        self, db: Database, company: Company
    ) -> None:
        # each note is a new message.created: unprotected, this would never end
        await add_trigger(db, "Echo", events=["message.created"], actions=[note("echo")])
        t = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            await tickets.add_message(
                s, actor=await agent(db, company.l1_agent.id), ticket_id=t.id,
                data=MessageCreate(body="Ответ клиенту"),
            )  # fmt: skip
        echoes = [m for m in await messages(db, t.id) if m.body_text == "echo"]
        assert len(echoes) == 1
        assert await rules_applied(db, t.id) == ["Trigger: Echo"]

    async def test_two_triggers_that_undo_each_other_stop(
        self, db: Database, company: Company
    ) -> None:
        await add_trigger(db, "Urgent to high", events=["ticket.updated"],
                          conditions=when("priority", "changed_to", "urgent"),
                          actions=[{"action": "set_priority", "priority": "high"}])  # fmt: skip
        await add_trigger(db, "High to urgent", events=["ticket.updated"],
                          conditions=when("priority", "changed_to", "high"),
                          actions=[{"action": "set_priority", "priority": "urgent"}])  # fmt: skip
        t = await new_ticket(db, company)
        await update(db, company, t.id, priority="urgent")  # commits: no endless rounds
        assert sorted(await rules_applied(db, t.id)) == ["Trigger: High to urgent",
                                                          "Trigger: Urgent to high"]  # fmt: skip
        changes = [
            (e.old_value, e.new_value, e.actor_label)
            for e in await timeline(db, t.id, "field_changed")
            if e.field == "priority"
        ]
        assert changes == [
            ("normal", "urgent", None),
            ("urgent", "high", "Trigger: Urgent to high"),
            ("high", "urgent", "Trigger: High to urgent"),
        ]
        assert (await load(db, t.id)).priority == "urgent"

    async def test_triggers_fire_again_in_the_next_transaction(
        self, db: Database, company: Company
    ) -> None:
        await add_trigger(db, "Urgent to high", events=["ticket.updated"],
                          conditions=when("priority", "changed_to", "urgent"),
                          actions=[{"action": "set_priority", "priority": "high"}])  # fmt: skip
        t = await new_ticket(db, company)
        await update(db, company, t.id, priority="urgent")
        await update(db, company, t.id, priority="urgent")
        assert (await load(db, t.id)).priority == "high"
        assert len(await rules_applied(db, t.id)) == 2


# --- conditions ---------------------------------------------------------------------------


class TestConditions:
    async def test_a_change_to_urgent(self, db: Database, company: Company) -> None:
        await add_trigger(db, "Urgent", events=["ticket.updated"],
                          conditions=when("priority", "changed_to", "urgent"),
                          actions=[{"action": "add_tags", "tags": ["hot"]}])  # fmt: skip
        t = await new_ticket(db, company)
        await update(db, company, t.id, priority="high")
        assert await rules_applied(db, t.id) == []
        await update(db, company, t.id, priority="urgent")
        assert await rules_applied(db, t.id) == ["Trigger: Urgent"]
        tags = [e.new_value for e in await timeline(db, t.id, "field_changed") if e.field == "tags"]
        assert tags == [["hot"]]

    async def test_words_in_the_customers_message(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await add_trigger(
            db, "Password", events=["message.created"],
            conditions={"all": [{"field": "message.text", "op": "contains", "value": "пароль"},
                                {"field": "message.author", "value": "customer"}]},
            actions=[{"action": "add_tags", "tags": ["password"]}],
        )  # fmt: skip
        t = await new_ticket(db, company)
        url, h = f"/api/v1/me/tickets/{t.id}/messages", company.customer.headers
        r = await client.post(url, headers=h, json={"body": "Всё работает"})
        assert r.status_code == 201, r.text
        assert await rules_applied(db, t.id) == []
        r = await client.post(url, headers=h, json={"body": "Опять не принимает ПАРОЛЬ"})
        assert r.status_code == 201, r.text
        assert await rules_applied(db, t.id) == ["Trigger: Password"]

    async def test_a_vip_organization_goes_to_l2(self, db: Database, company: Company) -> None:
        to_l2 = {"action": "set_group", "group_id": company.l2_group_id}
        vip = when("organization.vip", "is", True)
        await add_trigger(
            db, "VIP to L2", events=["ticket.created"], conditions=vip, actions=[to_l2]
        )
        before = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            await contacts.update_organization(
                s, actor=ADMIN, org_id=company.acme_id, data=OrganizationUpdate(vip=True)
            )
        at_vip = await new_ticket(db, company)
        other = await new_ticket(db, company, requester=RequesterIn(email="erin@globex.com"))
        assert (await load(db, before.id)).group_id == company.l1_group_id
        got = await load(db, at_vip.id)
        assert (got.group_id, got.line) == (company.l2_group_id, 2)
        assert (await load(db, other.id)).group_id == company.l1_group_id

    async def test_the_requesters_domain_and_language(self, db: Database, company: Company) -> None:
        """Read in one query with the VIP flag (``snapshot.requester_facts``); the primary
        address decides the domain."""
        await add_trigger(db, "Globex in Russian", events=["ticket.created"], conditions={"all": [
            {"field": "requester.email_domain", "op": "in", "value": ["globex.com"]},
            {"field": "requester.language", "op": "is", "value": "ru"},
        ]}, actions=[{"action": "add_tags", "tags": ["globex-ru"]}])  # fmt: skip
        ru = await new_ticket(
            db, company, requester=RequesterIn(email="Ivan@GLOBEX.com", language="ru")
        )
        en = await new_ticket(
            db, company, requester=RequesterIn(email="erin@globex.com", language="en")
        )
        elsewhere = await new_ticket(
            db, company, requester=RequesterIn(email="olga@initech.ru", language="ru")
        )
        assert await rules_applied(db, ru.id) == ["Trigger: Globex in Russian"]
        assert await rules_applied(db, en.id) == []
        assert await rules_applied(db, elsewhere.id) == []

    async def test_out_of_business_hours(
        self,
        client: httpx.AsyncClient,
        db: Database,
        company: Company,
        frozen_clock: list[datetime],
    ) -> None:
        """Business hours are those of the ticket's SLA policy's calendar."""
        h = company.admin.headers
        cal = (await client.post("/api/v1/sla/calendars", headers=h, json=OFFICE)).json()
        r = await client.post("/api/v1/sla/policies", headers=h, json={
            "name": "Office hours", "calendar_id": cal["id"],
            "targets": {"normal": {"first_response": 240}},
        })  # fmt: skip
        assert r.status_code == 201, r.text
        await add_trigger(db, "After hours", events=["ticket.created"],
                          conditions=when("within_business_hours", "is", False),
                          actions=[note("Мы ответим в рабочее время")])  # fmt: skip
        frozen_clock[0] = datetime(2027, 3, 6, 12, 0, tzinfo=MSK)  # a Saturday
        weekend = await new_ticket(db, company)
        frozen_clock[0] = datetime(2027, 3, 8, 10, 0, tzinfo=MSK)  # Monday morning
        monday = await new_ticket(db, company)
        assert await rules_applied(db, weekend.id) == ["Trigger: After hours"]
        assert await rules_applied(db, monday.id) == []


# --- the timeline -------------------------------------------------------------------------


class TestTimeline:
    async def test_every_automated_change_names_its_rule(
        self, db: Database, company: Company
    ) -> None:
        await add_trigger(db, "Triage", events=["ticket.created"], actions=[
            {"action": "set_priority", "priority": "high"},
            {"action": "add_tags", "tags": ["triaged"]},
            note("Автоматически: {{contact.first_name}}, #{{ticket.number}}"),
        ])  # fmt: skip
        t = await new_ticket(db, company)
        rows = await timeline(db, t.id, "field_changed", "note_added", "rule_applied")
        automated = [(e.kind, e.field) for e in rows if e.actor_label == "Trigger: Triage"]
        assert sorted(automated, key=str) == sorted([
            ("rule_applied", None), ("note_added", None), ("field_changed", "priority"),
            ("field_changed", "tags"),
        ], key=str)  # fmt: skip
        assert all(e.actor_kind == "system" for e in rows if e.actor_label == "Trigger: Triage")
        notes = [m for m in await messages(db, t.id) if m.visibility == "internal"]
        assert [m.body_text for m in notes] == [f"Автоматически: Carol, #{t.number}"]
        assert notes[0].author_kind == "system"

    async def test_a_refused_action_undoes_the_rule_and_says_why(
        self, db: Database, company: Company
    ) -> None:
        await add_trigger(db, "Tag it", position=1, events=["ticket.updated"],
                          actions=[{"action": "add_tags", "tags": ["seen"]}])  # fmt: skip
        await add_trigger(db, "Reopen", position=2, events=["ticket.updated"],
                          conditions=when("status", "changed_to", "closed"), actions=[
                              {"action": "add_tags", "tags": ["reopened"]},
                              {"action": "set_status", "status": "open"},
                          ])  # fmt: skip
        t = await new_ticket(db, company)
        await update(db, company, t.id, status="closed")
        got = await load(db, t.id)
        assert got.status == "closed"  # the agent's change stands
        failed = await timeline(db, t.id, "rule_failed")
        assert [f.new_value["rule"] for f in failed] == ["Trigger: Tag it", "Trigger: Reopen"]
        assert all("closed" in f.new_value["error"] for f in failed)
        assert await rules_applied(db, t.id) == []  # undone with the rule's changes
        # neither left a tag behind
        tags = [e for e in await timeline(db, t.id, "field_changed") if e.field == "tags"]
        assert tags == []


# --- escalation -----------------------------------------------------------------------------

ESCALATE_ON_BREACH: dict[str, Any] = {
    "name": "Escalate on SLA breach",
    "events": ["sla.breached"],
    "conditions": {"all": [{"field": "line", "op": "lte", "value": 2}]},
    "actions": [{"action": "escalate", "reason": "SLA breached"}],
}


class TestEscalation:
    async def _overdue_ticket(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> int:
        r = await client.post("/api/v1/sla/policies", headers=company.admin.headers, json={
            "name": "Standard",
            "targets": {"normal": {"first_response": 60, "resolution": 480}},
        })  # fmt: skip
        assert r.status_code == 201, r.text
        t = await new_ticket(db, company)
        async with db.unit_of_work() as s:  # as if opened two hours ago
            ticket = await s.get(Ticket, t.id)
            assert ticket is not None
            ticket.created_at = ticket.created_at - timedelta(hours=2)
            ticket.sla_state = {}
            await sla.assign_policy(s, ticket, now=ticket.created_at)
        return t.id

    async def test_breaches_escalate_l1_to_l2_to_l3_and_the_customer_is_told(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        body = {k: v for k, v in ESCALATE_ON_BREACH.items() if k != "name"}
        await add_trigger(db, ESCALATE_ON_BREACH["name"], **body)
        tid = await self._overdue_ticket(client, db, company)
        async with db.unit_of_work() as s:
            first = await sla.sweep_batch(s)  # the first response is an hour late
        assert first.breaches == 1
        got = await load(db, tid)
        assert (got.line, got.group_id) == (2, company.l2_group_id)
        async with db.unit_of_work() as s:  # seven hours on: the resolution is late too
            second = await sla.sweep_batch(s, now=datetime.now(UTC) + timedelta(hours=7))
        assert second.breaches == 1
        got = await load(db, tid)
        assert (got.line, got.group_id) == (3, company.l3_group_id)
        moves = [
            (e.old_value["line"], e.new_value["line"], e.actor_label)
            for e in await timeline(db, tid, "escalated")
        ]
        label = "Trigger: Escalate on SLA breach"
        assert moves == [(1, 2, label), (2, 3, label)]
        told = [j for j in await jobs_named(db, "channels.email.send")
                if j.payload["kind"] == "ticket_escalated"]  # fmt: skip
        assert [j.payload["to"] for j in told] == [["carol@acme.ru"], ["carol@acme.ru"]]
        assert all(j.payload["automatic"] for j in told)
        notes = [m.body_text for m in await messages(db, tid) if m.visibility == "internal"]
        assert notes[-1].startswith("Escalated from line 2 to line 3")
        assert "SLA breached" in notes[-1]

    async def test_an_agent_hands_it_back_to_l1(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        body = {k: v for k, v in ESCALATE_ON_BREACH.items() if k != "name"}
        await add_trigger(db, ESCALATE_ON_BREACH["name"], **body)
        tid = await self._overdue_ticket(client, db, company)
        async with db.unit_of_work() as s:
            await sla.sweep_batch(s)
        assert (await load(db, tid)).line == 2
        before = len(await jobs_named(db, "channels.email.send"))
        async with db.unit_of_work() as s:
            await tickets.deescalate_ticket(
                s, actor=await agent(db, company.l2_agent.id), ticket_id=tid,
                data=EscalateIn(reason="Сброс пароля делает первая линия"),
            )  # fmt: skip
        got = await load(db, tid)
        assert (got.line, got.group_id) == (1, company.l1_group_id)
        back = await timeline(db, tid, "deescalated")
        assert [(e.old_value["line"], e.new_value["line"], e.actor_user_id) for e in back] == [
            (2, 1, company.l2_agent.id)
        ]
        assert len(await jobs_named(db, "channels.email.send")) == before  # nothing to tell

    async def test_a_ticket_at_the_top_line_is_not_escalated_further(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        body = {k: v for k, v in ESCALATE_ON_BREACH.items() if k != "name"}
        await add_trigger(db, ESCALATE_ON_BREACH["name"], **body)
        tid = await self._overdue_ticket(client, db, company)
        await update(db, company, tid, group_id=company.l3_group_id)
        async with db.unit_of_work() as s:
            result = await sla.sweep_batch(s)
        assert result.breaches == 1
        assert (await load(db, tid)).line == 3  # the condition "line <= 2" held it back
        assert await rules_applied(db, tid) == []


async def test_urgent_priority_escalates(db: Database, company: Company) -> None:
    """The issue's escalation rules: on priority urgent, on a tag or a type."""
    await add_trigger(db, "Urgent to L2", events=["ticket.created", "ticket.updated"],
                      conditions={"all": [{"field": "priority", "value": "urgent"},
                                          {"field": "line", "value": 1}]},
                      actions=[{"action": "escalate", "reason": "Urgent"}])  # fmt: skip
    await add_trigger(db, "Complaints to L2", events=["ticket.created", "ticket.updated"],
                      conditions={"all": [{"field": "line", "value": 1}],
                                  "any": [{"field": "type", "value": "complaint"},
                                          {"field": "tags", "op": "contains",
                                           "value": "претензия"}]},
                      actions=[{"action": "escalate", "reason": "Жалоба"}])  # fmt: skip
    urgent = await new_ticket(db, company, priority="urgent")
    complaint = await new_ticket(db, company, type="complaint")
    tagged = await new_ticket(db, company)
    plain = await new_ticket(db, company)
    await update(db, company, tagged.id, add_tags=["Претензия"])
    assert [(await load(db, t.id)).line for t in (urgent, complaint, tagged, plain)] == [
        2, 2, 2, 1,
    ]  # fmt: skip


async def test_an_escalation_may_name_its_group(db: Database, company: Company) -> None:
    """Refunds go straight to a named group (here line 3, skipping line 2); the timeline
    records from-line, to-line and the reason. A group that does not exist is refused
    when the rule is saved, naming the action's field."""
    await add_trigger(db, "Refunds to L3", events=["ticket.created"],
                      conditions={"all": [{"field": "text", "op": "contains", "value": "возврат"}]},
                      actions=[{"action": "escalate", "reason": "Возврат",
                                "group_id": company.l3_group_id}])  # fmt: skip
    ticket = await new_ticket(db, company, subject="Прошу возврат денег")
    found = await load(db, ticket.id)
    assert (found.line, found.group_id) == (3, company.l3_group_id)
    async with db.unit_of_work(write=False) as s:
        rows = (
            (
                await s.execute(
                    select(TicketEvent).where(
                        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "escalated"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(rows) == 1 and rows[0].actor_label == "Trigger: Refunds to L3"
    with pytest.raises(InvalidInput) as refused:
        nowhere = [{"action": "escalate", "reason": "x", "group_id": 999}]
        await add_trigger(db, "Nowhere", events=["ticket.created"], actions=nowhere)
    assert refused.value.field == "actions.0.group_id"
