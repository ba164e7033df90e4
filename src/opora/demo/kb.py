"""The demo's knowledge base: the help center of «Пульс» / "Pulse", the messenger the demo
company supports — categories with sections, articles in Russian and English on the
topics its customers write about most, one internal article for the second line, a
draft. Made through ``kb.service`` (sanitized, indexed, with revisions); what exists (by
title) is kept, so a second ``opora demo`` adds nothing twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from opora.auth.actor import system_actor
from opora.db import Database
from opora.kb import service as kb
from opora.kb.models import KbCategory, KbTranslation
from opora.kb.schemas import ArticleCreate, CategoryCreate, TranslationIn

CATEGORIES: list[dict[str, Any]] = [
    {"key": "start", "ru": "Начало работы", "en": "Getting started", "getting_started": True,
     "description": {"ru": "Регистрация, вход и первые шаги в «Пульсе».",
                     "en": "Signing up, signing in and first steps in Pulse."}},
    {"key": "account", "ru": "Аккаунт и безопасность", "en": "Account and security"},
    {"key": "login", "ru": "Вход", "en": "Signing in", "parent": "account"},
    {"key": "privacy", "ru": "Приватность", "en": "Privacy", "parent": "account"},
    {"key": "billing", "ru": "Оплата и подписка", "en": "Payments and subscription"},
    {"key": "messages", "ru": "Сообщения и звонки", "en": "Messages and calls"},
    {"key": "runbooks", "ru": "Для второй линии", "en": "Second line runbooks",
     "visibility": "internal"},
]  # fmt: skip

ARTICLES: list[dict[str, Any]] = [
    {"category": "start", "ru": ("Как зарегистрироваться в «Пульсе»",
        "<p>Скачайте приложение или откройте веб-версию, нажмите <b>«Создать аккаунт»</b> "
        "и введите номер телефона. Мы пришлём СМС с кодом: введите его, придумайте имя — "
        "и аккаунт готов.</p><ul><li>Код действует 10 минут.</li><li>Один номер — один "
        "аккаунт.</li></ul>"),
     "en": ("How to sign up for Pulse",
        "<p>Download the app or open the web version, press <b>Create account</b> and "
        "enter your phone number. We will text you a code: enter it, choose a name, and "
        "your account is ready.</p><ul><li>The code is valid for 10 minutes.</li>"
        "<li>One number, one account.</li></ul>")},
    {"category": "login", "ru": ("Не могу войти в аккаунт",
        "<p>Если не получается войти:</p><ol><li>Проверьте, что номер телефона введён с "
        "кодом страны.</li><li>Проверьте раскладку клавиатуры и Caps Lock, если входите по "
        "паролю.</li><li>Обновите приложение до последней версии.</li></ol><p>Не помогло — "
        "<a href=\"/help/requests/new\">напишите нам</a>, указав номер и устройство.</p>"),
     "en": ("I cannot sign in to my account",
        "<p>If you cannot sign in:</p><ol><li>Check that the phone number has its country "
        "code.</li><li>Check the keyboard layout and Caps Lock if you sign in with a "
        "password.</li><li>Update the app to the latest version.</li></ol><p>Still stuck? "
        "<a href=\"/help/requests/new\">Write to us</a> with your number and device.</p>"),
     "tags": ["login"]},
    {"category": "login", "ru": ("Сброс пароля",
        "<p>На экране входа нажмите <b>«Забыли пароль?»</b>, введите почту или номер и "
        "откройте ссылку из письма или СМС. Ссылка действует час.</p>"),
     "en": ("Reset your password",
        "<p>On the sign-in screen press <b>Forgot password?</b>, enter your email or number "
        "and open the link in the email or text. The link is valid for an hour.</p>"),
     "tags": ["login", "password"]},
    {"category": "login", "ru": ("Не приходит СМС с кодом",
        "<p>Подождите две минуты и запросите код снова. Проверьте, что телефон в сети и "
        "не блокирует короткие номера. Можно запросить звонок с кодом.</p>"),
     "en": ("The text with the code does not arrive",
        "<p>Wait two minutes and ask for the code again. Check that the phone has signal "
        "and does not block short numbers. You can ask for a call with the code.</p>")},
    {"category": "privacy", "ru": ("Двухфакторная защита",
        "<p>Включите в <b>Настройки → Безопасность</b>: при входе на новом устройстве мы "
        "спросим код из приложения-аутентификатора.</p>"),
     "en": ("Two-factor authentication",
        "<p>Turn it on in <b>Settings → Security</b>: signing in on a new device will ask "
        "for a code from an authenticator app.</p>")},
    {"category": "privacy", "ru": ("Как удалить аккаунт",
        "<p><b>Настройки → Аккаунт → Удалить аккаунт</b>. Переписка и фото удаляются "
        "безвозвратно через 30 дней; до этого аккаунт можно восстановить, просто войдя.</p>"),
     "en": ("How to delete your account",
        "<p><b>Settings → Account → Delete account</b>. Messages and photos are deleted for "
        "good after 30 days; until then, signing in restores the account.</p>")},
    {"category": "billing", "ru": ("Возврат денег за подписку",
        "<p>Если подписка списалась по ошибке, напишите нам в течение 14 дней: вернём "
        "деньги на карту, с которой была оплата, за 3–10 рабочих дней.</p>"),
     "en": ("Refunds for a subscription",
        "<p>If a subscription was charged by mistake, write to us within 14 days: the money "
        "goes back to the card that paid, in 3–10 business days.</p>"),
     "tags": ["refund"]},
    {"category": "billing", "ru": ("Ошибка оплаты картой",
        "<p>Проверьте срок действия карты и что банк разрешил платежи в интернете. Если "
        "банк отклоняет платёж, попробуйте другую карту или оплату через магазин "
        "приложений.</p>"), "en": None},
    {"category": "messages", "ru": ("Как восстановить переписку",
        "<p>Включите резервное копирование в <b>Настройки → Чаты</b>. После переустановки "
        "войдите с тем же номером и восстановите копию.</p>"),
     "en": ("Restoring your message history",
        "<p>Turn on backups in <b>Settings → Chats</b>. After reinstalling, sign in with "
        "the same number and restore the backup.</p>")},
    {"category": "runbooks", "visibility": "internal",
     "ru": ("Вход: что проверить второй линии",
        "<p>Сбросить активные сессии в админке, проверить блокировку по антифроду, "
        "посмотреть журнал входов за сутки.</p>"), "en": None},
    {"category": "messages", "status": "draft",
     "ru": ("Видеозвонки в группах (черновик)", "<p>Скоро: до 16 участников.</p>"), "en": None},
]  # fmt: skip


async def load_kb(db: Database) -> dict[str, int]:
    """Make what is missing; returns counts for the demo's summary."""
    actor = system_actor("demo")
    made = {"kb_categories": 0, "kb_articles": 0}
    async with db.unit_of_work() as s:
        known = {
            (c.names or {}).get("en", ""): c
            for c in (await s.execute(select(KbCategory))).scalars()
        }
        ids: dict[str, int] = {}
        for spec in CATEGORIES:
            row = known.get(spec["en"])
            if row is None:
                parent = ids.get(spec["parent"]) if spec.get("parent") else None
                row = await kb.create_category(s, actor=actor, data=CategoryCreate(
                    names={"ru": spec["ru"], "en": spec["en"]},
                    descriptions=spec.get("description", {}), parent_id=parent,
                    getting_started=spec.get("getting_started", False),
                    visibility=spec.get("visibility", "public"),
                ))  # fmt: skip
                made["kb_categories"] += 1
            ids[spec["key"]] = row.id
        titles = set((await s.execute(select(KbTranslation.title))).scalars())
        for spec in ARTICLES:
            if spec["ru"][0] in titles:
                continue
            status = spec.get("status", "published")
            translations = {}
            for locale in ("ru", "en"):
                if spec.get(locale):
                    title, body = spec[locale]
                    translations[locale] = TranslationIn(title=title, body_html=body,
                                                         status=status)  # fmt: skip
            await kb.create_article(s, actor=actor, data=ArticleCreate(
                category_id=ids[spec["category"]], tags=spec.get("tags", []),
                visibility=spec.get("visibility", "public"), translations=translations,
            ))  # fmt: skip
            made["kb_articles"] += 1
    return made
