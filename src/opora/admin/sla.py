"""Admin pages of SLAs: business calendars and SLA policies.

- ``/admin/sla``: the policies in the order they are tried, the calendars, and "apply the
  policies to open tickets" (``POST /admin/sla/apply``);
- ``/admin/sla/calendars/new`` and ``/admin/sla/calendars/{id}``: name, time zone, the
  week's working hours (two intervals a day; an empty day is closed, "24/7" ignores the
  grid) and holidays (a date a line); ``.../holidays`` imports holidays from a CSV file
  (added, or replacing); ``.../delete`` asks, then deletes (a calendar a policy uses is
  refused, saying which policy);
- ``/admin/sla/policies/new`` and ``/admin/sla/policies/{id}``: name, position,
  calendar, targets per priority in hours and minutes, and conditions edited as rows;
  ``.../delete`` asks, then deletes.

The same shape as ``admin/mailboxes.py``: only admins; a handler parses the form, calls
one service of ``sla`` in a savepoint and redirects, or shows the form again with the
inputs at fault marked and what was typed kept (an error status, so nothing is stored).

Conditions are edited as rows (``templates/admin/_conditions.html``,
``static/js/conditions.js``), which the trigger and time-rule pages (``admin/automation.py``)
reuse with the helpers of the "condition rows" section below: a row's inputs are named
``conditions.<all|any>.<n>.field|op|value``; rows without a field are dropped, the rest
keep their order, so the service's error path (``conditions.all.2.value``) names the
third "all" row shown again. Values are typed as words: a choice by its code or its name
in English or Russian, a group, organization or (on the rule pages) agent by name, yes/no,
"none" for unset; the list operators take values separated by commas.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from opora.admin.common import (
    admin_or_none,
    forbidden,
    not_found,
    validation_errors,
)
from opora.auth import service as auth_service
from opora.auth.actor import Actor
from opora.automation.conditions import EVENTS, SLA_TARGETS, ops_for
from opora.contacts import service as contacts_service
from opora.errors import Conflict, OporaError
from opora.kit import labels
from opora.kit.translations import LANGUAGES, translations
from opora.sla import service
from opora.sla.calendar import DAY_KEYS
from opora.sla.models import TARGETS, BusinessCalendar, SlaPolicy
from opora.sla.schemas import CalendarCreate, CalendarUpdate, PolicyCreate, PolicyUpdate
from opora.tickets.models import Channel, Priority, TicketStatus, TicketType
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.forms import attempt, see_other
from opora.web.page_auth import PageUser, verify_csrf
from opora.web.templating import page_language, render

router = APIRouter(
    prefix="/admin",
    route_class=UnitOfWorkRoute,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)

PRIORITIES = [p.value for p in Priority]
# offered in the time zone input; any IANA name is accepted (the service checks it)
COMMON_ZONES = (
    "UTC", "Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg",
    "Asia/Omsk", "Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk",
    "Asia/Vladivostok", "Asia/Magadan", "Asia/Kamchatka", "Europe/Minsk", "Europe/Kyiv",
    "Asia/Almaty", "Asia/Tashkent", "Asia/Tbilisi", "Asia/Yerevan", "Asia/Baku",
    "Europe/Istanbul", "Europe/London", "Europe/Berlin", "Europe/Paris", "Asia/Dubai",
    "Asia/Kolkata", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney", "America/New_York",
    "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo",
)  # fmt: skip
SLOTS = 2  # intervals a day the grid offers (a day stored with more shows them all)
MAX_SLOTS = 12
MAX_CSV_BYTES = 200_000
# the order of the condition fields in the policy editor (service.POLICY_FIELDS decides)
POLICY_FIELD_ORDER = (
    "priority", "type", "channel", "group_id", "organization_id", "organization.vip",
    "tags", "line", "requester.email_domain", "requester.language",
)  # fmt: skip
# a policy is chosen from the ticket as it is: "changed" says nothing there
POLICY_SKIPPED_OPS = ("changed", "changed_to", "changed_from")

_DIGITS = re.compile(r"\d{1,6}", re.ASCII)
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", re.ASCII)
_HOLIDAY_LINE = re.compile(r"holidays\.line(\d+)")


def _duration_parts(minutes: int) -> tuple[str, str]:
    """A target in the form's two inputs: hours and minutes (empty when zero)."""
    hours, rest = divmod(minutes, 60)
    return (str(hours) if hours else "", str(rest) if rest else "")


# -- condition rows (shared with the trigger and time-rule pages) -----------------------

LIST_OPS = frozenset({"in", "not_in", "contains_any", "contains_none", "matches_any_word"})
NO_VALUE_OPS = frozenset({"changed", "present", "absent"})
GROUPS = ("all", "any")
_ENUM_KINDS = {"status": "status", "priority": "priority", "type": "type", "channel": "channel"}
_ENUM_VALUES: dict[str, tuple[str, ...]] = {
    "status": tuple(s.value for s in TicketStatus),
    "priority": tuple(p.value for p in Priority),
    "type": tuple(t.value for t in TicketType),
    "channel": tuple(c.value for c in Channel),
}
_CODES: dict[str, tuple[str, ...]] = {
    "event": EVENTS,
    "message.visibility": ("public", "internal"),
    "message.author": ("customer", "agent", "system"),
    "sla.breached": SLA_TARGETS,
    "sla.warning": SLA_TARGETS,
    "line": ("1", "2", "3", "4"),
}
_FLAGS = frozenset({"organization.vip", "within_business_hours"})
_NAMED_IDS = frozenset({"group_id", "organization_id", "assignee_id"})
_NULLABLE = frozenset({"group_id", "assignee_id", "organization_id"})
_TRUE_WORDS = frozenset({"true", "yes", "да"})
_FALSE_WORDS = frozenset({"false", "no", "нет"})
_NONE_WORDS = frozenset({"none", "нет", "-", "—"})
_ROW_KEY = re.compile(r"(?P<group>all|any)\.(?P<index>\d{1,3})\.field")
# the words for true, false and unset, in the page's language (marked for the catalog)
YES, NO, NONE = labels.N_("yes"), labels.N_("no"), labels.N_("none")


@dataclass(frozen=True, slots=True)
class EditorField:
    """One field of the row editor's select: the ops it takes and the words offered as
    its values (a datalist)."""

    name: str
    ops: tuple[str, ...]
    choices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConditionWords:
    """Condition values as the rows show them, and back: choices by name (either
    language) or code, groups, organizations and agents (``users``: the rule pages) by
    name, yes/no, "none" for unset."""

    lang: str
    groups: Mapping[int, str]
    organizations: Mapping[int, str]
    users: Mapping[int, str] = dataclasses.field(default_factory=dict)

    def _names(self, field: str) -> Mapping[int, str]:
        if field == "group_id":
            return self.groups
        return self.organizations if field == "organization_id" else self.users

    def _word(self, message: str) -> str:
        return translations(self.lang).gettext(message)

    def text(self, field: str, value: Any) -> str:
        if isinstance(value, list | tuple):
            return ", ".join(self.text(field, item) for item in value)
        if value is None:
            return self._word(NONE)
        if isinstance(value, bool):
            return self._word(YES) if value else self._word(NO)
        if field in _ENUM_KINDS and isinstance(value, str):
            return labels.label(self.lang, _ENUM_KINDS[field], value)
        if field in _NAMED_IDS and isinstance(value, int):
            return self._names(field).get(value, str(value))
        return str(value)

    def value(self, field: str, op: str, text: str) -> Any:
        """What a row's value input says, for the service (which checks it)."""
        if op in NO_VALUE_OPS:
            return True
        if op in LIST_OPS:
            return [self._one(field, item.strip()) for item in text.split(",") if item.strip()]
        return self._one(field, text.strip())

    def _one(self, field: str, text: str) -> Any:
        key = text.casefold()
        if field in _ENUM_KINDS:
            kind = _ENUM_KINDS[field]
            for code in _ENUM_VALUES[field]:
                words = {code, *(labels.label(lang, kind, code) for lang in LANGUAGES)}
                if key in {word.casefold() for word in words}:
                    return code
            return text
        if field in _NULLABLE and key in _NONE_WORDS | {self._word(NONE).casefold()}:
            return None
        if field in _NAMED_IDS:
            found = [i for i, name in self._names(field).items() if name.casefold() == key]
            return found[0] if len(found) == 1 else text
        if field in _FLAGS:
            yes = {self._word(YES).casefold(), *_TRUE_WORDS}
            no = {self._word(NO).casefold(), *_FALSE_WORDS}
            return "true" if key in yes else "false" if key in no else text
        return text

    def choices(self, field: str) -> tuple[str, ...]:
        if field in _ENUM_KINDS:
            return tuple(self.text(field, code) for code in _ENUM_VALUES[field])
        if field in _NAMED_IDS and (field != "assignee_id" or self.users):
            return (*sorted(self._names(field).values()), self._word(NONE))
        if field in _FLAGS:
            return (self._word(YES), self._word(NO))
        return _CODES.get(field, ())


def editor_fields(
    names: Iterable[str], words: ConditionWords, *, skip_ops: Collection[str] = ()
) -> list[EditorField]:
    return [
        EditorField(name, tuple(op for op in ops_for(name) if op not in skip_ops),
                    words.choices(name))
        for name in names
    ]  # fmt: skip


def all_ops(fields: Iterable[EditorField]) -> list[str]:
    """Every op of the fields, each once (the op select without JavaScript)."""
    seen: dict[str, None] = {}
    for f in fields:
        seen.update(dict.fromkeys(f.ops))
    return list(seen)


def condition_rows(spec: Any, words: ConditionWords) -> dict[str, list[dict[str, str]]]:
    """Stored conditions as rows: ``{"all": [{field, op, value (text)}], "any": [...]}``."""
    if isinstance(spec, list):
        spec = {"all": spec}
    rows: dict[str, list[dict[str, str]]] = {g: [] for g in GROUPS}
    for group in GROUPS:
        for cond in (spec or {}).get(group) or []:
            field, op = str(cond.get("field", "")), str(cond.get("op", "is"))
            text = "" if op in NO_VALUE_OPS else words.text(field, cond.get("value"))
            rows[group].append({"field": field, "op": op, "value": text})
    return rows


def condition_rows_from_form(
    form: Any, prefix: str = "conditions"
) -> dict[str, list[dict[str, str]]]:
    """The rows as typed, in their order; rows without a field are dropped."""
    rows: dict[str, list[dict[str, str]]] = {g: [] for g in GROUPS}
    found: dict[str, set[int]] = {g: set() for g in GROUPS}
    for key in form:
        if not key.startswith(prefix + "."):
            continue
        match = _ROW_KEY.fullmatch(key[len(prefix) + 1 :])
        if match:
            found[match["group"]].add(int(match["index"]))
    for group in GROUPS:
        for index in sorted(found[group]):
            name = f"{prefix}.{group}.{index}"
            field = str(form.get(f"{name}.field", "")).strip()
            if field:
                rows[group].append({
                    "field": field,
                    "op": str(form.get(f"{name}.op", "")).strip(),
                    "value": str(form.get(f"{name}.value", "")),
                })  # fmt: skip
    return rows


def conditions_spec(rows: dict[str, list[dict[str, str]]], words: ConditionWords) -> dict[str, Any]:
    """The rows as the service takes them (``{"all": [{field, op, value}], "any": …}``)."""
    return {
        group: [
            {"field": r["field"], "op": r["op"],
             "value": words.value(r["field"], r["op"], r["value"])}
            for r in rows[group]
        ]
        for group in GROUPS
    }  # fmt: skip


def condition_error(path: str) -> tuple[str, str]:
    """A service error's path as the editor marks it: (key, code). ``conditions.all.2.value.1``
    is the third "all" row's value; ``conditions.all`` is the list (too many rows)."""
    parts = path.split(".")
    if len(parts) >= 4 and parts[1] in GROUPS:
        return ".".join(parts[:4]), parts[3] if parts[3] in ("field", "op") else "value"
    if len(parts) == 2 and parts[1] in GROUPS:
        return path, "group"
    return parts[0], "invalid"


async def condition_words(
    session: AsyncSession, actor: Actor, lang: str, spec: Any = None, *, users: bool = False
) -> ConditionWords:
    """The names the rows use: the groups, and the organizations (the first 200 by name,
    and any that ``spec`` names); with ``users``, the agents too (the assignee)."""
    groups = await auth_service.list_groups(session, actor=actor)
    orgs, _ = await contacts_service.search_organizations(session, actor=actor, limit=200)
    names = {o.id: o.name for o in orgs}
    for org_id in _organization_ids(spec) - set(names):
        try:
            org = await contacts_service.get_organization(session, actor=actor, org_id=org_id)
        except OporaError:
            continue
        names[org.id] = org.name
    agents = await auth_service.list_users(session, actor=actor) if users else []
    return ConditionWords(
        lang=lang, groups={g.id: g.name for g in groups}, organizations=names,
        users={u.id: u.name for u in agents},
    )  # fmt: skip


def _organization_ids(spec: Any) -> set[int]:
    found: set[int] = set()
    groups = spec if isinstance(spec, dict) else {"all": spec} if isinstance(spec, list) else {}
    for group in GROUPS:
        for cond in groups.get(group) or []:
            if isinstance(cond, dict) and cond.get("field") == "organization_id":
                value = cond.get("value")
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, int) and not isinstance(item, bool):
                        found.add(item)
    return found


# -- the list -----------------------------------------------------------------------------


def hours_summary(hours: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The week as runs of days with the same hours: ``[{"first": "mon", "last": "fri",
    "intervals": ["09:00–18:00"]}]``; empty when open around the clock."""
    runs: list[dict[str, Any]] = []
    for day in DAY_KEYS:
        intervals = [f"{start}–{end}" for start, end in hours.get(day) or []]
        if not intervals:
            continue
        last = runs[-1] if runs else None
        follows = last is not None and DAY_KEYS.index(last["last"]) == DAY_KEYS.index(day) - 1
        if last is not None and follows and last["intervals"] == intervals:
            last["last"] = day
        else:
            runs.append({"first": day, "last": day, "intervals": intervals})
    return runs


@router.get("/sla")
async def sla_page(
    request: Request,
    session: Session,
    user: PageUser,
    saved: str | None = None,
    applied: str | None = None,
) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    policies = await service.list_policies(session, actor=actor)
    calendars = await service.list_calendars(session, actor=actor)
    words = await condition_words(
        session, actor, page_language(request), {"all": [c for p in policies for c in _flat(p)]}
    )
    chosen = saved if saved in (
        "policy-created", "policy-saved", "policy-deleted", "calendar-deleted",
    ) else None  # fmt: skip
    return render(
        request,
        "admin/sla.html",
        policies=policies,
        calendars=calendars,
        calendar_names={c.id: c.name for c in calendars},
        conditions={p.id: condition_rows(p.conditions, words) for p in policies},
        hours={c.id: hours_summary(c.hours) for c in calendars},
        priorities=PRIORITIES,
        targets=TARGETS,
        saved=chosen,
        applied=int(applied) if applied and applied.isdigit() else None,
    )


def _flat(policy: SlaPolicy) -> list[Any]:
    spec = policy.conditions if isinstance(policy.conditions, dict) else {}
    return [*(spec.get("all") or []), *(spec.get("any") or [])]


@router.post("/sla/apply")
async def apply_policies(request: Request, session: Session, user: PageUser) -> Response:
    """Give every open ticket the policy it matches now; the list says how many."""
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    count = await service.apply_to_open(session, actor=actor)
    return see_other(f"/admin/sla?applied={count}")


# -- calendars ------------------------------------------------------------------------------


def _shown_end(end: str) -> str:
    """24:00 in a time input: 00:00 as an end means the midnight after the day."""
    return "00:00" if end == "24:00" else end


def _stored_end(end: str) -> str:
    return "24:00" if end in ("00:00", "00:00:00") else end


def _calendar_values(row: BusinessCalendar | None, timezone: str = "UTC") -> dict[str, Any]:
    if row is None:
        workday = [["09:00", "18:00"], ["", ""]]
        hours = {d: [list(p) for p in workday] if d not in ("sat", "sun") else [["", ""]] * 2
                 for d in DAY_KEYS}  # fmt: skip
        return {"name": "", "timezone": timezone, "always_open": False, "hours": hours,
                "holidays": ""}  # fmt: skip
    shown: dict[str, list[list[str]]] = {}
    for day in DAY_KEYS:
        pairs = [[start, _shown_end(end)] for start, end in row.hours.get(day) or []]
        shown[day] = pairs + [["", ""]] * max(0, SLOTS - len(pairs))
    return {
        "name": row.name, "timezone": row.timezone, "always_open": not row.hours,
        "hours": shown, "holidays": "\n".join(row.holidays),
    }  # fmt: skip


@dataclass
class CalendarForm:
    values: dict[str, Any]
    hours: dict[str, list[list[str]]]  # for the service
    slots: dict[tuple[str, int], int]  # (day, index sent) -> the grid's interval
    holidays: list[str]
    holiday_lines: list[int]  # the textarea's line of each date sent


def _calendar_form(form: Any) -> CalendarForm:
    always = form.get("always_open") == "on"
    shown: dict[str, list[list[str]]] = {}
    hours: dict[str, list[list[str]]] = {}
    slots: dict[tuple[str, int], int] = {}
    for day in DAY_KEYS:
        pairs: list[list[str]] = []
        for i in range(MAX_SLOTS):
            start_key, end_key = f"hours.{day}.{i}.from", f"hours.{day}.{i}.to"
            if i >= SLOTS and start_key not in form and end_key not in form:
                break
            pairs.append([str(form.get(start_key, "")).strip(), str(form.get(end_key, "")).strip()])
        shown[day] = pairs
        sent = [(i, [s, _stored_end(e)]) for i, (s, e) in enumerate(pairs) if s or e]
        if sent and not always:
            hours[day] = [pair for _, pair in sent]
            slots.update({(day, k): i for k, (i, _) in enumerate(sent)})
    lines = str(form.get("holidays", "")).replace("\r\n", "\n").split("\n")
    dated = [(n, line.strip()) for n, line in enumerate(lines, start=1) if line.strip()]
    values = {
        "name": str(form.get("name", "")).strip(),
        "timezone": str(form.get("timezone", "")).strip(),
        "always_open": always,
        "hours": shown,
        "holidays": str(form.get("holidays", "")),
    }
    return CalendarForm(
        values=values, hours=hours, slots=slots,
        holidays=[text for _, text in dated], holiday_lines=[n for n, _ in dated],
    )  # fmt: skip


def _seconds(text: str) -> int | None:
    match = _TIME.fullmatch(text)
    if match is None:
        return None
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if (hour, minute, second) == (24, 0, 0):
        return 24 * 3600
    if hour > 23 or minute > 59 or second > 59:
        return None
    return hour * 3600 + minute * 60 + second


def _interval_problem(start: str, end: str) -> str:
    """Why the grid's interval was refused, in the words the page has for it."""
    if not start or not end:
        return "missing"
    begins, ends = _seconds(start), _seconds(_stored_end(end))
    if begins is None or ends is None or begins == 24 * 3600:
        return "time"
    return "order" if begins >= ends else "overlap"


def _calendar_errors(
    exc: OporaError, data: CalendarForm
) -> tuple[dict[str, str], dict[str, Any] | None]:
    """The service's error on the input it is about; and the holiday line at fault."""
    field = exc.field or "form"
    parts = field.split(".")
    if field == "name":
        return {"name": "taken" if isinstance(exc, Conflict) else "name"}, None
    if field == "timezone":
        return {"timezone": "timezone"}, None
    if parts[0] == "hours" and len(parts) == 3 and parts[2].isdigit():
        day = parts[1]
        slot = data.slots.get((day, int(parts[2])), int(parts[2]))
        pair = data.values["hours"].get(day, [])
        start, end = pair[slot] if slot < len(pair) else ("", "")
        return {f"hours.{day}.{slot}": _interval_problem(start, end)}, None
    if parts[0] == "hours":
        return {"hours": "invalid"}, None
    if parts[0] == "holidays" and len(parts) == 2 and parts[1].isdigit():
        index = int(parts[1])
        line = data.holiday_lines[index] if index < len(data.holiday_lines) else index + 1
        text = data.holidays[index] if index < len(data.holidays) else ""
        return {"holidays": "date"}, {"line": line, "text": text}
    if parts[0] == "holidays":
        return {"holidays": "invalid"}, None
    return {"form": "invalid"}, None


async def _calendar_page(
    request: Request,
    calendar: BusinessCalendar | None,
    *,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    bad_holiday: dict[str, Any] | None = None,
    saved: str | None = None,
    import_error: dict[str, Any] | None = None,
    user: Any = None,
) -> Response:
    zone = getattr(user, "timezone", None) or "UTC"
    return render(
        request,
        "admin/sla_calendar.html",
        status_code=status_code,
        calendar=calendar,
        values=values or _calendar_values(calendar, zone),
        errors=errors or {},
        bad_holiday=bad_holiday,
        days=DAY_KEYS,
        zones=COMMON_ZONES,
        saved=saved,
        import_error=import_error,
    )


async def _find_calendar(
    session: AsyncSession, actor: Actor, calendar_id: int
) -> BusinessCalendar | None:
    try:
        return await service.get_calendar(session, actor=actor, calendar_id=calendar_id)
    except OporaError:
        return None


def _calendar_checks(data: CalendarForm) -> dict[str, str]:
    """What the page itself refuses: no hours at all without "24/7"."""
    if not data.values["always_open"] and not data.hours:
        return {"hours": "empty"}
    return {}


@router.get("/sla/calendars/new")
async def new_calendar_page(request: Request, session: Session, user: PageUser) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    return await _calendar_page(request, None, user=user)


async def _save_calendar(
    request: Request, session: AsyncSession, user: Any, calendar_id: int | None
) -> Response:
    """Create (``calendar_id`` None) or change a calendar from the form; a refusal shows
    the form again with the input kept."""
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    data = _calendar_form(await request.form())
    errors = _calendar_checks(data)
    model = CalendarCreate if calendar_id is None else CalendarUpdate
    try:
        schema = model(
            name=data.values["name"], timezone=data.values["timezone"],
            hours=data.hours, holidays=data.holidays,
        )  # fmt: skip
    except ValidationError as exc:
        errors = {**validation_errors(exc), **errors}
    bad = None
    if not errors:
        saved: list[BusinessCalendar] = []

        async def call() -> None:
            if calendar_id is None:
                assert isinstance(schema, CalendarCreate)
                saved.append(await service.create_calendar(session, actor=actor, data=schema))
            else:
                assert isinstance(schema, CalendarUpdate)
                saved.append(
                    await service.update_calendar(
                        session, actor=actor, calendar_id=calendar_id, data=schema
                    )
                )

        error = await attempt(session, call)
        if error is None:
            outcome = "created" if calendar_id is None else "saved"
            return see_other(f"/admin/sla/calendars/{saved[0].id}?saved={outcome}")
        if error.status_code == 404 and calendar_id is not None:
            return not_found(request)
        errors, bad = _calendar_errors(error, data)
    calendar = None
    if calendar_id is not None:
        calendar = await _find_calendar(session, actor, calendar_id)
        if calendar is None:
            return not_found(request)
    return await _calendar_page(
        request, calendar, status_code=400, values=data.values, errors=errors, bad_holiday=bad
    )


@router.post("/sla/calendars/new")
async def create_calendar(request: Request, session: Session, user: PageUser) -> Response:
    return await _save_calendar(request, session, user, None)


@router.get("/sla/calendars/{calendar_id}")
async def calendar_page(
    request: Request, session: Session, user: PageUser, calendar_id: int, saved: str | None = None
) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    calendar = await _find_calendar(session, actor, calendar_id)
    if calendar is None:
        return not_found(request)
    chosen = saved if saved in ("created", "saved", "imported") else None
    return await _calendar_page(request, calendar, saved=chosen)


@router.post("/sla/calendars/{calendar_id}")
async def update_calendar(
    request: Request, session: Session, user: PageUser, calendar_id: int
) -> Response:
    return await _save_calendar(request, session, user, calendar_id)


@router.post("/sla/calendars/{calendar_id}/holidays")
async def import_holidays(
    request: Request, session: Session, user: PageUser, calendar_id: int
) -> Response:
    """Holidays from a CSV file (a date a line, a name after it): added, or replacing."""
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    calendar = await _find_calendar(session, actor, calendar_id)
    if calendar is None:
        return not_found(request)
    form = await request.form()
    replace = form.get("mode") == "replace"
    upload = form.get("file")
    raw = await upload.read(MAX_CSV_BYTES + 1) if isinstance(upload, UploadFile) else b""
    problem: dict[str, Any] | None = None
    text = ""
    if not raw.strip():
        problem = {"code": "no_file"}
    elif len(raw) > MAX_CSV_BYTES:
        problem = {"code": "too_big"}
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            problem = {"code": "encoding", "line": raw.count(b"\n", 0, exc.start) + 1}
    if problem is None:

        async def call() -> None:
            await service.import_holidays(
                session, actor=actor, calendar_id=calendar_id, csv_text=text, replace=replace
            )

        error = await attempt(session, call)
        if error is None:
            return see_other(f"/admin/sla/calendars/{calendar_id}?saved=imported")
        line = _HOLIDAY_LINE.fullmatch(error.field or "")
        problem = {"code": "line", "line": int(line[1])} if line else {"code": "invalid"}
        calendar = await _find_calendar(session, actor, calendar_id)
    problem["replace"] = replace
    return await _calendar_page(request, calendar, status_code=400, import_error=problem)


async def _calendar_user(session: AsyncSession, actor: Actor, calendar_id: int) -> str | None:
    """The name of a policy that uses the calendar, if one does."""
    for policy in await service.list_policies(session, actor=actor):
        if policy.calendar_id == calendar_id:
            return policy.name
    return None


@router.get("/sla/calendars/{calendar_id}/delete")
async def confirm_delete_calendar(
    request: Request, session: Session, user: PageUser, calendar_id: int
) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    calendar = await _find_calendar(session, actor, calendar_id)
    if calendar is None:
        return not_found(request)
    return render(
        request, "admin/sla_delete.html", kind="calendar", thing=calendar,
        in_use=await _calendar_user(session, actor, calendar_id), refused=None,
    )  # fmt: skip


@router.post("/sla/calendars/{calendar_id}/delete")
async def delete_calendar(
    request: Request, session: Session, user: PageUser, calendar_id: int
) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)

    async def call() -> None:
        await service.delete_calendar(session, actor=actor, calendar_id=calendar_id)

    error = await attempt(session, call)
    if error is None:
        return see_other("/admin/sla?saved=calendar-deleted")
    calendar = await _find_calendar(session, actor, calendar_id)
    if calendar is None:
        return not_found(request)
    return render(
        request, "admin/sla_delete.html", status_code=409, kind="calendar", thing=calendar,
        in_use=await _calendar_user(session, actor, calendar_id), refused=error.message,
    )  # fmt: skip


# -- policies -------------------------------------------------------------------------------


def _policy_fields(words: ConditionWords) -> list[EditorField]:
    names = [f for f in POLICY_FIELD_ORDER if f in service.POLICY_FIELDS]
    names += sorted(service.POLICY_FIELDS - set(names))
    return editor_fields(names, words, skip_ops=POLICY_SKIPPED_OPS)


def _policy_values(
    row: SlaPolicy | None, words: ConditionWords, position: int = 0
) -> dict[str, Any]:
    stored: dict[str, Any] = row.targets if row else {}
    targets = {
        p: {
            t: dict(zip(("hours", "minutes"), _duration_parts(stored[p][t]), strict=True))
            if t in stored.get(p, {}) else {"hours": "", "minutes": ""}
            for t in TARGETS
        }
        for p in PRIORITIES
    }  # fmt: skip
    if row is None:
        return {
            "name": "", "position": str(position), "is_active": True, "calendar_id": "",
            "pause_on_hold": False, "warning_percent": "75", "delay_notice": True,
            "targets": targets, "conditions": {g: [] for g in GROUPS},
        }  # fmt: skip
    return {
        "name": row.name, "position": str(row.position), "is_active": row.is_active,
        "calendar_id": "" if row.calendar_id is None else str(row.calendar_id),
        "pause_on_hold": row.pause_on_hold, "warning_percent": str(row.warning_percent),
        "delay_notice": row.delay_notice, "targets": targets,
        "conditions": condition_rows(row.conditions, words),
    }  # fmt: skip


@dataclass
class PolicyForm:
    values: dict[str, Any]
    args: dict[str, Any]  # for PolicyCreate / PolicyUpdate
    errors: dict[str, str]  # what the page itself refuses (a target that is no number)


def _policy_form(form: Any, words: ConditionWords) -> PolicyForm:
    errors: dict[str, str] = {}
    shown: dict[str, dict[str, dict[str, str]]] = {}
    targets: dict[str, dict[str, int]] = {}
    for p in PRIORITIES:
        shown[p] = {}
        for t in TARGETS:
            hours = str(form.get(f"targets.{p}.{t}.hours", "")).strip()
            minutes = str(form.get(f"targets.{p}.{t}.minutes", "")).strip()
            shown[p][t] = {"hours": hours, "minutes": minutes}
            if not hours and not minutes:
                continue
            if any(part and not _DIGITS.fullmatch(part) for part in (hours, minutes)):
                errors[f"targets.{p}.{t}"] = "number"
                continue
            targets.setdefault(p, {})[t] = int(hours or 0) * 60 + int(minutes or 0)
    rows = condition_rows_from_form(form)
    values: dict[str, Any] = {
        "name": str(form.get("name", "")).strip(),
        "position": str(form.get("position", "")).strip(),
        "is_active": form.get("is_active") == "on",
        "calendar_id": str(form.get("calendar_id", "")).strip(),
        "pause_on_hold": form.get("pause_on_hold") == "on",
        "warning_percent": str(form.get("warning_percent", "")).strip(),
        "delay_notice": form.get("delay_notice") == "on",
        "targets": shown,
        "conditions": rows,
    }
    args = {
        "name": values["name"], "position": values["position"] or 0,
        "is_active": values["is_active"], "calendar_id": values["calendar_id"] or None,
        "pause_on_hold": values["pause_on_hold"],
        "warning_percent": values["warning_percent"] or 75,
        "delay_notice": values["delay_notice"], "targets": targets,
        "conditions": conditions_spec(rows, words),
    }  # fmt: skip
    return PolicyForm(values=values, args=args, errors=errors)


def _policy_errors(exc: OporaError) -> dict[str, str]:
    field = exc.field or "form"
    if field.startswith("conditions"):
        key, code = condition_error(field)
        return {key: code}
    if field.startswith("targets."):
        return {".".join(field.split(".")[:3]): "target"}
    if field == "targets":
        return {"targets": "none"}
    if field == "name":
        return {"name": "taken" if isinstance(exc, Conflict) else "name"}
    if field in ("calendar_id", "position", "warning_percent"):
        return {field: "invalid"}
    return {"form": "invalid"}


async def _policy_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    policy: SlaPolicy | None,
    *,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    words: ConditionWords | None = None,
) -> Response:
    words = words or await condition_words(
        session, actor, page_language(request), policy.conditions if policy else None
    )
    fields = _policy_fields(words)
    if values is None:
        position = 0
        if policy is None:
            existing = await service.list_policies(session, actor=actor)
            position = max((p.position for p in existing), default=0) + 10
        values = _policy_values(policy, words, position)
    return render(
        request,
        "admin/sla_policy.html",
        status_code=status_code,
        policy=policy,
        values=values,
        errors=errors or {},
        calendars=await service.list_calendars(session, actor=actor),
        priorities=PRIORITIES,
        targets=TARGETS,
        fields=fields,
        all_ops=all_ops(fields),
    )


async def _find_policy(session: AsyncSession, actor: Actor, policy_id: int) -> SlaPolicy | None:
    try:
        return await service.get_policy(session, actor=actor, policy_id=policy_id)
    except OporaError:
        return None


def _schema_errors(exc: ValidationError) -> dict[str, str]:
    errors = validation_errors(exc)
    if "targets" in errors:  # the form's numbers were whole: the service names the rest
        errors.pop("targets")
    return errors


@router.get("/sla/policies/new")
async def new_policy_page(request: Request, session: Session, user: PageUser) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    return await _policy_page(request, session, actor, None)


async def _save_policy(
    request: Request, session: AsyncSession, user: Any, policy_id: int | None
) -> Response:
    """Create (``policy_id`` None) or change a policy from the form; a refusal shows the
    form again with the input kept."""
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    form = await request.form()
    words = await condition_words(session, actor, page_language(request))
    data = _policy_form(form, words)
    errors = dict(data.errors)
    try:
        schema = (PolicyCreate if policy_id is None else PolicyUpdate)(**data.args)
    except ValidationError as exc:
        errors = {**_schema_errors(exc), **errors}
    if not errors:

        async def call() -> None:
            if policy_id is None:
                assert isinstance(schema, PolicyCreate)
                await service.create_policy(session, actor=actor, data=schema)
            else:
                assert isinstance(schema, PolicyUpdate)
                await service.update_policy(session, actor=actor, policy_id=policy_id, data=schema)

        error = await attempt(session, call)
        if error is None:
            outcome = "policy-created" if policy_id is None else "policy-saved"
            return see_other(f"/admin/sla?saved={outcome}")
        if error.status_code == 404 and policy_id is not None:
            return not_found(request)
        errors = _policy_errors(error)
    policy = None
    if policy_id is not None:
        policy = await _find_policy(session, actor, policy_id)
        if policy is None:
            return not_found(request)
    return await _policy_page(
        request, session, actor, policy, status_code=400, values=data.values, errors=errors,
        words=words,
    )  # fmt: skip


@router.post("/sla/policies/new")
async def create_policy(request: Request, session: Session, user: PageUser) -> Response:
    return await _save_policy(request, session, user, None)


@router.get("/sla/policies/{policy_id}")
async def policy_page(
    request: Request, session: Session, user: PageUser, policy_id: int
) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    policy = await _find_policy(session, actor, policy_id)
    if policy is None:
        return not_found(request)
    return await _policy_page(request, session, actor, policy)


@router.post("/sla/policies/{policy_id}")
async def update_policy(
    request: Request, session: Session, user: PageUser, policy_id: int
) -> Response:
    return await _save_policy(request, session, user, policy_id)


@router.get("/sla/policies/{policy_id}/delete")
async def confirm_delete_policy(
    request: Request, session: Session, user: PageUser, policy_id: int
) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    policy = await _find_policy(session, actor, policy_id)
    if policy is None:
        return not_found(request)
    return render(
        request, "admin/sla_delete.html", kind="policy", thing=policy, in_use=None, refused=None
    )


@router.post("/sla/policies/{policy_id}/delete")
async def delete_policy(
    request: Request, session: Session, user: PageUser, policy_id: int
) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)

    async def call() -> None:
        await service.delete_policy(session, actor=actor, policy_id=policy_id)

    if await attempt(session, call) is not None:
        return not_found(request)
    return see_other("/admin/sla?saved=policy-deleted")
