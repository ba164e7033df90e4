"""The ticket page in a browser: reply, internal note (it looks different), escalation."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Page, expect

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.schemas import GroupCreate
from opora.db import Database
from opora.tickets import service as tickets_service
from opora.tickets.schemas import RequesterIn, TicketCreate
from tests.browser.conftest import LiveServer, Screenshot

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
BACKGROUND = "(el) => getComputedStyle(el).backgroundColor"


async def agent_and_ticket(live_server: LiveServer) -> tuple[str, int]:
    """A new agent, groups on lines 1 and 2, and a ticket of Carol's in line 1."""
    suffix = uuid.uuid4().hex[:8]
    email = f"ticket-{suffix}@opora.dev"
    await live_server.create_user(email=email, password=PASSWORD, name="Page Agent")
    db = Database(live_server.database_url)
    actor = system_actor("browser tests")
    try:
        async with db.unit_of_work() as s:
            l1 = await auth_service.create_group(
                s, actor=actor, data=GroupCreate(name=f"First line {suffix}", line=1)
            )
            await auth_service.create_group(
                s, actor=actor, data=GroupCreate(name=f"Second line {suffix}", line=2)
            )
            ticket = await tickets_service.create_ticket(
                s,
                actor=actor,
                data=TicketCreate(
                    subject="The scanner eats paper",
                    body="Every third page gets stuck.",
                    requester=RequesterIn(email="carol@acme.ru", name="Carol Customer"),
                    group_id=l1.id,
                ),
            )
            return email, ticket.id
    finally:
        await db.dispose()


async def sign_in(page: Page, email: str) -> None:
    await page.goto("/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button#sign-in")
    await expect(page.locator("#sign-out")).to_be_visible()


class TestTicketPage:
    async def test_reply_note_and_escalate(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, ticket_id = await agent_and_ticket(live_server)
        await sign_in(page, email)
        await page.goto(f"/tickets/{ticket_id}")
        await expect(page.locator("#ticket-title")).to_contain_text("The scanner eats paper")
        await expect(page.locator("#timeline")).to_contain_text("Every third page gets stuck.")
        await screenshot(page, "opened")

        # a public reply
        await page.check("#visibility-public")
        await page.fill("#composer-body", "Please send us a photo of the jam.")
        await page.click("#send-message")
        reply = page.locator('#timeline li[data-visibility="public"]', has_text="photo of the jam")
        await expect(reply).to_be_visible()
        await expect(page.locator("#composer-body")).to_have_value("")

        # an internal note: its own label and background
        await page.check("#visibility-internal")
        await page.fill("#composer-body", "Known roller issue, order part 4711.")
        await page.click("#send-message")
        note = page.locator('#timeline li[data-visibility="internal"]', has_text="part 4711")
        await expect(note).to_be_visible()
        await expect(note).to_contain_text("Internal note")
        assert await note.evaluate(BACKGROUND) != await reply.evaluate(BACKGROUND)
        await screenshot(page, "note")

        # escalation needs a reason; with one the ticket moves to line 2
        await page.fill("#escalate-reason", "The roller needs a technician on site")
        await page.click("#escalate")
        await expect(page.locator("#timeline")).to_contain_text("line 1 → line 2")
        escalation_note = page.locator(
            '#timeline li[data-visibility="internal"]', has_text="technician on site"
        )
        await expect(escalation_note).to_contain_text("Internal note")
        await expect(page.locator(".ticket-requester")).to_contain_text("line 2")
        await screenshot(page, "escalated")

    async def test_a_draft_survives_a_reload(self, page: Page, live_server: LiveServer) -> None:
        email, ticket_id = await agent_and_ticket(live_server)
        await sign_in(page, email)
        await page.goto(f"/tickets/{ticket_id}")
        await page.fill("#composer-body", "Half-written answer")
        await page.reload()
        await expect(page.locator("#composer-body")).to_have_value("Half-written answer")
        await page.click("#send-message")
        await expect(page.locator("#timeline")).to_contain_text("Half-written answer")
        # the page after a send clears the draft, then drops ?sent=1 from the address
        await expect(page).not_to_have_url(re.compile(r"sent="))
        await page.goto(f"/tickets/{ticket_id}")
        await expect(page.locator("#composer-body")).to_have_value("")
