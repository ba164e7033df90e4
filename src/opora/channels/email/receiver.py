"""The SMTP/LMTP receiver: `opora serve` listens (``OPORA_SMTP_LISTEN=host:port``) so that a
mail server can deliver straight to Opora (Postfix ``transport`` to ``smtp:`` or ``lmtp:``).

aiosmtpd speaks the protocol; the server runs on the application's own event loop (not
aiosmtpd's ``Controller`` thread) because ingesting uses the app's database engines.

- ``RCPT TO`` is accepted only for an address of an active mailbox (a per-ticket reply
  address ``support+t123-…@`` counts as its mailbox's); anything else is ``550 5.1.1``.
- After ``DATA`` the message is ingested and committed *before* we answer ``250``: a
  ``250`` always means the message is stored. Messages that arrive while others are
  being written wait and are then written together (``intake.ingest_many``, up to 50 per
  transaction): a busy mail server's parallel deliveries share commits. A refused message
  (a loop, rate limit) is stored too and answered ``250`` with the reason (a bounce would
  feed the loop).
  Trouble on our side (the database) answers ``451 4.3.0``, so the sender retries.
- LMTP answers once per recipient after ``DATA``, as RFC 2033 requires; the message is
  ingested once whatever the number of recipients.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from opora.channels.email import repository, threading
from opora.channels.email.intake import Delivery, Outcome, ingest_many
from opora.channels.email.models import Route
from opora.channels.email.service import IngestOptions, NoMailbox
from opora.errors import OporaError

log = logging.getLogger(__name__)


@dataclass
class IngestHandler:
    db: Any
    options: IngestOptions
    lmtp: bool = False
    batch_size: int = 50
    _waiting: list[tuple[Delivery, asyncio.Future[Outcome]]] = field(default_factory=list)
    _writer: asyncio.Task[None] | None = None

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
        """Queue the message for the writer and answer once it is committed (or not)."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((Delivery(raw, tuple(recipients)), future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return _answer(await asyncio.shield(future))

    async def _write(self) -> None:
        """Take the waiting messages in, up to ``batch_size`` per transaction, until none
        waits: while one batch is written, the deliveries arriving meanwhile gather for
        the next (a group commit: one message alone is written at once)."""
        while self._waiting:
            batch = self._waiting[: self.batch_size]
            del self._waiting[: self.batch_size]
            try:
                outcomes: list[Outcome] = await ingest_many(
                    self.db, [d for d, _ in batch], route=Route.SMTP, options=self.options
                )
            except Exception as exc:
                outcomes = [exc] * len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)


def _answer(outcome: Outcome) -> str:
    if isinstance(outcome, NoMailbox):
        return f"550 5.1.1 {outcome.message}"
    if isinstance(outcome, OporaError):
        return f"554 5.6.0 {outcome.message}"
    if isinstance(outcome, Exception):
        log.error("SMTP receiver: could not take a message in", exc_info=outcome)
        return "451 4.3.0 Temporary failure, please try again later"
    if outcome.ticket_number is not None and outcome.accepted:
        return f"250 2.0.0 OK: ticket #{outcome.ticket_number}"
    reason = " ".join(outcome.reason.split())[:200] or outcome.status
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
