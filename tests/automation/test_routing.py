"""Routing (automation/routing.py, routing_subscriber.py) on both backends: the rules as a
table (``pick_agent``), then on real tickets — round-robin fairness, least loaded,
capacity, availability, skills, language, manual groups, the events that route, going
offline, concurrent routings — and the availability and group settings through the API."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.models import GroupMembership, User
from opora.auth.schemas import GroupCreate, UserCreate, UserUpdate
from opora.automation import routing
from opora.automation.routing import Candidate, pick_agent
from opora.db import Database
from opora.errors import InvalidInput
from opora.tickets import service as tickets
from opora.tickets.models import Ticket, TicketEvent
from opora.tickets.schemas import EscalateIn, RequesterIn, TicketCreate, TicketUpdate
from tests.conftest import Company

ACTOR = system_actor("tests")
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


# -- the rules as a table ---------------------------------------------------------------


def cand(user_id: int, **kw: Any) -> Candidate:
    base: dict[str, Any] = {"membership_id": user_id, "load": 0, "capacity": 10}
    base.update(kw)
    for key in ("skills", "languages"):
        if key in base:
            base[key] = frozenset(base[key])
    return Candidate(user_id=user_id, **base)


def picked(candidates: list[Candidate], strategy: str = "round_robin", **kw: Any) -> int | None:
    chosen = pick_agent(candidates, strategy=strategy, **kw)
    return chosen.user_id if chosen else None


class TestPickAgent:
    @pytest.mark.parametrize(
        ("candidates", "expected"),
        [
            ([cand(1, availability="away"), cand(2, availability="offline")], None),
            ([cand(1, availability="away"), cand(2)], 2),
            ([cand(1, load=10), cand(2, load=9)], 2),  # 1 is at capacity
            ([cand(1, capacity=0)], None),
            # never assigned goes first, then the oldest stamp; ties by membership id
            ([cand(1, last_assigned_at=T0), cand(2)], 2),
            ([cand(1, last_assigned_at=T0), cand(2, last_assigned_at=T0 - timedelta(1))], 2),
            ([cand(2, membership_id=5), cand(1, membership_id=4)], 1),
        ],
    )
    def test_round_robin(self, candidates: list[Candidate], expected: int | None) -> None:
        assert picked(candidates) == expected

    def test_least_loaded_takes_the_emptiest_and_breaks_ties_in_round_robin_order(self) -> None:
        busy = cand(1, load=3)
        quiet = cand(2, load=1, last_assigned_at=T0)
        also_quiet = cand(3, load=1, last_assigned_at=T0 - timedelta(hours=1))
        assert picked([busy, quiet, also_quiet], "least_loaded") == 3
        assert picked([busy, quiet], "least_loaded") == 2
        assert picked([busy, quiet, also_quiet], "round_robin") == 1  # never stamped

    @pytest.mark.parametrize(
        ("tags", "expected"),
        [
            (["billing"], 2),  # only 2 has it
            (["billing", "vpn"], 3),  # 3 has both
            (["Billing"], 2),  # tags and skills compare case-insensitively
            (["vpn", "sso"], 3),  # nobody has all: the most of them wins
            (["printers"], 1),  # nobody has it: skills narrow nothing
            ([], 1),
        ],
    )
    def test_skills(self, tags: list[str], expected: int) -> None:
        agents = [
            cand(1),
            cand(2, skills={"billing"}),
            cand(3, skills={"billing", "vpn"}),
            cand(4, skills={"sso"}, availability="offline"),
        ]
        assert picked(agents, ticket_tags=tags) == expected

    def test_a_skilled_agent_at_capacity_does_not_count(self) -> None:
        agents = [cand(1), cand(2, skills={"billing"}, load=10)]
        assert picked(agents, ticket_tags=["billing"]) == 1

    @pytest.mark.parametrize(
        ("language", "expected"), [("ru", 2), ("ru-RU", 2), ("en", 1), ("de", 1), (None, 1)]
    )
    def test_language_is_a_preference(self, language: str | None, expected: int) -> None:
        agents = [cand(1, languages={"en"}), cand(2, languages={"ru", "en"})]
        assert picked(agents, language=language) == expected

    def test_skills_come_before_language(self) -> None:
        agents = [cand(1, languages={"ru"}), cand(2, skills={"billing"}, languages={"en"})]
        assert picked(agents, ticket_tags=["billing"], language="ru") == 2

    def test_an_unknown_strategy_is_refused(self) -> None:
        with pytest.raises(InvalidInput) as exc:
            pick_agent([cand(1)], strategy="random")
        assert exc.value.field == "strategy"


# -- on real tickets --------------------------------------------------------------------


async def make_group(
    db: Database, name: str, *, mode: str, reassign: bool = False, line: int = 1
) -> int:
    async with db.unit_of_work() as s:
        group = await auth_service.create_group(
            s,
            actor=ACTOR,
            data=GroupCreate(name=name, line=line, assignment=mode, reassign_when_offline=reassign),
        )
        return group.id


async def make_agent(
    db: Database,
    name: str,
    group_ids: list[int],
    *,
    availability: str = "online",
    capacity: int = 20,
    skills: tuple[str, ...] = (),
    languages: tuple[str, ...] = (),
) -> int:
    async with db.unit_of_work() as s:
        user = await auth_service.create_user(
            s,
            actor=ACTOR,
            data=UserCreate(
                email=f"{name.lower()}@opora.dev", name=name, group_ids=group_ids,
                capacity=capacity, skills=list(skills), languages=list(languages),
            ),
        )  # fmt: skip
        await auth_service.set_availability(
            s, actor=ACTOR, availability=availability, user_id=user.id
        )
        return user.id


async def new_ticket(
    db: Database,
    group_id: int | None,
    *,
    email: str = "carol@acme.ru",
    language: str | None = None,
    **fields: Any,
) -> int:
    async with db.unit_of_work() as s:
        ticket = await tickets.create_ticket(
            s,
            actor=ACTOR,
            data=TicketCreate(
                subject="Не могу войти", body="Пишет «неверный пароль»",
                requester=RequesterIn(email=email, language=language), group_id=group_id,
                **fields,
            ),
        )  # fmt: skip
        return ticket.id


async def assignee(db: Database, ticket_id: int) -> int | None:
    async with db.unit_of_work(write=False) as s:
        return (
            await s.execute(select(Ticket.assignee_id).where(Ticket.id == ticket_id))
        ).scalar_one()


async def update(db: Database, ticket_id: int, **fields: Any) -> None:
    async with db.unit_of_work() as s:
        await tickets.update_ticket(
            s, actor=ACTOR, ticket_id=ticket_id, data=TicketUpdate(**fields)
        )


async def set_availability(db: Database, user_id: int, availability: str) -> int:
    async with db.unit_of_work() as s:
        _, moved = await auth_service.set_availability(
            s, actor=ACTOR, availability=availability, user_id=user_id
        )
        return moved


class TestRoundRobin:
    async def test_each_agent_gets_a_fair_share_in_turn(self, db: Database) -> None:
        group = await make_group(db, "Front", mode="round_robin")
        agents = [await make_agent(db, n, [group]) for n in ("Anna", "Boris", "Vera")]
        await make_agent(db, "Gleb", [group], availability="away")
        order = []
        for _ in range(11):
            order.append(await assignee(db, await new_ticket(db, group)))
        counts = Counter(order)
        assert set(counts) == set(agents)  # Gleb is away: nothing new
        assert sorted(counts.values()) == [3, 4, 4]  # ⌊11/3⌋ or ⌈11/3⌉ each
        # in turn: every three consecutive tickets went to three different agents
        assert all(len(set(order[i : i + 3])) == 3 for i in range(len(order) - 2))

    async def test_the_timeline_says_routing_assigned_it(self, db: Database) -> None:
        group = await make_group(db, "Front", mode="round_robin")
        anna = await make_agent(db, "Anna", [group])
        tid = await new_ticket(db, group)
        async with db.unit_of_work(write=False) as s:
            events = list(
                (
                    await s.execute(
                        select(TicketEvent).where(
                            TicketEvent.ticket_id == tid, TicketEvent.field == "assignee_id"
                        )
                    )
                ).scalars()
            )
            membership = (
                await s.execute(select(GroupMembership).where(GroupMembership.user_id == anna))
            ).scalar_one()
        assert [(e.actor_kind, e.actor_label, e.new_value) for e in events] == [
            ("system", "Routing", anna)
        ]
        assert membership.last_assigned_at is not None


class TestLeastLoaded:
    async def test_the_emptiest_agent_gets_the_ticket(self, db: Database) -> None:
        group = await make_group(db, "Front", mode="least_loaded")
        anna = await make_agent(db, "Anna", [group])
        boris = await make_agent(db, "Boris", [group])
        vera = await make_agent(db, "Vera", [group])
        for agent, n in ((anna, 3), (vera, 1)):
            for _ in range(n):
                await new_ticket(db, group, assignee_id=agent)  # by hand: not routed
        assert await assignee(db, await new_ticket(db, group)) == boris
        # Boris and Vera now have one each; Vera was never routed to, so she is next
        assert await assignee(db, await new_ticket(db, group)) == vera
        assert await assignee(db, await new_ticket(db, group)) == boris

    async def test_pending_tickets_do_not_count_toward_load_or_capacity(self, db: Database) -> None:
        group = await make_group(db, "Front", mode="least_loaded")
        anna = await make_agent(db, "Anna", [group], capacity=1)
        boris = await make_agent(db, "Boris", [group])
        waiting_on_customer = await new_ticket(db, group, assignee_id=anna)
        await update(db, waiting_on_customer, status="pending")
        await new_ticket(db, group, assignee_id=boris)
        assert await assignee(db, await new_ticket(db, group)) == anna


class TestEligibility:
    async def test_agents_at_capacity_are_skipped_and_nobody_leaves_it_unassigned(
        self, db: Database
    ) -> None:
        group = await make_group(db, "Front", mode="round_robin")
        anna = await make_agent(db, "Anna", [group], capacity=2)
        boris = await make_agent(db, "Boris", [group], capacity=1)
        ids = [await new_ticket(db, group) for _ in range(4)]
        got = [await assignee(db, tid) for tid in ids]
        assert Counter(got) == {anna: 2, boris: 1, None: 1}
        assert got[3] is None
        # on hold still fills the capacity; pending frees a place
        await update(db, ids[got.index(anna)], status="on_hold")
        assert await assignee(db, await new_ticket(db, group)) is None
        await update(db, ids[got.index(boris)], status="pending")
        assert await assignee(db, await new_ticket(db, group)) == boris

    async def test_only_online_agents_get_tickets(self, db: Database) -> None:
        group = await make_group(db, "Front", mode="round_robin")
        await make_agent(db, "Away", [group], availability="away")
        await make_agent(db, "Gone", [group], availability="offline")
        tid = await new_ticket(db, group)
        assert await assignee(db, tid) is None
        online = await make_agent(db, "Here", [group])
        assert await assignee(db, await new_ticket(db, group)) == online

    async def test_deactivated_members_get_nothing(self, db: Database) -> None:
        group = await make_group(db, "Front", mode="round_robin")
        left = await make_agent(db, "Left", [group])
        async with db.unit_of_work() as s:
            await auth_service.deactivate_user(s, actor=ACTOR, user_id=left)
        assert await assignee(db, await new_ticket(db, group)) is None

    async def test_skills_pick_the_specialist_else_anyone(self, db: Database) -> None:
        group = await make_group(db, "Front", mode="round_robin")
        anna = await make_agent(db, "Anna", [group])
        boris = await make_agent(db, "Boris", [group], skills=("Billing", "VPN"))
        for _ in range(3):  # Anna would be next in turn every other time
            assert await assignee(db, await new_ticket(db, group, tags=["billing"])) == boris
        nobody_has_it = [
            await assignee(db, await new_ticket(db, group, tags=["printers"])) for _ in range(2)
        ]
        assert set(nobody_has_it) == {anna, boris}

    async def test_the_requesters_language_is_preferred(self, db: Database) -> None:
        group = await make_group(db, "Front", mode="round_robin")
        await make_agent(db, "Anna", [group], languages=("en",))
        olga = await make_agent(db, "Olga", [group], languages=("ru", "en"), capacity=2)
        ru = "ivan@example.ru"
        got = [await assignee(db, await new_ticket(db, group, email=ru, language="ru"))]
        got.append(await assignee(db, await new_ticket(db, group, email=ru)))
        assert got == [olga, olga]
        # Olga is full: a preference, not a requirement
        other = await assignee(db, await new_ticket(db, group, email=ru))
        assert other not in (None, olga)


class TestWhenRoutingHappens:
    async def test_a_manual_group_is_left_alone(self, db: Database) -> None:
        group = await make_group(db, "Queue", mode="manual")
        await make_agent(db, "Anna", [group])
        tid = await new_ticket(db, group)
        assert await assignee(db, tid) is None
        async with db.unit_of_work() as s:  # unless a caller asks for a strategy
            ticket = await s.get(Ticket, tid)
            assert ticket is not None
            assert await routing.route_ticket(s, ticket) is None
            assert await routing.route_ticket(s, ticket, strategy="round_robin") is not None

    async def test_a_ticket_assigned_by_hand_keeps_its_agent(self, db: Database) -> None:
        group = await make_group(db, "Front", mode="round_robin")
        await make_agent(db, "Anna", [group])
        away = await make_agent(db, "Away", [group], availability="away")
        assert await assignee(db, await new_ticket(db, group, assignee_id=away)) == away
        tid = await new_ticket(db, group)
        assert await assignee(db, tid) not in (None, away)
        await update(db, tid, assignee_id=away)  # by hand, to someone routing would skip
        assert await assignee(db, tid) == away

    async def test_a_ticket_moved_into_a_routing_group_is_routed(self, db: Database) -> None:
        queue = await make_group(db, "Queue", mode="manual")
        front = await make_group(db, "Front", mode="round_robin")
        anna = await make_agent(db, "Anna", [front])
        tid = await new_ticket(db, queue)
        assert await assignee(db, tid) is None
        await update(db, tid, group_id=front)
        assert await assignee(db, tid) == anna

    async def test_clearing_the_assignee_routes_it_again(self, db: Database) -> None:
        front = await make_group(db, "Front", mode="round_robin")
        anna = await make_agent(db, "Anna", [front])
        boris = await make_agent(db, "Boris", [front])
        tid = await new_ticket(db, front, assignee_id=anna)
        async with db.unit_of_work() as s:  # Anna had the last turn
            await s.execute(
                GroupMembership.__table__.update()
                .where(GroupMembership.user_id == anna)
                .values(last_assigned_at=datetime.now(UTC))
            )
        await update(db, tid, assignee_id=None)
        assert await assignee(db, tid) == boris

    async def test_a_pending_ticket_moved_into_a_routing_group_is_not_routed(
        self, db: Database
    ) -> None:
        queue = await make_group(db, "Queue", mode="manual")
        front = await make_group(db, "Front", mode="round_robin")
        await make_agent(db, "Anna", [front])
        tid = await new_ticket(db, queue, status="pending")
        await update(db, tid, group_id=front)
        assert await assignee(db, tid) is None

    async def test_an_escalated_ticket_is_routed_in_its_new_group(
        self, db: Database, company: Company
    ) -> None:
        l2 = await make_group(db, "L2 Routed", mode="least_loaded", line=2)
        igor = await make_agent(db, "Igor2", [l2])
        lena = company.l1_agent.id
        tid = await new_ticket(db, company.l1_group_id, assignee_id=lena)
        async with db.unit_of_work() as s:
            await tickets.escalate_ticket(
                s, actor=ACTOR, ticket_id=tid, data=EscalateIn(reason="needs L2", group_id=l2)
            )
        assert await assignee(db, tid) == igor


class TestGoingOffline:
    async def test_waiting_tickets_of_groups_that_ask_for_it_are_routed_again(
        self, db: Database
    ) -> None:
        front = await make_group(db, "Front", mode="round_robin", reassign=True)
        keeps = await make_group(db, "Keeps", mode="round_robin", reassign=False)
        queue = await make_group(db, "Queue", mode="manual", reassign=True)
        anna = await make_agent(db, "Anna", [front, keeps, queue])
        boris = await make_agent(db, "Boris", [front, keeps, queue])
        new = await new_ticket(db, front, assignee_id=anna)
        open_ = await new_ticket(db, front, assignee_id=anna, status="open")
        pending = await new_ticket(db, front, assignee_id=anna, status="pending")
        on_hold = await new_ticket(db, front, assignee_id=anna, status="on_hold")
        other_group = await new_ticket(db, keeps, assignee_id=anna)
        manual = await new_ticket(db, queue, assignee_id=anna)

        assert await set_availability(db, anna, "away") == 0  # away keeps everything
        assert await assignee(db, new) == anna

        assert await set_availability(db, anna, "offline") == 2
        assert await assignee(db, new) == boris
        assert await assignee(db, open_) == boris
        for kept in (pending, on_hold, other_group, manual):
            assert await assignee(db, kept) == anna
        assert await set_availability(db, anna, "offline") == 0  # already offline

    async def test_with_nobody_to_take_them_they_wait_unassigned(self, db: Database) -> None:
        front = await make_group(db, "Front", mode="least_loaded", reassign=True)
        anna = await make_agent(db, "Anna", [front])
        tid = await new_ticket(db, front)
        assert await assignee(db, tid) == anna
        async with db.unit_of_work() as s:  # through the user update too
            await auth_service.update_user(
                s, actor=ACTOR, user_id=anna, data=UserUpdate(availability="offline")
            )
        assert await assignee(db, tid) is None
        async with db.unit_of_work(write=False) as s:
            user = await s.get(User, anna)
            assert user is not None and user.availability == "offline"


class TestConcurrency:
    async def test_two_routings_at_once_do_not_overfill_an_agent(
        self, db: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Each transaction counts the load, waits, then assigns: without the lock on
        the memberships both would see an empty agent (PostgreSQL); SQLite has one
        writer, which serializes them."""
        queue = await make_group(db, "Queue", mode="manual")
        anna = await make_agent(db, "Anna", [queue], capacity=1)
        ids = [await new_ticket(db, queue) for _ in range(2)]
        counted = asyncio.Event()
        real_loads = routing.loads_of

        async def slow_loads(*args: Any, **kwargs: Any) -> dict[int, int]:
            result = await real_loads(*args, **kwargs)
            counted.set()
            await asyncio.sleep(0.3)  # the other transaction gets its chance to count
            return result

        monkeypatch.setattr(routing, "loads_of", slow_loads)

        async def route(ticket_id: int) -> int | None:
            async with db.unit_of_work() as s:
                ticket = await s.get(Ticket, ticket_id)
                assert ticket is not None
                return await routing.route_ticket(s, ticket, strategy="least_loaded")

        results = await asyncio.gather(*(route(t) for t in ids))
        assert counted.is_set()
        assert sorted(results, key=lambda r: r or 0) == [None, anna]
        assert sorted([await assignee(db, t) or 0 for t in ids]) == [0, anna]


class TestApi:
    async def test_an_agent_sets_their_own_availability(
        self, client: httpx.AsyncClient, company: Company, db: Database
    ) -> None:
        h = company.l1_agent.headers
        r = await client.put(
            "/api/v1/users/me/availability", headers=h, json={"availability": "online"}
        )
        assert r.status_code == 200, r.text
        assert r.json() == {
            "user_id": company.l1_agent.id,
            "availability": "online",
            "reassigned": 0,
        }
        r = await client.get("/api/v1/users/me", headers=h)
        assert r.json()["availability"] == "online"

    async def test_a_bad_availability_is_422_naming_the_field(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.put(
            "/api/v1/users/me/availability",
            headers=company.l1_agent.headers,
            json={"availability": "busy"},
        )
        assert r.status_code == 422
        assert r.json()["error"]["field"] == "body.availability"

    async def test_only_an_admin_sets_someone_elses(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        url = f"/api/v1/users/{company.l2_agent.id}/availability"
        body = {"availability": "away"}
        r = await client.put(url, headers=company.l1_agent.headers, json=body)
        assert r.status_code == 403
        r = await client.put(url, headers=company.admin.headers, json=body)
        assert r.status_code == 200 and r.json()["availability"] == "away"
        r = await client.put(url, headers=company.customer.headers, json=body)
        assert r.status_code == 403

    async def test_going_offline_through_the_api_says_how_many_went(
        self, client: httpx.AsyncClient, company: Company, db: Database
    ) -> None:
        front = await make_group(db, "Front", mode="round_robin", reassign=True)
        async with db.unit_of_work() as s:
            await auth_service.update_user(
                s, actor=ACTOR, user_id=company.l1_agent.id,
                data=UserUpdate(group_ids=[front], availability="online"),
            )  # fmt: skip
        tid = await new_ticket(db, front)
        assert await assignee(db, tid) == company.l1_agent.id
        h = company.l1_agent.headers
        r = await client.put(
            "/api/v1/users/me/availability", headers=h, json={"availability": "offline"}
        )
        assert r.status_code == 200
        assert r.json()["reassigned"] == 1
        assert await assignee(db, tid) is None

    async def test_groups_read_and_write_the_routing_settings(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        h = company.admin.headers
        r = await client.post(
            "/api/v1/groups",
            headers=h,
            json={"name": "Routed", "assignment": "least_loaded", "reassign_when_offline": True},
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["assignment"], body["reassign_when_offline"]) == ("least_loaded", True)
        r = await client.patch(
            f"/api/v1/groups/{body['id']}", headers=h, json={"assignment": "round_robin"}
        )
        assert r.status_code == 200
        assert r.json()["assignment"] == "round_robin"
        assert r.json()["reassign_when_offline"] is True
        r = await client.get(f"/api/v1/groups/{company.l1_group_id}", headers=h)
        assert (r.json()["assignment"], r.json()["reassign_when_offline"]) == ("manual", False)

    @pytest.mark.parametrize("method", ["post", "patch"])
    async def test_a_bad_mode_is_422_naming_the_field(
        self, client: httpx.AsyncClient, company: Company, method: str
    ) -> None:
        h = company.admin.headers
        if method == "post":
            r = await client.post(
                "/api/v1/groups", headers=h, json={"name": "X", "assignment": "random"}
            )
        else:
            r = await client.patch(
                f"/api/v1/groups/{company.l1_group_id}", headers=h, json={"assignment": "random"}
            )
        assert r.status_code == 422
        assert r.json()["error"]["field"] == "body.assignment"
