"""Queue outgoing email for other domains, and render email templates.

``queue_email`` writes a ``notifications.send_email`` job in the caller's transaction: a
rollback drops the email with the change that needed it, and the worker delivers it after
the commit with retries. ``render_email`` renders ``templates/email/<name>.<lang>.*``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from opora import jobs
from opora.errors import InvalidInput
from opora.kit.time import utcnow
from opora.notifications import mail

SEND_EMAIL = "notifications.send_email"
LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "email"


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None


async def queue_email(
    session: AsyncSession,
    *,
    to: str | Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    headers: Mapping[str, str] | None = None,
    idempotency_key: str | None = None,
) -> int | None:
    """Enqueue one email; returns the job id (None if ``idempotency_key`` was used).

    ``to`` is an address or ``"Name <address>"``, or a list of them; a malformed one, or
    a header that cannot be sent, is ``InvalidInput`` here rather than a dead job later.
    The Message-ID's local part is chosen here, so every retry sends the same Message-ID.
    """
    recipients = [to] if isinstance(to, str) else list(to)
    # refuse now, in the caller's transaction, what the job could never send
    if not recipients:
        raise InvalidInput("an email needs at least one recipient", field="to")
    try:
        for address in recipients:
            mail.parse_address(address)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="to") from exc
    try:
        mail.check_headers(headers or {})
    except ValueError as exc:
        raise InvalidInput(str(exc), field="headers") from exc
    payload: dict[str, object] = {
        "to": recipients,
        "subject": " ".join(subject.split()),  # one line, whatever the caller passed
        "text": text,
        "message_id": f"{utcnow():%Y%m%d%H%M%S}.{secrets.token_hex(8)}",
    }
    if html is not None:
        payload["html"] = html
    if headers:
        payload["headers"] = dict(headers)
    return await jobs.enqueue(session, SEND_EMAIL, payload, idempotency_key=idempotency_key)


def email_language(language: str | None) -> str:
    """``ru``, ``ru-RU`` → ``ru``; anything we have no templates for → ``en``."""
    base = (language or "").split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_email(template: str, /, *, language: str | None, **context: object) -> RenderedEmail:
    """Render ``<template>.<lang>.subject``, ``.txt`` and (if present) ``.html``."""
    env = _environment()
    lang = email_language(language)
    base = f"{template}.{lang}"
    subject = env.get_template(f"{base}.subject").render(**context)
    text = env.get_template(f"{base}.txt").render(**context)
    html = None
    if (TEMPLATES_DIR / f"{base}.html").exists():
        html = env.get_template(f"{base}.html").render(**context)
    return RenderedEmail(subject=" ".join(subject.split()), text=text, html=html)
