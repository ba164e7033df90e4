"""``sla.sweep`` (every 30 s): record the SLA warnings and breaches that are due, in
batches, each exactly once (``sla.service.sweep_batch``)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from opora.jobs import JobContext, job, periodic
from opora.sla import service

log = logging.getLogger(__name__)

SWEEP = "sla.sweep"
MAX_BATCHES = 20  # then the next run goes on: one job never holds the writer for long


@job(SWEEP)
async def sweep(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Batch by batch, each committed on its own (the job's own session does nothing)."""
    for _ in range(MAX_BATCHES):
        async with ctx.db.unit_of_work() as session:
            result = await service.sweep_batch(session)
        if result.warnings or result.breaches:
            log.info("SLA: %d warnings, %d breaches", result.warnings, result.breaches)
        if result.checked < service.SWEEP_BATCH:
            return
        # let requests run between batches: on SQLite the writer works on the event
        # loop's thread, so a run of batches would otherwise hold every request back
        await asyncio.sleep(0)


periodic(SWEEP, every_seconds=30)
