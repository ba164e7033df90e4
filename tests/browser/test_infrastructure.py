"""The browser-test machinery itself: Chromium reaches the live server and screenshots land."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page

from tests.browser.conftest import LiveServer, Screenshot

pytestmark = pytest.mark.browser


async def test_the_browser_is_a_current_chromium(browser: Browser) -> None:
    assert int(browser.version.split(".")[0]) >= 120


async def test_the_api_docs_open_in_the_browser(
    page: Page, live_server: LiveServer, screenshot: Screenshot
) -> None:
    response = await page.goto("/api/docs", wait_until="domcontentloaded")
    assert response is not None and response.ok
    assert "Swagger UI" in await page.title()
    shot = await screenshot(page)
    assert shot.stat().st_size > 0
    schema = await page.request.get(f"{live_server.url}/api/openapi.json")
    assert schema.ok and "/api/v1/tickets" in str((await schema.json())["paths"])


async def test_health_renders_at_phone_width(phone_page: Page, screenshot: Screenshot) -> None:
    response = await phone_page.goto("/healthz")
    assert response is not None and response.status == 200
    assert '"status":"ok"' in (await phone_page.inner_text("body")).replace(" ", "")
    width = await phone_page.evaluate("window.innerWidth")
    assert width == 390
    await screenshot(phone_page)
