"""Knowledge base and help center benchmark.

    .venv/bin/python -m benchmarks.load --backend sqlite --tickets 1000000 --name open --open-only
    .venv/bin/python -m benchmarks.kb --backend sqlite            # writes nothing
    .venv/bin/python -m benchmarks.kb --backend postgres --record # updates RESULTS.md

On the database `benchmarks.load --name NAME` filled (1,000,000 tickets), migrated to the
latest schema, this adds (once; `--articles`, default 10,000) generated articles through
`kb.service.create_article` — every one in Russian, half also in English, on twenty
support topics, one in ten internal, in transactions of 200 — and an admin with an API
token. Then it starts `opora serve` (the jobs in their own worker, not in the server
process: ``OPORA_RUN_WORKER_IN_PROCESS=false``) and measures p50/p95 over loopback, one
request at a time after a warm-up, cycling through realistic queries (Russian and
English, one with a typo):

- ``kb_search_api``: ``GET /api/v1/kb/search?q=…`` (anonymous: public articles only);
- ``help_search_page``: ``GET /help/search?q=…``, the help center's results page (it
  also records the search);
- ``help_home``, ``help_article``: the help center's home and an article page (the
  article page records a view);
- ``ticket_search``: ``GET /api/v1/tickets?q=…`` as an admin: the full-text search over
  the million tickets' text.

Aim (issue 6): p95 ≤ 30 ms for the article searches and pages.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from typing import Any

import httpx

from benchmarks._results import report
from benchmarks.api import Server, pct
from benchmarks.load import DATA

ADMIN_EMAIL = "bench-kb@opora.dev"
MARK = "bench-kb"  # the generated articles' tag

TOPICS_RU = [
    ("вход в аккаунт", "войти", "пароль", "логин"),
    ("сброс пароля", "пароль", "письмо", "ссылка"),
    ("двухфакторная защита", "код", "смс", "телефон"),
    ("удаление профиля", "профиль", "данные", "удалить"),
    ("смена почты", "почта", "адрес", "подтверждение"),
    ("оплата картой", "карта", "платёж", "банк"),
    ("возврат денег", "возврат", "деньги", "списание"),
    ("подписка", "подписка", "продление", "тариф"),
    ("уведомления", "уведомление", "push", "звук"),
    ("фотографии", "фото", "загрузка", "альбом"),
    ("сообщения", "сообщение", "переписка", "чат"),
    ("группы и сообщества", "группа", "сообщество", "участник"),
    ("игры и приложения", "игра", "приложение", "установка"),
    ("вывод средств", "вывод", "кошелёк", "комиссия"),
    ("пополнение баланса", "пополнение", "баланс", "депозит"),
    ("жалоба на пользователя", "жалоба", "нарушение", "блокировка"),
    ("блокировка аккаунта", "блокировка", "разблокировать", "причина"),
    ("восстановление переписки", "история", "восстановить", "архив"),
    ("настройки приватности", "приватность", "видимость", "доступ"),
    ("ошибки приложения", "ошибка", "сбой", "вылетает"),
]
TOPICS_EN = [
    ("signing in", "sign", "password", "login"),
    ("password reset", "password", "email", "link"),
    ("two-factor authentication", "code", "sms", "phone"),
    ("deleting your profile", "profile", "data", "delete"),
    ("changing your email", "email", "address", "confirmation"),
    ("card payments", "card", "payment", "bank"),
    ("refunds", "refund", "money", "charge"),
    ("subscriptions", "subscription", "renewal", "plan"),
    ("notifications", "notification", "push", "sound"),
    ("photos", "photo", "upload", "album"),
    ("messages", "message", "conversation", "chat"),
    ("groups and communities", "group", "community", "member"),
    ("games and apps", "game", "app", "install"),
    ("withdrawals", "withdrawal", "wallet", "fee"),
    ("topping up", "top-up", "balance", "deposit"),
    ("reporting a user", "report", "violation", "ban"),
    ("account suspension", "suspension", "unblock", "reason"),
    ("restoring message history", "history", "restore", "archive"),
    ("privacy settings", "privacy", "visibility", "access"),
    ("app errors", "error", "crash", "freezes"),
]
FILLER_RU = [
    "Откройте настройки и выберите нужный раздел",
    "Если шаги не помогли, напишите нам: приложите снимок экрана и опишите, что вы делали",
    "Обычно проблема решается за несколько минут",
    "Проверьте, что у вас последняя версия приложения и стабильный интернет.",
]
FILLER_EN = [
    "Open the settings and choose the section you need",
    "If the steps did not help, write to us: attach a screenshot and describe what you did",
    "Usually the problem is solved in a few minutes",
    "Check that you have the latest version of the app and a stable connection.",
]
QUERIES = [
    ("ru", "не могу войти в аккаунт"),
    ("ru", "сброс пароля"),
    ("ru", "возврат денег за подписку"),
    ("ru", "не приходит смс с кодом"),
    ("ru", "как удалить профиль"),
    ("ru", "ошибка оплаты картой"),
    ("ru", "сброс пороля"),
    ("ru", "вывод средств комиссия"),
    ("en", "reset password"),
    ("en", "cannot sign in"),
    ("en", "refund for a payment"),
    ("en", "delete my account"),
    ("en", "photo upload fails"),
    ("en", "privacy settings"),
]
TICKET_QUERIES = ["пароль", "не могу войти", "возврат", "ошибка оплаты", "password", "refund"]


def _paragraphs(rng: random.Random, words: tuple[str, ...], filler: list[str], n: int) -> str:
    out = []
    for _ in range(n):
        sentences = [s.strip().rstrip(".") + "." for s in rng.sample(filler, 3)]
        key = rng.sample(words[1:], 2)
        sentences.insert(1, f"{key[0].capitalize()} и {key[1]}." if filler is FILLER_RU
                         else f"{key[0].capitalize()} and {key[1]}.")  # fmt: skip
        out.append("<p>" + " ".join(sentences) + "</p>")
    return "".join(out)


async def prepare(url: str, articles: int) -> tuple[str, list[str]]:
    """Migrate; add the articles and the admin if missing. Returns the admin's token and
    some article paths."""
    from sqlalchemy import func, select, text

    from opora.auth import repository as users
    from opora.auth import service as auth_service
    from opora.auth.actor import system_actor
    from opora.auth.schemas import UserCreate
    from opora.db import Database
    from opora.kb import service as kb
    from opora.kb.models import KbArticle, KbCategory, KbTranslation
    from opora.kb.schemas import ArticleCreate, CategoryCreate, TranslationIn
    from opora.migrations import runner

    await runner.upgrade(url)
    db = Database(url, info={"opora.notify": False})
    actor = system_actor("bench")
    rng = random.Random(6)
    try:
        async with db.unit_of_work() as s:
            user = await users.get_user_by_email(s, ADMIN_EMAIL)
            if user is None:
                user = await auth_service.create_user(
                    s, actor=actor, data=UserCreate(email=ADMIN_EMAIL, name="KB bench",
                                                    password="bench-kb-password", role="admin"),
                )  # fmt: skip
            _, token = await auth_service.create_token(s, user_id=user.id, name="bench-kb")
            have = await s.scalar(select(func.count()).select_from(KbArticle))
        async with db.unit_of_work() as s:
            cats = list((await s.execute(select(KbCategory.id).order_by(KbCategory.id))).scalars())
            if not cats:
                for i, ((ru, *_), (en, *_)) in enumerate(zip(TOPICS_RU, TOPICS_EN, strict=True)):
                    row = await kb.create_category(s, actor=actor, data=CategoryCreate(
                        names={"ru": ru.capitalize(), "en": en.capitalize()},
                        getting_started=i < 2))  # fmt: skip
                    cats.append(row.id)
        if (have or 0) < articles:
            started = time.perf_counter()
            for first in range(have or 0, articles, 200):
                async with db.unit_of_work() as s:
                    for i in range(first, min(first + 200, articles)):
                        t = i % len(TOPICS_RU)
                        ru_words, en_words = TOPICS_RU[t], TOPICS_EN[t]
                        translations = {"ru": TranslationIn(
                            title=f"{ru_words[0].capitalize()}: вопрос {i}",
                            body_html=_paragraphs(rng, ru_words, FILLER_RU, rng.randint(3, 8)),
                            status="published")}  # fmt: skip
                        if i % 2 == 0:
                            translations["en"] = TranslationIn(
                                title=f"{en_words[0].capitalize()}: question {i}",
                                body_html=_paragraphs(rng, en_words, FILLER_EN, rng.randint(3, 8)),
                                status="published")  # fmt: skip
                        await kb.create_article(s, actor=actor, data=ArticleCreate(
                            category_id=cats[t], tags=[MARK], translations=translations,
                            visibility="internal" if i % 10 == 9 else "public"))  # fmt: skip
                print(f"  {min(first + 200, articles):,} articles", end="\r", flush=True)
            took = time.perf_counter() - started
            async with db.unit_of_work() as s:  # the planner's statistics, as autovacuum keeps them
                tables = "kb_articles, kb_translations, kb_search, kb_terms"
                sqlite = s.get_bind().dialect.name == "sqlite"
                await s.execute(text("ANALYZE" if sqlite else f"ANALYZE {tables}"))
            made = articles - (have or 0)
            print(f"{made:,} articles made through the service in {took:.0f} s "
                  f"({made / took:.0f}/s)")  # fmt: skip
        async with db.unit_of_work(write=False) as s:
            rows = await s.execute(
                select(KbTranslation.article_id, KbTranslation.slug)
                .join(KbArticle, KbArticle.id == KbTranslation.article_id)
                .where(KbTranslation.locale == "ru", KbArticle.visibility == "public")
                .order_by(KbTranslation.article_id)
                .limit(200)
            )
            paths = [kb.article_url(a, slug) for a, slug in rows]
    finally:
        await db.dispose()
    return token, paths


async def _measure(c: httpx.AsyncClient, requests: list[tuple[str, dict[str, Any], dict[str, str]]],
                   repeat: int) -> list[float]:  # fmt: skip
    for path, params, headers in requests[:10]:  # warm caches
        (await c.get(path, params=params, headers=headers)).raise_for_status()
    times = []
    for i in range(repeat):
        path, params, headers = requests[i % len(requests)]
        t0 = time.perf_counter()
        r = await c.get(path, params=params, headers=headers)
        times.append(time.perf_counter() - t0)
        r.raise_for_status()
    return times


async def bench(
    backend: str, name: str, articles: int, repeat: int
) -> dict[str, tuple[float, str]]:
    info_path = DATA / f"{backend}-{name}.json"
    if not info_path.exists():
        print(f"no {info_path}: run `python -m benchmarks.load --backend {backend} --name {name}`")
        return {}
    info: dict[str, Any] = json.loads(info_path.read_text())
    url = info["database_url"]
    token, paths = await prepare(url, articles)
    # the jobs in a worker of their own, as a desk this size runs them (and the database
    # may carry the SLA benchmark's backlog, which an in-process worker would be sweeping)
    env = {"OPORA_DATA_DIR": str(DATA / f"{backend}-{name}-data"), "OPORA_DATABASE_URL": url,
           "OPORA_RUN_WORKER_IN_PROCESS": "false"}  # fmt: skip
    ru, en = {"Accept-Language": "ru"}, {"Accept-Language": "en"}
    auth = {"Authorization": f"Bearer {token}"}
    runs: dict[str, list[tuple[str, dict[str, Any], dict[str, str]]]] = {
        "kb_search_api": [("/api/v1/kb/search", {"q": q, "locale": loc}, {}) for loc, q in QUERIES],
        "help_search_page": [
            ("/help/search", {"q": q}, ru if loc == "ru" else en) for loc, q in QUERIES
        ],
        "help_home": [("/help", {}, ru), ("/help", {}, en)],
        "help_article": [(p, {}, ru) for p in paths],
        "ticket_search": [("/api/v1/tickets", {"q": q, "limit": 25}, auth) for q in TICKET_QUERIES],
    }
    figures: dict[str, tuple[float, str]] = {}
    key = f"kb.{backend}.at_{articles // 1000}k_articles"
    async with Server(env) as server, httpx.AsyncClient(base_url=server.url, timeout=60) as c:
        for label, requests in runs.items():
            times = await _measure(c, requests, repeat)
            p50, p95, mean = pct(times, 0.5), pct(times, 0.95), statistics.mean(times) * 1000
            print(f"{backend} {label:17} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  mean {mean:6.1f} ms")
            figures[f"{key}.{label}.p50_ms"] = (pct(times, 0.5), "ms")
            figures[f"{key}.{label}.p95_ms"] = (pct(times, 0.95), "ms")
        figures[f"kb.{backend}.peak_rss_mb"] = (server.peak_rss / 2**20, "MiB")
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description="Knowledge base and help center benchmark")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--name", default="open", help="the benchmarks.load database")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=200, help="requests per figure")
    parser.add_argument("--record", action="store_true", help="write figures to RESULTS.md")
    args = parser.parse_args()
    figures = await bench(args.backend, args.name, args.articles, args.repeat)
    report("kb", figures, record=args.record)


if __name__ == "__main__":
    asyncio.run(main())
