"""The inbox in a browser: counts in the sidebar, an htmx view switch, ticket links, phones."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Page, expect

from opora.auth.actor import system_actor
from opora.db import Database
from opora.tickets import service as tickets_service
from opora.tickets.models import Priority, TicketStatus
from opora.tickets.schemas import RequesterIn, TicketCreate
from tests.browser.conftest import LiveServer, Screenshot, sideways_scroll

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


async def agent_with_tickets(live_server: LiveServer) -> tuple[str, dict[str, int]]:
    """A new agent with two open tickets and one pending ticket assigned to them."""
    email = f"inbox-{uuid.uuid4().hex[:8]}@opora.dev"
    user_id = await live_server.create_user(email=email, password=PASSWORD, name="Inbox Agent")
    db = Database(live_server.database_url)
    made: dict[str, int] = {}
    try:
        async with db.unit_of_work() as s:
            for label, status, priority in (
                ("Printer is on fire", TicketStatus.OPEN, Priority.URGENT),
                ("The VPN drops every hour", TicketStatus.OPEN, Priority.NORMAL),
                ("Waiting for the customer's logs", TicketStatus.PENDING, Priority.LOW),
            ):
                ticket = await tickets_service.create_ticket(
                    s,
                    actor=system_actor("browser tests"),
                    data=TicketCreate(
                        subject=label,
                        body="Please help.",
                        requester=RequesterIn(email="carol@acme.ru", name="Carol Customer"),
                        status=status,
                        priority=priority,
                        assignee_id=user_id,
                    ),
                )
                made[label] = ticket.id
    finally:
        await db.dispose()
    return email, made


async def sign_in(page: Page, email: str) -> None:
    await page.goto("/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button#sign-in")


class TestInbox:
    async def test_sign_in_lands_on_the_inbox_with_counts(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, _made = await agent_with_tickets(live_server)
        await sign_in(page, email)
        await expect(page).to_have_url(re.compile(r"/inbox$"))
        nav = page.get_by_role("navigation", name="Views")
        current = nav.locator('a[aria-current="page"]')
        await expect(current).to_have_attribute("data-view", "my-open")
        await expect(current.locator(".view-count")).to_have_text("3")
        await expect(page.locator("#ticket-list tbody tr")).to_have_count(3)
        await expect(
            page.locator("#ticket-list tbody").get_by_text("Urgent", exact=True)
        ).to_be_visible()
        await expect(page.locator("#nav-inbox")).to_be_visible()
        sideways = await sideways_scroll(page)
        assert sideways is None, sideways
        await screenshot(page, "desktop")

    async def test_a_view_click_swaps_the_list_and_changes_the_url(
        self, page: Page, live_server: LiveServer
    ) -> None:
        email, made = await agent_with_tickets(live_server)
        await sign_in(page, email)
        await expect(page).to_have_url(re.compile(r"/inbox$"))
        await page.wait_for_load_state("load")  # htmx (deferred) has processed the page
        await page.evaluate("window.__notReloaded = true")
        await page.click('nav[aria-label="Views"] a[data-view="pending"]')
        await expect(page).to_have_url(re.compile(r"/inbox/pending$"))
        await expect(page.locator("#list-title")).to_have_text("Pending")
        await expect(
            page.locator('nav[aria-label="Views"] a[aria-current="page"]')
        ).to_have_attribute("data-view", "pending")
        pending_id = made["Waiting for the customer's logs"]
        await expect(page.locator(f'#ticket-list tr[data-ticket="{pending_id}"]')).to_have_count(1)
        assert await page.evaluate("window.__notReloaded === true"), "the page was reloaded"

    async def test_a_subject_links_to_the_ticket(self, page: Page, live_server: LiveServer) -> None:
        email, made = await agent_with_tickets(live_server)
        await sign_in(page, email)
        ticket_id = made["Printer is on fire"]
        link = page.get_by_role("link", name="Printer is on fire")
        await expect(link).to_have_attribute("href", f"/tickets/{ticket_id}")
        await link.click()
        await expect(page).to_have_url(re.compile(rf"/tickets/{ticket_id}$"))

    async def test_a_phone_has_no_sideways_scroll(
        self, phone_page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, _ = await agent_with_tickets(live_server)
        await sign_in(phone_page, email)
        await expect(phone_page.locator("#ticket-list tbody tr")).to_have_count(3)
        nav_box = await phone_page.locator("#view-nav").bounding_box()
        list_box = await phone_page.locator("#ticket-list").bounding_box()
        assert nav_box and list_box and nav_box["y"] < list_box["y"]  # the sidebar sits above
        sideways = await sideways_scroll(phone_page)
        assert sideways is None, sideways
        await screenshot(phone_page, "phone")
