"""The help center's pages: what a visitor sees (never an internal article, a draft or an
internal category), search with marked snippets, and what is recorded for the
analytics (searches, clicks, views, feedback, deflections)."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from opora.db import Database
from opora.kb.models import KbClick, KbFeedback, KbOutcome, KbSearch, KbTranslation, KbView
from tests.kb.conftest import Kb
from tests.web.helpers import csrf_of


async def count(db: Database, model: type, **where: object) -> int:
    async with db.unit_of_work(write=False) as s:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return int((await s.execute(stmt)).scalar_one())


class TestPages:
    async def test_home_shows_getting_started_first_and_nothing_internal(
        self, client: httpx.AsyncClient, kb: Kb
    ) -> None:
        r = await client.get("/help", headers={"Accept-Language": "ru"})
        assert r.status_code == 200, r.text
        html = r.text
        assert html.index('id="getting-started"') < html.index('id="categories"')
        assert "Проблемы со входом" in html and "Возврат платежа" in html
        for hidden in ("для второй линии", "Вход через СМС", "инструкция дежурному", "Runbooks"):
            assert hidden not in html
        assert r.headers["x-frame-options"] == "DENY"

    async def test_an_article_by_its_url_and_a_stale_slug_redirects(
        self, client: httpx.AsyncClient, kb: Kb
    ) -> None:
        r = await client.get(f"/help/articles/{kb.reset}-sbros-parolya",
                             headers={"Accept-Language": "ru"})  # fmt: skip
        assert r.status_code == 200, r.text
        assert "Забыли пароль?" in r.text
        r = await client.get(f"/help/articles/{kb.reset}-old-name",
                             headers={"Accept-Language": "ru"})  # fmt: skip
        assert r.status_code == 301
        assert r.headers["location"] == f"/help/articles/{kb.reset}-sbros-parolya"

    async def test_english_readers_get_the_english_translation(
        self, client: httpx.AsyncClient, kb: Kb
    ) -> None:
        r = await client.get(f"/help/articles/{kb.reset}-reset-your-password",
                             headers={"Accept-Language": "en"})  # fmt: skip
        assert r.status_code == 200
        assert "Forgot password?" in r.text and "Забыли" not in r.text
        r = await client.get(f"/help/articles/{kb.refund}", headers={"Accept-Language": "en"})
        assert r.status_code == 301  # to its slug
        r = await client.get(r.headers["location"], headers={"Accept-Language": "en"})
        assert 'id="other-language"' in r.text  # only in Russian, and it says so

    async def test_internal_draft_and_hidden_articles_are_not_found(
        self, client: httpx.AsyncClient, kb: Kb
    ) -> None:
        for article_id in (kb.internal, kb.draft, kb.hidden_by_category):
            r = await client.get(f"/help/articles/{article_id}")
            assert r.status_code == 404, article_id
        r = await client.get(f"/help/categories/{kb.internal_category}")
        assert r.status_code == 404
        r = await client.get(f"/help/categories/{kb.login_section}",
                             headers={"Accept-Language": "ru"})  # fmt: skip
        assert r.status_code == 200 and "Сброс пароля" in r.text


class TestSearchAndWhatIsRecorded:
    async def test_a_search_is_logged_and_a_click_and_view_counted(
        self, client: httpx.AsyncClient, db: Database, kb: Kb
    ) -> None:
        r = await client.get("/help/search", params={"q": "не могу войти"},
                             headers={"Accept-Language": "ru"})  # fmt: skip
        assert r.status_code == 200, r.text
        assert "<mark>" in r.text
        async with db.unit_of_work(write=False) as s:
            logged = (await s.execute(select(KbSearch))).scalars().one()
        # the login article, and the password one (its text says «на странице входа»)
        assert (logged.normalized, logged.results, logged.source) == ("не могу войти", 2, "portal")
        assert f"/help/articles/{kb.login}-problemy-so-vhodom?s={logged.id}&amp;p=1" in r.text
        visitor = client.cookies.get("opora_visitor")
        assert visitor and logged.visitor == visitor
        r = await client.get(f"/help/articles/{kb.login}-problemy-so-vhodom",
                             params={"s": logged.id, "p": 1},
                             headers={"Accept-Language": "ru"})  # fmt: skip
        assert r.status_code == 200
        assert await count(db, KbClick, search_id=logged.id, article_id=kb.login) == 1
        assert await count(db, KbView, article_id=kb.login) == 1
        async with db.unit_of_work(write=False) as s:
            views = await s.scalar(select(KbTranslation.view_count).where(
                KbTranslation.article_id == kb.login, KbTranslation.locale == "ru"))  # fmt: skip
        assert views == 1

    async def test_nothing_found_is_logged_with_no_results(
        self, client: httpx.AsyncClient, db: Database, kb: Kb
    ) -> None:
        r = await client.get("/help/search", params={"q": "телепортация"})
        assert 'id="search-nothing"' in r.text
        assert await count(db, KbSearch, results=0) == 1

    async def test_feedback_needs_the_form_token_and_counts(
        self, client: httpx.AsyncClient, db: Database, kb: Kb
    ) -> None:
        page = await client.get(f"/help/articles/{kb.login}-problemy-so-vhodom",
                                headers={"Accept-Language": "ru"})  # fmt: skip
        url = f"/help/articles/{kb.login}/feedback"
        r = await client.post(url, data={"helpful": "0", "comment": "Не помогло"})
        assert r.status_code == 403  # no CSRF token: nothing recorded
        assert await count(db, KbFeedback) == 0
        r = await client.post(url, data={"csrf_token": csrf_of(page.text), "helpful": "0",
                                         "comment": "Не помогло"})  # fmt: skip
        assert r.status_code == 303
        assert r.headers["location"].endswith("?feedback=thanks")
        assert await count(db, KbFeedback, helpful=False, comment="Не помогло") == 1
        r = await client.post(f"/help/articles/{kb.internal}/feedback",
                              data={"csrf_token": csrf_of(page.text), "helpful": "1"})  # fmt: skip
        assert r.status_code == 404
        assert await count(db, KbFeedback) == 1


class TestSuggestions:
    async def test_suggestions_while_typing_and_a_deflection(
        self, client: httpx.AsyncClient, db: Database, kb: Kb
    ) -> None:
        r = await client.get("/help/suggest", params={"subject": "сброс паро", "locale": "ru"})
        assert r.status_code == 200
        assert f'data-article="{kb.reset}"' in r.text  # "паро" is being typed: a prefix
        assert f'data-article="{kb.internal}"' not in r.text
        r = await client.post("/help/deflect", data={"csrf_token": csrf_of(r.text),
                                                     "article_id": str(kb.reset)},
                              headers={"HX-Request": "true"})  # fmt: skip
        assert r.status_code == 200 and 'id="deflected"' in r.text
        assert await count(db, KbOutcome, kind="deflected", article_id=kb.reset) == 1

    async def test_a_short_subject_suggests_nothing(
        self, client: httpx.AsyncClient, kb: Kb
    ) -> None:
        r = await client.get("/help/suggest", params={"subject": "вх"})
        assert "help-suggestion" not in r.text


class TestSuggestionsInTheEmbed:
    async def test_it_helped_inside_another_sites_frame_without_our_cookies(
        self, client: httpx.AsyncClient, db: Database, kb: Kb
    ) -> None:
        page = await client.get("/embed/request-form")
        assert page.status_code == 200
        token = re.search(r'name="form_token" value="([^"]+)"', page.text)
        assert token, "the embed has no form token"
        client.cookies.clear()  # a frame on another site sends none of ours
        r = await client.get("/help/suggest", params={
            "subject": "сброс паро", "locale": "ru", "form_token": token[1]})  # fmt: skip
        assert 'action="/embed/deflect"' in r.text and 'name="csrf_token"' not in r.text
        r = await client.post("/embed/deflect", data={"article_id": str(kb.reset),
                                                      "form_token": "forged"})  # fmt: skip
        assert r.status_code == 403
        assert await count(db, KbOutcome) == 0
        r = await client.post("/embed/deflect", data={"article_id": str(kb.reset),
                                                      "form_token": token[1]})  # fmt: skip
        assert r.status_code == 200 and 'id="deflected"' in r.text
        assert await count(db, KbOutcome, kind="deflected", article_id=kb.reset) == 1
        r = await client.post("/embed/deflect", data={"article_id": str(kb.internal),
                                                      "form_token": token[1]})  # fmt: skip
        assert r.status_code == 404  # an internal article helps no visitor
