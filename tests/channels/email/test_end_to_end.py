"""End to end with real servers on loopback: a customer's mail lands in a real IMAP mailbox
(a private Dovecot), Opora's worker polls it into a ticket and sends the receipt; an agent
replies through the API and the reply reaches the customer by a real SMTP server
(aiosmtpd); the customer answers that email, the answer threads back onto the ticket; the
agent's internal note never leaves; solving tells the customer."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from opora.channels.email.models import ImapProcessed, ImapSecurity, Mailbox
from opora.config import Settings
from opora.db import Database
from opora.jobs.worker import Worker
from opora.kit.time import utcnow
from tests.channels.email.dovecot import Dovecot
from tests.channels.email.support import messages, ticket
from tests.conftest import Company
from tests.notifications.smtp import SmtpServer, running_smtp_server

pytestmark = pytest.mark.dovecot


@pytest_asyncio.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    async with running_smtp_server() as server:
        yield server


def customer_mail(*, subject: str, body: str, in_reply_to: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Иван Петров <ivan@example.ru>"
    msg["To"] = "Поддержка <support@acme-help.ru>"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = make_msgid(domain="example.ru")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    return msg.as_bytes(policy=email.policy.SMTP)


async def test_customer_mails_agent_replies_customer_answers_solved(
    db: Database,
    settings: Settings,
    client: httpx.AsyncClient,
    company: Company,
    dovecot: Dovecot,
    smtp: SmtpServer,
) -> None:
    user, password = dovecot.new_mailbox()
    async with db.unit_of_work() as s:
        s.add(
            Mailbox(
                name="Support", address="support@acme-help.ru", sender_name="Acme Support",
                group_id=company.l1_group_id, imap_enabled=True, imap_host=dovecot.host,
                imap_port=dovecot.imaps_port, imap_security=ImapSecurity.SSL,
                imap_username=user, imap_password=password, imap_processed=ImapProcessed.MOVE,
                imap_processed_folder="Обработанные", poll_interval_seconds=10,
                next_poll_at=utcnow(),
            )
        )  # fmt: skip
    worker_settings = settings.model_copy(
        update={"smtp_host": smtp.host, "smtp_port": smtp.port, "email_ca_file": dovecot.ca_file}
    )
    worker = Worker(db, worker_settings, name="e2e", periodic=True)

    # 1. the customer writes; the worker polls the mailbox and answers with a receipt
    dovecot.append(user, customer_mail(subject="Не могу войти", body="Пишет «неверный пароль»."))
    await worker.run_once()  # plans the poll
    await worker.run_once()  # polls, then sends the receipt
    await worker.run_once()
    assert [m.uid for m in dovecot.messages(user, "Обработанные")] != []  # moved away
    assert dovecot.messages(user) == []
    [receipt] = smtp.messages
    assert receipt.rcpt_tos == ["ivan@example.ru"]
    number = int(receipt.message["X-Opora-Ticket"])
    assert f"#{number}" in receipt.body("plain")

    # 2. an agent writes an internal note and a public reply through the API
    r = await client.get("/api/v1/tickets?q=войти", headers=company.l1_agent.headers)
    [listed] = r.json()["items"]
    tid = listed["id"]
    for body, visibility in (("Похоже на блокировку после 5 попыток", "internal"),
                             ("Сбросьте пароль по ссылке «Забыли пароль?»", "public")):  # fmt: skip
        r = await client.post(
            f"/api/v1/tickets/{tid}/messages", headers=company.l1_agent.headers,
            json={"body": body, "visibility": visibility},
        )  # fmt: skip
        assert r.status_code == 201, r.text
    await worker.run_once()
    reply = smtp.messages[-1]
    assert "Сбросьте пароль" in reply.body("plain")
    assert all("блокировку" not in m.raw.decode("ascii", "replace") for m in smtp.messages)
    assert all("блокировку" not in m.body("plain") for m in smtp.messages)

    # 3. the customer answers that email; it threads back onto the same ticket
    answer = customer_mail(
        subject=f"Re: {reply.message['Subject']}",
        body="Спасибо, получилось!\n\nпн, 7 дек. 2026 г. в 10:12, Acme Support "
        "<support@acme-help.ru>:\n> Сбросьте пароль по ссылке «Забыли пароль?»\n",
        in_reply_to=reply.message["Message-ID"],
    )
    dovecot.append(user, answer)
    async with db.unit_of_work(write=False) as s:
        box_id = (await s.execute(select(Mailbox.id))).scalar_one()
    r = await client.post(f"/api/v1/mailboxes/{box_id}/poll", headers=company.admin.headers)
    assert r.status_code == 202, r.text  # "fetch mail now", without waiting for the interval
    await worker.run_once()
    latest = (await messages(db, tid))[-1]
    assert latest.body_text == "Спасибо, получилось!" and latest.author_kind == "contact"

    # 4. the agent solves it; the customer is told
    r = await client.patch(
        f"/api/v1/tickets/{tid}", headers=company.l1_agent.headers, json={"status": "solved"}
    )
    assert r.status_code == 200, r.text
    await worker.run_once()
    assert (await ticket(db, tid)).status == "solved"
    solved = smtp.messages[-1].message
    assert f"#{number}" in solved["Subject"] and solved["Auto-Submitted"] == "auto-replied"
    parsed = [email.message_from_bytes(m.raw, policy=email.policy.default) for m in smtp.messages]
    assert all(m["Message-ID"].endswith("@acme-help.ru>") for m in parsed)
