"""Pages of automation: triggers and time rules (admins), macros (every agent).

- ``/admin/triggers``: the triggers in the order they run, each with its events,
  conditions and actions in words; ``.../{id}/move`` moves one up or down (the positions
  are numbered again 10, 20, …), ``.../{id}/active`` turns it on or off;
  ``/admin/triggers/new`` and ``/admin/triggers/{id}``: name, description, position,
  active, events (checkboxes), conditions and actions edited as rows; ``.../delete`` asks,
  then deletes.
- ``/admin/time-rules``: the same for time rules, which read no event but may count
  business hours on a calendar; ``POST /admin/time-rules/run`` runs them now
  (``service.run_time_rules``) and the list says how many tickets they changed.
- ``/macros``: the agent's own macros and the shared ones. Any agent makes, changes and
  deletes their own; only an admin makes, changes or deletes a shared one (others read
  it, and what they post is answered with a 403 page). Another agent's macro is a 404,
  as the service has it.

The same shape as ``admin/sla.py``: a handler parses the form into the service's schema,
calls one service of ``automation`` in a savepoint and redirects, or shows the form again
with status 400, the inputs at fault marked (``aria-invalid`` and the message next to
them) and everything typed kept; the failed request is rolled back.

Conditions are the rows of ``admin/_conditions.html`` (the helpers of ``admin/sla.py``).
Actions are rows too (``admin/_actions.html``, ``static/js/actions.js``): a row's inputs
are named ``actions.<n>.action`` and ``actions.<n>.<input>``; each kind reads its own
inputs (``FORM_INPUTS``) and ignores the rest, rows without an action are dropped and the
rest keep their order, so the service's error path (``actions.2.to``) names the third
row shown again. Tags are typed separated by commas, webhook headers as "Name: value"
lines, a ticket field's value as text (a number, yes/no, options separated by commas as
the field's type wants; empty clears it), an email recipient as a choice or an address.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from opora.admin.common import (
    admin_or_none,
    forbidden,
    not_found,
    validation_errors,
)
from opora.admin.sla import (
    GROUPS,
    NO,
    YES,
    ConditionWords,
    EditorField,
    all_ops,
    condition_error,
    condition_rows,
    condition_rows_from_form,
    condition_words,
    conditions_spec,
    editor_fields,
)
from opora.auth import service as auth_service
from opora.auth.actor import Actor
from opora.automation import engine, service
from opora.automation.actions import LINE_KINDS, METHODS, RECIPIENTS, parse_actions
from opora.automation.conditions import EVENTS, FIELDS, MAX_CONDITIONS, RuleError
from opora.automation.models import Macro, TimeRule, Trigger
from opora.automation.placeholders import PLACEHOLDERS
from opora.automation.schemas import (
    MacroCreate,
    MacroUpdate,
    TimeRuleCreate,
    TimeRuleUpdate,
    TriggerCreate,
    TriggerUpdate,
)
from opora.errors import Conflict, OporaError
from opora.fields import service as fields_service
from opora.kit.translations import translations
from opora.sla import service as sla_service
from opora.tickets.models import Priority, TicketStatus, TicketType
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.forms import attempt, see_other
from opora.web.page_auth import PageUser, verify_csrf
from opora.web.templating import page_language, render

router = APIRouter(
    route_class=UnitOfWorkRoute,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)

TRIGGERS = "/admin/triggers"
TIME_RULES = "/admin/time-rules"
MACROS = "/macros"
TRIGGER, TIME_RULE = "trigger", "time_rule"
POSITION_STEP = 10  # the positions a move numbers the rules with

# the order of the condition fields in the rule editors; the rest follow, by name
RULE_FIELD_ORDER = (
    "event", "status", "priority", "type", "channel", "group_id", "assignee_id", "line",
    "tags", "organization_id", "organization.vip", "requester.email_domain",
    "requester.language", "subject", "message.text", "text", "message.visibility",
    "message.author", "within_business_hours", "sla.warning", "sla.breached",
    "hours_since_created", "hours_since_updated", "hours_since_status_change",
    "business_hours_since_status_change", "business_hours_since_created",
    "hours_since_assigned", "requester_id",
)  # fmt: skip
# a time rule sees no change (service: "use is, in or the hours fields")
TIME_RULE_SKIPPED_OPS = ("changed", "changed_to", "changed_from")

# -- action rows ----------------------------------------------------------------------------

LINE_GROUP = "line_group"  # an escalation's optional group (its "group_id")
ADDRESS = "address"  # the "to" choice "an email address" (typed in the address input)
UNASSIGN = "none"  # the agent choice "nobody" (an empty choice is no choice: refused)
# the inputs of a row each kind reads (``actions.parse_actions`` has the params they make)
FORM_INPUTS: dict[str, tuple[str, ...]] = {
    "set_status": ("status",),
    "set_priority": ("priority",),
    "set_type": ("type",),
    "set_group": ("group_id",),
    "assign": ("user_id",),
    "assign_round_robin": (),
    "assign_least_loaded": (),
    "add_tags": ("tags",),
    "remove_tags": ("tags",),
    "set_custom_field": ("key", "value"),
    "escalate": ("reason", "line_group"),  # line_group: the optional group_id
    "deescalate": ("reason", "line_group"),
    "add_note": ("text",),
    "reply": ("text",),
    "notify_email": ("to", "address", "subject", "body"),
    "webhook": ("method", "url", "headers", "payload"),  # payload: the webhook's body
}
INPUTS: tuple[str, ...] = tuple(dict.fromkeys(i for names in FORM_INPUTS.values() for i in names))
# input -> the kinds that read it (the row shows an input only for its kinds)
INPUT_KINDS: dict[str, tuple[str, ...]] = {
    name: tuple(kind for kind, names in FORM_INPUTS.items() if name in names) for name in INPUTS
}
_DEFAULTS = {"to": "requester", "method": "POST"}
_ACTION_KEY = re.compile(r"actions\.(\d{1,3})\.action")
_HEADER_LINE = re.compile(r"([^:\s][^:]*):(.*)")
_TRUE_WORDS = frozenset({"true", "yes", "да"})
_FALSE_WORDS = frozenset({"false", "no", "нет"})


@dataclass(frozen=True, slots=True)
class TicketField:
    key: str
    type: str
    label: str


@dataclass(frozen=True, slots=True)
class ActionChoices:
    """What the action rows offer: the kinds, and the values of their selects."""

    kinds: tuple[str, ...]
    groups: tuple[tuple[int, str], ...]
    agents: tuple[tuple[int, str], ...]
    fields: Mapping[str, TicketField]
    statuses: tuple[str, ...] = tuple(s.value for s in TicketStatus)
    priorities: tuple[str, ...] = tuple(p.value for p in Priority)
    types: tuple[str, ...] = tuple(t.value for t in TicketType)
    recipients: tuple[str, ...] = (*RECIPIENTS, ADDRESS)
    methods: tuple[str, ...] = METHODS


def blank_action(kind: str = "") -> dict[str, str]:
    return {"action": kind, **{name: _DEFAULTS.get(name, "") for name in INPUTS}}


def _yes_no(lang: str, value: bool) -> str:
    return translations(lang).gettext(YES if value else NO)


def _value_text(value: Any, lang: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _yes_no(lang, value)
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def action_rows(spec: Any, lang: str) -> list[dict[str, str]]:
    """Stored actions as rows: ``[{"action": kind, <input>: text, ...}]``."""
    rows: list[dict[str, str]] = []
    for raw in spec if isinstance(spec, list) else []:
        if not isinstance(raw, Mapping):
            continue
        row = blank_action(str(raw.get("action", "")))
        for name, value in raw.items():
            if name == "tags" and isinstance(value, list | tuple):
                row["tags"] = ", ".join(str(tag) for tag in value)
            elif name == "headers" and isinstance(value, Mapping):
                row["headers"] = "\n".join(f"{k}: {v}" for k, v in value.items())
            elif name == "user_id" and value is None:
                row["user_id"] = UNASSIGN
            elif name == "group_id" and row["action"] in LINE_KINDS:
                row[LINE_GROUP] = _value_text(value, lang)
            elif name == "to" and value not in RECIPIENTS:
                row["to"], row[ADDRESS] = ADDRESS, str(value)
            elif name == "body" and row["action"] == "webhook":
                row["payload"] = _value_text(value, lang)
            elif name in INPUTS:
                row[name] = _value_text(value, lang)
        rows.append(row)
    return rows


def action_rows_from_form(form: Any) -> list[dict[str, str]]:
    """The rows as typed, in their order; rows without an action are dropped."""
    found = sorted({int(m[1]) for key in form if (m := _ACTION_KEY.fullmatch(key))})
    rows: list[dict[str, str]] = []
    for index in found:
        kind = str(form.get(f"actions.{index}.action", "")).strip()
        if not kind:
            continue
        row = blank_action(kind)
        for name in INPUTS:
            row[name] = str(form.get(f"actions.{index}.{name}", row[name]))
        rows.append(row)
    return rows


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def field_value(field: TicketField | None, text: str, lang: str) -> Any:
    """A ticket field's value as typed, for the service (which checks it against the
    field): empty clears it; a number, yes/no or a list as the field's type wants."""
    text = text.strip()
    if not text:
        return None
    kind = field.type if field else "text"
    if kind == "number":
        number = _number(text)
        return text if number is None else number
    if kind == "checkbox":
        key = text.casefold()
        if key in _TRUE_WORDS | {_yes_no(lang, True).casefold()}:
            return True
        if key in _FALSE_WORDS | {_yes_no(lang, False).casefold()}:
            return False
        return text
    if kind == "multiselect":
        return [item.strip() for item in text.split(",") if item.strip()]
    return text


def _headers(text: str) -> dict[str, str] | None:
    """Webhook headers from "Name: value" lines; None when a line is not one, or a name
    comes twice."""
    headers: dict[str, str] = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            continue
        match = _HEADER_LINE.fullmatch(line.strip())
        if match is None:
            return None
        name = match[1].strip()
        if name.casefold() in {n.casefold() for n in headers}:
            return None
        headers[name] = match[2].strip()
    return headers


def actions_spec(
    rows: Sequence[dict[str, str]], choices: ActionChoices, lang: str
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The rows as the service takes them, and what the page itself refuses (a header
    line that is no "Name: value")."""
    spec: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for i, row in enumerate(rows):
        kind = row["action"]
        item: dict[str, Any] = {"action": kind}
        if kind in ("set_status", "set_priority", "set_type"):
            name = kind.removeprefix("set_")
            item[name] = row[name].strip()
        elif kind == "set_group":
            item["group_id"] = row["group_id"].strip()
        elif kind == "assign":
            user = row["user_id"].strip()
            item["user_id"] = None if user == UNASSIGN else user
        elif kind in ("add_tags", "remove_tags"):
            item["tags"] = [tag.strip() for tag in row["tags"].split(",") if tag.strip()]
        elif kind == "set_custom_field":
            key = row["key"].strip()
            item.update(key=key, value=field_value(choices.fields.get(key), row["value"], lang))
        elif kind in LINE_KINDS:
            item["reason"] = row["reason"]
            if row[LINE_GROUP].strip():
                item["group_id"] = row[LINE_GROUP].strip()
        elif kind in ("add_note", "reply"):
            item["text"] = row["text"]
        elif kind == "notify_email":
            to = row[ADDRESS].strip() if row["to"] == ADDRESS else row["to"]
            item.update(to=to, subject=row["subject"], body=row["body"])
        elif kind == "webhook":
            item.update(url=row["url"], method=row["method"] or "POST")
            headers = _headers(row["headers"])
            if headers is None:
                errors[f"actions.{i}.headers"] = "headers"
            elif headers:
                item["headers"] = headers
            if row["payload"].strip():
                item["body"] = row["payload"]
        spec.append(item)
    return spec, errors


def action_error(
    path: str, rows: Sequence[dict[str, str]], *, internal: bool = False
) -> dict[str, str]:
    """A service error's path as the rows mark it: ``actions.2.to`` is the third row's
    recipient (its address input when one was typed); ``actions`` is the list. With
    ``internal`` (an internal macro), a reply or mail to the customer says why."""
    parts = path.split(".")
    if len(parts) < 2 or not parts[1].isdigit():
        return {"actions": "list"}
    index = int(parts[1])
    row = rows[index] if index < len(rows) else blank_action()
    name = parts[2] if len(parts) > 2 else "action"
    if name == "to" and row["to"] == ADDRESS:
        name = ADDRESS
    elif name == "body" and row["action"] == "webhook":
        name = "payload"
    elif name == "group_id" and row["action"] in LINE_KINDS:
        name = LINE_GROUP
    if name != "action" and name not in INPUTS:
        name = "action"
    code = name
    if internal and (
        (name == "action" and row["action"] == "reply")
        or (name == "to" and row["to"] == "requester")
    ):
        code = "internal"
    return {f"actions.{index}.{name}": code}


async def action_choices(
    session: AsyncSession, actor: Actor, lang: str, kinds: Sequence[str]
) -> ActionChoices:
    groups = await auth_service.list_groups(session, actor=actor)
    agents = await auth_service.list_users(session, actor=actor)
    fields = await fields_service.list_fields(session, entity="ticket")
    return ActionChoices(
        kinds=tuple(kinds),
        groups=tuple((g.id, g.name) for g in groups if g.is_active),
        agents=tuple(sorted(((u.id, u.name) for u in agents if u.is_active),
                            key=lambda pair: pair[1].casefold())),
        fields={
            f.key: TicketField(f.key, f.type, (f.label_ru if lang == "ru" else "") or f.label)
            for f in fields
        },
    )  # fmt: skip


async def describe(session: AsyncSession, spec: Any, lang: str) -> list[str]:
    """Stored actions in words, one line each (nothing for a definition that no longer
    parses)."""
    try:
        actions = parse_actions(spec, path="actions")
    except RuleError:
        return []
    return await engine.describe_actions(session, actions, language=lang)


# -- shared by triggers and time rules --------------------------------------------------


def _rule_field_names(kind: str, custom_keys: Sequence[str]) -> list[str]:
    known = [f for f in FIELDS if not f.startswith("custom_fields.")]
    names = [f for f in RULE_FIELD_ORDER if f in known]
    names += sorted(set(known) - set(names))
    names += [f"custom_fields.{key}" for key in custom_keys]
    if kind == TIME_RULE:
        allowed = service.TIME_RULE_FIELDS
        custom = "custom_fields.*" in allowed
        names = [n for n in names if n in allowed or (custom and n.startswith("custom_fields."))]
    return names


def _rule_fields(kind: str, words: ConditionWords, choices: ActionChoices) -> list[EditorField]:
    names = _rule_field_names(kind, list(choices.fields))
    skip = TIME_RULE_SKIPPED_OPS if kind == TIME_RULE else ()
    return editor_fields(names, words, skip_ops=skip)


def _flat(conditions: Any) -> list[Any]:
    spec = conditions if isinstance(conditions, dict) else {}
    return [*(spec.get("all") or []), *(spec.get("any") or [])]


@dataclass
class RuleForm:
    values: dict[str, Any]
    args: dict[str, Any]  # for the Create / Update schema
    errors: dict[str, str]  # what the page itself refuses


def _rule_form(
    form: Any, kind: str, words: ConditionWords, choices: ActionChoices, lang: str
) -> RuleForm:
    conditions = condition_rows_from_form(form)
    actions = action_rows_from_form(form)
    spec, errors = actions_spec(actions, choices, lang)
    values: dict[str, Any] = {
        "name": str(form.get("name", "")).strip(),
        "description": str(form.get("description", "")).strip(),
        "position": str(form.get("position", "")).strip(),
        "is_active": form.get("is_active") == "on",
        "conditions": conditions,
        "actions": actions,
    }
    args: dict[str, Any] = {
        "name": values["name"], "description": values["description"],
        "position": values["position"] or None, "is_active": values["is_active"],
        "conditions": conditions_spec(conditions, words), "actions": spec,
    }  # fmt: skip
    if kind == TRIGGER:
        values["events"] = [str(e) for e in form.getlist("events")]
        args["events"] = values["events"]
    else:
        values["calendar_id"] = str(form.get("calendar_id", "")).strip()
        args["calendar_id"] = values["calendar_id"] or None
    return RuleForm(values=values, args=args, errors=errors)


def _rule_values(
    kind: str, row: Trigger | TimeRule | None, words: ConditionWords
) -> dict[str, Any]:
    if row is None:
        values: dict[str, Any] = {
            "name": "", "description": "", "position": "", "is_active": True,
            "conditions": {g: [] for g in GROUPS}, "actions": [],
        }  # fmt: skip
        if kind == TRIGGER:
            values["events"] = ["ticket.created"]
        else:
            values["calendar_id"] = ""
        return values
    values = {
        "name": row.name, "description": row.description, "position": str(row.position),
        "is_active": row.is_active, "conditions": condition_rows(row.conditions, words),
        "actions": action_rows(row.actions, words.lang),
    }  # fmt: skip
    if isinstance(row, Trigger):
        values["events"] = list(row.events)
    else:
        values["calendar_id"] = "" if row.calendar_id is None else str(row.calendar_id)
    return values


def _rule_errors(exc: OporaError, kind: str, data: RuleForm) -> dict[str, str]:
    field = exc.field or "form"
    if field.startswith("conditions"):
        key, code = condition_error(field)
        too_many = len(data.values["conditions"]["all"]) > MAX_CONDITIONS
        if kind == TIME_RULE and key == "conditions.all" and code == "group" and not too_many:
            code = "time"  # the time condition a time rule needs
        return {key: code}
    if field.startswith("actions"):
        return action_error(field, data.values["actions"])
    if field.startswith("events"):
        return {"events": "events"}
    if field == "name":
        return {"name": "taken" if isinstance(exc, Conflict) else "name"}
    if field in ("position", "description", "calendar_id"):
        return {field: "invalid"}
    return {"form": "invalid"}


async def _rule_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    kind: str,
    rule: Trigger | TimeRule | None,
    *,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    lang = page_language(request)
    stored = rule.conditions if rule is not None and values is None else None
    words = await condition_words(session, actor, lang, stored, users=True)
    choices = await action_choices(session, actor, lang, engine.TRIGGER_KINDS)
    fields = _rule_fields(kind, words, choices)
    return render(
        request,
        "admin/rule.html",
        status_code=status_code,
        kind=kind,
        base=TRIGGERS if kind == TRIGGER else TIME_RULES,
        rule=rule,
        values=values if values is not None else _rule_values(kind, rule, words),
        errors=errors or {},
        events=EVENTS,
        calendars=await sla_service.list_calendars(session, actor=actor)
        if kind == TIME_RULE else [],
        fields=fields,
        all_ops=all_ops(fields),
        choices=choices,
        input_kinds=INPUT_KINDS,
        placeholders=PLACEHOLDERS,
    )  # fmt: skip


async def _rule_list(
    request: Request, session: AsyncSession, actor: Actor, kind: str, **context: Any
) -> Response:
    lang = page_language(request)
    rules: Sequence[Trigger | TimeRule] = (
        await service.list_triggers(session, actor=actor) if kind == TRIGGER
        else await service.list_time_rules(session, actor=actor)
    )  # fmt: skip
    words = await condition_words(
        session, actor, lang, {"all": [c for r in rules for c in _flat(r.conditions)]}, users=True
    )
    calendars = await sla_service.list_calendars(session, actor=actor) if kind == TIME_RULE else []
    return render(
        request,
        "admin/rules.html",
        kind=kind,
        base=TRIGGERS if kind == TRIGGER else TIME_RULES,
        rules=rules,
        conditions={r.id: condition_rows(r.conditions, words) for r in rules},
        actions={r.id: await describe(session, r.actions, lang) for r in rules},
        calendar_names={c.id: c.name for c in calendars},
        **context,
    )


async def _find_rule(
    session: AsyncSession, actor: Actor, kind: str, rule_id: int
) -> Trigger | TimeRule | None:
    try:
        if kind == TRIGGER:
            return await service.get_trigger(session, actor=actor, trigger_id=rule_id)
        return await service.get_time_rule(session, actor=actor, rule_id=rule_id)
    except OporaError:
        return None


async def _parse_rule(request: Request, session: AsyncSession, actor: Actor, kind: str) -> RuleForm:
    lang = page_language(request)
    form = await request.form()
    words = await condition_words(session, actor, lang, users=True)
    choices = await action_choices(session, actor, lang, engine.TRIGGER_KINDS)
    return _rule_form(form, kind, words, choices, lang)


async def _store_rule(
    session: AsyncSession, actor: Actor, kind: str, rule_id: int | None, data: Any
) -> None:
    if rule_id is None:
        if kind == TRIGGER:
            await service.create_trigger(session, actor=actor, data=data)
        else:
            await service.create_time_rule(session, actor=actor, data=data)
    elif kind == TRIGGER:
        await service.update_trigger(session, actor=actor, trigger_id=rule_id, data=data)
    else:
        await service.update_time_rule(session, actor=actor, rule_id=rule_id, data=data)


async def _save_rule(
    request: Request, session: AsyncSession, actor: Actor, kind: str, rule_id: int | None
) -> Response:
    """Create (``rule_id`` None) or change a rule from the posted form."""
    data = await _parse_rule(request, session, actor, kind)
    errors = dict(data.errors)
    schema: Any = None
    try:
        if kind == TRIGGER:
            schema = (TriggerCreate if rule_id is None else TriggerUpdate)(**data.args)
        else:
            schema = (TimeRuleCreate if rule_id is None else TimeRuleUpdate)(**data.args)
    except ValidationError as exc:
        errors = {**validation_errors(exc), **errors}
    base = TRIGGERS if kind == TRIGGER else TIME_RULES
    if not errors:

        async def call() -> None:
            await _store_rule(session, actor, kind, rule_id, schema)

        error = await attempt(session, call)
        if error is None:
            return see_other(f"{base}?saved={'created' if rule_id is None else 'saved'}")
        if error.status_code == 404:
            return not_found(request)
        errors = _rule_errors(error, kind, data)
    rule = None
    if rule_id is not None:
        rule = await _find_rule(session, actor, kind, rule_id)
        if rule is None:
            return not_found(request)
    return await _rule_page(
        request, session, actor, kind, rule, status_code=400, values=data.values, errors=errors
    )


async def _move_rule(
    session: AsyncSession, actor: Actor, kind: str, rule_id: int, up: bool
) -> bool:
    """Swap the rule with the one before (``up``) or after it; the positions are numbered
    again in steps of ``POSITION_STEP``. False when there is no such rule."""
    rules: list[Trigger | TimeRule] = list(
        await service.list_triggers(session, actor=actor) if kind == TRIGGER
        else await service.list_time_rules(session, actor=actor)
    )  # fmt: skip
    ids = [r.id for r in rules]
    if rule_id not in ids:
        return False
    here = ids.index(rule_id)
    there = here - 1 if up else here + 1
    if 0 <= there < len(rules):
        rules[here], rules[there] = rules[there], rules[here]
    for number, rule in enumerate(rules, start=1):
        position = number * POSITION_STEP
        if rule.position == position:
            continue
        if kind == TRIGGER:
            await service.update_trigger(
                session, actor=actor, trigger_id=rule.id, data=TriggerUpdate(position=position)
            )
        else:
            await service.update_time_rule(
                session, actor=actor, rule_id=rule.id, data=TimeRuleUpdate(position=position)
            )
    return True


async def _set_active(
    session: AsyncSession, actor: Actor, kind: str, rule_id: int, active: bool
) -> None:
    if kind == TRIGGER:
        await service.update_trigger(
            session, actor=actor, trigger_id=rule_id, data=TriggerUpdate(is_active=active)
        )
    else:
        await service.update_time_rule(
            session, actor=actor, rule_id=rule_id, data=TimeRuleUpdate(is_active=active)
        )


async def _delete_rule(session: AsyncSession, actor: Actor, kind: str, rule_id: int) -> None:
    if kind == TRIGGER:
        await service.delete_trigger(session, actor=actor, trigger_id=rule_id)
    else:
        await service.delete_time_rule(session, actor=actor, rule_id=rule_id)


SAVED = ("created", "saved", "deleted", "moved", "on", "off")


def _saved(saved: str | None) -> str | None:
    return saved if saved in SAVED else None


# -- the routes of both kinds ---------------------------------------------------------------


def _count(text: str | None) -> int:
    return int(text) if text and text.isdigit() and len(text) < 10 else 0


@router.get(TRIGGERS)
async def triggers_page(
    request: Request, session: Session, user: PageUser, saved: str | None = None
) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    return await _rule_list(request, session, actor, TRIGGER, saved=_saved(saved), ran=None)


@router.get(TIME_RULES)
async def time_rules_page(
    request: Request,
    session: Session,
    user: PageUser,
    saved: str | None = None,
    ran: str | None = None,
    rules: str | None = None,
    changed: str | None = None,
    failed: str | None = None,
) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    result = None
    if ran:
        result = {"rules": _count(rules), "changed": _count(changed), "failed": _count(failed)}
    return await _rule_list(request, session, actor, TIME_RULE, saved=_saved(saved), ran=result)


@router.post(f"{TIME_RULES}/run")
async def run_time_rules(request: Request, session: Session, user: PageUser) -> Response:
    """Run the time rules now, in this request; the list says what they did."""
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    ran = await service.run_time_rules(session, actor=actor)
    changed = ran.fired - ran.failed
    return see_other(f"{TIME_RULES}?ran=1&rules={ran.rules}&changed={changed}&failed={ran.failed}")


def _rule_routes(base: str, kind: str) -> None:
    """The form, edit, move, on/off and delete routes of one kind of rule under ``base``."""

    @router.get(f"{base}/new")
    async def new_page(request: Request, session: Session, user: PageUser) -> Response:
        actor = await admin_or_none(session, user)
        if actor is None:
            return forbidden(request)
        return await _rule_page(request, session, actor, kind, None)

    @router.post(f"{base}/new")
    async def create(request: Request, session: Session, user: PageUser) -> Response:
        actor = await admin_or_none(session, user)
        if actor is None:
            return forbidden(request)
        return await _save_rule(request, session, actor, kind, None)

    @router.get(f"{base}/{{rule_id}}")
    async def edit_page(
        request: Request, session: Session, user: PageUser, rule_id: int
    ) -> Response:
        actor = await admin_or_none(session, user)
        if actor is None:
            return forbidden(request)
        rule = await _find_rule(session, actor, kind, rule_id)
        if rule is None:
            return not_found(request)
        return await _rule_page(request, session, actor, kind, rule)

    @router.post(f"{base}/{{rule_id}}")
    async def update(request: Request, session: Session, user: PageUser, rule_id: int) -> Response:
        actor = await admin_or_none(session, user)
        if actor is None:
            return forbidden(request)
        return await _save_rule(request, session, actor, kind, rule_id)

    @router.post(f"{base}/{{rule_id}}/move")
    async def move(request: Request, session: Session, user: PageUser, rule_id: int) -> Response:
        """One place up or down the order (the form's ``direction``)."""
        actor = await admin_or_none(session, user)
        if actor is None:
            return forbidden(request)
        up = (await request.form()).get("direction") == "up"
        if not await _move_rule(session, actor, kind, rule_id, up):
            return not_found(request)
        return see_other(f"{base}?saved=moved#rule-{rule_id}")

    @router.post(f"{base}/{{rule_id}}/active")
    async def set_active(
        request: Request, session: Session, user: PageUser, rule_id: int
    ) -> Response:
        """On when the form's ``is_active`` is "on", else off."""
        actor = await admin_or_none(session, user)
        if actor is None:
            return forbidden(request)
        active = (await request.form()).get("is_active") == "on"

        async def call() -> None:
            await _set_active(session, actor, kind, rule_id, active)

        if await attempt(session, call) is not None:
            return not_found(request)
        return see_other(f"{base}?saved={'on' if active else 'off'}#rule-{rule_id}")

    @router.get(f"{base}/{{rule_id}}/delete")
    async def confirm_delete(
        request: Request, session: Session, user: PageUser, rule_id: int
    ) -> Response:
        actor = await admin_or_none(session, user)
        if actor is None:
            return forbidden(request)
        rule = await _find_rule(session, actor, kind, rule_id)
        if rule is None:
            return not_found(request)
        return render(request, "admin/automation_delete.html", kind=kind, thing=rule,
                      back=f"{base}/{rule_id}")  # fmt: skip

    @router.post(f"{base}/{{rule_id}}/delete")
    async def delete(request: Request, session: Session, user: PageUser, rule_id: int) -> Response:
        actor = await admin_or_none(session, user)
        if actor is None:
            return forbidden(request)

        async def call() -> None:
            await _delete_rule(session, actor, kind, rule_id)

        if await attempt(session, call) is not None:
            return not_found(request)
        return see_other(f"{base}?saved=deleted")


_rule_routes(TRIGGERS, TRIGGER)
_rule_routes(TIME_RULES, TIME_RULE)


# -- macros ---------------------------------------------------------------------------------


def _macro_forbidden(request: Request) -> Response:
    return render(request, "admin/macro_forbidden.html", status_code=403)


def _may_change(actor: Actor, macro: Macro) -> bool:
    return macro.owner_id is not None or actor.is_admin


def _macro_values(row: Macro | None, lang: str) -> dict[str, Any]:
    if row is None:
        return {"name": "", "shared": False, "is_active": True, "visibility": "public",
                "body": "", "actions": []}  # fmt: skip
    return {
        "name": row.name, "shared": row.owner_id is None, "is_active": row.is_active,
        "visibility": row.visibility, "body": row.body, "actions": action_rows(row.actions, lang),
    }  # fmt: skip


@dataclass
class MacroForm:
    values: dict[str, Any]
    args: dict[str, Any]
    errors: dict[str, str]


def _macro_form(form: Any, choices: ActionChoices, lang: str) -> MacroForm:
    actions = action_rows_from_form(form)
    spec, errors = actions_spec(actions, choices, lang)
    values: dict[str, Any] = {
        "name": str(form.get("name", "")).strip(),
        "shared": form.get("shared") == "on",
        "is_active": form.get("is_active") == "on",
        "visibility": str(form.get("visibility", "public")),
        "body": str(form.get("body", "")),
        "actions": actions,
    }
    args = {
        "name": values["name"], "is_active": values["is_active"],
        "visibility": values["visibility"], "body": values["body"], "actions": spec,
    }  # fmt: skip
    return MacroForm(values=values, args=args, errors=errors)


def _macro_errors(exc: OporaError, data: MacroForm) -> dict[str, str]:
    field = exc.field or "form"
    if field.startswith("actions"):
        internal = data.values["visibility"] == "internal"
        return action_error(field, data.values["actions"], internal=internal)
    if field == "body":
        empty = not data.values["body"].strip() and not data.values["actions"]
        return {"body": "empty" if empty else "body"}
    if field == "name":
        return {"name": "taken" if isinstance(exc, Conflict) else "name"}
    if field == "visibility":
        return {"visibility": "invalid"}
    return {"form": "invalid"}


async def _macro_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    macro: Macro | None,
    *,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    lang = page_language(request)
    return render(
        request,
        "admin/macro.html",
        status_code=status_code,
        macro=macro,
        editable=macro is None or _may_change(actor, macro),
        is_admin=actor.is_admin,
        values=values if values is not None else _macro_values(macro, lang),
        errors=errors or {},
        choices=await action_choices(session, actor, lang, engine.TRIGGER_KINDS),
        input_kinds=INPUT_KINDS,
        placeholders=PLACEHOLDERS,
        summary=await describe(session, macro.actions, lang) if macro else [],
    )


async def _find_macro(session: AsyncSession, actor: Actor, macro_id: int) -> Macro | None:
    try:
        return await service.get_macro(session, actor=actor, macro_id=macro_id)
    except OporaError:
        return None


@router.get(MACROS)
async def macros_page(
    request: Request, session: Session, user: PageUser, saved: str | None = None
) -> Response:
    """The agent's own macros, then the shared ones."""
    actor = await auth_service.actor_for_user(session, user)
    lang = page_language(request)
    macros = await service.list_macros(session, actor=actor)
    return render(
        request,
        "admin/macros.html",
        own=[m for m in macros if m.owner_id is not None],
        shared=[m for m in macros if m.owner_id is None],
        actions={m.id: await describe(session, m.actions, lang) for m in macros},
        is_admin=actor.is_admin,
        saved=saved if saved in ("created", "saved", "deleted") else None,
    )


@router.get(f"{MACROS}/new")
async def new_macro_page(request: Request, session: Session, user: PageUser) -> Response:
    actor = await auth_service.actor_for_user(session, user)
    return await _macro_page(request, session, actor, None)


@router.post(f"{MACROS}/new")
async def create_macro(request: Request, session: Session, user: PageUser) -> Response:
    actor = await auth_service.actor_for_user(session, user)
    lang = page_language(request)
    choices = await action_choices(session, actor, lang, engine.TRIGGER_KINDS)
    data = _macro_form(await request.form(), choices, lang)
    if data.values["shared"] and not actor.is_admin:
        return _macro_forbidden(request)
    errors = dict(data.errors)
    try:
        schema = MacroCreate(**data.args, shared=data.values["shared"])
    except ValidationError as exc:
        errors = {**validation_errors(exc), **errors}
    if not errors:

        async def call() -> None:
            await service.create_macro(session, actor=actor, data=schema)

        error = await attempt(session, call)
        if error is None:
            return see_other(f"{MACROS}?saved=created")
        if error.status_code == 403:
            return _macro_forbidden(request)
        errors = _macro_errors(error, data)
    return await _macro_page(
        request, session, actor, None, status_code=400, values=data.values, errors=errors
    )


@router.get(f"{MACROS}/{{macro_id}}")
async def macro_page(request: Request, session: Session, user: PageUser, macro_id: int) -> Response:
    """The form; a shared macro is read-only to an agent who is not an admin."""
    actor = await auth_service.actor_for_user(session, user)
    macro = await _find_macro(session, actor, macro_id)
    if macro is None:
        return not_found(request)
    return await _macro_page(request, session, actor, macro)


@router.post(f"{MACROS}/{{macro_id}}")
async def update_macro(
    request: Request, session: Session, user: PageUser, macro_id: int
) -> Response:
    actor = await auth_service.actor_for_user(session, user)
    macro = await _find_macro(session, actor, macro_id)
    if macro is None:
        return not_found(request)
    if not _may_change(actor, macro):
        return _macro_forbidden(request)
    lang = page_language(request)
    choices = await action_choices(session, actor, lang, engine.TRIGGER_KINDS)
    data = _macro_form(await request.form(), choices, lang)
    data.values["shared"] = macro.owner_id is None  # made so; not changed by a form
    errors = dict(data.errors)
    try:
        schema = MacroUpdate(**data.args)
    except ValidationError as exc:
        errors = {**validation_errors(exc), **errors}
    if not errors:

        async def call() -> None:
            await service.update_macro(session, actor=actor, macro_id=macro_id, data=schema)

        error = await attempt(session, call)
        if error is None:
            return see_other(f"{MACROS}?saved=saved")
        if error.status_code == 403:
            return _macro_forbidden(request)
        errors = _macro_errors(error, data)
    macro = await _find_macro(session, actor, macro_id)
    if macro is None:
        return not_found(request)
    return await _macro_page(
        request, session, actor, macro, status_code=400, values=data.values, errors=errors
    )


@router.get(f"{MACROS}/{{macro_id}}/delete")
async def confirm_delete_macro(
    request: Request, session: Session, user: PageUser, macro_id: int
) -> Response:
    actor = await auth_service.actor_for_user(session, user)
    macro = await _find_macro(session, actor, macro_id)
    if macro is None:
        return not_found(request)
    if not _may_change(actor, macro):
        return _macro_forbidden(request)
    return render(request, "admin/automation_delete.html", kind="macro", thing=macro,
                  back=f"{MACROS}/{macro_id}")  # fmt: skip


@router.post(f"{MACROS}/{{macro_id}}/delete")
async def delete_macro(
    request: Request, session: Session, user: PageUser, macro_id: int
) -> Response:
    actor = await auth_service.actor_for_user(session, user)

    async def call() -> None:
        await service.delete_macro(session, actor=actor, macro_id=macro_id)

    error = await attempt(session, call)
    if error is not None:
        return _macro_forbidden(request) if error.status_code == 403 else not_found(request)
    return see_other(f"{MACROS}?saved=deleted")
