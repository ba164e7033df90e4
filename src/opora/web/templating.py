"""Jinja2 for the pages: one environment, ``render(request, name, **ctx)``, static files.

Templates live in ``opora/templates`` (partials start with ``_``), static files in
``opora/static``, served at ``/static`` with long cache headers: a URL made by
``static_url`` carries the package version, so a new release is fetched anew.

Every visible string goes through ``_()`` / ``ngettext()`` (``jinja2.ext.i18n``, new-style:
``_("Hello %(name)s", name=user.name)`` autoescapes its arguments). The callables look up
the page's language in the render context (``lang``), or, in a macro file imported
without context (``tickets/_labels.html``, ``views/_badges.html``: Jinja then builds the
module once per process instead of once per import), in the language ``render`` is
rendering in, so one environment serves every language at once.
"""

from __future__ import annotations

import contextvars
import functools
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from opora import __version__
from opora.web import i18n
from opora.web.sessions import csrf_token

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
STATIC_CACHE = "public, max-age=31536000, immutable"


_rendering_language: contextvars.ContextVar[str] = contextvars.ContextVar(
    "opora_rendering_language", default=i18n.DEFAULT_LANGUAGE
)


def _language(context: Context) -> str:
    lang = context.get("lang")
    return lang if isinstance(lang, str) else _rendering_language.get()


@pass_context
def _gettext(context: Context, message: str) -> str:
    return i18n.translations(_language(context)).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return i18n.translations(_language(context)).ngettext(singular, plural, n)


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
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=True
    )
    env.globals["static_url"] = static_url
    env.globals["languages"] = i18n.LANGUAGES
    return env


def page_language(request: Request) -> str:
    user = getattr(request.state, "page_user", None)
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
        "user": getattr(request.state, "page_user", None),
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
