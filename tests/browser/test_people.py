"""The people pages in a browser: the header's search, a contact's card, its organization."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Page, expect

from opora.auth.actor import system_actor
from opora.contacts import service as contacts_service
from opora.contacts.schemas import ContactCreate, OrganizationCreate
from opora.db import Database
from opora.tickets import service as tickets_service
from opora.tickets.schemas import TicketCreate
from tests.browser.conftest import LiveServer, Screenshot

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


async def sign_in(page: Page, email: str) -> None:
    await page.goto("/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button#sign-in")
    await expect(page).to_have_url(re.compile(r"/inbox$"))


async def people(live_server: LiveServer) -> tuple[str, str, str, str]:
    """A new agent, an organization, its contact and a ticket of theirs; unique names,
    since the live server's database is shared by the package's tests."""
    tag = uuid.uuid4().hex[:8]
    agent = f"people-{tag}@opora.dev"
    await live_server.create_user(email=agent, password=PASSWORD, name="People Agent")
    org_name, contact_email = f"Umbrella {tag}", f"alice.{tag}@umbrella-{tag}.ru"
    db = Database(live_server.database_url)
    try:
        async with db.unit_of_work() as s:
            actor = system_actor("browser tests")
            org = await contacts_service.create_organization(
                s, actor=actor, data=OrganizationCreate(name=org_name, vip=True)
            )
            contact = await contacts_service.create_contact(
                s, actor=actor,
                data=ContactCreate(name=f"Alice Wong {tag}", email=contact_email,
                                   organization_id=org.id, technical_level="confident"),
            )  # fmt: skip
            await tickets_service.create_ticket(
                s, actor=actor,
                data=TicketCreate(subject=f"Badge reader {tag} is dead",
                                  body="It beeps twice.", requester_id=contact.id),
            )  # fmt: skip
    finally:
        await db.dispose()
    return agent, org_name, contact_email, tag


class TestPeople:
    async def test_search_from_the_header_then_the_contact_then_the_organization(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        agent, org_name, contact_email, tag = await people(live_server)
        await sign_in(page, agent)
        await page.goto("/account")  # a page without a search box of its own
        await expect(page.locator("html")).to_have_attribute("data-shortcuts", "ready")
        await page.keyboard.press("/")
        box = page.get_by_role("searchbox", name="Search tickets, contacts and organizations")
        await expect(box.first).to_be_focused()
        await page.keyboard.type(contact_email)
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(re.compile(r"/search\?q="))
        contacts = page.locator("#search-contact-results")
        await expect(contacts).to_contain_text(f"Alice Wong {tag}")
        await screenshot(page, "search")

        await contacts.get_by_role("link", name=f"Alice Wong {tag}").click()
        await expect(page.locator("#contact-title")).to_have_text(f"Alice Wong {tag}")
        await expect(page.locator("#contact-technical-level")).to_have_text("Confident")
        await expect(page.locator("#contact-tickets")).to_contain_text(f"Badge reader {tag}")
        await expect(page.locator("#new-ticket-for-contact")).to_be_visible()
        await screenshot(page, "contact")

        await page.locator("#contact-organization").get_by_role("link", name=org_name).click()
        await expect(page.locator("#org-title")).to_contain_text(org_name)
        await expect(page.locator("#org-vip")).to_be_visible()
        await expect(page.locator("#org-contacts")).to_contain_text(f"Alice Wong {tag}")
        await expect(page.locator("#org-tickets")).to_contain_text(f"Badge reader {tag}")
        await screenshot(page, "organization")

    async def test_a_ticket_number_in_the_header_opens_the_ticket(
        self, page: Page, live_server: LiveServer
    ) -> None:
        agent, _org, _email, tag = await people(live_server)
        await sign_in(page, agent)
        await page.goto(f"/search?q={tag}")
        row = page.locator("#search-ticket-results tbody tr").first
        await expect(row).to_contain_text(f"Badge reader {tag}")
        number = (await row.locator("td.num").inner_text()).strip()
        await page.fill("#global-search", number)
        await page.press("#global-search", "Enter")
        await expect(page).to_have_url(re.compile(r"/tickets/\d+$"))
        await expect(page.locator("h1")).to_contain_text(f"Badge reader {tag}")
