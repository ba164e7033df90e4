"""The actions of triggers, time rules and macros: validation and normalization. No I/O.

A rule's actions are a list (1 to 30) of ``{"action": kind, ...params}``:

| action | params |
|---|---|
| set_status, set_priority, set_type | status, priority, type: a choice |
| set_group | group_id: a group id |
| assign | user_id: a user id, or null to unassign |
| assign_round_robin, assign_least_loaded | none (routing picks the agent) |
| add_tags, remove_tags | tags: a list of 1 to 50 tags (normalized like ticket tags) |
| set_custom_field | key: ``[a-z][a-z0-9_]{0,63}``; value: text, number, true/false, list, null |
| escalate, deescalate | reason: text of 1 to 1000 characters; group_id: optional (*) |
| add_note | text: 1 to 20,000 characters, placeholders allowed |
| reply | text: as add_note; a public reply (macros only: see ``allowed``) |
| notify_email | to, subject (1-500, one line), body (1-20,000); placeholders allowed |
| webhook | url, method (POST, PUT, PATCH; POST), headers (up to 20), body (optional) |

(*) Without ``group_id`` an escalation goes to the first active group of the next line,
a de-escalation to line 1; with it, to that group (a higher line's, or a lower one's).
``notify_email.to`` is ``requester``, ``assignee``, ``group`` or an email address.
``webhook.url`` is an absolute http(s) URL without placeholders; header names are HTTP
tokens, values hold no CR/LF, and Host, Content-Length, Transfer-Encoding and Connection
are the sender's. The webhook body (a text template, up to 20,000 characters) may hold
placeholders. Unknown keys are refused. Problems are ``RuleError``s naming their path,
e.g. ``actions.3.to``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from opora.automation.conditions import CUSTOM_KEY, RuleError
from opora.automation.placeholders import check_placeholders
from opora.tickets.models import Priority, TicketStatus, TicketType

MAX_ACTIONS = 30
MAX_TAGS = 50
MAX_REASON = 1000
MAX_TEXT = 20_000
MAX_SUBJECT = 500
MAX_URL = 2000
MAX_HEADERS = 20
MAX_HEADER_VALUE = 2000
MAX_FIELD_TEXT = 10_000
MAX_FIELD_ITEMS = 100
MAX_OPTION = 1000
MAX_ID = 2**63 - 1

RECIPIENTS = ("requester", "assignee", "group")
METHODS = ("POST", "PUT", "PATCH")
_RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}")
_DIGITS = re.compile(r"[+]?\d{1,19}")
_SPACES = re.compile(r"\s+")
_URL_BAD = re.compile(r"[\x00-\x20\x7f]")

# kind -> its params; the ones after "?" are optional
_PARAMS: dict[str, tuple[str, ...]] = {
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
    "escalate": ("reason", "?group_id"),
    "deescalate": ("reason", "?group_id"),
    "add_note": ("text",),
    "reply": ("text",),
    "notify_email": ("to", "subject", "body"),
    "webhook": ("url", "?method", "?headers", "?body"),
}
KINDS: tuple[str, ...] = tuple(_PARAMS)
LINE_KINDS = ("escalate", "deescalate")  # move the ticket between lines
_DEFAULTS: dict[tuple[str, str], Any] = {
    ("webhook", "method"): "POST",
    ("webhook", "headers"): MappingProxyType({}),
}


@dataclass(frozen=True, slots=True)
class Action:
    """One validated action; ``params`` is read-only, lists in it are tuples."""

    kind: str
    params: Mapping[str, Any]


def parse_actions(
    spec: Any, *, path: str = "actions", allowed: Collection[str] | None = None
) -> tuple[Action, ...]:
    """Validate and normalize a list of actions from JSON. ``allowed`` narrows the kinds
    (only macros may ``reply``). Raises ``RuleError`` naming the path at fault."""
    if not isinstance(spec, list) or not spec:
        raise RuleError(path, "actions must be a non-empty list")
    if len(spec) > MAX_ACTIONS:
        raise RuleError(path, f"at most {MAX_ACTIONS} actions")
    kinds = None if allowed is None else frozenset(allowed)
    return tuple(_parse_one(raw, f"{path}.{i}", kinds) for i, raw in enumerate(spec))


def actions_to_spec(actions: Sequence[Action]) -> list[dict[str, Any]]:
    """The JSON form of parsed actions (parses back to equal actions)."""
    return [{"action": a.kind, **{k: _to_json(v) for k, v in a.params.items()}} for a in actions]


def _to_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_to_json(item) for item in value]
    if isinstance(value, Mapping):
        return {k: _to_json(v) for k, v in value.items()}
    return value


def _parse_one(raw: Any, at: str, kinds: frozenset[str] | None) -> Action:
    if not isinstance(raw, Mapping):
        raise RuleError(at, 'an action is an object {"action": ..., params}')
    kind = raw.get("action")
    if not isinstance(kind, str) or kind not in _PARAMS:
        raise RuleError(f"{at}.action", f"action must be one of: {', '.join(KINDS)}")
    if kinds is not None and kind not in kinds:
        raise RuleError(
            f"{at}.action", f"{kind} cannot be used here; allowed: {', '.join(sorted(kinds))}"
        )
    names = [name.removeprefix("?") for name in _PARAMS[kind]]
    extra = sorted(str(key) for key in raw if key != "action" and key not in names)
    if extra:
        takes = f"only {', '.join(names)}" if names else "no params"
        raise RuleError(f"{at}.{extra[0]}", f"{kind} takes {takes}")
    params: dict[str, Any] = {}
    for spec_name in _PARAMS[kind]:
        name = spec_name.removeprefix("?")
        if name in raw:
            params[name] = _CHECKS[(kind, name)](raw[name], f"{at}.{name}")
        elif (kind, name) in _DEFAULTS:
            params[name] = _DEFAULTS[(kind, name)]
        elif not spec_name.startswith("?"):
            raise RuleError(f"{at}.{name}", f"{kind} needs {name}")
    return Action(kind, MappingProxyType(params))


# ── param checks: (value, path) -> the normalized value ──


def _choice(name: str, choices: tuple[str, ...]) -> Callable[[Any, str], str]:
    def check(value: Any, at: str) -> str:
        if not isinstance(value, str) or value not in choices:
            raise RuleError(at, f"{name} must be one of: {', '.join(choices)}")
        return value

    return check


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, int) and 0 < value <= MAX_ID:
        return value
    return None


def _group_id(value: Any, at: str) -> int:
    group_id = _as_id(value)
    if group_id is None:
        raise RuleError(at, "group_id must be a group id")
    return group_id


def _user_id(value: Any, at: str) -> int | None:
    if value is None:
        return None
    user_id = _as_id(value)
    if user_id is None:
        raise RuleError(at, "user_id must be a user id, or null to unassign")
    return user_id


def _tags(value: Any, at: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or len(value) > MAX_TAGS:
        raise RuleError(at, f"tags must be a list of 1 to {MAX_TAGS} tags")
    tags: dict[str, None] = {}
    for i, item in enumerate(value):
        tag = _SPACES.sub("-", item.strip().lower()) if isinstance(item, str) else ""
        if not tag or len(tag) > 100:
            raise RuleError(f"{at}.{i}", "a tag is a name of 1 to 100 characters")
        tags[tag] = None
    return tuple(tags)


def _field_key(value: Any, at: str) -> str:
    if not isinstance(value, str) or CUSTOM_KEY.fullmatch(value) is None:
        raise RuleError(at, "a custom field key is a-z, 0-9 and _, starting with a letter")
    return value


def _field_value(value: Any, at: str) -> Any:
    """A custom field's value; its type is checked against the field when it is set."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise RuleError(at, "value must be a finite number")
        return value
    if isinstance(value, str):
        if len(value) > MAX_FIELD_TEXT:
            raise RuleError(at, f"value is longer than {MAX_FIELD_TEXT:,} characters")
        return value
    if isinstance(value, list):
        if len(value) > MAX_FIELD_ITEMS:
            raise RuleError(at, f"value takes at most {MAX_FIELD_ITEMS} options")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item or len(item) > MAX_OPTION:
                raise RuleError(f"{at}.{i}", f"an option is text of 1 to {MAX_OPTION} characters")
        return tuple(value)
    raise RuleError(at, "value must be text, a number, true/false, a list of options or null")


def _text_of(name: str, limit: int, *, placeholders: bool) -> Callable[[Any, str], str]:
    def check(value: Any, at: str) -> str:
        text = value.strip() if isinstance(value, str) else ""
        if not text or len(text) > limit:
            raise RuleError(at, f"{name} must be text of 1 to {limit:,} characters")
        if placeholders:
            check_placeholders(text, path=at)
        return text

    return check


def _recipient(value: Any, at: str) -> str:
    if isinstance(value, str) and value in RECIPIENTS:
        return value
    if isinstance(value, str) and "@" in value and len(value) <= 254:
        try:
            return validate_email(value.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            pass
    raise RuleError(at, f"to must be {', '.join(RECIPIENTS)} or an email address")


def _subject(value: Any, at: str) -> str:
    subject = _text_of("subject", MAX_SUBJECT, placeholders=True)(value, at)
    if "\r" in subject or "\n" in subject:
        raise RuleError(at, "subject must be one line")
    return subject


def _url(value: Any, at: str) -> str:
    url = value.strip() if isinstance(value, str) else ""
    if not url or len(url) > MAX_URL or _URL_BAD.search(url):
        raise RuleError(at, f"url must be an http(s) URL of at most {MAX_URL} characters")
    if "{{" in url:
        raise RuleError(at, "url cannot hold placeholders; put them in the body")
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        scheme, host = "", None
    if scheme not in ("http", "https") or not host:
        raise RuleError(at, "url must start with http:// or https:// and name a host")
    return url


def _method(value: Any, at: str) -> str:
    method = value.strip().upper() if isinstance(value, str) else ""
    if method not in METHODS:
        raise RuleError(at, f"method must be one of: {', '.join(METHODS)}")
    return method


def _headers(value: Any, at: str) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise RuleError(at, "headers must be an object {name: value}")
    if len(value) > MAX_HEADERS:
        raise RuleError(at, f"at most {MAX_HEADERS} headers")
    headers: dict[str, str] = {}
    seen: set[str] = set()
    for name, text in value.items():
        name_at = f"{at}.{name}"
        if not isinstance(name, str) or _HEADER_NAME.fullmatch(name) is None:
            raise RuleError(name_at, "a header name is letters, digits and -")
        if name.lower() in _RESERVED_HEADERS:
            raise RuleError(name_at, f"{name} is set by the sender")
        if name.lower() in seen:
            raise RuleError(name_at, f"{name} appears twice")
        seen.add(name.lower())
        if not isinstance(text, str) or len(text) > MAX_HEADER_VALUE:
            raise RuleError(
                name_at, f"a header value is text of at most {MAX_HEADER_VALUE} characters"
            )
        if any(ch in text for ch in "\r\n\x00"):
            raise RuleError(name_at, "a header value cannot hold line breaks")
        headers[name] = text
    return MappingProxyType(headers)


def _body(value: Any, at: str) -> str | None:
    if value is None:
        return None
    return _text_of("body", MAX_TEXT, placeholders=True)(value, at)


_CHECKS: dict[tuple[str, str], Callable[[Any, str], Any]] = {
    ("set_status", "status"): _choice("status", tuple(TicketStatus)),
    ("set_priority", "priority"): _choice("priority", tuple(Priority)),
    ("set_type", "type"): _choice("type", tuple(TicketType)),
    ("set_group", "group_id"): _group_id,
    ("assign", "user_id"): _user_id,
    ("add_tags", "tags"): _tags,
    ("remove_tags", "tags"): _tags,
    ("set_custom_field", "key"): _field_key,
    ("set_custom_field", "value"): _field_value,
    ("escalate", "reason"): _text_of("reason", MAX_REASON, placeholders=False),
    ("escalate", "group_id"): _group_id,
    ("deescalate", "reason"): _text_of("reason", MAX_REASON, placeholders=False),
    ("deescalate", "group_id"): _group_id,
    ("add_note", "text"): _text_of("text", MAX_TEXT, placeholders=True),
    ("reply", "text"): _text_of("text", MAX_TEXT, placeholders=True),
    ("notify_email", "to"): _recipient,
    ("notify_email", "subject"): _subject,
    ("notify_email", "body"): _text_of("body", MAX_TEXT, placeholders=True),
    ("webhook", "url"): _url,
    ("webhook", "method"): _method,
    ("webhook", "headers"): _headers,
    ("webhook", "body"): _body,
}
