"""My requests and one request, as the customer reads them: their own (or their
organization's, where allowed) only, never an internal note; who handles it, when we
answer, where it stands; reply with files, mark solved, reopen by replying."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update

from opora.config import Settings
from opora.db import Database
from opora.jobs.models import Job
from opora.kit.time import utcnow
from opora.tickets.models import Attachment, Message, Ticket
from tests.conftest import Company
from tests.portal.support import make_ticket, portal_sign_in
from tests.web.helpers import csrf_of

CAROL = "carol@acme.ru"
DAVE = "dave@acme.ru"
ERIN = "erin@globex.com"
NOTE = "Внутренняя заметка: клиент ошибся"


async def _ticket(db: Database, ticket_id: int) -> Ticket:
    async with db.unit_of_work(write=False) as s:
        found = await s.get(Ticket, ticket_id)
        assert found is not None
        return found


class TestMyRequests:
    async def test_lists_own_requests_with_handler_promise_and_progress(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        mine = await make_ticket(db, requester_email=CAROL, subject="Не приходит СМС")
        theirs = await make_ticket(db, requester_email=ERIN, subject="Globex secret")
        async with db.unit_of_work() as s:
            await s.execute(
                update(Ticket).where(Ticket.id == mine).values(
                    group_id=company.l2_group_id,
                    first_response_due_at=utcnow() + timedelta(hours=3, minutes=5),
                )
            )  # fmt: skip
        await portal_sign_in(client, db, CAROL)
        r = await client.get("/help/requests")
        assert r.status_code == 200
        assert "Не приходит СМС" in r.text and "Globex secret" not in r.text
        assert f'id="portal-request-{theirs}"' not in r.text
        item = r.text.split(f'id="portal-request-{mine}"')[1].split('class="portal-request"')[0]
        assert "L2 Specialists" in item  # nobody assigned yet: the group handles it
        assert "Within 3 hours" in item
        assert 'data-step="received" aria-current="step"' in item

    async def test_the_assignee_is_named_and_a_late_answer_is_admitted(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        tid = await make_ticket(
            db, requester_email=CAROL, reply="Смотрим.", agent_id=company.l1_agent.id
        )
        async with db.unit_of_work() as s:
            await s.execute(
                update(Ticket).where(Ticket.id == tid).values(
                    assignee_id=company.l1_agent.id,
                    next_response_due_at=utcnow() - timedelta(minutes=5),
                )
            )  # fmt: skip
        await portal_sign_in(client, db, CAROL)
        r = await client.get(f"/help/requests/{tid}")
        assert r.status_code == 200
        assert 'id="portal-handler">Lena L1<' in r.text
        assert "running late" in r.text
        assert 'data-step="working" aria-current="step"' in r.text
        assert "Смотрим." in r.text.split('id="portal-doing"')[1]  # the latest from us

    async def test_a_colleague_sees_the_organizations_requests_when_allowed(
        self, client: httpx.AsyncClient, other_client: httpx.AsyncClient, db: Database,
        company: Company,
    ) -> None:  # fmt: skip
        tid = await make_ticket(db, requester_email=CAROL, subject="Acme printer")
        await portal_sign_in(client, db, DAVE)  # sees Acme's tickets
        r = await client.get("/help/requests")
        assert "Acme printer" in r.text and "asked by Carol Customer" in r.text
        assert (await client.get(f"/help/requests/{tid}")).status_code == 200
        await portal_sign_in(other_client, db, ERIN)
        assert "Acme printer" not in (await other_client.get("/help/requests")).text

    async def test_another_customers_request_is_a_404_like_a_missing_one(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        tid = await make_ticket(db, requester_email=CAROL, subject="Carol's own")
        await portal_sign_in(client, db, ERIN)
        page = await client.get("/help/requests")
        token = csrf_of(page.text)
        theirs = await client.get(f"/help/requests/{tid}")
        missing = await client.get("/help/requests/999999")
        assert theirs.status_code == missing.status_code == 404
        # the same page but for the address it was asked at (the language switch's way back)
        same = theirs.text.replace(f"/help/requests/{tid}", "/x")
        assert same == missing.text.replace("/help/requests/999999", "/x")
        assert "Carol's own" not in theirs.text
        r = await client.post(f"/help/requests/{tid}/reply", data={"csrf_token": token,
                                                                   "body": "hi"})  # fmt: skip
        assert r.status_code == 404
        r = await client.post(f"/help/requests/{tid}/solve", data={"csrf_token": token})
        assert r.status_code == 404
        assert (await _ticket(db, tid)).status == "new"
        async with db.unit_of_work(write=False) as s:
            count = len(list(await s.scalars(select(Message).where(Message.ticket_id == tid))))
        assert count == 1


class TestInternalNotes:
    async def test_an_internal_note_never_appears_on_any_portal_page(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        tid = await make_ticket(
            db, requester_email=CAROL, reply="Публичный ответ", internal_note=NOTE,
            agent_id=company.l1_agent.id,
        )  # fmt: skip
        await portal_sign_in(client, db, CAROL)
        pages = ["/help/requests", f"/help/requests/{tid}", "/help/requests/new",
                 "/help/account", f"/help/requests/{tid}?notice=replied"]  # fmt: skip
        for path in pages:
            r = await client.get(path)
            assert r.status_code == 200, path
            assert "Внутренняя заметка" not in r.text and "ошибся" not in r.text, path
        assert "Публичный ответ" in (await client.get(f"/help/requests/{tid}")).text


class TestReply:
    async def test_a_reply_with_a_file_lands_on_the_request_and_downloads(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        tid = await make_ticket(db, requester_email=CAROL)
        await portal_sign_in(client, db, CAROL)
        page = await client.get(f"/help/requests/{tid}")
        r = await client.post(
            f"/help/requests/{tid}/reply",
            data={"csrf_token": csrf_of(page.text), "body": "Вот скриншот"},
            files={"files": ("экран.png", b"\x89PNG fake", "image/png")},
        )
        assert r.status_code == 303, r.text
        assert r.headers["location"].startswith(f"/help/requests/{tid}?notice=replied")
        page = await client.get(f"/help/requests/{tid}")
        assert "Вот скриншот" in page.text and "экран.png" in page.text
        async with db.unit_of_work(write=False) as s:
            att = (await s.scalars(select(Attachment))).one()
        got = await client.get(f"/help/requests/{tid}/attachments/{att.id}")
        assert got.status_code == 200 and got.content == b"\x89PNG fake"

    async def test_an_empty_reply_or_a_too_large_file_is_refused_and_the_text_kept(
        self, client: httpx.AsyncClient, db: Database, settings: Settings, company: Company
    ) -> None:
        tid = await make_ticket(db, requester_email=CAROL)
        await portal_sign_in(client, db, CAROL)
        page = await client.get(f"/help/requests/{tid}")
        token = csrf_of(page.text)
        r = await client.post(f"/help/requests/{tid}/reply", data={"csrf_token": token,
                                                                   "body": "  "})  # fmt: skip
        assert r.status_code == 400 and 'id="reply-body-error"' in r.text
        big = b"x" * (settings.max_attachment_bytes + 1)
        r = await client.post(
            f"/help/requests/{tid}/reply", data={"csrf_token": token, "body": "Мой длинный текст"},
            files={"files": ("big.log", big, "text/plain")},
        )  # fmt: skip
        assert r.status_code == 413 and 'id="reply-files-error"' in r.text
        assert "Мой длинный текст</textarea>" in r.text
        async with db.unit_of_work(write=False) as s:
            assert not list(await s.scalars(select(Attachment)))
            messages = list(await s.scalars(select(Message).where(Message.ticket_id == tid)))
        assert len(messages) == 1

    async def test_marking_solved_then_replying_reopens(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        tid = await make_ticket(db, requester_email=CAROL, reply="Попробуйте так")
        await portal_sign_in(client, db, CAROL)
        page = await client.get(f"/help/requests/{tid}")
        r = await client.post(f"/help/requests/{tid}/solve",
                              data={"csrf_token": csrf_of(page.text)})  # fmt: skip
        assert r.status_code == 303
        assert (await _ticket(db, tid)).status == "solved"
        page = await client.get(f"/help/requests/{tid}")
        assert 'id="mark-solved"' not in page.text and "Replying reopens" in page.text
        data = {"csrf_token": csrf_of(page.text), "body": "Снова не работает"}
        r = await client.post(f"/help/requests/{tid}/reply", data=data)
        assert r.status_code == 303
        assert (await _ticket(db, tid)).status == "open"

    async def test_marking_solved_oneself_sends_no_solved_email(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        mine, theirs = [await make_ticket(db, requester_email=CAROL) for _ in range(2)]
        async with db.unit_of_work() as s:  # web requests: solved mail goes out for them
            await s.execute(update(Ticket).where(Ticket.id.in_([mine, theirs]))
                            .values(channel="web"))  # fmt: skip
        await portal_sign_in(client, db, CAROL)
        page = await client.get(f"/help/requests/{mine}")
        r = await client.post(f"/help/requests/{mine}/solve",
                              data={"csrf_token": csrf_of(page.text)})  # fmt: skip
        assert r.status_code == 303
        r = await client.patch(f"/api/v1/tickets/{theirs}", headers=company.l1_agent.headers,
                               json={"status": "solved"})  # fmt: skip
        assert r.status_code == 200, r.text
        async with db.unit_of_work(write=False) as s:
            jobs = list(await s.scalars(select(Job).where(Job.name == "channels.email.send")))
        solved = {
            j.payload.get("ticket_id") for j in jobs if j.payload.get("kind") == "ticket_solved"
        }
        assert solved == {theirs}  # the agent's solve is mailed; the customer's own is not

    async def test_a_reply_to_a_closed_request_opens_a_follow_up(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        tid = await make_ticket(db, requester_email=CAROL, subject="Старый вопрос",
                                status="closed")  # fmt: skip
        await portal_sign_in(client, db, CAROL)
        page = await client.get(f"/help/requests/{tid}")
        r = await client.post(f"/help/requests/{tid}/reply",
                              data={"csrf_token": csrf_of(page.text), "body": "Опять"})  # fmt: skip
        assert r.status_code == 303
        new_id = int(r.headers["location"].split("/")[3].split("?")[0])
        assert new_id != tid and r.headers["location"].endswith("notice=followup")
        follow_up = await client.get(r.headers["location"])
        assert "Follow-up: Старый вопрос" in follow_up.text
        assert (await _ticket(db, tid)).status == "closed"
