"""The knowledge base's REST API: who may write what, bad input refused with the field
named and nothing stored, sanitized HTML, revisions, feedback."""

from __future__ import annotations

import httpx

from tests.conftest import Company
from tests.kb.conftest import Kb, article

CATS, ARTS = "/api/v1/kb/categories", "/api/v1/kb/articles"


async def article_count(client: httpx.AsyncClient, company: Company) -> int:
    r = await client.get(ARTS, params={"limit": 200}, headers=company.admin.headers)
    return len(r.json())


class TestWriting:
    async def test_agents_write_articles_admins_arrange_customers_do_neither(
        self, client: httpx.AsyncClient, company: Company, kb: Kb
    ) -> None:
        body = article(kb.payments, ("Карта отклонена", "<p>Позвоните в банк.</p>"))
        r = await client.post(ARTS, json=body, headers=company.l1_agent.headers)
        assert r.status_code == 201, r.text
        r = await client.post(CATS, json={"names": {"en": "Misc"}},
                              headers=company.l1_agent.headers)  # fmt: skip
        assert r.status_code == 403
        r = await client.delete(f"{ARTS}/{kb.refund}", headers=company.l1_agent.headers)
        assert r.status_code == 403
        for headers in (company.customer.headers, {}):
            r = await client.post(ARTS, json=body, headers=headers)
            assert r.status_code in (401, 403)
        r = await client.delete(f"{ARTS}/{kb.refund}", headers=company.admin.headers)
        assert r.status_code == 204
        r = await client.get(f"{ARTS}/{kb.refund}")
        assert r.status_code == 404

    async def test_bad_input_names_the_field_and_stores_nothing(
        self, client: httpx.AsyncClient, company: Company, kb: Kb
    ) -> None:
        before = await article_count(client, company)
        h = company.admin.headers
        cases = [
            ({"category_id": 999999, "translations": {"ru": {"title": "X"}}}, "category_id"),
            ({"category_id": kb.payments, "translations": {}}, "translations"),
            ({"category_id": kb.payments, "translations": {"de": {"title": "X"}}}, "translations"),
            ({"category_id": kb.payments, "translations": {"ru": {"title": "   "}}}, "title"),
            (
                {
                    "category_id": kb.payments,
                    "related_ids": [999999],
                    "translations": {"ru": {"title": "X"}},
                },
                "related_ids",
            ),
        ]
        for body, field in cases:
            r = await client.post(ARTS, json=body, headers=h)
            assert r.status_code == 422, (body, r.text)
            assert field in r.text, r.text
        assert await article_count(client, company) == before
        r = await client.post(CATS, json={"names": {"en": " "}}, headers=h)
        assert r.status_code == 422
        r = await client.post(CATS, json={"names": {"en": "S"}, "parent_id": kb.login_section},
                              headers=h)  # fmt: skip
        assert r.status_code == 422 and "parent_id" in r.text  # a section of a section
        r = await client.delete(f"{CATS}/{kb.account}", headers=h)
        assert r.status_code == 409  # it holds a section and articles

    async def test_html_is_sanitized_and_each_save_is_a_revision(
        self, client: httpx.AsyncClient, company: Company, kb: Kb
    ) -> None:
        h = company.l1_agent.headers
        body = article(kb.payments, ("Чек", '<p onclick="x()">Чек <script>alert(1)</script>'
                                            '<a href="javascript:x()">здесь</a></p>'))  # fmt: skip
        r = await client.post(ARTS, json=body, headers=h)
        html = r.json()["translations"]["ru"]["body_html"]
        assert "script" not in html and "onclick" not in html and "javascript" not in html
        assert "Чек" in html
        article_id = r.json()["id"]
        english = {"title": "Receipt", "body_html": "<p>Here</p>", "status": "published"}
        r = await client.patch(
            f"{ARTS}/{article_id}", headers=h, json={"translations": {"en": english}}
        )
        assert r.status_code == 200, r.text
        assert set(r.json()["translations"]) == {"ru", "en"}
        r = await client.get(f"{ARTS}/{article_id}/revisions", headers=h)
        assert [(v["locale"], v["title"]) for v in r.json()] == [("en", "Receipt"), ("ru", "Чек")]
        r = await client.get(f"{ARTS}/{article_id}/revisions", headers=company.customer.headers)
        assert r.status_code == 403


class TestFeedback:
    async def test_feedback_counts_on_the_translation_read(
        self, client: httpx.AsyncClient, company: Company, kb: Kb
    ) -> None:
        url = f"{ARTS}/{kb.reset}/feedback"
        for helpful in (True, True, False):
            r = await client.post(url, json={"helpful": helpful, "locale": "ru"})
            assert r.status_code == 204
        t = (await client.get(f"{ARTS}/{kb.reset}")).json()["translations"]["ru"]
        assert (t["helpful_count"], t["unhelpful_count"]) == (2, 1)
        r = await client.post(f"{ARTS}/{kb.internal}/feedback", json={"helpful": True})
        assert r.status_code == 404  # an internal article does not exist for visitors
