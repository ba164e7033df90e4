"""Quoted history and signatures in incoming email replies: pure functions, no I/O.

`extract_reply` splits a plain-text body into the new part, the quoted history and the
signature; `strip_html_reply` drops the quoted history from raw HTML. Both keep the whole
message when nothing is recognized, when stripping would leave nothing meaningful, and when
the customer forwards a mail (a forwarded message is the request, not history).

Recognized clients, Russian and English: Gmail, Outlook (desktop, web, mobile), Apple Mail
(macOS, iOS), Thunderbird, Yandex Mail, Mail.ru, Yahoo. Patterns are data tables below,
each with the client it comes from. Work is linear in the size of the message: cheap
prefilters pick the few candidate lines, and only short lines are tried as headers.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from html.parser import HTMLParser
from itertools import pairwise

__all__ = ["Reply", "extract_reply", "strip_html_reply"]


@dataclass(frozen=True, slots=True)
class Reply:
    """A plain-text body split into the new part, the quoted history and the signature."""

    text: str  # the new part; the whole (normalized) input when nothing was cut
    quoted: str  # what was cut as quoted history (the attribution line included), or ""
    signature: str  # what was cut as a signature, or ""


# --- patterns ---------------------------------------------------------------------------

# Longer lines are never headers: keeps every match short, so the whole pass stays linear.
_MAX_HEADER_LINE = 400
# An attribution may be wrapped by the sender's client onto this many lines (Gmail wraps at 78).
_MAX_ATTRIBUTION_LINES = 3
# The wrapped lines of an attribution (all but its last) are at least this long.
_MIN_WRAPPED_LINE = 30
# A block after a bare "--" line (no trailing space) is a signature only when this short
# (non-blank lines; twice as many lines in all).
_MAX_BARE_DASH_SIGNATURE = 6

_WEEKDAY = r"(?:[^\W\d_]{2,11}\.?,?\s+)?"  # "Mon, ", "пн, ", "Понедельник, "
_WROTE_RU = r"(?:написал(?:\(а\)|а)?|пишет)"
_EMAIL = r"[^\s<>@:]+@[^\s<>@:]+\.[^\s<>@:]+"

# Attribution lines ("who wrote when") that head a quoted reply. A pattern matches the whole
# line, or the lines a client wrapped it onto joined with a space.
_ATTRIBUTION_PATTERNS: tuple[str, ...] = (
    # Gmail, Thunderbird, Apple Mail (en):
    # "On Mon, 5 Feb 2024 at 10:12, Ivan Petrov <ivan@example.com> wrote:",
    # "On Mon, Feb 5, 2024 at 10:12 AM Ivan …", "On 05.02.2024 10:12, Ivan Petrov wrote:",
    # "On 5 Feb 2024, at 10:12, Ivan Petrov <ivan@example.com> wrote:"
    r"On\s(?=.*\d).*\swrote\s?:",
    # Gmail (ru): "пн, 5 февр. 2024 г. в 10:12, Иван Петров <ivan@example.com>:"
    _WEEKDAY + r"\d{1,2}\s+[^\W\d_]{3,9}\.?\s+\d{4}\s*г\.?,?\s+в\s+\d{1,2}:\d{2},\s+.+:",
    # Gmail (ru, older):
    # "5 февраля 2024 г., 10:12 пользователь Иван Петров <ivan@example.com> написал:"
    _WEEKDAY + r"\d.*\sпользователь\s.+\s" + _WROTE_RU + r"\s?:",
    # Yandex Mail: "05.02.2024, 10:12, "Иван Петров" <ivan@yandex.ru>:"
    _WEEKDAY + r"\d{1,2}\.\d{1,2}\.\d{2,4},\s+\d{1,2}:\d{2}(?::\d{2})?,\s+.+:",
    # Mail.ru: "Понедельник, 5 февраля 2024, 10:12 +03:00 от Иван Петров <ivan@mail.ru>:"
    r"[^\W\d_]+,\s+\d{1,2}\s+[^\W\d_]+\.?\s+\d{4},\s+\d{1,2}:\d{2}"
    r"(?:\s+[+-]\d{2}:?\d{2})?\s+(?:от|from)\s+.+:",
    # Thunderbird (ru): "05.02.2024 10:12, Иван Петров пишет:";
    # Apple Mail (ru): "5 февр. 2024 г., в 10:12, Иван Петров <ivan@example.com> написал(а):"
    _WEEKDAY + r"\d.*\s" + _WROTE_RU + r"\s?:",
    # Gmail in other locales, Google Groups: "2024-02-05 10:12 GMT+03:00 Ivan <ivan@x.com>:"
    _WEEKDAY + r"\d(?=.*\d{1,2}:\d{2}).*<" + _EMAIL + r">\s?:",
    # Thunderbird, Outlook for Mac and others without a date:
    # "Ivan Petrov <ivan@example.com> wrote:", "Иван Петров пишет:"
    r"(?:[^\s:]+\s+){0,8}[<(\[]?" + _EMAIL + r"[>)\]]?\s+(?:wrote|" + _WROTE_RU + r")\s?:",
    r"(?:[^\s:]+\s+){1,4}(?:wrote|" + _WROTE_RU + r")\s?:",
)
_ATTRIBUTION = re.compile("|".join(f"(?:{p})" for p in _ATTRIBUTION_PATTERNS), re.IGNORECASE)
# Every attribution above has one of these; lines without any are not tried.
_ATTRIBUTION_HINT = re.compile(r"\d:\d\d|wrote|пишет|написал", re.IGNORECASE)
# Where a wrapped attribution may start: "On …", a date, or a weekday and a date.
_ATTRIBUTION_START = re.compile(r"On\s|" + _WEEKDAY + r"\d", re.IGNORECASE)
# A looser attribution, accepted only right above a run of quoted lines at the very end.
_LOOSE_ATTRIBUTION = re.compile(r"\bwrote\b|\bwrites\b|\bsaid\b|пишет|написал|@", re.I)

# Outlook (en/ru), Outlook Express, Android clients: "-----Original Message-----".
_ORIGINAL_MESSAGE = re.compile(
    r"-{2,}\s*(?:Original Message|Reply Message|Исходное сообщение|Ответное сообщение)\s*-{2,}",
    re.IGNORECASE,
)
# Outlook (desktop, web, iOS/Android): a line of underscores above the header block.
_UNDERSCORES = re.compile(r"_{8,}")
# A dashed separator line above Yandex's "Кому: … / Тема: …" lines.
_SEPARATOR = re.compile(r"[-_=]{4,}")
# Outlook header block lines (en/ru): "From: / Sent: / To: / Cc: / Subject:",
# "От: / Отправлено: / Кому: / Копия: / Тема:", and "Date: / Дата:" (Outlook for Mac).
_HEADER_NAMES = r"(From|Sent|Date|To|Cc|Subject|Reply-To|От|Отправлено|Дата|Кому|Копия|Тема)"
_HEADER_LINE = re.compile(r"\*{0,2}" + _HEADER_NAMES + r"\s?:\*{0,2}(?:\s|$)", re.IGNORECASE)
_HEADER_KEYS = {
    "from": "from", "от": "from",
    "sent": "date", "date": "date", "отправлено": "date", "дата": "date",
    "to": "to", "кому": "to", "reply-to": "to",
    "cc": "cc", "копия": "cc",
    "subject": "subject", "тема": "subject",
}  # fmt: skip
# Bodies without any of these (lowercased) have no Outlook block; the regex is not run.
_ORIGINAL_KEYWORDS = (
    "original message",
    "reply message",
    "исходное сообщение",
    "ответное сообщение",
)
_OUTLOOK_KEYWORDS = (*_ORIGINAL_KEYWORDS, "sent:", "date:", "отправлено:", "дата:")
_UNDERSCORE_RUN = "_" * 8
# Lines that may start an Outlook block, found in one pass over the body: the "Original
# Message" title, a line of underscores, or "From:" / "От:" with two header lines below.
_OUTLOOK_LINE = re.compile(
    r"^[ \t\xa0*_>]*" + _ORIGINAL_MESSAGE.pattern
    + r"|^[ \t\xa0]*_{8,}[ \t\xa0]*$"
    + r"|^[ \t\xa0]*\*{0,2}(?:From|От)[ \t]?:[^\n]*(?:\n[ \t\xa0]*\*{0,2}" + _HEADER_NAMES
    + r"[ \t]?:[^\n]*){2}",
    re.IGNORECASE | re.MULTILINE,
)  # fmt: skip

# Forwarded messages: never stripped, the forwarded content is the request.
_FORWARD_PATTERNS: tuple[str, ...] = (
    # Gmail "---------- Forwarded message ---------" (en) and
    # "---------- Пересылаемое сообщение ---------" (ru); Thunderbird
    # "-------- Forwarded Message --------" / "-------- Перенаправленное сообщение --------";
    # Yandex and Mail.ru "-------- Пересылаемое сообщение --------"
    r"-{2,}[ \t]*(?:Forwarded message|Пересылаемое сообщение|Пересланное сообщение"
    r"|Перенаправленное сообщение|Переадресованное сообщение)[ \t]*-{2,}",
    # Apple Mail: "Begin forwarded message:", "Начало переадресованного сообщения:"
    r"(?:Begin forwarded message|Начало (?:переадресованного|пересланного|пересылаемого)"
    r" сообщения)[ \t]?:",
)
_FORWARD = re.compile("|".join(f"(?:{p})" for p in _FORWARD_PATTERNS), re.IGNORECASE)
# Bodies without any of these (lowercased) forward nothing; the regex is not run.
_FORWARD_KEYWORDS = ("forward", "пересыл", "переслан", "перенаправ", "переадрес")
# A forward marker on an unquoted line of a body, found in one pass over the whole text.
_FORWARD_LINE = re.compile(
    r"^[ \t*_\xa0]*(?:" + _FORWARD.pattern + r")[ \t*_\xa0]*$", re.IGNORECASE | re.MULTILINE
)

# Signature delimiter "-- " (RFC 3676); a no-break space when the text came from HTML.
_SIGNATURE_DELIMITER = re.compile(r"--[ \t\xa0]+")
# Automatic signatures of mobile and desktop apps, cut when they end the new part.
_MOBILE_SIGNATURE_PATTERNS: tuple[str, ...] = (
    # iOS Mail, Android clients: "Sent from my iPhone", "Sent from my iPad"
    r"Sent from my \S.{0,40}",
    # Windows Mail: "Sent from Mail for Windows", "Sent from Mail for Windows 10"
    r"Sent from Mail for Windows(?: \d+)?",
    # Outlook for iOS/Android: "Get Outlook for iOS<https://aka.ms/o0ukef>"
    r"Get Outlook for (?:iOS|Android)\b.{0,100}",
    r"(?:Получить|Загрузить) Outlook для (?:iOS|Android)\b.{0,100}",
    # Yahoo, Yandex, Proton, AOL, Samsung, Outlook apps (en)
    r"Sent from (?:Yahoo Mail|Yandex ?\.?Mail|Proton ?Mail|AOL|Samsung|Outlook)\b.{0,60}",
    r"Sent (?:with|via) (?:Proton ?Mail|Spark|Airmail|BlackBerry)\b.{0,60}",
    # iOS Mail (ru): "Отправлено с iPhone"; Android clients: "Отправлено с мобильного"
    r"Отправлено с (?:моего )?(?:iPhone|iPad|мобильного|телефона|смартфона|устройства"
    r"|Android|Samsung|Huawei|Xiaomi|Honor)\b.{0,60}",
    # Mail.ru app: "Отправлено из мобильной Почты Mail.ru"
    r"Отправлено из (?:мобильной )?Почты Mail(?:\.ru)?",
    # Yandex Mail app: "Отправлено из Яндекс.Почты",
    # "Отправлено из мобильного приложения Яндекс.Почты", "… Яндекс Почты для Android"
    r"Отправлено из (?:мобильного приложения |приложения )?Яндекс[ .]?Почты\b.{0,60}",
    # Windows Mail (ru): "Отправлено из приложения Почта для Windows"
    r"Отправлено из (?:приложения )?Почт[аы] для Windows.{0,12}",
)
_MOBILE_SIGNATURE = re.compile(
    "|".join(f"(?:{p})" for p in _MOBILE_SIGNATURE_PATTERNS), re.IGNORECASE
)

# Lines the plain-text pass looks at, found in one pass over the whole body each.
_COLON_LINE = re.compile(r":[ \t\xa0]*$", re.MULTILINE)
_DELIMITER_LINE = re.compile(r"^" + _SIGNATURE_DELIMITER.pattern + r"$", re.MULTILINE)

_QUOTE_PREFIX = re.compile(r"(?:\s*>)+\s*")
# Anything besides whitespace and separator punctuation.
_MEANINGFUL = re.compile(r"[^\s\-_=*>~#|.,:;]")


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _meaningful(text: str) -> bool:
    return _MEANINGFUL.search(text) is not None


def _unquote(line: str) -> str:
    match = _QUOTE_PREFIX.match(line)
    return _collapse(line[match.end() :] if match else line)


def _join_wrapped(parts: list[str]) -> str:
    """Join an attribution a client wrapped onto several lines."""
    joined = _collapse(" ".join(parts))
    return joined.replace("< ", "<").replace(" >", ">")


def _is_attribution(candidate: str) -> bool:
    if len(candidate) > _MAX_HEADER_LINE * _MAX_ATTRIBUTION_LINES:
        return False
    return bool(_ATTRIBUTION_HINT.search(candidate) and _ATTRIBUTION.fullmatch(candidate))


def _is_wrapped_start(parts: list[str]) -> bool:
    """Whether lines ending in `parts[-1]` may be one attribution a client wrapped."""
    if not _ATTRIBUTION_START.match(parts[0]):
        return False
    # a later line that is a whole attribution by itself starts the quote, not this one
    return not any(
        _ATTRIBUTION_START.match(parts[k]) and _is_attribution(_join_wrapped(parts[k:]))
        for k in range(1, len(parts))
    )


def _header_key(line: str) -> str | None:
    if len(line) > _MAX_HEADER_LINE:
        return None
    match = _HEADER_LINE.match(line.strip())
    return _HEADER_KEYS[match.group(1).lower()] if match else None


# --- plain text -------------------------------------------------------------------------

_EMPTY, _TEXT, _QUOTE = 0, 1, 2


def _kinds(lines: list[str]) -> list[int]:
    return [
        _EMPTY if not line or line.isspace() else _QUOTE if line.startswith((">", " >")) else _TEXT
        for line in lines
    ]


def _trim(lines: list[str]) -> list[str]:
    """Drop blank lines at both ends."""
    text = "\n".join(lines)
    rest = text.lstrip()
    if not rest:
        return []
    start = text.rfind("\n", 0, len(text) - len(rest)) + 1
    end = text.find("\n", len(text.rstrip()))
    return text[start : len(text) if end < 0 else end].split("\n")


def _line_indexes(text: str, pattern: re.Pattern[str], start: int = 0) -> list[int]:
    """The indexes of the lines of `text` where `pattern` matches (once per line)."""
    indexes: list[int] = []
    line = text.count("\n", 0, start)
    for match in pattern.finditer(text, start):
        line += text.count("\n", start, match.start())
        start = match.start()
        if not indexes or indexes[-1] != line:
            indexes.append(line)
    return indexes


def _forward_line(text: str, n: int) -> int:
    """The index of the first unquoted forward marker line in `text`, or `n`."""
    lowered = text.lower()
    if not any(keyword in lowered for keyword in _FORWARD_KEYWORDS):
        return n
    match = _FORWARD_LINE.search(text)
    return text.count("\n", 0, match.start()) if match else n


def _outlook_lines(text: str) -> set[int]:
    """The lines that may start an Outlook separator or header block."""
    lowered = text.lower()
    if not (any(keyword in lowered for keyword in _OUTLOOK_KEYWORDS) or _UNDERSCORE_RUN in text):
        return set()
    return set(_line_indexes(text, _OUTLOOK_LINE))


class _Lines:
    """The body's lines with their kinds and the indexes the rules look up."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.text = text = "\n".join(lines)
        self.n = n = len(lines)
        self.kinds = kinds = _kinds(lines)
        # where runs of quoted lines start (a run may hold blank lines)
        self.quotes = (
            [
                i
                for i, kind in enumerate(kinds)
                if kind == _QUOTE and (not i or kinds[i - 1] != kind)
            ]
            if _QUOTE in kinds
            else []
        )
        self.colons = set(_line_indexes(text, _COLON_LINE))
        self.outlook = _outlook_lines(text)
        self.attributions = self._attributions()
        backwards = kinds[::-1]
        self.last_quote = n - 1 - backwards.index(_QUOTE) if _QUOTE in kinds else -1
        self.first_text = self._next_text(kinds, range(n))
        self.last_text = n - 1 - self._next_text(backwards, range(n - 1, -1, -1))

    def _next_text(self, kinds: list[int], order: range) -> int:
        """How far along `order` the first line with meaningful text is (len if none)."""
        k = 0
        while True:
            try:
                k = kinds.index(_TEXT, k)
            except ValueError:
                return len(order)
            if _meaningful(self.lines[order[k]]):
                return k
            k += 1

    def skip_empty(self, i: int) -> int:
        while i < self.n and self.kinds[i] == _EMPTY:
            i += 1
        return i

    def quote_run_end(self, i: int) -> int:
        """The index after the last quoted line of the run of quoted and blank lines at i."""
        try:
            end = self.kinds.index(_TEXT, i)
        except ValueError:
            end = self.n
        while end > i and self.kinds[end - 1] != _QUOTE:
            end -= 1
        return end

    def _attributions(self) -> dict[int, int]:
        """Attributions by the line they start at: how many lines (wrapped) each takes."""
        found: dict[int, int] = {}
        lines, kinds, colons = self.lines, self.kinds, self.colons
        for end in sorted(colons):
            if kinds[end] != _TEXT or len(lines[end]) > _MAX_HEADER_LINE:
                continue
            for length in range(_MAX_ATTRIBUTION_LINES, 0, -1):  # the longest window first
                start = end - length + 1
                if length > 1 and (
                    start < 0
                    or any(
                        kinds[j] != _TEXT
                        or j in colons
                        # clients wrap near 72-78 columns; a short line ends a sentence
                        or not _MIN_WRAPPED_LINE <= len(lines[j]) <= _MAX_HEADER_LINE
                        for j in range(start, end)
                    )
                    or not _ATTRIBUTION_START.match(lines[start].lstrip())
                ):
                    continue
                parts = [line.strip() for line in lines[start : end + 1]]
                if length > 1 and not _is_wrapped_start(parts):
                    continue
                if _is_attribution(_join_wrapped(parts)):
                    found[start] = length
                    break
        return found

    def outlook_header_at(self, i: int) -> bool:
        """An Outlook-style separator or "From: / Sent: / To: / Subject:" block at line i."""
        line = self.lines[i].strip()
        if len(line) > _MAX_HEADER_LINE:
            return False
        if _ORIGINAL_MESSAGE.fullmatch(_collapse(line).strip("*_> ")):
            return True
        if _UNDERSCORES.fullmatch(line):
            i = self.skip_empty(i + 1)
            if i >= self.n or self.kinds[i] != _TEXT:
                return False
        if _header_key(self.lines[i]) != "from":
            return False
        keys = set()
        for j in range(i + 1, min(self.n, i + 10)):
            if self.kinds[j] != _TEXT:
                break
            key = _header_key(self.lines[j])
            if key == "from":
                break  # the next block starts
            if key:
                keys.add(key)
        return "date" in keys and bool(keys & {"to", "subject"})

    def headers_above(self, i: int) -> int:
        """Extend an attribution at line i up over Yandex's "Кому: / Тема:" lines."""
        start, j = i, i - 1
        while j >= 0 and i - j <= 6 and self.kinds[j] == _TEXT and _header_key(self.lines[j]):
            start, j = j, j - 1
        if j >= 0 and self.kinds[j] == _TEXT and _SEPARATOR.fullmatch(self.lines[j].strip()):
            start = j
        return start

    def loose_attribution_above(self, i: int) -> int:
        """Line i, or the loose attribution line right above it (one blank line allowed)."""
        j = i - 1
        if j >= 0 and self.kinds[j] == _EMPTY:
            j -= 1
        if j < 0 or self.kinds[j] != _TEXT or len(self.lines[j]) > _MAX_HEADER_LINE:
            return i
        line = self.lines[j].rstrip()
        return j if line.endswith(":") and _LOOSE_ATTRIBUTION.search(line) else i


def _find_quote(body: _Lines) -> tuple[int, int] | None:
    """The span of lines [start, end) holding the quoted history, or None to keep all."""
    n, kinds = body.n, body.kinds
    limit = _forward_line(body.text, n)  # a forwarded message below is the request itself
    interleaved = False  # a quoted run with new text after it was kept already
    events = sorted({*body.quotes, *body.outlook, *body.attributions})  # the lines to look at
    i = 0
    for event in events:
        if event < i:
            continue
        if event >= limit:
            break
        i = event
        if kinds[i] == _QUOTE:
            end = body.quote_run_end(i)
            attributed = _is_attribution(_unquote(body.lines[i]))
            text_before = body.first_text < i
            if body.last_quote >= end:  # more quotes below: the answers are interleaved
                if attributed or not text_before:
                    return None
                interleaved = True
            elif not text_before:  # the quote comes first: a bottom-posted reply
                return (i, end)
            elif body.last_text < end:  # the quote ends the message
                if interleaved:
                    return None
                start = body.loose_attribution_above(i)
                count = kinds[i:end].count(_QUOTE)
                return (start, end) if start < i or attributed or count >= 2 else None
            elif attributed:  # a quoted attribution and its quote between new text
                return (i, end)
            else:  # a ">" line inside the text: keep it
                interleaved = True
            i = end
        elif kinds[i] == _TEXT:
            if i in body.outlook and body.outlook_header_at(i):
                return (i, n)
            length = body.attributions.get(i, 0)
            if length:
                j = body.skip_empty(i + length)
                if j < n and kinds[j] == _QUOTE:
                    end = body.quote_run_end(j)
                    return None if body.last_quote >= end else (body.headers_above(i), end)
                if j < n and kinds[j] == _TEXT and body.outlook_header_at(j):
                    return (i, n)
    return None


def _find_signature(lines: list[str]) -> int | None:
    """The index of the line a trailing signature starts at, or None."""
    n = len(lines)
    text = "\n".join(lines)
    if _forward_line(text, n) < n:
        return None  # a signature above a forwarded message is not at the end
    at = max(text.rfind("\n>"), text.rfind("\n >"))
    last_quote = text.count("\n", 0, at) + 1 if at >= 0 else -1
    if last_quote < 0 and text.startswith((">", " >")):
        last_quote = 0
    after_quote = text.find("\n", at + 1) + 1 if at >= 0 else 0
    delimiter = _DELIMITER_LINE.search(text, after_quote) if after_quote or at < 0 else None
    cuts = [text.count("\n", 0, delimiter.start())] if delimiter else []
    # a bare "--" counts only before a short block, so only near the end
    block = 0
    for i in range(n - 1, max(last_quote, n - 2 * _MAX_BARE_DASH_SIGNATURE - 2), -1):
        if lines[i].strip() == "--" and 0 < block <= _MAX_BARE_DASH_SIGNATURE:
            cuts.append(i)
        block += bool(lines[i].strip())
    if cuts:
        return min(cuts)
    last = n - 1
    if last <= last_quote or len(lines[last]) > _MAX_HEADER_LINE:
        return None
    return last if _MOBILE_SIGNATURE.fullmatch(_collapse(lines[last])) else None


def _normalize(text: str) -> list[str]:
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return _trim(text.split("\n"))


def extract_reply(text: str) -> Reply:
    """Split a plain-text email body into the new part, the quoted history and the signature.

    The whole body (line ends normalized, blank lines at both ends dropped) is the `text`
    when nothing is recognized, when the body forwards a message, or when cutting would
    leave nothing meaningful.
    """
    lines = _normalize(text)
    whole = "\n".join(lines)
    span = _find_quote(_Lines(lines))
    quoted: list[str] = []
    new = lines
    if span:
        start, end = span
        before, after = _trim(lines[:start]), _trim(lines[end:])
        new = [*before, "", *after] if before and after else before + after
        quoted = _trim(lines[start:end])
    signature: list[str] = []
    cut = _find_signature(new)
    if cut is not None:
        signature = _trim(new[cut:])
        new = _trim(new[:cut])
    result = "\n".join(new)
    if not (quoted or signature) or not _meaningful(result):
        return Reply(text=whole, quoted="", signature="")
    return Reply(text=result, quoted="\n".join(quoted), signature="\n".join(signature))


# --- HTML -------------------------------------------------------------------------------

_VOID = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta",
    "param", "source", "track", "wbr",
})  # fmt: skip
_INVISIBLE = frozenset({"head", "script", "style", "template", "title"})
# Tags that break a line of text, so an attribution is told from the text around it.
_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "center", "dd", "details",
    "div", "dl", "dt", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})  # fmt: skip
# Outlook desktop (2007–2016+, en/ru locales): the styled div around "From: … Sent: …".
_OUTLOOK_HEADER_STYLE = re.compile(
    r"border:\s*none;\s*border-top:\s*solid\s+#(?:E1E1E1|B5C4DF)\s+1(?:\.0)?pt", re.IGNORECASE
)
# Windows 10 Mail: the header block's top border.
_WINDOWS_MAIL_HEADER_STYLE = re.compile(
    r"padding-top:\s*5px;\s*border-top-color:\s*rgb\(229,\s*229,\s*229\)", re.IGNORECASE
)
# Ids after which everything is quoted history: Outlook on the web "appendonsend" and
# "divRplyFwdMsg", the new Outlook "mail-editor-reference-message-container", Outlook.com
# "stopSpelling", Outlook for Mac "OLK_SRC_BODY_SECTION". Exchange may prefix ids with "x_".
_REST_IDS = frozenset({
    "appendonsend", "divRplyFwdMsg", "mail-editor-reference-message-container", "stopSpelling",
    "OLK_SRC_BODY_SECTION",
})  # fmt: skip
# Ids of quote containers: the Mail.ru apps' "composeWebView_previouse_content" (sic) and
# "mail-app-auto-quote".
_QUOTE_IDS = frozenset({"composeWebView_previouse_content", "mail-app-auto-quote"})
# Class prefixes of quote containers: Gmail "gmail_quote" (and "gmail_quote_container"),
# Mail.ru web "mail-quote-collapse" (also "…_mr_css_attr"), Proton Mail "protonmail_quote";
# and a class part: Yahoo "yahoo_quoted" (also "ydp…yahoo_quoted").
_QUOTE_CLASSES = ("gmail_quote", "mail-quote-collapse", "protonmail_quote")
_QUOTE_CLASS_PARTS = ("yahoo_quoted",)
# Thunderbird's attribution above <blockquote type="cite">.
_CITE_PREFIX_CLASS = "moz-cite-prefix"
# HTML without any of these (lowercased) has nothing to strip and is not parsed at all.
_HTML_MARKERS = (
    "<blockquote", "border-top", *(name.lower() for name in _REST_IDS | _QUOTE_IDS),
    *_QUOTE_CLASSES, *_QUOTE_CLASS_PARTS, *_ORIGINAL_KEYWORDS,
)  # fmt: skip


@dataclass(slots=True, eq=False)
class _Element:
    tag: str
    attrs: dict[str, str]
    start: int  # offset of "<"
    open_end: int  # offset after the start tag
    parent: _Element | None
    close_start: int = -1  # offset of the end tag, or where the element was closed implicitly
    end: int = -1  # offset after the end tag
    explicit: bool = False  # closed by its own end tag
    children: list[_Element] = field(default_factory=list)
    index: int = 0  # the position among the parent's children

    def previous(self) -> _Element | None:
        """The previous sibling element."""
        if self.parent is None or not self.index:
            return None
        return self.parent.children[self.index - 1]

    def tokens(self) -> list[str]:
        return [token.removeprefix("x_") for token in self.attrs.get("class", "").split()]

    def ident(self) -> str:
        return self.attrs.get("id", "").strip().removeprefix("x_")


class _Document(HTMLParser):
    """A forgiving tree of element offsets and a flat flow of text and line breaks.

    The flow is three parallel lists: where each piece starts, its text ("" for a line
    break: a block boundary or <br>), and whether it is visible (not in head, script, style).
    """

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self._line_starts = [0]
        at = source.find("\n")
        while at != -1:
            self._line_starts.append(at + 1)
            at = source.find("\n", at + 1)
        self.root = _Element("#root", {}, 0, 0, None)
        self._stack = [self.root]
        self._open: dict[str, list[int]] = {}  # tag -> depths in the stack where it is open
        self._hidden = 0
        self.elements: list[_Element] = []
        self.starts: list[int] = []
        self.texts: list[str] = []
        self.shown: list[bool] = []
        self.feed(source)
        self.close()
        for element in self._stack[1:]:
            element.close_start = element.end = len(source)

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def _flow(self, start: int, text: str, shown: bool) -> None:
        self.starts.append(start)
        self.texts.append(text)
        self.shown.append(shown)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._offset()
        raw = self.get_starttag_text() or ""
        parent = self._stack[-1]
        values = {name: value or "" for name, value in attrs}
        element = _Element(tag, values, start, start + len(raw), parent, index=len(parent.children))
        parent.children.append(element)
        self.elements.append(element)
        if tag in _BLOCK:
            self._flow(start, "", True)
        if tag in _VOID or raw.endswith("/>"):
            element.close_start = element.end = element.open_end
            element.explicit = True
            return
        self._open.setdefault(tag, []).append(len(self._stack))
        self._stack.append(element)
        self._hidden += tag in _INVISIBLE

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        start = self._offset()
        if tag in _BLOCK:
            self._flow(start, "", True)
        depths = self._open.get(tag)
        if not depths:
            return  # a stray end tag
        stack, depth = self._stack, depths[-1]
        for element in stack[depth:]:  # the ones left open close here too
            element.close_start = element.end = start
            self._hidden -= element.tag in _INVISIBLE
            self._open[element.tag].pop()
        close = self.source.find(">", start)
        stack[depth].end = len(self.source) if close == -1 else close + 1
        stack[depth].explicit = True
        del stack[depth:]

    def handle_data(self, data: str) -> None:
        self._flow(self._offset(), data, not self._hidden)

    # --- queries ------------------------------------------------------------------------

    def first_text(self, start: int, end: int) -> int:
        """Where the first visible non-blank text in [start, end) starts, or -1."""
        for k in range(bisect_left(self.starts, start), len(self.starts)):
            if self.starts[k] >= end:
                return -1
            if self.shown[k] and self.texts[k].strip():
                return self.starts[k]
        return -1

    def has_text(self, start: int, end: int) -> bool:
        """Whether [start, end) holds meaningful visible text."""
        for k in range(bisect_left(self.starts, start), len(self.starts)):
            if self.starts[k] >= end:
                return False
            if self.shown[k] and _meaningful(self.texts[k]):
                return True
        return False

    def line_before(self, at: int) -> tuple[int, str] | None:
        """The last visual line of text before offset `at`: its start and its text."""
        k = bisect_left(self.starts, at) - 1
        parts: list[str] = []
        start = at
        stop = max(-1, k - 64)  # a header line is near; never walk the whole document
        while k > stop:
            text = self.texts[k]
            if not text:
                if parts:
                    break
            elif self.shown[k] and (parts or text.strip()):
                parts.append(text)
                start = self.starts[k]
            k -= 1
        if not parts:
            return None
        return start, _collapse("".join(reversed(parts)))

    def visible_texts(self) -> list[tuple[int, str]]:
        """Every visible piece of text with its start."""
        return [
            (start, text)
            for start, text, shown in zip(self.starts, self.texts, self.shown, strict=True)
            if shown and text
        ]


def _attribution_start(doc: _Document, element: _Element) -> int | None:
    """Where the attribution above a quote container starts (with Yandex's header lines)."""
    previous = element.previous()
    start: int | None = None
    if (
        previous is not None
        and any(token.startswith(_CITE_PREFIX_CLASS) for token in previous.tokens())
        and not doc.has_text(previous.end, element.start)
    ):
        start = previous.start
    else:
        line = doc.line_before(element.start)
        if line is None or not _is_attribution(line[1]):
            return None
        start = line[0]
    for _ in range(6):
        line = doc.line_before(start)
        if line is None or not (_header_key(line[1]) or _SEPARATOR.fullmatch(line[1])):
            break
        start = line[0]
    return start


def _rest_start(doc: _Document, element: _Element) -> int | None:
    """Where "everything after" starts for an Outlook marker element, or None."""
    ident = element.ident()
    style = element.attrs.get("style", "")
    if ident == "divRplyFwdMsg":
        previous = element.previous()
        if (
            previous is not None
            and previous.tag == "hr"
            and not doc.has_text(previous.end, element.start)
        ):
            return previous.start
    if ident in _REST_IDS:
        return element.start
    if element.tag == "div" and (
        _OUTLOOK_HEADER_STYLE.search(style) or _WINDOWS_MAIL_HEADER_STYLE.search(style)
    ):
        return element.start
    return None


def _is_quote_container(element: _Element) -> bool:
    tokens = element.tokens()
    if any(token.startswith(_QUOTE_CLASSES) for token in tokens):
        return True
    if any(part in token for token in tokens for part in _QUOTE_CLASS_PARTS):
        return True
    if element.ident() in _QUOTE_IDS:
        return True
    return element.tag == "blockquote" and element.attrs.get("type", "").lower() == "cite"


def _original_message_start(doc: _Document, quotes: _Ranges) -> int | None:
    """The offset of a "-----Original Message-----" separator outside the quotes, or None."""
    lowered = doc.source.lower()
    if not any(keyword in lowered for keyword in _ORIGINAL_KEYWORDS):
        return None
    for start, text in doc.visible_texts():
        if len(text) > 2000 or not _ORIGINAL_MESSAGE.search(text) or quotes.holds(start):
            continue
        end = doc.source.find("<", start)
        match = _ORIGINAL_MESSAGE.search(doc.source, start, len(doc.source) if end < 0 else end)
        return match.start() if match else start
    return None


class _Ranges:
    """Sorted, merged [start, end) offset ranges with a fast membership test."""

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        merged: list[list[int]] = []
        for start, end in sorted(ranges):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.spans = [(start, end) for start, end in merged]
        self.starts = [start for start, _ in merged]

    def find(self, offset: int) -> int:
        """The index of the range holding `offset`, or -1."""
        k = bisect_right(self.starts, offset) - 1
        return k if k >= 0 and offset < self.spans[k][1] else -1

    def holds(self, offset: int) -> bool:
        return self.find(offset) >= 0


def _remove(doc: _Document, ranges: _Ranges) -> str:
    """Cut the ranges out of the source, keeping the tags that hold the rest together."""
    kept: list[list[tuple[int, int]]] = [[] for _ in ranges.spans]
    for element in doc.elements:
        k = ranges.find(element.close_start)
        if k >= 0 and element.explicit and element.close_start < element.end:
            start, end = ranges.spans[k]
            if element.start < start and element.end <= end:  # its end tag closes a kept part
                kept[k].append((element.close_start, element.end))
        k = ranges.find(element.start)
        if k >= 0 and element.end > ranges.spans[k][1]:  # opens inside a cut, goes on after it
            kept[k].append((element.start, element.open_end))
    out: list[str] = []
    position = 0
    source = doc.source
    for (start, end), pieces in zip(ranges.spans, kept, strict=True):
        out.append(source[position:start])
        out.extend(source[a:b] for a, b in sorted(pieces))
        position = end
    out.append(source[position:])
    return "".join(out)


def strip_html_reply(html: str) -> str:
    """Remove the quoted history from a raw HTML email body.

    Returns the input unchanged when no quote container is recognized, when the body
    forwards a message, when replies are interleaved with several quotes, or when nothing
    visible would remain. Never raises on broken HTML.
    """
    try:
        return _strip_html(html)
    except Exception:  # a parser quirk on hostile markup must not lose the message
        return html


def _strip_html(html: str) -> str:
    lowered = html.lower()
    if not any(marker in lowered for marker in _HTML_MARKERS):
        return html
    doc = _Document(html)
    texts = doc.visible_texts()
    forwards = (
        [start for start, text in texts if _FORWARD_LINE.search(text)]
        if any(keyword in lowered for keyword in _FORWARD_KEYWORDS)
        else []
    )
    quotes: list[tuple[int, int]] = []  # (cut start, end) of the quote containers, in order
    rest: int | None = None  # everything from here on is quoted history
    covered = -1  # the end of the last quote container taken
    for element in doc.elements:
        if element.start < covered:
            continue
        rest = _rest_start(doc, element)
        if rest is not None:
            break
        if element.tag != "blockquote" and not _is_quote_container(element):
            continue
        start = _attribution_start(doc, element)
        if start is None:
            if not _is_quote_container(element):
                continue  # a bare <blockquote> without an attribution is an indent
            start = element.start
        quotes.append((start, element.end))
        covered = element.end
    original = _original_message_start(doc, _Ranges(quotes))
    if original is not None and (rest is None or original < rest):
        rest = original
    if rest is not None:
        quotes = [quote for quote in quotes if quote[0] < rest]

    # A forwarded message is the request: stop at the first forward not inside a quote.
    accepted: list[tuple[int, int]] = []
    f = 0
    for start, end in quotes:
        while f < len(forwards) and accepted and forwards[f] < accepted[-1][1]:
            f += 1  # inside a quote taken already
        forward = forwards[f] if f < len(forwards) else len(html)
        if forward < start or (forward < end and doc.first_text(start, end) == forward):
            rest = None
            break
        accepted.append((start, end))
    if rest is not None:
        while f < len(forwards) and accepted and forwards[f] < accepted[-1][1]:
            f += 1
        if f < len(forwards) and (
            forwards[f] < rest or doc.first_text(rest, len(html)) == forwards[f]
        ):
            rest = None
    for (_, end), (start, _) in pairwise(accepted):
        if doc.has_text(end, start):
            return html  # answers between quotes: an interleaved reply
    if rest is not None:
        accepted.append((rest, len(html)))
    if not accepted:
        return html
    ranges = _Ranges(accepted)
    if not any(_meaningful(text) and not ranges.holds(start) for start, text in texts):
        return html
    return _remove(doc, ranges)
