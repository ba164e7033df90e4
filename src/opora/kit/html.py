"""HTML from outside (mail, the API): sanitized for display, turned into plain text, and
an email's cid: links resolved.

``html_to_text`` is our own small converter: the maintained ones either pull in lxml or are
GPL-licensed, and the standard library's ``html.parser`` takes quadratic time on some
malformed input (a minute for 60 KB of unclosed ``<a``), which a mail parser cannot afford.
Its tokenizer is one forward scan with ``re`` and ``html.unescape``. It renders what a mail
reader shows, as text a person would have typed: block elements and ``<br>`` break lines,
paragraphs are separated by a blank line, list items start with "- " (or "1. "), links read
"text (url)", table cells are joined by " | ", and ``<blockquote>`` lines start with "> " so
that quoted history can be found in the text as in a plain-text reply. Word and Outlook
HTML (``<o:p>``, ``MsoNormal`` paragraphs, conditional comments) comes out single-spaced,
as Outlook shows it.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import nh3

__all__ = ["cid_references", "html_to_text", "rewrite_cid", "sanitize_html"]

ALLOWED_TAGS = frozenset(
    {"a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl",
     "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
     "ol", "p", "pre", "q", "s", "small", "span", "strike", "strong", "sub", "sup", "table",
     "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"}
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "cid"})
# Elements removed together with their content (the rest of a disallowed tag's text stays).
_DROP_WITH_CONTENT = frozenset(
    {"script", "style", "head", "title", "template", "iframe", "object", "embed", "select",
     "textarea", "button", "svg", "math", "noscript"}
)  # fmt: skip


_CLEAN_OPTIONS: dict[str, Any] = {
    "tags": set(ALLOWED_TAGS),
    "clean_content_tags": set(_DROP_WITH_CONTENT),
    "attributes": ALLOWED_ATTRIBUTES,
    "url_schemes": set(URL_SCHEMES),
    "link_rel": "noopener noreferrer nofollow",
    "set_tag_attribute_values": {"a": {"target": "_blank"}},
    "strip_comments": True,
}
# Building the allowlists costs more than cleaning a short mail: build them once (nh3 0.3+).
_CLEANER = nh3.Cleaner(**_CLEAN_OPTIONS) if hasattr(nh3, "Cleaner") else None


_DEPTH_CHECK_FROM = 2000  # tags; below this even the deepest nesting cleans in milliseconds
_MAX_DEPTH = 200
_NESTING_TAG = re.compile(r"<(/?)([A-Za-z][\w:-]*)[^<>]*>?")
# Void elements and those the parser closes by itself never nest deeply.
_NOT_NESTING = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "tbody", "thead",
     "tfoot", "colgroup"}
)  # fmt: skip


def _limit_depth(html: str) -> str:
    """Drop the tags nested deeper than _MAX_DEPTH (their text stays).

    The sanitizer's tree building is quadratic in the nesting depth: 40,000 nested divs,
    200 KB of mail, would take seconds.
    """
    depth = 0

    def keep(match: re.Match[str]) -> str:
        nonlocal depth
        if match.group(2).lower() in _NOT_NESTING:
            return match.group(0)
        if match.group(1):
            deep = depth > _MAX_DEPTH
            depth = max(depth - 1, 0)
        else:
            depth += 1
            deep = depth > _MAX_DEPTH
        return "" if deep else match.group(0)

    return _NESTING_TAG.sub(keep, html)


def sanitize_html(html: str) -> str:
    """Safe HTML for showing a mail: layout kept; scripts, styles, forms and handlers gone.

    ``style`` and ``class`` attributes are dropped, ``font`` and other unknown tags are
    unwrapped (their text stays), URLs may only be http, https, mailto or cid (inline
    images), and links open in a new tab with ``rel="noopener noreferrer nofollow"``.
    """
    if not html:
        return ""
    html = html.replace("\x00", "")
    if html.count("<") > _DEPTH_CHECK_FROM:
        html = _limit_depth(html)
    if _CLEANER is not None:
        return _CLEANER.clean(html)
    return nh3.clean(html, **_CLEAN_OPTIONS)


# --- cid: links ---------------------------------------------------------------------------

_CID_SRC = re.compile(
    r"""(\bsrc\s*=\s*)(?:"\s*cid:([^"]*)"|'\s*cid:([^']*)'|cid:([^\s"'>]+))""", re.IGNORECASE
)
_HAS_CID = re.compile("cid:", re.IGNORECASE)
_CID_ANY = re.compile(r"""(?:(?<=["'=(\s])|^)cid:([^\s"'<>)]+)""", re.IGNORECASE)


def _cid_key(value: str) -> str:
    return unquote(_html.unescape(value)).strip().strip("<>").strip()


def cid_references(html: str) -> set[str]:
    """The Content-IDs (without ``<>``) that ``html`` refers to with ``cid:`` URLs."""
    if not _HAS_CID.search(html):
        return set()
    return {key for key in map(_cid_key, _CID_ANY.findall(html)) if key}


def rewrite_cid(html: str, urls: Mapping[str, str]) -> str:
    """Point ``src="cid:X"`` at ``urls[X]``; unknown Content-IDs are left as they are.

    The scheme is matched in any case and the value quoted in any way; ``X`` is looked up
    as written, then URL-decoded and without ``<>``, then ignoring case.
    """
    if not urls or not _HAS_CID.search(html):
        return html
    folded = {key.strip().strip("<>").lower(): url for key, url in urls.items()}

    def replace(match: re.Match[str]) -> str:
        raw = match.group(2) or match.group(3) or match.group(4) or ""
        url = urls.get(raw)
        if url is None:
            key = _cid_key(raw)
            url = urls.get(key) or folded.get(key.lower())
        if url is None:
            return match.group(0)
        return f'{match.group(1)}"{_html.escape(url, quote=True)}"'

    return _CID_SRC.sub(replace, html)


# --- html to text -------------------------------------------------------------------------

_PARAGRAPHS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "ul", "ol", "dl", "table", "hr", "figure"}
)
_LINES = frozenset(
    {"div", "li", "tr", "dt", "dd", "section", "article", "header", "footer", "nav", "aside",
     "address", "figcaption", "center", "main", "form", "fieldset", "legend", "caption",
     "details", "summary", "option", "body", "html", "tbody", "thead", "tfoot"}
)  # fmt: skip
_SKIP = frozenset({"script", "style", "title", "template", "xml", "svg", "math", "object"})
_SPACES = re.compile(r"[ \t\n\r\f\v]+")
_SHOWN_SCHEMES = ("http://", "https://", "ftp://", "mailto:", "tel:")
_URL_NOISE = re.compile(r"^(?:https?://|ftp://|mailto:|tel:)?(?:www\.)?|/+$", re.IGNORECASE)


_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)([^>]*)>")
_ATTRIBUTE = re.compile(r"""([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]*)))?""")
_RAW_TEXT_END = {
    name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in ("script", "style", "title")
}
_MAX_INDENT = 10  # list levels and quote levels shown; deeper ones are drawn at this depth


def _attributes(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _ATTRIBUTE.finditer(text):
        value = match.group(2) or match.group(3) or match.group(4) or ""
        found.setdefault(match.group(1).lower(), _html.unescape(value))
    return found


class _TextConverter:
    """Collects the text of an HTML document line by line (see the module docstring).

    The tokenizer is a single forward scan (every regex is anchored and stops at the next
    ``>``), so the work stays linear on any input. Quoted attribute values containing ``>``
    end the tag early, a price paid for that.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []  # finished lines, quote prefix included
        self.line: list[str] = []  # pieces of the current line
        self.line_depth = 0  # quote depth of the current line
        self.last_depth = 0  # quote depth of the last finished line with text
        self.breaks = 0  # line breaks wanted before the next text
        self.newlines = 2  # line breaks since the last text (none wanted at the start)
        self.space = False  # collapsed whitespace waiting before the next text
        self.skip = 0
        self.in_head = False
        self.pre = 0
        self.pre_start = False
        self.quote = 0
        self.lists: list[list[int]] = []  # [ordered, counter] per open list
        self.bullet = ""
        self.links: list[tuple[str, list[str]]] = []
        self.cells: list[int] = []  # cells seen in the current row, per open table
        self.cell_gap = False
        self.paragraph_breaks = 2  # 1 inside Word's single-spaced MsoNormal paragraphs

    def feed(self, html: str) -> None:
        """Tokenize ``html`` in one forward pass and render it."""
        size = len(html)
        position = 0
        end = -1  # the first ">" after the current "<" (">" positions only move forward)
        while position < size:
            start = html.find("<", position)
            if start < 0:
                self.handle_data(html[position:])
                return
            if start > position:
                self.handle_data(html[position:start])
            if end <= start:
                end = html.find(">", start + 1)
            if end < 0:  # no tag can follow: the rest is text
                self.handle_data(html[start:])
                return
            if html.startswith("<!--", start):
                close = html.find("-->", start + 4)
                position = size if close < 0 else close + 3
            elif html[start + 1 : start + 2] in ("!", "?"):  # doctype, <![if ...]>, <?xml ?>
                position = end + 1
            elif (match := _TAG.match(html, start, end + 1)) is not None:
                position = end + 1
                closing, name, rest = match.groups()
                tag = name.lower()
                if closing:
                    self.handle_endtag(tag)
                    continue
                self.handle_starttag(tag, _attributes(rest) if tag in ("a", "p") else {})
                if rest.endswith("/"):
                    self.handle_endtag(tag)
                elif tag in _RAW_TEXT_END:  # content is not markup: skip to the end tag
                    found = _RAW_TEXT_END[tag].search(html, position)
                    position = found.end() if found else size
                    self.handle_endtag(tag)
            else:
                self.handle_data("<")
                position = start + 1

    # structure

    def _block(self, breaks: int) -> None:
        self.breaks = max(self.breaks, breaks)
        self.space = False
        self.cell_gap = False

    def _finish_line(self) -> None:
        if self.line:
            text = "".join(self.line).rstrip()
            depth = min(self.line_depth, _MAX_INDENT)
            self.lines.append("> " * depth + text if text else ">" * depth)
            self.last_depth = self.line_depth
            self.line = []
        else:
            self.lines.append(("> " * min(self.quote, self.last_depth, _MAX_INDENT)).rstrip())
        self.newlines += 1

    def _resolve_breaks(self) -> None:
        while self.newlines < self.breaks:
            self._finish_line()
        self.breaks = 0

    def _put(self, text: str) -> None:
        if self.breaks:
            self._resolve_breaks()
        if not self.line:
            self.line_depth = self.quote
            if self.bullet:
                self.line.append(self.bullet)
                self.bullet = ""
        elif self.cell_gap:
            self.line.append(" | ")
        elif self.space:
            self.line.append(" ")
        for _href, parts in self.links:
            if parts and (self.space or self.cell_gap):
                parts.append(" ")
            parts.append(text)
        self.line.append(text)
        self.newlines = 0
        self.space = False
        self.cell_gap = False

    # parser callbacks

    def handle_starttag(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "head":
            self.in_head = True
            return
        if tag == "body":
            self.in_head = False
            self.skip = 0
        if tag in _SKIP:
            self.skip += 1
            return
        if self.skip or self.in_head:
            return
        if tag == "br":
            self._resolve_breaks()
            self._finish_line()
            self.space = False
        elif tag == "p":
            classes = attrs.get("class", "").lower()
            self.paragraph_breaks = 1 if "mso" in classes else 2
            self._block(self.paragraph_breaks)
        elif tag == "blockquote":
            self._block(2)
            self.quote += 1
        elif tag in ("ul", "ol"):
            self._block(1 if self.lists else 2)
            self.lists.append([tag == "ol", 0])
        elif tag == "li":
            self._block(1)
            indent = "  " * min(max(len(self.lists) - 1, 0), _MAX_INDENT)
            if self.lists and self.lists[-1][0]:
                self.lists[-1][1] += 1
                self.bullet = f"{indent}{self.lists[-1][1]}. "
            else:
                self.bullet = f"{indent}- "
        elif tag == "pre":
            self._block(2)
            self.pre += 1
            self.pre_start = True
        elif tag == "hr":
            self._block(2)
            self._put("---")
            self._block(2)
        elif tag == "table":
            self._block(2)
            self.cells.append(0)
        elif tag == "tr":
            self._block(1)
            if self.cells:
                self.cells[-1] = 0
        elif tag in ("td", "th"):
            if self.cells:
                self.cells[-1] += 1
                if self.cells[-1] > 1 and not self.breaks and self.line:
                    self.cell_gap = True
        elif tag == "a":
            href = attrs.get("href", "").strip()
            self.links.append((href, []))
        elif tag in _PARAGRAPHS:
            self._block(2)
        elif tag in _LINES:
            self._block(1)

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False
            return
        if tag in _SKIP:
            self.skip = max(self.skip - 1, 0)
            return
        if self.skip or self.in_head:
            return
        if tag == "blockquote":
            self._block(2)
            self.quote = max(self.quote - 1, 0)
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self._block(1 if self.lists else 2)
        elif tag == "pre":
            self.pre = max(self.pre - 1, 0)
            self._block(2)
        elif tag == "table":
            if self.cells:
                self.cells.pop()
            self._block(2)
        elif tag == "a":
            if self.links:
                href, parts = self.links.pop()
                self._link_target(href, "".join(parts))
        elif tag == "p":
            self._block(self.paragraph_breaks)
        elif tag in _PARAGRAPHS:
            self._block(2)
        elif tag in _LINES:
            self._block(1)

    def _link_target(self, href: str, text: str) -> None:
        if not text.strip() or not href.lower().startswith(_SHOWN_SCHEMES):
            return
        target = href[7:] if href.lower().startswith("mailto:") else href
        if _URL_NOISE.sub("", target).lower() in _URL_NOISE.sub("", text.strip()).lower():
            return
        self.space = True
        self._put(f"({target})")

    def handle_data(self, data: str) -> None:
        if self.skip or self.in_head or not data:
            return
        if "&" in data:
            data = _html.unescape(data)
        if self.pre:
            self._pre_text(data)
            return
        text = _SPACES.sub(" ", data)
        if text.startswith(" "):
            self.space = True
        stripped = text.strip(" ")
        if stripped:
            self._put(stripped)
            self.space = text.endswith(" ")

    def _pre_text(self, data: str) -> None:
        data = data.replace("\r\n", "\n").replace("\r", "\n")
        if self.pre_start:
            self.pre_start = False
            if data.startswith("\n"):
                data = data[1:]
        for i, segment in enumerate(data.split("\n")):
            if i:
                if not self.line and self.breaks:
                    self._resolve_breaks()
                self._finish_line()
            if not segment:
                continue
            if self.line:
                self.line.append(segment)
                self.newlines = 0
            else:
                self._put(segment)

    def text(self) -> str:
        if self.line:
            self._finish_line()
        return "\n".join(self.lines)


_BLANK_RUNS = re.compile(r"\n{3,}")
_CONTROL = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])
_CONTROL[0xA0] = " "
_HAS_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\xa0]")


def html_to_text(html: str) -> str:
    """The plain text a reader sees in ``html`` (see the module docstring for the rules)."""
    if not html:
        return ""
    converter = _TextConverter()
    converter.feed(html)
    text = converter.text()
    if _HAS_CONTROL.search(text):
        text = text.translate(_CONTROL)
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")
