"""The notification templates: their keys, who gets them, and what they may use.

Each template has a subject and a plain-text body per language (ru, en), written in Jinja
(``{{ ticket.number }}``). The defaults ship as files; admins edit them (a row in
``notification_templates``). ``SAMPLE`` is the context a template is checked against
when it is saved, and what the preview shows: a template that uses anything else is
refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    key: str
    audience: str  # "customer" or "agent"
    title_en: str
    title_ru: str


SPECS: tuple[TemplateSpec, ...] = (
    TemplateSpec("ticket_received", "customer", "Request received", "Обращение получено"),
    TemplateSpec("ticket_reply", "customer", "Reply to the customer", "Ответ клиенту"),
    TemplateSpec("ticket_solved", "customer", "Request solved", "Обращение решено"),
    TemplateSpec(
        "ticket_escalated", "customer", "A specialist took over", "Обращением занялся специалист"
    ),
    TemplateSpec("ticket_delayed", "customer", "Delay notice", "Уведомление о задержке"),
    TemplateSpec("agent_assigned", "agent", "Assigned to you", "Вам назначено обращение"),
    TemplateSpec("agent_customer_replied", "agent", "The customer replied", "Клиент ответил"),
    TemplateSpec("agent_mentioned", "agent", "Mentioned in a note", "Упоминание в заметке"),
)
BY_KEY = {spec.key: spec for spec in SPECS}
LANGUAGES = ("en", "ru")


# Every name a template may use. Values are examples (the preview shows them).
SAMPLE: dict[str, dict[str, Any]] = {
    "en": {
        "ticket": {
            "number": 1042,
            "subject": "Cannot sign in after the update",
            "status": "open",
            "status_label": "Open",
            "priority": "normal",
            "url": "https://support.example.com/requests/1042/8f2c…",
        },
        "contact": {"name": "Anna Smith", "email": "anna@example.com"},
        "handler": "Maria Ivanova",
        "expected": {"within": "12 hours", "by": "6 December 2026, 21:30 (UTC)"},
        "message": {"text": "Please try signing in again now.", "author": "Maria Ivanova"},
        "agent": {"name": "Maria Ivanova"},
        "actor": {"name": "Pavel Volkov"},
        "company": "Acme Support",
    },
    "ru": {
        "ticket": {
            "number": 1042,
            "subject": "Не могу войти после обновления",
            "status": "open",
            "status_label": "Открыт",
            "priority": "normal",
            "url": "https://support.example.ru/requests/1042/8f2c…",
        },
        "contact": {"name": "Анна Смирнова", "email": "anna@example.ru"},
        "handler": "Мария Иванова",
        "expected": {"within": "12 часов", "by": "6 декабря 2026 г., 21:30 (MSK)"},
        "message": {"text": "Попробуйте, пожалуйста, войти ещё раз.", "author": "Мария Иванова"},
        "agent": {"name": "Мария Иванова"},
        "actor": {"name": "Павел Волков"},
        "company": "Служба поддержки Acme",
    },
}
