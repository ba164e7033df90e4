"""Many messages in one transaction (``intake.ingest_many``: an IMAP poll, the SMTP
receiver's deliveries arriving together), on both backends: the same outcome as taking
each message in alone, whatever the mix; one bad message costs only itself; concurrent
SMTP deliveries each get their own answer."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import aiosmtplib
from sqlalchemy import select

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.channels.email.intake import Delivery, ingest_many
from opora.channels.email.models import InboundEmail, InboundStatus, Route
from opora.channels.email.service import IngestResult, SenderLimit
from opora.config import Settings
from opora.contacts.models import Contact, ContactIdentity
from opora.db import Database
from opora.errors import InvalidInput
from opora.jobs.models import Job
from opora.tickets import service as tickets_service
from opora.tickets.models import (
    Attachment,
    Message,
    Ticket,
    TicketEvent,
    TicketFollower,
    TicketStatus,
)
from tests.channels.email.support import SEND, add_mailbox, build, count, dsn, ingest, options
from tests.conftest import Company, build_company, truncate_all

PDF = b"%PDF-1.4 " + bytes(range(256)) * 20


def _round_one() -> list[bytes]:
    """Tickets that exist before the batch: #1 ivan, #2 olga (to be solved), #3 petr (to
    be closed), #4 anna, #5 sergey, #6 nina, #7 leo and #8 mia (#7 to be merged into #8)."""
    return [
        build(sender="Иван <ivan@example.ru>", message_id="<p1@example.ru>"),
        build(sender="Ольга <olga@example.ru>", subject="Не приходит СМС",
              message_id="<p2@example.ru>"),
        build(sender="petr@example.ru", subject="Ошибка оплаты", message_id="<p3@example.ru>"),
        build(sender="Anna <anna@example.com>", subject="Cannot sign in",
              body="Hello, I cannot sign in since yesterday.", message_id="<p4@example.com>"),
        build(sender="sergey@example.ru", subject="Экспорт данных",
              message_id="<p5@example.ru>"),
        build(sender="nina@example.ru", subject="Пропали фото", message_id="<p6@example.ru>"),
        build(sender="leo@example.ru", subject="Первое обращение", message_id="<p7@example.ru>"),
        build(sender="mia@example.ru", subject="Второе обращение", message_id="<p8@example.ru>"),
    ]  # fmt: skip


def _batch() -> list[bytes]:
    """Every kind of message at once (the comments say what each must become)."""
    return [
        # 0: a new request from a new customer
        build(sender="Мария <maria@example.ru>", subject="Как удалить аккаунт?",
              message_id="<b0@example.ru>"),
        # 1: the requester replies on ticket #1 (which 13 names by number too)
        build(sender="ivan@example.ru", subject="Re: вход", body="Всё ещё не работает.",
              in_reply_to="<p1@example.ru>"),
        # 2: the requester replies on solved #2: reopened
        build(sender="olga@example.ru", subject="Re: СМС", body="СМС так и не пришло.",
              in_reply_to="<p2@example.ru>"),
        # 3: the requester replies on closed #3: a follow-up ticket
        build(sender="petr@example.ru", subject="Re: оплата", body="Снова списали дважды.",
              in_reply_to="<p3@example.ru>"),
        # 4: a reply to 0, in the same batch
        build(sender="maria@example.ru", subject="Re: удалить", body="Уточню: и все фото.",
              in_reply_to="<b0@example.ru>"),
        # 5: 0 delivered twice
        build(sender="Мария <maria@example.ru>", subject="Как удалить аккаунт?",
              message_id="<b0@example.ru>"),
        # 6: a new request with a colleague on CC: a follower
        build(sender="oleg@example.ru", subject="Доступ для коллеги",
              cc="Вера <vera@example.ru>"),
        # 7: someone else replies in #4's thread: a follower
        build(sender="colleague@example.com", subject="Re: Cannot sign in",
              body="Same here.", in_reply_to="<p4@example.com>"),
        # 8: an auto-reply: a ticket, quietly
        build(sender="robot@example.com", subject="Automatic reply: holiday",
              body="I am away.", headers={"Auto-Submitted": "auto-replied"}),
        # 9: from our own mailbox: ignored
        build(sender="Acme <support@acme-help.ru>", subject="Loop?"),
        # 10: an agent's email in #5's thread: an internal note
        build(sender="Lena <lena@opora.dev>", subject="Re: Экспорт",
              body="Проверила логи: это баг экспорта.", in_reply_to="<p5@example.ru>"),
        # 11: a new request with an HTML part and an attachment
        build(sender="Kate <kate@example.com>", subject="Photos fail to upload",
              body="See the report.", html="<p>See the <b>report</b>.</p>",
              attachments=[("report.pdf", "application/pdf", PDF)]),
        # 12: not an email at all
        b"   \r\n",
        # 13: ivan names #1 in the subject
        build(sender="ivan@example.ru", subject="Re: [#1] ещё вопрос", body="И ещё вопрос."),
        # 14: the requester replies on #6
        build(sender="nina@example.ru", subject="Re: фото", body="Фото так и не вернулись.",
              in_reply_to="<p6@example.ru>"),
        # 15: a delivery report about a message we never sent
        dsn("never-sent@acme-help.ru", "nobody@example.ru"),
        # 16, 17: two new requests from one new customer: one contact
        build(sender="Kate <kate@example.com>", subject="Second question",
              body="How do I export my data?"),
        build(sender="kate@example.com", subject="Third question", body="And my contacts?"),
        # 18: leo replies on #7, merged into #8 (he follows it since): lands on #8 ...
        build(sender="leo@example.ru", subject="Re: первое", body="Ответ на первое.",
              in_reply_to="<p7@example.ru>"),
        # 19: ... before mia's reply on #8, her own ticket
        build(sender="mia@example.ru", subject="Re: второе", body="Ответ на второе.",
              in_reply_to="<p8@example.ru>"),
        # 20: refers to 21, which comes later: a new ticket, as one by one
        build(sender="fwd@example.ru", subject="Про письмо Зеда", body="Про письмо Зеда.",
              in_reply_to="<b21@example.ru>"),
        # 21
        build(sender="zed@example.ru", subject="Письмо Зеда", message_id="<b21@example.ru>"),
        # 22: a new person with Cc (one by one), then 23 from them without a name: the
        # contact keeps the name of the first
        build(sender="Вера Иванова <vera2@example.ru>", subject="С копией",
              cc="boss@example.ru"),
        build(sender="vera2@example.ru", subject="Без имени"),
    ]  # fmt: skip


EXPECTED = [
    InboundStatus.TICKET_CREATED,  # 0
    InboundStatus.MESSAGE_ADDED,  # 1
    InboundStatus.MESSAGE_ADDED,  # 2
    InboundStatus.TICKET_CREATED,  # 3: follow-up
    InboundStatus.MESSAGE_ADDED,  # 4
    InboundStatus.TICKET_CREATED,  # 5: the duplicate answers with 0's record
    InboundStatus.TICKET_CREATED,  # 6
    InboundStatus.MESSAGE_ADDED,  # 7
    InboundStatus.TICKET_CREATED,  # 8
    InboundStatus.IGNORED,  # 9
    InboundStatus.MESSAGE_ADDED,  # 10
    InboundStatus.TICKET_CREATED,  # 11
    "InvalidInput",  # 12
    InboundStatus.MESSAGE_ADDED,  # 13
    InboundStatus.MESSAGE_ADDED,  # 14
    InboundStatus.BOUNCE,  # 15
    InboundStatus.TICKET_CREATED,  # 16
    InboundStatus.TICKET_CREATED,  # 17
    InboundStatus.MESSAGE_ADDED,  # 18
    InboundStatus.MESSAGE_ADDED,  # 19
    InboundStatus.TICKET_CREATED,  # 20
    InboundStatus.TICKET_CREATED,  # 21
    InboundStatus.TICKET_CREATED,  # 22
    InboundStatus.TICKET_CREATED,  # 23
]


async def _fresh(
    backend: str, database_url: str, tmp_path: Path, template: Path, n: int, settings: Settings
) -> tuple[Database, Company, int]:
    """A new empty database with the usual company and one mailbox."""
    if backend == "sqlite":
        target = tmp_path / f"mode{n}.db"
        shutil.copy(template, target)
        url = f"sqlite+aiosqlite:///{target}"
    else:
        await truncate_all(database_url)
        url = database_url
    db = Database(url, settings=settings)
    company = await build_company(db)
    mailbox = await add_mailbox(db, group_id=company.l1_group_id)
    return db, company, mailbox


async def _set_status(db: Database, number: int, status: str) -> None:
    async with db.unit_of_work() as s:
        ticket = (await s.execute(select(Ticket).where(Ticket.number == number))).scalar_one()
        ticket.status = status


async def _merge(db: Database, company: Company, source: int, into: int) -> None:
    async with db.unit_of_work() as s:
        ids = dict((await s.execute(select(Ticket.number, Ticket.id))).all())
        user = await auth_service.get_user(s, actor=system_actor("t"), user_id=company.l1_agent.id)
        actor = await auth_service.actor_for_user(s, user)
        await tickets_service.merge_tickets(s, actor=actor, source_id=ids[source],
                                            into_id=ids[into])  # fmt: skip


def _outcome(outcome: IngestResult | Exception) -> tuple[str, str]:
    if isinstance(outcome, Exception):
        return type(outcome).__name__, ""
    return str(outcome.status), outcome.reason


async def _take_in(
    db: Database, settings: Settings, raws: list[bytes], size: int
) -> list[tuple[str, str]]:
    """The messages in batches of ``size``; 0: each alone through ``ingest_email``."""
    if size == 0:
        found: list[IngestResult | Exception] = []
        for raw in raws:
            try:
                found.append(await ingest(db, settings, raw))
            except InvalidInput as exc:
                found.append(exc)
        return [_outcome(o) for o in found]
    outcomes = []
    for start in range(0, len(raws), size):
        outcomes += await ingest_many(
            db, [Delivery(raw) for raw in raws[start : start + size]], route=Route.IMAP,
            options=options(settings),
        )  # fmt: skip
    return [_outcome(o) for o in outcomes]


async def _what_became(db: Database) -> dict[str, Any]:
    """Everything the intake wrote, without ids and numbers (which may come in another
    order): each ticket with its messages, followers, attachments and timeline; the mail
    queued; the contacts."""
    async with db.unit_of_work(write=False) as s:
        emails = {
            c: v for c, v in await s.execute(select(ContactIdentity.contact_id,
                                                    ContactIdentity.value))
        }  # fmt: skip
        people = sorted(
            (emails.get(c.id), c.name, c.language)
            for c in (await s.execute(select(Contact))).scalars()
        )
        tickets = []
        for t in (await s.execute(select(Ticket).order_by(Ticket.id))).scalars():
            messages = (
                await s.execute(select(Message).where(Message.ticket_id == t.id)
                                .order_by(Message.id))
            ).scalars()  # fmt: skip
            followers = (
                await s.execute(select(TicketFollower.contact_id)
                                .where(TicketFollower.ticket_id == t.id))
            ).scalars()  # fmt: skip
            files = (
                await s.execute(select(Attachment.filename).join(Message)
                                .where(Message.ticket_id == t.id))
            ).scalars()  # fmt: skip
            timeline = (
                await s.execute(select(TicketEvent.kind, TicketEvent.field)
                                .where(TicketEvent.ticket_id == t.id))
            ).all()  # fmt: skip
            tickets.append((
                t.subject, t.status, t.priority, t.group_id, emails.get(t.requester_id),
                tuple((m.visibility, m.author_kind, m.body_text, bool(m.body_html))
                      for m in messages),
                tuple(sorted(emails.get(f) or "" for f in followers)),
                tuple(sorted(files)),
                tuple(sorted(Counter((k, f or "") for k, f in timeline).items())),
            ))  # fmt: skip
        jobs = Counter(
            (j.payload.get("kind"), tuple(j.payload.get("to", [])))
            for j in (await s.execute(select(Job).where(Job.name == SEND))).scalars()
        )
        records = Counter(
            (r.status, r.sender) for r in (await s.execute(select(InboundEmail))).scalars()
        )
    return {
        "tickets": sorted(tickets, key=repr),
        "jobs": sorted(jobs.items(), key=repr),
        "records": sorted(records.items(), key=repr),
        "contacts": sorted(emails.values()),
        "people": people,
    }


class TestSameAsOneByOne:
    async def test_every_kind_of_message_comes_to_the_same_in_batches(
        self,
        backend: str,
        database_url: str,
        tmp_path: Path,
        sqlite_template: Path,
        settings: Settings,
        app: Any,  # served: its event subscribers (SLA, notifications) are installed
    ) -> None:
        """The round-one tickets, then the mixed batch: one by one, all at once, and in
        batches of four (where 4 and 0 fall apart); the same tickets, messages,
        followers, notes, attachments, timeline rows, mail and records each time."""
        seen = {}
        for n, size in enumerate((0, 50, 4)):
            db, company, _ = await _fresh(backend, database_url, tmp_path, sqlite_template,
                                          n, settings)  # fmt: skip
            try:
                await _take_in(db, settings, _round_one(), 0)
                await _set_status(db, 2, TicketStatus.SOLVED)
                await _set_status(db, 3, TicketStatus.CLOSED)
                await _merge(db, company, 7, 8)
                outcomes = await _take_in(db, settings, _batch(), size)
                seen[size] = (outcomes, await _what_became(db))
            finally:
                await db.dispose()
        alone, together, fours = seen[0], seen[50], seen[4]
        assert [status for status, _ in together[0]] == [str(s) for s in EXPECTED]
        assert together[0] == alone[0]
        assert together[1] == alone[1]
        assert fours == alone

        # and what that is, read from the batch's database
        outcomes, became = together
        assert "follow-up opened" in outcomes[3][1] and "automatic" in outcomes[8][1]
        assert "internal note" in outcomes[10][1] and "subject" in outcomes[13][1]
        by_subject = {t[0]: t for t in became["tickets"]}
        assert by_subject["Не приходит СМС"][1] == TicketStatus.OPEN  # reopened by 2
        assert [m[2] for m in by_subject["Как удалить аккаунт?"][5]] == [
            "Здравствуйте! После обновления не могу войти в аккаунт.",
            "Уточню: и все фото.",
        ]
        assert by_subject["Доступ для коллеги"][6] == ("vera@example.ru",)
        assert by_subject["Cannot sign in"][6] == ("colleague@example.com",)
        assert by_subject["Экспорт данных"][5][-1][:2] == ("internal", "user")
        assert by_subject["Photos fail to upload"][7] == ("report.pdf",)
        assert by_subject["Не могу войти в аккаунт"][5][1:] == (
            ("public", "contact", "Всё ещё не работает.", False),
            ("public", "contact", "И ещё вопрос.", False),
        )
        assert became["contacts"].count("kate@example.com") == 1
        assert ("vera2@example.ru", "Вера Иванова", "ru") in became["people"]
        assert [m[2] for m in by_subject["Второе обращение"][5]][-2:] == [
            "Ответ на первое.", "Ответ на второе.",
        ]  # fmt: skip
        receipts = [k for (kind, _), n in became["jobs"] for k in [kind] * n]
        # a receipt for every new request of a person: round one's eight, and 0, 3, 6, 11,
        # 16, 17, 20, 21, 22, 23
        assert receipts.count("ticket_received") == 18
        # no mail about the agent's note, nothing to the robot or to our own mailbox
        assert not any(to in (("robot@example.com",), ("support@acme-help.ru",))
                       for (_, to), _ in became["jobs"])  # fmt: skip


class TestOneBadMessage:
    async def test_a_message_that_cannot_be_stored_costs_only_itself(
        self, db: Database, settings: Settings, company: Company
    ) -> None:
        """A message whose file cannot be written fails the batch's transaction; the
        batch is taken in again one message at a time: the others land, that one is
        reported (to stay on the IMAP server for the next poll) and left no trace."""
        await add_mailbox(db, group_id=company.l1_group_id)
        raws = [build(subject=f"Вопрос {i}", message_id=f"<bad{i}@example.ru>")
                for i in range(5)]  # fmt: skip
        digests = [hashlib.sha256(raw).hexdigest() for raw in raws]
        prefixes = [d[:2] for d in digests]
        assert len(set(prefixes)) == 5, "pick other messages: two share a directory"
        store = settings.attachments_dir
        store.mkdir(parents=True, exist_ok=True)
        (store / prefixes[2]).write_bytes(b"")  # a file where a directory must go
        outcomes = await ingest_many(
            db, [Delivery(raw) for raw in raws], route=Route.IMAP, options=options(settings)
        )
        assert isinstance(outcomes[2], OSError)
        assert [o.status for o in outcomes if isinstance(o, IngestResult)] == [
            InboundStatus.TICKET_CREATED
        ] * 4
        assert await count(db, Ticket) == 4 and await count(db, InboundEmail) == 4
        async with db.unit_of_work(write=False) as s:
            keys = set((await s.execute(select(InboundEmail.message_key))).scalars())
        assert "bad2@example.ru" not in keys

    async def test_the_rate_limit_counts_the_batch_itself(
        self, db: Database, settings: Settings, company: Company
    ) -> None:
        await add_mailbox(db, group_id=company.l1_group_id)
        raws = [build(subject=f"Тикет {i}") for i in range(5)]
        outcomes = await ingest_many(
            db, [Delivery(raw) for raw in raws], route=Route.IMAP,
            options=options(settings, limit=SenderLimit(count=3)),
        )  # fmt: skip
        assert [getattr(o, "status", None) for o in outcomes] == [
            InboundStatus.TICKET_CREATED
        ] * 3 + [InboundStatus.REFUSED] * 2
        assert "rate limit" in getattr(outcomes[3], "reason", "")
        assert await count(db, Ticket) == 3 and await count(db, InboundEmail) == 5

    async def test_numbers_stay_gap_free(
        self, db: Database, settings: Settings, company: Company
    ) -> None:
        await add_mailbox(db, group_id=company.l1_group_id)
        await ingest(db, settings, build(subject="Первый"))
        await ingest_many(
            db, [Delivery(build(subject=f"Пачка {i}")) for i in range(6)], route=Route.IMAP,
            options=options(settings),
        )  # fmt: skip
        await ingest(db, settings, build(subject="Последний"))
        async with db.unit_of_work(write=False) as s:
            rows = (await s.execute(select(Ticket.number, Ticket.subject)
                                    .order_by(Ticket.number))).all()  # fmt: skip
        assert [n for n, _ in rows] == list(range(1, 9))
        assert [s for _, s in rows][1:7] == [f"Пачка {i}" for i in range(6)]


class TestSmtpTogether:
    async def test_deliveries_arriving_together_each_get_their_ticket(
        self, receiver: tuple[Any, int], company: Company
    ) -> None:
        """Twelve connections deliver at once: while one batch is written the rest wait
        for the next; each is answered with its own ticket, after its commit."""
        app, port = receiver
        db: Database = app.state.db
        await add_mailbox(db, group_id=company.l1_group_id)

        async def deliver(i: int) -> str:
            errors, response = await aiosmtplib.send(
                build(sender=f"user{i}@example.ru", subject=f"Запрос {i}"),
                sender=f"user{i}@example.ru", recipients=["support@acme-help.ru"],
                hostname="127.0.0.1", port=port,
            )  # fmt: skip
            assert errors == {}
            return response

        responses = await asyncio.gather(*(deliver(i) for i in range(12)))
        assert all(r.startswith("2.0.0 OK: ticket #") for r in responses), responses
        numbers = {r.rpartition("#")[2] for r in responses}
        assert len(numbers) == 12
        async with db.unit_of_work(write=False) as s:
            rows = (await s.execute(select(Ticket.number, Ticket.subject))).all()
        subjects = {str(n): subject for n, subject in rows}
        for i, response in enumerate(responses):
            assert subjects[response.rpartition("#")[2]] == f"Запрос {i}"
