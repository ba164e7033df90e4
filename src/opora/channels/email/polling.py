"""IMAP polling: fetch a mailbox's new mail, take each message in, then mark it processed.

The order is what makes it safe: the poll's messages are ingested and committed first
(``intake.ingest_many``: one transaction for the lot, or one each if that fails), and only
the messages that committed are then flagged or moved on the server. A crash in between
fetches them again next time, and the Message-ID makes the second ingest a no-op.
Network I/O never happens inside a database transaction (on SQLite that would hold the
single writer while a slow server answers).

A message that cannot be taken in at all (no mailbox can hold it, not an email) is still
marked processed: it was recorded with the reason (``InboundEmail``) or is unreadable,
and fetching it again every minute would not change that. A database error leaves it
on the server for the next poll.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from opora.channels.email import imap
from opora.channels.email.intake import Delivery, ingest_many
from opora.channels.email.models import Mailbox, Route
from opora.channels.email.service import IngestOptions, imap_config
from opora.errors import OporaError
from opora.kit.time import utcnow

log = logging.getLogger(__name__)

BATCH = 50


@dataclass(frozen=True, slots=True)
class PollResult:
    fetched: int = 0
    ingested: int = 0
    tickets: tuple[int, ...] = ()  # ticket numbers the mail landed on
    error: str | None = None


async def _finish(db: Any, mailbox_id: int, error: str | None) -> None:
    async with db.unit_of_work() as session:
        mailbox = await session.get(Mailbox, mailbox_id)
        if mailbox is None:
            return
        now = utcnow()
        mailbox.last_polled_at = now
        mailbox.last_poll_error = error[:2000] if error else None
        mailbox.next_poll_at = now + timedelta(seconds=mailbox.poll_interval_seconds)


async def poll_mailbox(
    db: Any, *, mailbox_id: int, options: IngestOptions, ca_file: str | None = None
) -> PollResult:
    """One poll of one mailbox (up to ``BATCH`` messages; the rest wait for the next)."""
    async with db.unit_of_work(write=False) as session:
        mailbox = await session.get(Mailbox, mailbox_id)
        if mailbox is None or not mailbox.imap_enabled or not mailbox.is_active:
            return PollResult(error="the mailbox is gone or not polled")
        config = imap_config(mailbox, ca_file=ca_file)
    try:
        fetched = await imap.fetch_unprocessed(config, limit=BATCH)
    except imap.ImapError as exc:
        await _finish(db, mailbox_id, str(exc))
        log.warning("mailbox %s: %s", mailbox_id, exc)
        return PollResult(error=str(exc))
    done: list[int] = []
    numbers: list[int] = []
    outcomes = await ingest_many(
        db, [Delivery(item.raw) for item in fetched], route=Route.IMAP, options=options,
        mailbox_id=mailbox_id,
    )  # fmt: skip
    for item, outcome in zip(fetched, outcomes, strict=True):
        if isinstance(outcome, OporaError):  # not an email, no place for it: recorded nowhere
            log.warning("mailbox %s, uid %s: not taken in: %s", mailbox_id, item.uid, outcome)
            done.append(item.uid)
        elif isinstance(outcome, Exception):
            log.error("mailbox %s, uid %s: ingest failed; kept on the server", mailbox_id,
                      item.uid, exc_info=outcome)  # fmt: skip
        else:
            done.append(item.uid)
            if outcome.ticket_number is not None:
                numbers.append(outcome.ticket_number)
    error = None
    if done:
        try:
            await imap.mark_processed(config, done)
        except imap.ImapError as exc:  # they will be fetched again and found duplicates
            error = f"could not mark processed mail: {exc}"
            log.warning("mailbox %s: %s", mailbox_id, error)
    await _finish(db, mailbox_id, error)
    return PollResult(fetched=len(fetched), ingested=len(done), tickets=tuple(numbers), error=error)
