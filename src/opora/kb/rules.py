"""Pure decisions of the knowledge base: slugs, how well an article answers a query,
and the passages shown with the matched words marked. No I/O."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from html import escape

from opora.search.analysis import stem, stopwords, synonyms_of, tokens

_WORD = re.compile(r"(\w+)", re.UNICODE)
_TRANSLIT = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
})  # fmt: skip
SNIPPET_WORDS = 28


def slugify(title: str) -> str:
    """``Сброс пароля`` → ``sbros-parolya``: for readable article URLs (the id decides)."""
    words = re.findall(r"[a-z0-9]+", title.lower().translate(_TRANSLIT))
    return "-".join(words)[:80].strip("-")


@dataclass(frozen=True, slots=True)
class QueryGroup:
    """One word of a query: the stems that count as it (itself, synonyms, corrections)."""

    word: str
    stems: frozenset[str]
    prefix: bool = False  # the last word while the customer is still typing it


def query_words(query: str) -> list[str]:
    """The words of a query that tell articles apart (not «не», «в», "how"), or all of
    them when the query has nothing else; each once."""
    words = list(dict.fromkeys(t.replace("ё", "е") for t in tokens(query)))
    meaningful = [w for w in words if w not in stopwords()]
    return meaningful or words


def query_groups(query: str, *, typing: bool = False) -> list[QueryGroup]:
    words = query_words(query)
    groups = []
    for i, word in enumerate(words):
        s = stem(word)
        prefix = typing and i == len(words) - 1 and query == query.rstrip()
        groups.append(QueryGroup(word=word, stems=synonyms_of(s), prefix=prefix))
    return groups


@dataclass(frozen=True, slots=True)
class Candidate:
    translation_id: int
    article_id: int
    locale: str
    title: str
    terms: str  # the indexed terms: the title's, then the body's
    views: int
    helpful: int
    unhelpful: int
    db_rank: int  # its place in the database's own ranking (0: first)


def _hit(group: QueryGroup, found: Collection[str], prefixes: Sequence[str]) -> bool:
    if not group.stems.isdisjoint(found):
        return True
    return group.prefix and any(p.startswith(s) for s in group.stems for p in prefixes)


def score(candidate: Candidate, groups: Sequence[QueryGroup]) -> tuple[float, float]:
    """How well the candidate answers the query: (coverage, score). Coverage is the share
    of the query's words the article has (in the title or text); the score adds words in
    the title, the database's rank, and a little popularity and helpfulness."""
    if not groups:
        return 0.0, 0.0
    title_stems = {stem(t) for t in tokens(candidate.title)}
    body = candidate.terms.split()
    body_set = set(body)
    in_title = in_body = 0
    for group in groups:
        if _hit(group, title_stems, tuple(title_stems)):
            in_title += 1
            in_body += 1
        elif _hit(group, body_set, body if group.prefix else ()):
            in_body += 1
    coverage = in_body / len(groups)
    votes = candidate.helpful - candidate.unhelpful
    value = (
        coverage * 100
        + in_title / len(groups) * 30
        + max(0.0, 10 - candidate.db_rank * 0.05)
        + math.log1p(max(candidate.views, 0)) * 0.5
        + max(min(votes, 20), -20) * 0.2
    )
    return coverage, value


def _spaces(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def marked(text: str, groups: Sequence[QueryGroup], *, words: int | None = None) -> str:
    """``text`` as HTML with the words of the query in ``<mark>``: the whole text, or the
    passage of ``words`` words holding the most of them (with "…" where it was cut)."""
    parts = _WORD.split(text)
    # parts alternate: separator, word, separator, word, ..., separator
    hits = []
    for i in range(1, len(parts), 2):
        s = stem(parts[i])
        hits.append(any(s in g.stems or (g.prefix and any(s.startswith(p) for p in g.stems))
                        for g in groups))  # fmt: skip
    first, last = 0, len(hits)
    if words is not None and len(hits) > words:
        best, best_at = -1, 0
        running = sum(hits[:words])
        for start in range(0, len(hits) - words + 1):
            if start:
                running += hits[start + words - 1] - hits[start - 1]
            if running > best:
                best, best_at = running, start
        # start a few words before the first marked word of the best passage
        first_hit = next((i for i in range(best_at, best_at + words) if hits[i]), best_at)
        first = max(0, min(first_hit - 3, len(hits) - words)) if best > 0 else 0
        last = min(len(hits), first + words)
    out = [escape(_spaces(parts[0]))] if first == 0 else []
    for w in range(first, last):
        if w > first:
            out.append(escape(_spaces(parts[2 * w])))
        word = escape(parts[2 * w + 1])
        out.append(f"<mark>{word}</mark>" if hits[w] else word)
    if last == len(hits):
        out.append(escape(_spaces(parts[-1])))
    html = "".join(out).strip()
    if first > 0:
        html = "… " + html
    if last < len(hits):
        html += " …"
    return html
