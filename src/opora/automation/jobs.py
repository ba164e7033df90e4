"""Automation jobs.

- ``automation.time_rules`` (every 60 s): each active time rule by position, over the
  tickets that changed or passed one of its age thresholds since its last look, and a
  slice of all tickets (``automation/passes.py``), in batches of ``service.BATCH``, each
  batch committed on its own, at most ``service.MAX_BATCHES`` beyond each pass's first
  per run (the next run goes on). A rule fires on a ticket once per marker — the
  ticket's last status change — so "pending for 3 business days → remind" reminds once
  per pending period.
- ``automation.webhook``: a trigger's, time rule's or macro's webhook, sent with httpx
  (10 s timeout). An answer other than 2xx, or no answer, raises: the worker retries with
  back-off and the job's ``last_error`` says why. Each attempt carries the same
  ``X-Opora-Delivery`` (the job id), so the receiver can drop a repeat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from opora import __version__
from opora.automation import passes, service
from opora.automation.engine import WEBHOOK
from opora.automation.schemas import TimeRulesRun
from opora.db import Database
from opora.jobs import JobContext, job, periodic
from opora.kit.time import utcnow
from opora.tickets.models import Ticket

log = logging.getLogger(__name__)

TIME_RULES = "automation.time_rules"
WEBHOOK_TIMEOUT_SECONDS = 10.0
WEBHOOK_ATTEMPTS = 8  # 15 s, 1 min, 4 min, 16 min, 1 h, then 4 h apart: about 9 hours
MAX_ERROR_BODY = 300


class WebhookFailed(RuntimeError):
    """The receiver answered with something other than 2xx."""


async def run_time_rules(
    db: Database, *, now: datetime | None = None, span: int = passes.SWEEP_SPAN
) -> TimeRulesRun:
    """One run of the time rules (``automation/passes.py``), each batch in its own
    transaction together with where the rule's pass now stands."""
    at = now or utcnow()
    async with db.unit_of_work(write=False) as session:
        rules = await service.time_rules_in_force(session)
        progress = await passes.load_progress(session)
        last_id = (await session.execute(select(func.max(Ticket.id)))).scalar() or 0

    async def step(
        rule: service.ActiveTimeRule,
        scope: passes.Scope,
        settle: Callable[[service.RuleBatch], passes.Progress],
    ) -> service.RuleBatch:
        # let requests run between batches (on SQLite the writer works on the event loop's
        # thread, so a run of batches would otherwise hold every request back)
        await asyncio.sleep(0)
        async with db.unit_of_work() as session:
            batch = await service.run_time_rule_batch(
                session, rule=rule, now=at, after_id=scope.after_id, until_id=scope.until_id,
                changed_since=scope.changed_since,
            )  # fmt: skip
            await passes.save_progress(session, rule.id, settle(batch))
            return batch

    return await passes.advance(rules, progress, step, now=at, last_id=last_id, span=span)


@job(TIME_RULES)
async def time_rules(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Batch by batch, each committed on its own (the job's own session does nothing)."""
    result = await run_time_rules(ctx.db)
    if result.fired:
        log.info("time rules: %d fired (%d failed) of %d tickets checked",
                 result.fired, result.failed, result.checked)  # fmt: skip


periodic(TIME_RULES, every_seconds=60)


@job(WEBHOOK, max_attempts=WEBHOOK_ATTEMPTS, timeout_seconds=30)
async def call_webhook(ctx: JobContext, payload: dict[str, Any]) -> None:
    headers = {
        "User-Agent": f"Opora/{__version__} (automation webhook)",
        "X-Opora-Delivery": str(ctx.job_id),
        **payload.get("headers", {}),
    }
    body = payload.get("body") or ""
    async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False) as client:
        response = await client.request(
            payload.get("method", "POST"), payload["url"], content=body.encode(), headers=headers
        )
    if not 200 <= response.status_code < 300:
        raise WebhookFailed(
            f"{payload.get('method', 'POST')} {payload['url']} answered {response.status_code}"
            f" {response.reason_phrase}: {response.text[:MAX_ERROR_BODY]}"
        )
