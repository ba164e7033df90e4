"""Notification templates: render them (an admin's version over the shipped default), and
let admins read, change, preview and reset them.

Templates are rendered by a sandboxed Jinja environment (``SandboxedEnvironment``: an
admin's template cannot reach Python internals) with ``StrictUndefined``: a name that is
not in the context is an error when the template is saved (checked against
``catalog.SAMPLE``), never a silently empty line in a customer's mail.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor, require_admin
from opora.db import shared_cache
from opora.errors import InvalidInput, NotFound
from opora.kit.time import utcnow
from opora.notifications import catalog
from opora.notifications.models import NotificationTemplate

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "email"
MAX_SUBJECT = 500
MAX_BODY = 20_000


class TemplateNotFound(NotFound):
    code = "template_not_found"


class InvalidTemplate(InvalidInput):
    code = "invalid_template"


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str


@dataclass(frozen=True, slots=True)
class TemplateView:
    key: str
    language: str
    audience: str
    title: str
    subject: str
    body: str
    customized: bool


@cache
def _env() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )


def language_of(language: str | None) -> str:
    base = (language or "").split("-")[0].split("_")[0].lower()
    return base if base in catalog.LANGUAGES else "en"


@cache
def default_source(key: str, language: str) -> tuple[str, str]:
    """The shipped (subject, body) of a template."""
    if key not in catalog.BY_KEY:
        raise TemplateNotFound(f"there is no notification template {key!r}")
    lang = language_of(language)
    subject = (TEMPLATES_DIR / f"{key}.{lang}.subject").read_text(encoding="utf-8").strip()
    body = (TEMPLATES_DIR / f"{key}.{lang}.txt").read_text(encoding="utf-8")
    return subject, body


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    """A template compiled once per process and source text (compiling costs ~6 ms)."""
    return _env().from_string(source)


def render_source(subject: str, body: str, context: dict[str, Any]) -> Rendered:
    rendered_subject = " ".join(_compiled(subject).render(context).split())
    text = _compiled(body).render(context).strip() + "\n"
    return Rendered(subject=rendered_subject, text=text)


async def _override(session: AsyncSession, key: str, language: str) -> NotificationTemplate | None:
    stmt = select(NotificationTemplate).where(
        NotificationTemplate.key == key, NotificationTemplate.language == language
    )
    return (await session.execute(stmt)).scalar_one_or_none()


# The admins' versions, read at most every CACHE_SECONDS per process and database (a
# notification goes with every receipt and reply; the table changes when an admin edits).
# A change is seen at once in the process that made it, within CACHE_SECONDS in others.
CACHE_SECONDS = 10.0
_CACHE_KEY = "notification_templates"


def _cache(session: AsyncSession) -> dict[tuple[str, str], tuple[float, tuple[str, str] | None]]:
    return shared_cache(session, _CACHE_KEY)


def forget_cached(session: AsyncSession) -> None:
    _cache(session).clear()


async def _source(session: AsyncSession, key: str, lang: str) -> tuple[str, str] | None:
    now = time.monotonic()
    cache = _cache(session)
    cached = cache.get((key, lang))
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    row = await _override(session, key, lang)
    found = (row.subject, row.body) if row is not None else None
    cache[(key, lang)] = (now, found)
    return found


async def render(
    session: AsyncSession, key: str, *, language: str | None, context: dict[str, Any]
) -> Rendered:
    """Render a notification in ``language`` (en for anything else): the admin's version
    when there is one, else the default. A stored template that fails to render (it was
    valid when saved) falls back to the default rather than lose the notification."""
    lang = language_of(language)
    subject, body = default_source(key, lang)
    custom = await _source(session, key, lang)
    if custom is not None:
        try:
            return render_source(custom[0], custom[1], context)
        except TemplateError:
            pass
    return render_source(subject, body, context)


def _check(subject: str, body: str, language: str) -> Rendered:
    if not subject.strip():
        raise InvalidTemplate("the subject cannot be empty", field="subject")
    if len(subject) > MAX_SUBJECT:
        raise InvalidTemplate(
            f"the subject has more than {MAX_SUBJECT} characters", field="subject"
        )
    if not body.strip():
        raise InvalidTemplate("the text cannot be empty", field="body")
    if len(body) > MAX_BODY:
        raise InvalidTemplate(f"the text has more than {MAX_BODY} characters", field="body")
    sample = catalog.SAMPLE[language]
    for field, source in (("subject", subject), ("body", body)):
        try:
            _compiled(source).render(sample)
        except TemplateError as exc:
            line = getattr(exc, "lineno", None)
            where = f" (line {line})" if line else ""
            raise InvalidTemplate(f"{exc.message or exc}{where}", field=field) from exc
    return render_source(subject, body, sample)


async def list_templates(session: AsyncSession, *, actor: Actor) -> list[TemplateView]:
    require_admin(actor)
    rows = (await session.execute(select(NotificationTemplate))).scalars()
    custom = {(r.key, r.language): r for r in rows}
    views = []
    for spec in catalog.SPECS:
        for lang in catalog.LANGUAGES:
            views.append(_view(spec, lang, custom.get((spec.key, lang))))
    return views


def _view(spec: catalog.TemplateSpec, lang: str, row: NotificationTemplate | None) -> TemplateView:
    subject, body = default_source(spec.key, lang)
    return TemplateView(
        key=spec.key, language=lang, audience=spec.audience,
        title=spec.title_ru if lang == "ru" else spec.title_en,
        subject=row.subject if row else subject, body=row.body if row else body,
        customized=row is not None,
    )  # fmt: skip


def _spec(key: str, language: str) -> catalog.TemplateSpec:
    spec = catalog.BY_KEY.get(key)
    if spec is None or language not in catalog.LANGUAGES:
        raise TemplateNotFound(f"there is no notification template {key!r} in {language!r}")
    return spec


async def get_template(
    session: AsyncSession, *, actor: Actor, key: str, language: str
) -> TemplateView:
    require_admin(actor)
    spec = _spec(key, language)
    return _view(spec, language, await _override(session, key, language))


def preview(*, actor: Actor, key: str, language: str, subject: str, body: str) -> Rendered:
    """The template rendered with the sample context, or ``InvalidTemplate``."""
    require_admin(actor)
    _spec(key, language)
    return _check(subject, body, language)


async def save_template(
    session: AsyncSession, *, actor: Actor, key: str, language: str, subject: str, body: str
) -> TemplateView:
    """Store an admin's version after checking that it renders with every sample value."""
    require_admin(actor)
    spec = _spec(key, language)
    _check(subject, body, language)
    row = await _override(session, key, language)
    now = utcnow()
    if row is None:
        row = NotificationTemplate(key=key, language=language, created_at=now)
        session.add(row)
    row.subject = subject.strip()
    row.body = body
    row.updated_at = now
    row.updated_by_id = actor.id if actor.is_user else None
    await session.flush()
    forget_cached(session)
    return _view(spec, language, row)


async def reset_template(
    session: AsyncSession, *, actor: Actor, key: str, language: str
) -> TemplateView:
    """Forget the admin's version: the default applies again."""
    require_admin(actor)
    spec = _spec(key, language)
    row = await _override(session, key, language)
    if row is not None:
        await session.delete(row)
        await session.flush()
    forget_cached(session)
    return _view(spec, language, None)
