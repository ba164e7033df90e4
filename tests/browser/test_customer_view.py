"""The customer preview in a browser: what an agent writes on the ticket page (and the
files sent with it) shows up there only when it is a public reply."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import LiveServer, Screenshot
from tests.browser.test_ticket_page import agent_and_ticket, sign_in

pytestmark = pytest.mark.browser

NOTE = "Check the vendor contract before promising anything (pelican-umbrella)"
REPLY = "We have ordered a new feed roller for your scanner."


class TestCustomerView:
    async def test_shows_the_reply_and_never_the_note(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, ticket_id = await agent_and_ticket(live_server)
        await sign_in(page, email)
        await page.goto(f"/tickets/{ticket_id}")

        await page.check("#visibility-internal")
        await page.fill("#composer-body", NOTE)
        await page.set_input_files(
            "#composer-files",
            {"name": "internal-costs.txt", "mimeType": "text/plain", "buffer": b"cost 120"},
        )
        await page.click("#send-message")
        await expect(
            page.locator('#timeline li[data-visibility="internal"]', has_text="pelican-umbrella")
        ).to_be_visible()
        await expect(page.locator("#composer-body")).to_have_value("")  # the page after the send
        await page.check("#visibility-public")
        await page.fill("#composer-body", REPLY)
        await page.set_input_files(
            "#composer-files",
            {"name": "roller-order.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"},
        )
        await page.click("#send-message")
        await expect(
            page.locator('#timeline li[data-visibility="public"]', has_text="feed roller")
        ).to_be_visible()
        await expect(page.locator("#timeline a", has_text="roller-order.pdf")).to_be_visible()
        await expect(page.locator("#timeline a", has_text="internal-costs.txt")).to_be_visible()

        link = page.locator("#customer-view-link")
        await expect(link).to_have_attribute("target", "_blank")
        async with page.context.expect_page() as opened:
            await link.click()
        view = await opened.value
        await view.wait_for_load_state()
        assert view.url.endswith(f"/tickets/{ticket_id}/customer-view")
        await expect(view.locator("#portal-messages")).to_contain_text(REPLY)
        await expect(view.locator("#portal-ticket-title")).to_have_text("The scanner eats paper")
        text = await view.locator("html").inner_text()
        html = await view.content()
        assert "pelican-umbrella" not in text and "pelican-umbrella" not in html
        assert "internal-costs.txt" not in html
        public_file = view.locator("#portal-messages a", has_text="roller-order.pdf")
        await expect(public_file).to_be_visible()
        # the customer's first message and the reply: nothing else
        await expect(view.locator(".portal-message")).to_have_count(2)
        await screenshot(view, "customer-view")
