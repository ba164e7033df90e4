"""Pure decisions about views: the condition language, the built-in views, and how a
view's conditions become ticket filters for one agent. No I/O.

A view's ``conditions`` is a list of ``{"field", "op", "value"}``; every one must hold.

| field | ops | value |
|---|---|---|
| status, priority, type, channel | eq, in | a choice (``in``: a non-empty list of them) |
| group_id | eq, in | a group id (``in``: a non-empty list of ids) |
| line | eq, gte | 1-4; ``gte`` also takes ``"my_line"``: the highest line of the agent's groups |
| assignee_id | eq, is_null | a user id, ``"me"``, or null (unassigned); ``is_null`` takes true |
| tag | eq | a tag name (normalized like ticket tags) |
| requester_id, organization_id | eq | an id |
| my_groups | eq | true: the ticket's group is one of the agent's groups |
| escalated | eq | true: the ticket was escalated (``escalated_at`` is set) |
| updated_within_days, solved_within_days | eq | 1-3650 |

A field appears at most once. Problems are reported with their path, e.g.
``conditions.0.field``, so a form can mark the input at fault.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from opora.tickets.models import OPEN_STATUSES, Channel, Priority, TicketStatus, TicketType
from opora.tickets.repository import SORTS, TicketFilters

COLUMNS = (
    "number",
    "subject",
    "requester",
    "status",
    "priority",
    "group",
    "line",
    "assignee",
    "updated_at",
    "due_at",
)
DEFAULT_COLUMNS = ("number", "subject", "requester", "status", "priority", "group", "assignee",
                   "updated_at")  # fmt: skip
DEFAULT_SORT = "-updated_at"
MAX_CONDITIONS = 30
MAX_IN_VALUES = 100
MAX_DAYS = 3650
ME = "me"
MY_LINE = "my_line"

_CHOICES: dict[str, frozenset[str]] = {
    "status": frozenset(TicketStatus),
    "priority": frozenset(Priority),
    "type": frozenset(TicketType),
    "channel": frozenset(Channel),
}
_OPS: dict[str, frozenset[str]] = {
    **{name: frozenset({"eq", "in"}) for name in _CHOICES},
    "group_id": frozenset({"eq", "in"}),
    "line": frozenset({"eq", "gte"}),
    "assignee_id": frozenset({"eq", "is_null"}),
    "tag": frozenset({"eq"}),
    "requester_id": frozenset({"eq"}),
    "organization_id": frozenset({"eq"}),
    "my_groups": frozenset({"eq"}),
    "escalated": frozenset({"eq"}),
    "updated_within_days": frozenset({"eq"}),
    "solved_within_days": frozenset({"eq"}),
}
FIELDS = tuple(_OPS)
_TAG_SPACE = re.compile(r"\s+")


class ViewRuleError(ValueError):
    """A view definition is not valid; ``path`` names the input at fault."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_value(field: str, op: str, value: Any, path: str) -> Any:
    """The normalized value of one condition, or a ``ViewRuleError``."""
    if field in _CHOICES:
        allowed = _CHOICES[field]
        values = value if op == "in" else [value]
        if op == "in" and (not isinstance(value, list) or not value):
            raise ViewRuleError(path, f"{field} in needs a non-empty list")
        if op == "in" and len(value) > MAX_IN_VALUES:
            raise ViewRuleError(path, f"{field} in takes at most {MAX_IN_VALUES} values")
        for v in values:
            if not isinstance(v, str) or v not in allowed:
                raise ViewRuleError(path, f"{field} must be one of: {', '.join(sorted(allowed))}")
        return sorted(set(values)) if op == "in" else value
    if field == "group_id":
        if op == "in":
            if not isinstance(value, list) or not value or len(value) > MAX_IN_VALUES:
                raise ViewRuleError(path, f"group_id in needs 1 to {MAX_IN_VALUES} group ids")
            if not all(_is_id(v) for v in value):
                raise ViewRuleError(path, "group_id in takes group ids")
            return sorted(set(value))
        if not _is_id(value):
            raise ViewRuleError(path, "group_id must be a group id")
        return value
    if field == "line":
        if op == "gte" and value == MY_LINE:
            return value
        if not _is_id(value) or value > 4:
            hint = ' or "my_line"' if op == "gte" else ""
            raise ViewRuleError(path, f"line must be 1, 2, 3 or 4{hint}")
        return value
    if field == "assignee_id":
        if op == "is_null":
            if value not in (None, True):
                raise ViewRuleError(path, "assignee_id is_null takes true (or no value)")
            return True
        if value is None or value == ME or _is_id(value):
            return value
        raise ViewRuleError(path, 'assignee_id must be a user id, "me" or null (unassigned)')
    if field == "tag":
        tag = _TAG_SPACE.sub("-", value.strip().lower()) if isinstance(value, str) else ""
        if not tag or len(tag) > 100:
            raise ViewRuleError(path, "tag must be a tag name of 1 to 100 characters")
        return tag
    if field in ("requester_id", "organization_id"):
        if not _is_id(value):
            raise ViewRuleError(path, f"{field} must be an id")
        return value
    if field in ("my_groups", "escalated"):
        if value is not True:
            raise ViewRuleError(path, f"{field} takes true")
        return True
    # updated_within_days, solved_within_days
    if not _is_id(value) or value > MAX_DAYS:
        raise ViewRuleError(path, f"{field} must be a number of days from 1 to {MAX_DAYS}")
    return value


def validate_conditions(raw: Any) -> list[dict[str, Any]]:
    """Check a list of conditions and return it normalized (``op`` filled in, values
    deduplicated, tags normalized). Raises ``ViewRuleError`` naming the path at fault."""
    if not isinstance(raw, list):
        raise ViewRuleError("conditions", "conditions must be a list")
    if len(raw) > MAX_CONDITIONS:
        raise ViewRuleError("conditions", f"a view has at most {MAX_CONDITIONS} conditions")
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, cond in enumerate(raw):
        at = f"conditions.{i}"
        if not isinstance(cond, dict):
            raise ViewRuleError(at, "a condition is an object {field, op, value}")
        extra = set(cond) - {"field", "op", "value"}
        if extra:
            raise ViewRuleError(f"{at}.{sorted(extra)[0]}", "a condition has only field, op, value")
        field = cond.get("field")
        if not isinstance(field, str) or field not in _OPS:
            raise ViewRuleError(f"{at}.field", f"field must be one of: {', '.join(FIELDS)}")
        if field in seen:
            raise ViewRuleError(f"{at}.field", f"{field} appears in more than one condition")
        seen.add(field)
        op = cond.get("op", "eq")
        if op not in _OPS[field]:
            raise ViewRuleError(
                f"{at}.op", f"{field} takes the ops: {', '.join(sorted(_OPS[field]))}"
            )
        value = _check_value(field, op, cond.get("value"), f"{at}.value")
        result.append({"field": field, "op": op, "value": value})
    return result


def validate_columns(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not raw:
        raise ViewRuleError("columns", "columns must be a non-empty list")
    seen: set[str] = set()
    for i, column in enumerate(raw):
        if not isinstance(column, str) or column not in COLUMNS:
            raise ViewRuleError(f"columns.{i}", f"a column is one of: {', '.join(COLUMNS)}")
        if column in seen:
            raise ViewRuleError(f"columns.{i}", f"column {column} appears twice")
        seen.add(column)
    return list(raw)


def validate_sort(raw: Any) -> str:
    if not isinstance(raw, str) or raw not in SORTS:
        raise ViewRuleError("sort", f"sort must be one of: {', '.join(SORTS)}")
    return raw


@dataclass(frozen=True, slots=True)
class Scope:
    """What "me", "my groups" and "my line" mean for the agent looking at a view."""

    user_id: int | None
    group_ids: frozenset[int]
    line: int | None  # the highest line of the agent's groups; None without groups
    now: datetime


def to_filters(conditions: list[dict[str, Any]], scope: Scope) -> TicketFilters | None:
    """Ticket filters for validated conditions, or None when the view cannot match
    anything for this agent (e.g. "my line" for an agent in no group)."""
    f = TicketFilters()
    groups: set[int] | None = None
    for cond in conditions:
        field, op, value = cond["field"], cond["op"], cond["value"]
        if field in _CHOICES:
            chosen: dict[str, Any] = {field: tuple(value) if op == "in" else (value,)}
            f = dataclasses.replace(f, **chosen)
        elif field == "group_id":
            wanted = set(value) if op == "in" else {value}
            groups = wanted if groups is None else groups & wanted
        elif field == "my_groups":
            groups = set(scope.group_ids) if groups is None else groups & scope.group_ids
        elif field == "line":
            if op == "eq":
                f = dataclasses.replace(f, line=value)
            else:
                at_least = scope.line if value == MY_LINE else value
                if at_least is None:
                    return None
                f = dataclasses.replace(f, line_at_least=at_least)
        elif field == "assignee_id":
            if op == "is_null" or value is None:
                f = dataclasses.replace(f, unassigned=True)
            elif value == ME:
                if scope.user_id is None:
                    return None
                f = dataclasses.replace(f, assignee_id=scope.user_id)
            else:
                f = dataclasses.replace(f, assignee_id=value)
        elif field == "escalated":
            f = dataclasses.replace(f, escalated=True)
        elif field == "updated_within_days":
            since = scope.now - timedelta(days=value)
            if f.updated_since is None or since > f.updated_since:
                f = dataclasses.replace(f, updated_since=since)
        elif field == "solved_within_days":
            since = scope.now - timedelta(days=value)
            # solving sets updated_at too, so solved_at <= updated_at: the bound on
            # updated_at lets the (status, updated_at) index do the work
            updated = since if f.updated_since is None else max(since, f.updated_since)
            f = dataclasses.replace(f, solved_since=since, updated_since=updated)
        else:  # tag, requester_id, organization_id
            other: dict[str, Any] = {field: value}
            f = dataclasses.replace(f, **other)
    if groups is not None:
        f = dataclasses.replace(f, group_ids=tuple(sorted(groups)))
    return f


@dataclass(frozen=True, slots=True)
class BuiltinView:
    key: str
    name_en: str
    name_ru: str
    conditions: tuple[dict[str, Any], ...]
    columns: tuple[str, ...] = DEFAULT_COLUMNS
    sort: str = DEFAULT_SORT


_OPEN = {"field": "status", "op": "in", "value": sorted(OPEN_STATUSES)}

BUILTIN_VIEWS: tuple[BuiltinView, ...] = (
    BuiltinView("my-open", "My open", "Мои открытые",
                (_OPEN, {"field": "assignee_id", "op": "eq", "value": ME})),
    BuiltinView("unassigned-my-groups", "Unassigned in my groups",
                "Без исполнителя в моих группах",
                (_OPEN, {"field": "my_groups", "op": "eq", "value": True},
                 {"field": "assignee_id", "op": "is_null", "value": True})),
    BuiltinView("my-groups", "My groups", "Мои группы",
                (_OPEN, {"field": "my_groups", "op": "eq", "value": True})),
    BuiltinView("all-open", "All open", "Все открытые", (_OPEN,)),
    BuiltinView("pending", "Pending", "Ждут ответа клиента",
                ({"field": "status", "op": "eq", "value": "pending"},)),
    BuiltinView("on-hold", "On hold", "Отложенные",
                ({"field": "status", "op": "eq", "value": "on_hold"},)),
    BuiltinView("escalated-to-my-line", "Escalated to my line", "Эскалированные на мою линию",
                (_OPEN, {"field": "escalated", "op": "eq", "value": True},
                 {"field": "line", "op": "gte", "value": MY_LINE})),
    BuiltinView("recently-solved", "Recently solved", "Недавно решённые",
                ({"field": "status", "op": "in", "value": ["closed", "solved"]},
                 {"field": "solved_within_days", "op": "eq", "value": 7})),
)  # fmt: skip
BUILTIN_BY_KEY = {view.key: view for view in BUILTIN_VIEWS}


# ── filters on top of a view (the inbox's filter bar) ──

LIST_FILTER_PARAMS = ("status", "priority", "assignee", "group_id", "type", "channel", "tag", "q")
MAX_QUERY = 500
NO_ASSIGNEE = "none"


@dataclass(frozen=True, slots=True)
class ListFilter:
    """What the agent chose in the filter bar; every part narrows the view (AND)."""

    status: str | None = None
    priority: str | None = None
    type: str | None = None
    channel: str | None = None
    assignee: int | str | None = None  # a user id, "me" or "none" (unassigned)
    group_id: int | None = None
    tag: str | None = None
    q: str | None = None  # full-text search, done by the ticket search

    @property
    def active(self) -> bool:
        return any(getattr(self, name) is not None for name in self.__slots__)


def parse_list_filter(params: dict[str, str]) -> tuple[ListFilter, dict[str, str]]:
    """The filter bar's query parameters as a ``ListFilter``, and the problems, if any:
    parameter -> code (``invalid_choice``, ``invalid_assignee``, ``invalid_id``,
    ``invalid_tag``, ``too_long``). A value with a problem is left out of the filter."""
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name in ("status", "priority", "type", "channel"):
        raw = params.get(name, "").strip()
        if raw:
            if raw in _CHOICES[name]:
                values[name] = raw
            else:
                problems[name] = "invalid_choice"
    assignee = params.get("assignee", "").strip()
    if assignee in (ME, NO_ASSIGNEE):
        values["assignee"] = assignee
    elif assignee.isdigit() and int(assignee) > 0 and len(assignee) < 19:
        values["assignee"] = int(assignee)
    elif assignee:
        problems["assignee"] = "invalid_assignee"
    group = params.get("group_id", "").strip()
    if group.isdigit() and int(group) > 0 and len(group) < 19:
        values["group_id"] = int(group)
    elif group:
        problems["group_id"] = "invalid_id"
    tag = params.get("tag", "")
    if tag.strip():
        normalized = _TAG_SPACE.sub("-", tag.strip().lower())
        if len(normalized) <= 100:
            values["tag"] = normalized
        else:
            problems["tag"] = "invalid_tag"
    q = params.get("q", "").strip()
    if len(q) > MAX_QUERY:
        problems["q"] = "too_long"
    elif q:
        values["q"] = q
    return ListFilter(**values), problems


def _narrow_choice(current: tuple[str, ...], chosen: str) -> tuple[str, ...] | None:
    if current and chosen not in current:
        return None
    return (chosen,)


def narrow(f: TicketFilters, chosen: ListFilter, scope: Scope) -> TicketFilters | None:
    """The view's filters narrowed by the filter bar's choices, or None when nothing can
    match both (e.g. the view's status "pending" and the filter's "open")."""
    changes: dict[str, Any] = {}
    for name in ("status", "priority", "type", "channel"):
        value = getattr(chosen, name)
        if value is not None:
            narrowed = _narrow_choice(getattr(f, name), value)
            if narrowed is None:
                return None
            changes[name] = narrowed
    if chosen.assignee == NO_ASSIGNEE:
        if f.assignee_id is not None:
            return None
        changes["unassigned"] = True
    elif chosen.assignee is not None:
        wanted = scope.user_id if chosen.assignee == ME else chosen.assignee
        if wanted is None or f.unassigned or f.assignee_id not in (None, wanted):
            return None
        changes["assignee_id"] = wanted
    if chosen.group_id is not None:
        if f.group_id not in (None, chosen.group_id):
            return None
        changes["group_id"] = chosen.group_id
    if chosen.tag is not None:
        if f.tag is None:
            changes["tag"] = chosen.tag
        elif f.tag != chosen.tag:
            changes["more_tags"] = (*f.more_tags, chosen.tag)
    return dataclasses.replace(f, **changes)
