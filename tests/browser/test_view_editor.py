"""The view editor in Chromium: a view made through the form, with the JavaScript rows."""

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
    email = f"views-{uuid.uuid4().hex[:8]}@opora.dev"
    user_id = await live_server.create_user(email=email, password=PASSWORD, name="View Maker")
    db = Database(live_server.database_url)
    made: dict[str, int] = {}
    try:
        async with db.unit_of_work() as s:
            for subject, status, priority in (
                ("Printer is on fire", TicketStatus.OPEN, Priority.URGENT),
                ("Urgent but waiting", TicketStatus.PENDING, Priority.URGENT),
                ("The VPN drops every hour", TicketStatus.OPEN, Priority.NORMAL),
            ):
                ticket = await tickets_service.create_ticket(
                    s,
                    actor=system_actor("browser tests"),
                    data=TicketCreate(
                        subject=subject,
                        body="Please help.",
                        requester=RequesterIn(email="carol@acme.ru", name="Carol Customer"),
                        status=status,
                        priority=priority,
                        assignee_id=user_id,
                    ),
                )
                made[subject] = ticket.id
    finally:
        await db.dispose()
    return email, made


class TestViewEditor:
    async def test_create_a_view_through_the_form_and_open_it(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, made = await agent_with_tickets(live_server)
        await page.goto("/login")
        await page.fill("#email", email)
        await page.fill("#password", PASSWORD)
        await page.click("button#sign-in")
        await expect(page).to_have_url(re.compile(r"/inbox$"))

        await page.click("#new-view")
        await expect(page).to_have_url(re.compile(r"/views/new$"))
        await page.wait_for_load_state("load")  # view-editor.js (deferred) has run
        await expect(page.locator("#refresh-form")).to_be_hidden()  # JS does its work
        await page.fill("#name", "My urgent open")

        # the value input follows the field: a priority select, then a status one
        await page.select_option("#field_0", "priority")
        await page.select_option("#value_0", "urgent")
        await page.click("#add-condition")
        rows = page.locator("#cond-rows > li")
        await expect(rows).to_have_count(4)  # three empty rows, and the one added
        new_row = rows.nth(3)
        await expect(new_row.locator("[data-field]")).to_be_focused()
        await new_row.locator("[data-field]").select_option("status")
        await new_row.locator("[data-op]").select_option("in")
        await expect(new_row.locator("select[data-multi]")).to_have_attribute("multiple", "")
        await new_row.locator("select[data-multi]").select_option(["new", "open"])
        # an empty row removed
        await rows.nth(1).locator("[data-remove]").click()
        await expect(rows).to_have_count(3)
        # and only this agent's tickets: the live server is shared with other tests
        mine = rows.nth(1)
        await mine.locator("[data-field]").select_option("assignee_id")
        await mine.locator('select[name^="value_"]').select_option("me")

        await page.uncheck("#col-requester")
        await page.uncheck("#col-group")
        await page.select_option("#sort", "-number")
        await screenshot(page, "form")
        await page.click("#save-view")

        await expect(page).to_have_url(re.compile(r"/inbox/\d+$"))
        await expect(page.locator("#list-title")).to_have_text("My urgent open")
        ticket_rows = page.locator("#ticket-list tbody tr")
        await expect(ticket_rows).to_have_count(1)
        await expect(ticket_rows.first).to_have_attribute(
            "data-ticket", str(made["Printer is on fire"])
        )
        await expect(page.locator('th[data-column="requester"]')).to_have_count(0)
        nav = page.get_by_role("navigation", name="Views")
        current = nav.locator('a[aria-current="page"]')
        await expect(current.locator(".view-name")).to_have_text("My urgent open")
        await expect(current.locator(".view-count")).to_have_text("1")
        key = (await current.get_attribute("data-view")) or ""
        await expect(nav.locator(f'a[data-edit-view="{key}"]')).to_be_visible()
        await screenshot(page, "inbox")

        # and back to the form: the saved conditions are shown
        await nav.locator(f'a[data-edit-view="{key}"]').click()
        await expect(page).to_have_url(re.compile(rf"/views/{key}/edit$"))
        await expect(page.locator("#field_0")).to_have_value("priority")
        await expect(page.locator("#field_1")).to_have_value("assignee_id")
        await expect(page.locator("#value_1")).to_have_value("me")
        await expect(page.locator("#field_2")).to_have_value("status")
        await expect(page.locator("#op_2")).to_have_value("in")

    async def test_the_form_fits_a_phone(
        self, phone_page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, _ = await agent_with_tickets(live_server)
        await phone_page.goto("/login")
        await phone_page.fill("#email", email)
        await phone_page.fill("#password", PASSWORD)
        await phone_page.click("button#sign-in")
        await expect(phone_page).to_have_url(re.compile(r"/inbox$"))
        await phone_page.goto("/views/new?status=open&status=new&priority=urgent")
        await expect(phone_page.locator("#field_0")).to_have_value("status")
        await expect(phone_page.locator("#field_1")).to_have_value("priority")
        sideways = await sideways_scroll(phone_page)
        assert sideways is None, sideways
        await screenshot(phone_page, "phone")
