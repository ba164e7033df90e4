"""Webhooks on both backends, through the outbox to a real HTTP server the test starts:
the body with its placeholders filled in (JSON-escaped), the rule's headers, a 500 that
the worker retries, and a rolled-back change that sends nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from opora import events
from opora.automation.engine import WEBHOOK
from opora.config import Settings
from opora.db import Database
from opora.jobs.models import Job, JobStatus
from opora.jobs.worker import Worker
from opora.tickets import service as tickets
from opora.tickets.schemas import RequesterIn, TicketCreate
from tests.automation.test_triggers import (
    add_trigger,
    agent,
    jobs_named,
    new_ticket,
    rules_applied,
)
from tests.conftest import Company
from tests.jobs.support import load_job, make_due


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HookServer:
    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, then 200s


@pytest_asyncio.fixture
async def hook_server() -> AsyncIterator[HookServer]:
    state = HookServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            state.received.append(Received(self.command, self.path, dict(self.headers), body))
            status = state.statuses.pop(0) if state.statuses else 200
            payload = b"boom" if status >= 400 else b"ok"
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_POST = do_PUT = do_PATCH = _answer

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def worker(db: Database, settings: Settings) -> Worker:
    return Worker(db, settings, name="hooks", periodic=False)


BODY = '{"text": "Новая заявка #{{ticket.number}}: {{ticket.subject}}", "who": "{{contact.name}}"}'


async def test_the_body_goes_out_with_its_placeholders(
    db: Database, company: Company, hook_server: HookServer, worker: Worker
) -> None:
    await add_trigger(db, "Tell the chat", events=["ticket.created"], actions=[{
        "action": "webhook", "url": f"{hook_server.url}/hooks/new?x=1",
        "headers": {"X-Token": "s3cret"}, "body": BODY,
    }])  # fmt: skip
    t = await new_ticket(db, company, subject='Не могу "войти"\\')
    [queued] = await jobs_named(db, WEBHOOK)
    assert hook_server.received == []  # nothing leaves inside the transaction
    assert queued.payload["rule"] == "Trigger: Tell the chat"
    assert queued.payload["ticket_id"] == t.id
    assert await worker.run_once() == 1
    [got] = hook_server.received
    assert (got.method, got.path) == ("POST", "/hooks/new?x=1")
    assert got.headers["X-Token"] == "s3cret"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Opora-Delivery"] == str(queued.id)
    # the subject's quote and backslash are escaped: the body is still JSON
    assert json.loads(got.body) == {
        "text": f'Новая заявка #{t.number}: Не могу "войти"\\',
        "who": "Carol Customer",
    }
    assert (await load_job(db, queued.id)).status == JobStatus.DONE
    assert await rules_applied(db, t.id) == ["Trigger: Tell the chat"]


async def test_a_500_is_retried_with_the_reason_kept(
    db: Database, company: Company, hook_server: HookServer, worker: Worker
) -> None:
    await add_trigger(db, "Tell the CRM", events=["ticket.created"], actions=[{
        "action": "webhook", "url": f"{hook_server.url}/crm", "method": "PUT",
        "body": "ticket {{ticket.number}}",
    }])  # fmt: skip
    hook_server.statuses = [500]
    await new_ticket(db, company)
    [queued] = await jobs_named(db, WEBHOOK)
    await worker.run_once()
    failed = await load_job(db, queued.id)
    assert failed.status == JobStatus.PENDING and failed.attempts == 1
    assert failed.last_error is not None and "answered 500" in failed.last_error
    assert "boom" in failed.last_error
    await make_due(db, queued.id)
    await worker.run_once()
    done = await load_job(db, queued.id)
    assert (done.status, done.attempts) == (JobStatus.DONE, 2)
    assert [r.method for r in hook_server.received] == ["PUT", "PUT"]
    assert {r.headers["X-Opora-Delivery"] for r in hook_server.received} == {str(queued.id)}
    assert hook_server.received[0].headers["Content-Type"] == "text/plain; charset=utf-8"


async def test_without_a_body_the_ticket_is_sent_as_json(
    db: Database, company: Company, hook_server: HookServer, worker: Worker
) -> None:
    await add_trigger(db, "Default body", events=["ticket.created"],
                      actions=[{"action": "webhook", "url": f"{hook_server.url}/"}])  # fmt: skip
    t = await new_ticket(db, company)
    await worker.run_once()
    [got] = hook_server.received
    sent = json.loads(got.body)
    assert sent["rule"] == "Trigger: Default body"
    assert sent["ticket"]["id"] == t.id and sent["ticket"]["number"] == t.number
    assert sent["ticket"]["url"].endswith(f"/tickets/{t.id}")


async def test_a_change_that_rolls_back_sends_nothing(
    db: Database, company: Company, hook_server: HookServer, worker: Worker
) -> None:
    await add_trigger(db, "Tell the chat", events=["ticket.created"],
                      actions=[{"action": "webhook", "url": f"{hook_server.url}/"}])  # fmt: skip

    class Oops(Exception):
        pass

    with pytest.raises(Oops):
        async with db.unit_of_work() as s:
            await tickets.create_ticket(
                s, actor=await agent(db, company.l1_agent.id),
                data=TicketCreate(subject="x", body="y", requester=RequesterIn(email="a@b.ru")),
            )  # fmt: skip
            await events.run_in_transaction(s)  # the trigger has run: its job row is written
            queued = await s.execute(select(func.count()).where(Job.name == WEBHOOK))
            assert queued.scalar_one() == 1
            raise Oops  # and the transaction rolls back with it
    assert await jobs_named(db, WEBHOOK) == []
    assert await worker.run_once() == 0
    assert hook_server.received == []
