"""Full-text search over tickets on both backends (SQLite FTS5, PostgreSQL tsvector)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from opora.db import Database
from opora.search import service as search
from opora.tickets.models import Ticket
from tests.conftest import Company

API = "/api/v1"


async def create(
    client: httpx.AsyncClient, company: Company, subject: str, body: str, **extra: Any
) -> int:
    r = await client.post(
        f"{API}/tickets",
        headers=company.l1_agent.headers,
        json={"subject": subject, "body": body, "requester_id": company.customer.id, **extra},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def note(client: httpx.AsyncClient, company: Company, ticket_id: int, body: str) -> None:
    r = await client.post(
        f"{API}/tickets/{ticket_id}/messages",
        headers=company.l1_agent.headers,
        json={"body": body, "visibility": "internal"},
    )
    assert r.status_code == 201, r.text


async def found(client: httpx.AsyncClient, company: Company, q: str, **params: Any) -> set[int]:
    r = await client.get(
        f"{API}/tickets", headers=company.l1_agent.headers, params={"q": q, **params}
    )
    assert r.status_code == 200, r.text
    return {t["id"] for t in r.json()["items"]}


async def matching(db: Database, q: str, *, include_internal: bool) -> set[int]:
    """The service's subquery, run on its own."""
    ids = search.matching_ticket_ids(db.dialect, q, include_internal=include_internal)
    assert ids is not None
    async with db.unit_of_work(write=False) as s:
        return set((await s.execute(select(Ticket.id).where(Ticket.id.in_(ids)))).scalars())


class TestSearchTickets:
    async def test_russian_and_english_word_forms_and_synonyms_find_each_other(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        entry = await create(client, company, "Проблема со входом", "Ошибка входа в кабинет")
        password_ru = await create(client, company, "Забыл пароль", "Где сбросить?")
        password_en = await create(client, company, "Reset", "My password expired")
        photo = await create(client, company, "Фотографии", "Не загружаются фото альбома")
        cases = {
            "войти": {entry},  # «войти» and «вход» share no stem: the synonym list joins them
            "вход": {entry},
            "входа": {entry},
            "login": {entry},
            "пароля": {password_ru, password_en},
            "passwords": {password_ru, password_en},
            "PASSWORD": {password_ru, password_en},
            "фотография": {photo},
            "picture": {photo},
            # words may be in the subject and in a message; "reset" is a synonym of «сброс»
            "сбросить пароль": {password_ru, password_en},
            "пароль принтер": set(),  # but every word must be somewhere in the ticket
            "принтер": set(),
        }
        for q, expected in cases.items():
            assert await found(client, company, q) == expected, q

    async def test_subjects_and_every_message_are_searched(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        ticket = await create(client, company, "Printer", "It is jammed")
        r = await client.post(
            f"{API}/tickets/{ticket}/messages",
            headers=company.l1_agent.headers,
            json={"body": "", "html": "<p>Try the <b>toner</b> cartridge</p>"},
        )
        assert r.status_code == 201
        for q in ("printer", "jammed", "toner cartridge"):
            assert await found(client, company, q) == {ticket}, q

    async def test_a_changed_subject_is_searched_by_its_new_words(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        ticket = await create(client, company, "Printer", "It is jammed")
        r = await client.patch(
            f"{API}/tickets/{ticket}", headers=company.l1_agent.headers, json={"subject": "Scanner"}
        )
        assert r.status_code == 200
        assert await found(client, company, "scanner") == {ticket}
        assert await found(client, company, "printer") == set()

    async def test_internal_notes_are_searched_for_agents_only(
        self, client: httpx.AsyncClient, company: Company, db: Database
    ) -> None:
        public = await create(client, company, "Refund", "Charged twice for the subscription")
        noted = await create(client, company, "Question", "How do I change my plan?")
        await note(client, company, noted, "Customer was charged twice, see billing")
        assert await found(client, company, "charged twice") == {public, noted}
        assert await matching(db, "charged twice", include_internal=True) == {public, noted}
        assert await matching(db, "charged twice", include_internal=False) == {public}
        assert await matching(db, "billing", include_internal=False) == set()

    async def test_merged_messages_are_found_under_the_target(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        source = await create(client, company, "Second mail", "The export to Excel hangs")
        target = await create(client, company, "First mail", "Reports are slow")
        r = await client.post(
            f"{API}/tickets/{source}/merge",
            headers=company.l1_agent.headers,
            json={"into_id": target},
        )
        assert r.status_code == 200, r.text
        assert target in await found(client, company, "excel export")
        assert source not in await found(client, company, "excel export")

    async def test_search_combines_with_the_filters(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        urgent = await create(client, company, "Оплата", "Списали дважды", priority="urgent")
        await create(client, company, "Оплата", "Не проходит платёж")
        assert await found(client, company, "оплата", priority="urgent") == {urgent}

    @pytest.mark.parametrize(
        "q", ['"; DROP TABLE tickets; --', "NEAR(a b)", "a* OR b", "'a' | !b", "c++ & ^:*"]
    )
    async def test_query_syntax_of_either_backend_is_taken_as_plain_words(
        self, client: httpx.AsyncClient, company: Company, q: str
    ) -> None:
        ticket = await create(client, company, "NEAR the DROP table", "a b c")
        r = await client.get(f"{API}/tickets", headers=company.l1_agent.headers, params={"q": q})
        assert r.status_code == 200, r.text
        assert all(t["id"] == ticket for t in r.json()["items"])

    @pytest.mark.parametrize("q", ["!!!", "…", "- + *"])
    async def test_a_query_with_no_words_is_a_422(
        self, client: httpx.AsyncClient, company: Company, q: str
    ) -> None:
        r = await client.get(f"{API}/tickets", headers=company.l1_agent.headers, params={"q": q})
        assert r.status_code == 422
        assert r.json()["error"]["field"] == "q"

    def test_matching_ticket_ids_is_none_for_a_query_with_no_words(self) -> None:
        assert search.matching_ticket_ids("sqlite", "?!", include_internal=True) is None


class TestManyMatches:
    async def test_a_common_word_lists_the_same_tickets_in_the_same_order_either_way(
        self, client: httpx.AsyncClient, company: Company, db: Database, monkeypatch: Any
    ) -> None:
        """Above the threshold SQLite walks the tickets in sort order instead of sorting
        every match; both plans must give the same pages."""
        ids = [await create(client, company, f"Пароль {i}", "не подходит пароль") for i in range(7)]
        await create(client, company, "Другое", "совсем про другое")

        async def pages() -> list[int]:
            seen: list[int] = []
            cursor = None
            while True:
                params: dict[str, Any] = {"q": "пароль", "limit": 3}
                if cursor:
                    params["cursor"] = cursor
                r = await client.get(f"{API}/tickets", headers=company.l1_agent.headers,
                                     params=params)  # fmt: skip
                assert r.status_code == 200, r.text
                seen += [t["id"] for t in r.json()["items"]]
                cursor = r.json()["next_cursor"]
                if cursor is None:
                    return seen

        few_plan = await pages()
        monkeypatch.setattr(search, "MANY_MATCHES", 2)
        async with db.unit_of_work(write=False) as s:
            assert await search.matches_many(s, "пароль", include_internal=True) is db.is_sqlite
        many_plan = await pages()
        assert few_plan == many_plan == sorted(ids, reverse=True)
