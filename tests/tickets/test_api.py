"""The agents' ticket REST API (/api/v1): status codes, bodies, errors, atomicity."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select

from opora.contacts.models import Contact, ContactIdentity
from opora.db import Database
from opora.kit.pagination import encode_cursor
from opora.search.models import TicketSearch
from opora.tickets.models import Counter, Message, Tag, Ticket, TicketEvent, TicketTag
from tests.conftest import Company, Persona

API = "/api/v1"
WRITTEN = (Ticket, Message, TicketEvent, TicketTag, Tag, Contact, ContactIdentity, TicketSearch)


async def create(
    client: httpx.AsyncClient, company: Company, *, by: Persona | None = None, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": "Cannot sign in",
        "body": "The app says my password is wrong.",
        "requester": {"email": "carol@acme.ru"},
        "group_id": company.l1_group_id,
    }
    body.update(fields)
    r = await client.post(f"{API}/tickets", headers=(by or company.l1_agent).headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def get(client: httpx.AsyncClient, company: Company, ticket_id: int) -> dict[str, Any]:
    r = await client.get(f"{API}/tickets/{ticket_id}", headers=company.l1_agent.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def patch(
    client: httpx.AsyncClient, persona: Persona, ticket_id: int, **changes: Any
) -> httpx.Response:
    return await client.patch(f"{API}/tickets/{ticket_id}", headers=persona.headers, json=changes)


async def row_counts(db: Database) -> dict[str, int]:
    async with db.unit_of_work(write=False) as s:
        return {
            m.__tablename__: int((await s.execute(select(func.count()).select_from(m))).scalar())
            for m in (*WRITTEN, Counter)
        }


def error(r: httpx.Response) -> dict[str, Any]:
    return r.json()["error"]


async def add_field(client: httpx.AsyncClient, company: Company, **field: Any) -> None:
    r = await client.post(f"{API}/custom-fields", headers=company.admin.headers, json=field)
    assert r.status_code == 201, r.text


@contextmanager
def counting_queries(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        head = statement.lstrip().split(None, 1)[0].upper()
        if head not in {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA"}:
            statements.append(statement)

    engines = {id(e): e for e in (db.write_engine.sync_engine, db.read_engine.sync_engine)}
    for engine in engines.values():
        event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        for engine in engines.values():
            event.remove(engine, "before_cursor_execute", before)


# --- creating ----------------------------------------------------------------------------


class TestCreateTicket:
    async def test_returns_201_with_the_id_and_the_next_number(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        first = await create(client, company)
        second = await create(client, company)
        assert (first["number"], second["number"]) == (1, 2)
        assert first["status"] == "new"
        assert isinstance(first["id"], int) and first["id"] != second["id"]

    async def test_concurrent_creates_get_distinct_numbers_without_gaps(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        async def one(i: int) -> httpx.Response:
            return await client.post(
                f"{API}/tickets",
                headers=company.l1_agent.headers,
                json={"subject": f"#{i}", "body": "b", "requester_id": company.customer.id},
            )

        responses = await asyncio.gather(*(one(i) for i in range(6)))  # the first ones race
        assert [r.status_code for r in responses] == [201] * 6, [r.text for r in responses]
        assert sorted(r.json()["number"] for r in responses) == [1, 2, 3, 4, 5, 6]

    async def test_the_ticket_carries_every_field_of_the_domain(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await add_field(client, company, key="order_id", label="Order", type="text")
        created = await create(
            client, company, priority="high", type="incident", channel="email",
            assignee_id=company.l1_agent.id, tags=["Login", "vip"],
            custom_fields={"order_id": "A-42"},
        )  # fmt: skip
        t = await get(client, company, created["id"])
        assert {k: t[k] for k in ("number", "subject", "status", "priority", "type")} == {
            "number": 1, "subject": "Cannot sign in", "status": "open", "priority": "high",
            "type": "incident",
        }  # fmt: skip
        assert (t["channel"], t["requester_id"], t["organization_id"]) == (
            "email", company.customer.id, company.acme_id,
        )  # fmt: skip
        assert (t["group_id"], t["line"], t["assignee_id"]) == (
            company.l1_group_id, 1, company.l1_agent.id,
        )  # fmt: skip
        assert t["tags"] == ["login", "vip"]
        assert t["custom_fields"] == {"order_id": "A-42"}
        assert t["follower_contact_ids"] == []
        assert t["links"] == []
        assert t["merged_into_id"] is None
        assert t["satisfaction"] is None
        assert set(t["sla"]) >= {"first_response_due_at", "next_response_due_at",
                                 "resolution_due_at"}  # fmt: skip
        for stamp in ("created_at", "updated_at", "last_customer_message_at"):
            assert t[stamp] is not None, stamp
        for stamp in ("first_responded_at", "escalated_at", "solved_at", "closed_at"):
            assert t[stamp] is None, stamp
        (message,) = t["messages"]
        assert (message["visibility"], message["author_contact_id"]) == (
            "public", company.customer.id,
        )  # fmt: skip

    async def test_without_a_subject_it_is_a_422_naming_the_field(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.post(
            f"{API}/tickets",
            headers=company.l1_agent.headers,
            json={"body": "help", "requester": {"email": "carol@acme.ru"}},
        )
        assert r.status_code == 422
        assert error(r)["code"] == "validation_error"
        assert error(r)["field"] == "body.subject"
        assert [f["field"] for f in error(r)["fields"]] == ["body.subject"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"subject": "x", "body": "y"}, "body"),  # no requester at all
            ({"subject": "x", "body": "y", "requester": {"email": "not-an-email"}},
             "body.requester.email"),
            ({"subject": "x", "body": "y", "requester_id": 1, "priority": "blocker"},
             "body.priority"),
            ({"subject": "x", "body": "y", "requester_id": 1, "colour": "red"}, "body.colour"),
        ],
    )  # fmt: skip
    async def test_a_malformed_body_is_a_422_naming_the_field(
        self, client: httpx.AsyncClient, company: Company, body: dict[str, Any], field: str
    ) -> None:
        r = await client.post(f"{API}/tickets", headers=company.l1_agent.headers, json=body)
        assert r.status_code == 422, r.text
        assert error(r)["field"] == field

    async def test_a_missing_required_custom_field_is_a_422_naming_it(
        self, client: httpx.AsyncClient, company: Company, db: Database
    ) -> None:
        await add_field(client, company, key="order_id", label="Order", type="text", required=True)
        r = await client.post(
            f"{API}/tickets",
            headers=company.l1_agent.headers,
            json={"subject": "x", "body": "y", "requester_id": company.customer.id},
        )
        assert r.status_code == 422
        assert error(r)["code"] == "field_required"
        assert error(r)["field"] == "custom_fields.order_id"
        assert (await row_counts(db))["tickets"] == 0

    @pytest.mark.parametrize(
        ("change", "status", "code", "field"),
        [
            ({"custom_fields": {"amount": "a lot"}}, 422, "invalid", "custom_fields.amount"),
            ({"custom_fields": {"colour": "red"}}, 422, "invalid", "custom_fields.colour"),
            ({"assignee_id": "L2"}, 422, "assignee_not_in_group", "assignee_id"),
            ({"group_id": 999_999}, 422, "invalid", "group_id"),
            ({"attachment_ids": [999_999]}, 422, "invalid", "attachment_ids"),
            ({"status": "closed"}, 422, "invalid", "status"),
        ],
    )
    async def test_a_refused_create_leaves_nothing_behind(
        self,
        client: httpx.AsyncClient,
        company: Company,
        db: Database,
        change: dict[str, Any],
        status: int,
        code: str,
        field: str,
    ) -> None:
        await add_field(client, company, key="amount", label="Amount", type="number")
        await create(client, company)  # ticket 1, so the counter exists
        before = await row_counts(db)
        if change.get("assignee_id") == "L2":
            change = {"assignee_id": company.l2_agent.id}
        body = {
            "subject": "Brand new problem",
            "body": "from a brand new person",
            "requester": {"email": "first.time@newcorp.io", "name": "First Time"},
            "group_id": company.l1_group_id,
            "tags": ["never-used-before"],
            **change,
        }
        r = await client.post(f"{API}/tickets", headers=company.l1_agent.headers, json=body)
        assert r.status_code == status, r.text
        assert (error(r)["code"], error(r)["field"]) == (code, field)
        assert await row_counts(db) == before
        assert (await create(client, company))["number"] == 2  # no number was used up

    async def test_a_custom_number_that_is_not_finite_is_a_422(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await add_field(client, company, key="amount", label="Amount", type="number")
        r = await client.post(
            f"{API}/tickets",
            headers={**company.l1_agent.headers, "Content-Type": "application/json"},
            content=b'{"subject": "x", "body": "y", "requester_id": %d, '
            b'"custom_fields": {"amount": NaN}}' % company.customer.id,
        )
        assert r.status_code == 422, r.text
        assert error(r)["field"] == "custom_fields.amount"

    async def test_html_is_sanitized(self, client: httpx.AsyncClient, company: Company) -> None:
        created = await create(
            client, company, body="",
            html='<p onclick="x()">Look <a href="https://ex.com/a">here</a></p>'
                 '<script>steal()</script><img src="a.png" onerror="steal()">',
        )  # fmt: skip
        (message,) = (await get(client, company, created["id"]))["messages"]
        assert "script" not in message["body_html"]
        assert "onerror" not in message["body_html"]
        assert "onclick" not in message["body_html"]
        assert 'href="https://ex.com/a"' in message["body_html"]
        assert message["body_text"] == "Look here (https://ex.com/a)"

    async def test_only_agents_may_create_and_only_with_a_token(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        body = {"subject": "x", "body": "y", "requester_id": company.customer.id}
        r = await client.post(f"{API}/tickets", headers=company.customer.headers, json=body)
        assert (r.status_code, error(r)["code"]) == (403, "forbidden")
        r = await client.post(f"{API}/tickets", json=body)
        assert (r.status_code, error(r)["code"]) == (401, "unauthorized")
        assert r.headers["www-authenticate"] == "Bearer"


class TestGetTicket:
    async def test_an_unknown_ticket_is_a_404(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.get(f"{API}/tickets/424242", headers=company.l1_agent.headers)
        assert (r.status_code, error(r)["code"]) == (404, "ticket_not_found")


# --- listing -----------------------------------------------------------------------------


class TestListTickets:
    async def three_tickets(
        self, client: httpx.AsyncClient, company: Company
    ) -> tuple[int, int, int]:
        a = await create(
            client, company, subject="Не могу войти", priority="high", type="incident",
            channel="email", assignee_id=company.l1_agent.id, tags=["login"],
        )  # fmt: skip
        b = await create(
            client, company, subject="Invoice", requester={"email": "erin@globex.com"},
            group_id=company.l2_group_id, priority="low", tags=["billing"],
        )  # fmt: skip
        c = await create(
            client, company, subject="Жалоба", requester={"email": "dave@acme.ru"},
            group_id=None, status="pending", priority="urgent", type="complaint",
            channel="chat", tags=["login", "vip", "Needs Callback"],
        )  # fmt: skip
        return a["id"], b["id"], c["id"]

    async def ids(self, client: httpx.AsyncClient, company: Company, **params: Any) -> list[int]:
        r = await client.get(f"{API}/tickets", headers=company.l1_agent.headers, params=params)
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()["items"]]

    async def test_every_filter_narrows_the_list(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        a, b, c = await self.three_tickets(client, company)
        r = await client.get(f"{API}/tickets/{b}", headers=company.l1_agent.headers)
        since = r.json()["updated_at"]
        cases: list[tuple[dict[str, Any], set[int]]] = [
            ({}, {a, b, c}),
            ({"status": "open"}, {a}),
            ({"status": "new,pending"}, {b, c}),
            ({"priority": "urgent,high"}, {a, c}),
            ({"type": "complaint"}, {c}),
            ({"channel": "email"}, {a}),
            ({"channel": "api"}, {b}),
            ({"assignee_id": company.l1_agent.id}, {a}),
            ({"assignee_id": "none"}, {b, c}),
            ({"group_id": company.l2_group_id}, {b}),
            ({"line": 2}, {b}),
            ({"line": 1}, {a, c}),
            ({"tag": "login"}, {a, c}),
            ({"tag": "VIP"}, {c}),
            ({"tag": "needs callback"}, {c}),  # a filter is normalized like the tags are
            ({"requester_id": company.other_org_customer.id}, {b}),
            ({"organization_id": company.acme_id}, {a, c}),
            ({"updated_since": since}, {b, c}),
            ({"q": "вход"}, {a}),
            ({"q": "password", "status": "pending"}, {c}),
            ({"tag": "login", "priority": "high", "assignee_id": company.l1_agent.id}, {a}),
            ({"tag": "nothing-has-this"}, set()),
        ]
        for params, expected in cases:
            assert set(await self.ids(client, company, **params)) == expected, params

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"sort": "shoe_size"}, "sort"),
            ({"assignee_id": "lena"}, "assignee_id"),
            ({"updated_since": "2026-01-01T00:00:00"}, "updated_since"),
            ({"q": "?!"}, "q"),
            ({"limit": 0}, "query.limit"),
            ({"line": 5}, "query.line"),
            ({"cursor": "garbage!"}, "cursor"),
            ({"cursor": encode_cursor(["not a time", 3])}, "cursor"),
            ({"cursor": encode_cursor(["2026-01-01T00:00:00", 3])}, "cursor"),  # no zone
            ({"cursor": encode_cursor(["2026-01-01T00:00:00+00:00", "x"])}, "cursor"),
            ({"cursor": encode_cursor([1, 2, 3])}, "cursor"),
            ({"cursor": encode_cursor({"a": 1})}, "cursor"),
            ({"cursor": encode_cursor(["2026-01-01T00:00:00+00:00", 3]), "sort": "number"},
             "cursor"),
        ],
    )  # fmt: skip
    async def test_bad_parameters_are_a_422_naming_them(
        self, client: httpx.AsyncClient, company: Company, params: dict[str, Any], field: str
    ) -> None:
        r = await client.get(f"{API}/tickets", headers=company.l1_agent.headers, params=params)
        assert r.status_code == 422, r.text
        assert error(r)["field"] == field

    async def test_sorts_by_last_update_by_default_and_by_number_or_creation_on_request(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        a, b, c = await self.three_tickets(client, company)
        assert await self.ids(client, company) == [c, b, a]
        r = await patch(client, company.l1_agent, a, priority="normal")
        assert r.status_code == 200, r.text
        assert await self.ids(client, company) == [a, c, b]
        assert await self.ids(client, company, sort="number") == [a, b, c]
        assert await self.ids(client, company, sort="-number") == [c, b, a]
        assert await self.ids(client, company, sort="created_at") == [a, b, c]
        assert await self.ids(client, company, sort="updated_at") == [b, c, a]

    @pytest.mark.parametrize("sort", ["-updated_at", "number", "-created_at"])
    async def test_walking_the_pages_gives_every_ticket_once_in_order(
        self, client: httpx.AsyncClient, company: Company, sort: str
    ) -> None:
        for i in range(5):
            await create(client, company, subject=f"ticket {i}")
        everything = await self.ids(client, company, sort=sort, limit=200)
        walked: list[int] = []
        pages = 0
        cursor = None
        while True:
            params: dict[str, Any] = {"sort": sort, "limit": 2}
            if cursor:
                params["cursor"] = cursor
            r = await client.get(f"{API}/tickets", headers=company.l1_agent.headers, params=params)
            assert r.status_code == 200, r.text
            page = r.json()
            walked += [t["id"] for t in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert walked == everything
        assert len(set(walked)) == 5
        assert pages == 3

    async def test_the_query_count_does_not_grow_with_the_number_of_tickets(
        self, client: httpx.AsyncClient, company: Company, db: Database
    ) -> None:
        async def queries() -> int:
            with counting_queries(db) as statements:
                r = await client.get(f"{API}/tickets", headers=company.l1_agent.headers)
            assert r.status_code == 200
            return len(statements)

        await create(client, company, tags=["a"])
        few = await queries()
        for i in range(4):
            await create(client, company, tags=[f"t{i}", "a"])
        assert await queries() == few
        # the page and the page's tags (the token's actor comes from the short-lived cache,
        # filled by the create calls above)
        assert few == 2


# --- changing ----------------------------------------------------------------------------


class TestUpdateTicket:
    async def test_every_change_is_in_the_timeline_with_who_old_and_new(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        created = await create(client, company, tags=["login"])
        tid = created["id"]
        lena, admin = company.l1_agent, company.admin
        for persona, change in (
            (lena, {"status": "open"}),
            (lena, {"priority": "urgent"}),
            (admin, {"assignee_id": lena.id}),
            (lena, {"add_tags": ["VIP"], "remove_tags": ["login"]}),
            (admin, {"status": "solved"}),
        ):
            r = await patch(client, persona, tid, **change)
            assert r.status_code == 200, r.text
        r = await client.get(f"{API}/tickets/{tid}/events", headers=lena.headers)
        assert r.status_code == 200
        rows = [
            (e["field"], e["old_value"], e["new_value"], e["actor_user_id"], e["actor_kind"])
            for e in r.json()
            if e["kind"] == "field_changed"
        ]
        assert rows == [
            ("status", "new", "open", lena.id, "user"),
            ("priority", "normal", "urgent", lena.id, "user"),
            ("assignee_id", None, lena.id, admin.id, "user"),
            ("tags", ["login"], ["vip"], lena.id, "user"),
            ("status", "open", "solved", admin.id, "user"),
        ]
        assert r.json()[0]["kind"] == "created"
        stamps = [e["created_at"] for e in r.json()]
        assert stamps == sorted(stamps)

    async def test_the_response_is_the_changed_ticket(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        created = await create(client, company)
        r = await patch(
            client, company.l1_agent, created["id"], subject="  Login loop ", tags=["A", "b"]
        )
        assert r.status_code == 200
        assert (r.json()["subject"], r.json()["tags"]) == ("Login loop", ["a", "b"])

    async def test_a_closed_ticket_is_a_409(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        created = await create(client, company)
        assert (await patch(client, company.l1_agent, created["id"], status="closed")).is_success
        r = await patch(client, company.l1_agent, created["id"], status="open")
        assert (r.status_code, error(r)["code"]) == (409, "ticket_closed")
        r = await patch(client, company.l1_agent, created["id"], add_tags=["late"])
        assert r.status_code == 409
        assert (await get(client, company, created["id"]))["tags"] == []

    async def test_a_transition_outside_the_rules_is_a_409(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        created = await create(client, company, status="solved")
        r = await patch(client, company.l1_agent, created["id"], status="on_hold")
        assert (r.status_code, error(r)["code"]) == (409, "invalid_status_transition")
        assert error(r)["field"] == "status"

    async def test_assigning_someone_outside_the_group_is_a_422(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        created = await create(client, company)
        r = await patch(client, company.l1_agent, created["id"], assignee_id=company.l2_agent.id)
        assert r.status_code == 422
        assert (error(r)["code"], error(r)["field"]) == ("assignee_not_in_group", "assignee_id")
        assert (await get(client, company, created["id"]))["assignee_id"] is None

    async def test_a_refused_change_writes_nothing(
        self, client: httpx.AsyncClient, company: Company, db: Database
    ) -> None:
        created = await create(client, company)
        before = await row_counts(db)
        r = await patch(
            client, company.l1_agent, created["id"],
            priority="urgent", add_tags=["brand-new"], assignee_id=company.l2_agent.id,
        )  # fmt: skip
        assert r.status_code == 422
        assert await row_counts(db) == before
        assert (await get(client, company, created["id"]))["priority"] == "normal"

    @pytest.mark.parametrize(
        ("body", "field"),
        [({"status": "archived"}, "body.status"), ({"number": 7}, "body.number"),
         ({"subject": ""}, "body.subject")],
    )  # fmt: skip
    async def test_a_malformed_change_is_a_422(
        self, client: httpx.AsyncClient, company: Company, body: dict[str, Any], field: str
    ) -> None:
        created = await create(client, company)
        r = await patch(client, company.l1_agent, created["id"], **body)
        assert (r.status_code, error(r)["field"]) == (422, field)


class TestTicketEvents:
    async def test_customers_may_not_read_the_timeline(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        created = await create(client, company)
        r = await client.get(
            f"{API}/tickets/{created['id']}/events", headers=company.customer.headers
        )
        assert r.status_code == 403


class TestAddMessage:
    async def post(
        self, client: httpx.AsyncClient, persona: Persona, ticket_id: int, **body: Any
    ) -> httpx.Response:
        return await client.post(
            f"{API}/tickets/{ticket_id}/messages", headers=persona.headers, json=body
        )

    async def test_the_first_public_reply_sets_first_responded_at_and_a_note_does_not(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        created = await create(client, company)
        r = await self.post(
            client, company.l1_agent, created["id"], body="looking", visibility="internal"
        )
        assert r.status_code == 201, r.text
        assert r.json()["visibility"] == "internal"
        t = await get(client, company, created["id"])
        assert (t["first_responded_at"], t["status"]) == (None, "new")
        r = await self.post(client, company.l1_agent, created["id"], body="Try again now")
        assert r.status_code == 201
        reply = r.json()
        assert (reply["visibility"], reply["author_user_id"]) == ("public", company.l1_agent.id)
        t = await get(client, company, created["id"])
        assert t["first_responded_at"] == reply["created_at"]
        assert t["status"] == "open"
        assert [m["visibility"] for m in t["messages"]] == ["public", "internal", "public"]

    async def test_html_is_sanitized(self, client: httpx.AsyncClient, company: Company) -> None:
        created = await create(client, company)
        r = await self.post(
            client, company.l1_agent, created["id"],
            html='<a href="https://kb.example.com/reset" onmouseover="x()">Reset</a>'
                 '<script>alert(1)</script>',
        )  # fmt: skip
        assert r.status_code == 201
        assert r.json()["body_html"].startswith('<a href="https://kb.example.com/reset"')
        assert "script" not in r.json()["body_html"]
        assert "onmouseover" not in r.json()["body_html"]
        assert r.json()["body_text"] == "Reset (https://kb.example.com/reset)"

    async def test_an_empty_message_is_a_422(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        created = await create(client, company)
        r = await self.post(client, company.l1_agent, created["id"], body="   ")
        assert (r.status_code, error(r)["code"]) == (422, "validation_error")

    async def test_a_closed_ticket_takes_no_reply(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        created = await create(client, company, status="solved")
        await patch(client, company.l1_agent, created["id"], status="closed")
        r = await self.post(client, company.l1_agent, created["id"], body="late")
        assert (r.status_code, error(r)["code"]) == (409, "ticket_closed")


class TestAttachments:
    async def upload(
        self, client: httpx.AsyncClient, persona: Persona, name: str, data: bytes,
        kind: str = "text/plain",
    ) -> httpx.Response:  # fmt: skip
        return await client.post(
            f"{API}/uploads", headers=persona.headers, files={"file": (name, data, kind)}
        )

    async def test_an_upload_is_attached_to_a_reply_and_downloaded_as_sent(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        created = await create(client, company)
        r = await self.upload(client, company.l1_agent, "../../etc/passwd", b"root:x:0:0")
        assert r.status_code == 201, r.text
        att = r.json()
        assert (att["filename"], att["size"], att["content_type"]) == ("passwd", 10, "text/plain")
        r = await client.post(
            f"{API}/tickets/{created['id']}/messages",
            headers=company.l1_agent.headers,
            json={"body": "see attached", "attachment_ids": [att["id"]]},
        )
        assert r.status_code == 201, r.text
        assert [a["id"] for a in r.json()["attachments"]] == [att["id"]]
        r = await client.get(att["url"], headers=company.l2_agent.headers)
        assert r.status_code == 200
        assert r.content == b"root:x:0:0"
        assert r.headers["content-disposition"] == "attachment; filename*=UTF-8''passwd"
        assert r.headers["x-content-type-options"] == "nosniff"

    async def test_control_characters_are_removed_from_the_name(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        # U+202E turns "invoice\u202efdp.exe" into "invoiceexe.pdf" on screen
        r = await self.upload(client, company.l1_agent, "invoice\u202efdp.exe", b"MZ")
        assert r.status_code == 201, r.text
        assert r.json()["filename"] == "invoicefdp.exe"

    async def test_a_file_over_the_limit_is_a_413(
        self, client: httpx.AsyncClient, company: Company, db: Database
    ) -> None:
        r = await self.upload(client, company.l1_agent, "big.bin", b"\0" * (1024 * 1024 + 1))
        assert r.status_code == 413
        assert (error(r)["code"], error(r)["field"]) == ("too_large", "file")
        r = await self.upload(client, company.l1_agent, "ok.bin", b"\0" * (1024 * 1024))
        assert r.status_code == 201

    async def test_an_unused_upload_is_visible_to_its_uploader_only(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        att = (await self.upload(client, company.l1_agent, "a.txt", b"mine")).json()
        assert (await client.get(att["url"], headers=company.l1_agent.headers)).status_code == 200
        r = await client.get(att["url"], headers=company.l2_agent.headers)
        assert (r.status_code, error(r)["code"]) == (404, "attachment_not_found")


# --- lines, merging, links -----------------------------------------------------------------


class TestEscalateTicket:
    async def escalate(
        self, client: httpx.AsyncClient, persona: Persona, ticket_id: int, **body: Any
    ) -> httpx.Response:
        return await client.post(
            f"{API}/tickets/{ticket_id}/escalate", headers=persona.headers, json=body
        )

    @pytest.mark.parametrize("reason", ["", "   "])
    async def test_reason_is_required(
        self, client: httpx.AsyncClient, company: Company, reason: str
    ) -> None:
        created = await create(client, company)
        r = await self.escalate(client, company.l1_agent, created["id"], reason=reason)
        assert r.status_code == 422
        assert error(r)["field"] in {"body.reason", "reason"}
        assert (await get(client, company, created["id"]))["line"] == 1

    async def test_moves_up_one_line_with_the_reason_as_an_internal_note(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        created = await create(client, company, assignee_id=company.l1_agent.id)
        r = await self.escalate(client, company.l1_agent, created["id"], reason="SQL error")
        assert r.status_code == 200, r.text
        t = r.json()
        assert (t["line"], t["group_id"], t["assignee_id"]) == (2, company.l2_group_id, None)
        assert t["escalated_at"] is not None
        note = t["messages"][-1]
        assert note["visibility"] == "internal"
        assert "SQL error" in note["body_text"]
        r = await client.get(f"{API}/me/tickets/{created['id']}", headers=company.customer.headers)
        assert "SQL error" not in r.text

    async def test_goes_from_l3_to_a_vendor_and_no_further(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        created = await create(client, company, group_id=company.l3_group_id)
        r = await self.escalate(client, company.l1_agent, created["id"], reason="vendor bug")
        assert (r.status_code, error(r)["code"]) == (409, "no_higher_line")
        r = await client.post(
            f"{API}/groups", headers=company.admin.headers,
            json={"name": "PayCo (vendor)", "line": "vendor"},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        vendor = r.json()["id"]
        r = await self.escalate(client, company.l1_agent, created["id"], reason="vendor bug")
        assert r.status_code == 200, r.text
        assert (r.json()["line"], r.json()["group_id"]) == (4, vendor)
        r = await self.escalate(client, company.l1_agent, created["id"], reason="even higher")
        assert (r.status_code, error(r)["code"]) == (409, "no_higher_line")


class TestMergeTickets:
    async def merge(
        self, client: httpx.AsyncClient, company: Company, source: int, into: int
    ) -> httpx.Response:
        return await client.post(
            f"{API}/tickets/{source}/merge", headers=company.l1_agent.headers,
            json={"into_id": into},
        )  # fmt: skip

    async def test_the_source_closes_pointing_at_the_target_which_gets_its_messages(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        source = await create(client, company, body="first mail")
        target = await create(client, company, body="second mail")
        r = await self.merge(client, company, source["id"], target["id"])
        assert r.status_code == 200, r.text
        assert r.json()["id"] == target["id"]
        public = [m["body_text"] for m in r.json()["messages"] if m["visibility"] == "public"]
        assert public == ["first mail", "second mail"]  # in the order they were written
        s = await get(client, company, source["id"])
        assert (s["status"], s["merged_into_id"]) == ("closed", target["id"])
        assert [m["visibility"] for m in s["messages"]] == ["internal"]

    async def test_into_itself_is_a_422(self, client: httpx.AsyncClient, company: Company) -> None:
        t = await create(client, company)
        r = await self.merge(client, company, t["id"], t["id"])
        assert (r.status_code, error(r)["field"]) == (422, "into_id")

    async def test_into_a_closed_ticket_is_a_409(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        source = await create(client, company)
        target = await create(client, company)
        await patch(client, company.l1_agent, target["id"], status="closed")
        r = await self.merge(client, company, source["id"], target["id"])
        assert (r.status_code, error(r)["code"]) == (409, "ticket_closed")
        assert (await get(client, company, source["id"]))["merged_into_id"] is None


class TestLinks:
    async def test_links_are_added_shown_on_both_tickets_and_removed(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        a = await create(client, company)
        b = await create(client, company)
        headers = company.l2_agent.headers
        r = await client.post(
            f"{API}/tickets/{a['id']}/links", headers=headers,
            json={"kind": "parent", "target_id": b["id"]},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        parent = r.json()
        r = await client.post(
            f"{API}/tickets/{a['id']}/links", headers=headers,
            json={"kind": "vendor", "external_url": "https://jira.vendor.com/browse/V-1",
                  "external_ref": "V-1"},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        assert (await get(client, company, b["id"]))["links"] == [parent]
        kinds = [lk["kind"] for lk in (await get(client, company, a["id"]))["links"]]
        assert kinds == ["parent", "vendor"]
        r = await client.delete(f"{API}/tickets/{a['id']}/links/{parent['id']}", headers=headers)
        assert r.status_code == 204
        assert (await get(client, company, b["id"]))["links"] == []

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            ({"kind": "related"}, 422),  # neither target nor url
            ({"kind": "vendor", "external_url": "ftp://vendor/x"}, 422),
            ({"kind": "cousin", "target_id": 1}, 422),
            ({"kind": "related", "target_id": 999_999}, 422),
        ],
    )
    async def test_a_bad_link_is_refused(
        self, client: httpx.AsyncClient, company: Company, body: dict[str, Any], status: int
    ) -> None:
        a = await create(client, company)
        r = await client.post(
            f"{API}/tickets/{a['id']}/links", headers=company.l1_agent.headers, json=body
        )
        assert r.status_code == status, r.text


class TestTags:
    async def tags(self, client: httpx.AsyncClient, company: Company) -> list[dict[str, Any]]:
        r = await client.get(f"{API}/tags", headers=company.l1_agent.headers)
        assert r.status_code == 200
        return r.json()

    async def test_tags_are_listed_with_their_ticket_counts(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await create(client, company, tags=["login", "vip"])
        await create(client, company, tags=["login"])
        r = await client.post(
            f"{API}/tags", headers=company.l1_agent.headers, json={"name": "Spam"}
        )
        assert r.status_code == 201
        assert r.json()["name"] == "spam"
        assert [(t["name"], t["ticket_count"]) for t in await self.tags(client, company)] == [
            ("login", 2), ("spam", 0), ("vip", 1),
        ]  # fmt: skip

    async def test_a_duplicate_tag_is_a_409(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await create(client, company, tags=["login"])
        r = await client.post(
            f"{API}/tags", headers=company.l1_agent.headers, json={"name": " LOGIN "}
        )
        assert (r.status_code, error(r)["field"]) == (409, "name")

    async def test_an_admin_renames_a_tag_on_every_ticket(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        t = await create(client, company, tags=["logn"])
        tag = (await self.tags(client, company))[0]
        r = await client.patch(
            f"{API}/tags/{tag['id']}", headers=company.l1_agent.headers, json={"name": "login"}
        )
        assert r.status_code == 403
        r = await client.patch(
            f"{API}/tags/{tag['id']}", headers=company.admin.headers, json={"name": "Login"}
        )
        assert r.status_code == 200
        assert r.json() == {"id": tag["id"], "name": "login", "ticket_count": 0}
        assert (await get(client, company, t["id"]))["tags"] == ["login"]

    async def test_renaming_onto_another_tag_is_a_409(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await create(client, company, tags=["a", "b"])
        a, _ = await self.tags(client, company)
        r = await client.patch(
            f"{API}/tags/{a['id']}", headers=company.admin.headers, json={"name": "b"}
        )
        assert r.status_code == 409

    async def test_an_admin_deletes_a_tag_from_every_ticket(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        t = await create(client, company, tags=["old", "keep"])
        old = next(x for x in await self.tags(client, company) if x["name"] == "old")
        r = await client.delete(f"{API}/tags/{old['id']}", headers=company.l1_agent.headers)
        assert r.status_code == 403
        r = await client.delete(f"{API}/tags/{old['id']}", headers=company.admin.headers)
        assert r.status_code == 204
        assert (await get(client, company, t["id"]))["tags"] == ["keep"]
        assert [x["name"] for x in await self.tags(client, company)] == ["keep"]
        r = await client.delete(f"{API}/tags/{old['id']}", headers=company.admin.headers)
        assert r.status_code == 404


# --- the customer's side of the rules ------------------------------------------------------


class TestCustomerReply:
    async def reply(
        self, client: httpx.AsyncClient, company: Company, ticket_id: int
    ) -> httpx.Response:
        return await client.post(
            f"{API}/me/tickets/{ticket_id}/messages", headers=company.customer.headers,
            json={"body": "It happens again"},
        )  # fmt: skip

    async def test_a_reply_reopens_a_solved_ticket(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        created = await create(client, company, status="solved")
        r = await self.reply(client, company, created["id"])
        assert r.status_code == 201, r.text
        assert (r.json()["id"], r.json()["status"]) == (created["id"], "open")
        t = await get(client, company, created["id"])
        assert (t["status"], t["solved_at"]) == ("open", None)

    async def test_a_reply_to_a_closed_ticket_opens_a_follow_up_linked_to_it(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        created = await create(client, company, status="solved")
        await patch(client, company.l1_agent, created["id"], status="closed")
        r = await self.reply(client, company, created["id"])
        assert r.status_code == 201, r.text
        follow_up = r.json()
        assert follow_up["id"] != created["id"]
        assert (follow_up["number"], follow_up["status"]) == (2, "new")
        old = await get(client, company, created["id"])
        assert old["status"] == "closed"
        assert [(lk["kind"], lk["target_id"]) for lk in old["links"]] == [
            ("follow_up", follow_up["id"])
        ]
