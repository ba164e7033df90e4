"""The customer portal in Chromium: sign in by the emailed link, My requests, reply, submit a
request with a required field missing then fixed, the embeddable form, ru/en, phone width."""

from __future__ import annotations

import contextlib
import http.server
import re
import threading
import uuid
from collections.abc import Iterator

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from opora.auth.actor import system_actor
from opora.contacts import service as contacts_service
from opora.contacts.schemas import ContactCreate
from opora.db import Database
from opora.fields import service as fields_service
from opora.fields.schemas import CustomFieldCreate, TicketFormCreate
from opora.jobs.models import Job
from opora.notifications.service import SEND_EMAIL
from opora.tickets import service as tickets
from opora.tickets.schemas import MessageCreate, TicketCreate
from tests.browser.conftest import LiveServer, Screenshot, sideways_scroll

pytestmark = pytest.mark.browser

NOTE = "internal: refund approved by finance (heron-lantern)"
LINK = re.compile(r"https?://[^/\s]+(/help/sign-in/[A-Za-z0-9_\-]+)")


async def customer_with_ticket(live_server: LiveServer) -> tuple[str, int]:
    """A new customer with one request that has a public reply and an internal note."""
    email = f"customer-{uuid.uuid4().hex[:8]}@example.com"
    db = Database(live_server.database_url)
    try:
        async with db.unit_of_work() as s:
            actor = system_actor("browser tests")
            await contacts_service.create_contact(
                s, actor=actor, data=ContactCreate(name="Nina Customer", email=email)
            )
            ticket = await tickets.create_ticket(
                s, actor=actor,
                data=TicketCreate(subject="The invoice is wrong",
                                  body="It shows 3 seats, we have 2.",
                                  requester={"email": email, "name": "Nina Customer"}),
            )  # fmt: skip
            await tickets.add_message(
                s, actor=actor, ticket_id=ticket.id,
                data=MessageCreate(body="Thanks, we are checking the seat count."),
            )  # fmt: skip
            await tickets.add_message(
                s, actor=actor, ticket_id=ticket.id,
                data=MessageCreate(body=NOTE, visibility="internal"),
            )  # fmt: skip
            return email, ticket.id
    finally:
        await db.dispose()


async def customer_form(live_server: LiveServer) -> int:
    """A customer form (not the default, so other tests' pages stay as they were) whose
    own field is required."""
    key = f"order_{uuid.uuid4().hex[:6]}"
    db = Database(live_server.database_url)
    try:
        async with db.unit_of_work() as s:
            actor = system_actor("browser tests")
            await fields_service.create_field(
                s, actor=actor,
                data=CustomFieldCreate(key=key, label="Order number", label_ru="Номер заказа",
                                       type="text"),
            )  # fmt: skip
            form = await fields_service.create_ticket_form(
                s, actor=actor,
                data=TicketFormCreate(name=f"Order problem {key}", field_keys=[key],
                                      required_keys=[key]),
            )  # fmt: skip
            return form.id
    finally:
        await db.dispose()


async def emailed_link(live_server: LiveServer, email: str) -> str:
    """The sign-in link in the newest email to ``email`` (the outbox job's payload: the
    live server runs without a worker, so the job waits there)."""
    db = Database(live_server.database_url)
    try:
        async with db.unit_of_work(write=False) as s:
            jobs = (
                await s.scalars(select(Job).where(Job.name == SEND_EMAIL).order_by(Job.id.desc()))
            ).all()
    finally:
        await db.dispose()
    for job in jobs:
        if any(email in to for to in job.payload["to"]):
            match = LINK.search(job.payload["text"])
            if match:
                return match[1]
    raise AssertionError(f"no sign-in link was emailed to {email}")


async def sign_in_by_link(page: Page, live_server: LiveServer, email: str) -> None:
    await page.goto("/help/sign-in")
    await page.fill("#link-email", email)
    await page.click("#send-link")
    await expect(page.locator("#link-sent")).to_be_visible()
    await page.goto(await emailed_link(live_server, email))
    await page.click("#use-link")
    await expect(page.locator("#portal-account")).to_have_text("Nina Customer")


class TestSignInAndRequests:
    async def test_magic_link_my_requests_and_reply(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, ticket_id = await customer_with_ticket(live_server)
        await page.goto("/help/sign-in")
        await expect(page.locator("#portal-sign-in")).to_be_visible()
        await screenshot(page, "sign-in")
        await page.fill("#link-email", email)
        await page.click("#send-link")
        await expect(page.locator("#link-sent")).to_contain_text(email)
        await screenshot(page, "link-sent")

        await page.goto(await emailed_link(live_server, email))
        await screenshot(page, "link")
        await page.click("#use-link")
        assert page.url.endswith("/help/requests")
        row = page.locator(f"#portal-request-{ticket_id}")
        await expect(row).to_contain_text("The invoice is wrong")
        await expect(row.locator(".portal-handler")).to_have_text("Our support team")
        await expect(row.locator('[aria-current="step"]')).to_contain_text("Being worked on")
        assert "heron-lantern" not in await page.content()
        await screenshot(page, "my-requests")

        await row.locator("a.portal-request-title").click()
        await expect(page.locator("#portal-messages")).to_contain_text("checking the seat count")
        assert "heron-lantern" not in await page.content()
        await page.fill("#reply-body", "Here is the contract page.")
        await page.set_input_files(
            "#reply-files",
            {"name": "contract.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"},
        )
        await page.click("#send-reply")
        await expect(page.locator("#request-notice")).to_be_visible()
        await expect(page.locator("#portal-messages")).to_contain_text("Here is the contract page.")
        await expect(page.locator("#portal-messages a", has_text="contract.pdf")).to_be_visible()
        await screenshot(page, "request")

        await page.click("#mark-solved")
        await expect(page.locator("#portal-status")).to_have_text("Solved")
        await page.goto("/help/account")
        await expect(page.locator("#account-email")).to_have_text(email)
        await screenshot(page, "account")

        await page.click("#portal-sign-out")
        await expect(page.locator("#portal-sign-in")).to_be_visible()

    async def test_the_header_switches_to_russian_for_a_signed_in_customer(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, _ = await customer_with_ticket(live_server)
        await sign_in_by_link(page, live_server, email)
        await page.click('.portal-lang button[data-lang="ru"]')
        await expect(page.locator("html")).to_have_attribute("lang", "ru")
        await expect(page.locator("#portal-sign-out")).to_have_text("Выйти")
        await page.goto("/help/requests/new")  # their own language wins over the browser's
        await expect(page.locator("html")).to_have_attribute("lang", "ru")
        await screenshot(page, "ru")
        await page.click('.portal-lang button[data-lang="en"]')
        await expect(page.locator("html")).to_have_attribute("lang", "en")


class TestSubmitRequest:
    async def test_a_required_field_missing_then_fixed(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        form_id = await customer_form(live_server)
        address = f"visitor-{uuid.uuid4().hex[:8]}@example.com"
        await page.goto(f"/help/requests/new?form_id={form_id}")
        await page.fill("#name", "Oleg Visitor")
        await page.fill("#email", address)
        await page.fill("#subject", "Parcel never arrived")
        await page.fill("#body", "Ordered on Monday, tracking says delivered.")
        await expect(page.locator("#website")).not_to_be_in_viewport()  # the honeypot
        await page.click("#send-request")
        order = page.locator('[data-custom-field^="order_"] input')
        await expect(order).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#request-form-error")).to_be_visible()
        await expect(page.locator("#body")).to_have_value(
            "Ordered on Monday, tracking says delivered."
        )
        await expect(page.locator("#email")).to_have_value(address)
        await screenshot(page, "missing-field")

        await order.fill("A-1042")
        await page.click("#send-request")
        await expect(page.locator("#request-submitted")).to_contain_text(address)
        await screenshot(page, "submitted")


@contextlib.contextmanager
def another_site(html: str) -> Iterator[str]:
    """A page of "the company's own site" on another origin (127.0.0.1, another port, so
    Chromium lets it load the script from the live server)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/shop"
    finally:
        server.shutdown()
        server.server_close()


class TestEmbed:
    async def test_the_snippet_inserts_the_form_on_another_page(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        host = (
            "<!doctype html><html lang='en'><body><h1>Acme shop</h1>"
            f"<script src='{live_server.url}/embed/request-form.js'></script></body></html>"
        )
        with another_site(host) as url:  # another origin: the form is in a cross-site frame
            await page.goto(url)
            await self._fill_the_frame(page, screenshot)

    async def _fill_the_frame(self, page: Page, screenshot: Screenshot) -> None:
        frame_el = page.locator("iframe")
        await expect(frame_el).to_have_count(1)
        frame = page.frame_locator("iframe")
        await expect(frame.locator("#subject")).to_be_visible()
        # the frame reports its height and the snippet sizes the iframe to it (from 40rem)
        await page.wait_for_function(
            "() => /^[0-9]+px$/.test(document.querySelector('iframe').style.height)"
        )
        await frame.locator("#name").fill("Shop Visitor")
        await frame.locator("#email").fill(f"shop-{uuid.uuid4().hex[:6]}@example.com")
        await frame.locator("#subject").fill("Do you ship to Kazan?")
        await frame.locator("#body").fill("And how long does it take?")
        await frame.locator("#send-request").click()
        await expect(frame.locator("#request-submitted")).to_be_visible()
        await screenshot(page, "embedded")


class TestPhone:
    async def test_portal_pages_fit_a_phone(
        self, phone_page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, ticket_id = await customer_with_ticket(live_server)
        for path in ("/help/sign-in", "/help/requests/new"):
            await phone_page.goto(path)
            assert await sideways_scroll(phone_page) is None, path
        await sign_in_by_link(phone_page, live_server, email)
        pages = [("/help/requests", "requests"), (f"/help/requests/{ticket_id}", "request"),
                 ("/help/requests/new", "new"), ("/help/account", "account")]  # fmt: skip
        for path, step in pages:
            await phone_page.goto(path)
            assert await sideways_scroll(phone_page) is None, path
            await screenshot(phone_page, step)
