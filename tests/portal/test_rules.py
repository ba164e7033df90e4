"""The portal's pure decisions, by table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opora.portal import rules

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("new", [("received", "current"), ("working", "todo"), ("solved", "todo")]),
        ("open", [("received", "done"), ("working", "current"), ("solved", "todo")]),
        ("on_hold", [("received", "done"), ("working", "current"), ("solved", "todo")]),
        (
            "pending",
            [("received", "done"), ("working", "done"), ("waiting", "current"), ("solved", "todo")],
        ),
        ("solved", [("received", "done"), ("working", "done"), ("solved", "current")]),
        ("closed", [("received", "done"), ("working", "done"), ("solved", "current")]),
    ],
)
def test_progress(status: str, expected: list[tuple[str, str]]) -> None:
    assert [(s.key, s.state) for s in rules.progress(status)] == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [("new", "answer"), ("open", "answer"), ("on_hold", "answer"), ("pending", "your_reply"),
     ("solved", "confirm"), ("closed", "closed")],
)  # fmt: skip
def test_next_step(status: str, expected: str) -> None:
    assert rules.next_step(status) == expected


FIRST = NOW + timedelta(hours=2)
NEXT = NOW + timedelta(hours=5)


@pytest.mark.parametrize(
    ("status", "first_due", "next_due", "responded", "expected"),
    [
        ("new", FIRST, None, None, FIRST),  # not answered yet: the first response
        ("open", FIRST, NEXT, NOW, NEXT),  # answered: the next response
        ("open", FIRST, None, NOW, None),  # answered and nothing asked since
        ("pending", FIRST, NEXT, None, None),  # we wait for the customer
        ("solved", FIRST, NEXT, NOW, None),
        ("new", None, None, None, None),  # no SLA, no promise
    ],
)
def test_response_due(
    status: str,
    first_due: datetime | None,
    next_due: datetime | None,
    responded: datetime | None,
    expected: datetime | None,
) -> None:
    assert rules.response_due(status, first_due, next_due, responded) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/help/requests/5", "/help/requests/5"),
        ("/help", "/help"),
        ("/help/requests?cursor=x", "/help/requests?cursor=x"),
        (None, "/help/requests"),
        ("https://evil.example/help", "/help/requests"),
        ("//evil.example/help", "/help/requests"),
        ("/inbox", "/help/requests"),  # never the agent pages
        ("/helpdesk", "/help/requests"),
        ("/help/sign-in/abc", "/help/requests"),  # no loop back into signing in
        ("/help\\..\\inbox", "/help/requests"),
    ],
)
def test_safe_portal_path(value: str | None, expected: str) -> None:
    assert rules.safe_portal_path(value) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [("new", True), ("open", True), ("pending", True), ("on_hold", True), ("solved", False),
     ("closed", False)],
)  # fmt: skip
def test_may_mark_solved(status: str, expected: bool) -> None:
    assert rules.may_mark_solved(status) is expected


@pytest.mark.parametrize(("value", "expected"), [("", False), (None, False), ("  ", False),
                                                 ("http://spam", True)])  # fmt: skip
def test_honeypot(value: str | None, expected: bool) -> None:
    assert rules.honeypot_tripped(value) is expected
