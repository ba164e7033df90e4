"""A small knowledge base made through the API: categories, sections and articles in
Russian and English, with the ones a customer must never see (internal, draft, in an
internal category)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio

from tests.conftest import Company


@dataclass
class Kb:
    account: int  # category "Account" (getting started)
    login_section: int  # its section "Signing in"
    payments: int  # category "Payments"
    internal_category: int  # agents only
    login: int  # «Не могу войти в аккаунт» (ru + en)
    reset: int  # «Сброс пароля» (ru + en "Reset your password")
    refund: int  # «Возврат платежа» (ru only)
    internal: int  # an internal article about login
    draft: int  # a draft about login
    hidden_by_category: int  # public article in the internal category


async def post(client: httpx.AsyncClient, company: Company, url: str, body: dict[str, Any]) -> int:
    r = await client.post(url, headers=company.admin.headers, json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def article(category: int, ru: tuple[str, str] | None, en: tuple[str, str] | None = None,
            **extra: Any) -> dict[str, Any]:  # fmt: skip
    translations = {}
    for locale, pair in (("ru", ru), ("en", en)):
        if pair is not None:
            translations[locale] = {"title": pair[0], "body_html": pair[1], "status": "published"}
    return {"category_id": category, "translations": translations, **extra}


@pytest_asyncio.fixture
async def kb(client: httpx.AsyncClient, company: Company) -> Kb:
    cats = "/api/v1/kb/categories"
    account = await post(client, company, cats, {
        "names": {"ru": "Аккаунт", "en": "Account"}, "getting_started": True})  # fmt: skip
    section = await post(client, company, cats, {
        "names": {"ru": "Вход", "en": "Signing in"}, "parent_id": account})  # fmt: skip
    payments = await post(client, company, cats, {"names": {"ru": "Платежи", "en": "Payments"}})
    internal_cat = await post(client, company, cats, {
        "names": {"en": "Runbooks"}, "visibility": "internal"})  # fmt: skip
    arts = "/api/v1/kb/articles"
    login = await post(client, company, arts, article(
        section,
        ("Проблемы со входом", "<p>Если не получается <b>войти</b> в профиль, проверьте "
         "раскладку клавиатуры и включённый Caps Lock.</p><p>Затем попробуйте сбросить "
         "пароль.</p>"),
        ("Trouble signing in", "<p>If you cannot sign in to your profile, check the keyboard "
         "layout and Caps Lock.</p>"),
    ))  # fmt: skip
    reset = await post(client, company, arts, article(
        section,
        ("Сброс пароля", "<p>Нажмите «Забыли пароль?» на странице входа и следуйте "
         "письму.</p>"),
        ("Reset your password", "<p>Click “Forgot password?” on the sign-in page and follow "
         "the email.</p>"),
    ))  # fmt: skip
    refund = await post(client, company, arts, article(
        payments,
        ("Возврат платежа", "<p>Деньги за ошибочное списание вернутся на карту в течение "
         "10 дней.</p>"),
    ))  # fmt: skip
    internal = await post(client, company, arts, article(
        section, ("Вход: для второй линии", "<p>Сбросить сессии пользователя в админке.</p>"),
        visibility="internal",
    ))  # fmt: skip
    draft_body = article(section, ("Вход через СМС", "<p>Черновик про вход по СМС.</p>"))
    draft_body["translations"]["ru"]["status"] = "draft"
    draft = await post(client, company, arts, draft_body)
    hidden = await post(client, company, arts, article(
        internal_cat, ("Вход: инструкция дежурному", "<p>Проверить логи входа.</p>")))  # fmt: skip
    return Kb(account, section, payments, internal_cat, login, reset, refund, internal, draft,
              hidden)  # fmt: skip
