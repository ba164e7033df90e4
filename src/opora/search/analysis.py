"""Pure text analysis shared by indexing and querying. No I/O after the first load."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from importlib import resources

import Stemmer

_TOKEN = re.compile(r"\w+", re.UNICODE)
_CYRILLIC = re.compile(r"[а-я]")
_LATIN = re.compile(r"[a-z]")
MAX_TERM = 60


@cache
def _stemmers() -> tuple[Stemmer.Stemmer, Stemmer.Stemmer]:
    return Stemmer.Stemmer("russian"), Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A word's stem (Russian or English Snowball, by its letters); cached, since the
    same words come back in every document and query."""
    word = word.lower().replace("ё", "е")
    if len(word) > MAX_TERM:
        return word[:MAX_TERM]
    ru, en = _stemmers()
    has_cyr = bool(_CYRILLIC.search(word))
    has_lat = bool(_LATIN.search(word))
    if has_cyr and not has_lat:
        return str(ru.stemWord(word))
    if has_lat and not has_cyr:
        return str(en.stemWord(word))
    return word


def tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t.strip("_")]


def terms(text: str) -> list[str]:
    """The stems of a text, in order, for the index."""
    return [stem(t) for t in tokens(text)]


def index_text(text: str) -> str:
    return " ".join(terms(text))


@cache
def _synonyms() -> dict[str, frozenset[str]]:
    groups: dict[str, frozenset[str]] = {}
    source = resources.files("opora.search").joinpath("synonyms.txt").read_text("utf-8")
    for line in source.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        stems = frozenset(stem(w) for w in re.split(r"[,\s]+", line) if w)
        for s in stems:
            groups[s] = groups.get(s, frozenset()) | stems
    return groups


@cache
def stopwords() -> frozenset[str]:
    """Words too common to tell documents apart (``stopwords.txt``), lower case, ё as е."""
    source = resources.files("opora.search").joinpath("stopwords.txt").read_text("utf-8")
    words: set[str] = set()
    for line in source.splitlines():
        if line.strip().startswith("#"):
            continue
        words.update(w.lower().replace("ё", "е") for w in line.split())
    return frozenset(words)


def synonyms_of(term: str) -> frozenset[str]:
    """The stems meaning the same as the stem ``term`` (``synonyms.txt``), itself included."""
    return _synonyms().get(term, frozenset()) | {term}


def query_groups(query: str) -> list[list[str]]:
    """Each query word becomes a group of alternative stems (itself plus synonyms).

    A document matches when it has at least one stem of every group.
    """
    result: list[list[str]] = []
    seen: set[str] = set()
    for token in tokens(query):
        s = stem(token)
        if s in seen:
            continue
        seen.add(s)
        alternatives = sorted(_synonyms().get(s, frozenset()) | {s})
        result.append(alternatives)
    return result


def fts5_query(groups: list[list[str]]) -> str:
    parts = []
    for group in groups:
        quoted = " OR ".join('"' + g.replace('"', "") + '"' for g in group)
        parts.append(f"({quoted})")
    return " AND ".join(parts)


def tsquery(groups: list[list[str]]) -> str:
    parts = []
    for group in groups:
        safe = ["'" + g.replace("'", "").replace("\\", "") + "'" for g in group]
        parts.append("(" + " | ".join(safe) + ")")
    return " & ".join(parts)
