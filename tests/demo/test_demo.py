"""`opora demo`: a believable help desk, the same one for the same seed, on both backends."""

from __future__ import annotations

import random
import re
import shutil
import string
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import system_actor
from opora.auth.models import Group, User
from opora.automation.models import Macro, TimeRule, Trigger
from opora.config import Settings
from opora.contacts.models import Contact
from opora.db import Database
from opora.demo import content, load_demo
from opora.demo.automation import load_automation
from opora.demo.fast import fast_possible
from opora.demo.kb import load_kb
from opora.demo.plan import draw_choices, gender_slots, make_plan, slots_for
from opora.fields import service as fields_service
from opora.jobs.models import Job
from opora.kb import service as kb_service
from opora.migrations import runner
from opora.search import service as search
from opora.tickets.models import Message, Tag, Ticket, TicketEvent, TicketLink, TicketTag
from tests.conftest import (
    PG_TEST_DB,
    drop_pg_database,
    pg_url,
    recreate_pg_database,
    skip_or_fail,
)

TICKETS = 150
SEED = 11
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)
LATIN = re.compile("[a-z]", re.IGNORECASE)


async def _load(settings: Settings, **kwargs: Any) -> str:
    return await load_demo(settings, tickets=TICKETS, seed=SEED, now=NOW, **kwargs)


@dataclass
class Loaded:
    settings: Settings
    db: Database


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def loaded(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    pg_database: str | None,
) -> AsyncIterator[Loaded]:
    """One demo load per backend, shared by the tests that only read it (loading takes a
    couple of seconds). PostgreSQL gets a database of its own, dropped afterwards."""
    data_dir = tmp_path_factory.mktemp(f"demo-{request.param}")
    pg_name = f"{PG_TEST_DB}_demo"
    if request.param == "sqlite":
        shutil.copy(sqlite_template, data_dir / "opora.db")
        url = f"sqlite+aiosqlite:///{data_dir / 'opora.db'}"
    else:
        if pg_database is None:
            skip_or_fail("PostgreSQL is unreachable")
        await recreate_pg_database(pg_name)
        url = pg_url(pg_name)
        await runner.upgrade(url)
    settings = Settings(data_dir=data_dir, database_url=url)
    summary = await _load(settings)
    assert f"Demo company loaded: {TICKETS} tickets" in summary
    db = Database(url)
    try:
        yield Loaded(settings, db)
    finally:
        await db.dispose()
        if request.param == "postgres":
            await drop_pg_database(pg_name)


class TestLoadDemo:
    async def test_it_builds_a_company_with_every_line_status_and_language(
        self, loaded: Loaded
    ) -> None:
        async with loaded.db.unit_of_work(write=False) as s:
            lines = set((await s.execute(select(Group.line))).scalars())
            statuses = set((await s.execute(select(Ticket.status))).scalars())
            languages = set((await s.execute(select(Contact.language))).scalars())
            subjects = list((await s.execute(select(Ticket.subject))).scalars())
            tickets = await s.scalar(select(func.count(Ticket.id)))
            notes = await s.scalar(
                select(func.count(Message.id)).where(Message.visibility == "internal")
            )
            escalations = list(
                (
                    await s.execute(select(TicketEvent).where(TicketEvent.kind == "escalated"))
                ).scalars()
            )
            repliers = set(
                (
                    await s.execute(
                        select(TicketEvent.actor_kind).where(TicketEvent.kind == "reply_added")
                    )
                ).scalars()
            )
            tags = set((await s.execute(select(Tag.name))).scalars())
        assert lines == {1, 2, 3, 4}
        assert statuses == {"new", "open", "pending", "on_hold", "solved", "closed"}
        assert languages == {"ru", "en"}
        assert tickets == TICKETS
        assert any(CYRILLIC.search(s) for s in subjects)
        assert any(LATIN.search(s) and not CYRILLIC.search(s) for s in subjects)
        assert notes and notes > TICKETS // 5
        assert len({e.ticket_id for e in escalations}) > TICKETS // 10
        assert {e.new_value["line"] for e in escalations} >= {2, 3}
        assert all(e.new_value["reason"] and e.actor_kind == "user" for e in escalations)
        assert repliers == {"user", "contact"}  # agents by name, and the customers
        assert {"login", "password", "payment", "bug", "how-to"} <= tags

    async def test_history_lies_in_the_last_90_days_in_order(self, loaded: Loaded) -> None:
        async with loaded.db.unit_of_work(write=False) as s:
            tickets = {t.id: t for t in (await s.execute(select(Ticket))).scalars()}
            messages = list((await s.execute(select(Message))).scalars())
            events = list((await s.execute(select(TicketEvent))).scalars())
        for t in tickets.values():
            assert NOW - timedelta(days=90) <= t.created_at <= t.updated_at <= NOW, t.number
            if t.first_responded_at:
                assert t.created_at < t.first_responded_at <= t.updated_at, t.number
            if t.status == "closed":
                assert t.solved_at and t.closed_at and t.solved_at <= t.closed_at, t.number
                assert t.closed_at - t.solved_at >= timedelta(days=4) or t.merged_into_id
            if t.status in ("new", "open", "pending", "on_hold"):
                assert t.solved_at is None and t.closed_at is None, t.number
        for m in messages:
            assert tickets[m.ticket_id].created_at <= m.created_at <= NOW, m.id
        for e in events:
            assert tickets[e.ticket_id].created_at <= e.created_at <= NOW, e.id

    async def test_the_same_seed_gives_the_same_tickets(self, loaded: Loaded) -> None:
        async with loaded.db.unit_of_work(write=False) as s:
            stored = list(await s.execute(select(Ticket.subject).order_by(Ticket.number)))
        expected = []
        for story in make_plan(seed=SEED, tickets=TICKETS, now=NOW).stories:
            expected.append(story.subject)
            if any(step.op == "create" and step.ticket == 1 for step in story.steps):
                expected.append(story.subject)  # the duplicate the customer sent
            if any(step.op == "follow_up" for step in story.steps):
                expected.append(f"Follow-up: {story.subject}")
        other = make_plan(seed=SEED + 1, tickets=TICKETS, now=NOW)
        assert [subject for (subject,) in stored] == expected
        assert expected[:20] != [story.subject for story in other.stories][:20]

    async def test_again_with_if_empty_adds_nothing(self, loaded: Loaded) -> None:
        summary = await _load(loaded.settings, if_empty=True)
        async with loaded.db.unit_of_work(write=False) as s:
            tickets = await s.scalar(select(func.count(Ticket.id)))
            contacts = await s.scalar(select(func.count(Contact.id)))
        assert "already has tickets" in summary
        assert tickets == TICKETS
        assert contacts == len(make_plan(seed=SEED, tickets=TICKETS, now=NOW).contacts)

    async def test_it_defines_ticket_forms_once(self, loaded: Loaded) -> None:
        async with loaded.db.unit_of_work(write=False) as s:
            forms = await fields_service.list_ticket_forms(s, actor=system_actor("tests"))
        assert [(f.name, f.is_default, f.visible_to_customers) for f in forms] == [
            ("Question", True, True),
            ("Problem with the app", False, True),
            ("Callback request", False, False),
        ]
        assert all(f.name_ru and f.ticket_type for f in forms)
        assert forms[1].required_keys == ["platform"]

    async def test_internal_notes_are_searchable_by_agents_only(self, loaded: Loaded) -> None:
        # every escalation leaves an internal note "Escalated from line 1 to line 2 (...)"
        async with loaded.db.unit_of_work(write=False) as s:
            agents = await _found(s, "escalated from line", include_internal=True)
            customers = await _found(s, "escalated from line", include_internal=False)
        assert len(agents) > TICKETS // 10
        assert customers == set()

    async def test_it_sets_up_sla_routing_and_automation_once(self, loaded: Loaded) -> None:
        async with loaded.db.unit_of_work(write=False) as s:
            open_tickets = list(
                (
                    await s.execute(
                        select(Ticket).where(Ticket.status.in_(["new", "open", "on_hold"]))
                    )
                ).scalars()
            )
            triggers = list((await s.execute(select(Trigger))).scalars())
            time_rules = await s.scalar(select(func.count(TimeRule.id)))
            macros = list((await s.execute(select(Macro))).scalars())
            first_line = (await s.execute(select(Group).where(Group.line == 1))).scalar_one()
            online = await s.scalar(
                select(func.count(User.id)).where(User.availability == "online")
            )
            breaches = await s.scalar(
                select(func.count(TicketEvent.id)).where(TicketEvent.kind == "sla_breached")
            )
        assert open_tickets and all(t.sla_policy_id is not None for t in open_tickets)
        assert all(t.due_at is not None for t in open_tickets if t.status != "on_hold")
        assert breaches  # the history has crossed some targets already
        assert len(triggers) == 5 and all(t.is_active for t in triggers)
        assert time_rules == 5
        assert len(macros) == 4 and all(m.owner_id is None for m in macros)
        assert {m.visibility for m in macros} == {"public", "internal"}
        assert first_line.assignment == "round_robin" and online == 3
        again = await load_automation(loaded.db, now=NOW)
        assert set(again.values()) == {0}

    async def test_it_fills_the_help_center_once(self, loaded: Loaded) -> None:
        async with loaded.db.unit_of_work(write=False) as s:
            found = await kb_service.search(
                s, actor=None, query="не могу войти в аккаунт", locale="ru"
            )
            english = await kb_service.search(s, actor=None, query="reset password", locale="ru")
            internal = await kb_service.search(
                s, actor=None, query="вторая линия вход", locale="ru"
            )
        assert found.hits[0].title == "Не могу войти в аккаунт"
        assert english.hits[0].title == "Сброс пароля"
        assert all(h.visibility == "public" for h in internal.hits)
        assert "Вход: что проверить второй линии" not in [h.title for h in internal.hits]
        again = await load_kb(loaded.db)
        assert set(again.values()) == {0}

    async def test_no_job_is_queued(self, loaded: Loaded) -> None:
        async with loaded.db.unit_of_work(write=False) as s:
            jobs = await s.scalar(select(func.count(Job.id)))
        assert jobs == 0  # nothing is emailed to the invented customers


class TestFastPath:
    async def test_it_writes_the_rows_the_services_write(
        self, sqlite_template: Path, tmp_path: Path
    ) -> None:
        dumps = []
        for fast in (True, False):
            path = tmp_path / f"fast-{fast}" / "opora.db"
            path.parent.mkdir()
            shutil.copy(sqlite_template, path)
            settings = Settings(data_dir=path.parent, database_url=f"sqlite+aiosqlite:///{path}")
            await load_demo(settings, tickets=60, seed=SEED, now=NOW, fast=fast)
            dumps.append(await _dump(settings.resolved_database_url))
        with_fast, services_only = dumps
        plan = make_plan(seed=SEED, tickets=60, now=NOW)
        assert sum(fast_possible(story) for story in plan.stories) > 30  # the path is taken
        assert len([key for key in services_only if key.startswith("ticket ")]) == 60
        assert with_fast.keys() == services_only.keys()
        for key in services_only:
            assert with_fast[key] == services_only[key], key


class TestContent:
    def test_every_template_fills_its_slots(self) -> None:
        fields = {"first", "agent", "subject"}
        for topic in content.TOPICS:
            choices = draw_choices(random.Random(1), topic)
            for language in ("ru", "en"):
                slots = slots_for(language, choices, email="a@b.ru")
                slots.update({f: f for f in fields}, **gender_slots(female=True))
                texts = [topic.texts[language], content.COMMON[language]]
                texts += [case[language] for case in topic.cases]
                for group in texts:
                    for key, templates in group.items():
                        for template in templates:
                            names = {n for _, n, _, _ in string.Formatter().parse(template) if n}
                            assert names <= slots.keys(), (topic.key, language, key, template)
                            assert template.format_map(slots)

    def test_every_case_can_be_told_in_both_languages(self) -> None:
        needed = ("subjects", "problems", "solutions", "resolutions")
        for topic in content.TOPICS:
            for case in topic.cases:
                for language in ("ru", "en"):
                    assert all(case[language].get(key) for key in needed), topic.key
            for language in ("ru", "en"):
                texts = topic.texts[language]
                assert texts.get("questions") and texts.get("answers"), topic.key
                if topic.escalate_to:
                    assert texts.get("escalations") and texts.get("l2_notes"), topic.key


# words customers and agents search for, some only in internal notes
QUERIES = (
    "пароль", "password", "оплата", "refund", "вход", "sign in", "синхронизация", "sync",
    "крэш", "crash", "cookie", "HEIC", "спасибо", "thanks", "escalated from line", "логи",
    "Sentry", "PayGate", "биллинг", "billing", "FR", "очередь", "queue",
)  # fmt: skip


async def _found(s: AsyncSession, query: str, *, include_internal: bool) -> set[int]:
    """Numbers of the tickets a search for ``query`` finds."""
    dialect = s.get_bind().dialect.name
    matching = search.matching_ticket_ids(dialect, query, include_internal=include_internal)
    assert matching is not None
    rows = await s.execute(select(Ticket.number).where(Ticket.id.in_(matching)))
    return set(rows.scalars())


def _columns(model: Any) -> list[str]:
    return [column.key for column in model.__table__.columns]


async def _dump(url: str) -> dict[str, Any]:
    """Everything a ticket is made of, keyed by ticket number, without row ids."""
    db = Database(url)
    try:
        async with db.unit_of_work(write=False) as s:
            tickets = list((await s.execute(select(Ticket).order_by(Ticket.number))).scalars())
            number = {t.id: t.number for t in tickets}
            messages = list(
                (
                    await s.execute(select(Message).order_by(Message.created_at, Message.id))
                ).scalars()
            )
            events = list(
                (
                    await s.execute(
                        select(TicketEvent).order_by(TicketEvent.created_at, TicketEvent.id)
                    )
                ).scalars()
            )
            found = {
                (query, internal): await _found(s, query, include_internal=internal)
                for query in QUERIES
                for internal in (False, True)
            }
            tags = list(
                await s.execute(
                    select(TicketTag.ticket_id, Tag.name).join(Tag, Tag.id == TicketTag.tag_id)
                )
            )
            links = list((await s.execute(select(TicketLink))).scalars())
    finally:
        await db.dispose()
    position: dict[int, tuple[int, int]] = {}
    per_ticket: dict[int, int] = defaultdict(int)
    out: dict[str, Any] = defaultdict(list)
    skip = {"id", "ticket_id", "message_id", "merged_into_id"}
    for t in tickets:
        row = {c: getattr(t, c) for c in _columns(Ticket) if c not in skip}
        row["merged_into"] = number.get(t.merged_into_id or 0)
        out[f"ticket {t.number}"] = row
    for m in messages:
        n = number[m.ticket_id]
        position[m.id] = (n, per_ticket[n])
        per_ticket[n] += 1
        row = {c: getattr(m, c) for c in _columns(Message) if c not in skip}
        out[f"messages {n}"].append(row)
    for e in events:
        row = {c: getattr(e, c) for c in _columns(TicketEvent) if c not in skip}
        row["message"] = position.get(e.message_id or 0)
        out[f"events {number[e.ticket_id]}"].append(row)
    for (query, internal), numbers in found.items():
        out[f"search {query!r} {'agents' if internal else 'customers'}"] = sorted(numbers)
    for ticket_id, name in tags:
        out[f"tags {number[ticket_id]}"].append(name)
    for link in links:
        out["links"].append(
            (number[link.source_id], number.get(link.target_id or 0), link.kind,
             link.external_url, link.external_ref, link.created_at)
        )  # fmt: skip
    return {key: sorted(v, key=repr) if key.startswith(("tags", "links")) else v
            for key, v in out.items()}  # fmt: skip
