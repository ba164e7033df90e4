"""Keyboard shortcuts in a browser: j/k/o in the inbox, r/n/e on a ticket, ? for the help."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Page, expect

from opora.auth.actor import system_actor
from opora.auth.schemas import Language
from opora.db import Database
from opora.tickets import service as tickets_service
from opora.tickets.schemas import RequesterIn, TicketCreate
from tests.browser.conftest import LiveServer, Screenshot

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
SUBJECTS = ("Keyboard is sticky", "Mouse wheel squeaks", "Monitor flickers at noon")
ROWS = "#ticket-list tbody tr[data-ticket]"
SELECTED = f"{ROWS}.is-selected"


async def agent_with_tickets(
    live_server: LiveServer, language: Language = "en"
) -> tuple[str, list[int]]:
    """A new agent with three open tickets assigned to them (their "My open tickets")."""
    email = f"keys-{uuid.uuid4().hex[:8]}@opora.dev"
    user_id = await live_server.create_user(
        email=email, password=PASSWORD, name="Keys Agent", language=language
    )
    db = Database(live_server.database_url)
    made: list[int] = []
    try:
        async with db.unit_of_work() as s:
            for subject in SUBJECTS:
                ticket = await tickets_service.create_ticket(
                    s,
                    actor=system_actor("browser tests"),
                    data=TicketCreate(
                        subject=subject,
                        body="It started on Monday.",
                        requester=RequesterIn(email="dave@acme.ru", name="Dave Customer"),
                        assignee_id=user_id,
                    ),
                )
                made.append(ticket.id)
    finally:
        await db.dispose()
    return email, made


async def sign_in(page: Page, email: str) -> None:
    await page.goto("/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button#sign-in")
    await expect(page).to_have_url(re.compile(r"/inbox$"))
    await shortcuts_ready(page)


async def shortcuts_ready(page: Page) -> None:
    """Keys pressed before shortcuts.js has run (a deferred script) would be lost."""
    await expect(page.locator("html")).to_have_attribute("data-shortcuts", "ready")


async def row_ids(page: Page) -> list[int]:
    await expect(page.locator(ROWS)).to_have_count(len(SUBJECTS))
    ids = await page.locator(ROWS).evaluate_all("(rows) => rows.map((r) => r.dataset.ticket)")
    return [int(i) for i in ids]


async def expect_selected(page: Page, ticket_id: int) -> None:
    selected = page.locator(SELECTED)
    await expect(selected).to_have_count(1)
    await expect(selected).to_have_attribute("data-ticket", str(ticket_id))
    await expect(selected).to_have_attribute("aria-current", "true")
    await expect(page.locator(f'{ROWS}[aria-current="true"]')).to_have_count(1)


class TestInboxShortcuts:
    async def test_j_k_move_the_selection_and_o_opens_the_ticket(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, _made = await agent_with_tickets(live_server)
        await sign_in(page, email)
        ids = await row_ids(page)

        await expect_selected(page, ids[0])  # the first row to start with
        await page.keyboard.press("j")
        await expect_selected(page, ids[1])
        await page.keyboard.press("j")
        await expect_selected(page, ids[2])
        await page.keyboard.press("j")  # the last row stays selected
        await expect_selected(page, ids[2])
        await page.keyboard.press("k")
        await expect_selected(page, ids[1])
        await expect(page.locator(SELECTED).locator("a")).to_be_focused()
        await screenshot(page, "selected")

        await page.keyboard.press("o")
        await expect(page).to_have_url(re.compile(rf"/tickets/{ids[1]}$"))
        await expect(page.locator("#ticket-title")).to_be_visible()

    async def test_enter_opens_and_an_htmx_swap_resets_the_selection(
        self, page: Page, live_server: LiveServer
    ) -> None:
        email, _made = await agent_with_tickets(live_server)
        await sign_in(page, email)
        ids = await row_ids(page)
        await page.keyboard.press("j")
        await page.keyboard.press("j")
        await expect_selected(page, ids[2])

        # the list swapped by htmx (another sort): the selection is on its first row again
        await page.click("#ticket-list a.sort-link >> nth=0")  # by number, descending
        await expect(page.locator("#ticket-list thead th[data-column]").first).to_have_attribute(
            "aria-sort", "descending"
        )
        swapped = await row_ids(page)
        assert swapped == sorted(ids, reverse=True)
        await expect_selected(page, swapped[0])

        await page.keyboard.press("j")
        await expect_selected(page, swapped[1])
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(re.compile(rf"/tickets/{swapped[1]}$"))


class TestTicketShortcuts:
    async def test_r_n_e_focus_the_composer_and_the_reason(
        self, page: Page, live_server: LiveServer
    ) -> None:
        email, made = await agent_with_tickets(live_server)
        await sign_in(page, email)
        await page.goto(f"/tickets/{made[0]}")
        await shortcuts_ready(page)
        body = page.locator("#composer-body")
        await expect(page.locator("#visibility-public")).to_be_checked()

        await page.keyboard.press("n")
        await expect(page.locator("#visibility-internal")).to_be_checked()
        await expect(body).to_be_focused()
        await expect(body).to_have_value("")  # the key is not typed into the field

        # typing in the field types; no shortcut fires
        await page.keyboard.type("jkrne/")
        await expect(body).to_have_value("jkrne/")
        await expect(body).to_be_focused()
        await expect(page.locator("#visibility-internal")).to_be_checked()
        await expect(page.locator("#shortcuts-help")).to_be_hidden()

        await body.evaluate("(el) => el.blur()")
        await page.keyboard.press("r")
        await expect(page.locator("#visibility-public")).to_be_checked()
        await expect(body).to_be_focused()
        await expect(body).to_have_value("jkrne/")
        await page.keyboard.type(" more")  # the draft is continued at its end
        await expect(body).to_have_value("jkrne/ more")

        await body.evaluate("(el) => el.blur()")
        await page.keyboard.press("e")
        reason = page.locator("#escalate-reason")
        await expect(reason).to_be_focused()
        await expect(reason).to_have_value("")

        # modifiers held: no shortcut
        await reason.evaluate("(el) => el.blur()")
        await page.keyboard.press("Alt+n")
        await expect(page.locator("#visibility-public")).to_be_checked()
        await expect(body).not_to_be_focused()

    async def test_slash_without_a_search_box_does_nothing(
        self, page: Page, live_server: LiveServer
    ) -> None:
        email, _made = await agent_with_tickets(live_server)
        await sign_in(page, email)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.keyboard.press("/")
        await page.keyboard.press("j")  # the shortcuts still work afterwards
        await expect(page.locator(SELECTED)).to_have_count(1)
        assert errors == []

        # with a search box (the inbox has none yet) `/` puts the cursor in it
        await page.evaluate(
            """() => {
                const box = document.createElement("input");
                box.type = "search";
                box.id = "test-search";
                box.dataset.shortcut = "search";
                document.querySelector("main").prepend(box);
            }"""
        )
        await page.locator("#main").focus()
        await page.keyboard.press("/")
        await expect(page.locator("#test-search")).to_be_focused()
        await expect(page.locator("#test-search")).to_have_value("")


class TestHelpDialog:
    async def test_question_mark_opens_the_help_and_escape_closes_it(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, _made = await agent_with_tickets(live_server)
        await sign_in(page, email)
        dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
        await expect(page.locator("#shortcuts-help")).to_be_hidden()

        await page.keyboard.press("?")
        await expect(dialog).to_be_visible()
        await expect(dialog.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
        await expect(dialog).to_contain_text("Write an internal note")
        await expect(dialog.locator("kbd", has_text=re.compile(r"^j$"))).to_be_visible()
        await page.keyboard.press("j")  # nothing moves behind the dialog
        ids = await row_ids(page)
        await expect_selected(page, ids[0])
        await screenshot(page, "help")

        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()
        await page.keyboard.press("j")
        await expect_selected(page, ids[1])

        # the Close button closes it too
        await page.keyboard.press("?")
        await expect(dialog).to_be_visible()
        await page.click("#shortcuts-help-close")
        await expect(dialog).to_be_hidden()

    async def test_the_help_in_russian(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, _made = await agent_with_tickets(live_server, language="ru")
        await sign_in(page, email)
        await page.keyboard.press("?")
        dialog = page.get_by_role("dialog", name="Сочетания клавиш")
        await expect(dialog).to_be_visible()
        await expect(dialog).to_contain_text("Написать внутреннюю заметку")
        await screenshot(page, "help-ru")
        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()

        # a Russian keyboard layout: the key under "j" types "о", and it still moves
        ids = await row_ids(page)
        await expect_selected(page, ids[0])
        await page.evaluate(
            """() => document.body.dispatchEvent(
                new KeyboardEvent("keydown", {key: "о", code: "KeyJ", bubbles: true})
            )"""
        )
        await expect_selected(page, ids[1])

    async def test_the_help_fits_a_phone(
        self, phone_page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, _made = await agent_with_tickets(live_server)
        await sign_in(phone_page, email)
        await phone_page.keyboard.press("?")
        dialog = phone_page.get_by_role("dialog", name="Keyboard shortcuts")
        await expect(dialog).to_be_visible()
        box = await dialog.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        await screenshot(phone_page, "help-phone")
