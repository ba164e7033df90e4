"""Many messages in one transaction: an IMAP poll's mail, the SMTP receiver's deliveries
when several arrive together.

``ingest_many`` parses every message first (no database), then takes them all in through
``service.ingest_batch`` in one transaction: one commit for the lot instead of one each,
and the usual new requests written together. If that transaction fails (a database error,
another process taking the same message in at the same moment), nothing of it is kept and
every message is taken in again on its own, one transaction each, as the pipe does: one
bad message then costs only itself.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opora import events, jobs
from opora.channels.email.models import Route
from opora.channels.email.service import (
    Incoming,
    IngestOptions,
    IngestResult,
    ingest_batch,
    ingest_email,
    read_message,
)
from opora.errors import OporaError
from opora.kit.blobs import BlobBatch

log = logging.getLogger(__name__)

Outcome = IngestResult | Exception  # an ``OporaError``: refused, nothing written; else: trouble


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for ``ingest_many``: its bytes and the envelope's recipients."""

    raw: bytes
    recipients: tuple[str, ...] = ()


async def ingest_many(
    db: Any,
    deliveries: Sequence[Delivery],
    *,
    route: Route,
    options: IngestOptions,
    mailbox_id: int | None = None,
) -> list[Outcome]:
    """Take the messages in; for each, in order, its result, or the ``OporaError`` that
    refused it (nothing was written for it), or another exception when it could not be
    stored at all (the caller keeps it to try again)."""
    outcomes: list[Outcome | None] = [None] * len(deliveries)
    items = []
    for index, delivery in enumerate(deliveries):
        try:
            parsed, key = read_message(delivery.raw)
        except OporaError as exc:
            outcomes[index] = exc
            continue
        items.append(Incoming(index, delivery.raw, parsed, key, delivery.recipients))
    if items:
        try:
            blobs = BlobBatch(options.store)
            async with db.unit_of_work() as session, jobs.collect(session):
                batch = await ingest_batch(
                    session, items, route=route, options=options, mailbox_id=mailbox_id,
                    blobs=blobs,
                )  # fmt: skip
                await events.run_in_transaction(session)  # their jobs join the one insert
                await blobs.wait()  # every file on disk before the commit
            for index, outcome in batch:
                outcomes[index] = outcome
        except Exception:
            log.warning("a batch of %d messages failed; taking them in one at a time",
                        len(items), exc_info=True)  # fmt: skip
            for item in items:
                outcomes[item.index] = await _one(db, deliveries[item.index], route, options,
                                                  mailbox_id)  # fmt: skip
    return [o if o is not None else RuntimeError("not taken in") for o in outcomes]


async def _one(
    db: Any, delivery: Delivery, route: Route, options: IngestOptions, mailbox_id: int | None
) -> Outcome:
    try:
        async with db.unit_of_work() as session:
            return await ingest_email(
                session, raw=delivery.raw, route=route, options=options,
                mailbox_id=mailbox_id, recipients=delivery.recipients,
            )  # fmt: skip
    except Exception as exc:  # the caller decides: refused (OporaError) or kept for later
        return exc
