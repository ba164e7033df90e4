"""Placeholders in macro and notification texts: checking and rendering. Pure."""

from __future__ import annotations

from typing import Any

import pytest

from opora.automation.conditions import RuleError
from opora.automation.placeholders import (
    PLACEHOLDERS,
    check_placeholders,
    render_placeholders,
    used_placeholders,
)
from opora.tickets.models import TicketStatus

VALUES: dict[str, Any] = {
    "ticket.number": 1042,
    "ticket.subject": "Не могу войти",
    "ticket.status": TicketStatus.OPEN,
    "ticket.priority": "urgent",
    "ticket.url": "https://help.example.com/tickets/1042",
    "contact.name": "Анна Петрова",
    "contact.first_name": "Анна",
    "contact.email": "anna@example.com",
    "agent.name": "Lena",
    "organization.name": "ООО Ромашка",
    "group.name": "L2",
    "custom_fields.plan": "Pro",
    "custom_fields": {"plan": "Basic", "seats": 25, "modules": ["crm", "billing"], "gone": None},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ticket #{{ticket.number}}", "Ticket #1042"),
        ("{{ ticket.subject }}", "Не могу войти"),
        ("{{ticket.status}}/{{ticket.priority}}", "open/urgent"),
        ("{{\tcontact.first_name  }}, hello", "Анна, hello"),
        ("{{contact.name}} <{{contact.email}}>", "Анна Петрова <anna@example.com>"),
        ("{{agent.name}} ({{group.name}}, {{organization.name}})", "Lena (L2, ООО Ромашка)"),
        ("{{ticket.url}}", "https://help.example.com/tickets/1042"),
        ("{{ticket.number}}{{ticket.number}}", "10421042"),
        ("{{custom_fields.plan}}", "Pro"),  # the full name wins over the mapping
        ("{{custom_fields.seats}}", "25"),
        ("{{custom_fields.modules}}", "crm, billing"),
        ("{{custom_fields.gone}}", ""),
        ("{{custom_fields.unknown_key}}", ""),
        ("{{unknown.thing}}", ""),
        ("{{ticket.__class__}}", ""),
        ("no braces at all", "no braces at all"),
        ("{ticket.number}", "{ticket.number}"),
        ("a {{ b", "a {{ b"),
        ("{{ticket.number | upper}}", "{{ticket.number | upper}}"),
        ('{"n": "{{ticket.number}}", "a": {"b": 1}}', '{"n": "1042", "a": {"b": 1}}'),
    ],
)
def test_render(text: str, expected: str) -> None:
    assert render_placeholders(text, VALUES) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, "[]"),
        ({"ticket.subject": None}, "[]"),
        ({"ticket.subject": "{{contact.email}}", "contact.email": "x"}, "[{{contact.email}}]"),
        ({"ticket.subject": "<b>hi</b> & {{"}, "[<b>hi</b> & {{]"),
        ({"ticket.subject": 3.5}, "[3.5]"),
        ({"ticket.subject": ("a", None, 2)}, "[a, , 2]"),
    ],
)
def test_values_go_in_once_and_as_text(values: dict[str, Any], expected: str) -> None:
    assert render_placeholders("[{{ticket.subject}}]", values) == expected


def test_every_documented_placeholder_renders() -> None:
    for name in PLACEHOLDERS:
        concrete = name.replace("<key>", "plan_2")
        rendered = render_placeholders(f"<{{{{ {concrete} }}}}>", {concrete: "X"})
        assert rendered == "<X>", name
        check_placeholders(f"{{{{{concrete}}}}}", path="text")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain text",
        "{{ticket.number}}",
        "{{ custom_fields.plan_2 }}",
        "{{custom_fields.a}}",
        '{"a": {"b": 1}}',
        '{"n": "{{ticket.number}}"}}',
        "single { and } braces",
        "{{ticket.number}}}",
    ],
)
def test_good_texts_pass(text: str) -> None:
    check_placeholders(text, path="actions.0.text")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Hi {{ticket.numbr}}", "unknown placeholder {{ticket.numbr}}"),
        ("{{Ticket.Number}}", "unknown placeholder {{Ticket.Number}}"),
        ("{{custom_fields.Plan}}", "unknown placeholder {{custom_fields.Plan}}"),
        ("{{ custom_fields. }}", "unknown placeholder {{custom_fields.}}"),
        ("{{custom_fields.a.b}}", "unknown placeholder {{custom_fields.a.b}}"),
        ("{{custom_fields." + "a" * 65 + "}}", "unknown placeholder"),
        ("Hello {{ contact.name", '"{{ contact.name" at character 7 is not a placeholder'),
        ("{{}}", '"{{}}" at character 1'),
        ("{{ticket number}}", "at character 1 is not a placeholder"),
        ("{{{ticket.number}}}", "at character 1 is not a placeholder"),
        ("{{ticket.number}} {{", "at character 19 is not a placeholder"),
        ("{{ticket.number | upper}}", "at character 1"),
        ("{{ ticket.number }}\n{{ x y }}", "at character 21"),
        ("{% if x %}{{ticket.__init__}}", "unknown placeholder {{ticket.__init__}}"),
    ],
)
def test_bad_texts_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        check_placeholders(text, path="actions.2.body")
    assert caught.value.path == "actions.2.body"
    assert message in caught.value.message


def test_the_unknown_message_lists_the_known_names() -> None:
    with pytest.raises(RuleError) as caught:
        check_placeholders("{{ticket.id}}", path="text")
    assert "ticket.number" in caught.value.message
    assert "custom_fields.<key>" in caught.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", set()),
        ("no placeholders {{", set()),
        ("{{ticket.number}} and {{ ticket.number }}", {"ticket.number"}),
        ("{{contact.name}} {{custom_fields.plan}} {{nope}}",
         {"contact.name", "custom_fields.plan", "nope"}),
    ],
)  # fmt: skip
def test_used_placeholders(text: str, expected: set[str]) -> None:
    assert used_placeholders(text) == expected
