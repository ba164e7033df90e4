"""Raw mail in, ``ParsedEmail`` out: a pure function, no database, no network.

``parse_email`` reads whatever real mail servers deliver and never raises on it (only on
empty input): broken, folded or duplicate headers, bad base64, wrong, missing or unknown
charsets, 8-bit headers, nested multiparts. Problems are recorded in ``defects``.

How the MIME tree becomes a message:

- The body text is the text/plain part (the last one of a multipart/alternative), else the
  text derived from the HTML part; inline text parts of a multipart/mixed are joined (Apple
  Mail splits the text around inline images). ``format=flowed`` text is unwrapped.
- Everything else is an attachment: parts with a file name or ``Content-Disposition:
  attachment`` (text ones too), text/calendar invitations, winmail.dat (application/ms-tnef),
  forwarded messages (message/rfc822, kept whole and not merged into the text), delivery
  reports. An image is ``inline`` only when the HTML refers to its Content-ID.
- Signed mail (multipart/signed): the signed content is read; the signature part is dropped,
  as it means nothing to an agent and its check belongs elsewhere.
- Encrypted mail (multipart/encrypted, S/MIME enveloped-data) and opaque-signed S/MIME:
  the encrypted part is kept as an attachment, the text is empty, a defect says why.
- Automatic mail is classified (``AutoKind``) from its headers, and bounces are read into a
  ``Bounce`` from the DSN (RFC 3464) or, failing that, from the text of the notice.

The MIME structure comes from the standard library (``email.message_from_bytes`` with
``policy.default``, its header values left raw); headers and parameters are decoded here
(``charsets.py``), since the header registry rejects much of what real clients send and
re-parses a header on every access.
"""

from __future__ import annotations

import base64
import binascii
import email
import io
import quopri
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.generator import BytesGenerator
from email.message import Message
from email.policy import Compat32, EmailPolicy
from email.utils import getaddresses, parsedate_to_datetime
from enum import StrEnum
from urllib.parse import unquote_to_bytes

from opora.channels.email.charsets import (
    decode_bytes,
    decode_header,
    normalize_charset,
    raw_header_text,
)
from opora.kit.html import cid_references, html_to_text, sanitize_html

__all__ = [
    "Address",
    "AutoKind",
    "Bounce",
    "EmailParseError",
    "ParsedAttachment",
    "ParsedEmail",
    "parse_email",
]


class AutoKind(StrEnum):
    AUTO_REPLIED = "auto_replied"  # vacation / out-of-office replies
    AUTO_GENERATED = "auto_generated"  # notifications from robots, read receipts
    BULK = "bulk"  # newsletters and other mass mail
    LIST = "list"  # mailing-list traffic
    BOUNCE = "bounce"  # delivery failures and delays


@dataclass(frozen=True, slots=True)
class Address:
    name: str  # display name, decoded; "" if none
    email: str  # local part as written, domain lower-cased; exactly one "@"


@dataclass(frozen=True, slots=True)
class ParsedAttachment:
    filename: str  # decoded and made safe; never empty
    content_type: str  # lower-case "type/subtype"
    data: bytes  # decoded payload; for message/rfc822 the embedded message's bytes
    content_id: str | None  # without <>
    inline: bool  # True when the HTML refers to it by cid:


@dataclass(frozen=True, slots=True)
class Bounce:
    original_message_id: str | None  # Message-ID (without <>) of the message that bounced
    recipient: str | None  # the address that failed
    status: str | None  # enhanced status code, e.g. "5.1.1"
    action: str | None  # "failed", "delayed", ...
    diagnostic: str  # the reason as the server gave it (at most 500 characters)
    permanent: bool  # False for delays and 4.x.x codes


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    sender: Address | None
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    delivered_to: tuple[str, ...]
    subject: str
    date: datetime | None
    text: str
    html: str | None
    attachments: tuple[ParsedAttachment, ...]
    auto: AutoKind | None
    auto_reason: str | None
    bounce: Bounce | None
    defects: tuple[str, ...]
    size: int
    headers: Mapping[str, str]
    # The HTML part before sanitizing, for code that must see its structure (quote
    # stripping); never show it. None when the message has no HTML part.
    raw_html: str | None = None


class EmailParseError(ValueError):
    """The input is not an email at all (empty)."""


# Headers kept in ParsedEmail.headers, when present.
KEPT_HEADERS = (
    "Return-Path",
    "X-Mailer",
    "User-Agent",
    "Auto-Submitted",
    "Precedence",
    "X-Opora-Ticket",
    "List-Id",
    "List-Unsubscribe",
    "X-Auto-Response-Suppress",
    "X-Autoreply",
    "X-Autorespond",
    "X-Failed-Recipients",
)
_MAX_DEPTH = 40
_MAX_ID = 900
_MAX_FILENAME = 255
_MAX_DIAGNOSTIC = 500


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse one raw message (RFC 5322 bytes as received); see the module docstring."""
    raw = bytes(raw)
    if not raw.strip():
        raise EmailParseError("empty message")
    defects: list[str] = []
    message = _parse_mime(raw, defects)
    headers = _Headers(message)
    hint = _charset_hint(message)

    ctx = _Context(hint=hint, linesep="\r\n" if b"\r\n" in raw[:8192] else "\n")
    texts = _Texts()
    try:
        _walk(message, texts, ctx, 0, resource=False)
    except Exception as exc:  # a bug or an input we did not foresee: keep what we have
        ctx.defects.append(f"internal error while reading the MIME parts: {exc!r}")

    subject = _subject(headers, hint, defects)
    message_id = _message_id(headers, defects)
    sender = _first(_addresses(headers.all("from"), hint, defects))
    if sender is None:
        defects.append("no usable From address" if headers.all("from") else "no From header")
    date = _date(headers.first("date"), defects)

    raw_html = "\n".join(texts.html) if texts.html else None
    plain = "\n".join(texts.plain)
    if plain.strip():
        text = _clean_text(plain)
    elif raw_html is not None:
        text = _clean_text(html_to_text(raw_html))
    else:
        text = _clean_text(plain)
    if "\x00" in plain or (raw_html is not None and "\x00" in raw_html):
        defects.append("NUL characters removed from the text")

    referenced = cid_references(raw_html) if raw_html else set()
    attachments = tuple(_finish_attachments(ctx.attachments, referenced))

    parsed_headers = _kept_headers(headers, hint)
    auto, reason = _classify(headers, sender, subject, ctx)
    bounce = None
    if auto is AutoKind.BOUNCE and reason != _NULL_SENDER:  # a null sender alone tells little
        bounce = _bounce(headers, sender, subject, text, ctx)
    in_reply_to = _ids(headers.all("in-reply-to"))
    references = _ids(headers.all("references"))

    for name in ("Subject", "From", "Date", "Message-ID"):
        if len(headers.all(name.lower())) > 1:
            defects.append(f"duplicate {name} header; the first one used")
    return ParsedEmail(
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        sender=sender,
        reply_to=_addresses(headers.all("reply-to"), hint, defects),
        to=_addresses(headers.all("to"), hint, defects),
        cc=_addresses(headers.all("cc"), hint, defects),
        delivered_to=_delivered_to(headers, hint),
        subject=subject,
        date=date,
        text=text,
        html=sanitize_html(raw_html).strip() if raw_html is not None else None,
        attachments=attachments,
        auto=auto,
        auto_reason=reason,
        bounce=bounce,
        defects=tuple(dict.fromkeys(defects + ctx.defects)),
        size=len(raw),
        headers=parsed_headers,
        raw_html=raw_html,
    )


# --- the MIME tree ----------------------------------------------------------------------------


class _RawHeaderPolicy(EmailPolicy):
    """``policy.default`` with header values left as the raw strings.

    This module decodes every header it reads itself (tolerating what the header registry
    rejects), and the registry's parsing of each header on every access costs several times
    the rest of the parse: the feed parser asks for Content-Type a dozen times per part.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_POLICY = _RawHeaderPolicy()


def _parse_mime(raw: bytes, defects: list[str]) -> Message:
    try:
        return email.message_from_bytes(raw, policy=_POLICY)
    except Exception as exc:
        defects.append(f"MIME structure unreadable ({type(exc).__name__}); headers read raw")
        return email.message_from_bytes(raw, policy=policy.compat32)


class _Headers:
    """Raw header values by lower-case name, in message order."""

    def __init__(self, message: Message) -> None:
        self.items: list[tuple[str, str]] = [
            (str(name).strip().lower(), value if isinstance(value, str) else str(value))
            for name, value in message.raw_items()
        ]
        self.by_name: dict[str, list[str]] = {}
        for name, value in self.items:
            self.by_name.setdefault(name, []).append(value)

    def all(self, name: str) -> list[str]:
        return self.by_name.get(name, [])

    def first(self, name: str) -> str | None:
        values = self.by_name.get(name)
        return values[0] if values else None

    def text(self, name: str, hint: str | None = None) -> str:
        value = self.first(name)
        return decode_header(value, fallback_charset=hint)[0] if value is not None else ""


@dataclass(slots=True)
class _Texts:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Pending:
    """An attachment before its final file name and inline flag are known."""

    filename: str | None
    content_type: str
    data: bytes
    content_id: str | None
    fallback_name: str | None = None


@dataclass(slots=True)
class _Context:
    hint: str | None
    linesep: str
    attachments: list[_Pending] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    reports: set[str] = field(default_factory=set)
    delivery_status: list[str] = field(default_factory=list)
    original_ids: list[str] = field(default_factory=list)


def _walk(part: Message, texts: _Texts, ctx: _Context, depth: int, *, resource: bool) -> None:
    try:
        _walk_part(part, texts, ctx, depth, resource=resource)
    finally:  # after decoding, which finds defects of its own (bad base64)
        _note_defects(part, ctx)


def _walk_part(part: Message, texts: _Texts, ctx: _Context, depth: int, *, resource: bool) -> None:
    if depth > _MAX_DEPTH:
        ctx.defects.append("MIME parts nested too deep; the rest skipped")
        return
    ctype = _content_type(part)
    if ctype.startswith("message/"):
        _message_part(part, ctype, ctx)
        return
    if part.is_multipart():
        children = _children(part)
        subtype = ctype.partition("/")[2]
        if subtype == "alternative":
            _alternative(children, texts, ctx, depth)
        elif subtype == "related":
            root = _related_root(part, children)
            for child in children:
                _walk(child, texts, ctx, depth + 1, resource=child is not root)
        elif subtype == "signed":
            if children:
                _walk(children[0], texts, ctx, depth + 1, resource=resource)
        elif subtype == "encrypted":
            ctx.defects.append("encrypted message (multipart/encrypted): content not readable")
            for child in children:
                if _content_type(child) != "application/pgp-encrypted":
                    _leaf(child, _content_type(child), texts, ctx, resource=True)
        else:
            if subtype == "report":
                report_type = _params(_raw(part, "content-type")).get("report-type")
                if report_type:
                    ctx.reports.add(report_type[0].strip().lower())
            for child in children:
                _walk(child, texts, ctx, depth + 1, resource=resource)
        return
    if ctype.startswith("multipart/"):
        ctx.defects.append(f"{ctype} without parts; read as text")
        ctype = "text/plain"
    _leaf(part, ctype, texts, ctx, resource=resource)


def _children(part: Message) -> list[Message]:
    """The subparts (or the embedded messages) of ``part``; none for a leaf.

    ``get_payload()`` is only called on containers: on a leaf it decodes the body with the
    declared charset, and raises on a garbage charset name.
    """
    if not part.is_multipart():
        return []
    return [child for child in part.get_payload() if isinstance(child, Message)]


def _alternative(children: list[Message], texts: _Texts, ctx: _Context, depth: int) -> None:
    """Keep the last (best) plain and the last HTML rendering; attachments of all."""
    plain: list[str] = []
    html: list[str] = []
    for child in children:
        sub = _Texts()
        _walk(child, sub, ctx, depth + 1, resource=False)
        if sub.plain:
            plain = sub.plain
        if sub.html:
            html = sub.html
    texts.plain.extend(plain)
    texts.html.extend(html)


def _related_root(part: Message, children: list[Message]) -> Message | None:
    start = _params(_raw(part, "content-type")).get("start")
    if start:
        wanted = start[0].strip().strip("<>")
        for child in children:
            if _content_id(child) == wanted:
                return child
    return children[0] if children else None


_ENCRYPTED_SMIME = frozenset({"application/pkcs7-mime", "application/x-pkcs7-mime"})


def _leaf(part: Message, ctype: str, texts: _Texts, ctx: _Context, *, resource: bool) -> None:
    disposition, disposition_params = _split_value(_raw(part, "content-disposition"))
    type_params = _params(_raw(part, "content-type"))
    filename = _filename(_params_from(disposition_params), type_params, ctx)
    data = _payload(part, ctx)
    body = (
        ctype in ("text/plain", "text/html")
        and not resource
        and filename is None
        and disposition.lower() != "attachment"
    )
    if body:
        charset = _param_value(type_params, "charset")
        if ctype == "text/html" and normalize_charset(charset) is None:
            charset = _meta_charset(data) or charset
        text, defect = decode_bytes(data, charset)
        if defect:
            ctx.defects.append(f"{ctype} part: {defect}")
        if ctype == "text/html":
            texts.html.append(text)
        else:
            if _param_value(type_params, "format").lower() == "flowed":
                delsp = _param_value(type_params, "delsp").lower() == "yes"
                text = _unflow(text, delsp=delsp)
            texts.plain.append(text)
        return
    if ctype in _ENCRYPTED_SMIME:
        smime_type = _param_value(type_params, "smime-type").lower()
        if smime_type == "signed-data":
            ctx.defects.append("opaque-signed S/MIME message: content not extracted")
        else:
            ctx.defects.append("encrypted S/MIME message: content not readable")
    elif ctype == "text/rfc822-headers":
        ctx.original_ids.extend(_ids_in_text(data.decode("utf-8", "replace")))
    ctx.attachments.append(_Pending(filename, ctype, data, _content_id(part)))


def _message_part(part: Message, ctype: str, ctx: _Context) -> None:
    """A message/* part: a forwarded message, a delivery report; always an attachment."""
    _, disposition_params = _split_value(_raw(part, "content-disposition"))
    filename = _filename(_params_from(disposition_params), _params(_raw(part, "content-type")), ctx)
    embedded = _children(part)
    fallback = None
    if ctype in ("message/rfc822", "message/global", "message/news"):
        inner: Message | None = embedded[0] if embedded else None
        if inner is not None:
            data = _flatten(inner, ctx.linesep)
            cte = (_raw(part, "content-transfer-encoding") or "").strip().lower()
            if cte in ("base64", "quoted-printable"):  # not allowed, but sent
                data = _decode_transfer(data, cte)
                inner = _parse_mime(data, [])
        else:
            data = _payload(part, ctx)
            inner = _parse_mime(data, []) if data.strip() else None
        if inner is not None:
            inner_headers = _Headers(inner)
            subject = inner_headers.text("subject", ctx.hint)
            if subject:
                fallback = subject.replace("/", "_").replace("\\", "_") + ".eml"
            ctx.original_ids.extend(_ids(inner_headers.all("message-id")))
        fallback = fallback or "message.eml"
    elif embedded:  # message/delivery-status and the like: blocks of fields
        data = b"".join(_flatten(block, ctx.linesep) for block in embedded)
    else:
        data = _payload(part, ctx)
    if ctype in ("message/delivery-status", "message/global-delivery-status"):
        ctx.delivery_status.append(data.decode("utf-8", "replace"))
    ctx.attachments.append(_Pending(filename, ctype, data, _content_id(part), fallback))


class _VerbatimPolicy(Compat32):
    """Writes parsed headers back exactly as they came, folding and 8-bit bytes included."""

    def fold_binary(self, name: str, value: str) -> bytes:
        return f"{name}: {value}{self.linesep}".encode("utf-8", "surrogateescape")


_VERBATIM = {"\r\n": _VerbatimPolicy(linesep="\r\n"), "\n": _VerbatimPolicy(linesep="\n")}


def _flatten(message: Message, linesep: str) -> bytes:
    """The bytes of a parsed (sub)message as they came."""
    buffer = io.BytesIO()
    try:
        BytesGenerator(buffer, mangle_from_=False, policy=_VERBATIM[linesep]).flatten(message)
    except Exception:
        return b""
    return buffer.getvalue()


def _decode_transfer(data: bytes, cte: str) -> bytes:
    if cte == "base64":
        cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
        cleaned = cleaned[: len(cleaned) - len(cleaned) % 4 if len(cleaned) % 4 == 1 else None]
        try:
            return base64.b64decode(cleaned + b"=" * (-len(cleaned) % 4))
        except binascii.Error:
            return data
    return quopri.decodestring(data)


def _payload(part: Message, ctx: _Context) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:
        ctx.defects.append(f"undecodable part body ({type(exc).__name__})")
        return b""
    return data if isinstance(data, bytes) else b""


def _note_defects(part: Message, ctx: _Context) -> None:
    for defect in getattr(part, "defects", ()):
        name = type(defect).__name__.removesuffix("Defect")
        ctx.defects.append(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).lower())


_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")


def _content_type(part: Message) -> str:
    try:
        ctype = part.get_content_type()
    except Exception:
        value = _split_value(_raw(part, "content-type"))[0].lower()
        ctype = value if _CONTENT_TYPE.fullmatch(value) else "text/plain"
    return ctype.lower()


def _raw(part: Message, name: str) -> str | None:
    """The first raw value of a header of ``part`` (encoded-words and 8-bit bytes kept)."""
    for key, value in part.raw_items():
        if str(key).lower() == name:
            return value if isinstance(value, str) else str(value)
    return None


def _content_id(part: Message) -> str | None:
    raw = _raw(part, "content-id")
    if raw is None:
        return None
    value = raw_header_text(raw)[0].strip().strip("<>").strip()
    return value or None


# --- parameters (RFC 2045, RFC 2231) ----------------------------------------------------------


def _split_value(raw: str | None) -> tuple[str, list[tuple[str, str]]]:
    """Split a header value into its main part and parameters, tolerating garbage.

    ``type; a=1; b="x;y"`` gives ``("type", [("a", "1"), ("b", "x;y")])``.
    """
    if not raw:
        return "", []
    text = raw.replace("\r", "").replace("\n", "")
    pieces = text.split(";") if '"' not in text else _split_quoted(text)
    params: list[tuple[str, str]] = []
    for piece in pieces[1:]:
        name, sep, value = piece.partition("=")
        if not sep or not name.strip():
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        elif value.startswith('"'):
            value = value[1:]
        params.append((name.strip().lower(), value))
    return pieces[0].strip(), params


def _split_quoted(text: str) -> list[str]:
    """Split on ";" outside double quotes."""
    pieces: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            pieces.append("".join(current))
            current = []
            continue
        current.append(ch)
    pieces.append("".join(current))
    return pieces


_PARAM_NAME = re.compile(r"([^*]+)(?:\*(\d+))?(\*)?")


def _params_from(items: list[tuple[str, str]]) -> dict[str, tuple[str, bool]]:
    """Parameters by name: (value, decoded by RFC 2231), continuations joined."""
    simple: dict[str, str] = {}
    parts: dict[str, list[tuple[int, bool, str]]] = {}
    for name, value in items:
        match = _PARAM_NAME.fullmatch(name)
        if not match or (match.group(2) is None and match.group(3) is None):
            simple.setdefault(name, value)
            continue
        index = int(match.group(2)) if match.group(2) is not None else 0
        parts.setdefault(match.group(1), []).append((index, bool(match.group(3)), value))
    result = {name: (value, False) for name, value in simple.items()}
    for name, pieces in parts.items():
        pieces.sort(key=lambda piece: piece[0])
        charset = None
        data = bytearray()
        for position, (_, extended, value) in enumerate(pieces):
            if extended:
                if position == 0 and value.count("'") >= 2:
                    charset, _, value = value.split("'", 2)
                data += unquote_to_bytes(value.encode("utf-8", "surrogateescape"))
            else:
                data += value.encode("utf-8", "surrogateescape")
        text, _defect = decode_bytes(bytes(data), charset or None)
        result[name] = (text, True)
    return result


def _params(raw: str | None) -> dict[str, tuple[str, bool]]:
    return _params_from(_split_value(raw)[1])


def _param_value(params: dict[str, tuple[str, bool]], name: str) -> str:
    value = params.get(name)
    return value[0].strip() if value else ""


def _filename(
    disposition: dict[str, tuple[str, bool]],
    content_type: dict[str, tuple[str, bool]],
    ctx: _Context,
) -> str | None:
    for params, name in ((disposition, "filename"), (content_type, "name")):
        if name not in params:
            continue
        value, decoded = params[name]
        if not decoded:
            value, defects = decode_header(value, fallback_charset=ctx.hint)
            ctx.defects.extend(f"file name: {defect}" for defect in defects)
        if value.strip():
            return value
    return None


_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]{2,40})""", re.I
)


def _meta_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii") if match else None


def _charset_hint(message: Message) -> str | None:
    """The first legacy charset declared by a text part: 8-bit headers are likely in it too."""
    for part in message.walk():
        charset = _param_value(_params(_raw(part, "content-type")), "charset")
        codec = normalize_charset(charset)
        if codec is not None and codec not in ("utf-8", "ascii"):
            return codec
        if not part.is_multipart():
            break
    return None


# --- attachments ------------------------------------------------------------------------------

_EXTENSIONS = {
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/x-zip-compressed": ".zip",
    "application/x-rar-compressed": ".rar",
    "application/vnd.rar": ".rar",
    "application/x-7z-compressed": ".7z",
    "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/rtf": ".rtf",
    "application/json": ".json",
    "application/xml": ".xml",
    "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "application/pkcs7-mime": ".p7m",
    "application/x-pkcs7-mime": ".p7m",
    "application/pgp-signature": ".asc",
    "application/pgp-keys": ".asc",
    "application/octet-stream": ".bin",
    "image/jpeg": ".jpg",
    "image/pjpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/webp": ".webp",
    "image/tiff": ".tif",
    "image/svg+xml": ".svg",
    "image/heic": ".heic",
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "audio/wav": ".wav",
    "video/mp4": ".mp4",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/csv": ".csv",
    "text/xml": ".xml",
    "text/calendar": ".ics",
    "text/vcard": ".vcf",
    "text/x-vcard": ".vcf",
    "text/rfc822-headers": ".txt",
    "message/rfc822": ".eml",
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
}


def _finish_attachments(
    pending: list[_Pending], referenced: set[str]
) -> Iterable[ParsedAttachment]:
    folded = {cid.lower() for cid in referenced}
    for number, item in enumerate(pending, start=1):
        name = _safe_filename(item.filename) if item.filename else ""
        if not name and item.fallback_name:
            name = _safe_filename(item.fallback_name)
        if not name:
            extension = _EXTENSIONS.get(item.content_type)
            if extension is None:
                extension = ".txt" if item.content_type.startswith("text/") else ".bin"
            name = f"attachment-{number}{extension}"
        inline = item.content_id is not None and (
            item.content_id in referenced or item.content_id.lower() in folded
        )
        yield ParsedAttachment(
            filename=name,
            content_type=item.content_type,
            data=item.data,
            content_id=item.content_id,
            inline=inline,
        )


def _safe_filename(name: str) -> str:
    """The last path part, printable, without edge spaces or dots, at most 255 characters."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    if not name.isprintable():
        name = "".join(ch if ch.isprintable() else " " if ch.isspace() else "" for ch in name)
    name = " ".join(name.split()).strip(" .")
    if len(name) > _MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[: _MAX_FILENAME - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            name = name[:_MAX_FILENAME].rstrip(" .")
    return name


# --- text -------------------------------------------------------------------------------------

_TEXT_CONTROL = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])
_HAS_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _clean_text(text: str) -> str:
    """ "\n" line ends, no control characters or NULs, no trailing spaces, no edge blank lines."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.lstrip("\ufeff")
    if _HAS_CONTROL.search(text):
        text = text.translate(_TEXT_CONTROL)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def _unflow(text: str, *, delsp: bool) -> str:
    """Join the soft line breaks of format=flowed text (RFC 3676)."""
    lines: list[str] = []
    paragraph: list[str] = []
    paragraph_depth = 0

    def flush() -> None:
        if paragraph:
            prefix = ">" * paragraph_depth + " " if paragraph_depth else ""
            lines.append(prefix + "".join(paragraph))
            paragraph.clear()

    for line in text.replace("\r\n", "\n").split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        if paragraph and depth != paragraph_depth:
            flush()
        paragraph_depth = depth
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        paragraph.append(content)
        if not flowed:
            flush()
    flush()
    return "\n".join(lines)


# --- headers ----------------------------------------------------------------------------------

_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def _ids(values: list[str]) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        text = raw_header_text(value)[0]
        ids = _MESSAGE_ID.findall(text)
        if not ids:
            tokens = text.split()
            ids = tokens if len(tokens) == 1 else [token for token in tokens if "@" in token]
            ids = [token.strip("<>,;()") for token in ids]
        found.extend(i for i in ids if i and len(i) <= _MAX_ID)
    return tuple(dict.fromkeys(found))


def _ids_in_text(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"(?im)^\s*Message-ID:\s*<([^<>\s]+)>", text)]


def _message_id(headers: _Headers, defects: list[str]) -> str | None:
    value = headers.first("message-id")
    if value is None:
        defects.append("no Message-ID")
        return None
    ids = _ids([value])
    if not ids:
        defects.append("unusable Message-ID")
        return None
    return ids[0]


def _subject(headers: _Headers, hint: str | None, defects: list[str]) -> str:
    value = headers.first("subject")
    if value is None:
        return ""
    subject, header_defects = decode_header(value, fallback_charset=hint)
    defects.extend(f"Subject: {defect}" for defect in header_defects)
    return subject


def _date(value: str | None, defects: list[str]) -> datetime | None:
    if value is None:
        defects.append("no Date")
        return None
    text = " ".join(raw_header_text(value)[0].split())
    parsed: datetime | None = None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
    if parsed is None:
        defects.append(f"unparseable Date: {text[:80]!r}")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        defects.append(f"unparseable Date: {text[:80]!r}")
        return None


_EMAIL_IN_TEXT = re.compile(r"[^\s<>\"'(),;:@\[\]]+@[^\s<>\"'(),;:@\[\]]+\.[^\s<>\"'(),;:@\[\]]+")


_ADDR_SPEC = r"[^<>\s@\"(),;:\\\[\]]+@[^<>\s@\"(),;:\\\[\]]+"
_SIMPLE_ADDRESS = re.compile(
    rf"""\s*(?:"([^"\\]*)"|([^"<>,;:@()\\]*?))\s*<({_ADDR_SPEC})>\s*|\s*({_ADDR_SPEC})\s*"""
)


def _make_address(name: str, addr: str) -> Address | None:
    addr = addr.strip().strip("<>").strip()
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or "@" in local or len(addr) > 320:
        return None
    if any(ch.isspace() for ch in addr):
        return None
    domain = domain.lower().rstrip(".")
    email_address = f"{local}@{domain}"
    name = " ".join(name.split()).strip("\"' ")
    if name.lower() == email_address.lower():
        name = ""
    return Address(name=name, email=email_address)


def _addresses(values: list[str], hint: str | None, defects: list[str]) -> tuple[Address, ...]:
    found: list[Address] = []
    seen: set[str] = set()
    for value in values:
        text, defect = raw_header_text(value, fallback_charset=hint)
        if defect:
            defects.append(f"address header: {defect}")
        before = len(found)
        simple = _SIMPLE_ADDRESS.fullmatch(text)
        if simple is not None:  # the common case, without the full RFC 5322 parser
            name = simple.group(1) or simple.group(2) or ""
            pairs = [(name, simple.group(3) or simple.group(4))]
        else:
            try:
                pairs = getaddresses([text])
            except Exception:
                pairs = []
        for name, addr in pairs:
            decoded_name = decode_header(name, fallback_charset=hint)[0] if name else ""
            address = _make_address(decoded_name, addr)
            if address is not None and address.email.lower() not in seen:
                seen.add(address.email.lower())
                found.append(address)
        if len(found) == before:  # the header could not be parsed: pick the addresses out
            for match in _EMAIL_IN_TEXT.finditer(text):
                address = _make_address("", match.group())
                if address is not None and address.email.lower() not in seen:
                    seen.add(address.email.lower())
                    found.append(address)
    return tuple(found)


def _first(addresses: tuple[Address, ...]) -> Address | None:
    return addresses[0] if addresses else None


_DELIVERED = frozenset({"delivered-to", "x-original-to", "envelope-to"})


def _delivered_to(headers: _Headers, hint: str | None) -> tuple[str, ...]:
    values = [value for name, value in headers.items if name in _DELIVERED]
    return tuple(dict.fromkeys(a.email.lower() for a in _addresses(values, hint, [])))


def _kept_headers(headers: _Headers, hint: str | None) -> dict[str, str]:
    return {
        name: headers.text(name.lower(), hint)
        for name in KEPT_HEADERS
        if headers.first(name.lower()) is not None
    }


# --- automatic mail ---------------------------------------------------------------------------

_BOUNCE_LOCAL = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
_NOREPLY = re.compile(r"(?:^|[-_.+])(?:no[-_.]?reply|do[-_.]?not[-_.]?reply)(?:$|[-_.+])", re.I)
_OOF_SUBJECT = re.compile(
    r"automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|out of (?:the )?office|"
    r"abwesenheit|réponse automatique|автоответ|автоматический ответ|вне офиса|в отпуске|"
    r"нет на месте|отсутству",
    re.I,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status notification|delivery (?:has )?fail|mail delivery|"
    r"returned mail|failure notice|non-?delivery|could not be delivered|not delivered|"
    r"delivery incomplete|недоставлен|не доставлен|не может быть доставлено|ошибка доставки|"
    r"не удалось доставить",
    re.I,
)
_BULK_MAILERS = re.compile(
    r"mailchimp|sendpulse|unisender|sendsay|mailerlite|getresponse|campaign monitor|"
    r"exacttarget|dashamail|esputnik|constant ?contact|klaviyo|phplist|mailigen|acumbamail",
    re.I,
)
_OOF_SUPPRESS = frozenset({"all", "oof", "autoreply"})
_NULL_SENDER = "Return-Path: <>"


def _classify(
    headers: _Headers, sender: Address | None, subject: str, ctx: _Context
) -> tuple[AutoKind | None, str | None]:
    """What kind of automatic mail this is, and the header or sign that says so."""

    def value(name: str) -> str:
        return " ".join(raw_header_text(headers.first(name) or "")[0].split())

    auto_submitted = value("auto-submitted")
    auto_token = re.split(r"[\s;(]", auto_submitted.lower(), maxsplit=1)[0]
    precedence = value("precedence").lower()
    suppress = value("x-auto-response-suppress")
    suppress_tokens = {token.strip().lower() for token in suppress.split(",")}
    return_path = headers.first("return-path")
    null_sender = return_path is not None and return_path.strip(" \t<>").lower() in (
        "",
        "mailer-daemon",  # Sendmail writes <MAILER-DAEMON>
    )
    sender_local = sender.email.rpartition("@")[0].lower() if sender else ""
    from_text = raw_header_text(headers.first("from") or "")[0]

    if "delivery-status" in ctx.reports or "global-delivery-status" in ctx.reports:
        return AutoKind.BOUNCE, "Content-Type: multipart/report; report-type=delivery-status"
    if sender_local in _BOUNCE_LOCAL or (
        sender is None and re.search(r"mailer-daemon|postmaster", from_text, re.I)
    ):
        return AutoKind.BOUNCE, f"From: {sender.email if sender else from_text.strip()}"
    if null_sender and _BOUNCE_SUBJECT.search(subject):
        return AutoKind.BOUNCE, "Return-Path: <> and a delivery-failure subject"

    if auto_token == "auto-replied":
        return AutoKind.AUTO_REPLIED, f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Mail-Autoreply"):
        flag = value(name.lower())
        if headers.first(name.lower()) is not None and flag.lower() not in ("no", "false"):
            return AutoKind.AUTO_REPLIED, f"{name}: {flag}"
    if precedence in ("auto_reply", "auto-reply"):
        return AutoKind.AUTO_REPLIED, f"Precedence: {precedence}"
    hint = (
        f"X-Auto-Response-Suppress: {suppress}" if suppress
        else f"Auto-Submitted: {auto_submitted}" if auto_token and auto_token != "no"
        else f"Precedence: {precedence}" if precedence
        else "Return-Path: <>" if null_sender
        else None
    )  # fmt: skip
    if hint and _OOF_SUBJECT.search(subject):
        return AutoKind.AUTO_REPLIED, f"Subject: {subject[:60]} with {hint}"

    if "disposition-notification" in ctx.reports:
        return (
            AutoKind.AUTO_GENERATED,
            "Content-Type: multipart/report; report-type=disposition-notification",
        )
    if auto_token and auto_token != "no":
        return AutoKind.AUTO_GENERATED, f"Auto-Submitted: {auto_submitted}"
    if suppress_tokens & _OOF_SUPPRESS:
        return AutoKind.AUTO_GENERATED, f"X-Auto-Response-Suppress: {suppress}"

    if precedence in ("bulk", "junk"):
        return AutoKind.BULK, f"Precedence: {precedence}"
    if precedence == "list":
        return AutoKind.LIST, "Precedence: list"
    if headers.first("list-id") is not None:
        return AutoKind.LIST, f"List-Id: {value('list-id')}"
    if headers.first("list-unsubscribe-post") is not None:
        return AutoKind.BULK, "List-Unsubscribe-Post (one-click unsubscribe)"
    mailer = value("x-mailer")
    if _BULK_MAILERS.search(mailer):
        return AutoKind.BULK, f"X-Mailer: {mailer}"

    if null_sender:
        return AutoKind.BOUNCE, _NULL_SENDER
    if sender is not None and _NOREPLY.search(sender_local):
        return AutoKind.AUTO_GENERATED, f"From: {sender.email}"
    return None, None


# --- bounces ----------------------------------------------------------------------------------

_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_QUOTE_START = re.compile(
    r"^(?:-{2,}|_{5,}|={5,})|original message|below this line|copy of the message|"
    r"message headers follow|исходное сообщение|оригинал сообщения|копия сообщения|"
    r"^(?:received|return-path|message-id|from|to|subject|date):",
    re.I,
)
_DELAY_WORDS = re.compile(
    r"\bdelay|temporar|will (?:be )?retr|will keep trying|задерж|временн|повтор", re.I
)


def _dsn_blocks(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, ""
        elif line[0] in " \t" and last:
            current[last] += " " + line.strip()
        else:
            name, sep, rest = line.partition(":")
            if sep and name.strip() and " " not in name.strip():
                last = name.strip().lower()
                current.setdefault(last, rest.strip())
    if current:
        blocks.append(current)
    return blocks


def _without_type(value: str) -> str:
    """ "rfc822; a@b" -> "a@b"; "smtp; 550 ..." -> "550 ..."."""
    kind, sep, rest = value.partition(";")
    if sep and kind.strip() and " " not in kind.strip():
        value = rest
    return " ".join(value.split()).strip("<>")


_BOILERPLATE = re.compile(
    r"mail system at host|^the mail system$|created automatically|automatically generated|"
    r"do not reply|создано автоматически|отвечать на него не нужно|^#+$|^#.*#$",
    re.I,
)


def _human_part(text: str) -> list[str]:
    """The meaningful lines of a bounce notice, before the quoted original message."""
    lines: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped or stripped.startswith(">") or _BOILERPLATE.search(stripped):
            continue
        if _QUOTE_START.search(stripped):
            if lines:
                break
            continue
        lines.append(stripped)
    return lines


def _bounce(
    headers: _Headers, sender: Address | None, subject: str, text: str, ctx: _Context
) -> Bounce | None:
    blocks = [block for report in ctx.delivery_status for block in _dsn_blocks(report)]
    recipients = [
        b for b in blocks if {"final-recipient", "original-recipient", "action"} & b.keys()
    ]
    chosen = next(
        (b for b in recipients if b.get("action", "").lower().startswith("failed")),
        recipients[0] if recipients else {},
    )
    human = _human_part(text)
    recipient_field = chosen.get("final-recipient") or chosen.get("original-recipient")
    recipient = _without_type(recipient_field) if recipient_field else None
    if not recipient:
        failed = headers.first("x-failed-recipients")
        if failed:
            recipient = raw_header_text(failed)[0].split(",")[0].strip() or None
    if not recipient:
        own = {sender.email.lower()} if sender else set()
        for line in human:
            for match in _EMAIL_IN_TEXT.finditer(line):
                candidate = match.group().strip(".")
                local = candidate.rpartition("@")[0].lower()
                if candidate.lower() not in own and local not in _BOUNCE_LOCAL:
                    recipient = candidate
                    break
            if recipient:
                break
    diagnostic = _without_type(chosen.get("diagnostic-code", ""))
    status_match = _STATUS.search(chosen.get("status", "")) or _STATUS.search(diagnostic)
    if status_match is None and not chosen:
        status_match = _STATUS.search(" ".join(human))
    status = status_match.group(1) if status_match else None
    action_field = chosen.get("action", "").strip().lower()
    action = action_field.split()[0] if action_field else None
    if not diagnostic:
        diagnostic = " ".join(human[:12])
    diagnostic = diagnostic[:_MAX_DIAGNOSTIC].strip()

    if not (blocks or human or recipient):
        return None
    if (status is not None and status.startswith("5")) or action == "failed":
        permanent = True
    elif status is not None or action is not None:
        permanent = False
    else:
        permanent = not (_DELAY_WORDS.search(subject) or _DELAY_WORDS.search(" ".join(human)))

    original = ctx.original_ids[0] if ctx.original_ids else None
    if original is None:
        in_reply_to = _ids(headers.all("in-reply-to"))
        references = _ids(headers.all("references"))
        original = in_reply_to[0] if in_reply_to else references[-1] if references else None
    if original is None:
        found = _ids_in_text(text)
        original = found[0] if found else None
    return Bounce(
        original_message_id=original,
        recipient=recipient,
        status=status,
        action=action,
        diagnostic=diagnostic,
        permanent=permanent,
    )
