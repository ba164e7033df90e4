"""The help center in Chromium: a visitor searches in their own words, reads the article
found, says whether it helped; the pages fit a phone. The live server is shared by the
package: this test's articles carry a fresh word."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import func, select

from opora.auth.actor import system_actor
from opora.db import Database
from opora.kb import service as kb
from opora.kb.models import KbOutcome
from opora.kb.schemas import ArticleCreate, CategoryCreate, TranslationIn
from tests.browser.conftest import LiveServer, Screenshot, sideways_scroll

pytestmark = pytest.mark.browser


async def knowledge(live_server: LiveServer) -> tuple[str, int]:
    """A getting-started category with a sign-in article (en, ru) and an internal one."""
    word = uuid.uuid4().hex[:6]
    db = Database(live_server.database_url)
    actor = system_actor("browser tests")
    try:
        async with db.unit_of_work() as s:
            cat = await kb.create_category(s, actor=actor, data=CategoryCreate(
                names={"en": f"Account {word}", "ru": f"Аккаунт {word}"},
                getting_started=True))  # fmt: skip
            login = await kb.create_article(s, actor=actor, data=ArticleCreate(
                category_id=cat.id, translations={
                    "en": TranslationIn(title=f"Trouble signing in {word}", status="published",
                                        body_html=f"<p>If you cannot sign in to your profile "
                                                  f"({word}), check Caps Lock.</p>"),
                    "ru": TranslationIn(title=f"Проблемы со входом {word}", status="published",
                                        body_html=f"<p>Если не получается войти ({word}), "
                                                  "проверьте Caps Lock.</p>"),
                }))  # fmt: skip
            await kb.create_article(s, actor=actor, data=ArticleCreate(
                category_id=cat.id, visibility="internal", translations={
                    "en": TranslationIn(title=f"Sign-in runbook {word}", status="published",
                                        body_html=f"<p>Reset the sessions ({word}).</p>"),
                }))  # fmt: skip
            return word, login.row.id
    finally:
        await db.dispose()


class TestHelpCenter:
    async def test_search_read_and_say_it_helped(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        word, login_id = await knowledge(live_server)
        await page.goto("/help")
        await expect(page.get_by_role("heading", name=f"Account {word}")).to_be_visible()
        await expect(page.get_by_text(f"Sign-in runbook {word}")).to_have_count(0)
        await screenshot(page, "home")
        await page.fill("#help-q", f"cannot log in {word}")
        await page.click("#help-search-go")
        results = page.locator("#search-results li")
        await expect(results).to_have_count(1)  # the internal runbook is not found
        await expect(results.first.locator("mark").first).to_be_visible()
        await screenshot(page, "results")
        await results.first.get_by_role("link").click()
        await expect(page).to_have_url(re.compile(rf"/help/articles/{login_id}-trouble-signing"))
        await expect(page.locator("h1")).to_have_text(f"Trouble signing in {word}")
        await page.wait_for_load_state("load")  # htmx listens
        await page.fill("#feedback-comment", "Caps Lock it was")
        await page.click("#feedback-yes")
        await expect(page.locator("#feedback-thanks")).to_be_visible()
        await screenshot(page, "article")

    async def test_the_help_center_fits_a_phone(
        self, phone_page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        word, login_id = await knowledge(live_server)
        for path in ("/help", f"/help/search?q=sign+in+{word}", f"/help/articles/{login_id}"):
            await phone_page.goto(path)
            sideways = await sideways_scroll(phone_page)
            assert sideways is None, f"{path}: {sideways}"
        await screenshot(phone_page, "article")


class TestSuggestionsOnTheRequestForm:
    async def test_typing_a_subject_suggests_an_article_and_it_helped(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        word, login_id = await knowledge(live_server)
        await page.goto("/help/requests/new")
        await page.wait_for_load_state("load")  # htmx listens
        await page.locator("#subject").press_sequentially(f"cannot sign in {word}", delay=20)
        suggestion = page.locator(f'#kb-suggestions [data-article="{login_id}"]')
        await expect(suggestion).to_be_visible()
        await expect(page.get_by_text(f"Sign-in runbook {word}")).to_have_count(0)
        await screenshot(page, "suggested")
        await suggestion.get_by_role("button").click()
        await expect(page.locator("#deflected")).to_be_visible()
        db = Database(live_server.database_url)
        try:
            async with db.unit_of_work(write=False) as s:
                deflected = await s.scalar(
                    select(func.count())
                    .select_from(KbOutcome)
                    .where(KbOutcome.kind == "deflected", KbOutcome.article_id == login_id)
                )
        finally:
            await db.dispose()
        assert deflected == 1
