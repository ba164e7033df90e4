"""Bulk actions on the inbox list in a browser: search, select, change, merge."""

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
from tests.browser.conftest import LiveServer, Screenshot

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


async def agent_with_tickets(live_server: LiveServer) -> tuple[str, dict[str, tuple[int, int]]]:
    """A new agent with three open tickets; two of them are about the printer.
    Returns the agent's email and subject -> (id, number)."""
    email = f"bulk-{uuid.uuid4().hex[:8]}@opora.dev"
    user_id = await live_server.create_user(email=email, password=PASSWORD, name="Bulk Agent")
    db = Database(live_server.database_url)
    made: dict[str, tuple[int, int]] = {}
    try:
        async with db.unit_of_work() as s:
            for subject in ("Printer is on fire", "Printer paper jam", "The VPN drops every hour"):
                ticket = await tickets_service.create_ticket(
                    s,
                    actor=system_actor("browser tests"),
                    data=TicketCreate(
                        subject=subject,
                        body="Please help.",
                        requester=RequesterIn(email="carol@acme.ru", name="Carol Customer"),
                        status=TicketStatus.OPEN,
                        priority=Priority.NORMAL,
                        assignee_id=user_id,
                    ),
                )
                made[subject] = (ticket.id, ticket.number)
    finally:
        await db.dispose()
    return email, made


async def sign_in(page: Page, email: str) -> None:
    await page.goto("/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button#sign-in")
    await expect(page).to_have_url(re.compile(r"/inbox$"))
    await page.wait_for_load_state("load")


class TestBulk:
    async def test_search_select_two_set_priority_then_merge(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, made = await agent_with_tickets(live_server)
        fire_id, fire_no = made["Printer is on fire"]
        jam_id, jam_no = made["Printer paper jam"]
        vpn_id, _ = made["The VPN drops every hour"]
        await sign_in(page, email)
        rows = page.locator("#ticket-list tbody tr")
        await expect(rows).to_have_count(3)

        # "/" goes to the list's search box; the search narrows the list in place
        await page.keyboard.press("/")
        await expect(page.get_by_label("Search in these tickets")).to_be_focused()
        await page.keyboard.type("printer")
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(re.compile(r"/inbox/my-open\?sort=-updated_at&q=printer$"))
        await expect(rows).to_have_count(2)
        await expect(page.locator(f'tr[data-ticket="{vpn_id}"]')).to_have_count(0)

        await page.get_by_label(f"Select ticket #{fire_no}", exact=True).check()
        await page.get_by_label(f"Select ticket #{jam_no}", exact=True).check()
        await expect(page.locator("#bulk-count")).to_have_text("(2)")
        await page.select_option("#bulk-priority", "high")
        await page.get_by_role("button", name="Set priority").click()

        await expect(page.locator("#bulk-done")).to_have_text("2 tickets updated")
        await expect(page).to_have_url(re.compile(r"q=printer"))  # still the filtered list
        for tid in (fire_id, jam_id):
            row = page.locator(f'tr[data-ticket="{tid}"]')
            await expect(row.locator(".badge-priority-high")).to_have_text("High")
        await screenshot(page, "updated")

        # select both with "select all on this page", then merge into the first
        await page.get_by_label("Select all tickets on this page").check()
        await expect(page.get_by_label(f"Select ticket #{jam_no}", exact=True)).to_be_checked()
        await page.fill("#bulk-merge-into", f"#{fire_no}")
        await page.get_by_role("button", name="Merge", exact=True).click()

        await expect(page.locator("#bulk-done")).to_have_text(f"1 ticket merged into #{fire_no}")
        await expect(rows).to_have_count(1)  # the merged ticket is closed: not "my open"
        await expect(page.locator(f'tr[data-ticket="{fire_id}"]')).to_have_count(1)

    async def test_a_failed_bulk_change_names_the_ticket_and_changes_nothing(
        self, page: Page, live_server: LiveServer
    ) -> None:
        email, made = await agent_with_tickets(live_server)
        fire_id, fire_no = made["Printer is on fire"]
        jam_id, jam_no = made["Printer paper jam"]
        await sign_in(page, email)
        await page.get_by_label(f"Select ticket #{fire_no}", exact=True).check()
        await page.get_by_label(f"Select ticket #{jam_no}", exact=True).check()
        await page.select_option("#bulk-status", "solved")
        await page.get_by_role("button", name="Set status").click()
        error = page.locator("#bulk-error")
        await expect(error).to_contain_text("Nothing was changed.")
        for number in (fire_no, jam_no):
            await expect(error).to_contain_text(f"#{number}: solving needs a resolution summary")
        # the choice is kept for a second try
        await expect(page.get_by_label(f"Select ticket #{jam_no}", exact=True)).to_be_checked()
        for tid in (fire_id, jam_id):
            await expect(
                page.locator(f'tr[data-ticket="{tid}"] .badge-status-open')
            ).to_be_visible()
