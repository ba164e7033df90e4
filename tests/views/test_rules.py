"""The condition language and its translation into ticket filters: pure, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opora.views import rules

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LENA = rules.Scope(user_id=7, group_ids=frozenset({1, 2}), line=2, now=NOW)
NOBODY = rules.Scope(user_id=7, group_ids=frozenset(), line=None, now=NOW)


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ([{"field": "status", "value": "open"}],
         {"status": ("open",)}),
        ([{"field": "status", "op": "in", "value": ["pending", "open", "open"]}],
         {"status": ("open", "pending")}),
        ([{"field": "assignee_id", "value": "me"}], {"assignee_id": 7}),
        ([{"field": "assignee_id", "value": None}], {"unassigned": True}),
        ([{"field": "assignee_id", "op": "is_null"}], {"unassigned": True}),
        ([{"field": "my_groups", "value": True}], {"group_ids": (1, 2)}),
        ([{"field": "my_groups", "value": True},
          {"field": "group_id", "op": "in", "value": [2, 5]}],
         {"group_ids": (2,)}),
        ([{"field": "line", "op": "gte", "value": "my_line"}], {"line_at_least": 2}),
        ([{"field": "line", "value": 3}], {"line": 3}),
        ([{"field": "tag", "value": "  Billing Issue "}], {"tag": "billing-issue"}),
        ([{"field": "escalated", "value": True}], {"escalated": True}),
        ([{"field": "updated_within_days", "value": 2}],
         {"updated_since": NOW - timedelta(days=2)}),
        ([{"field": "solved_within_days", "value": 7}],
         {"solved_since": NOW - timedelta(days=7), "updated_since": NOW - timedelta(days=7)}),
    ],
)  # fmt: skip
def test_conditions_become_filters(conditions: list[Any], expected: dict[str, Any]) -> None:
    filters = rules.to_filters(rules.validate_conditions(conditions), LENA)
    assert filters is not None
    for name, value in expected.items():
        assert getattr(filters, name) == value, name


def test_my_groups_of_an_agent_in_no_group_match_nothing() -> None:
    filters = rules.to_filters([{"field": "my_groups", "op": "eq", "value": True}], NOBODY)
    assert filters is not None and filters.group_ids == ()


def test_my_line_of_an_agent_in_no_group_cannot_match() -> None:
    conditions = [{"field": "line", "op": "gte", "value": "my_line"}]
    assert rules.to_filters(conditions, NOBODY) is None


@pytest.mark.parametrize(
    ("conditions", "path"),
    [
        ("status", "conditions"),
        ([{"field": "status"}], "conditions.0.value"),
        ([{"value": "open"}], "conditions.0.field"),
        ([{"field": "my_groups", "value": False}], "conditions.0.value"),
        ([{"field": "requester_id", "value": "3"}], "conditions.0.value"),
        ([{"field": "line", "value": "my_line"}], "conditions.0.value"),
        ([{"field": "assignee_id", "op": "is_null", "value": False}], "conditions.0.value"),
        ([{"field": "solved_within_days", "value": 4000}], "conditions.0.value"),
        ([{"field": "group_id", "op": "in", "value": [1, "2"]}], "conditions.0.value"),
        ([{"field": "tag", "op": "in", "value": ["a"]}], "conditions.0.op"),
    ],
)
def test_bad_conditions_name_their_path(conditions: Any, path: str) -> None:
    with pytest.raises(rules.ViewRuleError) as caught:
        rules.validate_conditions(conditions)
    assert caught.value.path == path


def test_every_builtin_view_is_valid() -> None:
    for view in rules.BUILTIN_VIEWS:
        assert rules.validate_conditions(list(view.conditions)) == list(view.conditions)
        rules.validate_columns(list(view.columns))
        rules.validate_sort(view.sort)
        assert view.name_en and view.name_ru
