"""The SMTP/LMTP receiver: `opora serve` listens (``OPORA_SMTP_LISTEN=host:port``) so that a
mail server can deliver straight to Opora (Postfix ``transport`` to ``smtp:`` or ``lmtp:``).

aiosmtpd speaks the protocol; the server runs on the application's own event loop (not
aiosmtpd's ``Controller`` thread) because ingesting uses the app's database engines.

- ``RCPT TO`` is accepted only for an address of an active mailbox (a per-ticket reply
  address ``support+t123-…@`` counts as its mailbox's); anything else is ``550 5.1.1``.
- After ``DATA`` the message is ingested and committed *before* we answer ``250``: a
  ``250`` always means the message is stored. A refused message (a loop, rate limit)
  is stored too and answered ``250`` with the reason (a bounce would feed the loop).
  Trouble on our side (the database) answers ``451 4.3.0``, so the sender retries.
- LMTP answers once per recipient after ``DATA``, as RFC 2033 requires; the message is
  ingested once whatever the number of recipients.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from opora.channels.email import repository, threading
from opora.channels.email.models import Route
from opora.channels.email.service import IngestOptions, NoMailbox, ingest_email
from opora.errors import OporaError

log = logging.getLogger(__name__)


@dataclass
class IngestHandler:
    db: Any
    options: IngestOptions
    lmtp: bool = False

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        base = threading.base_address(address)
        async with self.db.unit_of_work(write=False) as s:
            found = await repository.mailboxes_by_address(s, [base])
        if not any(m.is_active for m in found):
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        status = await self._ingest(raw, list(envelope.rcpt_tos))
        if self.lmtp:
            return "\r\n".join(status for _ in envelope.rcpt_tos) or status
        return status

    async def _ingest(self, raw: bytes, recipients: list[str]) -> str:
        try:
            async with self.db.unit_of_work() as s:
                result = await ingest_email(
                    s, raw=raw, route=Route.SMTP, options=self.options, recipients=recipients
                )
        except NoMailbox as exc:
            return f"550 5.1.1 {exc.message}"
        except OporaError as exc:
            return f"554 5.6.0 {exc.message}"
        except Exception:
            log.exception("SMTP receiver: could not take a message in")
            return "451 4.3.0 Temporary failure, please try again later"
        if result.ticket_number is not None and result.accepted:
            return f"250 2.0.0 OK: ticket #{result.ticket_number}"
        reason = " ".join(result.reason.split())[:200] or result.status
        return f"250 2.0.0 Stored, not made a ticket: {reason}"


def parse_listen(value: str) -> tuple[str, int]:
    """``"127.0.0.1:2525"`` → ("127.0.0.1", 2525); ``"[::1]:25"`` for IPv6."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"OPORA_SMTP_LISTEN must be host:port, not {value!r}")
    return host.strip("[]"), int(port)


async def start_receiver(
    db: Any,
    options: IngestOptions,
    *,
    listen: str,
    lmtp: bool = False,
    max_bytes: int = 50 * 1024 * 1024,
    hostname: str | None = None,
) -> asyncio.Server:
    """Listen on ``listen`` (host:port) on the running loop; close the returned server."""
    host, port = parse_listen(listen)
    handler = IngestHandler(db=db, options=options, lmtp=lmtp)
    protocol = LMTP if lmtp else SMTP
    loop = asyncio.get_running_loop()

    def factory() -> SMTP:
        return protocol(
            handler, data_size_limit=max_bytes, enable_SMTPUTF8=True, hostname=hostname,
            ident="Opora", loop=loop,
        )  # fmt: skip

    server = await loop.create_server(factory, host=host, port=port)
    log.info("%s receiver listening on %s:%s", "LMTP" if lmtp else "SMTP", host, port)
    return server
