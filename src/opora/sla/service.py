"""SLA use cases: business calendars and policies (admins), and a ticket's SLA clock.

The clock moves with the ticket (``sla/subscribers.py`` calls ``on_*`` for each ticket
event, in the event's transaction): a policy is chosen when the ticket is created and
again when a field its conditions read changes; the first response and the resolution
start with the ticket; each customer message after the first answer starts the next
response; a public agent reply meets the first and the next response; solving meets the
resolution; waiting for the customer (and, if the policy says so, on hold) pauses it.
``sweep`` (the periodic job) records warnings and breaches, each exactly once.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from opora import events
from opora.auth.actor import Actor, require_admin, system_actor
from opora.automation import snapshot
from opora.automation.conditions import (
    Conditions,
    RuleError,
    conditions_to_spec,
    evaluate,
    parse_conditions,
    referenced_fields,
)
from opora.db import shared_cache
from opora.errors import Conflict, InvalidInput, NotFound
from opora.kit.time import utcnow
from opora.sla import rules
from opora.sla.calendar import (
    BusinessCalendar,
    CalendarError,
    business_minutes_between,
    calendar_from_spec,
    calendar_to_spec,
    parse_holidays_csv,
)
from opora.sla.models import TARGETS, SlaPolicy
from opora.sla.models import BusinessCalendar as CalendarRow
from opora.sla.schemas import (
    CalendarCreate,
    CalendarUpdate,
    PolicyCreate,
    PolicyUpdate,
)
from opora.tickets.models import Priority, Ticket, TicketEvent, TicketStatus

# the ticket fields an SLA policy's conditions may read
POLICY_FIELDS = frozenset(
    {"priority", "type", "channel", "group_id", "organization_id", "organization.vip",
     "tags", "line", "requester.email_domain", "requester.language"}
)  # fmt: skip
# a change of one of these (or of the requester) may choose another policy
POLICY_INPUTS = frozenset(
    {"priority", "type", "channel", "group_id", "organization_id", "line", "tags",
     "requester_id"}
)  # fmt: skip
ALWAYS_OPEN = BusinessCalendar(timezone="UTC", hours={})
CACHE_SECONDS = 10.0
_CACHE_KEY = "sla"


class CalendarNotFound(NotFound):
    code = "calendar_not_found"


class PolicyNotFound(NotFound):
    code = "sla_policy_not_found"


def _invalid(exc: CalendarError | RuleError, prefix: str = "") -> InvalidInput:
    field = exc.field if isinstance(exc, CalendarError) else exc.path
    return InvalidInput(exc.message, field=f"{prefix}{field}" if prefix else field)


# --- calendars ------------------------------------------------------------------------------


def calendar_of(row: CalendarRow | None) -> BusinessCalendar:
    if row is None:
        return ALWAYS_OPEN
    return calendar_from_spec(timezone=row.timezone, hours=row.hours, holidays=row.holidays)


def _checked_calendar(timezone: str, hours: Any, holidays: Any) -> dict[str, Any]:
    try:
        checked = calendar_from_spec(timezone=timezone, hours=hours, holidays=holidays)
        return calendar_to_spec(checked)
    except CalendarError as exc:
        raise _invalid(exc) from exc


async def list_calendars(session: AsyncSession, *, actor: Actor) -> list[CalendarRow]:
    require_admin(actor)
    rows = await session.execute(select(CalendarRow).order_by(CalendarRow.name))
    return list(rows.scalars())


async def get_calendar(session: AsyncSession, *, actor: Actor, calendar_id: int) -> CalendarRow:
    require_admin(actor)
    row = await session.get(CalendarRow, calendar_id)
    if row is None:
        raise CalendarNotFound(f"calendar {calendar_id} not found")
    return row


async def _unique_calendar_name(session: AsyncSession, name: str, own_id: int | None) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("a calendar needs a name", field="name")
    found = (
        await session.execute(select(CalendarRow.id).where(CalendarRow.name == name))
    ).scalar_one_or_none()
    if found is not None and found != own_id:
        raise Conflict(f"a calendar is already named {name!r}", field="name")
    return name


async def create_calendar(
    session: AsyncSession, *, actor: Actor, data: CalendarCreate
) -> CalendarRow:
    require_admin(actor)
    spec = _checked_calendar(data.timezone, data.hours, data.holidays)
    row = CalendarRow(
        name=await _unique_calendar_name(session, data.name, None),
        timezone=spec["timezone"], hours=spec["hours"], holidays=spec["holidays"],
    )  # fmt: skip
    session.add(row)
    await session.flush()
    _forget(session)
    return row


async def update_calendar(
    session: AsyncSession, *, actor: Actor, calendar_id: int, data: CalendarUpdate
) -> CalendarRow:
    row = await get_calendar(session, actor=actor, calendar_id=calendar_id)
    spec = _checked_calendar(
        data.timezone if data.timezone is not None else row.timezone,
        data.hours if data.hours is not None else row.hours,
        data.holidays if data.holidays is not None else row.holidays,
    )
    if data.name is not None:
        row.name = await _unique_calendar_name(session, data.name, row.id)
    row.timezone, row.hours, row.holidays = spec["timezone"], spec["hours"], spec["holidays"]
    row.updated_at = utcnow()
    await session.flush()
    _forget(session)
    return row


async def import_holidays(
    session: AsyncSession, *, actor: Actor, calendar_id: int, csv_text: str, replace: bool
) -> CalendarRow:
    """Holidays from a CSV (a date per line, a name after it); all or nothing."""
    row = await get_calendar(session, actor=actor, calendar_id=calendar_id)
    try:
        found = parse_holidays_csv(csv_text)
    except CalendarError as exc:
        raise _invalid(exc) from exc
    dates = {d.isoformat() for d in found} | (set() if replace else set(row.holidays))
    row.holidays = sorted(dates)
    row.updated_at = utcnow()
    await session.flush()
    _forget(session)
    return row


async def delete_calendar(session: AsyncSession, *, actor: Actor, calendar_id: int) -> None:
    row = await get_calendar(session, actor=actor, calendar_id=calendar_id)
    used = (
        (await session.execute(select(SlaPolicy.name).where(SlaPolicy.calendar_id == row.id)))
        .scalars()
        .first()
    )
    if used is not None:
        raise Conflict(f"the SLA policy {used!r} uses this calendar", field="calendar_id")
    await session.delete(row)
    await session.flush()
    _forget(session)


# --- policies -------------------------------------------------------------------------------


def _checked_targets(targets: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    if not targets:
        raise InvalidInput("give targets for at least one priority", field="targets")
    clean: dict[str, dict[str, int]] = {}
    for priority, by_target in targets.items():
        if priority not in {p.value for p in Priority}:
            raise InvalidInput(f"unknown priority {priority!r}", field=f"targets.{priority}")
        if not by_target:
            raise InvalidInput("give at least one target", field=f"targets.{priority}")
        for name, minutes in by_target.items():
            if name not in TARGETS:
                raise InvalidInput(
                    f"unknown target {name!r}; use {', '.join(TARGETS)}",
                    field=f"targets.{priority}.{name}",
                )
            if not isinstance(minutes, int) or not 1 <= minutes <= 60 * 24 * 365:
                raise InvalidInput(
                    "a target is a number of business minutes, 1 to 525600",
                    field=f"targets.{priority}.{name}",
                )
        clean[priority] = {n: by_target[n] for n in TARGETS if n in by_target}
    return clean


def _checked_conditions(spec: Any) -> dict[str, Any]:
    try:
        return conditions_to_spec(
            parse_conditions(spec or {}, path="conditions", allowed_fields=POLICY_FIELDS)
        )
    except RuleError as exc:
        raise _invalid(exc) from exc


async def _check_calendar(session: AsyncSession, calendar_id: int | None) -> None:
    if calendar_id is not None and await session.get(CalendarRow, calendar_id) is None:
        raise InvalidInput(f"calendar {calendar_id} does not exist", field="calendar_id")


async def _unique_policy_name(session: AsyncSession, name: str, own_id: int | None) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("a policy needs a name", field="name")
    found = (
        await session.execute(select(SlaPolicy.id).where(SlaPolicy.name == name))
    ).scalar_one_or_none()
    if found is not None and found != own_id:
        raise Conflict(f"a policy is already named {name!r}", field="name")
    return name


async def list_policies(session: AsyncSession, *, actor: Actor) -> list[SlaPolicy]:
    require_admin(actor)
    rows = await session.execute(select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id))
    return list(rows.scalars())


async def get_policy(session: AsyncSession, *, actor: Actor, policy_id: int) -> SlaPolicy:
    require_admin(actor)
    row = await session.get(SlaPolicy, policy_id)
    if row is None:
        raise PolicyNotFound(f"SLA policy {policy_id} not found")
    return row


async def create_policy(session: AsyncSession, *, actor: Actor, data: PolicyCreate) -> SlaPolicy:
    """A policy applies to tickets created or changed from now on (``apply_to_open``
    gives it to the open tickets too)."""
    require_admin(actor)
    conditions = _checked_conditions(data.conditions)
    targets = _checked_targets(data.targets)
    await _check_calendar(session, data.calendar_id)
    row = SlaPolicy(
        name=await _unique_policy_name(session, data.name, None), position=data.position,
        is_active=data.is_active, conditions=conditions, targets=targets,
        calendar_id=data.calendar_id, pause_on_hold=data.pause_on_hold,
        warning_percent=data.warning_percent, delay_notice=data.delay_notice,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    _forget(session)
    return row


async def update_policy(
    session: AsyncSession, *, actor: Actor, policy_id: int, data: PolicyUpdate
) -> SlaPolicy:
    row = await get_policy(session, actor=actor, policy_id=policy_id)
    changes = data.model_dump(exclude_unset=True)
    if "conditions" in changes:
        changes["conditions"] = _checked_conditions(changes["conditions"])
    if "targets" in changes:
        if changes["targets"] is None:
            raise InvalidInput("a policy needs targets", field="targets")
        changes["targets"] = _checked_targets(changes["targets"])
    if "calendar_id" in changes:
        await _check_calendar(session, changes["calendar_id"])
    if "name" in changes:
        changes["name"] = await _unique_policy_name(session, changes["name"] or "", row.id)
    for name, value in changes.items():
        if value is None and name not in ("calendar_id",):
            continue
        setattr(row, name, value)
    row.updated_at = utcnow()
    await session.flush()
    _forget(session)
    return row


async def delete_policy(session: AsyncSession, *, actor: Actor, policy_id: int) -> None:
    row = await get_policy(session, actor=actor, policy_id=policy_id)
    await session.delete(row)
    await session.flush()
    _forget(session)


# --- the policies in force (cached) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Policy:
    id: int
    name: str
    conditions: Conditions
    targets: dict[str, dict[str, int]]
    calendar: BusinessCalendar
    pause_on_hold: bool
    warning_percent: int
    delay_notice: bool


def _cache(session: AsyncSession) -> dict[str, Any]:
    return shared_cache(session, _CACHE_KEY)


def _forget(session: AsyncSession) -> None:
    _cache(session).clear()


async def active_policies(session: AsyncSession) -> list[Policy]:
    """The active policies by position, parsed (cached per process for CACHE_SECONDS; a
    change is seen at once in the process that made it)."""
    cache = _cache(session)
    loaded = cache.get("policies")
    if loaded is not None and _time.monotonic() - loaded[0] < CACHE_SECONDS:
        return list(loaded[1])
    rows = (
        await session.execute(
            select(SlaPolicy)
            .where(SlaPolicy.is_active.is_(True))
            .order_by(SlaPolicy.position, SlaPolicy.id)
        )
    ).scalars()
    calendars = {c.id: c for c in (await session.execute(select(CalendarRow))).scalars()}
    policies = []
    for row in rows:
        calendar_row = calendars.get(row.calendar_id) if row.calendar_id else None
        try:
            policies.append(
                Policy(
                    id=row.id, name=row.name,
                    conditions=parse_conditions(row.conditions, allowed_fields=POLICY_FIELDS),
                    targets=row.targets,
                    calendar=calendar_of(calendar_row),
                    pause_on_hold=row.pause_on_hold, warning_percent=row.warning_percent,
                    delay_notice=row.delay_notice,
                )
            )  # fmt: skip
        except (RuleError, CalendarError):
            continue  # stored before a rule changed: skipped rather than stop every ticket
    cache["policies"] = (_time.monotonic(), tuple(policies))
    return policies


async def policy_by_id(session: AsyncSession, policy_id: int | None) -> Policy | None:
    if policy_id is None:
        return None
    return next((p for p in await active_policies(session) if p.id == policy_id), None)


# --- the clock ------------------------------------------------------------------------------


def _paused_status(status: str, policy: Policy) -> bool:
    return status == TicketStatus.PENDING or (
        status == TicketStatus.ON_HOLD and policy.pause_on_hold
    )


def _write(ticket: Ticket, state: dict[str, Any]) -> None:
    ticket.sla_state = state
    ticket.sla_policy_id = state.get("policy_id")
    for column, value in rules.columns(state).items():
        setattr(ticket, column, value)


async def choose_policy(
    session: AsyncSession, ticket: Ticket, facts: dict[str, Any] | None = None
) -> Policy | None:
    policies = await active_policies(session)
    if not policies:
        return None
    if facts is None:  # only what the policies read: most read no tag and no requester
        reads = frozenset().union(*(referenced_fields(p.conditions) for p in policies))
        facts = await snapshot.build(session, ticket, reads=reads)
    return next((p for p in policies if evaluate(p.conditions, facts)), None)


def _start_all(state: dict[str, Any], ticket: Ticket, policy: Policy, *, now: datetime) -> None:
    targets = policy.targets.get(ticket.priority, {})
    starts = {
        "first_response": None if ticket.first_responded_at else ticket.created_at,
        "resolution": ticket.created_at,
        "next_response": (
            ticket.last_customer_message_at
            if ticket.first_responded_at
            and ticket.last_customer_message_at
            and (ticket.last_agent_message_at is None
                 or ticket.last_customer_message_at > ticket.last_agent_message_at)
            else None
        ),
    }  # fmt: skip
    for name in TARGETS:
        start = starts[name]
        if name in targets and start is not None:
            rules.start_target(
                state, name, start=start, minutes=targets[name], calendar=policy.calendar,
                warning_percent=policy.warning_percent,
            )  # fmt: skip


async def assign_policy(session: AsyncSession, ticket: Ticket, *, now: datetime) -> None:
    """Choose the ticket's policy (again) and restart its targets from their starts: on
    creation, and when a field the conditions read, or the priority, changed."""
    if ticket.status in (TicketStatus.SOLVED, TicketStatus.CLOSED):
        return
    policy = await choose_policy(session, ticket)
    old = ticket.sla_state or {}
    if policy is None:
        if old.get("policy_id") is not None or ticket.due_at is not None:
            _write(ticket, rules.empty())
        return
    if old.get("policy_id") == policy.id and old.get("priority") == ticket.priority:
        return
    state = rules.empty(policy.id, ticket.priority)
    # what was recorded stays recorded (a breach is not undone by a new policy)
    state["met"] = dict(old.get("met", {}))
    _start_all(state, ticket, policy, now=now)
    for name in list(state["targets"]):
        if name in state["met"]:
            rules.stop(state, name)
    state["warned"] = [t for t in old.get("warned", []) if t in state["targets"]]
    state["breached"] = [t for t in old.get("breached", []) if t in state["targets"]]
    if _paused_status(ticket.status, policy):
        rules.pause(state, at=now)
    _write(ticket, state)


async def on_agent_reply(session: AsyncSession, ticket: Ticket, *, at: datetime) -> None:
    """A public reply meets the first and the next response."""
    state = ticket.sla_state or {}
    if not state.get("targets"):
        return
    state = _copy(state)
    rules.meet(state, "first_response", at=at)
    rules.meet(state, "next_response", at=at)
    _write(ticket, state)


async def on_customer_message(session: AsyncSession, ticket: Ticket, *, at: datetime) -> None:
    """After the first answer, each customer message starts the next response."""
    state = ticket.sla_state or {}
    policy = await policy_by_id(session, state.get("policy_id"))
    if policy is None or ticket.first_responded_at is None:
        return
    minutes = policy.targets.get(ticket.priority, {}).get("next_response")
    if minutes is None or "next_response" in state.get("targets", {}):
        return
    state = _copy(state)
    rules.start_target(
        state, "next_response", start=at, minutes=minutes, calendar=policy.calendar,
        warning_percent=policy.warning_percent,
    )  # fmt: skip
    _write(ticket, state)


async def on_status_change(
    session: AsyncSession, ticket: Ticket, *, old: str, new: str, at: datetime
) -> None:
    """Solving meets the resolution; waiting for the customer (or on hold, if the
    policy says so) pauses the clock, and leaving it resumes; reopening a solved ticket
    starts a new resolution."""
    state = ticket.sla_state or {}
    policy = await policy_by_id(session, state.get("policy_id"))
    if policy is None:
        if old in (TicketStatus.SOLVED,) and new not in (TicketStatus.SOLVED, TicketStatus.CLOSED):
            await assign_policy(session, ticket, now=at)
        return
    state = _copy(state)
    if new in (TicketStatus.SOLVED, TicketStatus.CLOSED):
        rules.resume(state, at=at, calendar=policy.calendar)
        rules.meet(state, "resolution", at=at)
        for name in list(state["targets"]):
            rules.stop(state, name)
        _write(ticket, state)
        return
    if old == TicketStatus.SOLVED:
        minutes = policy.targets.get(ticket.priority, {}).get("resolution")
        if minutes is not None:
            rules.start_target(
                state, "resolution", start=at, minutes=minutes, calendar=policy.calendar,
                warning_percent=policy.warning_percent,
            )  # fmt: skip
    if _paused_status(new, policy):
        rules.pause(state, at=at)
    else:
        rules.resume(state, at=at, calendar=policy.calendar)
    _write(ticket, state)


def _copy(state: dict[str, Any]) -> dict[str, Any]:
    """A deep copy: the ORM sees a new value (JSON columns are not change-tracked)."""
    return {
        "policy_id": state.get("policy_id"),
        "priority": state.get("priority"),
        "targets": {k: dict(v) for k, v in state.get("targets", {}).items()},
        "paused_at": state.get("paused_at"),
        "warned": list(state.get("warned", [])),
        "breached": list(state.get("breached", [])),
        "met": dict(state.get("met", {})),
    }


# --- the sweep ------------------------------------------------------------------------------

SWEEP_BATCH = 500
SLA_ACTOR = "SLA"


@dataclass(frozen=True, slots=True)
class SweepResult:
    checked: int
    warnings: int
    breaches: int


async def _sweep_one(
    session: AsyncSession, ticket: Ticket, *, now: datetime
) -> list[rules.Crossing] | None:
    """Record the ticket's crossings with a compare-and-set on its check time: the
    crossings, or None when the check time is no longer the one read."""
    seen = ticket.sla_check_at
    state = _copy(ticket.sla_state or {})
    crossed = rules.crossings(state, now=now)
    cols = rules.columns(state)
    claimed = await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.sla_check_at == seen)
        .values(sla_state=state, **cols)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    set_committed_value(ticket, "sla_state", state)
    for column, value in cols.items():
        set_committed_value(ticket, column, value)
    return crossed


async def sweep_batch(
    session: AsyncSession, *, now: datetime | None = None, limit: int = SWEEP_BATCH
) -> SweepResult:
    """Record the warnings and breaches of tickets whose check time has come (up to
    ``limit``). Each ticket is updated only if its check time is still the one read
    (compare-and-set), so two workers never record the same crossing twice; on
    PostgreSQL the batch is also row-locked with SKIP LOCKED."""
    now = now or utcnow()
    stmt = (
        select(Ticket)
        .where(Ticket.sla_check_at.is_not(None), Ticket.sla_check_at <= now)
        .order_by(Ticket.sla_check_at)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    found = list((await session.execute(stmt)).scalars())
    warnings = breaches = 0
    actor = system_actor(SLA_ACTOR)
    # one statement per ticket: the compare-and-set below writes the state, so the loaded
    # ticket takes it as already stored (no second UPDATE), and its timeline rows are
    # inserted together at the end (no flush before each compare-and-set)
    with session.no_autoflush:
        for ticket in found:
            crossed = await _sweep_one(session, ticket, now=now)
            if crossed is None:
                continue  # another worker got there first
            for crossing in crossed:
                kind = "sla_breached" if crossing.kind == rules.BREACH else "sla_warning"
                session.add(
                    TicketEvent(
                        ticket_id=ticket.id, kind=kind, actor_kind=actor.kind.value,
                        actor_label=actor.label, field=crossing.target, old_value=None,
                        new_value=rules.iso(crossing.at), created_at=now,
                    )
                )  # fmt: skip
                events.record(
                    session,
                    events.DomainEvent(
                        "sla.breached" if crossing.kind == rules.BREACH else "sla.warning",
                        {"by": "system:", "ticket_id": ticket.id, "target": crossing.target},
                    ),
                )
                if crossing.kind == rules.BREACH:
                    breaches += 1
                else:
                    warnings += 1
    await session.flush()
    return SweepResult(checked=len(found), warnings=warnings, breaches=breaches)


async def apply_to_open(
    session: AsyncSession, *, actor: Actor, batch: int = 1000, now: datetime | None = None
) -> int:
    """Give every open ticket the policy it matches now (after policies were first set
    up); returns how many tickets were looked at."""
    require_admin(actor)
    now = now or utcnow()
    last = 0
    total = 0
    while True:
        rows = list(
            (
                await session.execute(
                    select(Ticket)
                    .where(
                        Ticket.id > last,
                        Ticket.status.in_(
                            [TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING,
                             TicketStatus.ON_HOLD]
                        ),
                    )
                    .order_by(Ticket.id)
                    .limit(batch)
                )
            ).scalars()
        )  # fmt: skip
        if not rows:
            return total
        for ticket in rows:
            await assign_policy(session, ticket, now=now)
        total += len(rows)
        last = rows[-1].id
        await session.flush()


# --- what the ticket page shows ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TargetView:
    name: str  # first_response, next_response, resolution
    due: datetime | None  # running targets; None once met
    business_minutes_left: float | None  # negative when overdue; None when met or paused
    state: str  # running, warning, breached, met, paused
    met_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TicketSlaView:
    policy_name: str | None
    calendar_name: str | None  # None: around the clock
    paused: bool
    targets: list[TargetView]


async def ticket_sla_view(
    session: AsyncSession, ticket: Ticket, *, now: datetime | None = None
) -> TicketSlaView | None:
    """The ticket's targets and the business time left on each, for its page."""
    state = ticket.sla_state or {}
    if state.get("policy_id") is None:
        return None
    now = now or utcnow()
    row = await session.get(SlaPolicy, state["policy_id"])
    calendar_row = None
    if row is not None and row.calendar_id is not None:
        calendar_row = await session.get(CalendarRow, row.calendar_id)
    try:
        calendar = calendar_of(calendar_row)
    except CalendarError:
        calendar = ALWAYS_OPEN
    paused = state.get("paused_at") is not None
    views: list[TargetView] = []
    for name in TARGETS:
        target = state.get("targets", {}).get(name)
        met = state.get("met", {}).get(name)
        if target is None and met is None:
            continue
        if target is None:
            views.append(TargetView(name, None, None, "met", rules.when(met)))
            continue
        due_at = rules.when(target["due"])
        left = None
        if not paused:
            left = (
                business_minutes_between(now, due_at, calendar)
                if due_at > now
                else -business_minutes_between(due_at, now, calendar)
            )
        # past due is breached at once, before the sweep records it
        overdue = left is not None and left < 0
        status = "paused" if paused else (
            "breached" if overdue or name in state.get("breached", []) else
            "warning" if name in state.get("warned", []) else "running"
        )  # fmt: skip
        views.append(TargetView(name, due_at, left, status))
    return TicketSlaView(
        policy_name=row.name if row else None,
        calendar_name=calendar_row.name if calendar_row else None,
        paused=paused,
        targets=views,
    )
