"""Macros on the ticket page in a browser: `m` and the filter pick a macro, its preview comes
in with htmx, the agent edits the text and applies it, and the reply and the changed status
are on the page; an internal macro looks like an internal note; the edited text survives a
CSRF failure (a draft, as the composer keeps one) and Cancel forgets it."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Page, expect

from opora.auth.actor import system_actor
from opora.automation import service as automation
from opora.automation.schemas import MacroCreate, MacroUpdate
from opora.db import Database
from tests.browser.conftest import LiveServer, Screenshot
from tests.browser.test_ticket_page import BACKGROUND, agent_and_ticket, sign_in

pytestmark = pytest.mark.browser


async def shared_macros(live_server: LiveServer) -> str:
    """A public and an internal shared macro, named with a fresh word (the server is shared
    by the package's tests): that word."""
    word = f"m{uuid.uuid4().hex[:8]}"
    db = Database(live_server.database_url)
    try:
        async with db.unit_of_work() as s:
            for data in (
                MacroCreate(
                    name=f"Paper jam {word}", shared=True,
                    body="Hello {{contact.first_name}}, about #{{ticket.number}}: open tray 2.",
                    actions=[{"action": "set_status", "status": "pending"},
                             {"action": "add_tags", "tags": ["scanner"]}],
                ),
                MacroCreate(
                    name=f"Ask L2 {word}", shared=True, visibility="internal",
                    body="L2: check the firmware of {{contact.name}}'s scanner.",
                ),
            ):  # fmt: skip
                await automation.create_macro(s, actor=system_actor("browser tests"), data=data)
    finally:
        await db.dispose()
    return word


class TestTicketMacros:
    async def test_pick_preview_edit_and_apply_a_macro(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, ticket_id = await agent_and_ticket(live_server)
        word = await shared_macros(live_server)
        await sign_in(page, email)
        await page.goto(f"/tickets/{ticket_id}")
        await expect(page.locator("html")).to_have_attribute("data-shortcuts", "ready")

        await page.keyboard.press("m")
        finder = page.locator("#macro-filter")
        await expect(finder).to_be_focused()
        await finder.type(f"jam {word}")
        await finder.press("Enter")
        form = page.locator("#macro-form")
        await expect(form).to_be_visible()
        await expect(page.locator("#macro-picker option:checked")).to_have_text(f"Paper jam {word}")
        await expect(page.locator("#macro-visibility")).to_have_text("Public reply")
        text = page.locator("#macro-text")
        await expect(text).to_have_value(re.compile(r"^Hello Carol, about #\d+: open tray 2\.$"))
        await expect(page.locator("#macro-actions li")).to_have_text(
            ["Set status to Pending", "Add tags: scanner"]
        )
        await screenshot(page, "preview")

        await text.fill("Hello Carol, please open tray 2 and pull the sheet out gently.")
        await page.click("#macro-apply")
        await expect(page.locator("#macro-applied-notice")).to_be_visible()
        await expect(page).to_have_url(
            re.compile(rf"/tickets/{ticket_id}#message-\d+$")  # macro_applied is taken away
        )
        reply = page.locator("#timeline li.message-public").last
        await expect(reply).to_contain_text("please open tray 2 and pull the sheet out gently")
        await expect(page.locator("#timeline")).to_contain_text(f"applied Macro: Paper jam {word}")
        await expect(page.locator("#edit-status")).to_have_value("pending")
        await expect(page.locator("#edit-tags")).to_have_value(re.compile(r"\bscanner\b"))
        await expect(page.locator("#macro-form")).to_have_count(0)
        await screenshot(page)

    async def test_an_internal_macro_and_a_draft_kept_through_a_csrf_failure(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, ticket_id = await agent_and_ticket(live_server)
        word = await shared_macros(live_server)
        await sign_in(page, email)
        await page.goto(f"/tickets/{ticket_id}")
        picker = page.locator("#macro-picker")
        internal = picker.locator("option", has_text=f"Ask L2 {word}")
        await picker.select_option(await internal.get_attribute("value"))
        form = page.locator("#macro-form.macro-form-internal")
        await expect(form).to_be_visible()
        await expect(page.locator("#macro-visibility")).to_have_text("Internal note")
        # the same warm background as an internal note in the timeline and the composer
        assert await form.evaluate(BACKGROUND) == "rgb(255, 246, 214)"
        await expect(page.locator("#macro-text")).to_have_value(
            "L2: check the firmware of Carol Customer's scanner."
        )
        await screenshot(page, "internal")

        # the page's token goes stale: nothing is saved, and the text is given back
        note = "L2: firmware 1.4.2 on her scanner, please check the paper sensor."
        await page.fill("#macro-text", note)
        await page.locator('#macro-form input[name="csrf_token"]').evaluate(
            "(el) => { el.value = 'stale'; }"
        )
        await page.click("#macro-apply")
        await expect(page.locator("#expired-title")).to_be_visible()
        await expect(page.locator("textarea.kept-text")).to_have_value(note)

        # back on the ticket, the same macro's preview comes with the edited text
        await page.goto(f"/tickets/{ticket_id}")
        await expect(page.locator("#timeline")).not_to_contain_text("paper sensor")
        await picker.select_option(await internal.get_attribute("value"))
        await expect(page.locator("#macro-text")).to_have_value(note)

        # Cancel closes the preview and forgets the draft
        await page.click("#macro-cancel")
        await expect(page.locator("#macro-form")).to_have_count(0)
        await expect(picker).to_have_value("")
        await expect(picker).to_be_focused()
        await picker.select_option(await internal.get_attribute("value"))
        await expect(page.locator("#macro-text")).to_have_value(
            "L2: check the firmware of Carol Customer's scanner."
        )

    async def test_a_macro_changed_since_the_page_loaded_says_so_in_the_preview(
        self, page: Page, live_server: LiveServer
    ) -> None:
        """Turned off or deleted by an admin while the agent had the page open."""
        email, ticket_id = await agent_and_ticket(live_server)
        word = await shared_macros(live_server)
        await sign_in(page, email)
        await page.goto(f"/tickets/{ticket_id}")
        picker = page.locator("#macro-picker")
        jam = await picker.locator("option", has_text=f"Paper jam {word}").get_attribute("value")
        ask = await picker.locator("option", has_text=f"Ask L2 {word}").get_attribute("value")
        assert jam and ask
        db = Database(live_server.database_url)
        admin = system_actor("browser tests")
        try:
            async with db.unit_of_work() as s:
                await automation.update_macro(
                    s, actor=admin, macro_id=int(jam), data=MacroUpdate(is_active=False)
                )
                await automation.delete_macro(s, actor=admin, macro_id=int(ask))
        finally:
            await db.dispose()

        await picker.select_option(jam)
        await expect(page.locator("#macro-error")).to_contain_text("turned off")
        await expect(page.locator("#macro-form")).to_be_visible()
        await expect(page.locator("#macro-apply")).to_have_count(0)

        await picker.select_option(ask)  # a 404, shown in the preview area
        await expect(page.locator("#macro-error")).to_contain_text("does not exist")
        await expect(page.locator("#macro-form")).to_have_count(0)
        await expect(page.locator("#composer")).to_be_visible()  # the page itself stays
