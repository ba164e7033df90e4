"""Search relevance in Russian and English: morphology, synonyms, common words, typos,
one language's words finding the other's article, and what customers may not see."""

from __future__ import annotations

import httpx

from tests.conftest import Company
from tests.kb.conftest import Kb


async def search(client: httpx.AsyncClient, q: str, locale: str = "ru",
                 headers: dict[str, str] | None = None) -> dict:  # fmt: skip
    r = await client.get("/api/v1/kb/search", params={"q": q, "locale": locale},
                         headers=headers or {})  # fmt: skip
    assert r.status_code == 200, r.text
    return r.json()


def ids(found: dict) -> list[int]:
    return [h["article_id"] for h in found["hits"]]


class TestRelevance:
    async def test_a_customers_own_words_find_the_login_article(
        self, client: httpx.AsyncClient, kb: Kb
    ) -> None:
        # «войти» ≈ «вход», «аккаунт» ≈ «профиль»; «не», «могу», «в» are left out
        found = await search(client, "не могу войти в аккаунт")
        assert ids(found)[0] == kb.login
        assert "<mark>войти</mark>" in found["hits"][0]["snippet_html"]

    async def test_morphology(self, client: httpx.AsyncClient, kb: Kb) -> None:
        assert ids(await search(client, "сбросить пароли"))[0] == kb.reset
        assert ids(await search(client, "возвраты платежей"))[0] == kb.refund

    async def test_english_words_find_the_russian_article_by_its_translation(
        self, client: httpx.AsyncClient, kb: Kb
    ) -> None:
        found = await search(client, "reset password", locale="ru")
        assert ids(found)[0] == kb.reset
        hit = found["hits"][0]
        assert (hit["locale"], hit["title"]) == ("ru", "Сброс пароля")  # shown in Russian
        assert hit["url"] == f"/help/articles/{kb.reset}-sbros-parolya"

    async def test_a_typo_is_forgiven(self, client: httpx.AsyncClient, kb: Kb) -> None:
        found = await search(client, "сброс пороля")
        assert ids(found)[0] == kb.reset
        assert found["corrected"] == ["пороля"]

    async def test_an_article_only_in_russian_is_shown_in_russian_to_an_english_reader(
        self, client: httpx.AsyncClient, kb: Kb
    ) -> None:
        found = await search(client, "refund", locale="en")
        assert ids(found) == [kb.refund]
        assert found["hits"][0]["locale"] == "ru"

    async def test_nothing_found(self, client: httpx.AsyncClient, kb: Kb) -> None:
        assert (await search(client, "квантовая телепортация"))["hits"] == []
        assert (await search(client, "   "))["hits"] == []


class TestWhoSeesWhat:
    async def test_customers_and_anonymous_never_see_internal_draft_or_hidden(
        self, client: httpx.AsyncClient, company: Company, kb: Kb
    ) -> None:
        hidden = {kb.internal, kb.draft, kb.hidden_by_category}
        for headers in ({}, company.customer.headers):
            found = ids(await search(client, "вход", headers=headers))
            assert kb.login in found
            assert hidden.isdisjoint(found)
            for article_id in hidden:
                r = await client.get(f"/api/v1/kb/articles/{article_id}", headers=headers)
                assert r.status_code == 404, r.text
            listed = await client.get("/api/v1/kb/articles", headers=headers)
            assert hidden.isdisjoint(a["id"] for a in listed.json())
            cats = await client.get("/api/v1/kb/categories", headers=headers)
            assert kb.internal_category not in [c["id"] for c in cats.json()]

    async def test_agents_find_internal_articles_but_not_drafts(
        self, client: httpx.AsyncClient, company: Company, kb: Kb
    ) -> None:
        found = ids(await search(client, "вход", headers=company.l1_agent.headers))
        assert {kb.login, kb.internal, kb.hidden_by_category} <= set(found)
        assert kb.draft not in found
        r = await client.get(f"/api/v1/kb/articles/{kb.draft}", headers=company.l1_agent.headers)
        assert r.status_code == 200
        assert r.json()["translations"]["ru"]["status"] == "draft"
