"""Translations for the pages: Babel catalogs in ``opora/locale/<lang>/LC_MESSAGES``.

The catalogs are compiled ``.mo`` files shipped with the package (``make i18n`` extracts,
updates and compiles them). They are loaded once per process; a page picks its language
with ``request_language``: the signed-in user's language, else the ``lang`` cookie, else
the browser's ``Accept-Language``, else English.
"""

from __future__ import annotations

from starlette.requests import Request

from opora.kit.translations import (
    DEFAULT_LANGUAGE,
    DOMAIN,
    LANGUAGES,
    LOCALE_DIR,
    load_all,
    translations,
)

__all__ = ["DEFAULT_LANGUAGE", "DOMAIN", "LANGUAGES", "LOCALE_DIR", "load_all", "translations"]
LANG_COOKIE = "lang"


def supported(lang: str | None) -> str | None:
    if not lang:
        return None
    lang = lang.strip().lower()[:2]
    return lang if lang in LANGUAGES else None


def negotiate(accept_language: str) -> str | None:
    """The best of our languages in an ``Accept-Language`` header, by its q-values."""
    best: tuple[float, str] | None = None
    for index, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        lang = supported(tag.split("-")[0])
        if lang is None:
            continue
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        if q <= 0:
            continue
        key = (q - index * 1e-6, lang)  # equal q: the earlier one wins
        if best is None or key[0] > best[0]:
            best = key
    return best[1] if best else None


def request_language(request: Request, user_language: str | None = None) -> str:
    return (
        supported(user_language)
        or supported(request.cookies.get(LANG_COOKIE))
        or negotiate(request.headers.get("accept-language", ""))
        or DEFAULT_LANGUAGE
    )
