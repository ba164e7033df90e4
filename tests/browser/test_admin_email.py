"""The admin pages of the email channel in a real browser: an admin creates a mailbox
through the form, reads the mail log, and previews a change to a notification template.
Screenshots of each page at 1366×768 and at a phone's 390×844
(test-artifacts/screenshots/page-admin-*-<size>.png), with the checks every page passes:
nothing scrolls sideways, every visible control has an accessible name."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from opora.auth.models import Role
from opora.channels.email.models import Route
from opora.channels.email.service import ingest_email, ingest_options
from opora.config import Settings
from opora.db import Database
from tests.browser.conftest import LiveServer
from tests.browser.test_screenshots import PASSWORD, check_page, sign_in
from tests.channels.email.support import build
from tests.notifications.smtp import free_port

pytestmark = pytest.mark.browser


async def ingest(live_server: LiveServer, raw: bytes, mailbox: str) -> None:
    """A message taken in as the pipe would, into the live server's database and files."""
    data_dir = Path(live_server.database_url.removeprefix("sqlite+aiosqlite:///")).parent
    settings = Settings(data_dir=data_dir, database_url=live_server.database_url)
    db = Database(live_server.database_url)
    try:
        async with db.unit_of_work() as session:
            await ingest_email(
                session, raw=raw, route=Route.PIPE, options=ingest_options(settings),
                mailbox_name=mailbox,
            )  # fmt: skip
    finally:
        await db.dispose()


class TestAdminEmailPages:
    async def test_mailbox_mail_log_and_template_editor(
        self, page: Page, phone_page: Page, live_server: LiveServer
    ) -> None:
        suffix = uuid.uuid4().hex[:8]
        email = f"mail-admin-{suffix}@opora.dev"
        await live_server.create_user(
            email=email, password=PASSWORD, name="Alice Mail", role=Role.ADMIN
        )
        name = f"Support {suffix}"
        problems: list[str] = []

        await sign_in(page, email)
        await page.goto("/admin/mailboxes")
        await page.click("#new-mailbox")
        await page.fill("#name", name)
        await page.fill("#address", f"support-{suffix}@acme-help.ru")
        await page.fill("#sender_name", "Acme Support")
        await page.fill("#response_promise_hours", "8")
        await page.check("#imap_enabled")
        await page.fill("#imap_host", "127.0.0.1")
        await page.fill("#imap_port", str(free_port()))
        await page.select_option("#imap_security", "none")
        await page.fill("#imap_username", "support")
        await page.fill("#imap_password", "imap-secret-in-the-browser")
        await page.click("#save-mailbox")
        await expect(page.get_by_role("status")).to_contain_text("The mailbox is created.")
        await expect(page.locator("#imap_password")).to_have_attribute("placeholder", "unchanged")
        assert "imap-secret-in-the-browser" not in await page.content()
        mailbox_path = page.url.split(live_server.url, 1)[1].split("?", 1)[0]

        await page.click("#check-connection")
        await expect(page.locator("#check-result")).to_contain_text("Could not connect.")
        problems += await check_page(page, "admin-mailbox", "desktop")

        await page.goto("/admin/mailboxes")
        await expect(page.locator("#mailboxes-table")).to_contain_text(name)
        problems += await check_page(page, "admin-mailboxes", "desktop")

        await ingest(live_server, build(subject=f"Printer {suffix} is on fire"), name)
        await page.click(".admin-nav >> text=Mail log")
        await expect(page.locator("#mail-log-table")).to_contain_text(f"Printer {suffix}")
        await expect(page.locator("#mail-log-table")).to_contain_text("New ticket")
        problems += await check_page(page, "admin-mail-log", "desktop")

        await page.goto("/admin/notifications")
        await page.click('tr[data-template="ticket_received-en"] a')
        await page.fill("#subject", "We have your request #{{ ticket.number }}")
        await page.click("#preview-template")
        await expect(page.locator("#preview-subject")).to_have_text("We have your request #1042")
        await expect(page.locator("#variables-list")).to_contain_text("contact.name")
        problems += await check_page(page, "admin-notification", "desktop")

        await sign_in(phone_page, email)
        for shot, path in (
            ("admin-mailboxes", "/admin/mailboxes"),
            ("admin-mailbox", mailbox_path),
            ("admin-mail-log", "/admin/mail-log"),
            ("admin-notification", "/admin/notifications/ticket_received/en"),
        ):
            response = await phone_page.goto(path)
            assert response is not None and response.status == 200, path
            problems += await check_page(phone_page, shot, "phone")
        assert not problems, "\n".join(problems)
