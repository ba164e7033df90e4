"""notifications.send_email through the outbox to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from opora.config import Settings
from opora.db import Database
from opora.errors import InvalidInput
from opora.jobs.models import JobStatus
from opora.jobs.service import list_jobs
from opora.jobs.worker import Worker
from opora.kit.time import utcnow
from opora.notifications.service import SEND_EMAIL, queue_email
from tests.jobs.support import load_job, make_due
from tests.notifications.smtp import SmtpServer, free_port


async def queue_one(db: Database, **fields: object) -> int:
    values: dict[str, object] = {
        "to": "Мария Иванова <maria@example.ru>",
        "subject": "Ваша заявка №42 решена",
        "text": "Здравствуйте!\nЗаявка решена.\n",
    }
    values.update(fields)
    async with db.unit_of_work() as session:
        job_id = await queue_email(session, **values)  # type: ignore[arg-type]
    assert job_id is not None
    return job_id


class TestSendEmail:
    async def test_a_queued_email_is_delivered_after_commit(
        self, db: Database, mail_worker: Worker, smtp_server: SmtpServer
    ) -> None:
        job_id = await queue_one(
            db, html="<p>Заявка решена.</p>", headers={"Auto-Submitted": "auto-generated"}
        )
        assert smtp_server.messages == []  # nothing leaves before the worker runs it
        assert await mail_worker.run_once() == 1

        job = await load_job(db, job_id)
        assert (job.status, job.attempts, job.last_error) == (JobStatus.DONE, 1, None)
        [received] = smtp_server.messages
        assert received.mail_from == "support@opora.test"
        assert received.rcpt_tos == ["maria@example.ru"]
        raw_headers = received.raw.split(b"\r\n\r\n", 1)[0]
        assert b"=?utf-8?" in raw_headers  # RFC 2047 on the wire
        msg = received.message
        assert msg["Subject"] == "Ваша заявка №42 решена"
        assert msg["From"] == "Опора Поддержка <support@opora.test>"
        assert msg["To"] == "Мария Иванова <maria@example.ru>"
        assert msg["Auto-Submitted"] == "auto-generated"
        assert msg["Message-ID"].endswith("@opora.test>")
        assert received.body("plain") == "Здравствуйте!\nЗаявка решена.\n"
        assert "<p>Заявка решена.</p>" in received.body("html")

    async def test_a_rolled_back_transaction_sends_nothing(
        self, db: Database, mail_worker: Worker, smtp_server: SmtpServer
    ) -> None:
        with pytest.raises(RuntimeError):
            async with db.unit_of_work() as session:
                await queue_email(session, to="maria@example.ru", subject="s", text="t")
                raise RuntimeError("the change that needed the email failed")
        assert await mail_worker.run_once() == 0
        assert smtp_server.messages == []

    async def test_a_temporary_refusal_is_retried_with_the_same_message_id(
        self, db: Database, mail_worker: Worker, smtp_server: SmtpServer
    ) -> None:
        smtp_server.handler.reject_data = "451 4.3.0 try again later"
        job_id = await queue_one(db)
        before = utcnow()
        assert await mail_worker.run_once() == 1
        job = await load_job(db, job_id)
        assert (job.status, job.attempts) == (JobStatus.PENDING, 1)
        assert job.last_error is not None
        assert "451 4.3.0 try again later (temporary)" in job.last_error
        assert before + timedelta(seconds=13) < job.run_at < utcnow() + timedelta(seconds=17)

        smtp_server.handler.reject_data = None
        await make_due(db, job_id)
        assert await mail_worker.run_once() == 1
        assert (await load_job(db, job_id)).status == JobStatus.DONE
        first, second = (
            [h for h in raw.split(b"\r\n") if h.lower().startswith(b"message-id:")]
            for raw in smtp_server.handler.offered
        )
        assert first == second  # a retry is the same message, not a new one
        assert len(smtp_server.messages) == 1

    @pytest.mark.parametrize("stage", ["rcpt", "data"])
    async def test_a_permanent_refusal_ends_dead_after_its_attempts_with_the_reply(
        self, db: Database, mail_worker: Worker, smtp_server: SmtpServer, stage: str
    ) -> None:
        setattr(smtp_server.handler, f"reject_{stage}", "550 mailbox unavailable")
        job_id = await queue_one(db)
        job = await load_job(db, job_id)
        for attempt in range(1, job.max_attempts + 1):
            await make_due(db, job_id)
            assert await mail_worker.run_once() == 1
            job = await load_job(db, job_id)
            assert job.attempts == attempt
            assert job.last_error is not None
            assert "550 mailbox unavailable (permanent)" in job.last_error
        assert job.status == JobStatus.DEAD
        assert job.finished_at is not None
        async with db.unit_of_work(write=False) as session:
            dead = await list_jobs(session, status="dead", name=SEND_EMAIL)
        assert [j.id for j in dead] == [job_id]
        assert "DeliveryError" in (dead[0].last_error or "")
        assert smtp_server.messages == []

    async def test_connection_refused_waits_for_a_retry(
        self, db: Database, settings: Settings
    ) -> None:
        closed = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": free_port()})
        worker = Worker(db, closed, name="mail-worker", periodic=False)
        job_id = await queue_one(db)
        before = utcnow()
        assert await worker.run_once() == 1
        job = await load_job(db, job_id)
        assert (job.status, job.attempts) == (JobStatus.PENDING, 1)
        assert job.last_error is not None
        assert job.last_error.startswith("opora.notifications.mail.DeliveryError: SMTP 127.0.0.1:")
        assert job.last_error.endswith("(temporary)")
        assert before + timedelta(seconds=13) < job.run_at < utcnow() + timedelta(seconds=17)
        assert await worker.run_once() == 0  # backing off


class TestQueueEmail:
    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"to": "not an address"}, "to"),
            ({"to": []}, "to"),
            ({"to": "a@b.ru\nBcc: c@d.ru"}, "to"),
            ({"headers": {"Subject": "again"}}, "headers"),
            ({"headers": {"X-Note": "a\r\nBcc: c@d.ru"}}, "headers"),
            ({"headers": {"Bad Name:": "x"}}, "headers"),
        ],
    )
    async def test_what_could_never_be_sent_is_refused_at_once_and_queues_nothing(
        self, db: Database, fields: dict[str, object], field: str
    ) -> None:
        with pytest.raises(InvalidInput) as exc:
            await queue_one(db, **fields)
        assert (exc.value.status_code, exc.value.field) == (422, field)
        async with db.unit_of_work(write=False) as session:
            assert await list_jobs(session, name=SEND_EMAIL) == []
