"""Taking email in (channels.email.service.ingest_email), on both backends: tickets and
threading, followers, attachments, loop and abuse safety, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from opora.channels.email import threading
from opora.channels.email.models import EmailReference, InboundEmail, InboundStatus
from opora.channels.email.service import MailboxNotFound, NoMailbox, SenderLimit
from opora.config import Settings, load_secret_key
from opora.contacts.models import Contact, ContactIdentity
from opora.db import Database
from opora.errors import InvalidInput
from opora.tickets.models import (
    Attachment,
    DeliveryState,
    LinkKind,
    Ticket,
    TicketEvent,
    TicketFollower,
    TicketLink,
    TicketStatus,
)
from tests.channels.email.support import (
    add_mailbox,
    build,
    count,
    dsn,
    email_jobs,
    inbound,
    ingest,
    ingest_in_batch,
    messages,
    ticket,
)
from tests.conftest import Company


@pytest.fixture(autouse=True, params=["alone", "batch"])
def way_in(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs twice: each message taken in by ``ingest_email`` (the pipe),
    and each as a batch of one through ``intake.ingest_many`` (IMAP, SMTP), which must
    come to the same (test_batches.py has batches of many)."""
    if request.param == "batch":
        monkeypatch.setitem(globals(), "ingest", ingest_in_batch)
    return str(request.param)


@pytest.fixture
async def mailbox(db: Database, company: Company) -> int:
    return await add_mailbox(db, group_id=company.l1_group_id, default_priority="high")


async def _reply_to(db: Database, ticket_id: int) -> str:
    """The Message-ID of the ticket's first email, as a reply's In-Reply-To."""
    async with db.unit_of_work(write=False) as s:
        key = (
            (
                await s.execute(
                    select(EmailReference.message_key)
                    .where(EmailReference.ticket_id == ticket_id)
                    .order_by(EmailReference.id)
                )
            )
            .scalars()
            .first()
        )
    assert key is not None
    return f"<{key}>"


class TestNewRequest:
    async def test_a_message_opens_a_ticket_in_the_mailboxs_group(
        self, db: Database, settings: Settings, company: Company, mailbox: int
    ) -> None:
        result = await ingest(db, settings, build())
        assert result.status == InboundStatus.TICKET_CREATED and result.accepted
        assert result.ticket_number is not None
        t = await ticket(db, result.ticket_id or 0)
        assert (t.channel, t.group_id, t.priority, t.status) == (
            "email", company.l1_group_id, "high", TicketStatus.NEW,
        )  # fmt: skip
        assert t.subject == "Не могу войти в аккаунт"
        [first] = await messages(db, t.id)
        assert first.body_text.startswith("Здравствуйте! После обновления")
        assert first.author_kind == "contact" and first.visibility == "public"
        assert first.extra["email"]["from"] == "Иван Петров <ivan@example.ru>"
        async with db.unit_of_work(write=False) as s:
            contact = await s.get(Contact, t.requester_id)
            assert contact is not None
            assert (contact.name, contact.language) == ("Иван Петров", "ru")
        record = await inbound(db, result.inbound_id)
        assert (record.sender, record.route, record.ticket_id) == ("ivan@example.ru", "pipe", t.id)

    async def test_the_customer_is_told_the_number_who_handles_it_and_when(
        self, db: Database, settings: Settings, company: Company, mailbox: int
    ) -> None:
        result = await ingest(db, settings, build())
        [receipt] = await email_jobs(db)
        assert receipt["kind"] == "ticket_received"
        assert receipt["to"] == ["ivan@example.ru"] and receipt["automatic"] is True
        number = result.ticket_number
        assert f"[#{number}]" in receipt["subject"]
        assert f"#{number}" in receipt["text"]
        assert "L1 Support" in receipt["text"]  # nobody assigned yet: the group handles it
        assert "в течение 12 часов" in receipt["text"]  # the mailbox's promise, in Russian
        assert "/requests/" in receipt["text"]

    async def test_an_english_message_gets_the_english_receipt(
        self, db: Database, settings: Settings, company: Company, mailbox: int
    ) -> None:
        await ingest(
            db, settings,
            build(sender="Anna Smith <anna@example.com>", subject="Cannot log in",
                  body="Hello, I cannot log in since yesterday."),
        )  # fmt: skip
        [receipt] = await email_jobs(db)
        assert "within 12 hours" in receipt["text"] and "received" in receipt["subject"]

    async def test_the_same_message_id_is_taken_in_once(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        raw = build(message_id="<once@example.ru>")
        first = await ingest(db, settings, raw)
        again = await ingest(db, settings, raw)
        assert again.duplicate and again.ticket_id == first.ticket_id
        assert again.ticket_number == first.ticket_number
        assert await count(db, Ticket) == 1 and await count(db, InboundEmail) == 1
        assert len(await email_jobs(db)) == 1  # one receipt

    async def test_a_message_without_message_id_is_keyed_by_its_content(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        raw = build().replace(b"Message-ID:", b"X-Old-Message-ID:")
        first = await ingest(db, settings, raw)
        again = await ingest(db, settings, raw)
        assert again.duplicate and again.ticket_id == first.ticket_id
        record = await inbound(db, first.inbound_id)
        assert record.message_key.startswith("sha256.")

    async def test_the_raw_message_is_kept(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        raw = build()
        result = await ingest(db, settings, raw)
        record = await inbound(db, result.inbound_id)
        path = settings.attachments_dir / record.raw_sha256[:2] / record.raw_sha256[2:4]
        assert (path / record.raw_sha256).read_bytes() == raw

    async def test_attachments_and_inline_images_are_kept(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        raw = build(
            html='<p>Скриншот ошибки:</p><img src="cid:shot@example.ru">',
            attachments=[("отчёт об ошибке.pdf", "application/pdf", b"%PDF-1.4 test")],
        )
        result = await ingest(db, settings, raw)
        [msg] = await messages(db, result.ticket_id or 0)
        async with db.unit_of_work(write=False) as s:
            atts = list(
                (
                    await s.execute(select(Attachment).where(Attachment.message_id == msg.id))
                ).scalars()
            )
        assert [(a.filename, a.content_type, a.size) for a in atts] == [
            ("отчёт об ошибке.pdf", "application/pdf", len(b"%PDF-1.4 test"))
        ]
        assert "Скриншот ошибки" in msg.body_html and "<script" not in msg.body_html


class TestThreading:
    async def test_a_reply_to_our_email_threads_by_in_reply_to(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        first = await ingest(db, settings, build())
        [receipt] = await email_jobs(db)
        reply = build(
            subject="Re: Не могу войти",
            body="Всё ещё не работает.\n\nпн, 7 дек. 2026 г. в 10:12, Acme Support "
            "<support@acme-help.ru>:\n> Мы получили ваше обращение",
            in_reply_to=f"<{receipt['message_key']}>",
        )
        second = await ingest(db, settings, reply)
        assert second.status == InboundStatus.MESSAGE_ADDED
        assert second.ticket_id == first.ticket_id
        assert "threaded by references" in second.reason
        latest = (await messages(db, first.ticket_id or 0))[-1]
        assert latest.body_text == "Всё ещё не работает."  # the quote is cut
        assert latest.extra["email"]["quoted"] is True

    async def test_a_forwarded_mail_is_kept_whole(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        """Outlook's forward header looks like its reply header; a forward is the request."""
        body = (
            "Посмотрите, пожалуйста, письмо клиента ниже.\n\n"
            "-----Original Message-----\nFrom: Пётр <petr@example.ru>\n"
            "Sent: Monday, December 7, 2026 10:12 AM\nTo: Иван\nSubject: Ошибка\n\n"
            "При оплате выдаёт ошибку 502."
        )
        result = await ingest(db, settings, build(subject="FW: Ошибка", body=body))
        [msg] = await messages(db, result.ticket_id or 0)
        assert "ошибку 502" in msg.body_text and msg.extra["email"]["quoted"] is False

    async def test_a_reply_to_the_per_ticket_address_threads_without_headers(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        first = await ingest(db, settings, build())
        address = threading.reply_address(
            "support@acme-help.ru", first.ticket_number or 0, load_secret_key(settings)
        )
        second = await ingest(db, settings, build(to=address, subject="Ещё вопрос"))
        assert second.ticket_id == first.ticket_id and "address" in second.reason

    async def test_a_forged_reply_address_opens_a_new_ticket(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        first = await ingest(db, settings, build())
        forged = f"support+t{first.ticket_number}-0000000000@acme-help.ru"
        second = await ingest(db, settings, build(to=forged, subject="Другое"))
        assert second.status == InboundStatus.TICKET_CREATED
        assert second.ticket_id != first.ticket_id

    async def test_the_number_in_the_subject_counts_for_the_requester_only(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        first = await ingest(db, settings, build())
        number = first.ticket_number
        own = await ingest(db, settings, build(subject=f"Re: вход [#{number}]"))
        assert own.ticket_id == first.ticket_id and "subject" in own.reason
        stranger = await ingest(
            db, settings,
            build(sender="mallory@evil.example", subject=f"Re: [#{number}] дайте доступ"),
        )  # fmt: skip
        assert stranger.status == InboundStatus.TICKET_CREATED
        assert stranger.ticket_id != first.ticket_id

    async def test_a_reply_reopens_a_solved_ticket(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        first = await ingest(db, settings, build())
        await _set_status(db, first.ticket_id or 0, TicketStatus.SOLVED)
        await ingest(db, settings, build(in_reply_to=await _reply_to(db, first.ticket_id or 0)))
        assert (await ticket(db, first.ticket_id or 0)).status == TicketStatus.OPEN

    async def test_a_reply_to_a_closed_ticket_opens_a_linked_follow_up(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        first = await ingest(db, settings, build())
        await _set_status(db, first.ticket_id or 0, TicketStatus.CLOSED)
        second = await ingest(
            db, settings, build(in_reply_to=await _reply_to(db, first.ticket_id or 0))
        )
        assert second.status == InboundStatus.TICKET_CREATED
        assert second.ticket_id != first.ticket_id and "follow-up" in second.reason
        async with db.unit_of_work(write=False) as s:
            link = (await s.execute(select(TicketLink))).scalar_one()
        assert (link.source_id, link.target_id, link.kind) == (
            first.ticket_id, second.ticket_id, LinkKind.FOLLOW_UP,
        )  # fmt: skip

    async def test_ccd_people_follow_the_ticket_but_not_our_mailbox_nor_agents(
        self, db: Database, settings: Settings, company: Company, mailbox: int
    ) -> None:
        result = await ingest(
            db, settings,
            build(cc="Ольга <olga@example.ru>, support@acme-help.ru, lena@opora.dev, "
                     "ivan@example.ru"),
        )  # fmt: skip
        async with db.unit_of_work(write=False) as s:
            rows = await s.execute(
                select(ContactIdentity.value)
                .join(TicketFollower, TicketFollower.contact_id == ContactIdentity.contact_id)
                .where(TicketFollower.ticket_id == result.ticket_id)
            )
            followers = sorted(rows.scalars())
        assert followers == ["olga@example.ru"]

    async def test_a_colleague_replying_in_the_thread_becomes_a_follower(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        first = await ingest(db, settings, build())
        second = await ingest(
            db, settings,
            build(sender="olga@example.ru", in_reply_to=await _reply_to(db, first.ticket_id or 0)),
        )  # fmt: skip
        assert second.ticket_id == first.ticket_id
        async with db.unit_of_work(write=False) as s:
            n = len(list((await s.execute(select(TicketFollower))).scalars()))
        assert n == 1

    async def test_an_agents_email_on_a_ticket_is_an_internal_note(
        self, db: Database, settings: Settings, company: Company, mailbox: int
    ) -> None:
        first = await ingest(db, settings, build())
        before = len(await email_jobs(db))
        await ingest(
            db, settings,
            build(sender="Lena <lena@opora.dev>", body="Проверила логи: это баг.",
                  in_reply_to=await _reply_to(db, first.ticket_id or 0)),
        )  # fmt: skip
        note = (await messages(db, first.ticket_id or 0))[-1]
        assert note.visibility == "internal" and note.author_user_id == company.l1_agent.id
        assert len(await email_jobs(db)) == before  # nothing goes to the customer


class TestLoopsAndAbuse:
    async def test_an_auto_reply_opens_a_ticket_quietly(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        result = await ingest(
            db, settings,
            build(subject="Автоответ: отпуск", headers={"Auto-Submitted": "auto-replied"}),
        )  # fmt: skip
        assert result.status == InboundStatus.TICKET_CREATED and "automatic" in result.reason
        assert await email_jobs(db) == []  # no receipt to a robot

    async def test_an_auto_reply_does_not_reopen_a_solved_ticket(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        first = await ingest(db, settings, build())
        await _set_status(db, first.ticket_id or 0, TicketStatus.SOLVED)
        jobs_before = len(await email_jobs(db))
        await ingest(
            db, settings,
            build(subject="Out of office", headers={"X-Autoreply": "yes"},
                  in_reply_to=await _reply_to(db, first.ticket_id or 0)),
        )  # fmt: skip
        assert (await ticket(db, first.ticket_id or 0)).status == TicketStatus.SOLVED
        assert len(await email_jobs(db)) == jobs_before

    async def test_an_auto_reply_about_a_closed_ticket_is_ignored(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        first = await ingest(db, settings, build())
        await _set_status(db, first.ticket_id or 0, TicketStatus.CLOSED)
        result = await ingest(
            db, settings,
            build(headers={"Precedence": "bulk"},
                  in_reply_to=await _reply_to(db, first.ticket_id or 0)),
        )  # fmt: skip
        assert result.status == InboundStatus.IGNORED and await count(db, Ticket) == 1

    async def test_mail_from_our_own_mailbox_is_ignored(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        result = await ingest(db, settings, build(sender="Acme <support@acme-help.ru>"))
        assert result.status == InboundStatus.IGNORED and not result.accepted
        assert await count(db, Ticket) == 0

    async def test_our_own_message_coming_back_is_ignored(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        await ingest(db, settings, build())
        [receipt] = await email_jobs(db)
        echo = build(sender="robot@example.org", message_id=f"<{receipt['message_key']}>")
        result = await ingest(db, settings, echo)
        assert result.status == InboundStatus.IGNORED and "our own" in result.reason
        assert await count(db, Ticket) == 1

    async def test_a_sender_over_the_rate_limit_is_refused_but_kept(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        limit = SenderLimit(count=3, window=timedelta(minutes=10))
        results = [
            await ingest(db, settings, build(subject=f"Тикет {i}"), limit=limit) for i in range(5)
        ]
        assert [r.status for r in results] == [InboundStatus.TICKET_CREATED] * 3 + [
            InboundStatus.REFUSED
        ] * 2
        assert "rate limit" in results[3].reason
        assert await count(db, Ticket) == 3 and await count(db, InboundEmail) == 5

    async def test_a_message_without_a_sender_is_refused(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        raw = build().replace(b"From:", b"X-Old-From:")
        result = await ingest(db, settings, raw)
        assert result.status == InboundStatus.REFUSED and "sender" in result.reason

    async def test_a_bounce_marks_our_message_bounced_and_opens_nothing(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        first = await ingest(db, settings, build())
        [receipt] = await email_jobs(db)
        bounce = dsn(receipt["message_key"], "ivan@example.ru")
        result = await ingest(db, settings, bounce)
        assert result.status == InboundStatus.BOUNCE and "5.1.1" in result.reason
        assert await count(db, Ticket) == 1
        async with db.unit_of_work(write=False) as s:
            events = list(
                (await s.execute(
                    select(TicketEvent).where(TicketEvent.kind == "delivery_failed")
                )).scalars()
            )  # fmt: skip
        assert [e.ticket_id for e in events] == [first.ticket_id]

    async def test_a_bounce_of_a_reply_marks_that_message(
        self, db: Database, settings: Settings, company: Company, mailbox: int
    ) -> None:
        from opora.auth import service as auth_service
        from opora.auth.actor import system_actor
        from opora.tickets import service as tickets
        from opora.tickets.schemas import MessageCreate

        first = await ingest(db, settings, build())
        async with db.unit_of_work() as s:
            user = await auth_service.get_user(
                s, actor=system_actor("t"), user_id=company.l1_agent.id
            )
            actor = await auth_service.actor_for_user(s, user)
            added = await tickets.add_message(
                s, actor=actor, ticket_id=first.ticket_id or 0,
                data=MessageCreate(body="Попробуйте сбросить пароль."),
            )  # fmt: skip
            reply_id = added.message.id
        reply_job = (await email_jobs(db))[-1]
        assert reply_job["message_id"] == reply_id
        await ingest(db, settings, dsn(reply_job["message_key"], "ivan@example.ru"))
        [*_, reply] = await messages(db, first.ticket_id or 0)
        assert reply.id == reply_id and reply.delivery_state == DeliveryState.BOUNCED
        assert "5.1.1" in (reply.delivery_error or "")


class TestBadInput:
    async def test_an_empty_message_is_refused_and_nothing_is_recorded(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        with pytest.raises(InvalidInput):
            await ingest(db, settings, b"  \r\n")
        assert await count(db, InboundEmail) == 0

    async def test_an_unknown_mailbox_name_changes_nothing(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        with pytest.raises(MailboxNotFound):
            await ingest(db, settings, build(), mailbox_name="nope")
        assert await count(db, InboundEmail) == 0 and await count(db, Ticket) == 0

    async def test_without_any_mailbox_the_reason_says_to_add_one(
        self, db: Database, settings: Settings
    ) -> None:
        with pytest.raises(NoMailbox, match="no mailbox is set up"):
            await ingest(db, settings, build())

    async def test_with_several_mailboxes_the_address_decides(
        self, db: Database, settings: Settings, company: Company, mailbox: int
    ) -> None:
        other = await add_mailbox(
            db, name="Billing", address="billing@acme-help.ru", group_id=company.l2_group_id
        )
        result = await ingest(db, settings, build(to="Billing <billing@acme-help.ru>"))
        assert (await inbound(db, result.inbound_id)).mailbox_id == other
        assert (await ticket(db, result.ticket_id or 0)).group_id == company.l2_group_id
        with pytest.raises(NoMailbox, match=r"stranger@acme-help\.ru"):
            await ingest(db, settings, build(to="stranger@acme-help.ru"))


async def _set_status(db: Database, ticket_id: int, status: str) -> None:
    async with db.unit_of_work() as s:
        t = await s.get(Ticket, ticket_id)
        assert t is not None
        t.status = status
