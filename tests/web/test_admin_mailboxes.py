"""The admin pages of the email channel (src/opora/admin/mailboxes.py) on both backends:
mailboxes (list, form, delete, test the connection, fetch now) and the mail log."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.schemas import UserUpdate
from opora.channels.email.jobs import POLL_MAILBOX
from opora.channels.email.models import InboundEmail, InboundStatus, Mailbox, Route
from opora.db import Database
from opora.kit.time import utcnow
from tests.channels.email.support import add_mailbox, build, count, email_jobs
from tests.conftest import Company
from tests.notifications.smtp import free_port
from tests.web.helpers import csrf_of, page_csrf, set_password, sign_in

ALICE = ("alice@opora.dev", "alice-secret")
LENA = ("lena@opora.dev", "lena-secret")
IMAP_SECRET = "imap-Pa55-never-shown"
SMTP_SECRET = "smtp-Pa55-never-shown"


@pytest.fixture
async def alice(client: httpx.AsyncClient, company: Company) -> httpx.AsyncClient:
    assert (await sign_in(client, *ALICE)).status_code == 303
    return client


async def stored(db: Database) -> list[Mailbox]:
    async with db.unit_of_work(write=False) as s:
        return list((await s.execute(select(Mailbox).order_by(Mailbox.id))).scalars())


def form(csrf: str, **changes: Any) -> dict[str, Any]:
    """A complete mailbox form as a browser sends it (ticked boxes only)."""
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "name": "Support",
        "address": "Support@Acme-Help.ru",
        "sender_name": "Acme Support",
        "group_id": "",
        "default_priority": "normal",
        "response_promise_hours": "12",
        "send_receipt": "on",
        "is_active": "on",
        "imap_host": "",
        "imap_port": "993",
        "imap_security": "ssl",
        "imap_username": "",
        "imap_password": "",
        "imap_folder": "INBOX",
        "imap_processed": "flag",
        "imap_processed_folder": "Processed",
        "imap_verify_certificate": "on",
        "poll_interval_seconds": "60",
        "smtp_host": "",
        "smtp_port": "587",
        "smtp_security": "starttls",
        "smtp_username": "",
        "smtp_password": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


async def create(client: httpx.AsyncClient, **changes: Any) -> int:
    csrf = await page_csrf(client, "/admin/mailboxes/new")
    r = await client.post("/admin/mailboxes/new", data=form(csrf, **changes))
    assert r.status_code == 303, r.text
    match = re.fullmatch(r"/admin/mailboxes/(\d+)\?saved=created", r.headers["location"])
    assert match, r.headers["location"]
    return int(match.group(1))


async def post_raw(client: httpx.AsyncClient, company: Company, raw: bytes) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/email/inbound",
        content=raw,
        headers={**company.admin.headers, "Content-Type": "message/rfc822"},
    )
    assert r.status_code in (200, 201), r.text
    body: dict[str, Any] = r.json()
    return body


class TestAccess:
    async def test_an_agent_gets_403_on_every_page_and_changes_nothing(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        box = await add_mailbox(db, imap_enabled=True, imap_host="imap.acme-help.ru")
        async with db.unit_of_work() as s:
            record = InboundEmail(
                message_key="x@example.ru", mailbox_id=box, route=Route.API, raw_sha256="0" * 64,
                size=1, sender="ivan@example.ru", subject="Hi", status=InboundStatus.REFUSED,
            )  # fmt: skip
            s.add(record)
            await s.flush()
            inbound_id = record.id
        await set_password(db, company.l1_agent.id, LENA[1])
        assert (await sign_in(client, *LENA)).status_code == 303
        pages = [
            "/admin/mailboxes",
            "/admin/mailboxes/new",
            f"/admin/mailboxes/{box}",
            f"/admin/mailboxes/{box}/delete",
            "/admin/mail-log",
            f"/admin/mail-log/{inbound_id}/original",
        ]
        csrf = ""
        for path in pages:
            r = await client.get(path)
            assert (path, r.status_code) == (path, 403)
            assert 'id="admin-forbidden"' in r.text
            csrf = csrf_of(r.text)
        posts = {
            "/admin/mailboxes/new": form(csrf, name="Sneaky", address="sneaky@acme-help.ru"),
            f"/admin/mailboxes/{box}": form(csrf, name="Renamed"),
            f"/admin/mailboxes/{box}/check": {"csrf_token": csrf},
            f"/admin/mailboxes/{box}/poll": {"csrf_token": csrf},
            f"/admin/mailboxes/{box}/delete": {"csrf_token": csrf},
        }
        for path, data in posts.items():
            r = await client.post(path, data=data)
            assert (path, r.status_code) == (path, 403)
        assert [m.name for m in await stored(db)] == ["Support"]
        assert await email_jobs(db, name=POLL_MAILBOX) == []

    async def test_anonymous_goes_to_login(self, client: httpx.AsyncClient) -> None:
        for path in ("/admin/mailboxes", "/admin/mail-log"):
            r = await client.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/login")

    async def test_the_admin_nav_links_the_new_pages(self, alice: httpx.AsyncClient) -> None:
        page = (await alice.get("/admin/users")).text
        for href in ("/admin/mailboxes", "/admin/mail-log", "/admin/notifications"):
            assert f'href="{href}"' in page
        here = (await alice.get("/admin/mail-log")).text
        assert 'href="/admin/mail-log" aria-current="page"' in here


class TestList:
    async def test_lists_mailboxes_with_group_imap_and_the_last_poll_error(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        box = await add_mailbox(
            db, group_id=company.l1_group_id, imap_enabled=True, imap_host="imap.acme-help.ru",
            last_polled_at=utcnow(), last_poll_error="Cannot connect to imap.acme-help.ru:993",
        )  # fmt: skip
        await add_mailbox(db, name="Billing", address="billing@acme-help.ru", is_active=False)
        r = await alice.get("/admin/mailboxes")
        assert r.status_code == 200
        row = re.search(rf'<tr data-mailbox-id="{box}">(.*?)</tr>', r.text, re.S)
        assert row is not None
        assert "support@acme-help.ru" in row.group(1) and "L1 Support" in row.group(1)
        assert "imap.acme-help.ru" in row.group(1) and "failed" in row.group(1)
        alert = re.search(rf'data-poll-error="{box}">(.*?)</div>', r.text, re.S)
        assert alert is not None and "Cannot connect to imap.acme-help.ru:993" in alert.group(1)
        assert "Billing" in r.text and 'href="/admin/mailboxes/new"' in r.text

    async def test_explains_the_three_ways_mail_arrives(self, alice: httpx.AsyncClient) -> None:
        page = (await alice.get("/admin/mailboxes")).text
        assert 'id="no-mailboxes"' in page
        assert "IMAP polling" in page
        assert "<code>opora serve --smtp host:port</code>" in page
        assert "<code>opora mail ingest --mailbox NAME</code>" in page

    async def test_a_russian_admin_reads_it_in_russian(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            await auth_service.update_user(
                s, actor=system_actor("tests"), user_id=company.admin.id,
                data=UserUpdate(language="ru"),
            )  # fmt: skip
        await add_mailbox(db)
        for path, words in (
            ("/admin/mailboxes", ["Почтовые ящики", "Как почта попадает в Opora"]),
            ("/admin/mailboxes/new", ["Новый ящик", "Получение по IMAP"]),
            ("/admin/mail-log", ["Журнал почты"]),
        ):
            page = (await alice.get(path)).text
            assert [w for w in words if w not in page] == [], path


class TestCreate:
    async def test_a_mailbox_made_through_the_form_is_stored(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        box_id = await create(
            alice, group_id=str(company.l2_group_id), default_priority="high",
            response_promise_hours="1,5", send_receipt=None, imap_enabled="on",
            imap_host="imap.acme-help.ru", imap_username="support",
            imap_password=IMAP_SECRET, imap_processed="move",
            imap_processed_folder="Done", poll_interval_seconds="120",
        )  # fmt: skip
        (box,) = await stored(db)
        assert box.id == box_id
        assert (box.address, box.group_id, box.default_priority) == (
            "support@acme-help.ru", company.l2_group_id, "high",
        )  # fmt: skip
        assert (box.response_promise_minutes, box.send_receipt) == (90, False)
        assert (box.imap_enabled, box.imap_password, box.imap_processed) == (
            True, IMAP_SECRET, "move",
        )  # fmt: skip
        assert box.next_poll_at is not None
        page = await alice.get(f"/admin/mailboxes/{box_id}?saved=created")
        assert "The mailbox is created." in page.text
        assert (
            'id="response_promise_hours" name="response_promise_hours" type="text" value="1.5"'
            in (page.text)
        )
        listed = (await alice.get("/admin/mailboxes")).text
        assert f'<tr data-mailbox-id="{box_id}">' in listed and "L2 Specialists" in listed

    async def test_imap_without_a_host_is_400_with_the_field_marked_and_the_text_kept(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        csrf = await page_csrf(alice, "/admin/mailboxes/new")
        data = form(
            csrf, name="Sales desk", imap_enabled="on", imap_username="sales",
            imap_password=IMAP_SECRET, smtp_password=SMTP_SECRET,
        )  # fmt: skip
        r = await alice.post("/admin/mailboxes/new", data=data)
        assert r.status_code == 400
        assert re.search(r'id="imap_host"[^>]*aria-invalid="true"', r.text)
        assert 'aria-describedby="imap_host-hint imap_host-error"' in r.text
        assert 'id="imap_host-error"' in r.text and "IMAP server's host name" in r.text
        assert 'value="Sales desk"' in r.text and 'value="sales"' in r.text
        assert re.search(r'id="imap_enabled" name="imap_enabled" checked', r.text)
        assert IMAP_SECRET not in r.text and SMTP_SECRET not in r.text
        assert await count(db, Mailbox) == 0

    async def test_a_port_that_is_no_number_is_400_with_the_field_marked(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        csrf = await page_csrf(alice, "/admin/mailboxes/new")
        r = await alice.post("/admin/mailboxes/new", data=form(csrf, smtp_port="port"))
        assert r.status_code == 400
        assert re.search(r'id="smtp_port"[^>]*value="port"[^>]*aria-invalid="true"', r.text)
        assert "Enter a port number from 1 to 65535." in r.text
        hours = await alice.post(
            "/admin/mailboxes/new", data=form(csrf, response_promise_hours="soon")
        )
        assert hours.status_code == 400 and 'id="response_promise_hours-error"' in hours.text
        assert await count(db, Mailbox) == 0

    async def test_an_address_in_use_is_400_and_says_so(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        await add_mailbox(db)
        csrf = await page_csrf(alice, "/admin/mailboxes/new")
        r = await alice.post(
            "/admin/mailboxes/new", data=form(csrf, name="Second", address="SUPPORT@acme-help.ru")
        )
        assert r.status_code == 400
        assert 'id="address-error"' in r.text and "Another mailbox has this address." in r.text
        assert await count(db, Mailbox) == 1


class TestEdit:
    async def test_an_edit_is_saved_and_an_empty_password_keeps_the_stored_one(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        box_id = await create(
            alice, imap_enabled="on", imap_host="imap.acme-help.ru", imap_username="support",
            imap_password=IMAP_SECRET,
        )  # fmt: skip
        path = f"/admin/mailboxes/{box_id}"
        page = await alice.get(path)
        assert re.search(r'id="imap_password"[^>]*placeholder="unchanged"', page.text)
        assert not re.search(r'id="smtp_password"[^>]*placeholder', page.text)
        data = form(
            csrf_of(page.text), name="Support desk", imap_enabled="on",
            imap_host="mail.acme-help.ru", imap_username="support", is_active=None,
        )  # fmt: skip
        r = await alice.post(path, data=data)
        assert (r.status_code, r.headers["location"]) == (303, f"{path}?saved=saved")
        (box,) = await stored(db)
        assert (box.name, box.imap_host, box.is_active) == (
            "Support desk", "mail.acme-help.ru", False,
        )  # fmt: skip
        assert box.imap_password == IMAP_SECRET

    async def test_a_bad_edit_is_400_and_changes_nothing(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        box_id = await create(
            alice, imap_enabled="on", imap_host="imap.acme-help.ru", imap_username="support",
            imap_password=IMAP_SECRET,
        )  # fmt: skip
        path = f"/admin/mailboxes/{box_id}"
        data = form(
            await page_csrf(alice, path), name="Renamed", imap_enabled="on",
            imap_host="imap.acme-help.ru", imap_username="support", imap_processed="move",
            imap_processed_folder="INBOX",
        )  # fmt: skip
        r = await alice.post(path, data=data)
        assert r.status_code == 400
        assert 'aria-describedby="imap_processed_folder-hint imap_processed_folder-error"' in (
            r.text
        )
        assert 'value="Renamed"' in r.text
        assert "<h1>Support " in r.text  # the heading shows the mailbox as stored
        (box,) = await stored(db)
        assert (box.name, box.imap_processed) == ("Support", "flag")

    async def test_passwords_never_appear_in_any_page(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        box_id = await create(
            alice, imap_enabled="on", imap_host="127.0.0.1", imap_port=str(free_port()),
            imap_security="none", imap_username="support", imap_password=IMAP_SECRET,
            smtp_host="smtp.acme-help.ru", smtp_password=SMTP_SECRET,
        )  # fmt: skip
        path = f"/admin/mailboxes/{box_id}"
        csrf = await page_csrf(alice, path)
        pages = [
            await alice.get("/admin/mailboxes"),
            await alice.get(path),
            await alice.get(f"{path}/delete"),
            await alice.post(path, data=form(csrf, name="", imap_enabled="on")),
            await alice.post(f"{path}/check", data={"csrf_token": csrf}),
        ]
        assert [p.status_code for p in pages] == [200, 200, 200, 400, 200]
        for page in pages:
            assert IMAP_SECRET not in page.text and SMTP_SECRET not in page.text
        (box,) = await stored(db)
        assert (box.imap_password, box.smtp_password) == (IMAP_SECRET, SMTP_SECRET)

    async def test_an_unknown_mailbox_is_404(self, alice: httpx.AsyncClient) -> None:
        assert (await alice.get("/admin/mailboxes/999")).status_code == 404
        csrf = await page_csrf(alice, "/admin/mailboxes")
        r = await alice.post("/admin/mailboxes/999", data=form(csrf))
        assert r.status_code == 404


class TestDelete:
    async def test_delete_asks_first_then_deletes(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        box_id = await add_mailbox(db)
        confirm = await alice.get(f"/admin/mailboxes/{box_id}/delete")
        assert confirm.status_code == 200 and 'id="confirm-delete"' in confirm.text
        assert "support@acme-help.ru" in confirm.text
        assert await count(db, Mailbox) == 1  # asking deletes nothing
        r = await alice.post(
            f"/admin/mailboxes/{box_id}/delete", data={"csrf_token": csrf_of(confirm.text)}
        )
        assert (r.status_code, r.headers["location"]) == (303, "/admin/mailboxes?saved=deleted")
        assert await count(db, Mailbox) == 0
        assert "The mailbox is deleted." in (await alice.get(r.headers["location"])).text
        again = await alice.post(
            f"/admin/mailboxes/{box_id}/delete", data={"csrf_token": csrf_of(confirm.text)}
        )
        assert again.status_code == 404


class TestCheckAndPoll:
    async def test_testing_a_closed_port_shows_the_error(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        port = free_port()
        box_id = await add_mailbox(
            db, imap_enabled=True, imap_host="127.0.0.1", imap_port=port, imap_security="none",
            imap_username="support", imap_password=IMAP_SECRET,
        )  # fmt: skip
        path = f"/admin/mailboxes/{box_id}"
        r = await alice.post(f"{path}/check", data={"csrf_token": await page_csrf(alice, path)})
        assert r.status_code == 200
        result = re.search(r'id="check-result" data-ok="(\w+)">(.*?)</div>', r.text, re.S)
        assert result is not None and result.group(1) == "no"
        assert "Could not connect." in result.group(2)
        assert f"Cannot connect to 127.0.0.1:{port}" in result.group(2)

    async def test_without_imap_there_is_nothing_to_test_or_fetch(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        box_id = await add_mailbox(db)
        path = f"/admin/mailboxes/{box_id}"
        page = await alice.get(path)
        assert 'id="check-connection"' not in page.text
        csrf = csrf_of(page.text)
        for action in ("check", "poll"):
            r = await alice.post(f"{path}/{action}", data={"csrf_token": csrf})
            assert r.status_code == 400 and 'id="imap-off"' in r.text
        assert await email_jobs(db, name=POLL_MAILBOX) == []

    async def test_fetch_now_queues_the_poll_job(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        box_id = await add_mailbox(
            db, imap_enabled=True, imap_host="imap.acme-help.ru", imap_username="support",
            imap_password=IMAP_SECRET,
        )  # fmt: skip
        path = f"/admin/mailboxes/{box_id}"
        page = await alice.get(path)
        assert 'id="poll-now"' in page.text
        r = await alice.post(f"{path}/poll", data={"csrf_token": csrf_of(page.text)})
        assert (r.status_code, r.headers["location"]) == (303, f"{path}?saved=polling")
        assert await email_jobs(db, name=POLL_MAILBOX) == [{"mailbox_id": box_id}]
        assert 'id="poll-queued"' in (await alice.get(r.headers["location"])).text


class TestMailLog:
    async def test_lists_mail_newest_first_with_status_reason_and_ticket(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await add_mailbox(db, group_id=company.l1_group_id)
        first = await post_raw(alice, company, build(subject="Printer is on fire"))
        own = await post_raw(alice, company, build(sender="support@acme-help.ru", subject="Loop"))
        assert (first["status"], own["status"]) == ("ticket_created", "ignored")
        r = await alice.get("/admin/mail-log")
        assert r.status_code == 200
        ids = [int(i) for i in re.findall(r'<tr data-inbound-id="(\d+)"', r.text)]
        assert ids == [own["inbound_id"], first["inbound_id"]]
        row = re.search(rf'data-inbound-id="{first["inbound_id"]}"(.*?)</tr>', r.text, re.S)
        assert row is not None
        cells = row.group(1)
        assert "Printer is on fire" in cells and "ivan@example.ru" in cells
        assert "New ticket" in cells and 'href="/admin/mailboxes/' in cells
        assert f'href="/tickets/{first["ticket_id"]}"' in cells
        assert f'href="/admin/mail-log/{first["inbound_id"]}/original"' in cells
        loop = re.search(rf'data-inbound-id="{own["inbound_id"]}"(.*?)</tr>', r.text, re.S)
        assert loop is not None and "Ignored" in loop.group(1)
        assert "our own mailboxes" in loop.group(1) and 'href="/tickets/' not in loop.group(1)

    async def test_the_status_filter_shows_only_that_status(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await add_mailbox(db)
        created = await post_raw(alice, company, build())
        ignored = await post_raw(alice, company, build(sender="support@acme-help.ru"))
        r = await alice.get("/admin/mail-log", params={"status": "ignored"})
        ids = [int(i) for i in re.findall(r'<tr data-inbound-id="(\d+)"', r.text)]
        assert ids == [ignored["inbound_id"]] and created["inbound_id"] not in ids
        assert '<option value="ignored" selected>' in r.text
        none = await alice.get("/admin/mail-log", params={"status": "bounce"})
        assert 'id="no-mail"' in none.text and "data-inbound-id" not in none.text
        bad = await alice.get("/admin/mail-log", params={"status": "lost"})
        assert bad.status_code == 400 and 'id="status-error"' in bad.text

    async def test_pages_of_fifty_with_an_older_link(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        box = await add_mailbox(db)
        async with db.unit_of_work() as s:
            s.add_all(
                InboundEmail(
                    message_key=f"m{i}@example.ru",
                    mailbox_id=box,
                    route=Route.PIPE,
                    raw_sha256="0" * 64,
                    size=10,
                    sender="ivan@example.ru",
                    subject=f"No {i}",
                    status=InboundStatus.REFUSED,
                    reason="test",
                )
                for i in range(53)
            )
        first = await alice.get("/admin/mail-log")
        rows = re.findall(r'<tr data-inbound-id="(\d+)"', first.text)
        assert len(rows) == 50
        older = re.search(
            r'id="older-mail" href="([^"]+)"|href="([^"]+)" id="older-mail"', first.text
        )
        assert older is not None
        link = (older.group(1) or older.group(2)).replace("&amp;", "&")
        assert link == f"/admin/mail-log?before_id={rows[-1]}"
        second = await alice.get(link)
        more = re.findall(r'<tr data-inbound-id="(\d+)"', second.text)
        assert len(more) == 3 and int(more[0]) < int(rows[-1])
        assert 'id="older-mail"' not in second.text and 'id="newest-mail"' in second.text

    async def test_the_original_downloads_with_the_exact_bytes(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await add_mailbox(db)
        raw = build(subject="Счёт за март", attachments=[("a.bin", "application/pdf", b"\x00\xff")])
        sent = await post_raw(alice, company, raw)
        r = await alice.get(f"/admin/mail-log/{sent['inbound_id']}/original")
        assert r.status_code == 200
        assert r.content == raw
        assert r.headers["content-type"] == "message/rfc822"
        disposition = r.headers["content-disposition"]
        assert disposition.startswith("attachment") and f"message-{sent['inbound_id']}.eml" in (
            disposition
        )
        assert (await alice.get("/admin/mail-log/999/original")).status_code == 404

    async def test_a_deleted_mailbox_leaves_its_mail_in_the_log(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        box = await add_mailbox(db)
        sent = await post_raw(alice, company, build())
        async with db.unit_of_work() as s:
            await s.execute(update(Mailbox).where(Mailbox.id == box).values(is_active=False))
        csrf = await page_csrf(alice, f"/admin/mailboxes/{box}/delete")
        await alice.post(f"/admin/mailboxes/{box}/delete", data={"csrf_token": csrf})
        page = (await alice.get("/admin/mail-log")).text
        assert f'data-inbound-id="{sent["inbound_id"]}"' in page
