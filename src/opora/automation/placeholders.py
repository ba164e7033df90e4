"""Placeholders in macro, note and notification texts: checking and rendering. No I/O.

A placeholder is a name in double braces, with or without spaces inside:
``{{ticket.number}}`` or ``{{ ticket.number }}``.

| placeholder | renders |
|---|---|
| ticket.number, ticket.subject, ticket.status, ticket.priority | the ticket's field |
| ticket.url | the agent's (or customer's, in mail to them) link to the ticket |
| contact.name, contact.first_name, contact.email | the requester |
| agent.name | the acting agent (the assignee for rules) |
| organization.name, group.name | the ticket's organization and group |
| custom_fields.<key> | a ticket custom field; ``<key>`` is ``[a-z][a-z0-9_]{0,63}`` |

Rendering is a single pass of plain substitution (no Jinja, no expressions): a value
that itself holds ``{{...}}`` is inserted as text, never expanded again. Values go in
as-is; the caller escapes them for HTML or a header.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from opora.automation.conditions import RuleError

PLACEHOLDERS: tuple[str, ...] = (
    "ticket.number",
    "ticket.subject",
    "ticket.status",
    "ticket.priority",
    "ticket.url",
    "contact.name",
    "contact.first_name",
    "contact.email",
    "agent.name",
    "organization.name",
    "group.name",
    "custom_fields.<key>",
)
_KNOWN = frozenset(name for name in PLACEHOLDERS if "<" not in name)
_CUSTOM_FIELD = re.compile(r"custom_fields\.([a-z][a-z0-9_]{0,63})")
# any name-like token, so that an unknown name is reported as unknown, not as malformed
_PLACEHOLDER = re.compile(r"\{\{[ \t]*([A-Za-z0-9_.\-]{1,200})[ \t]*\}\}")
_OPEN = "{{"


def is_known(name: str) -> bool:
    """Whether ``name`` (without braces) is a documented placeholder."""
    return name in _KNOWN or _CUSTOM_FIELD.fullmatch(name) is not None


def check_placeholders(text: str, *, path: str) -> None:
    """Raise ``RuleError`` at ``path`` for the first unknown placeholder or a ``{{``
    that does not open a placeholder; texts without braces pass."""
    if _OPEN not in text:
        return
    covered: list[tuple[int, int]] = []
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1)
        if not is_known(name):
            raise RuleError(
                path,
                f"unknown placeholder {{{{{name}}}}}; known: {', '.join(PLACEHOLDERS)}",
            )
        covered.append(match.span())
    start = text.find(_OPEN)
    spans = iter(covered)
    span = next(spans, None)
    while start != -1:
        while span is not None and span[1] <= start:
            span = next(spans, None)
        if span is None or start < span[0]:
            snippet = text[start : start + 30]
            raise RuleError(
                path,
                f'"{snippet}" at character {start + 1} is not a placeholder such as '
                "{{ticket.number}}",
            )
        start = text.find(_OPEN, span[1])


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return ", ".join(_as_text(item) for item in value)
    return str(value)


def render_placeholders(text: str, values: Mapping[str, Any]) -> str:
    """``text`` with every placeholder replaced by its value from ``values`` (keyed by
    name, e.g. ``"ticket.number"``); unknown or missing ones render as ``""``.

    ``custom_fields.<key>`` is looked up by its full name, then in a ``"custom_fields"``
    mapping of ``values``. None renders as ``""``, a list as ``"a, b"``, anything else
    with ``str()``. A malformed ``{{`` is left as it is."""
    if _OPEN not in text:
        return text
    custom = values.get("custom_fields")

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if not is_known(name):
            return ""
        if name in values:
            return _as_text(values[name])
        if isinstance(custom, Mapping) and name.startswith("custom_fields."):
            return _as_text(custom.get(name.removeprefix("custom_fields.")))
        return ""

    return _PLACEHOLDER.sub(substitute, text)


def used_placeholders(text: str) -> frozenset[str]:
    """The names of the well-formed placeholders in ``text``, known or not."""
    if _OPEN not in text:
        return frozenset()
    return frozenset(match.group(1) for match in _PLACEHOLDER.finditer(text))
