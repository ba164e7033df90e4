"""Email out: replies and notifications through the outbox to a real SMTP server (aiosmtpd),
threading headers, delivery state, and internal notes that never leave."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from opora.auth import service as auth_service
from opora.auth.actor import Actor, system_actor
from opora.channels.email import outbound, threading
from opora.config import Settings, load_secret_key
from opora.db import Database
from opora.errors import InvalidInput
from opora.jobs.worker import Worker
from opora.kit.blobs import BlobStore
from opora.tickets import service as tickets
from opora.tickets.models import DeliveryState, Message, TicketStatus, Visibility
from opora.tickets.schemas import MessageCreate, TicketUpdate
from tests.channels.email.support import add_mailbox, build, email_jobs, ingest, messages
from tests.conftest import Company
from tests.jobs.support import make_due
from tests.notifications.smtp import SmtpServer, running_smtp_server


@pytest_asyncio.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    async with running_smtp_server() as server:
        yield server


@pytest.fixture
def mail_settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return settings.model_copy(
        update={"smtp_host": smtp.host, "smtp_port": smtp.port, "base_url": "http://opora.test"}
    )


@pytest_asyncio.fixture
async def worker(db: Database, mail_settings: Settings) -> Worker:
    return Worker(db, mail_settings, name="email-worker", periodic=False)


@pytest_asyncio.fixture
async def mailbox(db: Database, company: Company) -> int:
    return await add_mailbox(db, group_id=company.l1_group_id)


async def agent(db: Database, company: Company) -> Actor:
    async with db.unit_of_work(write=False) as s:
        user = await auth_service.get_user(s, actor=system_actor("t"), user_id=company.l1_agent.id)
        return await auth_service.actor_for_user(s, user)


async def reply(db: Database, actor: Actor, ticket_id: int, **data: Any) -> Message:
    async with db.unit_of_work() as s:
        added = await tickets.add_message(s, actor=actor, ticket_id=ticket_id,
                                          data=MessageCreate(**data))  # fmt: skip
        return added.message


async def message(db: Database, message_id: int) -> Message:
    async with db.unit_of_work(write=False) as s:
        found = await s.get(Message, message_id)
    assert found is not None
    return found


class TestReplies:
    async def test_a_public_reply_is_sent_threaded_to_the_customer(
        self, db: Database, settings: Settings, company: Company, mailbox: int,
        worker: Worker, smtp: SmtpServer,
    ) -> None:  # fmt: skip
        first = await ingest(db, settings, build(message_id="<q1@example.ru>"))
        await worker.run_once()  # the receipt
        actor = await agent(db, company)
        sent = await reply(db, actor, first.ticket_id or 0, body="Сбросьте пароль по ссылке.")
        assert (await message(db, sent.id)).delivery_state == DeliveryState.QUEUED
        await worker.run_once()
        receipt, answer = smtp.messages
        msg = answer.message
        number = first.ticket_number
        assert answer.rcpt_tos == ["ivan@example.ru"]
        assert msg["Subject"] == f"Re: Не могу войти в аккаунт [#{number}]"
        assert msg["In-Reply-To"] == "<q1@example.ru>"
        assert "<q1@example.ru>" in msg["References"]
        assert receipt.message["Message-ID"] in msg["References"]  # the whole thread
        assert msg["Auto-Submitted"] is None  # a person wrote this one
        assert msg["X-Opora-Ticket"] == str(number)
        assert msg["Reply-To"] == threading.reply_address(
            "support@acme-help.ru", number or 0, load_secret_key(settings)
        )
        assert msg["From"] == "Acme Support <support@acme-help.ru>"
        assert "Сбросьте пароль по ссылке." in answer.body("plain")
        stored = await message(db, sent.id)
        assert stored.delivery_state == DeliveryState.SENT
        assert msg["Message-ID"] == f"<{stored.external_id}>"

    async def test_the_receipt_is_marked_automatic(
        self, db: Database, settings: Settings, mailbox: int, worker: Worker, smtp: SmtpServer
    ) -> None:
        await ingest(db, settings, build())
        await worker.run_once()
        [receipt] = smtp.messages
        assert receipt.message["Auto-Submitted"] == "auto-replied"
        assert receipt.message["X-Auto-Response-Suppress"] == "All"

    async def test_attachments_go_with_the_reply(
        self, db: Database, settings: Settings, company: Company, mailbox: int,
        worker: Worker, smtp: SmtpServer,
    ) -> None:  # fmt: skip
        first = await ingest(db, settings, build())
        actor = await agent(db, company)
        async with db.unit_of_work() as s:
            att = await tickets.upload_attachment(
                s, actor=actor, store=BlobStore(settings.attachments_dir),
                filename="инструкция.txt", content_type="text/plain",
                data="Шаг 1: откройте настройки.".encode(), max_bytes=10**6,
            )  # fmt: skip
        await reply(db, actor, first.ticket_id or 0, body="Инструкция во вложении.",
                    attachment_ids=[att.id])  # fmt: skip
        await worker.run_once()
        answer = next(m.message for m in smtp.messages if "Инструкция" in m.body("plain"))
        [part] = list(answer.iter_attachments())
        assert part.get_filename() == "инструкция.txt"
        assert part.get_payload(decode=True) == "Шаг 1: откройте настройки.".encode()

    async def test_a_reply_to_our_reply_threads_back(
        self, db: Database, settings: Settings, company: Company, mailbox: int,
        worker: Worker, smtp: SmtpServer,
    ) -> None:  # fmt: skip
        first = await ingest(db, settings, build())
        await reply(db, await agent(db, company), first.ticket_id or 0, body="Уточните версию.")
        await worker.run_once()
        ours = smtp.messages[-1].message
        answer = build(
            to=ours["Reply-To"], subject=f"Re: {ours['Subject']}", body="Версия 5.10.3",
            in_reply_to=ours["Message-ID"], references=[ours["Message-ID"]],
        )  # fmt: skip
        result = await ingest(db, settings, answer)
        assert result.ticket_id == first.ticket_id
        assert (await messages(db, first.ticket_id or 0))[-1].body_text == "Версия 5.10.3"


class TestInternalNotesNeverLeave:
    async def test_a_note_queues_nothing_for_the_customer(
        self, db: Database, settings: Settings, company: Company, mailbox: int,
        worker: Worker, smtp: SmtpServer,
    ) -> None:  # fmt: skip
        first = await ingest(db, settings, build())
        await worker.run_once()
        before = len(await email_jobs(db))
        actor = await agent(db, company)
        note = await reply(
            db, actor, first.ticket_id or 0, body="Клиент ошибся в пароле",
            visibility=Visibility.INTERNAL,
        )  # fmt: skip
        assert len(await email_jobs(db)) == before
        await worker.run_once()
        assert all("ошибся" not in m.raw.decode("utf-8", "replace") for m in smtp.messages)
        assert (await message(db, note.id)).delivery_state == DeliveryState.NONE

    async def test_queueing_a_note_by_hand_is_refused(
        self, db: Database, settings: Settings, company: Company, mailbox: int
    ) -> None:
        first = await ingest(db, settings, build())
        note = await reply(db, await agent(db, company), first.ticket_id or 0,
                           body="секрет", visibility=Visibility.INTERNAL)  # fmt: skip
        with pytest.raises(InvalidInput, match="only public replies"):
            async with db.unit_of_work() as s:
                await outbound.queue_ticket_email(
                    s, outbound.OutgoingEmail(ticket_id=first.ticket_id or 0,
                                              to=["ivan@example.ru"], subject="x",
                                              text="секрет", message_id=note.id),
                )  # fmt: skip

    async def test_the_send_job_refuses_a_note_whatever_queued_it(
        self, db: Database, settings: Settings, company: Company, mailbox: int,
        smtp: SmtpServer, mail_settings: Settings,
    ) -> None:  # fmt: skip
        first = await ingest(db, settings, build())
        note = await reply(db, await agent(db, company), first.ticket_id or 0,
                           body="секрет", visibility=Visibility.INTERNAL)  # fmt: skip
        payload = {
            "ticket_id": first.ticket_id, "message_key": "forged@acme-help.ru", "mailbox_id": None,
            "to": ["ivan@example.ru"], "cc": [], "subject": "x", "text": "секрет", "html": None,
            "message_id": note.id, "automatic": False, "kind": "reply",
        }  # fmt: skip
        async with db.unit_of_work() as s:
            await outbound.send_ticket_email(s, payload, last_attempt=False, settings=mail_settings)
        assert smtp.messages == [] and smtp.handler.offered == []
        stored = await message(db, note.id)
        assert stored.delivery_state == DeliveryState.FAILED
        assert stored.delivery_error == "internal notes are never sent"


class TestDeliveryState:
    async def test_a_refused_recipient_marks_the_reply_failed_with_the_reason(
        self, db: Database, settings: Settings, company: Company, mailbox: int,
        worker: Worker, smtp: SmtpServer,
    ) -> None:  # fmt: skip
        first = await ingest(db, settings, build())
        await worker.run_once()
        smtp.handler.reject_rcpt = "550 5.1.1 No such user"
        sent = await reply(db, await agent(db, company), first.ticket_id or 0, body="Ответ")
        await worker.run_once()
        stored = await message(db, sent.id)
        assert stored.delivery_state == DeliveryState.FAILED
        assert "550" in (stored.delivery_error or "")

    async def test_a_temporary_failure_stays_queued_and_is_retried(
        self, db: Database, settings: Settings, company: Company, mailbox: int,
        worker: Worker, smtp: SmtpServer,
    ) -> None:  # fmt: skip
        first = await ingest(db, settings, build())
        await worker.run_once()
        smtp.handler.reject_rcpt = "451 4.3.0 Try later"
        sent = await reply(db, await agent(db, company), first.ticket_id or 0, body="Ответ")
        await worker.run_once()
        waiting = await message(db, sent.id)
        assert waiting.delivery_state == DeliveryState.QUEUED
        assert "451" in (waiting.delivery_error or "") and "trying again" in (
            waiting.delivery_error or ""
        )  # the agent sees why it is not out yet
        smtp.handler.reject_rcpt = None
        from sqlalchemy import select

        from opora.jobs.models import Job

        async with db.unit_of_work(write=False) as s:
            job_id = (
                (await s.execute(select(Job.id).where(Job.name == outbound.SEND).order_by(Job.id)))
                .scalars()
                .all()[-1]
            )
        await make_due(db, job_id)
        await worker.run_once()
        assert (await message(db, sent.id)).delivery_state == DeliveryState.SENT
        assert smtp.messages[-1].body("plain").startswith("Ответ")


class TestNotifications:
    async def test_a_ticket_an_agent_opens_sends_no_receipt(
        self, db: Database, settings: Settings, company: Company, mailbox: int
    ) -> None:
        from opora.tickets.schemas import RequesterIn, TicketCreate

        actor = await agent(db, company)
        async with db.unit_of_work() as s:
            await tickets.create_ticket(
                s, actor=actor,
                data=TicketCreate(subject="Звонок", body="Клиент звонил", channel="email",
                                  requester=RequesterIn(email="ivan@example.ru")),
            )  # fmt: skip
        assert await email_jobs(db) == []  # the customer gets replies, not a receipt

    async def test_solving_tells_the_customer(
        self, db: Database, settings: Settings, company: Company, mailbox: int,
        worker: Worker, smtp: SmtpServer,
    ) -> None:  # fmt: skip
        first = await ingest(db, settings, build())
        actor = await agent(db, company)
        await reply(db, actor, first.ticket_id or 0, body="Готово.")
        async with db.unit_of_work() as s:
            await tickets.update_ticket(s, actor=actor, ticket_id=first.ticket_id or 0,
                                        data=TicketUpdate(status=TicketStatus.SOLVED))  # fmt: skip
        await worker.run_once()
        [solved] = [m.message for m in smtp.messages if "решено" in m.message["Subject"]]
        assert solved["Subject"].startswith(f"Обращение #{first.ticket_number} решено")
        assert solved["Auto-Submitted"] == "auto-replied"

    async def test_agents_hear_of_assignment_customer_replies_and_mentions(
        self, db: Database, settings: Settings, company: Company, mailbox: int,
        worker: Worker, smtp: SmtpServer,
    ) -> None:  # fmt: skip
        first = await ingest(db, settings, build())
        tid = first.ticket_id or 0
        admin = await _actor(db, company.admin.id)
        async with db.unit_of_work() as s:
            await tickets.update_ticket(
                s, actor=admin, ticket_id=tid, data=TicketUpdate(assignee_id=company.l1_agent.id)
            )
        await ingest(db, settings, build(body="Добавлю: ошибка 403.",
                                         subject=f"Re: вход [#{first.ticket_number}]"))  # fmt: skip
        await reply(db, admin, tid, body="@igor посмотри, пожалуйста", visibility="internal")
        await worker.run_once()
        to_agents = {
            (m.rcpt_tos[0], m.message["Subject"]) for m in smtp.messages
            if m.rcpt_tos[0].endswith("@opora.dev")
        }  # fmt: skip
        subjects = {s for _, s in to_agents}
        assert ("lena@opora.dev", f"#{first.ticket_number} is assigned to you: Не могу войти в "
                "аккаунт") in to_agents  # fmt: skip
        assert any(
            s.startswith(f"The customer replied on #{first.ticket_number}") for s in subjects
        )
        assert any(r == "igor@opora.dev" and "mentioned you" in s for r, s in to_agents)
        mention = next(m for m in smtp.messages if m.rcpt_tos == ["igor@opora.dev"])
        assert mention.message["Auto-Submitted"] == "auto-generated"

    async def test_an_edited_template_is_used(
        self, db: Database, settings: Settings, company: Company, mailbox: int,
        worker: Worker, smtp: SmtpServer,
    ) -> None:  # fmt: skip
        from opora.notifications import templates

        async with db.unit_of_work() as s:
            await templates.save_template(
                s, actor=system_actor("t"), key="ticket_received", language="ru",
                subject="Заявка {{ ticket.number }} у нас",
                body="Спасибо, {{ contact.name }}! Ответим в течение {{ expected.within }}.",
            )  # fmt: skip
        result = await ingest(db, settings, build())
        await worker.run_once()
        receipt = smtp.messages[-1]
        assert (
            receipt.message["Subject"]
            == f"Заявка {result.ticket_number} у нас [#{result.ticket_number}]"
        )
        assert receipt.body("plain").startswith("Спасибо, Иван Петров! Ответим в течение 12 часов.")


async def _actor(db: Database, user_id: int) -> Actor:
    async with db.unit_of_work(write=False) as s:
        user = await auth_service.get_user(s, actor=system_actor("t"), user_id=user_id)
        return await auth_service.actor_for_user(s, user)
