"""Every main page, signed in as an admin, at 1366×768 and at a phone's 390×844: a
full-page screenshot of each (test-artifacts/screenshots/page-<name>-<size>.png, for
people to look at), and two checks that hold on every page — nothing scrolls sideways, and
every visible control has an accessible name.

Pages other work is still building (contacts, search, the view editor, the new-ticket
form) are visited only when the server has them: a 404 skips the page, not the test.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from playwright.async_api import Page, expect

from opora.auth.actor import system_actor
from opora.auth.models import Role
from opora.db import Database
from opora.fields import service as fields_service
from opora.fields.schemas import CustomFieldCreate
from opora.tickets import service as tickets_service
from opora.tickets.schemas import MessageCreate, RequesterIn, TicketCreate
from tests.browser.conftest import SCREENSHOTS, LiveServer, sideways_scroll

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"

# Returns the visible form controls without an accessible name, as short descriptions.
UNNAMED_CONTROLS = """
() => {
  const visible = (el) => {
    if (el.type === "hidden") return false;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") return false;
    return el.getClientRects().length > 0;
  };
  const text = (el) => (el.textContent || "").replace(/\\s+/g, " ").trim();
  const named = (el) => {
    if ((el.getAttribute("aria-label") || "").trim()) return true;
    const ids = (el.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
    if (ids.some((id) => { const t = document.getElementById(id); return t && text(t); }))
      return true;
    if ((el.getAttribute("title") || "").trim()) return true;
    if (el.id) {
      for (const label of document.querySelectorAll("label[for]")) {
        if (label.htmlFor === el.id && text(label)) return true;
      }
    }
    const wrapping = el.closest("label");
    if (wrapping && text(wrapping)) return true;
    if (el.tagName === "BUTTON" && text(el)) return true;
    if (el.tagName === "INPUT" && ["submit", "button", "reset"].includes(el.type) && el.value)
      return true;
    if (el.tagName === "INPUT" && el.type === "image" && el.alt) return true;
    return false;
  };
  return [...document.querySelectorAll("input, select, textarea, button")]
    .filter((el) => visible(el) && !named(el))
    .map((el) => el.outerHTML.slice(0, 160));
}
"""


@dataclass
class World:
    email: str
    ticket_id: int


async def admin_and_ticket(live_server: LiveServer, language: str = "en") -> World:
    """An admin, a ticket with a customer message, a public reply and a note, and
    a ticket field, so the ticket page and the customer view show all their parts."""
    suffix = uuid.uuid4().hex[:8]
    email = f"shots-{suffix}@opora.dev"
    user_id = await live_server.create_user(
        email=email, password=PASSWORD, name="Alice Screens", role=Role.ADMIN,
        language=language,  # type: ignore[arg-type]
    )  # fmt: skip
    db = Database(live_server.database_url)
    actor = system_actor("browser tests")
    try:
        async with db.unit_of_work() as s:
            await fields_service.create_field(
                s,
                actor=actor,
                data=CustomFieldCreate(
                    key=f"contract_{suffix}", label="Contract", label_ru="Договор", type="text"
                ),
            )
            ticket = await tickets_service.create_ticket(
                s,
                actor=actor,
                data=TicketCreate(
                    subject="The invoice for March shows the wrong VAT rate",
                    body="Our March invoice uses 18% instead of 20%. Please reissue it.",
                    requester=RequesterIn(email="carol@acme.ru", name="Carol Customer"),
                    assignee_id=user_id,  # no group: any agent may take it
                ),
            )
            await tickets_service.add_message(
                s,
                actor=actor,
                ticket_id=ticket.id,
                data=MessageCreate(body="Thank you, we are reissuing the invoice today."),
            )
            await tickets_service.add_message(
                s,
                actor=actor,
                ticket_id=ticket.id,
                data=MessageCreate(body="Billing confirmed the rate.", visibility="internal"),
            )
            return World(email=email, ticket_id=ticket.id)
    finally:
        await db.dispose()


async def sign_in(page: Page, email: str) -> None:
    await page.goto("/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button#sign-in")
    await expect(page.locator("#sign-out")).to_be_visible()


async def check_page(page: Page, name: str, size: str) -> list[str]:
    """Saves the screenshot and returns what is wrong with the page."""
    await page.wait_for_load_state("load")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / f"page-{name}-{size}.png", full_page=True)
    problems = []
    sideways = await sideways_scroll(page)
    if sideways:
        problems.append(f"{name} @ {size}: {sideways}")
    for control in await page.evaluate(UNNAMED_CONTROLS):
        problems.append(f"{name} @ {size}: no accessible name: {control}")
    return problems


class TestScreenshots:
    async def test_main_pages_at_desktop_and_phone_size(
        self, page: Page, phone_page: Page, live_server: LiveServer
    ) -> None:
        world = await admin_and_ticket(live_server)
        tid = world.ticket_id
        pages = [
            ("inbox", "/inbox"),
            ("ticket", f"/tickets/{tid}"),
            ("customer-view", f"/tickets/{tid}/customer-view"),
            ("account", "/account"),
            ("admin-users", "/admin/users"),
            ("admin-mailboxes", "/admin/mailboxes"),
            ("admin-mail-log", "/admin/mail-log"),
            ("admin-notifications", "/admin/notifications"),
        ]
        maybe = [  # built elsewhere; visited when the server has them
            ("contacts", "/contacts"),
            ("search", "/search?q=invoice"),
            ("view-new", "/views/new"),
            ("ticket-new", "/tickets/new"),
        ]
        problems: list[str] = []
        visited: list[str] = []
        for browser_page, size in ((page, "desktop"), (phone_page, "phone")):
            await browser_page.goto("/login")
            problems += await check_page(browser_page, "login", size)
            await sign_in(browser_page, world.email)
            for name, path in pages + maybe:
                if (name, path) in maybe:
                    probe = await browser_page.request.get(path, max_redirects=0)
                    if probe.status == 404:
                        continue
                response = await browser_page.goto(path)
                assert response is not None and response.status == 200, (path, response)
                problems += await check_page(browser_page, name, size)
                visited.append(f"{name}-{size}")
        assert {"inbox-desktop", "ticket-phone", "customer-view-phone"} <= set(visited)
        assert (SCREENSHOTS / "page-ticket-phone.png").stat().st_size > 0
        assert not problems, "\n".join(problems)

    async def test_main_pages_in_russian_fit_a_phone(
        self, phone_page: Page, live_server: LiveServer
    ) -> None:
        """Russian words are longer («Администрирование»): the same pages at phone width."""
        world = await admin_and_ticket(live_server, language="ru")
        tid = world.ticket_id
        await sign_in(phone_page, world.email)
        await expect(phone_page.locator("html")).to_have_attribute("lang", "ru")
        problems: list[str] = []
        for name, path in [
            ("inbox", "/inbox"),
            ("ticket", f"/tickets/{tid}"),
            ("account", "/account"),
            ("admin-users", "/admin/users"),
            ("admin-mailboxes", "/admin/mailboxes"),
            ("admin-notifications", "/admin/notifications"),
        ]:
            response = await phone_page.goto(path)
            assert response is not None and response.status == 200, (path, response)
            problems += await check_page(phone_page, name, "phone-ru")
        assert not problems, "\n".join(problems)
