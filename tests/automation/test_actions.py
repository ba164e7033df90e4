"""Actions of triggers, time rules and macros: validation and normalization. Pure."""

from __future__ import annotations

from typing import Any

import pytest

from opora.automation.actions import KINDS, Action, actions_to_spec, parse_actions
from opora.automation.conditions import RuleError

HOOK = "https://hooks.example.com/opora"


@pytest.mark.parametrize(
    ("given", "kind", "params"),
    [
        ({"action": "set_status", "status": "pending"}, "set_status", {"status": "pending"}),
        ({"action": "set_priority", "priority": "urgent"}, "set_priority",
         {"priority": "urgent"}),
        ({"action": "set_type", "type": "incident"}, "set_type", {"type": "incident"}),
        ({"action": "set_group", "group_id": 4}, "set_group", {"group_id": 4}),
        ({"action": "set_group", "group_id": "4"}, "set_group", {"group_id": 4}),
        ({"action": "assign", "user_id": 9}, "assign", {"user_id": 9}),
        ({"action": "assign", "user_id": None}, "assign", {"user_id": None}),
        ({"action": "assign_round_robin"}, "assign_round_robin", {}),
        ({"action": "assign_least_loaded"}, "assign_least_loaded", {}),
        ({"action": "add_tags", "tags": [" VIP ", "Billing Issue", "vip"]}, "add_tags",
         {"tags": ("vip", "billing-issue")}),
        ({"action": "remove_tags", "tags": ["spam"]}, "remove_tags", {"tags": ("spam",)}),
        ({"action": "set_custom_field", "key": "plan", "value": "Pro"}, "set_custom_field",
         {"key": "plan", "value": "Pro"}),
        ({"action": "set_custom_field", "key": "seats", "value": 2.5}, "set_custom_field",
         {"key": "seats", "value": 2.5}),
        ({"action": "set_custom_field", "key": "trial", "value": False}, "set_custom_field",
         {"key": "trial", "value": False}),
        ({"action": "set_custom_field", "key": "modules", "value": ["crm", "hr"]},
         "set_custom_field", {"key": "modules", "value": ("crm", "hr")}),
        ({"action": "set_custom_field", "key": "plan", "value": None}, "set_custom_field",
         {"key": "plan", "value": None}),
        ({"action": "escalate", "reason": "  VIP client waiting "}, "escalate",
         {"reason": "VIP client waiting"}),
        ({"action": "deescalate", "reason": "resolved by L2"}, "deescalate",
         {"reason": "resolved by L2"}),
        ({"action": "escalate", "reason": "refund", "group_id": "4"}, "escalate",
         {"reason": "refund", "group_id": 4}),
        ({"action": "add_note", "text": "Клиент VIP: {{organization.name}}"}, "add_note",
         {"text": "Клиент VIP: {{organization.name}}"}),
        ({"action": "reply", "text": "Здравствуйте, {{ contact.first_name }}!"}, "reply",
         {"text": "Здравствуйте, {{ contact.first_name }}!"}),
        ({"action": "notify_email", "to": "requester", "subject": "#{{ticket.number}}",
          "body": "{{ticket.url}}"}, "notify_email",
         {"to": "requester", "subject": "#{{ticket.number}}", "body": "{{ticket.url}}"}),
        ({"action": "notify_email", "to": "group", "subject": "s", "body": "b"},
         "notify_email", {"to": "group", "subject": "s", "body": "b"}),
        ({"action": "notify_email", "to": " Boss@Example.COM ", "subject": "s", "body": "b"},
         "notify_email", {"to": "Boss@example.com", "subject": "s", "body": "b"}),
        ({"action": "webhook", "url": HOOK}, "webhook",
         {"url": HOOK, "method": "POST", "headers": {}}),
        ({"action": "webhook", "url": "http://crm.local:8080/t?x=1", "method": "patch",
          "headers": {"Authorization": "Bearer abc", "X-Source": "opora"},
          "body": '{"number": "{{ticket.number}}"}'}, "webhook",
         {"url": "http://crm.local:8080/t?x=1", "method": "PATCH",
          "headers": {"Authorization": "Bearer abc", "X-Source": "opora"},
          "body": '{"number": "{{ticket.number}}"}'}),
        ({"action": "webhook", "url": HOOK, "method": "PUT", "body": None}, "webhook",
         {"url": HOOK, "method": "PUT", "headers": {}, "body": None}),
    ],
)  # fmt: skip
def test_each_kind_is_validated_and_normalized(
    given: dict[str, Any], kind: str, params: dict[str, Any]
) -> None:
    (action,) = parse_actions([given])
    assert action.kind == kind
    assert dict(action.params) == params


def test_every_kind_is_listed() -> None:
    assert set(KINDS) == {
        "set_status", "set_priority", "set_type", "set_group", "assign",
        "assign_round_robin", "assign_least_loaded", "add_tags", "remove_tags",
        "set_custom_field", "escalate", "deescalate", "add_note", "reply", "notify_email",
        "webhook",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        (None, "actions"),
        ([], "actions"),
        ({"action": "assign_round_robin"}, "actions"),
        ([{"action": "assign_round_robin"}] * 31, "actions"),
        (["set_status"], "actions.0"),
        ([{"status": "open"}], "actions.0.action"),
        ([{"action": "close_ticket"}], "actions.0.action"),
        ([{"action": 5}], "actions.0.action"),
        ([{"action": "set_status", "status": "open", "priority": "low"}], "actions.0.priority"),
        ([{"action": "assign_round_robin", "group_id": 1}], "actions.0.group_id"),
        ([{"action": "set_status"}], "actions.0.status"),
        ([{"action": "set_status", "status": "reopened"}], "actions.0.status"),
        ([{"action": "set_priority", "priority": "URGENT"}], "actions.0.priority"),
        ([{"action": "set_type", "type": None}], "actions.0.type"),
        ([{"action": "set_group", "group_id": None}], "actions.0.group_id"),
        ([{"action": "set_group", "group_id": 0}], "actions.0.group_id"),
        ([{"action": "set_group", "group_id": True}], "actions.0.group_id"),
        ([{"action": "assign"}], "actions.0.user_id"),
        ([{"action": "assign", "user_id": "me"}], "actions.0.user_id"),
        ([{"action": "assign", "user_id": -3}], "actions.0.user_id"),
        ([{"action": "add_tags", "tags": []}], "actions.0.tags"),
        ([{"action": "add_tags", "tags": "vip"}], "actions.0.tags"),
        ([{"action": "add_tags", "tags": ["a"] * 51}], "actions.0.tags"),
        ([{"action": "remove_tags", "tags": ["ok", " "]}], "actions.0.tags.1"),
        ([{"action": "remove_tags", "tags": ["ok", "x" * 101]}], "actions.0.tags.1"),
        ([{"action": "set_custom_field", "key": "Plan", "value": 1}], "actions.0.key"),
        ([{"action": "set_custom_field", "value": 1}], "actions.0.key"),
        ([{"action": "set_custom_field", "key": "plan"}], "actions.0.value"),
        ([{"action": "set_custom_field", "key": "plan", "value": {"a": 1}}], "actions.0.value"),
        ([{"action": "set_custom_field", "key": "n", "value": float("nan")}], "actions.0.value"),
        ([{"action": "set_custom_field", "key": "t", "value": "x" * 10_001}],
         "actions.0.value"),
        ([{"action": "set_custom_field", "key": "m", "value": ["a", 1]}], "actions.0.value.1"),
        ([{"action": "escalate"}], "actions.0.reason"),
        ([{"action": "escalate", "reason": "   "}], "actions.0.reason"),
        ([{"action": "escalate", "reason": "x" * 1001}], "actions.0.reason"),
        ([{"action": "deescalate", "reason": 5}], "actions.0.reason"),
        ([{"action": "escalate", "reason": "r", "group_id": "L2"}], "actions.0.group_id"),
        ([{"action": "add_note", "text": ""}], "actions.0.text"),
        ([{"action": "add_note", "text": "x" * 20_001}], "actions.0.text"),
        ([{"action": "add_note", "text": "{{ticket.nubmer}}"}], "actions.0.text"),
        ([{"action": "reply", "text": "Hi {{ contact.name"}], "actions.0.text"),
        ([{"action": "notify_email", "subject": "s", "body": "b"}], "actions.0.to"),
        ([{"action": "notify_email", "to": "everyone", "subject": "s", "body": "b"}],
         "actions.0.to"),
        ([{"action": "notify_email", "to": "a@b@c", "subject": "s", "body": "b"}],
         "actions.0.to"),
        ([{"action": "notify_email", "to": "x@example.com\r\nBcc: y@example.com",
           "subject": "s", "body": "b"}], "actions.0.to"),
        ([{"action": "notify_email", "to": "requester", "body": "b"}], "actions.0.subject"),
        ([{"action": "notify_email", "to": "requester", "subject": "x" * 501, "body": "b"}],
         "actions.0.subject"),
        ([{"action": "notify_email", "to": "requester", "subject": "a\r\nBcc: x@y.z",
           "body": "b"}], "actions.0.subject"),
        ([{"action": "notify_email", "to": "requester", "subject": "{{x}}", "body": "b"}],
         "actions.0.subject"),
        ([{"action": "notify_email", "to": "requester", "subject": "s"}], "actions.0.body"),
        ([{"action": "notify_email", "to": "requester", "subject": "s", "body": "{{"}],
         "actions.0.body"),
        ([{"action": "notify_email", "to": "requester", "subject": "s", "body": "b",
           "cc": "x@y.z"}], "actions.0.cc"),
        ([{"action": "webhook"}], "actions.0.url"),
        ([{"action": "webhook", "url": "ftp://files.example.com/x"}], "actions.0.url"),
        ([{"action": "webhook", "url": "javascript:alert(1)"}], "actions.0.url"),
        ([{"action": "webhook", "url": "file:///etc/passwd"}], "actions.0.url"),
        ([{"action": "webhook", "url": "//example.com/x"}], "actions.0.url"),
        ([{"action": "webhook", "url": "https://"}], "actions.0.url"),
        ([{"action": "webhook", "url": "https://exa mple.com/"}], "actions.0.url"),
        ([{"action": "webhook", "url": "https://example.com/\r\nX: y"}], "actions.0.url"),
        ([{"action": "webhook", "url": "http://[::1"}], "actions.0.url"),
        ([{"action": "webhook", "url": "http://example.com:99999/"}], "actions.0.url"),
        ([{"action": "webhook", "url": HOOK + "/" + "x" * 2000}], "actions.0.url"),
        ([{"action": "webhook", "url": HOOK + "/{{ticket.number}}"}], "actions.0.url"),
        ([{"action": "webhook", "url": HOOK, "method": "GET"}], "actions.0.method"),
        ([{"action": "webhook", "url": HOOK, "method": "DELETE"}], "actions.0.method"),
        ([{"action": "webhook", "url": HOOK, "headers": ["X: y"]}], "actions.0.headers"),
        ([{"action": "webhook", "url": HOOK,
           "headers": {f"X-{i}": "v" for i in range(21)}}], "actions.0.headers"),
        ([{"action": "webhook", "url": HOOK, "headers": {"X-Ok": "a\r\nInjected: yes"}}],
         "actions.0.headers.X-Ok"),
        ([{"action": "webhook", "url": HOOK, "headers": {"X-Ok": "a\nb"}}],
         "actions.0.headers.X-Ok"),
        ([{"action": "webhook", "url": HOOK, "headers": {"X-Ok": "a\x00"}}],
         "actions.0.headers.X-Ok"),
        ([{"action": "webhook", "url": HOOK, "headers": {"X Bad": "v"}}],
         "actions.0.headers.X Bad"),
        ([{"action": "webhook", "url": HOOK, "headers": {"X-A\r\nB": "v"}}],
         "actions.0.headers.X-A\r\nB"),
        ([{"action": "webhook", "url": HOOK, "headers": {"Host": "evil.example"}}],
         "actions.0.headers.Host"),
        ([{"action": "webhook", "url": HOOK, "headers": {"content-length": "1"}}],
         "actions.0.headers.content-length"),
        ([{"action": "webhook", "url": HOOK, "headers": {"X-A": "1", "x-a": "2"}}],
         "actions.0.headers.x-a"),
        ([{"action": "webhook", "url": HOOK, "headers": {"X-A": 1}}], "actions.0.headers.X-A"),
        ([{"action": "webhook", "url": HOOK, "body": "x" * 20_001}], "actions.0.body"),
        ([{"action": "webhook", "url": HOOK, "body": "{{ticket.secret}}"}], "actions.0.body"),
        ([{"action": "webhook", "url": HOOK, "timeout": 5}], "actions.0.timeout"),
        ([{"action": "set_status", "status": "open"}, {"action": "set_status"}],
         "actions.1.status"),
    ],
)  # fmt: skip
def test_bad_actions_name_their_path(spec: Any, path: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_actions(spec)
    assert caught.value.path == path
    assert caught.value.message


def test_the_path_prefix_is_the_callers() -> None:
    with pytest.raises(RuleError) as caught:
        parse_actions([{"action": "assign_round_robin"}, {"action": "x"}], path="macro.actions")
    assert caught.value.path == "macro.actions.1.action"


def test_an_unknown_key_names_what_the_kind_takes() -> None:
    with pytest.raises(RuleError) as caught:
        parse_actions([{"action": "notify_email", "to": "group", "subject": "s", "body": "b",
                        "bcc": "x@y.z"}])  # fmt: skip
    assert caught.value.message == "notify_email takes only to, subject, body"


@pytest.mark.parametrize(
    ("allowed", "kind", "ok"),
    [
        (None, "reply", True),
        ({"reply", "add_note"}, "reply", True),
        ({"add_note", "set_status"}, "reply", False),
        (set(), "add_note", False),
    ],
)
def test_allowed_narrows_the_kinds(allowed: set[str] | None, kind: str, ok: bool) -> None:
    spec = [{"action": kind, "text": "Hello"}]
    if ok:
        assert parse_actions(spec, allowed=allowed)[0].kind == kind
    else:
        with pytest.raises(RuleError) as caught:
            parse_actions(spec, allowed=allowed)
        assert caught.value.path == "actions.0.action"


def test_params_are_read_only() -> None:
    (action,) = parse_actions([{"action": "webhook", "url": HOOK, "headers": {"X-A": "1"}}])
    with pytest.raises(TypeError):
        action.params["url"] = "https://evil.example"  # type: ignore[index]
    with pytest.raises(TypeError):
        action.params["headers"]["X-A"] = "2"


EVERY_KIND: list[dict[str, Any]] = [
    {"action": "set_status", "status": "solved"},
    {"action": "set_priority", "priority": "high"},
    {"action": "set_type", "type": "problem"},
    {"action": "set_group", "group_id": "2"},
    {"action": "assign", "user_id": None},
    {"action": "assign_round_robin"},
    {"action": "assign_least_loaded"},
    {"action": "add_tags", "tags": ["Needs Review", "vip"]},
    {"action": "remove_tags", "tags": ["new"]},
    {"action": "set_custom_field", "key": "modules", "value": ["crm"]},
    {"action": "escalate", "reason": "urgent and VIP"},
    {"action": "deescalate", "reason": "done"},
    {"action": "add_note", "text": "Auto: {{ ticket.priority }}"},
    {"action": "reply", "text": "We are on it, {{contact.first_name}}."},
    {"action": "notify_email", "to": "assignee", "subject": "#{{ticket.number}}", "body": "."},
    {"action": "webhook", "url": HOOK, "method": "put", "headers": {"X-A": "1"}, "body": "{}"},
]


def test_every_kind_round_trips() -> None:
    parsed = parse_actions(EVERY_KIND)
    stored = actions_to_spec(parsed)
    assert parse_actions(stored) == parsed
    assert actions_to_spec(parse_actions(stored)) == stored
    assert {a["action"] for a in stored} == set(KINDS)
    assert stored[7] == {"action": "add_tags", "tags": ["needs-review", "vip"]}
    assert stored[15]["headers"] == {"X-A": "1"} and stored[15]["method"] == "PUT"
    assert all(isinstance(a, Action) for a in parsed)
