"""Time rules on both backends: the issue's rules (pending 3 business days → remind the
customer, once per pending period; pending 7 days → solved; solved 4 days → closed;
unassigned 30 minutes → tell a supervisor; line 1 holding a ticket longer than N
business hours → escalate), run by the job and by the API, touching only the tickets
they are about."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import func, select, update

from opora.automation import jobs as automation_jobs
from opora.automation import passes
from opora.automation import service as automation
from opora.automation.models import AutomationRun, TimeRuleProgress
from opora.automation.schemas import TimeRulesRun
from opora.config import Settings
from opora.contacts.models import Organization
from opora.db import Database
from opora.jobs import enqueue
from opora.jobs.registry import periodic_jobs
from opora.jobs.worker import Worker
from opora.kit.time import utcnow
from opora.tickets.models import Ticket
from opora.tickets.schemas import RequesterIn
from tests.automation.test_triggers import (
    MSK,
    OFFICE,
    add_time_rule,
    jobs_named,
    load,
    new_ticket,
    timeline,
)
from tests.automation.test_triggers import update as update_ticket
from tests.conftest import Company

# the rules, as docs/automation.md shows them
REMIND_PENDING: dict[str, Any] = {
    "name": "Remind after 3 business days pending",
    "conditions": {"all": [
        {"field": "status", "op": "is", "value": "pending"},
        {"field": "business_hours_since_status_change", "op": "gte", "value": 27},
    ]},
    "actions": [{
        "action": "notify_email", "to": "requester",
        "subject": "Ждём вашего ответа по заявке #{{ticket.number}}",
        "body": "{{contact.first_name}}, мы ждём вашего ответа: {{ticket.url}}",
    }],
}  # fmt: skip
SOLVE_PENDING: dict[str, Any] = {
    "name": "Solve after 7 days pending",
    "conditions": {"all": [
        {"field": "status", "op": "is", "value": "pending"},
        {"field": "hours_since_status_change", "op": "gte", "value": 168},
    ]},
    "actions": [{"action": "set_status", "status": "solved"}],
}  # fmt: skip
CLOSE_SOLVED: dict[str, Any] = {
    "name": "Close solved after 4 days",
    "conditions": {"all": [
        {"field": "status", "op": "is", "value": "solved"},
        {"field": "hours_since_status_change", "op": "gte", "value": 96},
    ]},
    "actions": [{"action": "set_status", "status": "closed"}],
}  # fmt: skip
UNASSIGNED: dict[str, Any] = {
    "name": "Unassigned for 30 minutes",
    "conditions": {"all": [
        {"field": "assignee_id", "op": "is", "value": None},
        {"field": "hours_since_created", "op": "gte", "value": 0.5},
    ]},
    "actions": [{
        "action": "notify_email", "to": "supervisor@acme.ru",
        "subject": "Nobody has #{{ticket.number}} yet",
        "body": "{{ticket.subject}} waits in {{group.name}}: {{ticket.url}}",
    }],
}  # fmt: skip
L1_HELD_TOO_LONG: dict[str, Any] = {
    "name": "L1 held longer than 8 business hours",
    "conditions": {"all": [
        {"field": "line", "op": "is", "value": 1},
        {"field": "business_hours_since_created", "op": "gte", "value": 8},
    ]},
    "actions": [{"action": "escalate", "reason": "Первая линия держит заявку больше 8 часов"}],
}  # fmt: skip


async def rule(db: Database, spec: dict[str, Any], **extra: Any) -> int:
    fields = {k: v for k, v in spec.items() if k != "name"}
    return await add_time_rule(db, spec["name"], **fields, **extra)


async def backdate(db: Database, ticket_id: int, **columns: datetime) -> None:
    async with db.unit_of_work() as s:
        await s.execute(update(Ticket).where(Ticket.id == ticket_id).values(**columns))


async def run(db: Database, now: datetime | None = None, **options: Any) -> TimeRulesRun:
    return await automation_jobs.run_time_rules(db, now=now, **options)


async def calendar(client: httpx.AsyncClient, company: Company) -> int:
    r = await client.post("/api/v1/sla/calendars", headers=company.admin.headers, json=OFFICE)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def reminders(db: Database) -> list[dict[str, Any]]:
    return [
        j.payload for j in await jobs_named(db, "channels.email.send")
        if j.payload["kind"] == "automation"
    ]  # fmt: skip


class TestRemindPending:
    async def test_once_per_pending_period_in_business_days(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await rule(db, REMIND_PENDING, calendar_id=await calendar(client, company))
        t = await new_ticket(db, company)
        other = await new_ticket(db, company)  # open: never reminded
        await update_ticket(db, company, t.id, status="pending")
        monday = datetime(2027, 3, 1, 10, 0, tzinfo=MSK)
        await backdate(db, t.id, status_changed_at=monday)
        await backdate(db, other.id, status_changed_at=monday)
        # Mon 10:00 → Thu 10:00 is 27 business hours (9 a day); a minute short is not
        early = await run(db, datetime(2027, 3, 4, 9, 59, tzinfo=MSK))
        # neither is read: the open one, and the pending one (27 business hours ago is
        # Monday 10:00, worked out before the query)
        assert early.fired == 0 and early.checked == 0
        assert await reminders(db) == []
        due = await run(db, datetime(2027, 3, 4, 10, 0, tzinfo=MSK))
        assert due.fired == 1
        later = await run(db, datetime(2027, 3, 5, 17, 0, tzinfo=MSK))
        assert later.fired == 0 and later.checked == 0  # fired for this period: skipped in SQL
        sent = await reminders(db)
        assert len(sent) == 1
        assert sent[0]["to"] == ["carol@acme.ru"] and sent[0]["automatic"] is True
        assert sent[0]["subject"] == f"Ждём вашего ответа по заявке #{t.number} [#{t.number}]"
        assert sent[0]["text"].startswith("Carol, мы ждём вашего ответа: http")
        assert f"/requests/{t.id}/" in sent[0]["text"]  # the customer's link, not the agent's
        # the customer answers, the agent asks again: a new pending period, a new reminder
        answer = {"body": "Сейчас проверю"}
        r = await client.post(
            f"/api/v1/me/tickets/{t.id}/messages", headers=company.customer.headers, json=answer
        )
        assert r.status_code == 201, r.text
        await update_ticket(db, company, t.id, status="pending")
        await backdate(db, t.id, status_changed_at=datetime(2027, 3, 8, 10, 0, tzinfo=MSK))
        again = await run(db, datetime(2027, 3, 11, 12, 0, tzinfo=MSK))
        assert again.fired == 1
        assert len(await reminders(db)) == 2
        async with db.unit_of_work(write=False) as s:
            markers = await s.execute(select(AutomationRun.marker).order_by(AutomationRun.id))
            assert [m[:10] for m in markers.scalars()] == ["2027-03-01", "2027-03-08"]
        rows = await timeline(db, t.id, "rule_applied")
        assert [e.actor_label for e in rows] == ["Time rule: " + REMIND_PENDING["name"]] * 2


class TestLifecycle:
    async def test_pending_7_days_is_solved_and_solved_4_days_is_closed(
        self, db: Database, company: Company
    ) -> None:
        await rule(db, SOLVE_PENDING)
        await rule(db, CLOSE_SOLVED)
        now = utcnow()
        stale, recent, solved_long, solved_lately, open_long = [
            await new_ticket(db, company) for _ in range(5)
        ]
        for t in (stale, recent):
            await update_ticket(db, company, t.id, status="pending")
        for t in (solved_long, solved_lately):
            await update_ticket(db, company, t.id, status="solved")
        await backdate(db, stale.id, status_changed_at=now - timedelta(days=8))
        await backdate(db, recent.id, status_changed_at=now - timedelta(days=2))
        await backdate(db, solved_long.id, status_changed_at=now - timedelta(days=5))
        await backdate(db, solved_lately.id, status_changed_at=now - timedelta(days=1))
        await backdate(db, open_long.id, status_changed_at=now - timedelta(days=30))
        result = await automation_jobs.run_time_rules(db)
        # only the two old enough were read (narrowed in SQL), and the ticket solved just
        # now is not closed in the same run: its status changed now
        assert (result.rules, result.checked, result.fired, result.failed) == (2, 2, 2, 0)
        statuses = [(await load(db, t.id)).status for t in
                    (stale, recent, solved_long, solved_lately, open_long)]  # fmt: skip
        assert statuses == ["solved", "pending", "closed", "solved", "new"]
        change = [e for e in await timeline(db, stale.id, "field_changed") if e.field == "status"]
        assert (change[-1].new_value, change[-1].actor_label) == (
            "solved",
            "Time rule: Solve after 7 days pending",
        )
        assert (await automation_jobs.run_time_rules(db)).fired == 0


class TestUnassigned:
    async def test_a_supervisor_hears_of_tickets_nobody_took(
        self, db: Database, company: Company, settings: Settings
    ) -> None:
        await rule(db, UNASSIGNED)
        now = utcnow()
        waiting = await new_ticket(db, company, subject="Ждёт")
        taken = await new_ticket(db, company, assignee_id=company.l1_agent.id)
        fresh = await new_ticket(db, company)
        for t in (waiting, taken):
            await backdate(db, t.id, created_at=now - timedelta(minutes=40),
                           status_changed_at=now - timedelta(minutes=40))  # fmt: skip
        # through the worker, as the periodic job runs it
        assert periodic_jobs()[automation_jobs.TIME_RULES].every_seconds == 60
        worker = Worker(db, settings, name="rules", periodic=False)
        for _ in range(2):
            async with db.unit_of_work() as s:
                await enqueue(s, automation_jobs.TIME_RULES, {})
            assert await worker.run_once() >= 1
        sent = [j.payload for j in await jobs_named(db, "notifications.send_email")
                if j.payload["to"] == ["supervisor@acme.ru"]]  # fmt: skip
        assert len(sent) == 1
        assert sent[0]["subject"] == f"Nobody has #{waiting.number} yet"
        assert sent[0]["text"].startswith("Ждёт waits in L1 Support: http")
        assert sent[0]["text"].endswith(f"/tickets/{waiting.id}")  # the agent's page
        assert sent[0]["headers"]["Auto-Submitted"] == "auto-generated"
        for t in (taken, fresh):
            assert await timeline(db, t.id, "rule_applied") == []


class TestEscalateHeldTooLong:
    async def test_l1_holding_a_ticket_8_business_hours_escalates_it(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await rule(db, L1_HELD_TOO_LONG, calendar_id=await calendar(client, company))
        held = await new_ticket(db, company)
        on_l2 = await new_ticket(db, company, group_id=company.l2_group_id)
        monday_9 = datetime(2027, 3, 1, 9, 0, tzinfo=MSK)
        for t in (held, on_l2):
            await backdate(db, t.id, created_at=monday_9, status_changed_at=monday_9)
        # 7 business hours on Monday; 9.5 by Tuesday 09:30 (the night does not count)
        first = await run(db, datetime(2027, 3, 1, 16, 0, tzinfo=MSK))
        assert first.fired == 0
        assert (await load(db, held.id)).line == 1
        second = await run(db, datetime(2027, 3, 2, 9, 30, tzinfo=MSK))
        assert second.fired == 1
        got = await load(db, held.id)
        assert (got.line, got.group_id) == (2, company.l2_group_id)
        [moved] = await timeline(db, held.id, "escalated")
        assert moved.actor_label == "Time rule: L1 held longer than 8 business hours"
        assert (await load(db, on_l2.id)).line == 2
        assert await timeline(db, on_l2.id, "rule_applied") == []


class TestNarrowedInSql:
    async def test_tags_and_the_vip_flag_are_read_in_sql(
        self, db: Database, company: Company
    ) -> None:
        await add_time_rule(db, "VIP asked for a call back", conditions={"all": [
            {"field": "tags", "op": "contains", "value": "callback"},
            {"field": "organization.vip", "op": "is", "value": True},
            {"field": "hours_since_created", "op": "gte", "value": 1},
        ]}, actions=[{"action": "add_note", "text": "Call back"}])  # fmt: skip
        async with db.unit_of_work() as s:
            await s.execute(
                update(Organization).where(Organization.id == company.acme_id).values(vip=True)
            )
        asked = await new_ticket(db, company)  # Carol: Acme, a VIP
        not_asked = await new_ticket(db, company)
        not_vip = await new_ticket(db, company, requester=RequesterIn(email="erin@globex.com"))
        for t in (asked, not_vip):
            await update_ticket(db, company, t.id, add_tags=["callback"])
        for t in (asked, not_asked, not_vip):
            await backdate(db, t.id, created_at=utcnow() - timedelta(hours=2))
        result = await run(db)
        assert (result.checked, result.fired) == (1, 1)  # the other two are not even read
        assert await timeline(db, asked.id, "rule_applied") != []


class TestEveryRuleRuns:
    async def test_a_rule_with_many_tickets_does_not_keep_the_next_ones_from_running(
        self,
    ) -> None:
        calls: list[tuple[str, int]] = []

        async def run_batch(rule: Any, after: int) -> automation.RuleBatch:
            calls.append((rule, after))
            if rule == "busy":  # a full batch every time: more to read
                return automation.RuleBatch(200, 0, 0, after + 200)
            return automation.RuleBatch(1, 1, 0, None)

        rules = cast(Any, ["busy", "quiet", "last"])
        result = await automation.drive_time_rules(rules, run_batch, max_batches=3)
        # each rule's first batch, and three more batches in all
        assert calls == [("busy", 0), ("busy", 200), ("busy", 400), ("busy", 600),
                         ("quiet", 0), ("last", 0)]  # fmt: skip
        assert (result.rules, result.checked, result.fired) == (3, 802, 2)


class TestFailures:
    async def test_a_refused_action_is_recorded_once_and_not_retried(
        self, db: Database, company: Company
    ) -> None:
        await add_time_rule(db, "Escalate stale", conditions={"all": [
            {"field": "hours_since_created", "op": "gte", "value": 1},
        ]}, actions=[{"action": "escalate", "reason": "Stale"}])  # fmt: skip
        t = await new_ticket(db, company, group_id=company.l3_group_id)  # no line 4 group
        await backdate(db, t.id, created_at=utcnow() - timedelta(hours=2))
        first = await automation_jobs.run_time_rules(db)
        assert (first.fired, first.failed) == (1, 1)
        second = await automation_jobs.run_time_rules(db)
        assert (second.fired, second.failed) == (0, 0)
        [failed] = await timeline(db, t.id, "rule_failed")
        assert failed.new_value["rule"] == "Time rule: Escalate stale"
        assert "line 4" in failed.new_value["error"]
        assert (await load(db, t.id)).line == 3


async def test_admins_run_the_time_rules_now(
    client: httpx.AsyncClient, db: Database, company: Company
) -> None:
    await rule(db, SOLVE_PENDING)
    t = await new_ticket(db, company)
    await update_ticket(db, company, t.id, status="pending")
    await backdate(db, t.id, status_changed_at=utcnow() - timedelta(days=7, minutes=1))
    r = await client.post("/api/v1/automation/time-rules/run", headers=company.l1_agent.headers)
    assert r.status_code == 403
    assert (await load(db, t.id)).status == "pending"
    r = await client.post("/api/v1/automation/time-rules/run", headers=company.admin.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"rules": 1, "checked": 1, "fired": 1, "failed": 0}
    assert (await load(db, t.id)).status == "solved"


# --- the job's two passes (automation/passes.py), with slices of a few ids ---------------

NOTE_NEW_FOR_AN_HOUR: dict[str, Any] = {
    "name": "New for an hour",
    "conditions": {"all": [
        {"field": "status", "op": "is", "value": "new"},
        {"field": "hours_since_created", "op": "gte", "value": 1},
    ]},
    "actions": [{"action": "add_note", "text": "An hour and nobody looked"}],
}  # fmt: skip
SPAN = 2  # ticket ids per slice of the sweep: a desk far bigger than one slice


async def noted(db: Database, tickets: list[Ticket]) -> list[int]:
    return [t.id for t in tickets if await timeline(db, t.id, "rule_applied")]


async def progress_of(db: Database, rule_id: int) -> TimeRuleProgress | None:
    async with db.unit_of_work(write=False) as s:
        return await s.get(TimeRuleProgress, rule_id)


class TestPasses:
    async def test_a_ticket_that_changes_is_looked_at_next_run_wherever_the_sweep_is(
        self, db: Database, company: Company
    ) -> None:
        await add_time_rule(db, "Call back", conditions={"all": [
            {"field": "tags", "op": "contains", "value": "callback"},
            {"field": "hours_since_created", "op": "gte", "value": 1},
        ]}, actions=[{"action": "add_note", "text": "Call back"}])  # fmt: skip
        made = [await new_ticket(db, company) for _ in range(8)]
        for t in made:
            await backdate(db, t.id, created_at=utcnow() - timedelta(hours=2))
        first = await run(db, span=SPAN)
        assert first.fired == 0
        last = made[-1]  # far beyond the sweep's first slices
        await update_ticket(db, company, last.id, add_tags=["callback"])
        second = await run(db, span=SPAN)
        assert second.fired == 1
        assert await noted(db, made) == [last.id]

    async def test_an_age_threshold_passed_since_the_last_run_is_found_without_a_change(
        self, db: Database, company: Company
    ) -> None:
        await rule(db, NOTE_NEW_FOR_AN_HOUR)
        now = utcnow()
        made = [await new_ticket(db, company) for _ in range(8)]
        for t in made:  # 59 minutes old and untouched since
            at = now - timedelta(minutes=59)
            await backdate(db, t.id, created_at=at, updated_at=at, status_changed_at=at)
        assert (await run(db, now, span=SPAN)).fired == 0
        # two minutes later all eight are an hour old: all found at once, not a slice
        # of the sweep at a time
        later = await run(db, now + timedelta(minutes=2), span=SPAN)
        assert later.fired == 8
        assert await noted(db, made) == [t.id for t in made]
        assert (await run(db, now + timedelta(minutes=3), span=SPAN)).fired == 0

    async def test_what_changes_no_ticket_is_found_by_the_sweep_slice_by_slice(
        self, db: Database, company: Company
    ) -> None:
        await add_time_rule(db, "VIP waiting", conditions={"all": [
            {"field": "organization.vip", "op": "is", "value": True},
            {"field": "hours_since_created", "op": "gte", "value": 1},
        ]}, actions=[{"action": "add_note", "text": "A VIP waits"}])  # fmt: skip
        made = [await new_ticket(db, company) for _ in range(6)]  # Carol: Acme
        for t in made:
            at = utcnow() - timedelta(hours=3)
            await backdate(db, t.id, created_at=at, updated_at=at, status_changed_at=at)
        assert (await run(db, span=SPAN)).fired == 0
        async with db.unit_of_work() as s:  # Acme becomes a VIP: no ticket changes
            await s.execute(
                update(Organization).where(Organization.id == company.acme_id).values(vip=True)
            )
        async with db.unit_of_work(write=False) as s:
            last_id = (await s.execute(select(func.max(Ticket.id)))).scalar_one()
        fired: list[int] = []
        for _ in range(last_id // SPAN + 2):  # one round of the sweep, whatever its start
            fired.append((await run(db, span=SPAN)).fired)
        assert sum(fired) == 6
        assert max(fired) <= SPAN  # a slice at a time, not all at once
        assert await noted(db, made) == [t.id for t in made]

    async def test_a_rule_that_is_new_or_changed_starts_over(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        rule_id = await rule(db, NOTE_NEW_FOR_AN_HOUR)
        t = await new_ticket(db, company)
        await backdate(db, t.id, created_at=utcnow() - timedelta(minutes=30))
        await run(db)
        saved = await progress_of(db, rule_id)
        # a desk that fits one slice: each run reads every ticket, and says so
        assert saved is not None and saved.sweep_done_at is not None
        assert saved.sweep_after_id == 0 and saved.changes_since == saved.sweep_done_at
        r = await client.patch(
            f"/api/v1/automation/time-rules/{rule_id}", headers=company.admin.headers,
            json={"conditions": {"all": [
                {"field": "status", "op": "is", "value": "new"},
                {"field": "hours_since_created", "op": "gte", "value": 0.25},
            ]}},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        assert await progress_of(db, rule_id) is None
        assert (await run(db)).fired == 1  # the changed rule reads what is there now

    async def test_a_run_that_runs_out_of_budget_goes_on_where_it_stopped(
        self, db: Database, company: Company
    ) -> None:
        rule_id = await rule(db, NOTE_NEW_FOR_AN_HOUR)
        made = [await new_ticket(db, company) for _ in range(5)]
        for t in made:  # untouched for two hours: the sweep finds them, not the changes
            at = utcnow() - timedelta(hours=2)
            await backdate(db, t.id, created_at=at, updated_at=at, status_changed_at=at)
        async with db.unit_of_work(write=False) as s:
            rules = await automation.time_rules_in_force(s)
            last_id = (await s.execute(select(func.max(Ticket.id)))).scalar_one()

        async def step(rule: Any, scope: passes.Scope, settle: Any) -> automation.RuleBatch:
            async with db.unit_of_work() as s:
                batch = await automation.run_time_rule_batch(
                    s, rule=rule, now=utcnow(), after_id=scope.after_id,
                    until_id=scope.until_id, changed_since=scope.changed_since, limit=2,
                )  # fmt: skip
                await passes.save_progress(s, rule.id, settle(batch))
                return batch

        progress: dict[int, passes.Progress] = {}
        seen = []
        for _ in range(3):  # two tickets a batch, no batch beyond the first
            result = await passes.advance(
                rules, progress, step, now=utcnow(), last_id=last_id, max_batches=0
            )
            seen.append(result.fired)
        assert seen == [2, 2, 1]
        assert await noted(db, made) == [t.id for t in made]
        saved = await progress_of(db, rule_id)
        assert saved is not None and saved.sweep_after_id == 0  # the round is complete


class TestSweepBudget:
    async def test_the_sweep_spends_the_budget_only_while_it_fires(self) -> None:
        calls: list[tuple[str, int]] = []

        async def step(rule: Any, scope: passes.Scope, settle: Any) -> automation.RuleBatch:
            if scope.changed_since is not None:  # nothing changed
                return automation.RuleBatch(0, 0, 0, None)
            calls.append((rule.name, scope.after_id))
            fires = 2 if rule.name == "catching up" else 0  # the other reads, matches none
            return automation.RuleBatch(2, fires, 0, scope.after_id + 2)

        rules = cast(Any, [
            automation.ActiveTimeRule(id=i, name=name, conditions=cast(Any, None), actions=(),
                                      calendar=cast(Any, None), statuses=frozenset({"new"}),
                                      reads=frozenset())
            for i, name in enumerate(["reading", "catching up"], start=1)
        ])  # fmt: skip
        await passes.advance(rules, {}, step, now=utcnow(), last_id=100, max_batches=3, span=50)
        assert calls == [("reading", 0), ("catching up", 0), ("catching up", 2),
                         ("catching up", 4), ("catching up", 6)]  # fmt: skip


class TestHoursSinceAssigned:
    async def test_the_clock_starts_when_the_assignee_gets_the_ticket(
        self, db: Database, company: Company
    ) -> None:
        await add_time_rule(db, "Assigned two hours, no reply", conditions={"all": [
            {"field": "status", "op": "is", "value": "open"},
            {"field": "hours_since_assigned", "op": "gte", "value": 2},
        ]}, actions=[{"action": "add_note", "text": "Still nothing?"}])  # fmt: skip
        long_ago = await new_ticket(db, company, assignee_id=company.l1_agent.id)
        just_now = await new_ticket(db, company)
        assert (await load(db, long_ago.id)).assigned_at is not None
        assert (await load(db, just_now.id)).assigned_at is None  # nobody has it
        await update_ticket(db, company, just_now.id, assignee_id=company.l1_agent.id)
        assert (await load(db, just_now.id)).assigned_at is not None
        for t in (long_ago, just_now):  # both created long ago, one assigned just now
            await backdate(db, t.id, created_at=utcnow() - timedelta(hours=5))
        await backdate(db, long_ago.id, assigned_at=utcnow() - timedelta(hours=3))
        assert (await run(db)).fired == 1
        assert await noted(db, [long_ago, just_now]) == [long_ago.id]
        await update_ticket(db, company, long_ago.id, assignee_id=None)
        assert (await load(db, long_ago.id)).assigned_at is None
