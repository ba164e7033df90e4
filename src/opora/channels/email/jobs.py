"""Jobs of the email channel.

- ``channels.email.send``: compose and send one email about a ticket (``outbound``).
- ``channels.email.poll_mailboxes`` (every 20 s): enqueue a poll of each IMAP mailbox
  whose ``next_poll_at`` is due; one poll job per mailbox and due time (idempotency key).
- ``channels.email.poll_mailbox``: poll one mailbox (``polling``), committing message by
  message outside the job's own transaction.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from opora.channels.email import outbound, polling, repository, service
from opora.channels.email.service import ingest_options
from opora.jobs import JobContext, enqueue, job, periodic
from opora.kit.time import utcnow

log = logging.getLogger(__name__)

POLL_MAILBOXES = "channels.email.poll_mailboxes"
POLL_MAILBOX = service.POLL_MAILBOX


# the email's own retries are jobs of their own (outbound.SEND_ATTEMPTS); these attempts
# cover a crash of the handler itself
@job(outbound.SEND, max_attempts=3)
async def send(ctx: JobContext, payload: dict[str, Any]) -> None:
    await outbound.send_ticket_email(
        ctx.session, payload, last_attempt=ctx.last_attempt, settings=ctx.settings
    )


@job(POLL_MAILBOXES)
async def poll_mailboxes(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Plan the next poll and enqueue this one in the same transaction: a mailbox is never
    polled twice for one due time, whatever number of workers run this."""
    now = utcnow()
    for mailbox in await repository.mailboxes_due(ctx.session, now):
        mailbox.next_poll_at = now + timedelta(seconds=mailbox.poll_interval_seconds)
        await enqueue(
            ctx.session, POLL_MAILBOX, {"mailbox_id": mailbox.id},
            idempotency_key=f"poll:{mailbox.id}:{now.isoformat()}",
        )  # fmt: skip


@job(POLL_MAILBOX, max_attempts=1, timeout_seconds=240)
async def poll_mailbox(ctx: JobContext, payload: dict[str, Any]) -> None:
    result = await polling.poll_mailbox(
        ctx.db,
        mailbox_id=int(payload["mailbox_id"]),
        options=ingest_options(ctx.settings),
        ca_file=ctx.settings.email_ca_file,
    )
    if result.fetched:
        log.info("mailbox %s: %d fetched, %d taken in", payload["mailbox_id"], result.fetched,
                 result.ingested)  # fmt: skip


periodic(POLL_MAILBOXES, every_seconds=20)
