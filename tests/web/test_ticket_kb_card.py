"""The knowledge-base card on the agent's ticket page (tickets/_kb_card.html,
``GET /tickets/{id}/kb``), on both backends: articles suggested from the subject and the
customer's latest message in the customer's language, a search for another; public ones
with "Insert link" (an absolute public URL) and "Insert text"; internal ones marked and
offered for an internal note only — and a public reply carrying one is refused."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import func, select

from opora.auth.actor import system_actor
from opora.db import Database
from opora.kb import service as kb_service
from opora.tickets import service as tickets_service
from opora.tickets.models import Message
from opora.tickets.schemas import RequesterIn, TicketCreate
from tests.conftest import Company
from tests.kb.conftest import Kb, kb  # noqa: F401 (the fixture: a small knowledge base)
from tests.web.helpers import csrf_of, set_password, sign_in

ADMIN = system_actor("tests")
LENA = ("lena@opora.dev", "lena-secret")
HTMX = {"HX-Request": "true"}


@pytest.fixture
async def lena(client: httpx.AsyncClient, db: Database, company: Company) -> httpx.AsyncClient:
    await set_password(db, company.l1_agent.id, LENA[1])
    assert (await sign_in(client, *LENA)).status_code == 303
    return client


@pytest.fixture
def knowledge(kb: Kb) -> Kb:  # noqa: F811
    """The small knowledge base of tests/kb/conftest.py (made through the API)."""
    return kb


async def ticket_of(
    db: Database, *, language: str = "ru", subject: str = "Не могу войти", body: str = ""
) -> int:
    """A ticket of a customer writing in ``language`` about signing in."""
    async with db.unit_of_work() as s:
        ticket = await tickets_service.create_ticket(
            s, actor=ADMIN,
            data=TicketCreate(
                subject=subject, body=body or "Который день не получается войти",
                requester=RequesterIn(email=f"kb-{language}@example.ru", name="Пётр",
                                      language=language),
            ),
        )  # fmt: skip
        return ticket.id


def items(html: str) -> dict[int, str]:
    """The card's suggestions: article id -> its <li>."""
    found = re.findall(r'(<li class="kb-suggestion[^"]*" data-article-id="(\d+)".*?</li>)', html,
                       re.S)  # fmt: skip
    return {int(i): li for li, i in found}


def reply(csrf: str, body: str, visibility: str) -> dict[str, str]:
    return {"csrf_token": csrf, "body": body, "visibility": visibility}


async def message_count(db: Database, ticket_id: int) -> int:
    async with db.unit_of_work(write=False) as s:
        return int(
            await s.scalar(
                select(func.count()).select_from(Message).where(Message.ticket_id == ticket_id)
            )
            or 0
        )


async def public_url(db: Database, article_id: int, locale: str) -> str:
    async with db.unit_of_work(write=False) as s:
        article = await kb_service.get_article(s, actor=ADMIN, article_id=article_id)
    return kb_service.article_url(article_id, article.translations[locale].slug)


class TestKnowledgeBaseCard:
    async def test_the_page_loads_the_card_after_itself(
        self, lena: httpx.AsyncClient, db: Database, knowledge: Kb
    ) -> None:
        ticket_id = await ticket_of(db)
        r = await lena.get(f"/tickets/{ticket_id}")
        assert r.status_code == 200
        card = r.text[r.text.index('id="kb-card"') :]
        assert f'hx-get="/tickets/{ticket_id}/kb" hx-trigger="load"' in card
        assert not items(r.text)  # no search on the page's own path

    async def test_suggestions_from_the_ticket_in_the_customers_language(
        self, lena: httpx.AsyncClient, db: Database, knowledge: Kb
    ) -> None:
        ticket_id = await ticket_of(db)
        r = await lena.get(f"/tickets/{ticket_id}/kb", headers=HTMX)
        assert r.status_code == 200
        found = items(r.text)
        assert knowledge.login in found and knowledge.internal in found
        assert knowledge.draft not in found and knowledge.refund not in found
        login = found[knowledge.login]
        assert "Проблемы со <mark>входом</mark>" in login  # Russian, as the customer writes
        link = "http://opora.test" + await public_url(db, knowledge.login, "ru")
        assert f'data-kb-insert="link" data-kb-into="reply" data-kb-value="{link}"' in login
        assert 'data-kb-insert="text" data-kb-into="reply"' in login
        assert "раскладку клавиатуры" in login  # the plain text "Insert text" puts in
        assert 'data-visibility="public"' in login and "badge-internal" not in login

    async def test_internal_articles_are_marked_and_only_go_into_a_note(
        self, lena: httpx.AsyncClient, db: Database, knowledge: Kb
    ) -> None:
        ticket_id = await ticket_of(db)
        found = items((await lena.get(f"/tickets/{ticket_id}/kb", headers=HTMX)).text)
        internal = found[knowledge.internal]
        assert 'class="kb-suggestion kb-internal"' in internal
        assert 'data-visibility="internal"' in internal
        assert '<span class="badge badge-internal">Internal</span>' in internal
        assert 'data-kb-into="reply"' not in internal
        assert 'data-kb-into="note"' in internal
        # a public article in an internal category is agents' only too
        r = await lena.get(f"/tickets/{ticket_id}/kb", params={"q": "инструкция дежурному"},
                           headers=HTMX)  # fmt: skip
        hidden = items(r.text)[knowledge.hidden_by_category]
        assert "kb-internal" in hidden and 'data-kb-into="reply"' not in hidden

    async def test_an_english_customer_gets_english_articles(
        self, lena: httpx.AsyncClient, db: Database, knowledge: Kb
    ) -> None:
        ticket_id = await ticket_of(db, language="en", subject="Cannot sign in to my profile")
        found = items((await lena.get(f"/tickets/{ticket_id}/kb", headers=HTMX)).text)
        assert "If you cannot sign in to your profile" in found[knowledge.login]  # the English text
        link = "http://opora.test" + await public_url(db, knowledge.login, "en")
        assert f'data-kb-value="{link}"' in found[knowledge.login]

    async def test_a_search_in_the_card(
        self, lena: httpx.AsyncClient, db: Database, knowledge: Kb
    ) -> None:
        ticket_id = await ticket_of(db)
        r = await lena.get(f"/tickets/{ticket_id}/kb", params={"q": "возврат денег"},
                           headers=HTMX)  # fmt: skip
        found = items(r.text)
        assert list(found) == [knowledge.refund]
        assert "Articles for “возврат денег”" in r.text
        r = await lena.get(f"/tickets/{ticket_id}/kb", params={"q": "qqqzzz"}, headers=HTMX)
        assert 'id="kb-no-suggestions"' in r.text
        # without JavaScript: the whole page, with the list in place
        r = await lena.get(f"/tickets/{ticket_id}/kb", params={"q": "возврат денег"})
        assert r.status_code == 200 and 'id="composer"' in r.text
        assert list(items(r.text)) == [knowledge.refund]
        assert 'value="возврат денег"' in r.text

    async def test_a_ticket_the_agent_may_not_read(
        self, lena: httpx.AsyncClient, db: Database, knowledge: Kb
    ) -> None:
        r = await lena.get("/tickets/99999/kb", headers=HTMX)
        assert r.status_code == 404 and not items(r.text)


class TestInternalArticleInAPublicReply:
    async def test_a_public_reply_with_an_internal_articles_text_or_link_is_refused(
        self, lena: httpx.AsyncClient, db: Database, knowledge: Kb
    ) -> None:
        ticket_id = await ticket_of(db)
        csrf = csrf_of((await lena.get(f"/tickets/{ticket_id}")).text)
        before = await message_count(db, ticket_id)
        async with db.unit_of_work(write=False) as s:
            internal = await kb_service.get_article(s, actor=ADMIN, article_id=knowledge.internal)
        text = "Здравствуйте!\n" + internal.translations["ru"].body_text
        link = "See http://opora.test" + kb_service.article_url(knowledge.internal, "x")
        for body in (text, link):
            r = await lena.post(f"/tickets/{ticket_id}/messages", data=reply(csrf, body, "public"))
            assert r.status_code == 400
            assert "holds an internal knowledge-base article" in r.text
            assert 'aria-invalid="true"' in r.text[r.text.index('id="composer-body"') - 200 :][:600]
        assert await message_count(db, ticket_id) == before
        # as an internal note it goes
        r = await lena.post(f"/tickets/{ticket_id}/messages", data=reply(csrf, text, "internal"))
        assert r.status_code == 303
        # and a public article's link in a public reply too
        public = "See http://opora.test" + await public_url(db, knowledge.login, "ru")
        r = await lena.post(f"/tickets/{ticket_id}/messages", data=reply(csrf, public, "public"))
        assert r.status_code == 303
        assert await message_count(db, ticket_id) == before + 2
