"""Language choice and catalogs (src/opora/web/i18n.py)."""

from __future__ import annotations

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from opora.web import i18n


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("en-GB,en;q=0.9,ru;q=0.8", "en"),
        ("de-DE,de;q=0.9", None),
        ("de, ru;q=0.5", "ru"),
        ("en;q=0.4, ru;q=0.6", "ru"),
        ("ru;q=0", None),
        ("ru;q=abc, en", "en"),
        ("", None),
    ],
)
def test_negotiate(header: str, expected: str | None) -> None:
    assert i18n.negotiate(header) == expected


def test_every_catalog_loads() -> None:
    i18n.load_all()
    assert i18n.translations("ru").gettext("Sign in") == "Войти"
    assert i18n.translations("en").gettext("Sign in") == "Sign in"
    assert i18n.translations("xx").gettext("Sign in") == "Sign in"


def test_every_russian_message_is_translated() -> None:
    with (i18n.LOCALE_DIR / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert untranslated == []
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert fuzzy == []


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_the_compiled_catalog_matches_its_source(lang: str) -> None:
    """`make i18n` was run after the last edit of the .po file: the .mo holds the same
    translations (compared message by message, not byte by byte: the header names the
    Babel version that compiled it)."""
    from babel.messages.mofile import read_mo

    folder = i18n.LOCALE_DIR / lang / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as f:
        source = read_po(f)
    with (folder / "messages.mo").open("rb") as f:
        compiled = read_mo(f)

    def pairs(catalog: Catalog) -> dict[object, object]:
        def key(value: object) -> object:  # plural forms: a tuple in one, a list in the other
            return tuple(value) if isinstance(value, list | tuple) else value

        def translated(value: object) -> bool:
            return any(value) if isinstance(value, list | tuple) else bool(value)

        return {
            key(m.id): key(m.string)
            for m in catalog
            # write_mo stores an untranslated plural as its msgid: that is no translation
            if m.id and translated(m.string) and not m.fuzzy and key(m.string) != key(m.id)
        }

    assert pairs(compiled) == pairs(source)


def test_every_string_of_the_pages_is_in_the_catalog() -> None:
    """`make i18n` was run after the last new `_()` in a template or module."""
    from babel.messages.extract import extract_from_dir

    root = i18n.LOCALE_DIR.parent
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(root), method_map, options_map=options
    ):
        found.add(message if isinstance(message, str) else message[0])
    with (i18n.LOCALE_DIR / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    assert found - known == set()
