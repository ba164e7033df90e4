"""The automation engine: running actions on a ticket, and the triggers.

**Actions** (``execute_actions``) go through the ticket use cases, as the given actor
(a system actor named after the rule for triggers and time rules — its label is written
on every timeline row the actions make —, the agent for a macro), in phases, whatever
their order in the rule:

1. messages: ``add_note`` (internal, placeholders filled in) and ``reply`` (public;
   macros only);
2. lines: ``escalate`` / ``deescalate``;
3. fields: every ``set_*``, ``assign``, ``add_tags``, ``remove_tags`` and
   ``set_custom_field`` together, as one ``update_ticket`` (one timeline row per field,
   one ``ticket.updated`` event);
4. routing: ``assign_round_robin`` / ``assign_least_loaded`` (in the group the ticket
   has by now);
5. the outside world, rendered with the ticket as it ends up: ``notify_email`` (to the
   requester: customer mail through the email channel, threaded, automatic; to the
   assignee, the group's members or an address: ``notifications.queue_email``) and
   ``webhook`` (an ``automation.webhook`` job). Both are outbox rows in the transaction.

So a rule that notes why and then closes works, and mail says the status it set.
Placeholders never reach a message's text: a rule's mail holds only what its author
wrote, so an internal note cannot leak through one. Mail to the requester is skipped in
answer to automatic mail (a ``quiet`` event), as the notifications do.

**Triggers** (``on_event``, an in-transaction event subscriber): for each event of
``conditions.EVENTS``, the active triggers listening to it (cached per ``Database`` for
``CACHE_SECONDS``; a change through the service is seen at once in its process) are
evaluated in ``position`` order against one snapshot of the ticket taken when the event
is handled, and every trigger that matches runs its actions — all of them, in order, not
only the first. Changes a trigger makes are new events, handled in the next round, so
the next triggers see them there.

**Loop protection.** In one transaction a trigger fires at most once per ticket, and
never on an event its own actions recorded (the events recorded while a rule's actions
run are remembered as that rule's). So a trigger that re-triggers itself stops after
its first run, and two triggers that undo each other's change (A sets high when it is
urgent, B sets urgent when it is high) run once each and stop; a chain of different
triggers ends within ``len(triggers)`` rounds (``events.MAX_ROUNDS`` is a backstop that
fails the transaction). A new transaction (the customer's next message) may fire them
again: that is a new event.

**Failures.** A rule's actions run in a savepoint. When a ticket use case refuses one
(the ticket is closed, the assignee left the group, there is no higher line), the rule's
changes on that ticket are undone, a ``rule_failed`` timeline row names the rule and the
reason, and the change that fired it still commits. A rule that ran leaves a
``rule_applied`` row naming it, so even a rule whose only effect was an email or a
webhook shows on the timeline.
"""

from __future__ import annotations

import json
import logging
import time as _time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opora import events, jobs
from opora.auth import repository as users
from opora.auth.actor import Actor, system_actor
from opora.auth.models import Group, User
from opora.automation.actions import KINDS, LINE_KINDS, Action, parse_actions
from opora.automation.conditions import (
    EVENTS,
    Conditions,
    RuleError,
    evaluate,
    parse_conditions,
    referenced_fields,
)
from opora.automation.models import Trigger
from opora.automation.placeholders import render_placeholders
from opora.automation.snapshot import add_ages, build
from opora.channels.email import outbound
from opora.config import load_secret_key
from opora.contacts import repository as contacts_repository
from opora.contacts.models import Contact, Organization
from opora.db import shared_cache
from opora.errors import OporaError
from opora.kit.labels import label as value_label
from opora.kit.time import utcnow
from opora.notifications.service import queue_email
from opora.sla import service as sla
from opora.tickets import rules as ticket_rules
from opora.tickets import service as tickets
from opora.tickets.models import Message, Ticket, TicketEvent
from opora.tickets.schemas import EscalateIn, MessageCreate, TicketUpdate

log = logging.getLogger(__name__)

WEBHOOK = "automation.webhook"
CACHE_SECONDS = 10.0
MAX_LABEL = 200  # ticket_events.actor_label
TRIGGER_KINDS = tuple(kind for kind in KINDS if kind != "reply")  # reply: macros only
AUTOMATED_HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}

# the triggers' "now" for their hours and business-hours fields (tests move it)
clock: Callable[[], Any] = utcnow

_CACHE_KEY = "automation"
_STATE_KEY = "opora.automation.transaction"
_MESSAGES = ("add_note", "reply")
_ROUTING = ("assign_round_robin", "assign_least_loaded")


def rule_label(kind: str, name: str) -> str:
    """ "Trigger: VIP to L2", "Time rule: Close solved after 4 days", "Macro: …"."""
    return f"{kind}: {name}"[:MAX_LABEL]


# --- placeholders ---------------------------------------------------------------------------


def _agent_url(session: AsyncSession, ticket: Ticket) -> str:
    settings = outbound.settings_of(session)
    return f"{settings.base_url.rstrip('/')}/tickets/{ticket.id}"


def _customer_url(session: AsyncSession, ticket: Ticket) -> str:
    settings = outbound.settings_of(session)
    token = ticket_rules.request_token(load_secret_key(settings), ticket.id, ticket.requester_id)
    return f"{settings.base_url.rstrip('/')}/requests/{ticket.id}/{token}"


async def placeholder_values(
    session: AsyncSession, ticket: Ticket, *, actor: Actor, for_customer: bool = False
) -> dict[str, Any]:
    """The values of ``placeholders.PLACEHOLDERS`` for ``ticket``: ``agent.name`` is the
    acting agent (for a rule: the assignee); ``ticket.url`` is the agent's page, or the
    customer's signed link in mail to the customer."""
    requester = await session.get(Contact, ticket.requester_id)
    name = requester.name.strip() if requester else ""
    agent_name = actor.name if actor.is_user else ""
    if not actor.is_user and ticket.assignee_id is not None:
        assignee = await session.get(User, ticket.assignee_id)
        agent_name = assignee.name if assignee else ""
    organization = (
        await session.get(Organization, ticket.organization_id) if ticket.organization_id else None
    )
    group = await session.get(Group, ticket.group_id) if ticket.group_id else None
    return {
        "ticket.number": ticket.number,
        "ticket.subject": ticket.subject,
        "ticket.status": ticket.status,
        "ticket.priority": ticket.priority,
        "ticket.url": (
            _customer_url(session, ticket) if for_customer else _agent_url(session, ticket)
        ),
        "contact.name": name,
        "contact.first_name": name.split()[0] if name else "",
        "contact.email": (await contacts_repository.primary_email(session, ticket.requester_id))
        or "",
        "agent.name": agent_name,
        "organization.name": organization.name if organization else "",
        "group.name": group.name if group else "",
        "custom_fields": dict(ticket.custom_fields or {}),
    }


def _json_escaped(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values for a JSON body template: each one escaped for a JSON string."""

    def escape(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, list | tuple):
            value = ", ".join("" if v is None else str(v) for v in value)
        return json.dumps(str(value), ensure_ascii=False)[1:-1]

    escaped: dict[str, Any] = {k: escape(v) for k, v in values.items() if k != "custom_fields"}
    custom = values.get("custom_fields") or {}
    escaped["custom_fields"] = {k: escape(v) for k, v in custom.items()}
    return escaped


# --- describing actions ---------------------------------------------------------------------

_WORDS: dict[str, dict[str, str]] = {
    "set_status": {"en": "Set status to {0}", "ru": "Статус: {0}"},
    "set_priority": {"en": "Set priority to {0}", "ru": "Приоритет: {0}"},
    "set_type": {"en": "Set type to {0}", "ru": "Тип: {0}"},
    "set_group": {"en": "Move to group {0}", "ru": "Передать группе {0}"},
    "assign": {"en": "Assign to {0}", "ru": "Назначить: {0}"},
    "unassign": {"en": "Unassign", "ru": "Снять исполнителя"},
    "assign_round_robin": {"en": "Assign by round-robin in the group",
                           "ru": "Назначить по очереди в группе"},
    "assign_least_loaded": {"en": "Assign to the least loaded agent of the group",
                            "ru": "Назначить наименее загруженному в группе"},
    "add_tags": {"en": "Add tags: {0}", "ru": "Добавить теги: {0}"},
    "remove_tags": {"en": "Remove tags: {0}", "ru": "Убрать теги: {0}"},
    "set_custom_field": {"en": "Set field {0} to {1}", "ru": "Поле {0}: {1}"},
    "clear_custom_field": {"en": "Clear field {0}", "ru": "Очистить поле {0}"},
    "escalate": {"en": "Escalate to the next line: {0}",
                 "ru": "Эскалировать на следующую линию: {0}"},
    "deescalate": {"en": "Hand back to line 1: {0}", "ru": "Вернуть на первую линию: {0}"},
    "escalate_to": {"en": "Escalate to {0}: {1}", "ru": "Эскалировать в группу {0}: {1}"},
    "deescalate_to": {"en": "Hand back to {0}: {1}", "ru": "Вернуть в группу {0}: {1}"},
    "add_note": {"en": "Add an internal note", "ru": "Добавить внутреннюю заметку"},
    "reply": {"en": "Reply to the customer", "ru": "Ответить клиенту"},
    "notify_email": {"en": "Email {0}: {1}", "ru": "Письмо {0}: {1}"},
    "webhook": {"en": "Call {0} {1}", "ru": "Вызвать {0} {1}"},
    "requester": {"en": "the requester", "ru": "клиенту"},
    "assignee": {"en": "the assignee", "ru": "исполнителю"},
    "group": {"en": "the group's members", "ru": "участникам группы"},
}  # fmt: skip


def _lang(language: str) -> str:
    return "ru" if language.lower().startswith("ru") else "en"


async def describe_actions(
    session: AsyncSession, actions: Sequence[Action], *, language: str = "en"
) -> list[str]:
    """One human-readable line per action, in the reader's language (ru or en)."""
    lang = _lang(language)

    def say(key: str, *args: Any) -> str:
        return _WORDS[key][lang].format(*args)

    lines = []
    for action in actions:
        p = action.params
        kind = action.kind
        if kind in ("set_status", "set_priority", "set_type"):
            name = kind.removeprefix("set_")
            lines.append(say(kind, value_label(lang, name, p[name])))
        elif kind == "set_group":
            group = await session.get(Group, p["group_id"])
            lines.append(say(kind, group.name if group else f"#{p['group_id']}"))
        elif kind == "assign":
            if p["user_id"] is None:
                lines.append(say("unassign"))
            else:
                user = await session.get(User, p["user_id"])
                lines.append(say(kind, user.name if user else f"#{p['user_id']}"))
        elif kind in ("add_tags", "remove_tags"):
            lines.append(say(kind, ", ".join(p["tags"])))
        elif kind == "set_custom_field":
            value = p["value"]
            if value is None:
                lines.append(say("clear_custom_field", p["key"]))
            else:
                shown = ", ".join(value) if isinstance(value, tuple) else value
                lines.append(say(kind, p["key"], shown))
        elif kind in LINE_KINDS and p.get("group_id") is not None:
            group = await session.get(Group, p["group_id"])
            name = group.name if group else f"#{p['group_id']}"
            lines.append(say(f"{kind}_to", name, p["reason"]))
        elif kind in LINE_KINDS:
            lines.append(say(kind, p["reason"]))
        elif kind == "notify_email":
            to = p["to"]
            whom = say(to) if to in ("requester", "assignee", "group") else to
            lines.append(say(kind, whom, p["subject"]))
        elif kind == "webhook":
            lines.append(say(kind, p["method"], p["url"]))
        else:
            lines.append(say(kind))
    return lines


# --- running actions ------------------------------------------------------------------------


async def execute_actions(
    session: AsyncSession,
    *,
    ticket_id: int,
    actions: Sequence[Action],
    actor: Actor,
    label: str,
    quiet: bool = False,
) -> None:
    """Run ``actions`` on the ticket as ``actor`` (phases: see the module docstring) and
    write a ``rule_applied`` timeline row naming ``label``. Raises the ticket use cases'
    ``OporaError`` when one refuses; the caller decides what that undoes. ``quiet``: the
    event answered automatic mail, so nothing is mailed to the requester."""
    session.add(
        TicketEvent(
            ticket_id=ticket_id, kind="rule_applied", actor_kind=actor.kind.value,
            actor_user_id=actor.id if actor.is_user else None, actor_contact_id=None,
            actor_label=actor.label, field=None, old_value=None,
            new_value={"rule": label, "actions": [a.kind for a in actions]}, created_at=utcnow(),
        )
    )  # fmt: skip
    for action in actions:
        if action.kind in _MESSAGES:
            await _message(session, ticket_id, action, actor)
    for action in actions:
        if action.kind in LINE_KINDS:
            data = EscalateIn(
                reason=action.params["reason"], group_id=action.params.get("group_id")
            )
            if action.kind == "escalate":
                await tickets.escalate_ticket(session, actor=actor, ticket_id=ticket_id, data=data)
            else:
                await tickets.deescalate_ticket(
                    session, actor=actor, ticket_id=ticket_id, data=data
                )
    update = _field_update(actions)
    if update is not None:
        await tickets.update_ticket(session, actor=actor, ticket_id=ticket_id, data=update)
    for action in actions:
        if action.kind in _ROUTING:
            await _route(session, ticket_id, action.kind)
    for action in actions:
        if action.kind == "notify_email":
            await _notify(session, ticket_id, action, actor, quiet=quiet)
        elif action.kind == "webhook":
            await _webhook(session, ticket_id, action, actor, label)


async def _ticket(session: AsyncSession, ticket_id: int) -> Ticket:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise tickets.TicketNotFound(f"ticket {ticket_id} not found")
    return ticket


async def _message(session: AsyncSession, ticket_id: int, action: Action, actor: Actor) -> None:
    ticket = await _ticket(session, ticket_id)
    text = render_placeholders(
        action.params["text"], await placeholder_values(session, ticket, actor=actor)
    ).strip()
    if not text:
        return
    visibility = "internal" if action.kind == "add_note" else "public"
    await tickets.add_message(
        session, actor=actor, ticket_id=ticket_id,
        data=MessageCreate(body=text, visibility=visibility),
    )  # fmt: skip


def _field_update(actions: Iterable[Action]) -> TicketUpdate | None:
    """The field actions as one ``TicketUpdate`` (a later action wins over an earlier
    one on the same field); None when there are none."""
    values: dict[str, Any] = {}
    add: list[str] = []
    remove: list[str] = []
    custom: dict[str, Any] = {}
    for action in actions:
        p = action.params
        if action.kind in ("set_status", "set_priority", "set_type"):
            name = action.kind.removeprefix("set_")
            values[name] = p[name]
        elif action.kind == "set_group":
            values["group_id"] = p["group_id"]
        elif action.kind == "assign":
            values["assignee_id"] = p["user_id"]
        elif action.kind == "add_tags":
            add.extend(p["tags"])
            remove = [t for t in remove if t not in p["tags"]]
        elif action.kind == "remove_tags":
            remove.extend(p["tags"])
            add = [t for t in add if t not in p["tags"]]
        elif action.kind == "set_custom_field":
            value = p["value"]
            custom[p["key"]] = list(value) if isinstance(value, tuple) else value
    if not (values or add or remove or custom):
        return None
    if add:
        values["add_tags"] = list(dict.fromkeys(add))
    if remove:
        values["remove_tags"] = list(dict.fromkeys(remove))
    if custom:
        values["custom_fields"] = custom
    return TicketUpdate(**values)


async def _route(session: AsyncSession, ticket_id: int, kind: str) -> None:
    from opora.automation import routing  # written alongside: group assignment

    ticket = await _ticket(session, ticket_id)
    strategy = "round_robin" if kind == "assign_round_robin" else "least_loaded"
    await routing.route_ticket(session, ticket, strategy=strategy)


async def _notify(
    session: AsyncSession, ticket_id: int, action: Action, actor: Actor, *, quiet: bool
) -> None:
    ticket = await _ticket(session, ticket_id)
    p = action.params
    to = p["to"]
    customer = to == "requester"
    values = await placeholder_values(session, ticket, actor=actor, for_customer=customer)
    subject = " ".join(render_placeholders(p["subject"], values).split())
    text = render_placeholders(p["body"], values)
    if customer:
        if quiet:
            return  # never answer automatic mail with automatic mail
        email = await contacts_repository.primary_email(session, ticket.requester_id)
        if not email:
            return  # a Telegram or phone customer without an address
        if f"[#{ticket.number}]" not in subject:
            subject = f"{subject} [#{ticket.number}]"
        await outbound.queue_ticket_email(
            session,
            outbound.OutgoingEmail(
                ticket_id=ticket.id, to=[email], subject=subject, text=text, automatic=True,
                kind="automation",
            ),
        )  # fmt: skip
        return
    for address in await _agent_addresses(session, ticket, to):
        await queue_email(
            session, to=address, subject=subject, text=text, headers=AUTOMATED_HEADERS
        )


async def _agent_addresses(session: AsyncSession, ticket: Ticket, to: str) -> list[str]:
    if to == "assignee":
        if ticket.assignee_id is None:
            return []
        user = await session.get(User, ticket.assignee_id)
        return [user.email] if user is not None and user.is_active and user.email else []
    if to == "group":
        if ticket.group_id is None:
            return []
        ids = await users.member_ids_of(session, ticket.group_id)
        if not ids:
            return []
        rows = await session.execute(
            select(User.email).where(User.id.in_(ids), User.is_active.is_(True)).order_by(User.id)
        )
        return [email for email in rows.scalars() if email]
    return [to]


def _is_json(body: str, headers: Mapping[str, str]) -> bool:
    declared = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if declared is not None:
        return "json" in declared.lower()
    return body.lstrip()[:1] in ("{", "[")


async def _webhook(
    session: AsyncSession, ticket_id: int, action: Action, actor: Actor, label: str
) -> None:
    ticket = await _ticket(session, ticket_id)
    p = action.params
    headers = dict(p["headers"])
    template = p.get("body")
    values = await placeholder_values(session, ticket, actor=actor)
    if template is None:
        body = json.dumps(
            {
                "rule": label,
                "ticket": {
                    "id": ticket.id, "number": ticket.number, "subject": ticket.subject,
                    "status": ticket.status, "priority": ticket.priority,
                    "url": values["ticket.url"],
                },
            },
            ensure_ascii=False,
        )  # fmt: skip
        json_body = True
    else:
        json_body = _is_json(template, headers)
        body = render_placeholders(template, _json_escaped(values) if json_body else values)
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json" if json_body else "text/plain; charset=utf-8"
    await jobs.enqueue(
        session, WEBHOOK,
        {"url": p["url"], "method": p["method"], "headers": headers, "body": body,
         "rule": label, "ticket_id": ticket.id},
    )  # fmt: skip


def record_failure(
    session: AsyncSession, *, ticket_id: int, actor: Actor, label: str, error: Exception
) -> None:
    """A ``rule_failed`` timeline row: the rule's name and why its actions were undone."""
    message = error.message if isinstance(error, OporaError) else str(error)
    session.add(
        TicketEvent(
            ticket_id=ticket_id, kind="rule_failed", actor_kind=actor.kind.value,
            actor_user_id=actor.id if actor.is_user else None, actor_contact_id=None,
            actor_label=actor.label, field=getattr(error, "field", None), old_value=None,
            new_value={"rule": label, "error": message[:1000]}, created_at=utcnow(),
        )
    )  # fmt: skip


async def run_rule(
    session: AsyncSession,
    *,
    ticket_id: int,
    actions: Sequence[Action],
    actor: Actor,
    label: str,
    quiet: bool = False,
) -> bool:
    """``execute_actions`` in a savepoint: on a refusal the rule's changes (and the
    events they recorded) are undone, a ``rule_failed`` row says why, and False is
    returned; the surrounding transaction goes on."""
    start = events.mark(session)
    try:
        async with session.begin_nested():
            await execute_actions(
                session, ticket_id=ticket_id, actions=actions, actor=actor, label=label,
                quiet=quiet,
            )  # fmt: skip
    except OporaError as exc:
        events.forget_since(session, start)
        log.warning("%s on ticket %s: %s", label, ticket_id, exc.message)
        record_failure(session, ticket_id=ticket_id, actor=actor, label=label, error=exc)
        return False
    return True


# --- triggers -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActiveTrigger:
    id: int
    name: str
    events: frozenset[str]
    conditions: Conditions
    actions: tuple[Action, ...]
    reads: frozenset[str]  # the snapshot keys its conditions read

    @property
    def label(self) -> str:
        return rule_label("Trigger", self.name)


def trigger_events(listed: Iterable[str], conditions: Conditions) -> frozenset[str]:
    """The events a trigger listens to: those it lists, else the ones its ``event``
    conditions allow (every ``all`` one must hold; ``any`` made only of event conditions
    allows any of theirs). Empty: a trigger that could never fire."""
    named = frozenset(listed)
    if named:
        return named
    allowed: frozenset[str] | None = None
    for cond in conditions.all:
        if cond.field == "event":
            values = frozenset(cond.value if cond.op == "in" else (cond.value,))
            allowed = values if allowed is None else allowed & values
    if allowed is not None:
        return allowed
    if conditions.any and all(cond.field == "event" for cond in conditions.any):
        return frozenset(
            v for cond in conditions.any for v in (cond.value if cond.op == "in" else (cond.value,))
        )
    return frozenset()


def _cache(session: AsyncSession) -> dict[str, Any]:
    return shared_cache(session, _CACHE_KEY)


def forget_triggers(session: AsyncSession) -> None:
    """Drop the cached triggers of this process (after a trigger changed)."""
    _cache(session).clear()


async def active_triggers(session: AsyncSession) -> list[ActiveTrigger]:
    """The active triggers by position, parsed (cached per process for CACHE_SECONDS)."""
    cache = _cache(session)
    loaded = cache.get("triggers")
    if loaded is not None and _time.monotonic() - loaded[0] < CACHE_SECONDS:
        return list(loaded[1])
    rows = (
        await session.execute(
            select(Trigger)
            .where(Trigger.is_active.is_(True))
            .order_by(Trigger.position, Trigger.id)
        )
    ).scalars()
    found = []
    for row in rows:
        try:
            conditions = parse_conditions(row.conditions)
            actions = parse_actions(row.actions, allowed=TRIGGER_KINDS)
        except RuleError:
            log.warning("trigger %s (%s) no longer parses; skipped", row.id, row.name)
            continue  # stored before the language changed: skipped, never stops tickets
        found.append(
            ActiveTrigger(
                id=row.id, name=row.name, events=trigger_events(row.events, conditions),
                conditions=conditions, actions=actions, reads=referenced_fields(conditions),
            )
        )  # fmt: skip
    cache["triggers"] = (_time.monotonic(), tuple(found))
    return found


@dataclass
class _Transaction:
    """What the triggers did in this transaction (``session.info``)."""

    fired: set[tuple[int, int]] = field(default_factory=set)  # (trigger id, ticket id)
    # id(event) -> (the event, kept so its id is not reused; the trigger that caused it)
    caused: dict[int, tuple[events.DomainEvent, int]] = field(default_factory=dict)

    def cause_of(self, event: events.DomainEvent) -> int | None:
        found = self.caused.get(id(event))
        return found[1] if found is not None and found[0] is event else None


def _transaction(session: AsyncSession) -> _Transaction:
    state = session.info.get(_STATE_KEY)
    if not isinstance(state, _Transaction):
        state = _Transaction()
        session.info[_STATE_KEY] = state
    return state


async def _trigger_snapshot(
    session: AsyncSession, ticket: Ticket, event: events.DomainEvent, reads: Iterable[str]
) -> dict[str, Any]:
    payload = event.payload
    reads = frozenset(reads)
    message = None
    if event.name in ("ticket.created", "message.created") and payload.get("message_id"):
        message = await session.get(Message, payload["message_id"])
    snap = await build(
        session, ticket, event=event.name, changes=payload.get("changes") or {},
        message=message, reads=reads,
    )  # fmt: skip
    # business hours: the calendar of the ticket's SLA policy (none: around the clock)
    policy = await sla.policy_by_id(session, (ticket.sla_state or {}).get("policy_id"))
    calendar = policy.calendar if policy is not None else sla.ALWAYS_OPEN
    add_ages(snap, ticket, now=clock(), calendar=calendar, only=reads)
    return snap


async def on_event(session: AsyncSession, event: events.DomainEvent) -> None:
    """The triggers subscriber (``subscribers.install``)."""
    if event.name not in EVENTS:
        return
    listening = [t for t in await active_triggers(session) if event.name in t.events]
    if not listening:
        return
    ticket_id = event.payload.get("ticket_id")
    ticket = await session.get(Ticket, ticket_id) if isinstance(ticket_id, int) else None
    if ticket is None:
        return
    state = _transaction(session)
    cause = state.cause_of(event)
    candidates = [t for t in listening if t.id != cause and (t.id, ticket.id) not in state.fired]
    if not candidates:
        return
    reads: frozenset[str] = frozenset().union(*(t.reads for t in candidates))
    snap = await _trigger_snapshot(session, ticket, event, reads)
    quiet = bool(event.payload.get("quiet"))
    for trigger in candidates:
        if not evaluate(trigger.conditions, snap):
            continue
        state.fired.add((trigger.id, ticket.id))
        start = events.mark(session)
        await run_rule(
            session, ticket_id=ticket.id, actions=trigger.actions,
            actor=system_actor(trigger.label), label=trigger.label, quiet=quiet,
        )  # fmt: skip
        for caused in events.pending(session)[start:]:
            state.caused[id(caused)] = (caused, trigger.id)
