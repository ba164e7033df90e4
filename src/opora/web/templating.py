"""Jinja2 for the pages: one environment, ``render(request, name, **ctx)``, static files.

Templates live in ``opora/templates`` (partials start with ``_``), static files in
``opora/static``, served at ``/static`` with long cache headers: a URL made by
``static_url`` carries the package version, so a new release is fetched anew.

Every visible string goes through ``_()`` / ``ngettext()`` (``jinja2.ext.i18n``'s syntax,
new-style: ``_("Hello %(name)s", name=user.name)`` autoescapes its arguments, and the
string is always %-formatted, so a literal ``%`` is written ``%%``). The callables are our
own plain functions rather than the extension's context-passing wrappers (a page calls
them a few hundred times; the wrappers cost four context calls each). They translate into
the language ``render`` is rendering in (a context variable), so one environment serves
every language at once, in macro files imported without context too
(``tickets/_labels.html``: Jinja builds it once per process).
Names of stored values (status, priority, type, channel) come from ``kit/labels.py``.

Templates are not re-read when they change on disk unless ``OPORA_TEMPLATES_AUTO_RELOAD``
is set (a stat per template per render otherwise).
"""

from __future__ import annotations

import contextvars
import functools
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from sqlalchemy.orm.exc import DetachedInstanceError
from starlette.requests import Request
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from opora import __version__
from opora.kit import labels
from opora.kit.html import rewrite_cid
from opora.web import i18n
from opora.web.sessions import csrf_token

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
STATIC_CACHE = "public, max-age=31536000, immutable"


_rendering_language: contextvars.ContextVar[str] = contextvars.ContextVar(
    "opora_rendering_language", default=i18n.DEFAULT_LANGUAGE
)


def rendering_language() -> str:
    """The language of the page being rendered (English outside ``render``)."""
    return _rendering_language.get()


def _gettext(message: str, /, **variables: Any) -> Markup:
    """``_()`` in a template: translated, autoescaped, %-formatted (jinja2's new style)."""
    rv = Markup(i18n.translations(_rendering_language.get()).gettext(message))
    return rv % variables


def _ngettext(singular: str, plural: str, num: int, /, **variables: Any) -> Markup:
    """``ngettext()`` in a template; ``num`` is also a format variable, as in jinja2."""
    variables.setdefault("num", num)
    rv = Markup(i18n.translations(_rendering_language.get()).ngettext(singular, plural, num))
    return rv % variables


def static_url(path: str) -> str:
    return f"/static/{path}?v={__version__}"


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=bool(os.environ.get("OPORA_TEMPLATES_AUTO_RELOAD")),
    )
    # the extension's syntax ({% trans %} is not used) with our plain callables
    env.globals.update(_=_gettext, gettext=_gettext, ngettext=_ngettext)
    env.globals["static_url"] = static_url
    env.globals["languages"] = i18n.LANGUAGES
    env.globals["label_of"] = label_of
    env.globals["status_badge"] = status_badge
    env.globals["priority_badge"] = priority_badge
    env.globals["email_html"] = email_html
    return env


def email_html(html: str, attachments: Any, base_url: str) -> Markup:
    """A message's stored HTML (sanitized when it came in) with its inline images
    (``cid:``) pointing at their attachments under ``base_url``."""
    urls = {a.content_id: f"{base_url}{a.id}" for a in attachments if a.content_id}
    # the HTML was sanitized (nh3) when the message came in; it is stored only that way
    return Markup(rewrite_cid(html, urls) if urls else html)


def label_of(kind: str, value: str) -> str:
    """The name of a stored value (``label_of("status", "on_hold")``) in the page's language."""
    return labels.label(_rendering_language.get(), kind, value)


def status_badge(value: str) -> Markup:
    """Status as a labelled badge: the text says it, the colour only helps."""
    return Markup('<span class="badge badge-status-%s">%s</span>') % (
        value,
        labels.label(_rendering_language.get(), "status", value),
    )


def priority_badge(value: str) -> Markup:
    return Markup('<span class="badge badge-priority-%s">%s</span>') % (
        value,
        labels.label(_rendering_language.get(), "priority", value),
    )


def _page_user(request: Request) -> Any:
    """The signed-in user of the page, or None. When the request's transaction failed
    (an error page is being rendered), the user row was expired by the rollback and can
    no longer be read: the error page is then drawn as for a visitor."""
    user = getattr(request.state, "page_user", None)
    if user is None:
        return None
    try:
        user.language  # noqa: B018 (loads the row's attributes, or fails when detached)
    except DetachedInstanceError:
        return None
    return user


def page_language(request: Request) -> str:
    user = _page_user(request)
    return i18n.request_language(request, user.language if user is not None else None)


def render(
    request: Request,
    name: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``templates/<name>`` in the page's language, with the signed-in user
    (``user``, or None), the CSRF token and the request in the context."""
    lang = context.pop("lang", None) or page_language(request)
    values: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "user": _page_user(request),
        "csrf_token": csrf_token(request),
        **context,
    }
    token = _rendering_language.set(lang)
    try:
        html = environment().get_template(name).render(values)
    finally:
        _rendering_language.reset(token)
    return HTMLResponse(html, status_code=status_code, headers=headers)


class CachedStaticFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Any:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = STATIC_CACHE
        return response


def mount_static(app: FastAPI) -> None:
    app.mount("/static", CachedStaticFiles(directory=STATIC_DIR), name="static")
