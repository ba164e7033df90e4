"""IMAP polling of a support mailbox: fetch what is not yet processed, then mark it processed.

The standard library's ``imaplib`` in a worker thread (``asyncio.to_thread``), one connection
per call, UID commands only. The caller ingests and commits what :func:`fetch_unprocessed`
returned and only then calls :func:`mark_processed`, so fetching never changes a flag
(``BODY.PEEK[]``): a crash in between fetches the same messages again.

What "processed" means is the mailbox's :class:`Processed` mode:

- ``FLAG``: the message carries our keyword ``$OporaProcessed`` (and ``\\Seen``), so a person
  reading the mailbox in a mail client does not hide mail from Opora. On a folder whose
  PERMANENTFLAGS allow no new keywords, ``\\Seen`` alone marks it, and then reading a message
  in a client before Opora polls does hide it.
- ``MOVE``: every message still in the folder is unprocessed; marking moves it to
  ``processed_folder`` (``UID MOVE``, or ``UID COPY`` + ``\\Deleted`` + expunge), which is
  created when missing.

Messages flagged ``\\Deleted`` but not yet expunged are never fetched. Folder names are
Unicode; on the wire they are IMAP's modified UTF-7 (RFC 3501 §5.1.3).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import imaplib
import logging
import re
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar, cast

log = logging.getLogger(__name__)
T = TypeVar("T")

KEYWORD = "$OporaProcessed"
MAX_LINE = 20_000_000  # imaplib's 1 MB cap: a SEARCH of 150,000 UIDs is longer
UIDS_PER_COMMAND = 500  # keeps UID STORE/MOVE command lines short for any server
MAX_RECONNECTS = 3  # per fetch, after the server dropped the connection on one message

# RFC 5530 response codes after which trying again later may succeed
_TEMPORARY_CODES = ("[UNAVAILABLE]", "[SERVERBUG]", "[INUSE]", "[LIMIT]", "[EXPUNGEISSUED]")


class Security(StrEnum):
    SSL = "ssl"  # implicit TLS, usually port 993
    STARTTLS = "starttls"  # plain connection upgraded with STARTTLS, usually port 143
    NONE = "none"  # no TLS at all: only for a server on the same host or network


class Processed(StrEnum):
    FLAG = "flag"
    MOVE = "move"


@dataclass(frozen=True, slots=True)
class ImapConfig:
    host: str
    port: int
    security: Security
    username: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    processed: Processed = Processed.FLAG
    processed_folder: str = "Processed"  # for MOVE; created when missing
    timeout_seconds: float = 30.0
    verify_certificate: bool = True
    ca_file: str | None = None  # an extra CA to trust (self-signed servers)


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    uid: int
    raw: bytes  # the whole RFC 822 message, byte for byte as the server returns it


@dataclass(frozen=True, slots=True)
class MailboxCheck:
    """The outcome of an admin's "Test connection"."""

    ok: bool
    message: str
    total: int | None = None
    unprocessed: int | None = None
    capabilities: tuple[str, ...] = ()


class ImapError(Exception):
    """A failed IMAP call. ``permanent``: retrying will not help until the configuration or
    the account changes (authentication, missing folder, TLS verification); otherwise the
    next poll may succeed (connection refused, timeout, the server's BYE or NO)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


# --- public API -----------------------------------------------------------------------------


async def fetch_unprocessed(config: ImapConfig, *, limit: int = 50) -> list[FetchedMessage]:
    """Up to ``limit`` unprocessed messages of ``config.folder``, oldest (lowest UID) first.
    Changes no flag. A message the server fails to return is skipped with a warning."""
    return await asyncio.to_thread(_call, config, _fetch, config, limit)


async def mark_processed(config: ImapConfig, uids: Sequence[int]) -> None:
    """Marks the messages processed as ``config.processed`` says: flags them, or moves them
    to ``config.processed_folder`` (created when missing). UIDs already gone are ignored."""
    if not uids:
        return
    await asyncio.to_thread(_call, config, _mark, config, uids)


async def check_mailbox(config: ImapConfig) -> MailboxCheck:
    """Connects, logs in and counts the folder's messages; never raises."""
    try:
        return await asyncio.to_thread(_call, config, _check, config)
    except ImapError as exc:
        return MailboxCheck(ok=False, message=exc.message)
    except Exception as exc:  # the admin sees the reason instead of a 500
        log.exception("IMAP check of %s@%s failed", config.username, config.host)
        return MailboxCheck(ok=False, message=f"Unexpected error: {exc}")


# --- pure decisions -------------------------------------------------------------------------


def keywords_allowed(permanent_flags: Sequence[str] | None) -> bool:
    """Whether our keyword can be stored, from the folder's PERMANENTFLAGS (``None``: the
    server sent none, which RFC 3501 §7.1 says means every flag is permanent)."""
    if permanent_flags is None:
        return True
    flags = {f.lower() for f in permanent_flags}
    return "\\*" in flags or KEYWORD.lower() in flags


def unprocessed_criteria(processed: Processed, *, keywords: bool) -> str:
    """The UID SEARCH criteria that find unprocessed messages."""
    if processed is Processed.MOVE:
        return "UNDELETED"
    if keywords:
        return f"UNDELETED UNKEYWORD {KEYWORD}"
    return "UNDELETED UNSEEN"


def processed_flags(*, keywords: bool) -> str:
    """The flags that mark a message processed in ``FLAG`` mode."""
    return f"(\\Seen {KEYWORD})" if keywords else "(\\Seen)"


def parse_permanent_flags(data: bytes | None) -> tuple[str, ...] | None:
    """``(\\Seen \\Deleted \\*)`` from a PERMANENTFLAGS response code, as a tuple of flags."""
    if data is None:
        return None
    text = data.decode("ascii", "replace").strip()
    return tuple(text.strip("()").split())


def uid_set(uids: Sequence[int]) -> str:
    """A compact UID set: ``[1, 2, 3, 7]`` → ``1:3,7``."""
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("no UIDs")
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in [*ordered[1:], None]:
        if uid is not None and uid == prev + 1:
            prev = uid
            continue
        parts.append(str(start) if start == prev else f"{start}:{prev}")
        if uid is not None:
            start = prev = uid
    return ",".join(parts)


def encode_mailbox(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 §5.1.3): ``Входящие`` →
    ``&BBIERQQ+BDQETwRJBDgENQ-``, ``&`` → ``&-``."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            utf16 = "".join(pending).encode("utf-16-be")
            encoded = base64.b64encode(utf16).decode("ascii").rstrip("=").replace("/", ",")
            out.append(f"&{encoded}-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def decode_mailbox(name: str) -> str:
    """The inverse of :func:`encode_mailbox`; ``ValueError`` on malformed input."""
    out: list[str] = []
    i = 0
    while i < len(name):
        ch = name[i]
        if ch != "&":
            out.append(ch)
            i += 1
            continue
        end = name.find("-", i + 1)
        if end == -1:
            raise ValueError(f"unterminated modified UTF-7 in {name!r}")
        chunk = name[i + 1 : end].replace(",", "/")
        if chunk:
            utf16 = base64.b64decode(chunk + "=" * (-len(chunk) % 4), validate=True)
            out.append(utf16.decode("utf-16-be"))
        else:
            out.append("&")
        i = end + 1
    return "".join(out)


def quote(value: str) -> str:
    """An IMAP quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_mailbox(name: str) -> str:
    """A folder name ready for a command: modified UTF-7, quoted."""
    return quote(encode_mailbox(name))


# --- the session, in a worker thread ---------------------------------------------------------


class _IMAP4(imaplib.IMAP4):
    def readline(self) -> bytes:
        return _readline(self)


class _IMAP4_SSL(imaplib.IMAP4_SSL):
    def readline(self) -> bytes:
        return _readline(self)


def _readline(conn: imaplib.IMAP4) -> bytes:
    line = cast(bytes, conn.file.readline(MAX_LINE + 1))
    if len(line) > MAX_LINE:
        raise conn.error(f"got more than {MAX_LINE} bytes")
    return line


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _response_text(data: Sequence[object]) -> str:
    return " ".join(_text(d) for d in data if d is not None) or "(no text)"


def _is_temporary(text: str) -> bool:
    upper = text.upper()
    return any(code in upper for code in _TEMPORARY_CODES)


def _where(config: ImapConfig) -> str:
    return f"{config.host}:{config.port}"


def _ssl_context(config: ImapConfig) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if config.ca_file:
        try:
            context.load_verify_locations(cafile=config.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ImapError(f"Cannot load CA file {config.ca_file}: {exc}", permanent=True) from exc
    if not config.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _connect(config: ImapConfig) -> imaplib.IMAP4:
    timeout = config.timeout_seconds
    try:
        if config.security is Security.SSL:
            return _IMAP4_SSL(
                config.host, config.port, ssl_context=_ssl_context(config), timeout=timeout
            )
        conn = _IMAP4(config.host, config.port, timeout=timeout)
        if config.security is Security.NONE:
            return conn
        try:
            if "STARTTLS" not in conn.capabilities:
                raise ImapError(
                    f"{_where(config)} does not offer STARTTLS: use SSL (usually port 993)",
                    permanent=True,
                )
            conn.starttls(ssl_context=_ssl_context(config))
        except BaseException:
            with contextlib.suppress(OSError):
                conn.shutdown()
            raise
        return conn
    except ssl.SSLCertVerificationError as exc:
        raise ImapError(
            f"TLS certificate of {_where(config)} failed verification: {exc.verify_message}; "
            "give the server's CA file or turn verification off",
            permanent=True,
        ) from exc
    except ssl.SSLError as exc:
        raise ImapError(
            f"TLS handshake with {_where(config)} failed ({exc}): are the port and security "
            "setting right?",
            permanent=True,
        ) from exc


def _login(conn: imaplib.IMAP4, config: ImapConfig) -> None:
    if "LOGINDISABLED" in conn.capabilities:
        raise ImapError(
            f"{_where(config)} refuses logins without TLS: use SSL or STARTTLS", permanent=True
        )
    try:
        if config.username.isascii() and config.password.isascii():
            # imaplib quotes the password, not the user name
            conn.login(quote(config.username), config.password)
        else:
            # LOGIN takes ASCII only in imaplib; SASL PLAIN carries UTF-8
            credentials = f"\0{config.username}\0{config.password}".encode()
            conn.authenticate("PLAIN", lambda _challenge: credentials)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        reason = _text(exc.args[0]) if exc.args else "rejected"
        raise ImapError(
            f"Login as {config.username} at {_where(config)} failed: {reason}",
            permanent=not _is_temporary(reason),
        ) from exc


def _capabilities(conn: imaplib.IMAP4) -> tuple[str, ...]:
    """The capabilities after login (servers announce more than before it)."""
    typ, data = conn.capability()
    if typ != "OK" or not data or data[0] is None:
        return tuple(conn.capabilities)
    return tuple(_text(data[0]).upper().split())


@contextlib.contextmanager
def _session(config: ImapConfig) -> Iterator[imaplib.IMAP4]:
    conn = _connect(config)
    done = False
    try:
        _login(conn, config)
        yield conn
        done = True
    finally:
        # LOGOUT, never CLOSE: CLOSE would expunge messages that others flagged \Deleted.
        # After an error the connection may hang: it is just dropped.
        if done:
            with contextlib.suppress(Exception):
                conn.logout()
        with contextlib.suppress(Exception):
            conn.shutdown()


def _call(config: ImapConfig, fn: Callable[..., T], *args: object) -> T:
    """Runs ``fn(*args)``, turning socket, TLS and imaplib errors into :class:`ImapError`."""
    where = _where(config)
    try:
        return fn(*args)
    except ImapError:
        raise
    except imaplib.IMAP4.readonly as exc:
        raise ImapError(
            f"Folder {config.folder!r} at {where} is read-only: {_text(exc)}", permanent=True
        ) from exc
    except imaplib.IMAP4.abort as exc:  # BYE, or the connection broke mid-response
        raise ImapError(f"{where} closed the connection: {_text(exc)}", permanent=False) from exc
    except imaplib.IMAP4.error as exc:
        reason = _text(exc.args[0]) if exc.args else "protocol error"
        raise ImapError(
            f"{where} answered with an error: {reason}", permanent=not _is_temporary(reason)
        ) from exc
    except TimeoutError as exc:
        raise ImapError(
            f"{where} did not answer within {config.timeout_seconds:g} s", permanent=False
        ) from exc
    except socket.gaierror as exc:
        raise ImapError(
            f"Cannot resolve {config.host}: {exc.strerror}",
            permanent=exc.errno == socket.EAI_NONAME,
        ) from exc
    except ssl.SSLError as exc:  # after the handshake: the connection broke
        raise ImapError(f"TLS error talking to {where}: {exc}", permanent=False) from exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ImapError(f"Cannot connect to {where}: {reason}", permanent=False) from exc


def _select(conn: imaplib.IMAP4, config: ImapConfig) -> tuple[int, bool]:
    """SELECTs the folder (read-write: EXAMINE reports no permanent flags). Returns the
    number of messages and whether our keyword can be stored."""
    typ, data = conn.select(quote_mailbox(config.folder))
    if typ != "OK":
        reason = _response_text(data)
        raise ImapError(
            f"Cannot open folder {config.folder!r} at {_where(config)}: {reason}",
            permanent=not _is_temporary(reason),
        )
    total = int(_text(data[0])) if data and data[0] is not None else 0
    _, flags = conn.response("PERMANENTFLAGS")
    raw = flags[-1] if flags and isinstance(flags[-1], bytes) else None
    return total, keywords_allowed(parse_permanent_flags(raw))


def _search(conn: imaplib.IMAP4, config: ImapConfig, criteria: str) -> list[int]:
    typ, data = conn.uid("SEARCH", criteria)
    if typ != "OK":
        raise ImapError(
            f"Search in {config.folder!r} at {_where(config)} failed: {_response_text(data)}",
            permanent=False,
        )
    found: set[int] = set()
    for line in data:
        if isinstance(line, bytes):
            found.update(int(n) for n in line.split())
    return sorted(found)


_UID = re.compile(rb"\bUID (\d+)")


def _fetch_one(conn: imaplib.IMAP4, config: ImapConfig, uid: int) -> bytes | None:
    """The message's raw bytes, or None (with a warning) when the server does not return it."""
    typ, data = conn.uid("FETCH", str(uid), "(UID BODY.PEEK[])")
    if typ == "OK":
        for i, item in enumerate(data):
            if not isinstance(item, tuple):
                continue
            head, body = item
            after = data[i + 1] if i + 1 < len(data) else b""
            tail = after if isinstance(after, bytes) else b""
            # UID before or after the literal; other FETCH lines are flag updates
            match = _UID.search(head) or _UID.search(tail)
            if match and int(match.group(1)) == uid and b"BODY[]" in head.upper():
                return body
    log.warning(
        "IMAP %s@%s folder %r: message UID %s not returned (%s %s); skipped",
        config.username,
        config.host,
        config.folder,
        uid,
        typ,
        _response_text(data),
    )
    return None


def _fetch(config: ImapConfig, limit: int) -> list[FetchedMessage]:
    """Fetches one message per command, so that one the server cannot return costs only
    itself. Servers answer some such failures with BYE (Dovecot does, for a mail file it
    cannot read): then the message is skipped and the rest fetched over a new connection,
    up to MAX_RECONNECTS times. Skipped messages don't count against ``limit``, up to
    ``limit`` of them."""
    if limit <= 0:
        return []
    fetched: list[FetchedMessage] = []
    pending: list[int] | None = None
    skipped = reconnects = 0
    while True:
        with _session(config) as conn:
            _, keywords = _select(conn, config)
            if pending is None:
                criteria = unprocessed_criteria(config.processed, keywords=keywords)
                pending = _search(conn, config, criteria)
            try:
                while pending and len(fetched) < limit and skipped < limit:
                    raw = _fetch_one(conn, config, pending[0])
                    uid = pending.pop(0)
                    if raw is None:
                        skipped += 1
                    else:
                        fetched.append(FetchedMessage(uid=uid, raw=raw))
                return fetched
            except imaplib.IMAP4.abort as exc:
                if reconnects >= MAX_RECONNECTS:
                    raise
                log.warning(
                    "IMAP %s@%s folder %r: the server dropped the connection fetching UID %s "
                    "(%s); skipped, going on with a new connection",
                    config.username,
                    config.host,
                    config.folder,
                    pending[0],
                    _text(exc),
                )
                pending.pop(0)
                skipped += 1
                reconnects += 1


def _chunks(uids: Sequence[int]) -> Iterator[str]:
    ordered = sorted(set(uids))
    for start in range(0, len(ordered), UIDS_PER_COMMAND):
        yield uid_set(ordered[start : start + UIDS_PER_COMMAND])


def _ok(config: ImapConfig, what: str, result: tuple[str, Sequence[object]]) -> None:
    typ, data = result
    if typ != "OK":
        reason = _response_text(data)
        raise ImapError(f"{what} at {_where(config)} failed: {reason}", permanent=False)


def _ensure_folder(conn: imaplib.IMAP4, config: ImapConfig, name: str) -> None:
    mailbox = quote_mailbox(name)
    typ, _ = conn.status(mailbox, "(MESSAGES)")
    if typ == "OK":
        return
    typ, data = conn.create(mailbox)
    reason = _response_text(data)
    if typ != "OK" and "[ALREADYEXISTS]" not in reason.upper():
        raise ImapError(
            f"Cannot create folder {name!r} at {_where(config)}: {reason}",
            permanent=not _is_temporary(reason),
        )
    log.info("IMAP %s@%s: created folder %r", config.username, config.host, name)
    with contextlib.suppress(imaplib.IMAP4.error):
        conn.subscribe(mailbox)  # so that mail clients show it


def _check_move_target(config: ImapConfig) -> None:
    if encode_mailbox(config.processed_folder) == encode_mailbox(config.folder):
        raise ImapError(
            f"The processed folder must differ from the polled folder {config.folder!r}",
            permanent=True,
        )


def _mark(config: ImapConfig, uids: Sequence[int]) -> None:
    if config.processed is Processed.MOVE:
        _check_move_target(config)
    with _session(config) as conn:
        _, keywords = _select(conn, config)
        if config.processed is Processed.FLAG:
            flags = processed_flags(keywords=keywords)
            for chunk in _chunks(uids):
                _ok(config, "Flagging", conn.uid("STORE", chunk, "+FLAGS.SILENT", flags))
            return
        capabilities = _capabilities(conn)
        _ensure_folder(conn, config, config.processed_folder)
        target = quote_mailbox(config.processed_folder)
        for chunk in _chunks(uids):
            if "MOVE" in capabilities:
                _ok(config, "Moving", conn.uid("MOVE", chunk, target))
                continue
            _ok(config, "Copying", conn.uid("COPY", chunk, target))
            _ok(config, "Flagging", conn.uid("STORE", chunk, "+FLAGS.SILENT", "(\\Deleted)"))
            if "UIDPLUS" in capabilities:
                _ok(config, "Expunging", conn.uid("EXPUNGE", chunk))
            else:  # also expunges what others flagged \Deleted in this folder
                _ok(config, "Expunging", conn.expunge())


def _check(config: ImapConfig) -> MailboxCheck:
    if config.processed is Processed.MOVE:
        _check_move_target(config)
    with _session(config) as conn:
        capabilities = _capabilities(conn)
        total, keywords = _select(conn, config)
        criteria = unprocessed_criteria(config.processed, keywords=keywords)
        unprocessed = len(_search(conn, config, criteria))
    noun = "message" if total == 1 else "messages"
    return MailboxCheck(
        ok=True,
        message=f"Connected; {config.folder} has {total} {noun}, {unprocessed} not yet processed",
        total=total,
        unprocessed=unprocessed,
        capabilities=capabilities,
    )
