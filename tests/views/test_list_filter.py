"""The inbox filter bar's parameters and how they narrow a view: pure, table-driven."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from opora.tickets.repository import TicketFilters
from opora.views import rules

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LENA = rules.Scope(user_id=7, group_ids=frozenset({1, 2}), line=2, now=NOW)
SYSTEM = rules.Scope(user_id=None, group_ids=frozenset(), line=None, now=NOW)


@pytest.mark.parametrize(
    ("params", "expected", "problems"),
    [
        ({}, {}, {}),
        ({"status": "open", "priority": "urgent", "type": "task", "channel": "vk"},
         {"status": "open", "priority": "urgent", "type": "task", "channel": "vk"}, {}),
        ({"assignee": "me"}, {"assignee": "me"}, {}),
        ({"assignee": "none"}, {"assignee": "none"}, {}),
        ({"assignee": "12"}, {"assignee": 12}, {}),
        ({"assignee": "0"}, {}, {"assignee": "invalid_assignee"}),
        ({"assignee": "lena"}, {}, {"assignee": "invalid_assignee"}),
        ({"assignee": "9" * 30}, {}, {"assignee": "invalid_assignee"}),
        ({"group_id": "3"}, {"group_id": 3}, {}),
        ({"group_id": "L1"}, {}, {"group_id": "invalid_id"}),
        ({"status": "OPEN"}, {}, {"status": "invalid_choice"}),
        ({"status": "bogus", "priority": "low"}, {"priority": "low"},
         {"status": "invalid_choice"}),
        ({"tag": "  Needs  Callback "}, {"tag": "needs-callback"}, {}),
        ({"tag": "x" * 101}, {}, {"tag": "invalid_tag"}),
        ({"q": "  вход  "}, {"q": "вход"}, {}),
        ({"q": "x" * 501}, {}, {"q": "too_long"}),
        ({"status": "  ", "q": ""}, {}, {}),
    ],
)  # fmt: skip
def test_parse_list_filter(
    params: dict[str, str], expected: dict[str, Any], problems: dict[str, str]
) -> None:
    chosen, found = rules.parse_list_filter(params)
    assert chosen == rules.ListFilter(**expected)
    assert found == problems
    assert chosen.active == bool(expected)


OPEN_VIEW = TicketFilters(status=("new", "open", "pending", "on_hold"))


@pytest.mark.parametrize(
    ("view", "chosen", "scope", "expected"),
    [
        (OPEN_VIEW, {"status": "open"}, LENA, {"status": ("open",)}),
        (OPEN_VIEW, {"status": "solved"}, LENA, None),  # the view excludes it
        (TicketFilters(), {"status": "solved"}, LENA, {"status": ("solved",)}),
        (TicketFilters(priority=("high",)), {"priority": "low"}, LENA, None),
        (TicketFilters(), {"assignee": "me"}, LENA, {"assignee_id": 7}),
        (TicketFilters(), {"assignee": "me"}, SYSTEM, None),  # "me" needs a user
        (TicketFilters(assignee_id=7), {"assignee": 7}, LENA, {"assignee_id": 7}),
        (TicketFilters(assignee_id=7), {"assignee": 8}, LENA, None),
        (TicketFilters(assignee_id=7), {"assignee": "none"}, LENA, None),
        (TicketFilters(unassigned=True), {"assignee": 8}, LENA, None),
        (TicketFilters(unassigned=True), {"assignee": "none"}, LENA, {"unassigned": True}),
        (TicketFilters(group_ids=(1, 2)), {"group_id": 5}, LENA,
         {"group_ids": (1, 2), "group_id": 5}),  # both hold: nothing matches, in SQL
        (TicketFilters(tag="vip"), {"tag": "vip"}, LENA, {"tag": "vip"}),
        (TicketFilters(tag="vip"), {"tag": "printer"}, LENA,
         {"tag": "vip", "more_tags": ("printer",)}),
        (TicketFilters(), {"tag": "printer", "q": "fire"}, LENA, {"tag": "printer"}),
    ],
)  # fmt: skip
def test_narrow(
    view: TicketFilters,
    chosen: dict[str, Any],
    scope: rules.Scope,
    expected: dict[str, Any] | None,
) -> None:
    narrowed = rules.narrow(view, rules.ListFilter(**chosen), scope)
    if expected is None:
        assert narrowed is None
    else:
        assert narrowed == dataclasses.replace(view, **expected)
