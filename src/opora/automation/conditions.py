"""The condition language of automation (triggers, time rules, SLA policies): validation
and evaluation against a ticket snapshot. Pure: no I/O.

A rule's conditions are ``{"all": [...], "any": [...]}``: every condition of ``all`` and
at least one of ``any`` must hold (an empty ``any`` counts as true). A bare list means
``all``. A condition is ``{"field", "op", "value"}``; ``op`` defaults to ``is``.

| field | ops | value |
|---|---|---|
| status, priority, type, channel | *enum ops* | a choice; in, not_in: a list of them |
| group_id, assignee_id, organization_id | *enum ops* | an id or null (unset); in, not_in: ids |
| requester_id | *enum ops* | a contact id; in, not_in: a list of ids |
| line | is, is_not, gte, lte, changed, changed_to | 1-4 |
| tags | contains, not_contains | a tag (normalized like ticket tags) |
| tags | contains_any, contains_none | a list of tags |
| organization.vip, within_business_hours | is | true or false |
| event | is, in | one of *events* (time rules have no event) |
| message.visibility | is | public, internal |
| message.author | is | customer, agent, system |
| subject, message.text, text | contains, not_contains | text (any case, ё = е) |
| subject, message.text, text | matches_any_word | a list of words or phrases |
| custom_fields.<key> | is, is_not | text (any case), a number, or true/false |
| custom_fields.<key> | present, absent | true |
| custom_fields.<key> | contains | text: in a text field, or a multi-select's option |
| custom_fields.<key> | gt, lt | a number or a date (YYYY-MM-DD) |
| requester.email_domain | is, in | a domain, lower-cased (in: a list of them) |
| requester.language | is | a language code; ``ru`` also matches ``ru-RU`` |
| *hours fields* | gte, lte | a number of hours, 0-100000 |
| sla.breached, sla.warning | contains | first_response, next_response, resolution |

*enum ops*: is, is_not, in, not_in, changed, changed_to, changed_from.
*events*: ticket.created, ticket.updated, message.created, sla.warning, sla.breached.
*hours fields* (precomputed in the snapshot, for time rules and triggers):
hours_since_created, hours_since_updated, hours_since_status_change,
business_hours_since_status_change, business_hours_since_created (e.g. "line 1 has held
the ticket longer than N business hours"), hours_since_assigned.

``changed`` takes true; ``changed_to``/``changed_from`` take a value like ``is``.
``matches_any_word`` matches whole words (Latin and Cyrillic alike; ``word*`` matches a
prefix, so ``оплат*`` finds "оплата" and "оплатить"); ``custom_fields.<key>`` keys are
``[a-z][a-z0-9_]{0,63}``. Where a number or an id is expected, its text is accepted
("5" becomes 5). Lists of values (``in``, ``contains_any``) are deduplicated and sorted.

The snapshot (``automation/snapshot.py`` builds it) is a mapping keyed by the field
names above, plus ``changes`` (``{field: [old, new]}``, on ticket updates). ``tags`` and
``sla.breached``/``sla.warning`` are collections of names. A custom field is read from
``custom_fields.<key>``, else from a ``custom_fields`` mapping; ``text`` from ``text``,
else from ``subject`` and ``message.text``. ``message.author`` is customer/agent/system
(a contact, a user, the system).

Evaluation never raises. A missing key, or a value of an unexpected type, makes a
condition false, except for the negative ops ``is_not``, ``not_in``, ``not_contains``,
``contains_none`` and ``absent``, which are the negation of their positive op and so true
then. ``is null`` needs the key present with None. Problems in a definition are
``RuleError``s naming their path, e.g. ``conditions.all.2.value``.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from opora.tickets.models import Channel, Priority, TicketStatus, TicketType
from opora.tickets.rules import MAX_LINE

MAX_CONDITIONS = 30  # in each of all and any
MAX_LIST_VALUES = 100
MAX_TEXT = 1000
MAX_WORD = 100
MAX_HOURS = 100_000
MAX_ID = 2**63 - 1

EVENTS = ("ticket.created", "ticket.updated", "message.created", "sla.warning", "sla.breached")
SLA_TARGETS = ("first_response", "next_response", "resolution")
CUSTOM_PREFIX = "custom_fields."
CUSTOM_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
CUSTOM_ANY = "custom_fields.*"  # in ``allowed_fields``: every custom field

_CHANGE_OPS = ("changed", "changed_to", "changed_from")
_ENUM_OPS = ("is", "is_not", "in", "not_in", *_CHANGE_OPS)
_TEXT_OPS = ("contains", "not_contains", "matches_any_word")
_HOURS = (
    "hours_since_created",
    "hours_since_updated",
    "hours_since_status_change",
    "business_hours_since_status_change",
    "business_hours_since_created",
    "hours_since_assigned",
)
_CHOICES: dict[str, tuple[str, ...]] = {
    "status": tuple(TicketStatus),
    "priority": tuple(Priority),
    "type": tuple(TicketType),
    "channel": tuple(Channel),
    "event": EVENTS,
    "message.visibility": ("public", "internal"),
    "message.author": ("customer", "agent", "system"),
}
_ID_NAMES = {
    "group_id": "a group id",
    "assignee_id": "a user id",
    "organization_id": "an organization id",
    "requester_id": "a contact id",
}
_NULLABLE = frozenset({"group_id", "assignee_id", "organization_id"})
_FLAGS = frozenset({"organization.vip", "within_business_hours"})
_TEXTS = frozenset({"subject", "message.text", "text"})
_OPS: dict[str, tuple[str, ...]] = {
    **{name: _ENUM_OPS for name in ("status", "priority", "type", "channel")},
    **{name: _ENUM_OPS for name in _ID_NAMES},
    "line": ("is", "is_not", "gte", "lte", "changed", "changed_to"),
    "tags": ("contains", "not_contains", "contains_any", "contains_none"),
    "organization.vip": ("is",),
    "within_business_hours": ("is",),
    "event": ("is", "in"),
    "message.visibility": ("is",),
    "message.author": ("is",),
    "subject": _TEXT_OPS,
    "message.text": _TEXT_OPS,
    "text": _TEXT_OPS,
    "requester.email_domain": ("is", "in"),
    "requester.language": ("is",),
    **{name: ("gte", "lte") for name in _HOURS},
    "sla.breached": ("contains",),
    "sla.warning": ("contains",),
}
CUSTOM_OPS = ("is", "is_not", "present", "absent", "contains", "gt", "lt")
FIELDS: tuple[str, ...] = (*_OPS, "custom_fields.<key>")
# a negative op holds exactly when its positive op does not
_NEGATION = {
    "is_not": "is",
    "not_in": "in",
    "not_contains": "contains",
    "contains_none": "contains_any",
    "absent": "present",
}
_NO_VALUE_OPS = frozenset({"changed", "present", "absent"})  # take true, or no value

_MISSING: Any = object()
_SPACES = re.compile(r"\s+")
_WORD_CHAR = re.compile(r"\w")
_DIGITS = re.compile(r"[+]?\d{1,19}")
_DOMAIN = re.compile(r"(?=.{1,253}$)(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W_][\w-]{0,62}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?")
_SEQUENCES = (list, tuple, set, frozenset)

Test = Callable[[Mapping[str, Any]], bool]


class RuleError(ValueError):
    """A rule definition is not valid; ``path`` names the input at fault."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class Condition:
    """One validated condition; its test is compiled once, when it is made."""

    field: str
    op: str
    value: Any
    _test: Test = dataclasses.field(init=False, repr=False, compare=False)
    _negated: bool = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        positive = _NEGATION.get(self.op, self.op)
        object.__setattr__(self, "_test", _compile(self.field, positive, self.value))
        object.__setattr__(self, "_negated", positive != self.op)

    def holds(self, snapshot: Mapping[str, Any]) -> bool:
        try:
            return bool(self._test(snapshot)) is not self._negated
        except (TypeError, ValueError, AttributeError):  # an odd value: as if missing
            return self._negated


@dataclass(frozen=True, slots=True)
class Conditions:
    """All of ``all`` and at least one of ``any`` (an empty ``any`` counts as true)."""

    all: tuple[Condition, ...] = ()
    any: tuple[Condition, ...] = ()


# ── parsing ──


def parse_conditions(
    spec: Any, *, path: str = "conditions", allowed_fields: Collection[str] | None = None
) -> Conditions:
    """Validate and normalize conditions from JSON: ``{"all": [...], "any": [...]}`` or a
    bare list (``all``; its items' paths are then ``conditions.0``...). None is no
    conditions. ``allowed_fields`` narrows the fields; ``custom_fields.*`` in it allows
    every custom field. Raises ``RuleError`` naming the path at fault."""
    allowed = None if allowed_fields is None else frozenset(allowed_fields)
    if spec is None:
        return Conditions()
    if isinstance(spec, list):
        return Conditions(all=_parse_list(spec, path, allowed))
    if not isinstance(spec, Mapping):
        raise RuleError(path, 'conditions must be an object {"all": [...], "any": [...]}')
    extra = sorted(str(key) for key in spec if key not in ("all", "any"))
    if extra:
        raise RuleError(f"{path}.{extra[0]}", "conditions have only all and any")
    groups: dict[str, tuple[Condition, ...]] = {}
    for name in ("all", "any"):
        raw = spec.get(name)
        if raw is None:
            groups[name] = ()
        elif not isinstance(raw, list):
            raise RuleError(f"{path}.{name}", f"{name} must be a list of conditions")
        else:
            groups[name] = _parse_list(raw, f"{path}.{name}", allowed)
    return Conditions(all=groups["all"], any=groups["any"])


def _parse_list(raw: list[Any], path: str, allowed: frozenset[str] | None) -> tuple[Condition, ...]:
    if len(raw) > MAX_CONDITIONS:
        raise RuleError(path, f"at most {MAX_CONDITIONS} conditions")
    return tuple(_parse_one(item, f"{path}.{i}", allowed) for i, item in enumerate(raw))


def _parse_one(raw: Any, at: str, allowed: frozenset[str] | None) -> Condition:
    if not isinstance(raw, Mapping):
        raise RuleError(at, "a condition is an object {field, op, value}")
    extra = sorted(str(key) for key in raw if key not in ("field", "op", "value"))
    if extra:
        raise RuleError(f"{at}.{extra[0]}", "a condition has only field, op, value")
    field, ops = _field_ops(raw.get("field"), f"{at}.field")
    if allowed is not None and not _is_allowed(field, allowed):
        raise RuleError(
            f"{at}.field", f"{field} cannot be used here; allowed: {', '.join(sorted(allowed))}"
        )
    op = raw.get("op", "is")
    if not isinstance(op, str) or op not in ops:
        raise RuleError(f"{at}.op", f"{field} takes the ops: {', '.join(ops)}")
    value_at = f"{at}.value"
    if op in _NO_VALUE_OPS:
        if raw.get("value", True) is not True:
            raise RuleError(value_at, f"{op} takes true (or no value)")
        return Condition(field, op, True)
    if "value" not in raw:
        raise RuleError(value_at, f"a value is required for {field} {op}")
    return Condition(field, op, _check_value(field, op, raw["value"], value_at))


def _field_ops(field: Any, at: str) -> tuple[str, tuple[str, ...]]:
    if isinstance(field, str) and field in _OPS:
        return field, _OPS[field]
    if isinstance(field, str) and field.startswith(CUSTOM_PREFIX):
        if CUSTOM_KEY.fullmatch(field.removeprefix(CUSTOM_PREFIX)) is None:
            raise RuleError(at, "a custom field key is a-z, 0-9 and _, starting with a letter")
        return field, CUSTOM_OPS
    raise RuleError(at, f"field must be one of: {', '.join(FIELDS)}")


def ops_for(field: str) -> tuple[str, ...]:
    """The ops ``field`` takes (for a rule editor's form); () for an unknown field."""
    try:
        return _field_ops(field, "field")[1]
    except RuleError:
        return ()


def _is_allowed(field: str, allowed: frozenset[str]) -> bool:
    return field in allowed or (field.startswith(CUSTOM_PREFIX) and CUSTOM_ANY in allowed)


def _check_value(field: str, op: str, value: Any, at: str) -> Any:
    """The normalized value of one condition (lists become sorted tuples)."""
    many = op in ("in", "not_in", "contains_any", "contains_none")
    if field.startswith(CUSTOM_PREFIX):
        return _custom_value(field, op, value, at)
    if field in _TEXTS:
        if op == "matches_any_word":
            return _words(value, at, f"{field} {op}")
        return _text(value, at, f"{field} {op}")
    if many:
        items = _items(value, at, f"{field} {op}")
        checked = [_check_one(field, op, item, f"{at}.{i}") for i, item in enumerate(items)]
        return tuple(sorted(set(checked)))
    return _check_one(field, op, value, at)


def _check_one(field: str, op: str, value: Any, at: str) -> Any:
    if field in _CHOICES:
        choices = _CHOICES[field]
        if not isinstance(value, str) or value not in choices:
            raise RuleError(at, f"{field} must be one of: {', '.join(choices)}")
        return value
    if field in _ID_NAMES:
        if value is None and field in _NULLABLE and op not in ("in", "not_in"):
            return None
        number = _as_int(value)
        if number is None or not 0 < number <= MAX_ID:
            unset = " or null (unset)" if field in _NULLABLE and op not in ("in", "not_in") else ""
            raise RuleError(at, f"{field} must be {_ID_NAMES[field]}{unset}")
        return number
    if field == "line":
        number = _as_int(value)
        if number is None or not 1 <= number <= MAX_LINE:
            raise RuleError(at, f"line must be a number from 1 to {MAX_LINE}")
        return number
    if field == "tags":
        return _tag(value, at)
    if field in _FLAGS:
        flag = _as_bool(value)
        if flag is None:
            raise RuleError(at, f"{field} takes true or false")
        return flag
    if field == "requester.email_domain":
        domain = value.strip().lower().lstrip("@") if isinstance(value, str) else ""
        if _DOMAIN.fullmatch(domain) is None:
            raise RuleError(at, "an email domain is like example.com")
        return domain
    if field == "requester.language":
        code = value.strip().lower().replace("_", "-") if isinstance(value, str) else ""
        if _LANGUAGE.fullmatch(code) is None:
            raise RuleError(at, "a language is a code like en, ru or pt-br")
        return code
    if field in _HOURS:
        hours = _as_number(value)
        if hours is None or not 0 <= hours <= MAX_HOURS:
            raise RuleError(at, f"{field} must be a number of hours from 0 to {MAX_HOURS}")
        return hours
    # sla.breached, sla.warning
    if not isinstance(value, str) or value not in SLA_TARGETS:
        raise RuleError(at, f"{field} must be one of: {', '.join(SLA_TARGETS)}")
    return value


def _custom_value(field: str, op: str, value: Any, at: str) -> Any:
    if op in ("gt", "lt"):
        number = _as_number(value)
        if number is not None:
            return number
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip()).isoformat()
            except ValueError:
                pass
        raise RuleError(at, f"{field} {op} takes a number or a date (YYYY-MM-DD)")
    if op == "contains":
        return _text(value, at, f"{field} {op}")
    # is, is_not
    if isinstance(value, bool):
        return value
    number = _as_number(value) if not isinstance(value, str) else None
    if number is not None:
        return number
    if isinstance(value, str) and value.strip() and len(value) <= MAX_TEXT:
        return value.strip()
    raise RuleError(
        at, f"{field} {op} takes text of 1 to {MAX_TEXT} characters, a number or true/false"
    )


def _items(value: Any, at: str, what: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise RuleError(at, f"{what} takes a non-empty list")
    if len(value) > MAX_LIST_VALUES:
        raise RuleError(at, f"{what} takes at most {MAX_LIST_VALUES} values")
    return value


def _tag(value: Any, at: str) -> str:
    tag = _SPACES.sub("-", value.strip().lower()) if isinstance(value, str) else ""
    if not tag or len(tag) > 100:
        raise RuleError(at, "a tag is a name of 1 to 100 characters")
    return tag


def _text(value: Any, at: str, what: str) -> str:
    text = _SPACES.sub(" ", value.strip()) if isinstance(value, str) else ""
    if not text or len(text) > MAX_TEXT:
        raise RuleError(at, f"{what} takes text of 1 to {MAX_TEXT} characters")
    return text


def _words(value: Any, at: str, what: str) -> tuple[str, ...]:
    words: dict[str, str] = {}  # folded -> as written, in the order given
    for i, item in enumerate(_items(value, at, what)):
        word = _SPACES.sub(" ", item.strip()) if isinstance(item, str) else ""
        core = word.removesuffix("*")
        if not _WORD_CHAR.search(core) or len(word) > MAX_WORD or "*" in core:
            raise RuleError(
                f"{at}.{i}",
                f"a word has 1 to {MAX_WORD} characters with a letter or a digit; "
                "a final * matches a prefix",
            )
        words.setdefault(_fold(word), word)
    return tuple(words.values())


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value)
    return None


def _as_number(value: Any) -> int | float | None:
    """A finite number, from a number or its text ("5" is 5, "2.5" is 2.5)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if _DIGITS.fullmatch(text):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


# ── the other way, and what a rule reads ──


def conditions_to_spec(c: Conditions) -> dict[str, Any]:
    """The JSON form of parsed conditions (parses back to equal conditions)."""
    return {"all": [_to_spec(cond) for cond in c.all], "any": [_to_spec(cond) for cond in c.any]}


def _to_spec(cond: Condition) -> dict[str, Any]:
    value = list(cond.value) if isinstance(cond.value, tuple) else cond.value
    return {"field": cond.field, "op": cond.op, "value": value}


def referenced_fields(c: Conditions) -> frozenset[str]:
    """The snapshot keys the conditions may read: the fields' names, ``changes`` for the
    changed ops (instead of the field), ``custom_fields`` too for custom fields, and
    subject and message.text too for text."""
    keys: set[str] = set()
    for cond in (*c.all, *c.any):
        if cond.op in _CHANGE_OPS:
            keys.add("changes")
            continue
        keys.add(cond.field)
        if cond.field.startswith(CUSTOM_PREFIX):
            keys.add("custom_fields")
        elif cond.field == "text":
            keys.update(("subject", "message.text"))
    return frozenset(keys)


# ── evaluation ──


def evaluate(c: Conditions, snapshot: Mapping[str, Any]) -> bool:
    """Whether the snapshot meets the conditions. Never raises."""
    for cond in c.all:
        if not cond.holds(snapshot):
            return False
    if not c.any:
        return True
    return any(cond.holds(snapshot) for cond in c.any)


def _fold(text: str) -> str:
    return _SPACES.sub(" ", text.strip()).casefold().replace("ё", "е")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _pattern(text: str) -> str:
    """A regex for ``text``: any case, ё = е, any run of spaces between words."""
    parts = []
    for word in text.split():
        parts.append("".join("[её]" if ch in "еёЕЁ" else re.escape(ch) for ch in word))
    return r"\s+".join(parts)


def _word_pattern(word: str) -> str:
    prefix = word.endswith("*")
    core = word.removesuffix("*")
    left = r"(?<!\w)" if _WORD_CHAR.match(core[0]) else ""
    right = r"(?!\w)" if not prefix and _WORD_CHAR.match(core[-1]) else ""
    return f"{left}{_pattern(core)}{right}"


def _compile(field: str, op: str, value: Any) -> Test:
    """The test of a positive op (a negative op negates its positive's test)."""
    if op in _CHANGE_OPS:
        return _change_test(field, op, value)
    if field.startswith(CUSTOM_PREFIX):
        return _custom_test(field.removeprefix(CUSTOM_PREFIX), op, value)
    if field in _TEXTS:
        if op == "matches_any_word":
            source = "|".join(_word_pattern(word) for word in value)
        else:
            source = _pattern(value)
        return _text_test(field, re.compile(source, re.IGNORECASE))
    if op == "in":
        if field == "requester.email_domain":
            domains = frozenset(value)
            return lambda s: _domain(s.get(field)) in domains
        wanted = frozenset(value)
        if field in _ID_NAMES:
            return lambda s: _is_id(x := s.get(field)) and x in wanted
        return lambda s: isinstance(x := s.get(field), str) and x in wanted
    if op == "is":
        return _is_test(field, value)
    if op in ("gte", "lte"):
        limit = value
        if op == "gte":
            return lambda s: _is_number(x := s.get(field)) and x >= limit
        return lambda s: _is_number(x := s.get(field)) and x <= limit
    if op == "contains":  # tags, sla.breached, sla.warning
        return lambda s: isinstance(x := s.get(field), _SEQUENCES) and value in x
    if op == "contains_any":
        tags = frozenset(value)
        return lambda s: isinstance(x := s.get(field), _SEQUENCES) and not tags.isdisjoint(x)
    raise ValueError(f"no test for {field} {op}")  # parse_conditions never lets it here


def _is_test(field: str, value: Any) -> Test:
    if field in _CHOICES:
        return lambda s: s.get(field) == value
    if field in _ID_NAMES or field == "line":
        if value is None:
            return lambda s: s.get(field, _MISSING) is None
        return lambda s: _is_id(x := s.get(field)) and x == value
    if field in _FLAGS:
        return lambda s: s.get(field) is value
    if field == "requester.email_domain":
        return lambda s: _domain(s.get(field)) == value
    if field == "requester.language":
        prefix = f"{value}-"
        return lambda s: _language(s.get(field), value, prefix)
    raise ValueError(f"no test for {field} is")


def _domain(value: Any) -> str | None:
    return value.strip().lower().lstrip("@") if isinstance(value, str) else None


def _language(value: Any, code: str, prefix: str) -> bool:
    if not isinstance(value, str):
        return False
    lang = value.strip().lower().replace("_", "-")
    return lang == code or lang.startswith(prefix)


def _text_test(field: str, rx: re.Pattern[str]) -> Test:
    if field != "text":
        return lambda s: isinstance(x := s.get(field), str) and rx.search(x) is not None

    def test(s: Mapping[str, Any]) -> bool:
        text = s.get("text")
        if isinstance(text, str):  # precomputed by the snapshot
            return rx.search(text) is not None
        for key in ("subject", "message.text"):
            x = s.get(key)
            if isinstance(x, str) and rx.search(x) is not None:
                return True
        return False

    return test


def _same(actual: Any, expected: Any) -> bool:
    """Equality that keeps true apart from 1 and a missing value apart from None."""
    if expected is None or isinstance(expected, bool):
        return actual is expected
    if isinstance(expected, str):
        return isinstance(actual, str) and actual == expected
    return _is_number(actual) and actual == expected


def _change_test(field: str, op: str, value: Any) -> Test:
    def pair(s: Mapping[str, Any]) -> tuple[Any, Any] | None:
        changes = s.get("changes")
        if not isinstance(changes, Mapping):
            return None
        change = changes.get(field)
        if isinstance(change, list | tuple) and len(change) == 2:
            return change[0], change[1]
        return None

    if op == "changed":
        return lambda s: (p := pair(s)) is not None and p[0] != p[1]
    if op == "changed_to":
        return lambda s: (
            (p := pair(s)) is not None and _same(p[1], value) and not _same(p[0], value)
        )
    return lambda s: (p := pair(s)) is not None and _same(p[0], value) and not _same(p[1], value)


def _custom(s: Mapping[str, Any], flat: str, key: str) -> Any:
    """A custom field's value: the flat key ``custom_fields.<key>``, else the ``key`` of a
    ``custom_fields`` mapping."""
    value = s.get(flat, _MISSING)
    if value is not _MISSING:
        return value
    fields = s.get("custom_fields")
    return fields.get(key, _MISSING) if isinstance(fields, Mapping) else _MISSING


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _custom_test(key: str, op: str, value: Any) -> Test:
    flat = CUSTOM_PREFIX + key
    if op == "present":
        return lambda s: _custom(s, flat, key) not in (_MISSING, None, "", [], {})
    if op == "contains":
        rx = re.compile(_pattern(value), re.IGNORECASE)
        folded = _fold(value)

        def contains(s: Mapping[str, Any]) -> bool:
            x = _custom(s, flat, key)
            if isinstance(x, str):
                return rx.search(x) is not None
            if isinstance(x, list | tuple):
                return any(isinstance(item, str) and _fold(item) == folded for item in x)
            return False

        return contains
    if op in ("gt", "lt"):
        compare = operator.gt if op == "gt" else operator.lt
        if isinstance(value, str):
            limit = date.fromisoformat(value)
            return lambda s: (
                (d := _as_date(_custom(s, flat, key))) is not None and compare(d, limit)
            )
        return lambda s: _is_number(x := _custom(s, flat, key)) and compare(x, value)
    # is
    if isinstance(value, str):
        folded = _fold(value)
        number = _as_number(value)

        def is_text(s: Mapping[str, Any]) -> bool:
            x = _custom(s, flat, key)
            if isinstance(x, str):
                return _fold(x) == folded
            return number is not None and _is_number(x) and x == number

        return is_text
    return lambda s: _same(_custom(s, flat, key), value)
