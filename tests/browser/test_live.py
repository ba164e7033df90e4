"""Live updates over /live against the real server: the inbox counts follow changes made
in another browser, a ticket page says who changed the ticket, and the socket refuses
strangers (no session, a foreign Origin, a ticket the user may not read)."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest
import websockets
import websockets.exceptions
from playwright.async_api import Browser, Page, expect

from opora.auth.models import Role
from opora.web.sessions import COOKIE_NAME
from tests.browser.conftest import LiveServer, Screenshot
from tests.browser.test_inbox import PASSWORD, agent_with_tickets, sign_in

pytestmark = pytest.mark.browser


async def second_agent(browser: Browser, live_server: LiveServer) -> Page:
    email = f"live-{uuid.uuid4().hex[:8]}@opora.dev"
    await live_server.create_user(email=email, password=PASSWORD, name="Second Agent")
    context = await browser.new_context(base_url=live_server.url, locale="en-US")
    page = await context.new_page()
    await sign_in(page, email)
    return page


async def test_ticket_page_says_who_changed_the_ticket(
    page: Page, browser: Browser, live_server: LiveServer, screenshot: Screenshot
) -> None:
    email, tickets = await agent_with_tickets(live_server)
    ticket_id = tickets["Printer is on fire"]
    await sign_in(page, email)
    await page.goto(f"/tickets/{ticket_id}")
    await expect(page.locator("html")).to_have_attribute("data-live", "open")
    notice = page.locator("#live-notice")
    await expect(notice).to_be_hidden()

    # the reader's own change does not raise the notice
    await page.fill("#composer-body", "Looking into it now.")
    await page.click("#send-message")
    await expect(page.locator("#timeline")).to_contain_text("Looking into it now.")
    await page.wait_for_timeout(500)
    await expect(notice).to_be_hidden()

    other = await second_agent(browser, live_server)
    try:
        await other.goto(f"/tickets/{ticket_id}")
        await other.fill("#composer-body", "I have a spare roller, sending it.")
        await other.click("#send-message")
        await expect(other.locator("#timeline")).to_contain_text("sending it")
    finally:
        await other.context.close()

    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("Second Agent changed this ticket.")
    await screenshot(page, "notice")
    await page.click("#live-reload")
    await expect(page.locator("#timeline")).to_contain_text("I have a spare roller")


async def test_inbox_counts_follow_changes_from_another_browser(
    page: Page, browser: Browser, live_server: LiveServer
) -> None:
    email, tickets = await agent_with_tickets(live_server)
    await sign_in(page, email)
    await page.goto("/inbox/my-open")
    await expect(page.locator("html")).to_have_attribute("data-live", "open")
    pending = page.locator('#view-nav a[data-view="pending"] .view-count')
    before = int(await pending.inner_text()) if await pending.count() else 0

    other = await second_agent(browser, live_server)
    try:
        await other.goto(f"/tickets/{tickets['The VPN drops every hour']}")
        await other.select_option("#edit-status", "pending")
        await other.click("#save-ticket")
        await expect(other.locator("#edit-status")).to_have_value("pending")
    finally:
        await other.context.close()

    # no reload: the sidebar alone was fetched again
    await expect(pending).to_have_text(str(before + 1))
    await expect(page.locator('#view-nav a[aria-current="page"]')).to_have_attribute(
        "data-view", "my-open"
    )


async def _session_cookie(live_server: LiveServer, email: str) -> str:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        r = await client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
        assert token
        r = await client.post(
            "/login", data={"csrf_token": token.group(1), "email": email, "password": PASSWORD}
        )
        assert r.status_code == 303, r.text
        return client.cookies[COOKIE_NAME]


def _ws_url(live_server: LiveServer, query: str = "") -> str:
    return live_server.url.replace("http://", "ws://") + "/live" + query


async def test_socket_refuses_strangers_and_foreign_pages(live_server: LiveServer) -> None:
    email, tickets = await agent_with_tickets(live_server)
    cookie = await _session_cookie(live_server, email)
    origin = live_server.url
    headers = {"Cookie": f"{COOKIE_NAME}={cookie}"}

    # no session
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(_ws_url(live_server), origin=origin):  # type: ignore[arg-type]
            pass
    # a foreign page holding the user's cookie
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(
            _ws_url(live_server),
            origin="http://evil.example",  # type: ignore[arg-type]
            additional_headers=headers,
        ):
            pass
    # a ticket that does not exist (or may not be read) is refused like one without session
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(
            _ws_url(live_server, "?ticket=999999999"),
            origin=origin,  # type: ignore[arg-type]
            additional_headers=headers,
        ):
            pass

    # the real thing: a change made through the API arrives as a bare "tickets" notice
    async with websockets.connect(
        _ws_url(live_server),
        origin=origin,  # type: ignore[arg-type]
        additional_headers=headers,
    ) as socket:
        async with httpx.AsyncClient(base_url=live_server.url) as client:
            r = await client.get("/login")
            admin_email = f"live-admin-{uuid.uuid4().hex[:8]}@opora.dev"
            await live_server.create_user(
                email=admin_email, password=PASSWORD, name="Live Admin", role=Role.ADMIN
            )
            cookie2 = await _session_cookie(live_server, admin_email)
            client.cookies.set(COOKIE_NAME, cookie2)
            ticket_page = await client.get(f"/tickets/{tickets['Printer is on fire']}")
            token = re.search(r'name="csrf_token" value="([^"]+)"', ticket_page.text)
            assert token
            r = await client.post(
                f"/tickets/{tickets['Printer is on fire']}/messages",
                data={
                    "csrf_token": token.group(1),
                    "body": "secret-note-word",
                    "visibility": "internal",
                },
            )
            assert r.status_code in (200, 303), r.text
        raw = await socket.recv(decode=True)
        while json.loads(raw).get("type") == "ping":
            raw = await socket.recv(decode=True)
        assert json.loads(raw) == {"type": "tickets"}
        assert "secret-note-word" not in raw
