"""Automation use cases: triggers and time rules (admins), macros (agents), and running
the time rules.

Every definition is validated with the rule language (``conditions``, ``actions``,
``placeholders``) before anything is stored; a mistake is an ``InvalidInput`` naming its
path in the definition (``conditions.all.0.value``, ``actions.2.to``), so the API answers
422 with that path and stores nothing. What is stored is the normalized form, which
parses back to the same rule.

- **Triggers** listen to events (``conditions.EVENTS``: listed in ``events``, or allowed
  by ``event`` conditions; at least one) and may use every action but ``reply``.
- **Time rules** read no event, no message and no change, and need a time condition in
  ``all`` (an ``hours`` field with ``gte``): a rule without one would fire on every open
  ticket at once. Their business hours are their calendar's (none: around the clock).
- **Macros** are an agent's own or shared (``owner_id`` None). Every agent sees the
  shared ones and their own; an agent makes and changes their own, an admin also the
  shared ones. A macro's text goes out as its visibility says, and an internal macro can
  never reach the customer: it may not ``reply`` nor email the requester.

Names are unique (triggers, time rules; macros among the shared ones and among each
agent's own). Rules run by ``position``, then id; a rule made without one goes last.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, or_, select, union
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor, require_admin, require_agent, system_actor
from opora.auth.models import Group, User
from opora.automation import engine
from opora.automation.actions import LINE_KINDS, Action, actions_to_spec, parse_actions
from opora.automation.conditions import (
    EVENTS,
    Condition,
    Conditions,
    RuleError,
    conditions_to_spec,
    evaluate,
    parse_conditions,
    referenced_fields,
)
from opora.automation.models import AutomationRun, Macro, TimeRule, TimeRuleProgress, Trigger
from opora.automation.placeholders import check_placeholders, render_placeholders
from opora.automation.schemas import (
    MacroApplied,
    MacroCreate,
    MacroPreview,
    MacroUpdate,
    TimeRuleCreate,
    TimeRulesRun,
    TimeRuleUpdate,
    TriggerCreate,
    TriggerUpdate,
)
from opora.automation.snapshot import add_ages, build
from opora.contacts.models import Organization
from opora.errors import Conflict, Forbidden, InvalidInput, NotFound
from opora.fields import service as fields
from opora.kit.time import utcnow
from opora.sla import service as sla
from opora.sla.calendar import BusinessCalendar, CalendarError, business_minutes_between
from opora.sla.models import BusinessCalendar as CalendarRow
from opora.tickets import service as tickets
from opora.tickets.models import OPEN_STATUSES, Tag, Ticket, TicketStatus, TicketTag
from opora.tickets.schemas import MessageCreate

log = logging.getLogger(__name__)

TIME_RULE = "time_rule"  # automation_runs.rule_kind
BATCH = 200  # tickets a time rule looks at per transaction
MAX_BATCHES = 20  # per run of the time rules; the next run goes on
# what a time rule cannot read: it runs on no event, no message and no change
_NOT_FOR_TIME_RULES = frozenset({"event", "message.visibility", "message.author", "message.text"})
_CHANGE_OPS = frozenset({"changed", "changed_to", "changed_from"})
_HOURS = (
    "hours_since_created",
    "hours_since_updated",
    "hours_since_status_change",
    "business_hours_since_status_change",
    "business_hours_since_created",
    "hours_since_assigned",
)
# the condition fields a time rule may use (the time-rule page offers these)
TIME_RULE_FIELDS = frozenset(
    {"status", "priority", "type", "channel", "group_id", "assignee_id", "organization_id",
     "requester_id", "line", "tags", "organization.vip", "within_business_hours", "subject",
     "text", "requester.email_domain", "requester.language", "sla.breached", "sla.warning",
     "custom_fields.*", *_HOURS}
)  # fmt: skip


class TriggerNotFound(NotFound):
    code = "trigger_not_found"


class TimeRuleNotFound(NotFound):
    code = "time_rule_not_found"


class MacroNotFound(NotFound):
    code = "macro_not_found"


class MacroInactive(Conflict):
    code = "macro_inactive"


def _invalid(exc: RuleError) -> InvalidInput:
    return InvalidInput(exc.message, field=exc.path)


# --- checking definitions -------------------------------------------------------------------


def _checked_events(names: Sequence[str]) -> list[str]:
    for i, name in enumerate(names):
        if name not in EVENTS:
            raise InvalidInput(f"events are: {', '.join(EVENTS)}", field=f"events.{i}")
    return list(dict.fromkeys(names))


def _conditions(spec: Any, *, allowed: frozenset[str] | None = None) -> Conditions:
    try:
        return parse_conditions(spec or {}, path="conditions", allowed_fields=allowed)
    except RuleError as exc:
        raise _invalid(exc) from exc


def _actions(spec: Any, *, allowed: Sequence[str] | None) -> tuple[Action, ...]:
    try:
        return parse_actions(spec, path="actions", allowed=allowed)
    except RuleError as exc:
        raise _invalid(exc) from exc


def _paths(conditions: Conditions) -> list[tuple[str, Condition]]:
    return [
        *((f"conditions.all.{i}", c) for i, c in enumerate(conditions.all)),
        *((f"conditions.any.{i}", c) for i, c in enumerate(conditions.any)),
    ]


def _time_rule_conditions(spec: Any) -> Conditions:
    conditions = _conditions(spec, allowed=TIME_RULE_FIELDS)
    for path, cond in _paths(conditions):
        if cond.op in _CHANGE_OPS:
            raise InvalidInput(
                "a time rule sees no changes: use is, in or the hours fields", field=f"{path}.op"
            )
    if not any(c.field in _HOURS and c.op == "gte" for c in conditions.all):
        raise InvalidInput(
            "a time rule needs a time condition in all, such as "
            '{"field": "hours_since_status_change", "op": "gte", "value": 72}',
            field="conditions.all",
        )
    return conditions


async def _check_references(session: AsyncSession, actions: Sequence[Action]) -> None:
    """The groups, agents and custom fields the actions name exist (and a field's value
    fits it), so a rule is refused now rather than failing on every ticket later."""
    for i, action in enumerate(actions):
        p = action.params
        if action.kind == "set_group" or (action.kind in LINE_KINDS and "group_id" in p):
            group = await session.get(Group, p["group_id"])
            if group is None or not group.is_active:
                raise InvalidInput(
                    f"group {p['group_id']} does not exist", field=f"actions.{i}.group_id"
                )
        elif action.kind == "assign" and p["user_id"] is not None:
            user = await session.get(User, p["user_id"])
            if user is None or not user.is_active:
                raise InvalidInput(
                    f"user {p['user_id']} is not an active agent", field=f"actions.{i}.user_id"
                )
        elif action.kind == "set_custom_field":
            keys = {d.key for d in await fields.definitions(session, entity="ticket")}
            if p["key"] not in keys:
                raise InvalidInput(
                    f"there is no ticket field {p['key']!r}", field=f"actions.{i}.key"
                )
            value = list(p["value"]) if isinstance(p["value"], tuple) else p["value"]
            try:
                await fields.validate(
                    session, entity="ticket", values={p["key"]: value}, enforce_required=False
                )
            except InvalidInput as exc:
                raise InvalidInput(exc.message, field=f"actions.{i}.value") from exc


def _check_internal(actions: Sequence[Action]) -> None:
    """An internal macro never reaches the customer."""
    for i, action in enumerate(actions):
        if action.kind == "reply":
            raise InvalidInput(
                "an internal macro cannot reply to the customer", field=f"actions.{i}.action"
            )
        if action.kind == "notify_email" and action.params["to"] == "requester":
            raise InvalidInput(
                "an internal macro cannot email the customer", field=f"actions.{i}.to"
            )


async def _check_calendar(session: AsyncSession, calendar_id: int | None) -> None:
    if calendar_id is not None and await session.get(CalendarRow, calendar_id) is None:
        raise InvalidInput(f"calendar {calendar_id} does not exist", field="calendar_id")


async def _unique_name(
    session: AsyncSession, model: Any, name: str, own_id: int | None, *, scope: Any = None
) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("a name is required", field="name")
    stmt = select(model.id).where(model.name == name)
    if scope is not None:
        stmt = stmt.where(scope)
    for found in (await session.execute(stmt)).scalars():
        if found != own_id:
            raise Conflict(f"the name {name!r} is taken", field="name")
    return name


async def _next_position(session: AsyncSession, model: Any) -> int:
    highest = (await session.execute(select(func.max(model.position)))).scalar()
    return 0 if highest is None else int(highest) + 1


# --- triggers -------------------------------------------------------------------------------


async def list_triggers(session: AsyncSession, *, actor: Actor) -> list[Trigger]:
    require_admin(actor)
    rows = await session.execute(select(Trigger).order_by(Trigger.position, Trigger.id))
    return list(rows.scalars())


async def get_trigger(session: AsyncSession, *, actor: Actor, trigger_id: int) -> Trigger:
    require_admin(actor)
    row = await session.get(Trigger, trigger_id)
    if row is None:
        raise TriggerNotFound(f"trigger {trigger_id} not found")
    return row


async def _checked_trigger(
    session: AsyncSession, events: Sequence[str], conditions_spec: Any, actions_spec: Any
) -> tuple[list[str], dict[str, Any], list[dict[str, Any]]]:
    listed = _checked_events(events)
    conditions = _conditions(conditions_spec)
    if not engine.trigger_events(listed, conditions):
        raise InvalidInput(
            "a trigger needs an event: list it in events, or add an event condition",
            field="events",
        )
    actions = _actions(actions_spec, allowed=engine.TRIGGER_KINDS)
    await _check_references(session, actions)
    return listed, conditions_to_spec(conditions), actions_to_spec(actions)


async def create_trigger(session: AsyncSession, *, actor: Actor, data: TriggerCreate) -> Trigger:
    require_admin(actor)
    listed, conditions, actions = await _checked_trigger(
        session, data.events, data.conditions, data.actions
    )
    row = Trigger(
        name=await _unique_name(session, Trigger, data.name, None),
        description=data.description,
        position=(
            data.position if data.position is not None else await _next_position(session, Trigger)
        ),
        is_active=data.is_active, events=listed, conditions=conditions, actions=actions,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    engine.forget_triggers(session)
    return row


async def update_trigger(
    session: AsyncSession, *, actor: Actor, trigger_id: int, data: TriggerUpdate
) -> Trigger:
    row = await get_trigger(session, actor=actor, trigger_id=trigger_id)
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    if {"events", "conditions", "actions"} & set(changes):
        listed, conditions, actions = await _checked_trigger(
            session,
            changes.get("events", row.events),
            changes.get("conditions", row.conditions),
            changes.get("actions", row.actions),
        )
        changes.update(events=listed, conditions=conditions, actions=actions)
    if "name" in changes:
        changes["name"] = await _unique_name(session, Trigger, changes["name"], row.id)
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    await session.flush()
    engine.forget_triggers(session)
    return row


async def delete_trigger(session: AsyncSession, *, actor: Actor, trigger_id: int) -> None:
    row = await get_trigger(session, actor=actor, trigger_id=trigger_id)
    await session.delete(row)
    await session.flush()
    engine.forget_triggers(session)


# --- time rules -----------------------------------------------------------------------------


async def list_time_rules(session: AsyncSession, *, actor: Actor) -> list[TimeRule]:
    require_admin(actor)
    rows = await session.execute(select(TimeRule).order_by(TimeRule.position, TimeRule.id))
    return list(rows.scalars())


async def get_time_rule(session: AsyncSession, *, actor: Actor, rule_id: int) -> TimeRule:
    require_admin(actor)
    row = await session.get(TimeRule, rule_id)
    if row is None:
        raise TimeRuleNotFound(f"time rule {rule_id} not found")
    return row


async def _checked_time_rule(
    session: AsyncSession, conditions_spec: Any, actions_spec: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    conditions = _time_rule_conditions(conditions_spec)
    actions = _actions(actions_spec, allowed=engine.TRIGGER_KINDS)
    await _check_references(session, actions)
    return conditions_to_spec(conditions), actions_to_spec(actions)


async def create_time_rule(
    session: AsyncSession, *, actor: Actor, data: TimeRuleCreate
) -> TimeRule:
    require_admin(actor)
    conditions, actions = await _checked_time_rule(session, data.conditions, data.actions)
    await _check_calendar(session, data.calendar_id)
    row = TimeRule(
        name=await _unique_name(session, TimeRule, data.name, None),
        description=data.description,
        position=(
            data.position if data.position is not None
            else await _next_position(session, TimeRule)
        ),
        is_active=data.is_active, conditions=conditions, actions=actions,
        calendar_id=data.calendar_id,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def update_time_rule(
    session: AsyncSession, *, actor: Actor, rule_id: int, data: TimeRuleUpdate
) -> TimeRule:
    row = await get_time_rule(session, actor=actor, rule_id=rule_id)
    given = data.model_dump(exclude_unset=True)
    changes = {k: v for k, v in given.items() if v is not None or k == "calendar_id"}
    if {"conditions", "actions"} & set(changes):
        conditions, actions = await _checked_time_rule(
            session, changes.get("conditions", row.conditions), changes.get("actions", row.actions)
        )
        changes.update(conditions=conditions, actions=actions)
    if "calendar_id" in changes:
        await _check_calendar(session, changes["calendar_id"])
    if "name" in changes:
        changes["name"] = await _unique_name(session, TimeRule, changes["name"], row.id)
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    # a changed rule is looked at afresh: the job's passes start over (automation/passes.py)
    await session.execute(delete(TimeRuleProgress).where(TimeRuleProgress.rule_id == row.id))
    await session.flush()
    return row


async def delete_time_rule(session: AsyncSession, *, actor: Actor, rule_id: int) -> None:
    row = await get_time_rule(session, actor=actor, rule_id=rule_id)
    await session.delete(row)
    await session.flush()


# --- running the time rules -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActiveTimeRule:
    id: int
    name: str
    conditions: Conditions
    actions: tuple[Action, ...]
    calendar: BusinessCalendar
    statuses: frozenset[str]  # the statuses its tickets may have
    reads: frozenset[str]

    @property
    def label(self) -> str:
        return engine.rule_label("Time rule", self.name)


@dataclass(frozen=True, slots=True)
class RuleBatch:
    checked: int
    fired: int
    failed: int
    next_after: int | None  # the last ticket id looked at, when there may be more


def _statuses(conditions: Conditions) -> frozenset[str]:
    """Open tickets, plus solved or closed ones when a condition names them; narrowed by
    the status conditions every ticket must meet."""
    named: set[str] = set()
    for cond in (*conditions.all, *conditions.any):
        if cond.field == "status" and cond.op in ("is", "in"):
            named.update(cond.value if cond.op == "in" else (cond.value,))
    allowed = {str(s) for s in OPEN_STATUSES} | (named & {TicketStatus.SOLVED, TicketStatus.CLOSED})
    for cond in conditions.all:
        if cond.field != "status":
            continue
        values = set(cond.value) if cond.op in ("in", "not_in") else {cond.value}
        if cond.op in ("is", "in"):
            allowed &= values
        elif cond.op in ("is_not", "not_in"):
            allowed -= values
    return frozenset(allowed)


async def time_rules_in_force(session: AsyncSession) -> list[ActiveTimeRule]:
    """The active time rules by position, parsed (one that no longer parses is skipped)."""
    rows = (
        await session.execute(
            select(TimeRule)
            .where(TimeRule.is_active.is_(True))
            .order_by(TimeRule.position, TimeRule.id)
        )
    ).scalars()
    calendars = {c.id: c for c in (await session.execute(select(CalendarRow))).scalars()}
    found = []
    for row in rows:
        try:
            conditions = _time_rule_conditions(row.conditions)
            actions = parse_actions(row.actions, allowed=engine.TRIGGER_KINDS)
            calendar = sla.calendar_of(calendars.get(row.calendar_id) if row.calendar_id else None)
        except (RuleError, InvalidInput, CalendarError):
            log.warning("time rule %s (%s) no longer parses; skipped", row.id, row.name)
            continue
        found.append(
            ActiveTimeRule(
                id=row.id, name=row.name, conditions=conditions, actions=actions,
                calendar=calendar, statuses=_statuses(conditions),
                reads=referenced_fields(conditions),
            )
        )  # fmt: skip
    return found


def _tagged(cond: Condition) -> ColumnElement[bool]:
    names = list(cond.value) if cond.op in ("contains_any", "contains_none") else [cond.value]
    found = exists().where(
        TicketTag.ticket_id == Ticket.id, TicketTag.tag_id == Tag.id, Tag.name.in_(names)
    )
    return found if cond.op in ("contains", "contains_any") else ~found


def _since(column: Any, op: str, cutoff: datetime) -> ColumnElement[bool]:
    return column <= cutoff if op == "gte" else column >= cutoff


def _business_cutoff(now: datetime, hours: float, calendar: BusinessCalendar) -> datetime:
    """The latest instant with ``hours`` business hours between it and ``now``, to the
    minute, rounded later (so ``start <= cutoff`` keeps every start that has them).
    Without working hours, or when two years do not hold them: wall-clock hours, which
    are never fewer."""
    wall = now - timedelta(hours=hours)
    if calendar.always_open:
        return wall
    minutes = hours * 60

    def enough(start: datetime) -> bool:
        return business_minutes_between(start, now, calendar) >= minutes

    step = timedelta(days=7)
    low = wall - step
    while not enough(low):
        if step > timedelta(days=730):
            return wall
        step *= 2
        low = wall - step
    high = wall  # business time since ``high`` is below ``hours``, or exactly it
    if enough(high):
        return high
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        if enough(middle):
            low = middle
        else:
            high = middle
    return high


def _cutoff(cond: Condition, now: datetime, calendar: BusinessCalendar) -> datetime:
    """The instant an ``hours`` condition's N (business) hours before ``now``."""
    if cond.field.startswith("business"):
        return _business_cutoff(now, float(cond.value), calendar)
    return now - timedelta(hours=float(cond.value))


def _came_to_match(
    rule: ActiveTimeRule, since: datetime, now: datetime, after_id: int, limit: int
) -> Select[Any]:
    """The ids (after ``after_id``, by id, up to ``limit``) of the tickets that can have
    come to match the rule between ``since`` and ``now``: changed since (a change of a
    field, tag, message or status sets ``updated_at``), or one of the rule's age
    thresholds passed in between (``hours_since_created gte 4``: created between 4 hours
    before ``since`` and 4 hours before ``now``). What else can make a ticket match — an
    organization made VIP, a requester's address, the SLA's marks, the clock entering
    business hours — changes no ticket; the sweep (``automation/passes.py``) finds it.
    One ``SELECT`` per column, each on its index, in a ``UNION``."""
    # each part reads its index's range and filters it as the batch will (the narrowing
    # leads with the statuses, as the status-change index does; not fired yet), so that
    # the batches page through real candidates only
    narrowing = [*_narrowing(rule, now), ~_fired_already(rule), Ticket.id > after_id]
    parts = [select(Ticket.id).where(Ticket.updated_at > since, *narrowing)]
    for cond in (*rule.conditions.all, *rule.conditions.any):
        if cond.field not in _HOURS or cond.op != "gte":
            continue
        low, high = _cutoff(cond, since, rule.calendar), _cutoff(cond, now, rule.calendar)
        if low >= high:
            continue
        columns = {
            "created": Ticket.created_at, "updated": Ticket.updated_at,
            "assigned": Ticket.assigned_at, "status_change": Ticket.status_changed_at,
        }  # fmt: skip
        column = columns[cond.field.rsplit("_since_", 1)[1]]
        parts.append(select(Ticket.id).where(column > low, column <= high, *narrowing))
        if column is Ticket.status_changed_at:
            parts.append(
                select(Ticket.id).where(
                    Ticket.status_changed_at.is_(None),
                    Ticket.updated_at > low,
                    Ticket.updated_at <= high,
                    *narrowing,
                )
            )
    found = union(*parts).subquery()
    return select(found.c.id).order_by(found.c.id).limit(limit)


def _narrowing(rule: ActiveTimeRule, now: datetime) -> list[ColumnElement[bool]]:
    """SQL for what the rule's ``all`` conditions allow (the rest is evaluated in
    Python): the statuses, ids, tags, the organization's VIP flag, and the ages through
    their timestamp columns (``business_hours_… gte N``: the instant N business hours
    ago, ``_business_cutoff``), so that a ticket the rule would not fire on is rarely
    read."""
    clauses: list[ColumnElement[bool]] = [Ticket.status.in_(sorted(rule.statuses))]
    columns: dict[str, Any] = {
        "priority": Ticket.priority, "type": Ticket.type, "channel": Ticket.channel,
        "group_id": Ticket.group_id, "assignee_id": Ticket.assignee_id,
        "organization_id": Ticket.organization_id, "requester_id": Ticket.requester_id,
        "line": Ticket.line,
    }  # fmt: skip
    changed = Ticket.status_changed_at
    for cond in rule.conditions.all:
        column = columns.get(cond.field)
        if column is not None and cond.op == "is":
            clauses.append(column.is_(None) if cond.value is None else column == cond.value)
        elif column is not None and cond.op == "in":
            clauses.append(column.in_(list(cond.value)))
        elif cond.field == "line" and cond.op in ("gte", "lte"):
            line = Ticket.line >= cond.value if cond.op == "gte" else Ticket.line <= cond.value
            clauses.append(line)
        elif cond.field == "tags":
            clauses.append(_tagged(cond))
        elif cond.field == "organization.vip":
            vip = Ticket.organization_id.in_(select(Organization.id).where(Organization.vip))
            clauses.append(vip if cond.value else or_(Ticket.organization_id.is_(None), ~vip))
        elif cond.field in _HOURS and (cond.op == "gte" or not cond.field.startswith("business")):
            cutoff = _cutoff(cond, now, rule.calendar)
            if cond.field.endswith("created"):
                clauses.append(_since(Ticket.created_at, cond.op, cutoff))
            elif cond.field == "hours_since_updated":
                clauses.append(_since(Ticket.updated_at, cond.op, cutoff))
            elif cond.field == "hours_since_assigned":
                clauses.append(_since(Ticket.assigned_at, cond.op, cutoff))
            elif cond.field.endswith("status_change"):
                clauses.append(
                    or_(
                        _since(changed, cond.op, cutoff),
                        and_(changed.is_(None), _since(Ticket.updated_at, cond.op, cutoff)),
                    )
                )
    return clauses


def _fired_already(rule: ActiveTimeRule) -> ColumnElement[bool]:
    """The rule has fired on the ticket since its last status change (``_claim``)."""
    return exists().where(
        AutomationRun.rule_kind == TIME_RULE,
        AutomationRun.rule_id == rule.id,
        AutomationRun.ticket_id == Ticket.id,
        AutomationRun.fired_at >= func.coalesce(Ticket.status_changed_at, Ticket.created_at),
    )


def _marker(ticket: Ticket) -> str:
    """The state a time rule fires on once: the ticket's last status change."""
    return (ticket.status_changed_at or ticket.created_at).isoformat()


async def _claim(
    session: AsyncSession, rule: ActiveTimeRule, ticket_id: int, marker: str, now: datetime
) -> bool:
    """Record that the rule fires on the ticket for this marker; False when it already
    has (another run, another worker): the unique row is the compare-and-set."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(AutomationRun)
        .values(
            rule_kind=TIME_RULE, rule_id=rule.id, ticket_id=ticket_id, marker=marker, fired_at=now
        )
        .on_conflict_do_nothing(index_elements=["rule_kind", "rule_id", "ticket_id", "marker"])
        .returning(AutomationRun.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def run_time_rule_batch(
    session: AsyncSession,
    *,
    rule: ActiveTimeRule,
    now: datetime,
    after_id: int = 0,
    until_id: int | None = None,
    changed_since: datetime | None = None,
    limit: int = BATCH,
) -> RuleBatch:
    """Look at up to ``limit`` of the rule's candidate tickets after ``after_id`` (by
    id): evaluate, claim and run. Candidates are the tickets the rule's SQL narrowing
    lets through; with ``until_id``, only those up to that id (a slice of the sweep);
    with ``changed_since``, only those that can have come to match since then
    (``_came_to_match``). Each ticket's actions run in a savepoint; a refused one is
    recorded (``rule_failed``) and still counts as fired, so it is not retried every
    minute. ``next_after`` is the last id looked at when there may be more."""
    if not rule.statuses:
        return RuleBatch(0, 0, 0, None)
    stmt = select(Ticket).where(~_fired_already(rule), *_narrowing(rule, now)).order_by(Ticket.id)
    more: int | None = None  # where the next batch goes on, when there may be more
    if changed_since is not None:
        came = await session.execute(_came_to_match(rule, changed_since, now, after_id, limit))
        candidates: list[int] = [int(i) for i in came.scalars()]
        if not candidates:
            return RuleBatch(0, 0, 0, None)
        more = candidates[-1] if len(candidates) == limit else None
        rows = list((await session.execute(stmt.where(Ticket.id.in_(candidates)))).scalars())
    else:
        stmt = stmt.where(Ticket.id > after_id)
        if until_id is not None:
            stmt = stmt.where(Ticket.id <= until_id)
        rows = list((await session.execute(stmt.limit(limit))).scalars())
        more = rows[-1].id if len(rows) == limit else None
    fired = failed = 0
    actor = system_actor(rule.label)
    for ticket in rows:
        snap = await build(session, ticket, reads=rule.reads)
        add_ages(snap, ticket, now=now, calendar=rule.calendar, only=rule.reads)
        if not evaluate(rule.conditions, snap):
            continue
        ticket_id = ticket.id
        if not await _claim(session, rule, ticket_id, _marker(ticket), now):
            continue
        fired += 1
        applied = await engine.run_rule(
            session, ticket_id=ticket_id, actions=rule.actions, actor=actor, label=rule.label
        )
        failed += not applied
    await session.flush()
    return RuleBatch(checked=len(rows), fired=fired, failed=failed, next_after=more)


RunBatch = Callable[[ActiveTimeRule, int], Awaitable[RuleBatch]]


async def drive_time_rules(
    rules: Sequence[ActiveTimeRule], run_batch: RunBatch, *, max_batches: int = MAX_BATCHES
) -> TimeRulesRun:
    """Every rule by position, batch by batch: each rule's first batch on every run, and
    up to ``max_batches`` further batches in all (the next run goes on), so a rule with
    many candidates never keeps the rules after it from running. The caller says how a
    batch runs (the job: each in its own transaction)."""
    checked = fired = failed = 0
    budget = max_batches
    for rule in rules:
        after = 0
        while True:
            batch = await run_batch(rule, after)
            checked, fired, failed = (
                checked + batch.checked,
                fired + batch.fired,
                failed + batch.failed,
            )
            if batch.next_after is None or budget <= 0:
                break
            budget -= 1
            after = batch.next_after
    return TimeRulesRun(rules=len(rules), checked=checked, fired=fired, failed=failed)


async def run_time_rules(
    session: AsyncSession, *, actor: Actor, now: datetime | None = None
) -> TimeRulesRun:
    """Run the time rules now, in this transaction (an admin's "run now"; the periodic
    job ``automation.time_rules`` commits batch by batch instead)."""
    require_admin(actor)
    at = now or utcnow()
    rules = await time_rules_in_force(session)

    async def run_batch(rule: ActiveTimeRule, after: int) -> RuleBatch:
        return await run_time_rule_batch(session, rule=rule, now=at, after_id=after)

    return await drive_time_rules(rules, run_batch)


# --- macros ---------------------------------------------------------------------------------


def _visible_macros(actor: Actor) -> Select[Macro]:
    if not actor.is_user:
        return select(Macro).where(Macro.owner_id.is_(None))
    return select(Macro).where(or_(Macro.owner_id.is_(None), Macro.owner_id == actor.id))


async def list_macros(
    session: AsyncSession, *, actor: Actor, active_only: bool = False
) -> list[Macro]:
    """The shared macros and the actor's own, by position and name (``active_only``: the
    ones that can be applied)."""
    require_agent(actor)
    stmt = _visible_macros(actor)
    if active_only:
        stmt = stmt.where(Macro.is_active.is_(True))
    rows = await session.execute(stmt.order_by(Macro.position, Macro.name, Macro.id))
    return list(rows.scalars())


async def get_macro(session: AsyncSession, *, actor: Actor, macro_id: int) -> Macro:
    """A shared macro or the actor's own; another agent's is a 404 like a missing one."""
    require_agent(actor)
    row = (
        await session.execute(_visible_macros(actor).where(Macro.id == macro_id))
    ).scalar_one_or_none()
    if row is None:
        raise MacroNotFound(f"macro {macro_id} not found")
    return row


def _may_change(actor: Actor, row: Macro) -> None:
    if row.owner_id is None and not actor.is_admin:
        raise Forbidden("only an admin may change a shared macro")


async def _checked_macro(
    session: AsyncSession, *, body: str, visibility: str, actions_spec: list[Any]
) -> tuple[str, list[dict[str, Any]]]:
    body = body.strip()
    try:
        check_placeholders(body, path="body")
    except RuleError as exc:
        raise _invalid(exc) from exc
    actions = _actions(actions_spec, allowed=None) if actions_spec else ()
    if not body and not actions:
        raise InvalidInput("a macro needs a text or actions", field="body")
    if visibility == "internal":
        _check_internal(actions)
    await _check_references(session, actions)
    return body, actions_to_spec(actions)


async def create_macro(session: AsyncSession, *, actor: Actor, data: MacroCreate) -> Macro:
    require_agent(actor)
    if data.shared:
        require_admin(actor)
    elif not actor.is_user:
        raise Forbidden("a personal macro belongs to an agent")
    owner_id = None if data.shared else actor.id
    scope = Macro.owner_id.is_(None) if owner_id is None else Macro.owner_id == owner_id
    body, actions = await _checked_macro(
        session, body=data.body, visibility=data.visibility, actions_spec=data.actions
    )
    row = Macro(
        name=await _unique_name(session, Macro, data.name, None, scope=scope),
        owner_id=owner_id, position=data.position, is_active=data.is_active, body=body,
        visibility=data.visibility, actions=actions,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def update_macro(
    session: AsyncSession, *, actor: Actor, macro_id: int, data: MacroUpdate
) -> Macro:
    row = await get_macro(session, actor=actor, macro_id=macro_id)
    _may_change(actor, row)
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    if {"body", "visibility", "actions"} & set(changes):
        changes["body"], changes["actions"] = await _checked_macro(
            session,
            body=changes.get("body", row.body),
            visibility=changes.get("visibility", row.visibility),
            actions_spec=changes.get("actions", row.actions),
        )
    if "name" in changes:
        scope = Macro.owner_id.is_(None) if row.owner_id is None else Macro.owner_id == row.owner_id
        changes["name"] = await _unique_name(session, Macro, changes["name"], row.id, scope=scope)
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    await session.flush()
    return row


async def delete_macro(session: AsyncSession, *, actor: Actor, macro_id: int) -> None:
    row = await get_macro(session, actor=actor, macro_id=macro_id)
    _may_change(actor, row)
    await session.delete(row)
    await session.flush()


def _macro_actions(row: Macro) -> tuple[Action, ...]:
    if not row.actions:
        return ()
    try:
        actions = parse_actions(row.actions, path="actions")
    except RuleError as exc:
        raise _invalid(exc) from exc
    if row.visibility == "internal":
        _check_internal(actions)  # whatever was stored: an internal macro stays internal
    return actions


async def preview_macro(
    session: AsyncSession, *, actor: Actor, macro_id: int, ticket_id: int
) -> MacroPreview:
    """The macro's text for this ticket (placeholders filled in), where it would go, and
    what its actions would do."""
    row = await get_macro(session, actor=actor, macro_id=macro_id)
    ticket = await tickets.get_ticket(session, actor=actor, ticket_id=ticket_id)
    values = await engine.placeholder_values(session, ticket, actor=actor)
    actions = _macro_actions(row)
    return MacroPreview(
        text=render_placeholders(row.body, values),
        visibility=row.visibility,
        actions=await engine.describe_actions(session, actions, language=actor.language),
    )


async def apply_macro(
    session: AsyncSession,
    *,
    actor: Actor,
    macro_id: int,
    ticket_id: int,
    text: str | None = None,
) -> MacroApplied:
    """Post the macro's text (or ``text``, the preview as the agent edited it, as it
    is) as a public reply or an internal note, as the macro's visibility says, then run
    its actions as the agent. An internal macro never posts publicly."""
    require_agent(actor)
    if not actor.is_user:
        raise Forbidden("an agent applies macros")
    row = await get_macro(session, actor=actor, macro_id=macro_id)
    if not row.is_active:
        raise MacroInactive(f"the macro {row.name!r} is turned off", field="macro_id")
    ticket = await tickets.get_ticket(session, actor=actor, ticket_id=ticket_id)
    actions = _macro_actions(row)
    if text is None:
        values = await engine.placeholder_values(session, ticket, actor=actor)
        text = render_placeholders(row.body, values)
    visibility = "internal" if row.visibility == "internal" else "public"
    message_id = None
    if text.strip():
        added = await tickets.add_message(
            session, actor=actor, ticket_id=ticket.id,
            data=MessageCreate(body=text, visibility=visibility),
        )  # fmt: skip
        message_id = added.message.id
    await engine.execute_actions(
        session, ticket_id=ticket.id, actions=actions, actor=actor,
        label=engine.rule_label("Macro", row.name),
    )  # fmt: skip
    return MacroApplied(
        ticket_id=ticket.id,
        message_id=message_id,
        visibility=visibility,
        actions=await engine.describe_actions(session, actions, language=actor.language),
    )
