"""Domain events leave a unit of work only after its commit, and never after a rollback."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from opora import events
from opora.auth.actor import system_actor
from opora.db import Database
from opora.tickets import service
from opora.tickets.models import Ticket
from opora.tickets.schemas import RequesterIn, TicketCreate


class Collector:
    """A subscriber that keeps what it receives, and whether the ticket it names was
    already visible to another session (that is, committed) when the event arrived."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.received: list[events.DomainEvent] = []
        self.committed_when_received: list[bool] = []

    async def __call__(self, event: events.DomainEvent) -> None:
        self.received.append(event)
        if event.name == "ticket.created":
            async with self.db.unit_of_work(write=False) as other:
                ticket = await other.get(Ticket, event.payload["ticket_id"])
            self.committed_when_received.append(ticket is not None)

    def named(self, name: str) -> list[events.DomainEvent]:
        return [e for e in self.received if e.name == name]


@pytest_asyncio.fixture
async def collector(db: Database) -> AsyncIterator[Collector]:
    subscriber = Collector(db)
    events.subscribe(subscriber)
    try:
        yield subscriber
    finally:
        events.unsubscribe(subscriber)


def new_ticket(subject: str = "Не приходит письмо с кодом") -> TicketCreate:
    return TicketCreate(
        subject=subject,
        body="Жду код подтверждения уже час",
        requester=RequesterIn(email="carol@acme.ru", name="Carol"),
    )


async def ticket_count(db: Database) -> int:
    async with db.unit_of_work(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)


class Boom(Exception):
    pass


class TestDispatchAfterCommit:
    async def test_events_reach_subscribers_only_once_the_transaction_committed(
        self, db: Database, collector: Collector
    ) -> None:
        async with db.unit_of_work() as session:
            ticket = await service.create_ticket(
                session, actor=system_actor("tests"), data=new_ticket()
            )
            recorded = [e.name for e in events.pending(session)]
            dispatched_inside = list(collector.received)

        assert "ticket.created" in recorded
        assert dispatched_inside == [], "nothing is dispatched before the commit"
        created = collector.named("ticket.created")
        assert [e.payload["ticket_id"] for e in created] == [ticket.id]
        assert collector.committed_when_received == [True]

    async def test_a_block_that_raises_dispatches_nothing_and_keeps_nothing(
        self, db: Database, collector: Collector
    ) -> None:
        with pytest.raises(Boom):
            async with db.unit_of_work() as session:
                await service.create_ticket(session, actor=system_actor("tests"), data=new_ticket())
                assert "ticket.created" in [e.name for e in events.pending(session)]
                raise Boom

        assert collector.received == []
        assert await ticket_count(db) == 0

    async def test_events_of_a_rolled_back_block_do_not_leak_into_the_next_one(
        self, db: Database, collector: Collector
    ) -> None:
        with pytest.raises(Boom):
            async with db.unit_of_work() as session:
                await service.create_ticket(
                    session, actor=system_actor("tests"), data=new_ticket("first")
                )
                raise Boom
        async with db.unit_of_work() as session:
            second = await service.create_ticket(
                session, actor=system_actor("tests"), data=new_ticket("second")
            )

        assert [e.payload["ticket_id"] for e in collector.named("ticket.created")] == [second.id]


class TestFailingSubscriber:
    async def test_does_not_break_the_commit_nor_the_other_subscribers(
        self, db: Database, collector: Collector, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def broken(event: events.DomainEvent) -> None:
            raise RuntimeError("subscriber is down")

        # subscribed before the collector, so it runs first for every event
        events.unsubscribe(collector)
        events.subscribe(broken)
        events.subscribe(collector)
        try:
            with caplog.at_level(logging.ERROR, logger="opora.events"):
                async with db.unit_of_work() as session:
                    ticket = await service.create_ticket(
                        session, actor=system_actor("tests"), data=new_ticket()
                    )
        finally:
            events.unsubscribe(broken)

        assert await ticket_count(db) == 1
        assert [e.payload["ticket_id"] for e in collector.named("ticket.created")] == [ticket.id]
        assert any(
            "event subscriber failed for ticket.created" in r.getMessage() for r in caplog.records
        )
