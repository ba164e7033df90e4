"""The agents' knowledge-base pages (src/opora/kb/pages.py) on both backends: the list by
category and section with each translation's status, its filters and search; writing and
editing an article through the editor's form (what is stored is read back through the
service, each change a revision); a form with mistakes shown again with the field marked
and the text kept, storing nothing; only staff reach the pages, only admins and
supervisors arrange categories; an article drafted from a solved ticket's resolution,
never from its internal notes; images in articles."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.schemas import UserCreate
from opora.db import Database
from opora.kb import service
from opora.kb.models import KbArticle, KbCategory
from opora.tickets import service as tickets_service
from opora.tickets.schemas import MessageCreate, RequesterIn, TicketCreate, TicketUpdate
from tests.conftest import Company
from tests.kb.conftest import Kb
from tests.web.helpers import csrf_of, set_password, sign_in

ADMIN = system_actor("tests")
ALICE = ("alice@opora.dev", "alice-secret")
LENA = ("lena@opora.dev", "lena-secret")
SAM = ("sam@opora.dev", "sam-secret-123")
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
async def lena(client: httpx.AsyncClient, db: Database, company: Company) -> httpx.AsyncClient:
    """Lena, an L1 agent, signed in on the pages."""
    await set_password(db, company.l1_agent.id, LENA[1])
    assert (await sign_in(client, *LENA)).status_code == 303
    return client


@pytest.fixture
async def other_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser, signed in nowhere."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://opora.test") as c:
        yield c


@pytest.fixture
async def alice(client: httpx.AsyncClient, company: Company) -> httpx.AsyncClient:
    assert (await sign_in(client, *ALICE)).status_code == 303
    return client


@pytest.fixture
async def sam(client: httpx.AsyncClient, db: Database, company: Company) -> httpx.AsyncClient:
    """Sam, a supervisor, signed in on the pages."""
    async with db.unit_of_work() as s:
        await auth_service.create_user(
            s, actor=ADMIN,
            data=UserCreate(email=SAM[0], name="Sam Supervisor", role="supervisor",
                            password=SAM[1]),
        )  # fmt: skip
    assert (await sign_in(client, *SAM)).status_code == 303
    return client


async def form_of(client: httpx.AsyncClient, path: str) -> tuple[str, str]:
    r = await client.get(path)
    assert r.status_code == 200, r.text
    return r.text, csrf_of(r.text)


def article_form(csrf: str, **fields: str) -> dict[str, str]:
    data = {
        "csrf_token": csrf, "category_id": "", "visibility": "public", "tags": "",
        "related_ids": "", "source_ticket_id": "",
        "title_ru": "", "body_ru": "", "status_ru": "draft",
        "title_en": "", "body_en": "", "status_en": "draft",
    }  # fmt: skip
    data.update(fields)
    return data


async def article_count(db: Database) -> int:
    async with db.unit_of_work(write=False) as s:
        return int(await s.scalar(select(func.count()).select_from(KbArticle)) or 0)


async def read_article(db: Database, article_id: int) -> service.Article:
    async with db.unit_of_work(write=False) as s:
        return await service.get_article(s, actor=ADMIN, article_id=article_id)


async def revisions(db: Database, article_id: int) -> list[tuple[str, Any]]:
    async with db.unit_of_work(write=False) as s:
        return await service.list_revisions(s, actor=ADMIN, article_id=article_id)


def marked(html: str, name: str) -> bool:
    """The input (or select, textarea) named ``name`` is marked invalid."""
    tag = re.search(rf'<(?:input|select|textarea)[^>]*\bname="{name}"[^>]*>', html)
    assert tag, f"no input named {name}"
    return 'aria-invalid="true"' in tag.group(0)


def textarea(html: str, name: str) -> str:
    found = re.search(rf'<textarea[^>]*\bname="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    assert found, f"no textarea named {name}"
    return found.group(1)


def row_of(html: str, article_id: int) -> str:
    found = re.search(rf'<tr data-article-id="{article_id}">(.*?)</tr>', html, re.S)
    assert found, f"article {article_id} is not listed"
    return found.group(1)


def listed(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'<tr data-article-id="(\d+)"', html)}


class TestArticleList:
    async def test_articles_by_category_and_section_with_each_translations_status(
        self, lena: httpx.AsyncClient, kb: Kb
    ) -> None:
        r = await lena.get("/kb")
        assert r.status_code == 200
        html = r.text
        # every article, the internal ones and drafts too (an agent sees them all)
        assert listed(html) == {kb.login, kb.reset, kb.refund, kb.internal, kb.draft,
                                kb.hidden_by_category}  # fmt: skip
        # the section "Signing in" sits inside "Account", with its articles
        account = html[html.index(f'data-category-id="{kb.account}"') :]
        section = account[account.index(f'data-category-id="{kb.login_section}"') :]
        assert f'data-article-id="{kb.login}"' in section.split("</section>")[0]
        draft = row_of(html, kb.draft)
        assert re.search(r'data-locale="ru"><span class="badge kb-status kb-status-draft">', draft)
        assert re.search(r'data-locale="en"><span class="muted"', draft)  # no English text
        assert "kb-status-published" in row_of(html, kb.login)
        assert "badge-internal" in row_of(html, kb.internal)
        assert "badge-internal" not in row_of(html, kb.login)

    async def test_filters(self, lena: httpx.AsyncClient, kb: Kb) -> None:
        assert listed((await lena.get("/kb?status=draft")).text) == {kb.draft}
        assert listed((await lena.get("/kb?visibility=internal")).text) == {kb.internal}
        english = listed((await lena.get("/kb?locale=en")).text)
        assert english == {kb.login, kb.reset}  # the others are in Russian only
        assert listed((await lena.get(f"/kb?category_id={kb.payments}")).text) == {kb.refund}
        # a category lists its sections' articles too
        assert kb.login in listed((await lena.get(f"/kb?category_id={kb.account}")).text)
        r = await lena.get("/kb?status=nonsense")  # a bad filter is left out
        assert r.status_code == 200 and kb.draft in listed(r.text) and kb.login in listed(r.text)

    async def test_search_finds_internal_articles_for_agents(
        self, lena: httpx.AsyncClient, kb: Kb
    ) -> None:
        r = await lena.get("/kb", params={"q": "не могу войти", "locale": "ru"})
        assert r.status_code == 200
        found = {int(i) for i in re.findall(r'class="kb-hit[^"]*" data-article-id="(\d+)"', r.text)}
        assert {kb.login, kb.internal} <= found
        assert kb.draft not in found  # search finds published articles
        internal = re.search(rf'<li class="kb-hit kb-internal" data-article-id="{kb.internal}"',
                             r.text)  # fmt: skip
        assert internal, "the internal article is marked"
        assert "<mark>" in r.text
        r = await lena.get("/kb", params={"q": "zzqx nothing"})
        assert 'id="kb-no-hits"' in r.text


class TestWriteArticles:
    async def test_an_agent_writes_an_article_in_two_languages(
        self, lena: httpx.AsyncClient, db: Database, company: Company, kb: Kb
    ) -> None:
        html, csrf = await form_of(lena, "/kb/articles/new")
        assert 'id="body_ru"' in html and 'data-kb-editor="body_en"' in html
        r = await lena.post("/kb/articles", data=article_form(
            csrf, category_id=str(kb.payments), visibility="internal", tags="Billing, Card refunds",
            related_ids=f"{kb.refund}, {kb.reset}",
            title_ru="Двойное списание", body_ru="<p>Проверьте <b>выписку</b>.</p>",
            status_ru="published",
            title_en="Charged twice", body_en="Check the statement.\n\nThen write to us.",
        ))  # fmt: skip
        assert r.status_code == 303, r.text
        match = re.fullmatch(r"/kb/articles/(\d+)\?saved=created", r.headers["location"])
        assert match
        article = await read_article(db, int(match.group(1)))
        assert article.row.category_id == kb.payments
        assert article.row.visibility == "internal"
        assert article.row.tags == ["billing", "card-refunds"]
        assert article.row.related_ids == [kb.refund, kb.reset]
        ru, en = article.translations["ru"], article.translations["en"]
        assert (ru.title, ru.status, ru.author_id) == ("Двойное списание", "published",
                                                       company.l1_agent.id)  # fmt: skip
        assert "<b>выписку</b>" in ru.body_html
        # plain text typed without the editor becomes paragraphs
        assert en.body_html == "<p>Check the statement.</p><p>Then write to us.</p>"
        assert en.status == "draft"
        page = (await lena.get(r.headers["location"])).text
        assert "The article is created." in page
        assert "Lena L1" in page  # the revisions say who

    async def test_editing_one_language_adds_a_revision_for_it_alone(
        self, lena: httpx.AsyncClient, db: Database, kb: Kb
    ) -> None:
        before = await revisions(db, kb.login)
        html, csrf = await form_of(lena, f"/kb/articles/{kb.login}")
        stored = await read_article(db, kb.login)
        assert unescape(textarea(html, "body_en")) == stored.translations["en"].body_html
        form = article_form(
            csrf, category_id=str(kb.login_section), tags="login",
            title_ru=stored.translations["ru"].title,
            body_ru=stored.translations["ru"].body_html, status_ru="published",
            title_en="Cannot sign in", body_en=stored.translations["en"].body_html,
            status_en="published",
        )  # fmt: skip
        r = await lena.post(f"/kb/articles/{kb.login}", data=form)
        assert r.status_code == 303, r.text
        after = await revisions(db, kb.login)
        added = after[: len(after) - len(before)]
        assert [(loc, rev.title) for loc, rev in added] == [("en", "Cannot sign in")]
        article = await read_article(db, kb.login)
        assert article.translations["en"].title == "Cannot sign in"
        assert article.translations["ru"].title == "Проблемы со входом"
        assert article.row.tags == ["login"]
        page = (await lena.get(f"/kb/articles/{kb.login}")).text
        table = page[page.index('id="kb-revisions"') :]
        assert table.index("Cannot sign in") < table.index("Trouble signing in")  # newest first

    async def test_mistakes_are_marked_the_text_kept_and_nothing_stored(
        self, lena: httpx.AsyncClient, db: Database, kb: Kb
    ) -> None:
        count = await article_count(db)
        _, csrf = await form_of(lena, "/kb/articles/new")
        body = "<p>Откройте настройки и нажмите «Выйти везде».</p>"
        r = await lena.post("/kb/articles", data=article_form(
            csrf, body_ru=body, tags="sessions", related_ids="12, abc",
        ))  # fmt: skip
        assert r.status_code == 400
        assert marked(r.text, "category_id")
        assert marked(r.text, "title_ru")
        assert marked(r.text, "related_ids")
        assert not marked(r.text, "title_en")
        assert "Give this language a title" in r.text
        assert unescape(textarea(r.text, "body_ru")) == body
        assert 'value="sessions"' in r.text
        # the service's refusal: a related article that does not exist
        r = await lena.post("/kb/articles", data=article_form(
            csrf, category_id=str(kb.payments), title_ru="Выход", body_ru=body,
            related_ids="99999",
        ))  # fmt: skip
        assert r.status_code == 400
        assert marked(r.text, "related_ids")
        assert "Some of these articles do not exist." in r.text
        assert 'value="Выход"' in r.text
        # nothing at all
        r = await lena.post("/kb/articles", data=article_form(csrf, category_id=str(kb.payments)))
        assert r.status_code == 400 and marked(r.text, "title_en")
        assert await article_count(db) == count

    async def test_an_edit_with_a_mistake_changes_nothing(
        self, lena: httpx.AsyncClient, db: Database, kb: Kb
    ) -> None:
        before = len(await revisions(db, kb.reset))
        _, csrf = await form_of(lena, f"/kb/articles/{kb.reset}")
        r = await lena.post(f"/kb/articles/{kb.reset}", data=article_form(
            csrf, category_id=str(kb.login_section), title_ru="",
            body_ru="<p>Новый текст</p>", title_en="Reset it", body_en="<p>x</p>",
        ))  # fmt: skip
        assert r.status_code == 400
        assert marked(r.text, "title_ru")
        assert "Новый текст" in textarea(r.text, "body_ru")
        assert len(await revisions(db, kb.reset)) == before
        assert (await read_article(db, kb.reset)).translations["en"].title == "Reset your password"

    async def test_an_unknown_article_is_a_404_page(self, lena: httpx.AsyncClient) -> None:
        r = await lena.get("/kb/articles/99999")
        assert r.status_code == 404 and 'id="kb-not-found"' in r.text


class TestWhoMayUseThePages:
    PATHS = ("/kb", "/kb/articles/new", "/kb/categories", "/kb/articles/1")

    async def test_anonymous_visitors_go_to_sign_in(
        self, client: httpx.AsyncClient, db: Database, kb: Kb
    ) -> None:
        for path in self.PATHS:
            r = await client.get(path)
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/login"), path
        count = await article_count(db)
        r = await client.post("/kb/articles", data={"category_id": str(kb.payments),
                                                    "title_en": "Sneaky"})  # fmt: skip
        assert r.status_code in (303, 403)
        assert await article_count(db) == count

    async def test_a_customers_token_opens_no_page(
        self, client: httpx.AsyncClient, company: Company, kb: Kb
    ) -> None:
        for path in self.PATHS:
            r = await client.get(path, headers=company.customer.headers)
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
            assert "Runbooks" not in r.text

    async def test_agents_may_not_arrange_categories(
        self, lena: httpx.AsyncClient, db: Database, kb: Kb
    ) -> None:
        r = await lena.get("/kb/categories")
        assert r.status_code == 403 and 'id="kb-forbidden"' in r.text
        assert 'id="kb-categories-link"' not in (await lena.get("/kb")).text
        csrf = csrf_of((await lena.get("/kb")).text)
        r = await lena.post("/kb/categories", data={"csrf_token": csrf, "name_en": "Mine"})
        assert r.status_code == 403
        r = await lena.post(f"/kb/categories/{kb.payments}/delete", data={"csrf_token": csrf})
        assert r.status_code == 403
        async with db.unit_of_work(write=False) as s:
            names = [c.names for c in await service.list_categories(s, actor=ADMIN)]
        assert {"en": "Mine"} not in names and len(names) == 4


class TestCategories:
    async def test_a_supervisor_makes_a_section_changes_it_and_deletes_it(
        self, sam: httpx.AsyncClient, db: Database, kb: Kb
    ) -> None:
        html, csrf = await form_of(sam, "/kb/categories")
        assert "Runbooks" in html and 'id="kb-categories-link"' in html
        r = await sam.post("/kb/categories", data={
            "csrf_token": csrf, "name_ru": "Карты", "name_en": "Cards",
            "description_en": "Bank cards", "parent_id": str(kb.payments), "position": "5",
            "visibility": "public",
        })  # fmt: skip
        assert r.status_code == 303 and r.headers["location"] == "/kb/categories?saved=created"
        async with db.unit_of_work(write=False) as s:
            row = (
                await s.execute(select(KbCategory).where(KbCategory.parent_id == kb.payments))
            ).scalar_one()
        assert row.names == {"ru": "Карты", "en": "Cards"}
        assert row.descriptions == {"en": "Bank cards"}
        assert (row.position, row.getting_started, row.visibility) == (5, False, "public")

        html, csrf = await form_of(sam, f"/kb/categories/{row.id}")
        assert 'value="Cards"' in html
        r = await sam.post(f"/kb/categories/{row.id}", data={
            "csrf_token": csrf, "name_ru": "Карты", "name_en": "Cards", "parent_id": "",
            "position": "1", "getting_started": "on", "visibility": "internal",
        })  # fmt: skip
        assert r.status_code == 303
        async with db.unit_of_work(write=False) as s:
            changed = await s.get(KbCategory, row.id)
        assert changed is not None
        assert (changed.parent_id, changed.position, changed.getting_started,
                changed.visibility) == (None, 1, True, "internal")  # fmt: skip

        r = await sam.post(f"/kb/categories/{row.id}/delete", data={"csrf_token": csrf})
        assert r.status_code == 303
        async with db.unit_of_work(write=False) as s:
            assert await s.get(KbCategory, row.id) is None

    async def test_mistakes_and_a_category_in_use(
        self, alice: httpx.AsyncClient, db: Database, kb: Kb
    ) -> None:
        _, csrf = await form_of(alice, "/kb/categories")
        r = await alice.post("/kb/categories", data={
            "csrf_token": csrf, "name_ru": " ", "name_en": "", "description_ru": "Описание",
            "position": "first", "visibility": "public",
        })  # fmt: skip
        assert r.status_code == 400
        assert marked(r.text, "name_ru") and marked(r.text, "name_en")
        assert marked(r.text, "position")
        assert textarea(r.text, "description_ru") == "Описание"
        # a section cannot hold sections: the service says so, the field is marked
        r = await alice.post("/kb/categories", data={
            "csrf_token": csrf, "name_en": "Deeper", "parent_id": str(kb.login_section),
            "visibility": "public",
        })  # fmt: skip
        assert r.status_code == 400 and marked(r.text, "parent_id")
        assert 'value="Deeper"' in r.text
        r = await alice.post(f"/kb/categories/{kb.payments}/delete", data={"csrf_token": csrf})
        assert r.status_code == 409 and 'id="kb-category-in-use"' in r.text
        async with db.unit_of_work(write=False) as s:
            assert len(await service.list_categories(s, actor=ADMIN)) == 4


async def solved_ticket(db: Database, company: Company, *, language: str = "ru") -> int:
    """A ticket of a new customer writing in ``language``, with an internal note, solved
    with a resolution summary."""
    async with db.unit_of_work() as s:
        ticket = await tickets_service.create_ticket(
            s, actor=ADMIN,
            data=TicketCreate(
                subject="Не приходит код из СМС",
                body="Код подтверждения не приходит уже час.",
                requester=RequesterIn(email=f"ivan-{language}@example.ru", name="Иван",
                                      language=language),
            ),
        )  # fmt: skip
        await tickets_service.add_message(
            s, actor=ADMIN, ticket_id=ticket.id,
            data=MessageCreate(body="SECRET: SMS gateway account 4471 is over its quota",
                               visibility="internal"),
        )  # fmt: skip
        await tickets_service.update_ticket(
            s, actor=ADMIN, ticket_id=ticket.id,
            data=TicketUpdate(status="solved", resolution={
                "problem": "СМС с кодом не доходят до абонентов МТС",
                "solution": "Перезапросить код через 60 секунд.\n\nИли выбрать звонок.",
            }),
        )  # fmt: skip
        return ticket.id


class TestArticleFromATicket:
    async def test_the_resolution_drafts_the_article_and_no_note_is_copied(
        self, lena: httpx.AsyncClient, db: Database, company: Company, kb: Kb
    ) -> None:
        ticket_id = await solved_ticket(db, company)
        page = (await lena.get(f"/tickets/{ticket_id}")).text
        assert f'href="/kb/articles/new?from_ticket={ticket_id}"' in page
        html, csrf = await form_of(lena, f"/kb/articles/new?from_ticket={ticket_id}")
        assert 'value="СМС с кодом не доходят до абонентов МТС"' in html
        body = unescape(textarea(html, "body_ru"))
        assert "Проблема" in body and "Перезапросить код через 60 секунд." in body
        assert "Или выбрать звонок." in body
        assert textarea(html, "body_en") == ""
        assert "SECRET" not in html and "4471" not in html
        assert "Код подтверждения не приходит" not in body  # messages are never read
        assert re.search(r'id="status_ru_draft"\s+checked', html)
        assert re.search(r'id="visibility-public"\s+checked', html)
        assert f'name="source_ticket_id" value="{ticket_id}"' in html
        assert 'id="kb-from-ticket"' in html

        form = article_form(
            csrf,
            category_id=str(kb.login_section),
            source_ticket_id=str(ticket_id),
            title_ru="СМС с кодом не доходят до абонентов МТС",
            body_ru=body,
        )
        r = await lena.post("/kb/articles", data=form)
        assert r.status_code == 303, r.text
        article_id = int(r.headers["location"].split("/")[-1].split("?")[0])
        article = await read_article(db, article_id)
        assert article.row.source_ticket_id == ticket_id
        assert article.row.visibility == "public"
        assert article.translations["ru"].status == "draft"
        assert "SECRET" not in article.translations["ru"].body_html

    async def test_an_english_customer_gets_an_english_draft(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        ticket_id = await solved_ticket(db, company, language="en")
        html, _ = await form_of(lena, f"/kb/articles/new?from_ticket={ticket_id}")
        assert "<h2>Problem</h2>" in unescape(textarea(html, "body_en"))
        assert textarea(html, "body_ru") == ""

    async def test_an_unsolved_ticket_drafts_nothing(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            ticket = await tickets_service.create_ticket(
                s, actor=ADMIN,
                data=TicketCreate(subject="Open question", body="Hello",
                                  requester=RequesterIn(email="carol@acme.ru")),
            )  # fmt: skip
        page = (await lena.get(f"/tickets/{ticket.id}")).text
        assert "from_ticket=" not in page
        html, _ = await form_of(lena, f"/kb/articles/new?from_ticket={ticket.id}")
        assert "has no resolution summary yet" in html
        assert 'value="Open question"' not in html
        html, _ = await form_of(lena, "/kb/articles/new?from_ticket=99999")
        assert "does not exist or you may not read it" in html


class TestImages:
    async def upload(self, client: httpx.AsyncClient, csrf: str, **file: Any) -> httpx.Response:
        files = {"file": file.get("file", ("shot.png", PNG, "image/png"))}
        return await client.post("/kb/images", files=files, headers={"X-CSRF-Token": csrf})

    async def test_an_image_is_readable_by_whoever_may_read_an_article_showing_it(
        self, lena: httpx.AsyncClient, other_client: httpx.AsyncClient, db: Database, kb: Kb
    ) -> None:
        _, csrf = await form_of(lena, "/kb/articles/new")
        r = await self.upload(lena, csrf)
        assert r.status_code == 201, r.text
        url = r.json()["url"]
        assert re.fullmatch(r"/kb/images/\d+/[0-9a-f]{16}", url)
        r = await lena.get(url)
        assert r.status_code == 200 and r.content == PNG
        assert r.headers["content-type"] == "image/png"
        assert r.headers["x-content-type-options"] == "nosniff"
        # nobody else, while no public article shows it
        assert (await other_client.get(url)).status_code == 404
        img = f'<p>Here:</p><p><img src="{url}" alt="screen"></p>'
        r = await lena.post("/kb/articles", data=article_form(
            csrf, category_id=str(kb.payments), visibility="internal", title_en="Hidden",
            body_en=img, status_en="published",
        ))  # fmt: skip
        assert r.status_code == 303
        assert (await other_client.get(url)).status_code == 404  # an internal article
        r = await lena.post("/kb/articles", data=article_form(
            csrf, category_id=str(kb.payments), title_en="Shown", body_en=img,
            status_en="published",
        ))  # fmt: skip
        assert r.status_code == 303
        article = await read_article(db, int(r.headers["location"].split("/")[-1].split("?")[0]))
        assert f'src="{url}"' in article.translations["en"].body_html
        r = await other_client.get(url)
        assert r.status_code == 200 and r.content == PNG
        # a wrong key is no image
        assert (await other_client.get(url[:-1] + "0" if url[-1] != "0" else url[:-1] + "1")
                ).status_code == 404  # fmt: skip

    async def test_only_images_are_taken(self, lena: httpx.AsyncClient) -> None:
        _, csrf = await form_of(lena, "/kb/articles/new")
        r = await self.upload(lena, csrf, file=("x.svg", b"<svg/>", "image/svg+xml"))
        assert r.status_code == 422 and "PNG" in r.json()["error"]
        r = await self.upload(lena, csrf, file=("x.txt", b"hello", "text/plain"))
        assert r.status_code == 422
