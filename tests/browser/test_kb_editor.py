"""The knowledge base in a browser: an agent writes an article in the rich-text editor
(bold text, a bulleted list), publishes it and finds it in the list; on a ticket page the
knowledge-base card suggests articles, "Insert link" puts the public address into the
reply, and an internal article goes into an internal note only."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Page, expect

from opora.auth.actor import system_actor
from opora.db import Database
from opora.kb import service as kb_service
from opora.kb.schemas import ArticleCreate, CategoryCreate, TranslationIn
from tests.browser.conftest import LiveServer, Screenshot, sideways_scroll
from tests.browser.test_ticket_page import agent_and_ticket, sign_in

pytestmark = pytest.mark.browser
ADMIN = system_actor("browser tests")


async def category(live_server: LiveServer, word: str) -> int:
    db = Database(live_server.database_url)
    try:
        async with db.unit_of_work() as s:
            row = await kb_service.create_category(
                s, actor=ADMIN, data=CategoryCreate(names={"en": f"Printers {word}"})
            )
            return row.id
    finally:
        await db.dispose()


async def articles(live_server: LiveServer, word: str) -> tuple[int, int]:
    """A public and an internal published article about a scanner eating paper."""
    category_id = await category(live_server, word)
    db = Database(live_server.database_url)
    ids = []
    try:
        async with db.unit_of_work() as s:
            for title, body, visibility in (
                (f"Scanner eats paper {word}", "<p>Open tray 2 and pull the sheet out.</p>",
                 "public"),
                (f"Scanner paper jam firmware {word}", "<p>L2: flash firmware 1.4.2.</p>",
                 "internal"),
            ):  # fmt: skip
                article = await kb_service.create_article(
                    s, actor=ADMIN,
                    data=ArticleCreate(
                        category_id=category_id, visibility=visibility,
                        translations={"en": TranslationIn(title=title, body_html=body,
                                                          status="published")},
                    ),
                )  # fmt: skip
                ids.append(article.row.id)
    finally:
        await db.dispose()
    return ids[0], ids[1]


async def stored_html(live_server: LiveServer, article_id: int) -> str:
    db = Database(live_server.database_url)
    try:
        async with db.unit_of_work(write=False) as s:
            article = await kb_service.get_article(s, actor=ADMIN, article_id=article_id)
            return article.translations["en"].body_html
    finally:
        await db.dispose()


class TestKnowledgeBaseEditor:
    async def test_an_agent_writes_and_publishes_an_article_with_bold_text_and_a_list(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, _ = await agent_and_ticket(live_server)
        word = f"k{uuid.uuid4().hex[:8]}"
        category_id = await category(live_server, word)
        await sign_in(page, email)
        await page.click("#nav-kb")
        await expect(page).to_have_url(re.compile(r"/kb$"))
        await page.click("#kb-new-article")
        await page.select_option("#category_id", str(category_id))
        await page.fill("#title_en", f"Clearing a paper jam {word}")
        editor = page.locator("#body_en-rich")
        await expect(editor).to_be_visible()
        await expect(page.locator("#body_en")).to_be_hidden()  # the textarea is the fallback
        await editor.click()
        await page.keyboard.type("Before anything else: ")
        await page.click('#kb-locale-en [data-cmd="bold"]')
        await page.keyboard.type("switch the scanner off")
        await page.click('#kb-locale-en [data-cmd="bold"]')
        await page.keyboard.press("Enter")
        await page.click('#kb-locale-en [data-cmd="ul"]')
        await page.keyboard.type("Open tray 2")
        await page.keyboard.press("Enter")
        await page.keyboard.type("Pull the sheet out gently")
        await expect(editor.locator("b, strong")).to_have_text("switch the scanner off")
        await expect(editor.locator("ul li")).to_have_count(2)
        await page.check("#status_en_published")
        await screenshot(page, "editor")
        await page.click("#kb-save")

        await expect(page.locator("#kb-saved")).to_have_text("The article is created.")
        article_id = int(re.findall(r"/kb/articles/(\d+)", page.url)[0])
        html = await stored_html(live_server, article_id)
        assert re.search(r"<(b|strong)>switch the scanner off</(b|strong)>", html), html
        assert re.search(r"<ul><li>Open tray 2</li><li>Pull the sheet out gently</li></ul>",
                         html), html  # fmt: skip
        # the editor shows it again as it was written, with its first revision
        await expect(editor.locator("ul li")).to_have_count(2)
        await expect(page.locator("#kb-revisions tbody tr")).to_have_count(1)
        await expect(page.locator("#public-url-en")).to_be_visible()

        await page.goto(f"/kb?category_id={category_id}")
        row = page.locator(f'tr[data-article-id="{article_id}"]')
        await expect(row).to_contain_text(f"Clearing a paper jam {word}")
        await expect(row.locator('td[data-locale="en"]')).to_have_text("Published")
        await screenshot(page, "list")

        await page.fill("#kb-q", f"paper jam {word}")
        await page.press("#kb-q", "Enter")
        await expect(page.locator(f'.kb-hit[data-article-id="{article_id}"]')).to_be_visible()

    async def test_insert_an_article_link_into_a_reply_and_an_internal_one_into_a_note(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, ticket_id = await agent_and_ticket(live_server)
        word = f"k{uuid.uuid4().hex[:8]}"
        public_id, internal_id = await articles(live_server, word)
        await sign_in(page, email)
        await page.goto(f"/tickets/{ticket_id}")
        card = page.locator("#kb-card")
        await card.locator("#kb-card-q").fill(f"scanner paper {word}")
        await card.locator("#kb-card-find").click()
        public = card.locator(f'li.kb-suggestion[data-article-id="{public_id}"]')
        internal = card.locator(f'li.kb-suggestion[data-article-id="{internal_id}"]')
        await expect(public).to_be_visible()
        await expect(internal).to_contain_text("Internal")
        await expect(internal.locator('[data-kb-into="reply"]')).to_have_count(0)
        await screenshot(page, "card")

        await page.check("#visibility-public")
        await page.fill("#composer-body", "Hello Carol, this should help:")
        await public.get_by_role("button", name="Insert link").click()
        link = re.compile(
            rf"^Hello Carol, this should help: {re.escape(live_server.url)}"
            rf"/help/articles/{public_id}-scanner-eats-paper-{word}$"
        )
        await expect(page.locator("#composer-body")).to_have_value(link)
        await expect(page.locator("#visibility-public")).to_be_checked()
        # the form posts and the page comes back (the old page may show the reply first,
        # by its live updates: wait for the new page, whose composer is empty)
        async with page.expect_navigation():
            await page.click("#send-message")
        await expect(page.locator("#composer-body")).to_have_value("")
        reply = page.locator('#timeline li[data-visibility="public"]', has_text="should help")
        await expect(reply).to_contain_text(f"/help/articles/{public_id}-")

        # an internal article's text goes into an internal note, never a public reply
        await page.fill("#kb-card-q", f"firmware {word}")
        await page.click("#kb-card-find")
        internal = page.locator(f'li.kb-suggestion[data-article-id="{internal_id}"]')
        await internal.get_by_role("button", name="Insert text into a note").click()
        await expect(page.locator("#visibility-internal")).to_be_checked()
        await expect(page.locator("#composer-body")).to_have_value("L2: flash firmware 1.4.2.")
        # switched back to public, the reply is stopped in the browser
        await page.check("#visibility-public")
        await page.click("#send-message")
        await expect(page.locator("#kb-internal-warning")).to_be_visible()
        await expect(page.locator("#timeline")).not_to_contain_text("flash firmware")
        await page.check("#visibility-internal")
        await page.click("#send-message")
        note = page.locator('#timeline li[data-visibility="internal"]', has_text="flash firmware")
        await expect(note).to_be_visible()

    async def test_the_pages_fit_a_phone(
        self, phone_page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, ticket_id = await agent_and_ticket(live_server)
        word = f"k{uuid.uuid4().hex[:8]}"
        public_id, _ = await articles(live_server, word)
        await sign_in(phone_page, email)
        for path in ("/kb", f"/kb/articles/{public_id}", "/kb/articles/new"):
            await phone_page.goto(path)
            assert await sideways_scroll(phone_page) is None, path
        await screenshot(phone_page, "editor")
        await phone_page.goto(f"/tickets/{ticket_id}")
        await expect(phone_page.locator("#kb-suggestion-list")).to_be_visible()
        assert await sideways_scroll(phone_page) is None
