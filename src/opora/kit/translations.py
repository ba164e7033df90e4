"""Translations: the Babel catalogs in ``opora/locale/<lang>/LC_MESSAGES`` (compiled ``.mo``
files shipped with the package; ``make i18n`` extracts, updates and compiles them), loaded
once per process. Pages (``web/i18n.py``) and emails use them."""

from __future__ import annotations

import functools
from pathlib import Path

from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"


@functools.cache
def translations(lang: str) -> NullTranslations:
    """The catalog for ``lang``; English, the source language, for anything else."""
    if lang not in LANGUAGES:
        lang = DEFAULT_LANGUAGE
    catalog = Translations.load(str(LOCALE_DIR), [lang], DOMAIN)
    if not isinstance(catalog, Translations):
        raise RuntimeError(f"no compiled catalog for {lang!r} in {LOCALE_DIR}; run `make i18n`")
    return catalog


def load_all() -> None:
    """Load every catalog now, so a missing one fails at startup, not on a page."""
    for lang in LANGUAGES:
        translations(lang)
