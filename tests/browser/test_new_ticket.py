"""Creating a ticket through the agent's new-ticket page in Chromium: the "c" shortcut, a
form change swapping the fields (htmx), a required field of the form, the created ticket."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Page, expect

from opora.auth.actor import system_actor
from opora.auth.models import Role
from opora.db import Database
from opora.fields import service as fields_service
from opora.fields.schemas import CustomFieldCreate, TicketFormCreate
from tests.browser.conftest import LiveServer, Screenshot

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


async def agent_and_forms(live_server: LiveServer) -> tuple[str, str, dict[str, int]]:
    """A new agent; fields os_<s> (select) and build_<s> (text); forms "Crash <s>"
    (requires the OS) and "Call <s>" (asks for the build)."""
    suffix = uuid.uuid4().hex[:8]
    email = f"new-ticket-{suffix}@opora.dev"
    await live_server.create_user(email=email, password=PASSWORD, name="Desk Agent")
    db = Database(live_server.database_url)
    actor = system_actor("browser tests")
    try:
        async with db.unit_of_work() as s:
            await fields_service.create_field(
                s, actor=actor,
                data=CustomFieldCreate(key=f"os_{suffix}", label="Operating system",
                                       type="select", options=["Windows", "macOS"]),
            )  # fmt: skip
            await fields_service.create_field(
                s, actor=actor,
                data=CustomFieldCreate(key=f"build_{suffix}", label="Build", type="text"),
            )  # fmt: skip
            crash = await fields_service.create_ticket_form(
                s, actor=actor,
                data=TicketFormCreate(name=f"Crash {suffix}", ticket_type="incident",
                                      field_keys=[f"os_{suffix}"],
                                      required_keys=[f"os_{suffix}"]),
            )  # fmt: skip
            call = await fields_service.create_ticket_form(
                s, actor=actor,
                data=TicketFormCreate(name=f"Call {suffix}", ticket_type="callback",
                                      field_keys=[f"build_{suffix}"]),
            )  # fmt: skip
            return email, suffix, {"crash": crash.id, "call": call.id}
    finally:
        await db.dispose()


async def sign_in(page: Page, email: str) -> None:
    await page.goto("/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button#sign-in")
    await expect(page.locator("#sign-out")).to_be_visible()


class TestNewTicket:
    async def test_an_agent_creates_a_ticket_through_a_form(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, suffix, forms = await agent_and_forms(live_server)
        await sign_in(page, email)
        await expect(page.locator("html[data-shortcuts=ready]")).to_have_count(1)
        await page.keyboard.press("c")
        await expect(page).to_have_url(f"{live_server.url}/tickets/new")
        # htmx (deferred) must have processed the page, or the form's change goes unheard
        await page.wait_for_load_state("load")

        await page.select_option("#new-form_id", str(forms["call"]))
        build = page.locator(f"#cf-build_{suffix}")
        await expect(build).to_be_visible()
        await expect(page.locator("#new-type")).to_have_value("callback")
        await page.select_option("#new-form_id", str(forms["crash"]))
        os_select = page.locator(f"#cf-os_{suffix}")
        await expect(os_select).to_be_visible()
        await expect(build).to_have_count(0)
        await expect(page.locator("#new-type")).to_have_value("incident")

        customer = f"walk-in-{suffix}@example.org"
        await page.fill("#new-requester_email", customer)
        await page.fill("#new-requester_name", "Walk In")
        await page.fill("#new-subject", "Crashes when printing")
        await page.fill("#new-body", "The app closes when I print a report.")
        await page.click("#create-ticket")
        await expect(page.locator(f"#new-cf-os_{suffix}-error")).to_be_visible()
        await expect(os_select).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#new-subject")).to_have_value("Crashes when printing")
        await expect(page.locator("#new-requester_email")).to_have_value(customer)
        await screenshot(page, "required-missing")

        await page.select_option(f"#cf-os_{suffix}", "macOS")
        await page.click("#create-ticket")
        await expect(page).to_have_url(re.compile(rf"{live_server.url}/tickets/\d+$"))
        await expect(page.locator("#ticket-title")).to_contain_text("Crashes when printing")
        await expect(page.locator(".ticket-requester")).to_contain_text(customer)
        await screenshot(page, "created")

    async def test_an_admin_makes_a_form_that_the_new_ticket_page_offers(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        _, suffix, _ = await agent_and_forms(live_server)
        email = f"forms-admin-{suffix}@opora.dev"
        await live_server.create_user(email=email, password=PASSWORD, role=Role.ADMIN)
        await sign_in(page, email)
        await page.goto("/admin/forms")
        await page.fill("#name", f"Printer {suffix}")
        await page.select_option("#ticket_type", "problem")
        await page.check(f"#on-build_{suffix}")
        await page.check(f"#on-os_{suffix}")
        await page.fill(f"#order-os_{suffix}", "1")
        await page.fill(f"#order-build_{suffix}", "2")
        await page.check(f"#required-build_{suffix}")
        await screenshot(page, "filled")
        await page.click("#create-form")
        await expect(page).to_have_url(f"{live_server.url}/admin/forms?saved=created")
        row = page.locator("#forms-table tr", has_text=f"Printer {suffix}")
        await expect(row).to_contain_text("Operating system, Build*")

        await page.goto("/tickets/new")
        await page.select_option("#new-form_id", label=f"Printer {suffix}")
        await expect(page.locator("#new-type")).to_have_value("problem")
        fields = page.locator("#new-ticket-fields [data-custom-field]")
        await expect(fields).to_have_count(2)
        await expect(fields.nth(0)).to_have_attribute("data-custom-field", f"os_{suffix}")
        await expect(fields.nth(1)).to_have_attribute("data-custom-field", f"build_{suffix}")
