"""SLA and automation benchmark at 1,000,000 open tickets.

    .venv/bin/python -m benchmarks.load --backend postgres --tickets 1000000 --name open --open-only
    .venv/bin/python -m benchmarks.sla --backend postgres            # writes nothing
    .venv/bin/python -m benchmarks.sla --backend postgres --record   # updates RESULTS.md

On the database `benchmarks.load --name open --open-only` filled (every ticket new, open,
pending or on hold), migrated to the latest schema:

1. **Setup (not timed):** a business calendar (Moscow, Mon–Fri 09:00–18:00) and one SLA
   policy for every ticket; every ticket gets its SLA state in bulk (the same pure
   ``sla.rules`` the service uses, written with COPY / executemany).
2. **Re-evaluation on update** (``reeval``): ``sla.service.assign_policy`` — build the
   snapshot, choose the policy, compute the targets in business time — for 2,000 random
   tickets whose state was cleared, in transactions of 100: tickets per second.
3. **Sweeps** (``sweep_steady``, ``sweep_catchup``): ``sla.service.sweep_batch`` until
   nothing is due, with 1,000 tickets due (a sweep every 30 s at a busy desk) and with
   100,000 due (catching up after an hour-long outage): duration and tickets per second.
4. **Time rules** (``time_rules``): 20 time rules (``time_rules()``: pending 3 business
   days → remind, pending 7 days → solved, unassigned 30 minutes → supervisor, new for
   4 hours → tag, VIP, a tag, a word of the subject, …) made with
   ``automation.service.create_time_rule``; 1 % of the tickets tagged ``callback``. The
   steady state is written in bulk: every rule has already fired on every ticket it
   matches (``automation_runs``), as the earlier runs would have done, and each rule's
   passes (``automation/passes.py``) last looked a minute ago, its sweep at a random
   slice. Then runs as the job does them (``passes.advance`` over
   ``run_time_rule_batch``, each batch in its own transaction), each after "a minute"
   (the rules' last look moved a minute back, 200 random tickets updated in it): five
   with nothing due (what every run costs: the median, and the slowest), and one after
   1,000 tickets crossed a rule's threshold in that minute (the firing forgotten, the
   threshold's column moved): duration, tickets read, fired, and per rule and pass.
5. **Triggers** (``trigger_overhead``): ``tickets.service.update_ticket`` (priority
   normal → high — the tickets are set to normal first, untimed —, one ticket per
   transaction, as an admin, with the in-transaction subscribers installed) p50/p95 with
   0 active triggers, with 50 that the change does not match (40 of them listen to
   ``ticket.updated``, so they are evaluated), and with 50 of which 3 match and each add
   a tag: ``--updates`` per arm on random tickets, in blocks of 25 whose order rotates,
   the trigger cache warm; the added milliseconds.

``--parts reeval,sweeps,time_rules,triggers`` runs some of them (the setup always).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks._results import report
from benchmarks.load import DATA

PARTS_ORDER = ("reeval", "sweeps", "time_rules", "triggers")
PARTS = frozenset(PARTS_ORDER)

OFFICE = {
    "name": "Office (bench)", "timezone": "Europe/Moscow",
    "hours": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2027-01-01", "2027-01-07"],
}  # fmt: skip
TARGETS = {
    "low": {"first_response": 1440, "next_response": 1440, "resolution": 7200},
    "normal": {"first_response": 480, "next_response": 480, "resolution": 2880},
    "high": {"first_response": 120, "next_response": 240, "resolution": 1440},
    "urgent": {"first_response": 30, "next_response": 60, "resolution": 480},
}


async def _setup_policy(db: Any) -> tuple[int, int]:
    from sqlalchemy import delete

    from opora.auth.actor import system_actor
    from opora.sla import service
    from opora.sla.models import BusinessCalendar, SlaPolicy
    from opora.sla.schemas import CalendarCreate, PolicyCreate

    actor = system_actor("bench")
    async with db.unit_of_work() as s:
        await s.execute(delete(SlaPolicy))
        await s.execute(delete(BusinessCalendar))
    async with db.unit_of_work() as s:
        cal = await service.create_calendar(s, actor=actor, data=CalendarCreate(**OFFICE))
        policy = await service.create_policy(
            s, actor=actor,
            data=PolicyCreate(name="Bench policy", targets=TARGETS, calendar_id=cal.id),
        )  # fmt: skip
        return cal.id, policy.id


def _state(policy_id: int, priority: str, created: datetime, now: datetime, due: bool) -> tuple:
    """A running SLA state for a ticket (24/7 arithmetic: the sweep only compares stored
    times, so how they were computed does not change its cost). ``due``: its first
    response and resolution are already overdue; otherwise they are due in 30 days and
    more (not 30 days after creation: most tickets were created months ago)."""
    from opora.sla import rules

    state = rules.empty(policy_id, priority)
    for name in ("first_response", "resolution"):
        later = timedelta(days=30, minutes=TARGETS[priority][name])
        at = now - timedelta(minutes=1) if due else now + later
        state["targets"][name] = {
            "start": rules.iso(created), "minutes": TARGETS[priority][name],
            "due": rules.iso(at), "warn": None,
        }  # fmt: skip
    cols = rules.columns(state)
    return state, cols


async def _bulk_state(url: str, backend: str, policy_id: int, due_ids: set[int]) -> int:
    """Write every open ticket's SLA state in bulk; returns how many."""
    now = datetime.now(UTC)
    if backend == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite+aiosqlite:///"), isolation_level=None)
        rows = conn.execute("SELECT id, priority, created_at FROM tickets").fetchall()
        conn.execute("BEGIN")
        batch = []
        for tid, priority, created in rows:
            created_at = datetime.fromisoformat(created).replace(tzinfo=UTC)
            state, cols = _state(policy_id, priority, created_at, now, tid in due_ids)

            def ts(v: datetime | None) -> str | None:
                return v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ") if v else None

            batch.append((json.dumps(state), policy_id, ts(cols["first_response_due_at"]),
                          ts(cols["resolution_due_at"]), ts(cols["due_at"]),
                          ts(cols["sla_check_at"]), tid))  # fmt: skip
            if len(batch) >= 50_000:
                conn.executemany(
                    "UPDATE tickets SET sla_state=?, sla_policy_id=?, first_response_due_at=?, "
                    "resolution_due_at=?, due_at=?, sla_check_at=? WHERE id=?", batch
                )  # fmt: skip
                batch.clear()
        if batch:
            conn.executemany(
                "UPDATE tickets SET sla_state=?, sla_policy_id=?, first_response_due_at=?, "
                "resolution_due_at=?, due_at=?, sla_check_at=? WHERE id=?", batch
            )  # fmt: skip
        conn.execute("COMMIT")
        conn.close()
        return len(rows)
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch("SELECT id, priority, created_at FROM tickets")
        await conn.execute(
            "CREATE TEMP TABLE sla_bench (id int primary key, state json, fr timestamptz, "
            "res timestamptz, due timestamptz, chk timestamptz)"
        )
        records = []
        for r in rows:
            state, cols = _state(policy_id, r["priority"], r["created_at"], now, r["id"] in due_ids)
            records.append(
                (r["id"], json.dumps(state), cols["first_response_due_at"],
                 cols["resolution_due_at"], cols["due_at"], cols["sla_check_at"])
            )  # fmt: skip
        await conn.copy_records_to_table(
            "sla_bench", columns=["id", "state", "fr", "res", "due", "chk"], records=records
        )
        await conn.execute(
            "UPDATE tickets t SET sla_state = b.state, sla_policy_id = $1, "
            "first_response_due_at = b.fr, resolution_due_at = b.res, due_at = b.due, "
            "sla_check_at = b.chk FROM sla_bench b WHERE t.id = b.id", policy_id
        )  # fmt: skip
        await conn.execute("VACUUM ANALYZE tickets")
        return len(rows)
    finally:
        await conn.close()


async def _sweep_all(db: Any) -> tuple[int, float]:
    from opora.sla import service

    total = 0
    started = time.perf_counter()
    while True:
        async with db.unit_of_work() as s:
            result = await service.sweep_batch(s)
        total += result.checked
        if result.checked < service.SWEEP_BATCH:
            return total, time.perf_counter() - started


# --- 4. time rules ---------------------------------------------------------------------------

SUPERVISOR = "supervisor@bench.example"


def _when(*conds: tuple[str, str, Any]) -> dict[str, Any]:
    return {"all": [{"field": f, "op": op, "value": v} for f, op, v in conds]}


def _mail(to: str, subject: str) -> dict[str, Any]:
    return {"action": "notify_email", "to": to, "subject": subject,
            "body": "{{ticket.subject}}: {{ticket.url}}"}  # fmt: skip


def time_rules(calendar_id: int) -> list[dict[str, Any]]:
    """Twenty time rules a busy desk might run (the first five are the issue's)."""
    cal = {"calendar_id": calendar_id}
    status_age = "hours_since_status_change"
    return [
        {"name": "Remind after 3 business days pending", **cal,
         "conditions": _when(("status", "is", "pending"),
                             ("business_hours_since_status_change", "gte", 27)),
         "actions": [_mail("requester", "Ждём вашего ответа по заявке #{{ticket.number}}")]},
        {"name": "Solve after 7 days pending",
         "conditions": _when(("status", "is", "pending"), (status_age, "gte", 168)),
         "actions": [{"action": "set_status", "status": "solved"}]},
        {"name": "Close solved after 4 days",
         "conditions": _when(("status", "is", "solved"), ("hours_since_status_change", "gte", 96)),
         "actions": [{"action": "set_status", "status": "closed"}]},
        {"name": "Unassigned for 30 minutes",
         "conditions": _when(("assignee_id", "is", None), ("hours_since_created", "gte", 0.5)),
         "actions": [_mail(SUPERVISOR, "Nobody has #{{ticket.number}} yet")]},
        {"name": "L1 held longer than 8 business hours", **cal,
         "conditions": _when(("line", "is", 1), ("business_hours_since_created", "gte", 8)),
         "actions": [{"action": "escalate", "reason": "Первая линия держит заявку дольше 8 ч"}]},
        {"name": "New for 4 hours: tag",
         "conditions": _when(("status", "is", "new"), ("hours_since_created", "gte", 4)),
         "actions": [{"action": "add_tags", "tags": ["waiting-4h"]}]},
        {"name": "New for 24 hours: tell the group",
         "conditions": _when(("status", "is", "new"), ("hours_since_created", "gte", 24)),
         "actions": [_mail("group", "#{{ticket.number}} is new for a day")]},
        {"name": "On hold for 14 days: note",
         "conditions": _when(("status", "is", "on_hold"), (status_age, "gte", 336)),
         "actions": [{"action": "add_note", "text": "On hold for two weeks: still waiting?"}]},
        {"name": "Urgent without an update for 2 hours",
         "conditions": _when(("status", "is", "open"), ("priority", "is", "urgent"),
                             ("hours_since_updated", "gte", 2)),
         "actions": [_mail("assignee", "#{{ticket.number}} is urgent and quiet")]},
        {"name": "VIP new for an hour: high priority",
         "conditions": _when(("status", "is", "new"), ("organization.vip", "is", True),
                             ("hours_since_created", "gte", 1)),
         "actions": [{"action": "set_priority", "priority": "high"}]},
        {"name": "Callback asked, pending a day: note",
         "conditions": _when(("status", "is", "pending"), ("tags", "contains", "callback"),
                             ("hours_since_status_change", "gte", 24)),
         "actions": [{"action": "add_note", "text": "Call the customer back"}]},
        {"name": "Open for 30 days: stale",
         "conditions": _when(("status", "is", "open"), ("hours_since_status_change", "gte", 720)),
         "actions": [{"action": "add_tags", "tags": ["stale"]}]},
        {"name": "Incident open for 2 days: webhook",
         "conditions": _when(("type", "is", "incident"), ("status", "is", "open"),
                             ("hours_since_status_change", "gte", 48)),
         "actions": [{"action": "webhook", "url": "https://status.bench.example/hook"}]},
        {"name": "Complaint new for 2 hours: tell the group",
         "conditions": _when(("type", "is", "complaint"), ("status", "is", "new"),
                             ("hours_since_created", "gte", 2)),
         "actions": [_mail("group", "A complaint waits: #{{ticket.number}}")]},
        {"name": "L2 pending 5 business days: tell the assignee", **cal,
         "conditions": _when(("line", "is", 2), ("status", "is", "pending"),
                             ("business_hours_since_status_change", "gte", 45)),
         "actions": [_mail("assignee", "#{{ticket.number}} pending for a week")]},
        {"name": "Chat waiting 15 minutes: tag",
         "conditions": _when(("channel", "in", ["chat", "telegram", "vk"]), ("status", "is", "new"),
                             ("hours_since_created", "gte", 0.25)),
         "actions": [{"action": "add_tags", "tags": ["chat-waiting"]}]},
        {"name": "Low priority on hold 30 days: solve",
         "conditions": _when(("status", "is", "on_hold"), ("priority", "is", "low"),
                             ("hours_since_status_change", "gte", 720)),
         "actions": [{"action": "add_note", "text": "Solved after a month on hold"},
                     {"action": "set_status", "status": "solved"}]},
        {"name": "Feature request open 14 days: backlog",
         "conditions": _when(("type", "is", "feature_request"), ("status", "is", "open"),
                             ("hours_since_status_change", "gte", 336)),
         "actions": [{"action": "add_tags", "tags": ["backlog"]}]},
        {"name": "Cannot log in, open a day: tag",
         "conditions": _when(("subject", "contains", "войти"), ("status", "is", "open"),
                             ("hours_since_created", "gte", 24)),
         "actions": [{"action": "add_tags", "tags": ["login"]}]},
        {"name": "High priority quiet for a business day", **cal,
         "conditions": _when(("priority", "is", "high"), ("status", "is", "open"),
                             ("business_hours_since_status_change", "gte", 9)),
         "actions": [_mail("group", "#{{ticket.number}}: high priority, a day without change")]},
    ]  # fmt: skip


async def _clear_automation(db: Any) -> None:
    from sqlalchemy import delete

    from opora.automation.models import AutomationRun, TimeRule, Trigger
    from opora.tickets.models import Tag, TicketTag

    async with db.unit_of_work() as s:
        for model in (AutomationRun, TimeRule, Trigger, TicketTag, Tag):
            await s.execute(delete(model))


async def _tag_some(db: Any, name: str, ticket_ids: list[int]) -> None:
    from sqlalchemy import insert

    from opora.tickets.models import Tag, TicketTag

    async with db.unit_of_work() as s:
        tag = Tag(name=name)
        s.add(tag)
        await s.flush()
        rows = [{"ticket_id": t, "tag_id": tag.id} for t in ticket_ids]
        for i in range(0, len(rows), 10_000):
            await s.execute(insert(TicketTag), rows[i : i + 10_000])


def _bench_sql(rule: Any) -> list[Any]:
    """SQL for the conditions the service evaluates in Python only (setup, for these
    rules): the VIP flag, a tag, a word of the subject."""
    from sqlalchemy import exists, select

    from opora.contacts.models import Organization
    from opora.tickets.models import Tag, Ticket, TicketTag

    where: list[Any] = []
    for cond in rule.conditions.all:
        if cond.field == "organization.vip":
            vip = select(Organization.id).where(Organization.vip.is_(bool(cond.value)))
            where.append(Ticket.organization_id.in_(vip))
        elif cond.field == "tags" and cond.op == "contains":
            where.append(
                exists().where(
                    TicketTag.ticket_id == Ticket.id, TicketTag.tag_id == Tag.id,
                    Tag.name == cond.value,
                )
            )  # fmt: skip
        elif cond.field == "subject" and cond.op == "contains":
            where.append(Ticket.subject.contains(cond.value))
    return where


async def _record_fired(db: Any, backend: str, now: datetime) -> int:
    """The steady state: every rule has fired on every ticket it matches now (what the
    earlier runs did), written in bulk. The rule's SQL narrowing (the service's own) plus
    ``_bench_sql`` select them; for a rule in business hours the tickets whose status
    changed in the last 30 days are checked with the service's own evaluation."""
    from sqlalchemy import func, insert, literal, select, text

    from opora.automation import service as automation
    from opora.automation.conditions import evaluate
    from opora.automation.models import AutomationRun
    from opora.automation.snapshot import add_ages, ticket_fields
    from opora.tickets.models import Ticket

    async with db.unit_of_work() as s:
        rules = await automation.time_rules_in_force(s)
    when = literal(now, AutomationRun.fired_at.type)
    changed = func.coalesce(Ticket.status_changed_at, Ticket.updated_at)
    surely = now - timedelta(days=30)  # 30 days hold more business hours than any rule asks
    total = 0
    for rule in rules:
        where = [*automation._narrowing(rule, now), *_bench_sql(rule)]
        business = any(f.startswith("business_") for f in rule.reads)
        cols = ["rule_kind", "rule_id", "ticket_id", "marker", "fired_at"]
        async with db.unit_of_work() as s:
            fired = select(
                literal(automation.TIME_RULE), literal(rule.id), Ticket.id, literal("bench"), when
            ).where(*where, *([changed <= surely] if business else []))
            total += (await s.execute(insert(AutomationRun).from_select(cols, fired))).rowcount
            if not business:
                continue
            matched = []
            for t in (await s.execute(select(Ticket).where(*where, changed > surely))).scalars():
                snap = {**ticket_fields(t), "tags": []}
                add_ages(snap, t, now=now, calendar=rule.calendar, only=rule.reads)
                if evaluate(rule.conditions, snap):
                    matched.append(
                        {"rule_kind": automation.TIME_RULE, "rule_id": rule.id,
                         "ticket_id": t.id, "marker": "bench", "fired_at": now}
                    )  # fmt: skip
            s.expunge_all()
            for i in range(0, len(matched), 10_000):
                await s.execute(insert(AutomationRun), matched[i : i + 10_000])
            total += len(matched)
    async with db.unit_of_work() as s:  # the planner's statistics, as autovacuum keeps them
        analyze = "ANALYZE" if backend == "sqlite" else "ANALYZE automation_runs, ticket_tags"
        await s.execute(text(analyze))
    return total


@dataclass
class RuleStats:
    batches: int = 0
    checked: int = 0
    fired: int = 0
    seconds: float = 0.0
    changes_seconds: float = 0.0  # of which: the pass over what changed
    sweep_seconds: float = 0.0  # of which: the sweep's slice


async def _run_time_rules(
    db: Any, now: datetime, stats: dict[str, RuleStats] | None = None
) -> tuple[Any, float]:
    """One run as the job ``automation.time_rules`` does it (``jobs.run_time_rules``: its
    steps, each batch and the rule's progress in one transaction), timed per rule and
    pass: the run's result and its duration."""
    from sqlalchemy import func, select

    from opora.automation import passes
    from opora.automation import service as automation
    from opora.tickets.models import Ticket

    started = time.perf_counter()
    async with db.unit_of_work(write=False) as session:
        rules = await automation.time_rules_in_force(session)
        progress = await passes.load_progress(session)
        last_id = (await session.execute(select(func.max(Ticket.id)))).scalar() or 0

    async def step(rule: Any, scope: Any, settle: Any) -> Any:
        t0 = time.perf_counter()
        async with db.unit_of_work() as session:
            batch = await automation.run_time_rule_batch(
                session, rule=rule, now=now, after_id=scope.after_id, until_id=scope.until_id,
                changed_since=scope.changed_since,
            )  # fmt: skip
            await passes.save_progress(session, rule.id, settle(batch))
        if stats is not None:
            one = stats.setdefault(rule.name, RuleStats())
            took = time.perf_counter() - t0
            one.batches += 1
            one.checked += batch.checked
            one.fired += batch.fired
            one.seconds += took
            if scope.changed_since is not None:
                one.changes_seconds += took
            else:
                one.sweep_seconds += took
        return batch

    result = await passes.advance(rules, progress, step, now=now, last_id=last_id)
    return result, time.perf_counter() - started


def _print_stats(stats: dict[str, RuleStats], names: list[str]) -> None:
    print(f"  {'rule':48} {'batches':>7} {'checked':>8} {'fired':>6} {'changes':>8} "
          f"{'sweep':>7}")  # fmt: skip
    for name in names:
        one = stats.get(name)
        if one is None:
            print(f"  {name[:48]:48} {'(not reached)':>23}")
        else:
            print(f"  {name[:48]:48} {one.batches:>7} {one.checked:>8} {one.fired:>6} "
                  f"{one.changes_seconds:>8.2f} {one.sweep_seconds:>7.2f}")  # fmt: skip


ACTIVE_PER_MINUTE = 200


async def _a_minute_passes(db: Any, now: datetime, n: int, rng: random.Random) -> None:
    """As if the last run was a minute before ``now``: every rule last looked then, and
    ``ACTIVE_PER_MINUTE`` tickets changed since (agents and customers at work)."""
    from sqlalchemy import update

    from opora.automation.models import TimeRuleProgress
    from opora.tickets.models import Ticket

    async with db.unit_of_work() as s:
        await s.execute(
            update(TimeRuleProgress)
            .where(TimeRuleProgress.changes_pass_at.is_(None))
            .values(changes_since=now - timedelta(seconds=60))
        )
        for tid in rng.sample(range(1, n + 1), ACTIVE_PER_MINUTE):
            at = now - timedelta(seconds=rng.uniform(1, 59))
            await s.execute(update(Ticket).where(Ticket.id == tid).values(updated_at=at))


async def _make_due(db: Any, now: datetime, due: int, rng: random.Random) -> list[tuple[int, int]]:
    """``due`` (rule, ticket) pairs the rule has fired on are made to have just crossed
    the rule's age threshold: the firing forgotten, the threshold's column moved to
    between a minute ago and now (minus the hours). Rules in business hours are left out:
    on a weekend evening nothing crosses a business-hours threshold."""
    from sqlalchemy import delete, func, select, update

    from opora.automation import service as automation
    from opora.automation.models import AutomationRun
    from opora.tickets.models import Ticket

    async with db.unit_of_work(write=False) as s:
        rules = {r.id: r for r in await automation.time_rules_in_force(s)}
    plain = {
        rid: next(c for c in r.conditions.all if c.field in automation._HOURS and c.op == "gte")
        for rid, r in rules.items()
        if not any(f.startswith("business_") for f in r.reads)
    }
    columns = {"created": "created_at", "updated": "updated_at", "assigned": "assigned_at",
               "status_change": "status_changed_at"}  # fmt: skip
    async with db.unit_of_work() as s:
        picked = (
            await s.execute(
                select(AutomationRun.id, AutomationRun.rule_id, AutomationRun.ticket_id)
                .where(AutomationRun.rule_id.in_(list(plain)))
                .order_by(func.random())
                .limit(due * 2)
            )
        ).all()
        seen: set[int] = set()
        chosen = []
        for run_id, rule_id, ticket_id in picked:  # one rule per ticket
            if ticket_id not in seen and len(chosen) < due:
                seen.add(ticket_id)
                chosen.append((run_id, rule_id, ticket_id))
        await s.execute(delete(AutomationRun).where(AutomationRun.id.in_([c[0] for c in chosen])))
        for _, rule_id, ticket_id in chosen:
            cond = plain[rule_id]
            column = columns[cond.field.rsplit("_since_", 1)[1]]
            at = now - timedelta(hours=float(cond.value), seconds=rng.uniform(1, 55))
            await s.execute(update(Ticket).where(Ticket.id == ticket_id).values({column: at}))
    return [(rule_id, ticket_id) for _, rule_id, ticket_id in chosen]


async def _bench_time_rules(
    db: Any, backend: str, key: str, calendar_id: int, n: int, rng: random.Random
) -> dict[str, tuple[float, str]]:
    from sqlalchemy import select

    from opora.auth.actor import system_actor
    from opora.automation import passes
    from opora.automation import service as automation
    from opora.automation.models import AutomationRun
    from opora.automation.schemas import TimeRuleCreate
    from opora.kit.time import utcnow

    figures: dict[str, tuple[float, str]] = {}
    t0 = time.perf_counter()
    await _clear_automation(db)
    specs = time_rules(calendar_id)
    actor = system_actor("bench")
    async with db.unit_of_work() as s:
        for spec in specs:
            await automation.create_time_rule(s, actor=actor, data=TimeRuleCreate(**spec))
    names = [spec["name"] for spec in specs]
    # 1 % of the tickets asked for a call back (the tag rule's tickets)
    await _tag_some(db, "callback", rng.sample(range(1, n + 1), n // 100))
    setup_at = utcnow()
    recorded = await _record_fired(db, backend, setup_at)
    # and each rule's passes stand where the earlier runs left them: looked at a minute
    # ago, the sweep somewhere in its round (a different slice for each rule)
    async with db.unit_of_work() as s:
        for rule in await automation.time_rules_in_force(s):
            at = rng.randrange(0, n, passes.SWEEP_SPAN)
            await passes.save_progress(
                s, rule.id,
                passes.Progress(changes_since=setup_at, sweep_after_id=at,
                                sweep_started_at=setup_at - timedelta(minutes=30)),
            )  # fmt: skip
    print(f"{backend}: {len(specs)} time rules; {recorded:,} earlier firings recorded in "
          f"{time.perf_counter() - t0:.0f} s")  # fmt: skip

    # nothing due: what a run costs when every rule has fired on every ticket it matches
    # (the changes of a minute, and each rule's slice of the sweep)
    idle = []
    stats: dict[str, RuleStats] = {}
    for _ in range(5):
        now = utcnow()
        await _a_minute_passes(db, now, n, rng)
        stats = {}
        result, seconds = await _run_time_rules(db, now, stats)
        idle.append(seconds)
        changes = sum(one.changes_seconds for one in stats.values())
        sweep = sum(one.sweep_seconds for one in stats.values())
        print(f"{backend} time rules, nothing due: {seconds:.2f} s (changes {changes:.2f} s, "
              f"sweep {sweep:.2f} s), {result.checked:,} tickets checked, {result.fired} "
              f"fired")  # fmt: skip
    _print_stats(stats, names)
    figures[f"{key}.time_rules.idle.seconds"] = (sorted(idle)[2], "s")
    figures[f"{key}.time_rules.idle.max_seconds"] = (max(idle), "s")

    # 1,000 due: tickets that crossed a rule's threshold in the last minute
    due = 1000
    now = utcnow()
    await _a_minute_passes(db, now, n, rng)
    pairs = await _make_due(db, now, due, rng)
    stats = {}
    result, seconds = await _run_time_rules(db, now, stats)
    async with db.unit_of_work(write=False) as s:
        rows = await s.execute(
            select(AutomationRun.rule_id, AutomationRun.ticket_id).where(
                AutomationRun.ticket_id.in_([t for _, t in pairs]),
                AutomationRun.marker != "bench",
            )
        )
        again = {(rule_id, ticket_id) for rule_id, ticket_id in rows}
    handled = sum(pair in again for pair in pairs)
    print(f"{backend} time rules, {len(pairs):,} due: {seconds:.2f} s, {result.checked:,} "
          f"tickets checked, {result.fired} fired ({result.failed} failed; {handled:,} of the "
          f"{len(pairs):,} due)")  # fmt: skip
    _print_stats(stats, names)
    figures[f"{key}.time_rules.seconds"] = (seconds, "s")
    figures[f"{key}.time_rules.checked"] = (float(result.checked), "tickets")
    figures[f"{key}.time_rules.fired"] = (float(result.fired), "tickets")
    figures[f"{key}.time_rules.due_fired"] = (float(handled), "tickets")
    return figures


# --- 5. triggers -----------------------------------------------------------------------------


def triggers(group_ids: list[int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Fifty triggers a priority change does not match (forty listen to ``ticket.updated``
    and are evaluated on it), and three it does (each adds a tag)."""
    tag = {"action": "add_tags", "tags": ["bench"]}
    note = {"action": "add_note", "text": "{{ticket.subject}}"}
    kinds: list[tuple[list[str], dict[str, Any], list[dict[str, Any]]]] = [
        (["ticket.updated"], _when(("status", "changed_to", "solved")),
         [_mail("requester", "How did we do on #{{ticket.number}}?")]),
        (["ticket.updated"], _when(("status", "changed_to", "pending")), [note]),
        (["ticket.updated"], _when(("priority", "is", "urgent"), ("organization.vip", "is", True)),
         [{"action": "escalate", "reason": "VIP, urgent"}]),
        (["ticket.updated"], _when(("assignee_id", "changed", True)),
         [_mail("assignee", "#{{ticket.number}} is yours")]),
        (["ticket.updated"], _when(("group_id", "changed_to", group_ids[-1])),
         [_mail("group", "#{{ticket.number}} came to your group")]),
        (["ticket.updated"], _when(("tags", "contains", "vip-{i}")),
         [{"action": "set_priority", "priority": "urgent"}]),
        (["ticket.updated"], {"any": [{"field": "subject", "op": "contains", "value": "word{i}"},
                                      {"field": "text", "op": "matches_any_word",
                                       "value": ["суд{i}", "lawsuit{i}"]}]}, [tag]),
        (["ticket.updated"], _when(("requester.email_domain", "in", ["corp{i}.ru"])),
         [{"action": "set_group", "group_id": group_ids[0]}]),
        (["ticket.updated"], _when(("type", "changed_to", "incident"), ("priority", "is", "high")),
         [{"action": "webhook", "url": "https://status.bench.example/{i}"}]),
        (["ticket.updated"], _when(("line", "changed_to", 2)), [note]),
        (["ticket.updated"], _when(("sla.breached", "contains", "resolution"),
                                   ("priority", "is", "urgent")),
         [_mail("group", "#{{ticket.number}} breached")]),
        (["ticket.updated", "message.created"],
         _when(("status", "is", "closed"), ("hours_since_created", "gte", 1000)), [note]),
        (["message.created"], _when(("message.author", "is", "customer"),
                                    ("tags", "contains", "waiting-{i}")),
         [{"action": "remove_tags", "tags": ["waiting-{i}"]}]),
        (["ticket.created"], _when(("channel", "is", "telegram"), ("subject", "contains", "x{i}")),
         [tag]),
    ]  # fmt: skip
    # 40 evaluated on ticket.updated (the first twelve kinds), 10 on other events
    updated = [k for k in kinds if "ticket.updated" in k[0]]
    other = [k for k in kinds if "ticket.updated" not in k[0]]
    chosen = [updated[i % len(updated)] for i in range(40)] + [other[i % 2] for i in range(10)]
    idle = []
    for i, (events, conditions, actions) in enumerate(chosen):
        text = json.dumps({"c": conditions, "a": actions}).replace("{i}", str(i))
        spec = json.loads(text)
        idle.append({"name": f"Bench trigger {i}", "events": events,
                     "conditions": spec["c"], "actions": spec["a"]})  # fmt: skip
    matching = [
        {"name": "Priority changed: tag", "events": ["ticket.updated"],
         "conditions": _when(("priority", "changed", True)),
         "actions": [{"action": "add_tags", "tags": ["reprioritized"]}]},
        {"name": "Priority raised: tag", "events": ["ticket.updated"],
         "conditions": _when(("priority", "changed_to", "high")),
         "actions": [{"action": "add_tags", "tags": ["raised"]}]},
        {"name": "Was normal: tag", "events": ["ticket.updated"],
         "conditions": _when(("priority", "changed_from", "normal")),
         "actions": [{"action": "add_tags", "tags": ["was-normal"]}]},
    ]  # fmt: skip
    return idle, matching


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _bench_triggers(
    db: Any, backend: str, key: str, n: int, rng: random.Random, updates: int
) -> dict[str, tuple[float, str]]:
    """``update_ticket`` (normal → high, one ticket per transaction) with 0 active
    triggers, 50 that do not match and 50 of which 3 match, in blocks of 25 updates,
    the arms' order rotating every round, each block on its own random tickets."""
    from sqlalchemy import select, update

    from opora.auth import repository as users
    from opora.auth.actor import system_actor
    from opora.auth.models import Group
    from opora.auth.service import actor_for_user
    from opora.automation import engine
    from opora.automation import service as automation
    from opora.automation.models import TimeRule, Trigger
    from opora.automation.schemas import TriggerCreate
    from opora.tickets import service as tickets
    from opora.tickets.models import OPEN_STATUSES, Ticket
    from opora.tickets.schemas import TicketUpdate

    await _clear_automation(db)
    admin = system_actor("bench")
    async with db.unit_of_work() as s:
        await s.execute(update(TimeRule).values(is_active=False))
        group_ids = list((await s.execute(select(Group.id).order_by(Group.id))).scalars())
        idle_specs, matching_specs = triggers(group_ids)
        ids: dict[str, int] = {}
        for spec in [*idle_specs, *matching_specs]:
            row = await automation.create_trigger(s, actor=admin, data=TriggerCreate(**spec))
            ids[spec["name"]] = row.id
        user = await users.get_user_by_email(s, "bench-admin@opora.dev")
        assert user is not None
        actor = await actor_for_user(s, user)
    idle_ids = [ids[spec["name"]] for spec in idle_specs]
    match_ids = idle_ids[: len(idle_ids) - len(matching_specs)]
    match_ids += [ids[spec["name"]] for spec in matching_specs]
    arms = {"triggers_0": [], "triggers_50_idle": idle_ids, "triggers_50": match_ids}

    block, warm = 25, 25
    rounds = -(-updates // block)
    wanted = len(arms) * (rounds * block + warm)
    sample = rng.sample(range(1, n + 1), min(n, wanted * 2))
    async with db.unit_of_work() as s:
        found: set[int] = set()
        for i in range(0, len(sample), 5000):
            rows = await s.execute(
                select(Ticket.id).where(
                    Ticket.id.in_(sample[i : i + 5000]), Ticket.status.in_(list(OPEN_STATUSES))
                )
            )
            found.update(rows.scalars())
        queue = [tid for tid in sample if tid in found][:wanted]
        # every update is the same change, normal → high, whatever earlier runs changed
        for i in range(0, len(queue), 5000):
            chunk = queue[i : i + 5000]
            await s.execute(update(Ticket).where(Ticket.id.in_(chunk)).values(priority="normal"))

    async def switch(active: list[int]) -> None:
        async with db.unit_of_work() as s:
            await s.execute(update(Trigger).values(is_active=Trigger.id.in_(active or [0])))
            engine.forget_triggers(s)
        async with db.unit_of_work(write=False) as s:
            assert len(await engine.active_triggers(s)) == len(active)  # the cache, warm

    async def one() -> float:
        tid = queue.pop()
        started = time.perf_counter()
        async with db.unit_of_work() as s:
            await tickets.update_ticket(
                s, actor=actor, ticket_id=tid, data=TicketUpdate(priority="high")
            )
        return (time.perf_counter() - started) * 1000

    timings: dict[str, list[float]] = {name: [] for name in arms}
    names = list(arms)
    for name in names:  # warm-up, not counted
        await switch(arms[name])
        for _ in range(warm):
            await one()
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        if r % 2:
            order.reverse()
        for name in order:
            await switch(arms[name])
            for _ in range(block):
                timings[name].append(await one())
    await switch([])

    figures: dict[str, tuple[float, str]] = {}
    p50, p95 = {}, {}
    for name, values in timings.items():
        p50[name], p95[name] = _percentile(values, 0.5), _percentile(values, 0.95)
        print(f"{backend} update_ticket, {name}: p50 {p50[name]:.2f} ms, p95 {p95[name]:.2f} "
              f"ms ({len(values)} updates)")  # fmt: skip
        figures[f"{key}.update.{name}.p50_ms"] = (p50[name], "ms")
        figures[f"{key}.update.{name}.p95_ms"] = (p95[name], "ms")
    for name in ("triggers_50_idle", "triggers_50"):
        at50, at95 = p50[name] - p50["triggers_0"], p95[name] - p95["triggers_0"]
        print(f"{backend} {name}: adds {at50:.2f} ms at p50, {at95:.2f} ms at p95")
        arm = name.removeprefix("triggers_")
        figures[f"{key}.trigger_overhead.{arm}.p50_added_ms"] = (at50, "ms")
        figures[f"{key}.trigger_overhead.{arm}.p95_added_ms"] = (at95, "ms")
    return figures


async def bench(
    backend: str, parts: frozenset[str] = PARTS, updates: int = 1000, name: str = "open"
) -> dict[str, tuple[float, str]]:
    from opora.app import load_job_modules
    from opora.config import Settings
    from opora.db import Database
    from opora.migrations import runner

    info_path = DATA / f"{backend}-{name}.json"
    if not info_path.exists():
        print(f"no {info_path}: run `python -m benchmarks.load --backend {backend} "
              f"--name {name} --open-only` first")  # fmt: skip
        return {}
    info = json.loads(info_path.read_text())
    url = info["database_url"]
    await runner.upgrade(url)
    load_job_modules()
    settings = Settings(database_url=url, data_dir=DATA / f"{backend}-{name}-data")
    db = Database(url, settings=settings, info={"opora.notify": False})
    figures: dict[str, tuple[float, str]] = {}
    key = f"sla.{backend}.at_{info['tickets'] // 1000}k"
    rng = random.Random(3)
    try:
        calendar_id, policy_id = await _setup_policy(db)
        n = info["tickets"]

        # 2. re-evaluation on update
        if "reeval" in parts:
            figures.update(await _bench_reeval(db, backend, key, n, rng))
        # 3. sweeps
        if "sweeps" in parts:
            figures.update(await _bench_sweeps(db, url, backend, key, n, policy_id, rng))
        # 4. time rules
        if "time_rules" in parts:
            figures.update(
                await _bench_time_rules(db, backend, key, calendar_id, n, random.Random(4))
            )
        # 5. triggers
        if "triggers" in parts:
            figures.update(await _bench_triggers(db, backend, key, n, random.Random(5), updates))
    finally:
        await db.dispose()
    return figures


async def _bench_reeval(
    db: Any, backend: str, key: str, n: int, rng: random.Random
) -> dict[str, tuple[float, str]]:
    from sqlalchemy import select, update

    from opora.sla import service
    from opora.tickets.models import Ticket

    figures: dict[str, tuple[float, str]] = {}
    sample = rng.sample(range(1, n + 1), 2000)
    async with db.unit_of_work() as s:
        await s.execute(
            update(Ticket).where(Ticket.id.in_(sample)).values(sla_state={}, sla_policy_id=None)
        )
    started = time.perf_counter()
    for i in range(0, len(sample), 100):
        async with db.unit_of_work() as s:
            rows = await s.execute(select(Ticket).where(Ticket.id.in_(sample[i : i + 100])))
            for ticket in rows.scalars():
                await service.assign_policy(s, ticket, now=datetime.now(UTC))
    rate = len(sample) / (time.perf_counter() - started)
    print(f"{backend}: policy + targets re-evaluated: {rate:,.0f} tickets/s")
    figures[f"{key}.reeval.per_second"] = (rate, "tickets/s")
    return figures


async def _bench_sweeps(
    db: Any, url: str, backend: str, key: str, n: int, policy_id: int, rng: random.Random
) -> dict[str, tuple[float, str]]:
    figures: dict[str, tuple[float, str]] = {}
    for name, due_count in (("sweep_steady", 1000), ("sweep_catchup", 100_000)):
        due_ids = set(rng.sample(range(1, n + 1), due_count))
        t0 = time.perf_counter()
        written = await _bulk_state(url, backend, policy_id, due_ids)
        print(f"{backend}: SLA state of {written:,} tickets written in "
              f"{time.perf_counter() - t0:.0f} s ({due_count:,} due)")  # fmt: skip
        checked, seconds = await _sweep_all(db)
        print(f"{backend} {name}: {checked:,} tickets in {seconds:.2f} s "
              f"({checked / seconds:,.0f} tickets/s)")  # fmt: skip
        figures[f"{key}.{name}.seconds"] = (seconds, "s")
        figures[f"{key}.{name}.per_second"] = (checked / seconds, "tickets/s")
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--record", action="store_true", help="write figures to RESULTS.md")
    parser.add_argument(
        "--parts", default=",".join(PARTS_ORDER),
        help=f"comma-separated, of: {', '.join(PARTS_ORDER)} (default: all)",
    )  # fmt: skip
    parser.add_argument(
        "--updates", type=int, default=1000, help="ticket updates per arm (triggers)"
    )
    parser.add_argument("--name", default="open", help="the database benchmarks.load --name made")
    args = parser.parse_args()
    parts = frozenset(p.strip() for p in args.parts.split(",") if p.strip())
    if unknown := parts - PARTS:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    figures = await bench(args.backend, parts, args.updates, args.name)
    report("sla", figures, record=args.record)


if __name__ == "__main__":
    asyncio.run(main())
