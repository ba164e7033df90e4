"""Compose an email with the standard library and hand it to an SMTP server.

``build_message`` is pure: an ``email.message.EmailMessage`` (``policy.default``) with a
plain-text part, an optional HTML alternative, a ``Date`` and a ``Message-ID`` on the
domain of ``mail_from``. It is serialized with ``policy.SMTP`` (CRLF) and is 7-bit
throughout: a Russian subject or display name is always RFC 2047-encoded, a Russian body
base64 or quoted-printable, whatever the server offers (no SMTPUTF8 or 8BITMIME needed).

``send_message`` delivers it with aiosmtplib and turns every failure into a
``DeliveryError``: ``permanent`` when the server answered 5xx (the address, the sender or
the content was refused), temporary for 4xx replies, refused connections, timeouts and
disconnects. The send job raises either way, so the worker retries with back-off and a
job that keeps failing ends ``dead`` with the server's reply as its ``last_error``.
"""

from __future__ import annotations

import email.policy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from typing import Any

import aiosmtplib

from opora.kit.time import utcnow

# policy.default, with 7-bit bodies (base64 or quoted-printable for non-ASCII text): no
# server needs 8BITMIME to take our mail.
_COMPOSE_POLICY = email.policy.default.clone(cte_type="7bit")

# Headers the composer sets itself; a caller cannot override them through ``headers``.
RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)


class DeliveryError(Exception):
    """The SMTP server did not take the message. ``permanent``: it answered 5xx."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str = "127.0.0.1"
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout_seconds: float = 30.0
    mail_from: str = "Opora <support@localhost>"

    @classmethod
    def from_settings(cls, settings: Any) -> SmtpConfig:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            starttls=settings.smtp_starttls,
            ssl=settings.smtp_ssl,
            timeout_seconds=settings.smtp_timeout_seconds,
            mail_from=settings.mail_from,
        )

    @property
    def sender_address(self) -> str:
        """The bare address of ``mail_from``: the envelope sender."""
        address = parseaddr(self.mail_from)[1]
        if "@" not in address:
            raise ValueError(f"OPORA_MAIL_FROM has no email address: {self.mail_from!r}")
        return address

    @property
    def domain(self) -> str:
        """Our domain, for Message-IDs: the domain of ``mail_from``."""
        return self.sender_address.rsplit("@", 1)[1]


def _as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def parse_address(value: str) -> Address:
    """``"Имя <a@b.ru>"`` or ``"a@b.ru"`` as a structured address (so the display name is
    encoded per RFC 2047 and the address itself is kept as it is)."""
    name, addr = parseaddr(value)
    if "@" not in addr or any(c in value for c in "\r\n"):
        raise ValueError(f"not an email address: {value!r}")
    username, domain = addr.rsplit("@", 1)
    return Address(display_name=name, username=username, domain=domain)


def check_headers(headers: Mapping[str, str]) -> None:
    """Extra headers may not replace ours, nor smuggle in lines of their own."""
    for name, value in headers.items():
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"header {name!r} is set by the composer")
        if not name.isascii() or not name.replace("-", "").isalnum():
            raise ValueError(f"not a header name: {name!r}")
        if any(c in value for c in "\r\n"):
            raise ValueError(f"header {name!r} may not contain line breaks")


@dataclass(frozen=True, slots=True)
class FilePart:
    """An attachment of an outgoing message."""

    filename: str
    content_type: str
    data: bytes


def build_message(
    *,
    mail_from: str,
    to: str | Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    headers: Mapping[str, str] | None = None,
    message_id: str,
    cc: Sequence[str] = (),
    attachments: Sequence[FilePart] = (),
) -> EmailMessage:
    """The message, ready to send. ``message_id`` is the whole ``<local@domain>``.
    Attachment names in any language are RFC 2231-encoded by the email package."""
    msg = EmailMessage(policy=_COMPOSE_POLICY)
    msg["From"] = parse_address(mail_from)
    msg["To"] = [parse_address(a) for a in _as_list(to)]
    if cc:
        msg["Cc"] = [parse_address(a) for a in cc]
    msg["Subject"] = subject if len(subject) <= MAX_SUBJECT else subject[: MAX_SUBJECT - 1] + "…"
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id
    check_headers(headers or {})
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for part in attachments:
        maintype, _, subtype = part.content_type.partition("/")
        if not subtype:
            maintype, subtype = "application", "octet-stream"
        params = None
        if maintype == "text":  # say its charset, or a reader guesses (and gets Cyrillic wrong)
            try:
                part.data.decode("utf-8")
            except UnicodeDecodeError:
                maintype, subtype = "application", "octet-stream"
            else:
                params = {"charset": "utf-8"}
        msg.add_attachment(
            part.data, maintype=maintype, subtype=subtype, filename=part.filename, params=params
        )  # bytes, base64: the file arrives byte for byte
    return msg


# Headers are folded only past 998 characters (RFC 5322's limit; 78 is a SHOULD): the
# standard library's folder drops the space between two encoded-words when it splits a
# non-ASCII header at 78 ("войти в" arrived as "войтив"), so we let such lines run long.
_SEND_POLICY = email.policy.SMTP.clone(max_line_length=998)
MAX_SUBJECT = 250  # encoded, even an all-Cyrillic subject stays within one line


def serialize(message: EmailMessage) -> bytes:
    """7-bit headers (RFC 2047 for non-ASCII), CRLF line ends: what goes over SMTP."""
    return message.as_bytes(policy=_SEND_POLICY)


def recipients_of(message: EmailMessage) -> list[str]:
    """Everyone in ``To`` and ``Cc`` (each once)."""
    found = getaddresses([*message.get_all("To", []), *message.get_all("Cc", [])])
    return list(dict.fromkeys(addr for _, addr in found if addr))


def _code_error(code: int, text: str, what: str) -> DeliveryError:
    kind = "permanent" if code >= 500 else "temporary"
    return DeliveryError(f"{what}: {code} {text} ({kind})", permanent=code >= 500)


async def send_message(message: EmailMessage, config: SmtpConfig) -> None:
    """Send ``message`` to the recipients in its ``To``; raises ``DeliveryError``."""
    recipients = recipients_of(message)
    where = f"SMTP {config.host}:{config.port}"
    try:
        await aiosmtplib.send(
            serialize(message),
            sender=config.sender_address,
            recipients=recipients,
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            use_tls=config.ssl,
            start_tls=config.starttls,
            timeout=config.timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:  # every recipient was refused
        refused = exc.recipients
        permanent = all(r.code >= 500 for r in refused)
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in refused)
        kind = "permanent" if permanent else "temporary"
        raise DeliveryError(f"{where} refused {detail} ({kind})", permanent=permanent) from exc
    except aiosmtplib.SMTPResponseException as exc:  # MAIL, DATA, AUTH, greeting, ...
        raise _code_error(exc.code, exc.message, f"{where} answered") from exc
    except (aiosmtplib.SMTPException, OSError) as exc:  # refused, timed out, disconnected
        raise DeliveryError(f"{where}: {exc} (temporary)", permanent=False) from exc
