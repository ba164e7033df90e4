"""The automation condition language: validation, normalization, evaluation. Pure."""

from __future__ import annotations

from typing import Any

import pytest

from opora.automation.conditions import (
    FIELDS,
    Condition,
    Conditions,
    RuleError,
    conditions_to_spec,
    evaluate,
    ops_for,
    parse_conditions,
    referenced_fields,
)

TICKET: dict[str, Any] = {
    "event": "ticket.updated",
    "status": "open",
    "priority": "urgent",
    "type": "incident",
    "channel": "email",
    "group_id": 3,
    "assignee_id": None,
    "requester_id": 11,
    "organization_id": 5,
    "line": 2,
    "tags": ["vip", "billing-issue"],
    "organization.vip": True,
    "within_business_hours": False,
    "message.visibility": "public",
    "message.author": "customer",
    "message.text": "Здравствуйте! Не могу ВОЙТИ в личный кабинет, ёлка.",
    "subject": "Login problem / Проблема со входом",
    "custom_fields": {
        "plan": "Pro",
        "seats": 25,
        "renewal": "2026-03-01",
        "modules": ["crm", "Billing"],
        "empty": "",
        "trial": False,
    },
    "requester.email_domain": "Example.com",
    "requester.language": "ru-RU",
    "hours_since_created": 30,
    "hours_since_updated": 2.5,
    "hours_since_status_change": 72,
    "business_hours_since_status_change": 24,
    "business_hours_since_created": 9,
    "hours_since_assigned": 0,
    "sla.breached": ["first_response"],
    "sla.warning": ("resolution",),
    "changes": {
        "status": ["new", "open"],
        "assignee_id": [7, None],
        "line": [1, 2],
        "group_id": [None, 3],
        "priority": ["urgent", "urgent"],
        "type": ["question", "incident"],
        "requester_id": [10, 11],
    },
}

NEGATIVE_OPS = {"is_not", "not_in", "not_contains", "contains_none", "absent"}


def holds(field: str, op: str, value: Any, snapshot: dict[str, Any]) -> bool:
    spec = [{"field": field, "op": op, "value": value}]
    return evaluate(parse_conditions(spec), snapshot)


# field, op, value, whether it holds for TICKET
CASES: list[tuple[str, str, Any, bool]] = [
    ("status", "is", "open", True),
    ("status", "is", "new", False),
    ("status", "is_not", "new", True),
    ("status", "is_not", "open", False),
    ("status", "in", ["open", "pending"], True),
    ("status", "in", ["new"], False),
    ("status", "not_in", ["new", "solved"], True),
    ("status", "not_in", ["open"], False),
    ("status", "changed", True, True),
    ("status", "changed_to", "open", True),
    ("status", "changed_to", "new", False),
    ("status", "changed_from", "new", True),
    ("status", "changed_from", "open", False),
    ("priority", "is", "urgent", True),
    ("priority", "is", "low", False),
    ("priority", "in", ["high", "urgent"], True),
    ("priority", "is_not", "low", True),
    ("priority", "not_in", ["low", "urgent"], False),
    ("priority", "changed", True, False),  # [urgent, urgent] is no change
    ("priority", "changed_to", "urgent", False),
    ("priority", "changed_from", "urgent", False),
    ("type", "is", "incident", True),
    ("type", "is_not", "incident", False),
    ("type", "in", ["incident", "problem"], True),
    ("type", "not_in", ["question"], True),
    ("type", "changed", True, True),
    ("type", "changed_to", "incident", True),
    ("type", "changed_from", "question", True),
    ("type", "changed_from", "incident", False),
    ("channel", "is", "email", True),
    ("channel", "not_in", ["email"], False),
    ("channel", "is_not", "chat", True),
    ("channel", "in", ["chat", "email"], True),
    ("channel", "changed", True, False),  # no entry in changes
    ("channel", "changed_to", "email", False),
    ("channel", "changed_from", "chat", False),
    ("group_id", "is", 3, True),
    ("group_id", "is", "3", True),
    ("group_id", "is", None, False),
    ("group_id", "is_not", None, True),
    ("group_id", "in", [1, 3], True),
    ("group_id", "not_in", [3], False),
    ("group_id", "changed", True, True),
    ("group_id", "changed_to", 3, True),
    ("group_id", "changed_from", None, True),
    ("group_id", "changed_from", 3, False),
    ("assignee_id", "is", None, True),
    ("assignee_id", "is", 7, False),
    ("assignee_id", "is_not", None, False),
    ("assignee_id", "in", [7, 8], False),
    ("assignee_id", "not_in", [7, 8], True),  # unassigned is in no list of ids
    ("assignee_id", "changed", True, True),
    ("assignee_id", "changed_from", 7, True),
    ("assignee_id", "changed_to", None, True),
    ("assignee_id", "changed_to", 7, False),
    ("requester_id", "is", 11, True),
    ("requester_id", "is", 12, False),
    ("requester_id", "in", [11, 12], True),
    ("requester_id", "not_in", [12], True),
    ("requester_id", "is_not", 11, False),
    ("requester_id", "changed", True, True),
    ("requester_id", "changed_to", 11, True),
    ("requester_id", "changed_from", 11, False),
    ("organization_id", "is", 5, True),
    ("organization_id", "is", None, False),
    ("organization_id", "is_not", 6, True),
    ("organization_id", "in", [4, 5], True),
    ("organization_id", "not_in", [4, 5], False),
    ("organization_id", "changed", True, False),
    ("organization_id", "changed_to", 5, False),
    ("organization_id", "changed_from", None, False),
    ("line", "is", 2, True),
    ("line", "is", 1, False),
    ("line", "is_not", 1, True),
    ("line", "gte", 2, True),
    ("line", "gte", 3, False),
    ("line", "lte", 2, True),
    ("line", "lte", 1, False),
    ("line", "changed", True, True),
    ("line", "changed_to", 2, True),
    ("line", "changed_to", 3, False),
    ("tags", "contains", "vip", True),
    ("tags", "contains", " VIP ", True),
    ("tags", "contains", "gold", False),
    ("tags", "not_contains", "gold", True),
    ("tags", "not_contains", "vip", False),
    ("tags", "contains_any", ["gold", "Billing Issue"], True),
    ("tags", "contains_any", ["gold"], False),
    ("tags", "contains_none", ["gold", "silver"], True),
    ("tags", "contains_none", ["gold", "vip"], False),
    ("organization.vip", "is", True, True),
    ("organization.vip", "is", False, False),
    ("within_business_hours", "is", False, True),
    ("within_business_hours", "is", True, False),
    ("event", "is", "ticket.updated", True),
    ("event", "is", "ticket.created", False),
    ("event", "in", ["message.created", "ticket.updated"], True),
    ("event", "in", ["sla.breached", "sla.warning"], False),
    ("message.visibility", "is", "public", True),
    ("message.visibility", "is", "internal", False),
    ("message.author", "is", "customer", True),
    ("message.author", "is", "agent", False),
    ("message.text", "contains", "не могу войти", True),
    ("message.text", "contains", "Личный  Кабинет", True),
    ("message.text", "contains", "выйти", False),
    ("message.text", "not_contains", "выйти", True),
    ("message.text", "not_contains", "кабинет", False),
    ("message.text", "matches_any_word", ["войти"], True),
    ("message.text", "matches_any_word", ["войт"], False),
    ("message.text", "matches_any_word", ["войт*"], True),
    ("message.text", "matches_any_word", ["елка"], True),
    ("message.text", "matches_any_word", ["login", "пароль"], False),
    ("subject", "contains", "LOGIN PROBLEM", True),
    ("subject", "contains", "проблема со", True),
    ("subject", "contains", "кабинет", False),
    ("subject", "not_contains", "login", False),
    ("subject", "matches_any_word", ["вход"], False),
    ("subject", "matches_any_word", ["входом"], True),
    ("subject", "matches_any_word", ["prob*"], True),
    ("text", "contains", "кабинет", True),  # from the message
    ("text", "contains", "login", True),  # from the subject
    ("text", "contains", "password", False),
    ("text", "not_contains", "password", True),
    ("text", "matches_any_word", ["password", "логин"], False),
    ("text", "matches_any_word", ["password", "ВОЙТИ"], True),
    ("custom_fields.plan", "is", "pro", True),
    ("custom_fields.plan", "is", "basic", False),
    ("custom_fields.plan", "is_not", "basic", True),
    ("custom_fields.plan", "is_not", "PRO", False),
    ("custom_fields.plan", "present", True, True),
    ("custom_fields.plan", "absent", True, False),
    ("custom_fields.plan", "contains", "r", True),
    ("custom_fields.plan", "contains", "x", False),
    ("custom_fields.seats", "is", 25, True),
    ("custom_fields.seats", "is", "25", True),
    ("custom_fields.seats", "is", 26, False),
    ("custom_fields.seats", "gt", 20, True),
    ("custom_fields.seats", "gt", "30", False),
    ("custom_fields.seats", "lt", 30, True),
    ("custom_fields.seats", "lt", 25, False),
    ("custom_fields.renewal", "gt", "2026-01-01", True),
    ("custom_fields.renewal", "lt", "2026-01-01", False),
    ("custom_fields.renewal", "lt", "2026-03-02", True),
    ("custom_fields.modules", "contains", "billing", True),
    ("custom_fields.modules", "contains", "bill", False),
    ("custom_fields.modules", "contains", "hr", False),
    ("custom_fields.empty", "present", True, False),
    ("custom_fields.empty", "absent", True, True),
    ("custom_fields.trial", "is", False, True),
    ("custom_fields.trial", "is", True, False),
    ("custom_fields.trial", "present", True, True),
    ("custom_fields.nothing", "present", True, False),
    ("custom_fields.nothing", "absent", True, True),
    ("custom_fields.nothing", "is_not", "x", True),
    ("requester.email_domain", "is", "example.com", True),
    ("requester.email_domain", "is", "@EXAMPLE.com", True),
    ("requester.email_domain", "is", "example.org", False),
    ("requester.email_domain", "in", ["example.org", "example.com"], True),
    ("requester.email_domain", "in", ["example.org"], False),
    ("requester.language", "is", "ru", True),
    ("requester.language", "is", "ru_RU", True),
    ("requester.language", "is", "en", False),
    ("hours_since_created", "gte", 24, True),
    ("hours_since_created", "gte", "31", False),
    ("hours_since_created", "lte", 30, True),
    ("hours_since_updated", "lte", "2.5", True),
    ("hours_since_updated", "gte", 3, False),
    ("hours_since_status_change", "gte", 72, True),
    ("hours_since_status_change", "lte", 71.5, False),
    ("business_hours_since_status_change", "gte", 24, True),
    ("business_hours_since_status_change", "gte", 24.5, False),
    ("business_hours_since_status_change", "lte", 24, True),
    ("business_hours_since_created", "gte", 8, True),
    ("business_hours_since_created", "gte", "9.5", False),
    ("business_hours_since_created", "lte", 9, True),
    ("business_hours_since_created", "lte", 8.9, False),
    ("hours_since_assigned", "lte", 0, True),
    ("hours_since_assigned", "gte", 1, False),
    ("sla.breached", "contains", "first_response", True),
    ("sla.breached", "contains", "resolution", False),
    ("sla.warning", "contains", "resolution", True),
    ("sla.warning", "contains", "next_response", False),
]


@pytest.mark.parametrize(("field", "op", "value", "expected"), CASES)
def test_a_condition_holds_for_the_ticket_or_not(
    field: str, op: str, value: Any, expected: bool
) -> None:
    assert holds(field, op, value, TICKET) is expected


def test_the_cases_cover_every_field_and_op() -> None:
    covered = {(f if not f.startswith("custom_fields.") else "custom_fields.<key>", op)
               for f, op, _, _ in CASES}  # fmt: skip
    expected = {(field, op) for field in FIELDS for op in ops_for(field.replace("<key>", "k"))}
    assert expected - covered == set()


# every field and op with a valid value: for missing keys, odd values and round trips
_FIRST_VALUE: dict[tuple[str, str], Any] = {}
for _field, _op, _value, _ in CASES:
    _FIRST_VALUE.setdefault((_field, _op), _value)
EVERY_SPECS = [(field, op, value) for (field, op), value in sorted(_FIRST_VALUE.items())]


@pytest.mark.parametrize(("field", "op", "value"), EVERY_SPECS)
def test_a_missing_key_holds_only_for_negative_ops(field: str, op: str, value: Any) -> None:
    assert holds(field, op, value, {}) is (op in NEGATIVE_OPS)


ODD: dict[str, Any] = {
    "event": 1,
    "status": 5,
    "priority": ["urgent"],
    "type": None,
    "channel": {"email": 1},
    "group_id": True,
    "assignee_id": "7",
    "requester_id": 11.5,
    "organization_id": [5],
    "line": "2",
    "tags": "vip,billing-issue",
    "organization.vip": 1,
    "within_business_hours": "false",
    "message.visibility": None,
    "message.author": 3,
    "message.text": ["не могу войти"],
    "subject": b"login",
    "custom_fields": {
        "plan": ["Pro", {"x": 1}],
        "seats": "many",
        "renewal": "soon",
        "modules": [["crm"]],
        "trial": 0,
        "nothing": object(),
    },
    "requester.email_domain": 42,
    "requester.language": None,
    "hours_since_created": "30",
    "hours_since_updated": None,
    "hours_since_status_change": True,
    "business_hours_since_status_change": [1],
    "hours_since_assigned": float("nan"),
    "sla.breached": "first_response",
    "sla.warning": [{"resolution"}],
    "changes": {"status": "open", "line": [1], "group_id": None, "assignee_id": (1, 2, 3)},
}


@pytest.mark.parametrize(("field", "op", "value"), EVERY_SPECS)
def test_odd_snapshot_values_never_raise_and_count_as_missing(
    field: str, op: str, value: Any
) -> None:
    result = holds(field, op, value, ODD)
    if op in ("present", "absent"):  # any value but null, "" and [] is present
        present = field.removeprefix("custom_fields.") in ODD["custom_fields"]
        assert result is (present == (op == "present"))
    else:
        assert result is (op in NEGATIVE_OPS)


FLAT = {k: v for k, v in TICKET.items() if k not in ("custom_fields", "subject", "message.text")}
FLAT.update({f"custom_fields.{key}": v for key, v in TICKET["custom_fields"].items()})
FLAT["text"] = f"{TICKET['subject']}\n{TICKET['message.text']}"


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [case for case in CASES if case[0].startswith("custom_fields.") or case[0] == "text"],
)
def test_flat_custom_fields_and_a_precomputed_text_read_the_same(
    field: str, op: str, value: Any, expected: bool
) -> None:
    assert holds(field, op, value, FLAT) is expected


def test_a_flat_custom_field_wins_over_the_mapping() -> None:
    snapshot = {"custom_fields.plan": "Pro", "custom_fields": {"plan": "Basic"}}
    assert holds("custom_fields.plan", "is", "pro", snapshot) is True
    assert holds("custom_fields.plan", "is", "basic", snapshot) is False


def test_a_precomputed_text_wins_over_subject_and_message() -> None:
    snapshot = {"text": "only this", "subject": "login"}
    assert holds("text", "contains", "only", snapshot) is True
    assert holds("text", "contains", "login", snapshot) is False


def test_unhashable_tags_do_not_raise() -> None:
    snapshot = {"tags": [["vip"], {"a": 1}]}
    assert holds("tags", "contains_any", ["vip"], snapshot) is False
    assert holds("tags", "contains_none", ["vip"], snapshot) is True


def test_null_needs_the_key_present() -> None:
    assert holds("assignee_id", "is", None, {"assignee_id": None}) is True
    assert holds("assignee_id", "is", None, {}) is False
    assert holds("assignee_id", "is_not", None, {}) is True


def test_true_is_not_one_and_one_is_not_true() -> None:
    assert holds("group_id", "is", 1, {"group_id": True}) is False
    assert holds("organization.vip", "is", True, {"organization.vip": 1}) is False
    assert holds("custom_fields.n", "is", 1, {"custom_fields": {"n": True}}) is False
    assert holds("custom_fields.n", "is", True, {"custom_fields": {"n": 1}}) is False


# ── words and text ──


@pytest.mark.parametrize(
    ("words", "text", "expected"),
    [
        (["войти"], "Не могу ВОЙТИ", True),
        (["ВОЙТИ"], "не могу войти", True),
        (["войти"], "перевойти", False),
        (["войти"], "войтись", False),
        (["елка"], "ёлка", True),
        (["ёлка"], "ЕЛКА", True),
        (["Ёлка"], "новая елка!", True),
        (["елка"], "ёлках", False),
        (["ёлк*"], "под ЁЛКАМИ", True),
        (["login"], "Can't LOGIN today", True),
        (["log"], "login", False),
        (["log*"], "Login", True),
        (["не могу войти"], "Не  могу\nвойти", True),
        (["не могу войти"], "не могу зайти", False),
        (["refund", "возврат"], "прошу ВОЗВРАТ денег", True),
        (["refund", "возврат"], "прошу возвратить", False),
        (["c++"], "I write C++ code", True),
        (["e-mail"], "my E-mail is down", True),
        (["кот"], "котик", False),
        (["кот"], "кот.", True),
        (["2fa"], "2FA не работает", True),
        (["оплат*"], "Оплатить не удалось", True),
        (["оплат*"], "предоплата", False),
        (["error"], "error_code", False),  # _ is part of a word
    ],
)
def test_words_match_whole_words_in_russian_and_english(
    words: list[str], text: str, expected: bool
) -> None:
    assert holds("message.text", "matches_any_word", words, {"message.text": text}) is expected


@pytest.mark.parametrize(
    ("needle", "text", "expected"),
    [
        ("ВОЙТИ", "не могу войти", True),
        ("елк", "Ёлки", True),
        ("ёлк", "ЕЛКИ", True),
        ("не могу", "не\tмогу", True),
        ("a.b", "axb", False),  # a literal, not a regex
        ("(", "smile :(", True),
        ("[её]", "е", False),
    ],
)
def test_contains_is_a_case_insensitive_substring(needle: str, text: str, expected: bool) -> None:
    assert holds("subject", "contains", needle, {"subject": text}) is expected


# ── all and any ──

OPEN = {"field": "status", "value": "open"}
NEW = {"field": "status", "value": "new"}
URGENT = {"field": "priority", "value": "urgent"}
LOW = {"field": "priority", "value": "low"}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, True),
        ({"all": [], "any": []}, True),
        ({"all": [OPEN]}, True),
        ({"all": [OPEN, URGENT]}, True),
        ({"all": [OPEN, LOW]}, False),
        ({"all": [OPEN], "any": [LOW, URGENT]}, True),
        ({"all": [OPEN], "any": [LOW, NEW]}, False),
        ({"all": [NEW], "any": [URGENT]}, False),
        ({"any": [NEW, URGENT]}, True),
        ({"any": [NEW, LOW]}, False),
        ([OPEN, URGENT], True),
        ([OPEN, LOW], False),
        (None, True),
    ],
)
def test_all_and_any(spec: Any, expected: bool) -> None:
    assert evaluate(parse_conditions(spec), TICKET) is expected


def test_a_bare_list_is_all() -> None:
    assert parse_conditions([OPEN]) == Conditions(all=(Condition("status", "is", "open"),))


# ── validation ──


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ("status", "conditions"),
        (5, "conditions"),
        ({"all": {}}, "conditions.all"),
        ({"any": "x"}, "conditions.any"),
        ({"none": []}, "conditions.none"),
        ({"all": [OPEN] * 31}, "conditions.all"),
        ({"all": ["status"]}, "conditions.all.0"),
        ({"all": [{"field": "status", "value": "open", "extra": 1}]}, "conditions.all.0.extra"),
        ([{"value": "open"}], "conditions.0.field"),
        ([{"field": "nope", "value": 1}], "conditions.0.field"),
        ([{"field": 5, "value": 1}], "conditions.0.field"),
        ([{"field": "custom_fields.Bad", "value": 1}], "conditions.0.field"),
        ([{"field": "custom_fields.", "value": 1}], "conditions.0.field"),
        ([{"field": "custom_fields.a-b", "value": 1}], "conditions.0.field"),
        ([{"field": "status", "op": "gte", "value": 1}], "conditions.0.op"),
        ([{"field": "status", "op": None, "value": "open"}], "conditions.0.op"),
        ([{"field": "tags", "value": "vip"}], "conditions.0.op"),  # no "is" for tags
        ([{"field": "line", "op": "changed_from", "value": 1}], "conditions.0.op"),
        ([{"field": "status"}], "conditions.0.value"),
        ([{"field": "status", "value": "opened"}], "conditions.0.value"),
        ([{"field": "status", "value": None}], "conditions.0.value"),
        ([{"field": "status", "op": "in", "value": []}], "conditions.0.value"),
        ([{"field": "status", "op": "in", "value": "open"}], "conditions.0.value"),
        ([{"field": "status", "op": "in", "value": ["open"] * 101}], "conditions.0.value"),
        ([{"field": "status", "op": "in", "value": ["open", "bad"]}], "conditions.0.value.1"),
        ({"all": [OPEN], "any": [URGENT, {"field": "priority", "value": "asap"}]},
         "conditions.any.1.value"),
        ([{"field": "status", "op": "changed", "value": False}], "conditions.0.value"),
        ([{"field": "status", "op": "changed_to", "value": "x"}], "conditions.0.value"),
        ([{"field": "type", "value": "bug"}], "conditions.0.value"),
        ([{"field": "channel", "value": "fax"}], "conditions.0.value"),
        ([{"field": "requester_id", "value": None}], "conditions.0.value"),
        ([{"field": "group_id", "op": "in", "value": [1, None]}], "conditions.0.value.1"),
        ([{"field": "group_id", "value": 0}], "conditions.0.value"),
        ([{"field": "group_id", "value": -1}], "conditions.0.value"),
        ([{"field": "group_id", "value": True}], "conditions.0.value"),
        ([{"field": "group_id", "value": "abc"}], "conditions.0.value"),
        ([{"field": "assignee_id", "value": 2**63}], "conditions.0.value"),
        ([{"field": "line", "value": 5}], "conditions.0.value"),
        ([{"field": "line", "op": "gte", "value": "x"}], "conditions.0.value"),
        ([{"field": "tags", "op": "contains", "value": ""}], "conditions.0.value"),
        ([{"field": "tags", "op": "contains", "value": "   "}], "conditions.0.value"),
        ([{"field": "tags", "op": "contains", "value": "x" * 101}], "conditions.0.value"),
        ([{"field": "tags", "op": "contains_any", "value": ["ok", 5]}], "conditions.0.value.1"),
        ([{"field": "organization.vip", "value": "yes"}], "conditions.0.value"),
        ([{"field": "within_business_hours", "value": 1}], "conditions.0.value"),
        ([{"field": "event", "value": "ticket.deleted"}], "conditions.0.value"),
        ([{"field": "event", "op": "in", "value": ["ticket.created", 1]}], "conditions.0.value.1"),
        ([{"field": "message.visibility", "value": "private"}], "conditions.0.value"),
        ([{"field": "message.author", "value": "user"}], "conditions.0.value"),
        ([{"field": "subject", "op": "contains", "value": ""}], "conditions.0.value"),
        ([{"field": "subject", "op": "contains", "value": 5}], "conditions.0.value"),
        ([{"field": "text", "op": "contains", "value": "x" * 1001}], "conditions.0.value"),
        ([{"field": "message.text", "op": "matches_any_word", "value": "войти"}],
         "conditions.0.value"),
        ([{"field": "message.text", "op": "matches_any_word", "value": []}],
         "conditions.0.value"),
        ([{"field": "message.text", "op": "matches_any_word", "value": ["ok", "!!"]}],
         "conditions.0.value.1"),
        ([{"field": "message.text", "op": "matches_any_word", "value": ["a*b"]}],
         "conditions.0.value.0"),
        ([{"field": "message.text", "op": "matches_any_word", "value": ["*"]}],
         "conditions.0.value.0"),
        ([{"field": "message.text", "op": "matches_any_word", "value": ["x" * 101]}],
         "conditions.0.value.0"),
        ([{"field": "custom_fields.plan", "value": None}], "conditions.0.value"),
        ([{"field": "custom_fields.plan", "value": []}], "conditions.0.value"),
        ([{"field": "custom_fields.plan", "value": " "}], "conditions.0.value"),
        ([{"field": "custom_fields.plan", "value": float("nan")}], "conditions.0.value"),
        ([{"field": "custom_fields.plan", "op": "gt", "value": "soon"}], "conditions.0.value"),
        ([{"field": "custom_fields.plan", "op": "lt", "value": True}], "conditions.0.value"),
        ([{"field": "custom_fields.plan", "op": "contains", "value": ""}], "conditions.0.value"),
        ([{"field": "custom_fields.plan", "op": "present", "value": False}],
         "conditions.0.value"),
        ([{"field": "requester.email_domain", "value": "not a domain"}], "conditions.0.value"),
        ([{"field": "requester.email_domain", "op": "in", "value": ["ok.com", "bad domain"]}],
         "conditions.0.value.1"),
        ([{"field": "requester.language", "value": "russian"}], "conditions.0.value"),
        ([{"field": "hours_since_created", "op": "gte", "value": -1}], "conditions.0.value"),
        ([{"field": "hours_since_created", "op": "gte", "value": "abc"}], "conditions.0.value"),
        ([{"field": "hours_since_created", "op": "gte", "value": 100_001}],
         "conditions.0.value"),
        ([{"field": "hours_since_updated", "op": "lte", "value": float("inf")}],
         "conditions.0.value"),
        ([{"field": "hours_since_assigned", "op": "lte", "value": True}], "conditions.0.value"),
        ([{"field": "sla.breached", "op": "contains", "value": "response"}],
         "conditions.0.value"),
        ([{"field": "sla.warning", "op": "contains", "value": None}], "conditions.0.value"),
    ],
)  # fmt: skip
def test_bad_conditions_name_their_path(spec: Any, path: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_conditions(spec)
    assert caught.value.path == path
    assert caught.value.message
    assert str(caught.value).startswith(path)


def test_the_path_prefix_is_the_callers() -> None:
    with pytest.raises(RuleError) as caught:
        parse_conditions({"all": [{"field": "status", "value": "x"}]}, path="rules.2.conditions")
    assert caught.value.path == "rules.2.conditions.all.0.value"


def test_the_message_names_the_choices() -> None:
    with pytest.raises(RuleError) as caught:
        parse_conditions([{"field": "priority", "value": "asap"}])
    assert caught.value.message == "priority must be one of: low, normal, high, urgent"


@pytest.mark.parametrize(
    ("field", "allowed", "ok"),
    [
        ("priority", {"priority", "group_id"}, True),
        ("event", {"priority", "group_id"}, False),
        ("custom_fields.plan", {"custom_fields.plan"}, True),
        ("custom_fields.plan", {"custom_fields.*"}, True),
        ("custom_fields.plan", {"custom_fields.seats"}, False),
        ("custom_fields.plan", {"priority"}, False),
    ],
)
def test_allowed_fields_narrow_the_language(field: str, allowed: set[str], ok: bool) -> None:
    spec = {"any": [{"field": field, "op": "is", "value": "urgent"}]}
    if ok:
        assert len(parse_conditions(spec, allowed_fields=allowed).any) == 1
    else:
        with pytest.raises(RuleError) as caught:
            parse_conditions(spec, allowed_fields=allowed)
        assert caught.value.path == "conditions.any.0.field"


# ── normalization and round trips ──


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"field": "tags", "op": "contains", "value": "  VIP Client "},
         Condition("tags", "contains", "vip-client")),
        ({"field": "tags", "op": "contains_any", "value": ["b", "A", "a"]},
         Condition("tags", "contains_any", ("a", "b"))),
        ({"field": "status", "op": "in", "value": ["pending", "open", "open"]},
         Condition("status", "in", ("open", "pending"))),
        ({"field": "group_id", "value": "5"}, Condition("group_id", "is", 5)),
        ({"field": "group_id", "op": "in", "value": ["7", 5, 7]},
         Condition("group_id", "in", (5, 7))),
        ({"field": "line", "op": "gte", "value": " 2 "}, Condition("line", "gte", 2)),
        ({"field": "hours_since_created", "op": "gte", "value": "3"},
         Condition("hours_since_created", "gte", 3)),
        ({"field": "hours_since_created", "op": "lte", "value": "2.5"},
         Condition("hours_since_created", "lte", 2.5)),
        ({"field": "organization.vip", "value": "true"}, Condition("organization.vip", "is", True)),
        ({"field": "requester.email_domain", "value": " @Example.COM "},
         Condition("requester.email_domain", "is", "example.com")),
        ({"field": "requester.email_domain", "value": "почта.рф"},
         Condition("requester.email_domain", "is", "почта.рф")),
        ({"field": "requester.language", "value": "pt_BR"},
         Condition("requester.language", "is", "pt-br")),
        ({"field": "custom_fields.seats", "op": "gt", "value": "10"},
         Condition("custom_fields.seats", "gt", 10)),
        ({"field": "custom_fields.until", "op": "lt", "value": "2026-03-01"},
         Condition("custom_fields.until", "lt", "2026-03-01")),
        ({"field": "custom_fields.plan", "value": " Pro "},
         Condition("custom_fields.plan", "is", "Pro")),
        ({"field": "subject", "op": "contains", "value": "  не   могу "},
         Condition("subject", "contains", "не могу")),
        ({"field": "text", "op": "matches_any_word", "value": ["Войти", "войти", " a  b "]},
         Condition("text", "matches_any_word", ("Войти", "a b"))),
        ({"field": "status", "op": "changed"}, Condition("status", "changed", True)),
        ({"field": "custom_fields.plan", "op": "absent"},
         Condition("custom_fields.plan", "absent", True)),
    ],
)  # fmt: skip
def test_values_are_normalized(given: dict[str, Any], expected: Condition) -> None:
    assert parse_conditions([given]).all == (expected,)


def test_every_field_and_op_round_trips() -> None:
    spec = {
        "all": [{"field": f, "op": op, "value": v} for f, op, v in EVERY_SPECS[::2]],
        "any": [{"field": f, "op": op, "value": v} for f, op, v in EVERY_SPECS[1::2]],
    }
    spec["all"] = spec["all"][:30]
    spec["any"] = spec["any"][:30]
    parsed = parse_conditions(spec)
    stored = conditions_to_spec(parsed)
    assert parse_conditions(stored) == parsed
    assert conditions_to_spec(parse_conditions(stored)) == stored
    assert set(stored) == {"all", "any"}
    assert all(isinstance(c["value"], list) for c in stored["all"] if c["op"] == "in")


@pytest.mark.parametrize("start", range(0, len(EVERY_SPECS), 30))
def test_every_chunk_round_trips(start: int) -> None:
    chunk = [{"field": f, "op": op, "value": v} for f, op, v in EVERY_SPECS[start : start + 30]]
    parsed = parse_conditions({"any": chunk})
    assert parse_conditions(conditions_to_spec(parsed)) == parsed
    assert len(parsed.any) == len(chunk)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ([], frozenset()),
        ([OPEN, URGENT], {"status", "priority"}),
        ({"any": [{"field": "status", "op": "changed_to", "value": "open"}]}, {"changes"}),
        ([{"field": "text", "op": "contains", "value": "x"}],
         {"text", "subject", "message.text"}),
        ([{"field": "custom_fields.plan", "op": "present"}],
         {"custom_fields.plan", "custom_fields"}),
        ({"all": [{"field": "hours_since_created", "op": "gte", "value": 1}],
          "any": [{"field": "sla.breached", "op": "contains", "value": "resolution"}]},
         {"hours_since_created", "sla.breached"}),
    ],
)  # fmt: skip
def test_referenced_fields(spec: Any, expected: set[str]) -> None:
    assert referenced_fields(parse_conditions(spec)) == expected


def test_ops_for_a_form() -> None:
    assert ops_for("event") == ("is", "in")
    assert ops_for("custom_fields.plan")[:2] == ("is", "is_not")
    assert ops_for("nope") == ()


# ── many rules, many times ──


def test_fifty_rule_sets_evaluated_a_thousand_times() -> None:
    rules = []
    for i in range(50):
        rules.append(
            parse_conditions(
                {
                    "all": [
                        {"field": "event", "op": "in",
                         "value": ["ticket.created", "ticket.updated"]},
                        {"field": "priority", "op": "is", "value": "urgent" if i % 2 else "low"},
                        {"field": "tags", "op": "not_contains", "value": f"skip-{i}"},
                    ],
                    "any": [
                        {"field": "message.text", "op": "matches_any_word",
                         "value": ["войти", f"word{i}"]},
                        {"field": "organization.vip", "op": "is", "value": True},
                    ],
                }
            )
        )  # fmt: skip
    matched = 0
    for _ in range(1000):
        for rule in rules:
            matched += evaluate(rule, TICKET)
    assert matched == 25 * 1000
