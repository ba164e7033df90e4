"""The job worker: claim due jobs with a lease, run each in its own transaction.

A handler's database changes and the row's ``done`` mark commit together, so a worker
that dies mid-job leaves nothing half-done: the lease runs out, another worker claims the
job and runs it again, and the late worker (if it was only slow) cannot mark it done.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from opora.db import Database
from opora.jobs import registry
from opora.jobs.models import JobStatus
from opora.jobs.service import enqueue
from opora.kit.time import utcnow

log = logging.getLogger(__name__)


class LeaseLost(RuntimeError):
    """Another worker took this job over; this run's changes are rolled back."""


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    name: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


def backoff_seconds(attempt: int) -> float:
    """15 s, 1 min, 4 min, 16 min, ... capped at 4 h, with ±10 % jitter."""
    base = min(15 * 4 ** (attempt - 1), 4 * 3600)
    return float(base * random.uniform(0.9, 1.1))


class Worker:
    def __init__(
        self,
        db: Database,
        settings: Any,
        *,
        name: str | None = None,
        concurrency: int = 4,
        poll_seconds: float | None = None,
        lease_seconds: int | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.concurrency = 1 if db.is_sqlite else concurrency
        self.poll_seconds = poll_seconds or getattr(settings, "worker_poll_seconds", 1.0)
        default_lease: int = getattr(settings, "job_lease_seconds", 300)
        self.lease_seconds = lease_seconds if lease_seconds is not None else default_lease
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def claim(self, limit: int) -> list[ClaimedJob]:
        now = utcnow()
        lease_until = now + timedelta(seconds=self.lease_seconds)
        lock = " FOR UPDATE SKIP LOCKED" if not self.db.is_sqlite else ""
        stmt = text(
            "UPDATE jobs SET status = 'running', locked_by = :worker, locked_until = :lease, "
            "attempts = attempts + 1 WHERE id IN ("
            "SELECT id FROM jobs WHERE (status = 'pending' AND run_at <= :now) "
            "OR (status = 'running' AND locked_until < :now) "
            f"ORDER BY run_at, id LIMIT :limit{lock}) "
            "RETURNING id, name, payload, attempts, max_attempts"
        )
        params = {
            "worker": self.name,
            "lease": self._db_time(lease_until),
            "now": self._db_time(now),
            "limit": limit,
        }
        async with self.db.unit_of_work() as session:
            rows = (await session.execute(stmt, params)).all()
        claimed = []
        for row in rows:
            payload = row.payload
            if isinstance(payload, str):  # raw SQL returns SQLite's JSON as text
                payload = json.loads(payload)
            claimed.append(
                ClaimedJob(row.id, row.name, payload or {}, row.attempts, row.max_attempts)
            )
        return claimed

    def _db_time(self, value: Any) -> Any:
        # raw SQL bypasses the UTCDateTime type: SQLite stores naive UTC text
        return value.replace(tzinfo=None).isoformat(sep=" ") if self.db.is_sqlite else value

    async def run_job(self, claimed: ClaimedJob) -> str:
        spec = registry.get(claimed.name)
        if claimed.attempts > claimed.max_attempts:
            await self._finish(
                claimed, JobStatus.DEAD, "gave up: the job's lease ran out too often"
            )
            return JobStatus.DEAD
        if spec is None:
            await self._fail(claimed, f"no handler is registered for job {claimed.name!r}")
            return "failed"
        try:
            async with self.db.unit_of_work() as session:
                ctx = registry.JobContext(session, claimed.id, claimed.attempts, self.settings)
                coro = spec.handler(ctx, claimed.payload)
                if spec.timeout_seconds:
                    await asyncio.wait_for(coro, spec.timeout_seconds)
                else:
                    await coro
                done = await session.execute(
                    text(
                        "UPDATE jobs SET status = 'done', finished_at = :now, locked_until = NULL, "
                        "last_error = NULL WHERE id = :id AND locked_by = :worker "
                        "AND status = 'running'"
                    ),
                    {"now": self._db_time(utcnow()), "id": claimed.id, "worker": self.name},
                )
                if done.rowcount != 1:  # type: ignore[attr-defined]
                    raise LeaseLost(f"job {claimed.id} was taken over by another worker")
        except LeaseLost:
            log.warning("job %s (%s): lease lost, changes rolled back", claimed.id, claimed.name)
            return "lease_lost"
        except Exception as exc:
            log.warning("job %s (%s) failed: %s", claimed.id, claimed.name, exc)
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            await self._fail(claimed, detail[:4000])
            return "failed"
        return JobStatus.DONE

    async def _fail(self, claimed: ClaimedJob, error: str) -> None:
        if claimed.attempts >= claimed.max_attempts:
            await self._finish(claimed, JobStatus.DEAD, error)
            return
        retry_at = utcnow() + timedelta(seconds=backoff_seconds(claimed.attempts))
        async with self.db.unit_of_work() as session:
            await session.execute(
                text(
                    "UPDATE jobs SET status = 'pending', run_at = :run_at, locked_by = NULL, "
                    "locked_until = NULL, last_error = :error "
                    "WHERE id = :id AND locked_by = :worker"
                ),
                {
                    "run_at": self._db_time(retry_at),
                    "error": error,
                    "id": claimed.id,
                    "worker": self.name,
                },
            )

    async def _finish(self, claimed: ClaimedJob, status: str, error: str | None) -> None:
        async with self.db.unit_of_work() as session:
            await session.execute(
                text(
                    "UPDATE jobs SET status = :status, finished_at = :now, locked_until = NULL, "
                    "last_error = :error WHERE id = :id AND locked_by = :worker"
                ),
                {
                    "status": status,
                    "now": self._db_time(utcnow()),
                    "error": error,
                    "id": claimed.id,
                    "worker": self.name,
                },
            )

    async def schedule_periodic(self) -> None:
        specs = registry.periodic_jobs()
        if not specs:
            return
        now = utcnow()
        async with self.db.unit_of_work() as session:
            for spec in specs.values():
                slot = int(now.timestamp()) // spec.every_seconds
                await enqueue(
                    session,
                    spec.name,
                    {"slot": slot},
                    idempotency_key=f"periodic:{spec.name}:{slot}",
                    max_attempts=1,
                )

    async def run_once(self) -> int:
        """Claim and run what is due now; returns how many jobs were run."""
        await self.schedule_periodic()
        total = 0
        while True:
            batch = await self.claim(self.concurrency)
            if not batch:
                return total
            await asyncio.gather(*(self.run_job(job) for job in batch))
            total += len(batch)

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker %s started", self.name)
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("worker loop error")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                waiter = asyncio.ensure_future(self._wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                try:
                    await asyncio.wait(
                        {waiter, stopper},
                        timeout=self.poll_seconds,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    waiter.cancel()
                    stopper.cancel()
        log.info("worker %s stopped", self.name)
