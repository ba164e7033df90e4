"""The ways mail arrives: the pipe (`opora mail ingest`, a real process), the SMTP/LMTP
receiver of `opora serve` (real SMTP clients on loopback), and the API."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
import pytest
import pytest_asyncio

from opora.channels.email.models import InboundEmail
from opora.config import Settings
from opora.db import Database
from opora.notifications import catalog
from opora.tickets.models import Ticket
from tests.channels.email.support import add_mailbox, build, count, ingest
from tests.conftest import Company

CONSOLE_SCRIPT = Path(sys.executable).with_name("opora")
COMMAND = (
    [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [sys.executable, "-m", "opora.cli.main"]
)


@dataclass
class Run:
    code: int
    out: str
    err: str


async def pipe(settings: Settings, raw: bytes, *args: str) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPORA_")}
    env["OPORA_DATA_DIR"] = str(settings.data_dir)
    env["OPORA_DATABASE_URL"] = settings.resolved_database_url
    proc = await asyncio.create_subprocess_exec(
        *COMMAND, "mail", "ingest", *args, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, err = await proc.communicate(raw)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


@pytest_asyncio.fixture
async def mailbox(db: Database, company: Company) -> int:
    return await add_mailbox(db, group_id=company.l1_group_id)


class TestPipe:
    async def test_prints_the_ticket_number(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        result = await pipe(
            settings, build(message_id="<pipe1@example.ru>"), "--mailbox", "Support"
        )
        assert result.code == 0, result.err
        async with db.unit_of_work(write=False) as s:
            number = (await s.get(Ticket, 1) or Ticket()).number
        assert result.out.strip() == f"#{number}"
        again = await pipe(settings, build(message_id="<pipe1@example.ru>"))
        assert (again.code, again.out.strip()) == (0, f"#{number}")  # a redelivery: same ticket
        assert "already" in again.err
        assert await count(db, Ticket) == 1

    async def test_a_refused_message_exits_1_with_the_reason(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        result = await pipe(settings, build(sender="support@acme-help.ru"))
        assert result.code == 1 and "our own mailboxes" in result.err
        assert result.out == "" and await count(db, Ticket) == 0

    async def test_what_is_not_an_email_exits_2_and_changes_nothing(
        self, db: Database, settings: Settings, mailbox: int
    ) -> None:
        empty = await pipe(settings, b"")
        assert empty.code == 2 and "empty" in empty.err
        unknown = await pipe(settings, build(), "--mailbox", "Nope")
        assert unknown.code == 2 and "Nope" in unknown.err
        assert await count(db, InboundEmail) == 0


class TestSmtpReceiver:
    async def test_a_delivered_message_is_a_ticket_before_250(
        self, receiver: tuple[Any, int], company: Company
    ) -> None:
        app, port = receiver
        db: Database = app.state.db
        await add_mailbox(db, group_id=company.l1_group_id)
        errors, response = await aiosmtplib.send(
            build(), sender="ivan@example.ru", recipients=["support@acme-help.ru"],
            hostname="127.0.0.1", port=port,
        )  # fmt: skip
        assert errors == {}
        assert response.startswith("2.0.0 OK: ticket #")
        assert await count(db, Ticket) == 1

    async def test_an_unknown_recipient_is_refused_at_rcpt(
        self, receiver: tuple[Any, int], company: Company
    ) -> None:
        app, port = receiver
        await add_mailbox(app.state.db, group_id=company.l1_group_id)
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await aiosmtplib.send(
                build(to="nobody@acme-help.ru"), sender="ivan@example.ru",
                recipients=["nobody@acme-help.ru"], hostname="127.0.0.1", port=port,
            )  # fmt: skip
        assert refused.value.recipients[0].code == 550
        assert await count(app.state.db, InboundEmail) == 0

    async def test_a_reply_address_is_its_mailboxs(
        self, receiver: tuple[Any, int], company: Company
    ) -> None:
        app, port = receiver
        await add_mailbox(app.state.db, group_id=company.l1_group_id)
        errors, _ = await aiosmtplib.send(
            build(), sender="ivan@example.ru",
            recipients=["support+t1-0123456789@acme-help.ru"], hostname="127.0.0.1", port=port,
        )  # fmt: skip
        assert errors == {}

    async def test_lmtp_answers_once_per_recipient(
        self, lmtp_receiver: tuple[Any, int], company: Company
    ) -> None:
        app, port = lmtp_receiver
        db: Database = app.state.db
        await add_mailbox(db, group_id=company.l1_group_id)
        await add_mailbox(db, name="Billing", address="billing@acme-help.ru")
        raw = build(to="support@acme-help.ru, billing@acme-help.ru")

        # smtplib.LMTP reads one reply after DATA whatever the recipients, so the dialogue
        # is spoken by hand: RFC 2033 wants one reply per accepted recipient
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def say(line: bytes) -> list[bytes]:
            writer.write(line + b"\r\n")
            await writer.drain()
            return [await reader.readline()]

        greeting = await reader.readline()
        assert greeting.startswith(b"220")
        writer.write(b"LHLO client.example\r\n")
        while not (line := await reader.readline()).startswith(b"250 "):
            assert line.startswith(b"250-")
        assert (await say(b"MAIL FROM:<ivan@example.ru>"))[0].startswith(b"250")
        assert (await say(b"RCPT TO:<support@acme-help.ru>"))[0].startswith(b"250")
        assert (await say(b"RCPT TO:<billing@acme-help.ru>"))[0].startswith(b"250")
        assert (await say(b"DATA"))[0].startswith(b"354")
        writer.write(raw.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
        await writer.drain()
        replies = [await reader.readline(), await reader.readline()]
        assert all(r.startswith(b"250 2.0.0 OK: ticket #1") for r in replies), replies
        writer.write(b"QUIT\r\n")
        await writer.drain()
        assert (await reader.readline()).startswith(b"221")
        writer.close()
        assert await count(db, Ticket) == 1  # one message, one ticket


class TestApi:
    async def test_an_admin_posts_a_raw_message(
        self, client: httpx.AsyncClient, db: Database, company: Company, mailbox: int
    ) -> None:
        sent = build()
        r = await client.post(
            "/api/v1/email/inbound", content=sent, headers={
                **company.admin.headers, "Content-Type": "message/rfc822"},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["status"] == "ticket_created" and body["ticket_number"] == 1
        listed = await client.get("/api/v1/email/inbound", headers=company.admin.headers)
        assert [i["id"] for i in listed.json()] == [body["inbound_id"]]
        raw = await client.get(
            f"/api/v1/email/inbound/{body['inbound_id']}/raw", headers=company.admin.headers
        )
        assert raw.status_code == 200 and raw.content == sent

    async def test_agents_and_customers_may_not(
        self, client: httpx.AsyncClient, company: Company, mailbox: int
    ) -> None:
        for persona, code in ((company.l1_agent, 403), (company.customer, 403)):
            r = await client.post("/api/v1/email/inbound", content=build(), headers=persona.headers)
            assert r.status_code == code, (persona.name, r.text)

    async def test_mailboxes_are_managed_and_passwords_never_read_back(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        h = company.admin.headers
        r = await client.post(
            "/api/v1/mailboxes", headers=h,
            json={"name": "Support", "address": "Support@Acme-Help.ru",
                  "group_id": company.l1_group_id, "imap_enabled": True,
                  "imap_host": "imap.acme-help.ru", "imap_username": "support",
                  "imap_password": "s3cret"},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        box = r.json()
        assert box["address"] == "support@acme-help.ru" and box["imap_password_set"] is True
        assert "s3cret" not in r.text
        bad = await client.patch(
            f"/api/v1/mailboxes/{box['id']}", headers=h, json={"imap_host": ""}
        )
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "imap_host"
        again = await client.get(f"/api/v1/mailboxes/{box['id']}", headers=h)
        assert again.json()["imap_host"] == "imap.acme-help.ru"  # nothing changed
        dup = await client.post(
            "/api/v1/mailboxes",
            headers=h,
            json={"name": "Other", "address": "support@acme-help.ru"},
        )
        assert dup.status_code == 409 and dup.json()["error"]["field"] == "address"
        plus = await client.post(
            "/api/v1/mailboxes", headers=h, json={"name": "Plus", "address": "a+b@acme-help.ru"}
        )
        assert plus.status_code == 422
        gone = await client.delete(f"/api/v1/mailboxes/{box['id']}", headers=h)
        assert gone.status_code == 204
        agent = await client.get("/api/v1/mailboxes", headers=company.l1_agent.headers)
        assert agent.status_code == 403


class TestNotificationTemplatesApi:
    async def test_a_template_is_checked_previewed_saved_and_reset(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        h = company.admin.headers
        url = "/api/v1/notification-templates/ticket_received/ru"
        bad = await client.put(
            url, headers=h, json={"subject": "#{{ ticket.nubmer }}", "body": "x"}
        )
        assert bad.status_code == 422
        assert bad.json()["error"]["field"] == "subject" and "nubmer" in bad.text
        assert (await client.get(url, headers=h)).json()["customized"] is False
        preview = await client.post(
            f"{url}/preview", headers=h,
            json={"subject": "#{{ ticket.number }}", "body": "Привет, {{ contact.name }}"},
        )  # fmt: skip
        assert preview.json() == {"subject": "#1042", "text": "Привет, Анна Смирнова\n"}
        saved = await client.put(
            url, headers=h, json={"subject": "#{{ ticket.number }}", "body": "Спасибо"}
        )
        assert saved.status_code == 200 and saved.json()["customized"] is True
        reset = await client.delete(url, headers=h)
        assert reset.json()["customized"] is False
        assert reset.json()["subject"].startswith("Обращение #{{ ticket.number }}")
        listed = await client.get("/api/v1/notification-templates", headers=h)
        assert len(listed.json()) == 2 * len(catalog.SPECS)  # each in two languages
        assert (await client.get(url, headers=company.l1_agent.headers)).status_code == 403


async def test_ingest_helper_and_pipe_agree(db: Database, settings: Settings, mailbox: int) -> None:
    """The service the pipe calls gives the same result in process (a sanity check of the
    helpers the other tests use)."""
    result = await ingest(db, settings, build(message_id="<same@example.ru>"))
    run = await pipe(settings, build(message_id="<same@example.ru>"))
    assert run.out.strip() == f"#{result.ticket_number}"
