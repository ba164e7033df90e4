"""Signing in and out, the account page's language switch, and the login page on a phone."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import LiveServer, Screenshot, sideways_scroll

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"

# Every visible form control must be labelled: a <label for>, a wrapping <label>, or ARIA.
UNLABELLED_CONTROLS = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter((el) => !["hidden", "submit", "button", "reset"].includes(el.type))
  .filter((el) => el.offsetParent !== null)
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                  && !el.getAttribute("aria-labelledby"))
  .map((el) => el.outerHTML)"""


async def new_agent(live_server: LiveServer) -> str:
    """A new agent with a password, so each test signs in as its own user."""
    email = f"agent-{uuid.uuid4().hex[:8]}@opora.dev"
    await live_server.create_user(email=email, password=PASSWORD)
    return email


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.goto("/login")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("button#sign-in")


class TestSignIn:
    async def test_the_login_page_has_the_form_languages_and_reset_link(
        self, page: Page, screenshot: Screenshot
    ) -> None:
        await page.goto("/login")
        await expect(page.locator("#email")).to_be_visible()
        await expect(page.locator("#password")).to_be_visible()
        await expect(page.locator("button#sign-in")).to_be_visible()
        await expect(page.locator('a[data-lang="ru"]')).to_have_count(1)
        await expect(page.locator('a[data-lang="en"]')).to_have_count(1)
        await expect(page.locator('a[href$="/password/forgot"]')).to_have_count(1)
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await screenshot(page, "en")

        await page.click('a[data-lang="ru"]')
        await expect(page.locator("html")).to_have_attribute("lang", "ru")
        await expect(page.locator("button#sign-in")).to_be_visible()
        await screenshot(page, "ru")

    async def test_a_wrong_password_shows_an_alert_and_keeps_the_email(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email = await new_agent(live_server)
        await sign_in(page, email, "not the password")
        await expect(page.locator('[role="alert"]')).to_be_visible()
        await expect(page.locator("#email")).to_have_value(email)
        await expect(page.locator("#sign-out")).to_have_count(0)
        await screenshot(page)

    async def test_signing_in_lands_on_a_page_with_sign_out(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email = await new_agent(live_server)
        await sign_in(page, email)
        await expect(page.locator("#sign-out")).to_be_visible()
        await expect(page.locator("main#main")).to_be_visible()
        assert not page.url.rstrip("/").endswith("/login")
        await screenshot(page)


class TestSignOut:
    async def test_signing_out_returns_to_login(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email = await new_agent(live_server)
        await sign_in(page, email)
        await page.click("#sign-out")
        await expect(page).to_have_url(re.compile(r"/login(\?.*)?$"))
        await expect(page.locator("button#sign-in")).to_be_visible()
        # the session is gone: the account page sends us back to sign in
        await page.goto("/account")
        await expect(page).to_have_url(re.compile(r"/login(\?.*)?$"))
        await screenshot(page)


class TestAccountLanguage:
    async def test_switching_to_russian_renders_the_page_in_russian(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email = await new_agent(live_server)
        await sign_in(page, email)
        await page.goto("/account")
        await expect(page.locator("h1")).to_have_text("Account")
        await screenshot(page, "en")
        await page.select_option("select#language", "ru")
        submit = page.locator("form:has(select#language) [type=submit]")
        if await submit.count():
            await submit.first.click()
        await expect(page.locator("h1")).to_have_text("Профиль")
        await page.reload()  # kept, not only rendered once
        await expect(page.locator("h1")).to_have_text("Профиль")
        await screenshot(page, "ru")


class TestLayoutAndLabels:
    async def test_the_login_page_fits_a_phone_without_horizontal_scroll(
        self, phone_page: Page, screenshot: Screenshot
    ) -> None:
        await phone_page.goto("/login")
        await phone_page.locator("#email").wait_for()
        sideways = await sideways_scroll(phone_page)
        assert sideways is None, sideways
        await screenshot(phone_page)

    async def test_every_input_has_an_accessible_label(
        self, page: Page, live_server: LiveServer
    ) -> None:
        async def labelled(label: str, selector: str) -> None:
            by_label = page.get_by_label(re.compile(label, re.I))
            await expect(by_label.and_(page.locator(selector))).to_have_count(1)

        await page.goto("/login")
        await labelled("e-?mail", "input#email")
        await labelled("password", "input#password")
        assert await page.evaluate(UNLABELLED_CONTROLS) == []

        await sign_in(page, await new_agent(live_server))
        await page.goto("/account")
        await labelled("language", "select#language")
        assert await page.evaluate(UNLABELLED_CONTROLS) == []
