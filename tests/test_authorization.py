"""Who may read and change which tickets: every persona against every ticket endpoint.

The world: T1 requested by carol (Acme, group L1) with a tag and a custom field hidden
from customers, a public reply carrying an attachment and an internal note carrying
another; T2 requested by erin (Globex, group L2) with an internal note; T3 requested by
dave (Acme, no group, assigned to gina, an L2 agent who only sees her groups' tickets)
with an internal note. The notes, the internal attachment, the tag and the hidden field
all hold MARKER, a word that must never reach a customer: not in a body, not in a
search result, not in an error.

The table says, for each call, what each persona gets: the exact status and, on
success, exactly which tickets. Customers use ``/api/v1/me``; agents ``/api/v1``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from opora.auth import service as auth_service
from opora.db import Database
from opora.tickets.models import TicketFollower
from tests.conftest import Company

MARKER = "quokkasecret"  # appears only in internal notes and the internal attachment
PUBLIC_WORD = "printer"  # appears only in T1's subject and first message
PUBLIC_FILE = b"scan of the jammed printer tray"
INTERNAL_FILE = f"customer is on the legacy plan, {MARKER}".encode()

AGENTS = ("admin", "l1_agent", "l2_agent")
GROUPS_AGENT = "groups_agent"
CUSTOMERS = ("customer", "same_org_customer", "other_org_customer")
UNAUTHENTICATED = ("anonymous", "bad_token", "revoked_token")
PERSONAS = (*AGENTS, GROUPS_AGENT, *CUSTOMERS, *UNAUTHENTICATED)

# keys that belong to the agents' side and must not appear in a customer's response
INTERNAL_KEYS = frozenset(
    {
        "group_id", "assignee_id", "line", "events", "visibility", "author_user_id",
        "author_contact_id", "delivery_state", "delivery_error", "follower_contact_ids",
        "links", "sla", "requester_id", "organization_id", "merged_into_id", "resolution",
        "tags", "extra",
    }
)  # fmt: skip


@dataclass
class World:
    ids: dict[str, int]
    headers: dict[str, dict[str, str]]
    admin: dict[str, str]

    def name_of(self, ticket_id: int) -> str:
        return next(k for k in ("T1", "T2", "T3") if self.ids[k] == ticket_id)


async def _post(client: httpx.AsyncClient, url: str, headers: dict[str, str], **kw: Any) -> Any:
    r = await client.post(url, headers=headers, **kw)
    assert r.status_code == 201, r.text
    return r.json()


async def _upload(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, data: bytes
) -> int:
    body = await _post(
        client, "/api/v1/uploads", headers, files={"file": (name, data, "text/plain")}
    )
    return int(body["id"])


async def build_world(client: httpx.AsyncClient, company: Company, db: Database) -> World:
    alice, lena, igor = company.admin.headers, company.l1_agent.headers, company.l2_agent.headers
    gina = await _post(
        client, "/api/v1/users", alice,
        json={"email": "gina@opora.dev", "name": "Gina Groups", "ticket_access": "groups",
              "group_ids": [company.l2_group_id]},
    )  # fmt: skip
    async with db.unit_of_work() as s:
        _, gina_token = await auth_service.create_token(s, user_id=gina["id"])
        revoked, revoked_raw = await auth_service.create_token(
            s, contact_id=company.customer.id, name="old laptop"
        )
    r = await client.delete(f"/api/v1/tokens/{revoked.id}", headers=alice)
    assert r.status_code == 204, r.text

    for key, visible in ((f"{MARKER}_risk", False), ("printer_model", True)):
        await _post(
            client, "/api/v1/custom-fields", alice,
            json={"key": key, "label": key, "type": "text", "visible_to_customer": visible},
        )  # fmt: skip
    t1 = await _post(
        client, "/api/v1/tickets", alice,
        json={"subject": "Printer jams on the third floor",
              "body": "The office printer jams every morning.",
              "requester": {"email": "carol@acme.ru"}, "group_id": company.l1_group_id,
              "custom_fields": {f"{MARKER}_risk": "churn", "printer_model": "LJ 4000"},
              "tags": [f"{MARKER}-watch"]},
    )  # fmt: skip
    public_att = await _upload(client, lena, "tray.txt", PUBLIC_FILE)
    await _post(
        client, f"/api/v1/tickets/{t1['id']}/messages", lena,
        json={"body": "Please send a photo of the tray.", "attachment_ids": [public_att]},
    )  # fmt: skip
    internal_att = await _upload(client, lena, f"{MARKER}-plan.txt", INTERNAL_FILE)
    await _post(
        client, f"/api/v1/tickets/{t1['id']}/messages", lena,
        json={"body": f"Carol's account is flagged {MARKER}.", "visibility": "internal",
              "attachment_ids": [internal_att]},
    )  # fmt: skip
    t2 = await _post(
        client, "/api/v1/tickets", alice,
        json={"subject": "Invoice is missing VAT", "body": "The March invoice has no VAT line.",
              "requester": {"email": "erin@globex.com"}, "group_id": company.l2_group_id},
    )  # fmt: skip
    await _post(
        client, f"/api/v1/tickets/{t2['id']}/messages", igor,
        json={"body": f"Billing bug {MARKER}, do not promise a date.", "visibility": "internal"},
    )  # fmt: skip
    t3 = await _post(
        client, "/api/v1/tickets", alice,
        json={"subject": "VPN drops every hour", "body": "The VPN disconnects each hour.",
              "requester": {"email": "dave@acme.ru"}, "assignee_id": gina["id"]},
    )  # fmt: skip
    await _post(
        client, f"/api/v1/tickets/{t3['id']}/messages", alice,
        json={"body": f"Their firewall vendor {MARKER} is at fault.", "visibility": "internal"},
    )  # fmt: skip

    by_role = {
        "admin": company.admin.headers,
        "l1_agent": company.l1_agent.headers,
        "l2_agent": company.l2_agent.headers,
        GROUPS_AGENT: {"Authorization": f"Bearer {gina_token}"},
        "customer": company.customer.headers,
        "same_org_customer": company.same_org_customer.headers,
        "other_org_customer": company.other_org_customer.headers,
        "anonymous": {},
        "bad_token": {"Authorization": "Bearer opr_" + "x" * 43},
        "revoked_token": {"Authorization": f"Bearer {revoked_raw}"},
    }
    ids = {
        "T1": t1["id"],
        "T2": t2["id"],
        "T3": t3["id"],
        "missing": t3["id"] + 1000,
        "public_att": public_att,
        "internal_att": internal_att,
        "missing_att": internal_att + 1000,
        "carol": company.customer.id,
        "erin": company.other_org_customer.id,
        "acme": company.acme_id,
        "gina": gina["id"],
    }
    return World(ids=ids, headers=by_role, admin=alice)


@pytest.fixture
async def world(client: httpx.AsyncClient, company: Company, db: Database) -> World:
    return await build_world(client, company, db)


# --- the table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    status: int
    sees: frozenset[str] | None = None  # on success: exactly these tickets (or this file)


def ok(*names: str, status: int = 200) -> Expect:
    return Expect(status, frozenset(names))


DENIED = Expect(403)
HIDDEN = Expect(404)
UNAUTHORIZED = Expect(401)


def for_agents(
    agents: Expect, groups_agent: Expect, customers: Expect = DENIED
) -> dict[str, Expect]:
    """An agent endpoint: customers are turned away (403), unknown callers get 401."""
    table = {p: agents for p in AGENTS} | {GROUPS_AGENT: groups_agent}
    table |= {p: customers for p in CUSTOMERS}
    return table | {p: UNAUTHORIZED for p in UNAUTHENTICATED}


def for_customers(carol: Expect, dave: Expect, erin: Expect) -> dict[str, Expect]:
    """A customer endpoint under /me: agents are turned away (403)."""
    table = {p: DENIED for p in (*AGENTS, GROUPS_AGENT)}
    table |= {"customer": carol, "same_org_customer": dave, "other_org_customer": erin}
    return table | {p: UNAUTHORIZED for p in UNAUTHENTICATED}


Body = Callable[[dict[str, int]], dict[str, Any]]


@dataclass(frozen=True)
class Row:
    id: str
    method: str
    path: str  # placeholders: {T1} {T2} {T3} {missing} {public_att} ...
    expect: Mapping[str, Expect]
    shape: str = "ticket"  # "list", "ticket", "file" or "other": how to read who is seen
    body: Body | None = None
    agents_see_marker: bool = False  # a success for an agent carries the internal note
    once: bool = False  # a success cannot be repeated on the same world


ALL_TICKETS = ok("T1", "T2", "T3")
CUSTOMER_REPLY: Body = lambda _: {"body": "Any news?"}  # noqa: E731

TABLE: dict[str, list[Row]] = {
    "agent reads": [
        Row("list tickets", "GET", "/api/v1/tickets", for_agents(ALL_TICKETS, ok("T2", "T3")),
            shape="list"),
        Row("search tickets for the internal marker", "GET", f"/api/v1/tickets?q={MARKER}",
            for_agents(ALL_TICKETS, ok("T2", "T3")), shape="list"),
        Row("search tickets for a public word", "GET", f"/api/v1/tickets?q={PUBLIC_WORD}",
            for_agents(ok("T1"), ok()), shape="list"),
        Row("read T1", "GET", "/api/v1/tickets/{T1}", for_agents(ok("T1"), HIDDEN),
            agents_see_marker=True),
        Row("read T2", "GET", "/api/v1/tickets/{T2}", for_agents(ok("T2"), ok("T2")),
            agents_see_marker=True),
        Row("read T3", "GET", "/api/v1/tickets/{T3}", for_agents(ok("T3"), ok("T3")),
            agents_see_marker=True),
        Row("read a missing ticket", "GET", "/api/v1/tickets/{missing}",
            for_agents(HIDDEN, HIDDEN)),
        Row("read T1's events", "GET", "/api/v1/tickets/{T1}/events",
            for_agents(Expect(200), HIDDEN), shape="other"),
        Row("read T2's events", "GET", "/api/v1/tickets/{T2}/events",
            for_agents(Expect(200), Expect(200)), shape="other"),
        Row("read T3's events", "GET", "/api/v1/tickets/{T3}/events",
            for_agents(Expect(200), Expect(200)), shape="other"),
        Row("read carol's contact", "GET", "/api/v1/contacts/{carol}",
            for_agents(Expect(200), Expect(200)), shape="other"),
        Row("read Acme", "GET", "/api/v1/organizations/{acme}",
            for_agents(Expect(200), Expect(200)), shape="other"),
        Row("list tags", "GET", "/api/v1/tags", for_agents(Expect(200), Expect(200)),
            shape="other", agents_see_marker=True),
        Row("list users", "GET", "/api/v1/users", for_agents(Expect(200), Expect(200)),
            shape="other"),
        Row("list ticket fields", "GET", "/api/v1/custom-fields",
            for_agents(Expect(200), Expect(200), customers=Expect(200)), shape="other",
            agents_see_marker=True),
    ],
    "agent changes": [
        Row("change T1's priority", "PATCH", "/api/v1/tickets/{T1}", for_agents(ok("T1"), HIDDEN),
            body=lambda _: {"priority": "high"}),
        Row("change T2's priority", "PATCH", "/api/v1/tickets/{T2}", for_agents(ok("T2"), ok("T2")),
            body=lambda _: {"priority": "high"}),
        Row("escalate T1", "POST", "/api/v1/tickets/{T1}/escalate", for_agents(ok("T1"), HIDDEN),
            body=lambda _: {"reason": "needs a specialist"}, once=True),
        Row("merge T1 into T3", "POST", "/api/v1/tickets/{T1}/merge", for_agents(ok("T3"), HIDDEN),
            body=lambda ids: {"into_id": ids["T3"]}, once=True),
        Row("merge T2 into T3", "POST", "/api/v1/tickets/{T2}/merge",
            for_agents(ok("T3"), ok("T3")), body=lambda ids: {"into_id": ids["T3"]},
            once=True),
        Row("reply on T1", "POST", "/api/v1/tickets/{T1}/messages",
            for_agents(Expect(201), HIDDEN), shape="other", body=lambda _: {"body": "On it."}),
        Row("add a note to T2", "POST", "/api/v1/tickets/{T2}/messages",
            for_agents(Expect(201), Expect(201)), shape="other",
            body=lambda _: {"body": "Checking with billing.", "visibility": "internal"}),
    ],
    "customer reads": [
        Row("list my tickets", "GET", "/api/v1/me/tickets",
            for_customers(ok("T1"), ok("T1", "T3"), ok("T2")), shape="list"),
        Row("search my tickets for the internal marker", "GET", f"/api/v1/me/tickets?q={MARKER}",
            for_customers(ok(), ok(), ok()), shape="list"),
        Row("search my tickets for a public word", "GET", f"/api/v1/me/tickets?q={PUBLIC_WORD}",
            for_customers(ok("T1"), ok("T1"), ok()), shape="list"),
        Row("read my T1", "GET", "/api/v1/me/tickets/{T1}",
            for_customers(ok("T1"), ok("T1"), HIDDEN)),
        Row("read my T2", "GET", "/api/v1/me/tickets/{T2}",
            for_customers(HIDDEN, HIDDEN, ok("T2"))),
        Row("read my T3", "GET", "/api/v1/me/tickets/{T3}",
            for_customers(HIDDEN, ok("T3"), HIDDEN)),
        Row("read my missing ticket", "GET", "/api/v1/me/tickets/{missing}",
            for_customers(HIDDEN, HIDDEN, HIDDEN)),
    ],
    "customer changes": [
        Row("reply to my T1", "POST", "/api/v1/me/tickets/{T1}/messages",
            for_customers(ok("T1", status=201), ok("T1", status=201), HIDDEN), body=CUSTOMER_REPLY),
        Row("reply to my T2", "POST", "/api/v1/me/tickets/{T2}/messages",
            for_customers(HIDDEN, HIDDEN, ok("T2", status=201)), body=CUSTOMER_REPLY),
        Row("reply to my T3", "POST", "/api/v1/me/tickets/{T3}/messages",
            for_customers(HIDDEN, ok("T3", status=201), HIDDEN), body=CUSTOMER_REPLY),
    ],
    "attachments": [
        Row("download the public reply's attachment", "GET", "/api/v1/attachments/{public_att}",
            for_agents(ok("public"), HIDDEN, customers=HIDDEN)
            | {"customer": ok("public"), "same_org_customer": ok("public")}, shape="file"),
        Row("download the internal note's attachment", "GET", "/api/v1/attachments/{internal_att}",
            for_agents(ok("internal"), HIDDEN, customers=HIDDEN), shape="file",
            agents_see_marker=True),
        Row("download a missing attachment", "GET", "/api/v1/attachments/{missing_att}",
            for_agents(HIDDEN, HIDDEN, customers=HIDDEN), shape="file"),
    ],
}  # fmt: skip
ROWS = [row for rows in TABLE.values() for row in rows]

FILES = {"public": PUBLIC_FILE, "internal": INTERNAL_FILE}


def test_the_table_names_every_persona_on_every_row() -> None:
    for row in ROWS:
        assert set(row.expect) == set(PERSONAS), row.id


async def _snapshot(client: httpx.AsyncClient, world: World) -> list[str]:
    """The three tickets as an admin sees them, to prove a refused change changed nothing."""
    texts = []
    for name in ("T1", "T2", "T3"):
        r = await client.get(f"/api/v1/tickets/{world.ids[name]}", headers=world.admin)
        assert r.status_code == 200, r.text
        texts.append(r.text)
    return texts


def internal_keys_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = set(INTERNAL_KEYS & set(value))
        for v in value.values():
            found |= internal_keys_in(v)
        return found
    if isinstance(value, list):
        return set().union(*(internal_keys_in(v) for v in value))
    return set()


def seen(row: Row, world: World, r: httpx.Response) -> frozenset[str]:
    if row.shape == "file":
        return frozenset(k for k, data in FILES.items() if r.content == data)
    body = r.json()
    if row.shape == "list":
        return frozenset(world.name_of(item["id"]) for item in body["items"])
    return frozenset({world.name_of(body["id"])})


ERROR_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found"}


async def check(client: httpx.AsyncClient, world: World, row: Row, persona: str) -> None:
    expect = row.expect[persona]
    before = await _snapshot(client, world) if row.method != "GET" else None
    r = await client.request(
        row.method,
        row.path.format(**world.ids),
        headers=world.headers[persona],
        json=row.body(world.ids) if row.body else None,
    )
    assert r.status_code == expect.status, r.text
    if expect.status == 401:
        assert r.headers["www-authenticate"] == "Bearer"
    if r.status_code >= 400:
        code = r.json()["error"]["code"]
        assert code == ERROR_CODES.get(r.status_code, code) or code.endswith("_not_found")
        if before is not None:
            assert await _snapshot(client, world) == before, "a refused call changed a ticket"
    elif expect.sees is not None:
        assert seen(row, world, r) == expect.sees
    if persona in CUSTOMERS or persona in UNAUTHENTICATED:
        assert MARKER not in r.text.lower()
        assert MARKER.encode() not in r.content.lower()
        assert MARKER not in r.headers.get("content-disposition", "")
        if r.status_code < 300 and row.shape != "file":
            assert internal_keys_in(r.json()) == set()
    elif row.agents_see_marker and r.status_code < 300:
        assert MARKER in r.text  # the internal note is really there for agents to see


def _succeeds(row: Row, persona: str) -> bool:
    return row.expect[persona].status < 400


@pytest.mark.parametrize("section", TABLE)
async def test_every_persona_gets_exactly_what_the_table_says(
    client: httpx.AsyncClient, world: World, section: str, subtests: pytest.Subtests
) -> None:
    """A section's rows share one world, each row and persona a subtest. A row that
    succeeds only once (an escalation, a merge) runs here for the personas it refuses."""
    for row in TABLE[section]:
        for persona in PERSONAS:
            if row.once and _succeeds(row, persona):
                continue
            with subtests.test(row=row.id, persona=persona):
                await check(client, world, row, persona)


@pytest.mark.parametrize(
    ("row", "persona"),
    [
        pytest.param(row, persona, id=f"{row.id} as {persona}")
        for row in ROWS
        if row.once
        for persona in PERSONAS
        if _succeeds(row, persona)
    ],
)
async def test_a_change_that_succeeds_once_gets_a_world_of_its_own(
    client: httpx.AsyncClient, world: World, row: Row, persona: str
) -> None:
    await check(client, world, row, persona)


# --- not found is not found ------------------------------------------------------------------


def _normalized(r: httpx.Response, ticket_id: int) -> tuple[int, str]:
    return r.status_code, r.text.replace(str(ticket_id), "<id>")


@pytest.mark.parametrize(
    ("persona", "others"),
    [
        ("customer", ("T2", "T3")),
        ("same_org_customer", ("T2",)),
        ("other_org_customer", ("T1", "T3")),
    ],
)
async def test_another_customers_ticket_looks_exactly_like_a_missing_one(
    client: httpx.AsyncClient, world: World, persona: str, others: tuple[str, ...]
) -> None:
    headers = world.headers[persona]
    missing = world.ids["missing"]
    for path, body in (
        ("/api/v1/me/tickets/{}", None),
        ("/api/v1/me/tickets/{}/messages", {"body": "hello?"}),
    ):
        method = "POST" if body else "GET"
        absent = await client.request(method, path.format(missing), headers=headers, json=body)
        assert absent.status_code == 404
        for name in others:
            tid = world.ids[name]
            theirs = await client.request(method, path.format(tid), headers=headers, json=body)
            assert _normalized(theirs, tid) == _normalized(absent, missing)


async def test_an_internal_attachment_looks_exactly_like_a_missing_one_to_customers(
    client: httpx.AsyncClient, world: World
) -> None:
    internal, missing = world.ids["internal_att"], world.ids["missing_att"]
    for persona in CUSTOMERS:
        headers = world.headers[persona]
        absent = await client.get(f"/api/v1/attachments/{missing}", headers=headers)
        hidden = await client.get(f"/api/v1/attachments/{internal}", headers=headers)
        assert absent.status_code == 404
        assert _normalized(hidden, internal) == _normalized(absent, missing)


async def test_a_ticket_outside_a_groups_agents_scope_looks_like_a_missing_one(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = world.headers[GROUPS_AGENT]
    t1, missing = world.ids["T1"], world.ids["missing"]
    absent = await client.get(f"/api/v1/tickets/{missing}", headers=headers)
    hidden = await client.get(f"/api/v1/tickets/{t1}", headers=headers)
    assert absent.status_code == 404
    assert _normalized(hidden, t1) == _normalized(absent, missing)


# --- tokens ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer ", "Basic Y2Fyb2w6c2VjcmV0", "Token opr_abc", "bearer opr_nope"],
)
async def test_a_request_without_a_valid_bearer_token_is_unauthorized(
    client: httpx.AsyncClient, world: World, authorization: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for path in ("/api/v1/tickets", "/api/v1/me/tickets"):
        r = await client.get(path, headers=headers)
        assert r.status_code == 401, r.text
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"]["code"] == "unauthorized"


async def test_a_deactivated_customers_token_stops_working(
    client: httpx.AsyncClient, company: Company, world: World
) -> None:
    carol = company.customer
    assert (await client.get("/api/v1/me/tickets", headers=carol.headers)).status_code == 200
    r = await client.delete(f"/api/v1/contacts/{carol.id}", headers=world.admin)
    assert r.status_code == 204, r.text
    r = await client.get(f"/api/v1/me/tickets/{world.ids['T1']}", headers=carol.headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


async def test_a_deactivated_agents_token_stops_working(
    client: httpx.AsyncClient, company: Company, world: World
) -> None:
    lena = company.l1_agent
    r = await client.delete(f"/api/v1/users/{lena.id}", headers=world.admin)
    assert r.status_code == 204, r.text
    r = await client.get(f"/api/v1/tickets/{world.ids['T1']}", headers=lena.headers)
    assert r.status_code == 401


# --- followers, merges and the shape of what a customer gets ---------------------------------


async def test_a_customer_following_a_ticket_can_read_it_but_never_its_notes(
    client: httpx.AsyncClient, db: Database, world: World
) -> None:
    erin = world.headers["other_org_customer"]
    t1 = world.ids["T1"]
    assert (await client.get(f"/api/v1/me/tickets/{t1}", headers=erin)).status_code == 404
    async with db.unit_of_work() as s:
        contact_id = (
            await s.execute(select(TicketFollower.contact_id).where(TicketFollower.ticket_id == t1))
        ).first()
        assert contact_id is None  # nobody follows T1 yet
        s.add(TicketFollower(ticket_id=t1, contact_id=world.ids["erin"]))

    r = await client.get("/api/v1/me/tickets", headers=erin)
    assert {world.name_of(t["id"]) for t in r.json()["items"]} == {"T1", "T2"}
    r = await client.get(f"/api/v1/me/tickets/{t1}", headers=erin)
    assert r.status_code == 200, r.text
    assert [m["body_text"] for m in r.json()["messages"]] == [
        "The office printer jams every morning.",
        "Please send a photo of the tray.",
    ]
    assert MARKER not in r.text.lower()
    att = await client.get(f"/api/v1/attachments/{world.ids['public_att']}", headers=erin)
    assert att.status_code == 200
    assert att.content == PUBLIC_FILE
    att = await client.get(f"/api/v1/attachments/{world.ids['internal_att']}", headers=erin)
    assert att.status_code == 404
    r = await client.post(
        f"/api/v1/me/tickets/{t1}/messages", headers=erin, json={"body": "Me too"}
    )
    assert r.status_code == 201, r.text
    assert MARKER not in r.text.lower()


async def test_merged_notes_stay_internal_on_the_ticket_they_moved_to(
    client: httpx.AsyncClient, world: World
) -> None:
    """T2's internal note moves into T3 with the merge; dave (T3) and erin (now a
    follower of T3) read T3 and still never see it."""
    r = await client.post(
        f"/api/v1/tickets/{world.ids['T2']}/merge", headers=world.admin,
        json={"into_id": world.ids["T3"]},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.text.count(MARKER) == 2  # T3's own note and T2's, for the agent
    for persona in ("same_org_customer", "other_org_customer"):
        headers = world.headers[persona]
        r = await client.get(f"/api/v1/me/tickets/{world.ids['T3']}", headers=headers)
        assert r.status_code == 200, r.text
        assert MARKER not in r.text.lower()
        assert "The March invoice has no VAT line." in r.text
        r = await client.get(f"/api/v1/me/tickets?q={MARKER}", headers=headers)
        assert r.json()["items"] == []


async def test_a_customers_ticket_has_only_customer_facing_fields(
    client: httpx.AsyncClient, world: World
) -> None:
    carol = world.headers["customer"]
    r = await client.get(f"/api/v1/me/tickets/{world.ids['T1']}", headers=carol)
    ticket = r.json()
    assert set(ticket) == {
        "id", "number", "subject", "status", "type", "created_at", "updated_at",
        "assignee_name", "custom_fields", "messages",
    }  # fmt: skip
    assert {frozenset(m) for m in ticket["messages"]} == {
        frozenset({"id", "author_kind", "author_name", "body_text", "body_html", "attachments",
                   "created_at"})
    }  # fmt: skip
    assert ticket["custom_fields"] == {"printer_model": "LJ 4000"}  # not the hidden one
    assert [a["id"] for m in ticket["messages"] for a in m["attachments"]] == [
        world.ids["public_att"]
    ]
    r = await client.get("/api/v1/me/tickets", headers=carol)
    (item,) = r.json()["items"]
    assert set(item) == set(ticket)
    assert item["messages"] == []


class TestActorCache:
    async def test_a_cached_token_stops_working_at_once_when_revoked_in_this_process(
        self, client: httpx.AsyncClient, company: Company, db: Database
    ) -> None:
        async with db.unit_of_work() as s:
            token, raw = await auth_service.create_token(s, user_id=company.l1_agent.id)
        headers = {"Authorization": f"Bearer {raw}"}
        assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 200
        r = await client.delete(f"/api/v1/tokens/{token.id}", headers=company.admin.headers)
        assert r.status_code == 204
        assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 401

    async def test_group_changes_reach_a_cached_actor_at_once(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        me = await client.get("/api/v1/users/me", headers=company.l1_agent.headers)
        assert me.json()["group_ids"] == [company.l1_group_id]
        r = await client.patch(
            f"/api/v1/users/{company.l1_agent.id}",
            headers=company.admin.headers,
            json={"ticket_access": "groups", "group_ids": [company.l2_group_id]},
        )
        assert r.status_code == 200, r.text
        t = await client.post(
            "/api/v1/tickets",
            headers=company.admin.headers,
            json={"subject": "x", "body": "y", "requester": {"email": "carol@acme.ru"},
                  "group_id": company.l1_group_id},
        )  # fmt: skip
        assert t.status_code == 201, t.text
        # lena now sees only L2 tickets: the L1 ticket is out of her scope at once
        r = await client.get(f"/api/v1/tickets/{t.json()['id']}", headers=company.l1_agent.headers)
        assert r.status_code == 404
