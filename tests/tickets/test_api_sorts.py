"""GET /api/v1/tickets in every sort of ``SORTS``: walking the pages gives every ticket
exactly once, in the sort's order, with NULLs (no assignee, no group, no due time) last."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from opora.db import Database
from opora.kit.pagination import encode_cursor
from opora.tickets.models import Ticket
from opora.tickets.repository import SORTS, STATUS_ORDER
from tests.conftest import Company

API = "/api/v1"
PRIORITY = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
NAMES = {"carol@acme.ru": "Carol Customer", "dave@acme.ru": "Dave Colleague",
         "erin@globex.com": "Erin Other"}  # fmt: skip


async def _create(client: httpx.AsyncClient, company: Company, **fields: Any) -> dict[str, Any]:
    r = await client.post(f"{API}/tickets", headers=company.admin.headers, json=fields)
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.fixture
async def tickets(
    client: httpx.AsyncClient, company: Company, db: Database
) -> list[dict[str, Any]]:
    """Nine tickets with ties and NULLs in every sortable column."""
    l1, l2 = company.l1_group_id, company.l2_group_id
    lena, igor = company.l1_agent.id, company.l2_agent.id
    specs: list[dict[str, Any]] = [
        {"subject": "bravo", "requester": "carol@acme.ru", "priority": "low", "status": "open",
         "group_id": l1, "assignee_id": lena},
        {"subject": "alpha", "requester": "erin@globex.com", "priority": "urgent",
         "status": "pending", "group_id": l2, "assignee_id": igor},
        {"subject": "charlie", "requester": "dave@acme.ru", "priority": "high"},
        {"subject": "alpha", "requester": "carol@acme.ru", "priority": "urgent", "status": "open",
         "group_id": l1},
        {"subject": "delta", "requester": "erin@globex.com", "priority": "normal",
         "status": "on_hold", "group_id": l2, "assignee_id": igor},
        {"subject": "echo", "requester": "dave@acme.ru", "priority": "normal",
         "status": "solved", "group_id": l1, "assignee_id": lena},
        {"subject": "bravo", "requester": "carol@acme.ru", "priority": "high", "status": "new"},
        {"subject": "foxtrot", "requester": "dave@acme.ru", "priority": "low",
         "status": "pending", "group_id": l1, "assignee_id": lena},
        {"subject": "golf", "requester": "erin@globex.com", "priority": "urgent",
         "status": "open", "group_id": l2},
    ]  # fmt: skip
    base = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    dues = [base + timedelta(hours=3), None, base, base + timedelta(hours=3), None,
            base - timedelta(days=2), None, base + timedelta(hours=1), base]  # fmt: skip
    made = []
    for spec, due in zip(specs, dues, strict=True):
        email = spec.pop("requester")
        created = await _create(client, company, body="Help.", requester={"email": email}, **spec)
        r = await client.get(f"{API}/tickets/{created['id']}", headers=company.admin.headers)
        ticket = r.json()
        ticket["requester_name"] = NAMES[email]
        ticket["due_at"] = due
        made.append(ticket)
        async with db.unit_of_work() as s:
            await s.execute(update(Ticket).where(Ticket.id == created["id"]).values(due_at=due))
    return made


def _parts(
    t: dict[str, Any], name: str, groups: dict[int, str], users: dict[int, str]
) -> list[tuple[Any, bool]]:
    """The key of one ticket as (value, follows the direction?) parts, as the server sorts."""
    if name in ("updated_at", "created_at"):
        return [(datetime.fromisoformat(t[name]), True)]
    if name in ("number", "subject", "line"):
        return [(t[name], True)]
    if name == "status":
        return [(STATUS_ORDER.index(t["status"]), True)]
    if name == "priority":
        return [(PRIORITY[t["priority"]], True)]
    if name == "requester":
        return [(t["requester_name"], True)]
    if name == "assignee":
        a = t["assignee_id"]
        return [(a is None, False), (users.get(a, "") if a else "", True)]
    if name == "group":
        g = t["group_id"]
        return [(g is None, False), (groups.get(g, "") if g else "", True), (t["line"], True)]
    assert name == "due_at"
    due = t["due_at"]
    return [(due is None, False), (due or datetime.max.replace(tzinfo=UTC), True)]


def expected_order(
    tickets: list[dict[str, Any]], sort: str, groups: dict[int, str], users: dict[int, str]
) -> list[int]:
    descending = sort.startswith("-")
    name = sort.lstrip("-")

    def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
        for (va, follows), (vb, _) in zip(
            _parts(a, name, groups, users), _parts(b, name, groups, users), strict=True
        ):
            if va != vb:
                result = -1 if va < vb else 1
                return -result if descending and follows else result
        return (-1 if a["id"] < b["id"] else 1) * (-1 if descending else 1)

    return [t["id"] for t in sorted(tickets, key=functools.cmp_to_key(compare))]


async def walk(client: httpx.AsyncClient, company: Company, sort: str, limit: int) -> list[int]:
    walked: list[int] = []
    cursor = None
    for _ in range(50):
        params: dict[str, Any] = {"sort": sort, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        r = await client.get(f"{API}/tickets", headers=company.admin.headers, params=params)
        assert r.status_code == 200, r.text
        walked += [t["id"] for t in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return walked
    raise AssertionError("the pages never ended")


class TestEverySort:
    @pytest.mark.parametrize("sort", sorted(SORTS))
    async def test_pages_give_every_ticket_once_in_order(
        self,
        client: httpx.AsyncClient,
        company: Company,
        tickets: list[dict[str, Any]],
        sort: str,
    ) -> None:
        groups = {company.l1_group_id: "L1 Support", company.l2_group_id: "L2 Specialists"}
        users = {company.l1_agent.id: "Lena L1", company.l2_agent.id: "Igor L2"}
        expected = expected_order(tickets, sort, groups, users)
        assert await walk(client, company, sort, limit=200) == expected
        for limit in (2, 4):
            walked = await walk(client, company, sort, limit=limit)
            assert walked == expected, limit
            assert len(set(walked)) == len(tickets)

    async def test_nulls_come_last_both_ways(
        self, client: httpx.AsyncClient, company: Company, tickets: list[dict[str, Any]]
    ) -> None:
        no_due = {t["id"] for t in tickets if t["due_at"] is None}
        unassigned = {t["id"] for t in tickets if t["assignee_id"] is None}
        for sort in ("due_at", "-due_at"):
            assert set((await walk(client, company, sort, 2))[-len(no_due) :]) == no_due
        for sort in ("assignee", "-assignee"):
            assert set((await walk(client, company, sort, 2))[-len(unassigned) :]) == unassigned

    async def test_priority_descending_puts_urgent_first(
        self, client: httpx.AsyncClient, company: Company, tickets: list[dict[str, Any]]
    ) -> None:
        walked = await walk(client, company, "-priority", 3)
        by_id = {t["id"]: t for t in tickets}
        assert [by_id[i]["priority"] for i in walked][:3] == ["urgent"] * 3
        assert by_id[walked[-1]]["priority"] == "low"

    @pytest.mark.parametrize(
        ("sort", "cursor"),
        [
            ("subject", encode_cursor([3, 1])),  # a number where the subject goes
            ("priority", encode_cursor(["urgent", 1])),  # the rank is a number
            ("due_at", encode_cursor([0, "2026-12-01T09:00:00", 1])),  # no time zone
            ("due_at", encode_cursor([0, "2026-12-01T09:00:00+00:00"])),  # a value short
            ("assignee", encode_cursor([0, "Lena L1", True])),  # a boolean for the id
            ("requester", encode_cursor(["x" * 2000, 1])),  # longer than any name
        ],
    )
    async def test_an_edited_cursor_is_a_422_on_the_cursor(
        self,
        client: httpx.AsyncClient,
        company: Company,
        tickets: list[dict[str, Any]],
        sort: str,
        cursor: str,
    ) -> None:
        r = await client.get(
            f"{API}/tickets",
            headers=company.admin.headers,
            params={"sort": sort, "cursor": cursor},
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == "cursor"
