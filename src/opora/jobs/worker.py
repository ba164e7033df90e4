"""The job worker: claim due jobs with a lease, run each in its own transaction.

A handler's database changes and the row's ``done`` mark commit together, so a worker
that dies mid-job leaves nothing half-done: the lease runs out, another worker claims the
job and runs it again, and the late worker (if it was only slow, paused or its clock was
behind) cannot mark it done — its changes roll back (``LeaseLost``).

The lease is the job's time budget: a handler is cancelled when its lease ends (a job that
needs longer declares ``timeout_seconds`` and gets a lease that covers it), so two live
copies of a job never run side by side on purpose. Every claim counts as an attempt, a
lease that runs out included: a job whose workers keep dying goes ``dead`` after
``max_attempts`` like one whose handler keeps failing.

Every statement goes through typed SQLAlchemy columns, so times compare the same way on
SQLite (naive UTC text with microseconds) and PostgreSQL (timestamptz).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, update

from opora.db import Database
from opora.jobs import registry, service
from opora.jobs.models import Job, JobStatus
from opora.kit.time import utcnow

log = logging.getLogger(__name__)

LEASE_MARGIN_SECONDS = 30  # added to a job's own timeout when it is longer than the lease
MAX_ERROR_CHARS = 4000


class LeaseLost(RuntimeError):
    """Another worker took this job over; this run's changes are rolled back."""


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    name: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    lease_until: datetime


def backoff_seconds(attempt: int) -> float:
    """15 s, 1 min, 4 min, 16 min, ... capped at 4 h, with ±10 % jitter."""
    base = 15 * 4 ** min(attempt - 1, 8) if attempt > 0 else 15
    return float(min(base, 4 * 3600) * random.uniform(0.9, 1.1))


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
        periodic: bool = True,
    ) -> None:
        self.db = db
        self.settings = settings
        self.name = (name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}")[:100]
        # SQLite has one writer: a handler's transaction holds it until the job is done
        self.concurrency = 1 if db.is_sqlite else max(1, concurrency)
        self.poll_seconds = poll_seconds or getattr(settings, "worker_poll_seconds", 1.0)
        default_lease: int = getattr(settings, "job_lease_seconds", 300)
        self.lease_seconds = lease_seconds if lease_seconds is not None else default_lease
        self.periodic = periodic
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled_slots: dict[str, int] = {}

    def wake(self) -> None:
        """Run the next round now instead of after the poll interval (thread-safe)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    # -- claiming ---------------------------------------------------------------------

    def _owned(self, claimed: ClaimedJob) -> ColumnElement[bool]:
        """The compare-and-set that proves this run still holds the job's lease."""
        return and_(
            Job.id == claimed.id,
            Job.status == JobStatus.RUNNING,
            Job.locked_by == self.name,
            Job.attempts == claimed.attempts,
        )

    async def claim(self, limit: int, *, now: datetime | None = None) -> list[ClaimedJob]:
        """Take up to ``limit`` due jobs (pending and due, or running with an expired
        lease); jobs whose lease ran out on their last attempt go ``dead`` instead."""
        now = now or utcnow()
        lease_until = now + timedelta(seconds=self.lease_seconds)
        expired = and_(Job.status == JobStatus.RUNNING, Job.locked_until < now)
        async with self.db.unit_of_work() as session:
            exhausted = (
                select(Job.id)
                .where(expired, Job.attempts >= Job.max_attempts)
                .with_for_update(skip_locked=True)
            )
            await session.execute(
                update(Job)
                .where(Job.id.in_(exhausted.scalar_subquery()))
                .values(
                    status=JobStatus.DEAD,
                    finished_at=now,
                    locked_until=None,
                    last_error=literal("gave up: the lease ran out on the last attempt (")
                    + func.coalesce(Job.locked_by, "")
                    + literal(")"),
                )
                .execution_options(synchronize_session=False)
            )
            due = (
                select(Job.id)
                .where(
                    or_(
                        and_(Job.status == JobStatus.PENDING, Job.run_at <= now),
                        and_(expired, Job.attempts < Job.max_attempts),
                    )
                )
                .order_by(Job.run_at, Job.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            rows = (
                await session.execute(
                    update(Job)
                    .where(Job.id.in_(due.scalar_subquery()))
                    .values(
                        status=JobStatus.RUNNING,
                        locked_by=self.name,
                        locked_until=lease_until,
                        attempts=Job.attempts + 1,
                        last_error=case(
                            (
                                Job.status == JobStatus.RUNNING,
                                literal("the lease ran out (")
                                + func.coalesce(Job.locked_by, "")
                                + literal(")"),
                            ),
                            else_=Job.last_error,
                        ),
                    )
                    .returning(Job.id, Job.name, Job.payload, Job.attempts, Job.max_attempts)
                    .execution_options(synchronize_session=False)
                )
            ).all()
        claimed = [
            ClaimedJob(
                row.id, row.name, row.payload or {}, row.attempts, row.max_attempts, lease_until
            )
            for row in rows
        ]
        claimed.sort(key=lambda c: c.id)
        return claimed

    async def _extend_lease(self, claimed: ClaimedJob, seconds: float) -> ClaimedJob | None:
        lease_until = utcnow() + timedelta(seconds=seconds)
        async with self.db.unit_of_work() as session:
            row = (
                await session.execute(
                    update(Job)
                    .where(self._owned(claimed))
                    .values(locked_until=lease_until)
                    .returning(Job.id)
                    .execution_options(synchronize_session=False)
                )
            ).first()
        if row is None:
            return None
        return ClaimedJob(
            claimed.id,
            claimed.name,
            claimed.payload,
            claimed.attempts,
            claimed.max_attempts,
            lease_until,
        )

    # -- running ----------------------------------------------------------------------

    async def run_job(self, claimed: ClaimedJob) -> str:
        """Run one claimed job; returns done, failed, dead or lease_lost."""
        spec = registry.get(claimed.name)
        if claimed.attempts > claimed.max_attempts:
            await self._finish(claimed, JobStatus.DEAD, "gave up: no attempts left")
            return JobStatus.DEAD
        if spec is None:
            return await self._fail(claimed, f"no handler is registered for job {claimed.name!r}")
        if spec.timeout_seconds:
            needed = spec.timeout_seconds + LEASE_MARGIN_SECONDS
            remaining = (claimed.lease_until - utcnow()).total_seconds()
            if needed > remaining:
                extended = await self._extend_lease(claimed, needed)
                if extended is None:
                    log.warning("job %s (%s): lease lost before start", claimed.id, claimed.name)
                    return "lease_lost"
                claimed = extended
        remaining = (claimed.lease_until - utcnow()).total_seconds()
        if remaining <= 0:
            log.warning("job %s (%s): lease ran out before start", claimed.id, claimed.name)
            return "lease_lost"
        by_lease = spec.timeout_seconds is None or remaining < spec.timeout_seconds
        budget = remaining if by_lease else float(spec.timeout_seconds or remaining)
        try:
            async with self.db.unit_of_work() as session:
                ctx = registry.JobContext(
                    session, claimed.id, claimed.attempts, self.settings, claimed.max_attempts,
                    self.db,
                )  # fmt: skip
                deadline = asyncio.timeout(budget)
                try:
                    async with deadline:
                        await spec.handler(ctx, claimed.payload)
                except TimeoutError as exc:
                    if not deadline.expired():
                        raise  # the handler's own timeout, reported as it is
                    which = "its lease" if by_lease else "its timeout"
                    raise TimeoutError(f"ran past {which} ({budget:.0f} s)") from exc
                done = (
                    await session.execute(
                        update(Job)
                        .where(self._owned(claimed))
                        .values(
                            status=JobStatus.DONE,
                            finished_at=utcnow(),
                            locked_until=None,
                            last_error=None,
                        )
                        .returning(Job.id)
                        .execution_options(synchronize_session=False)
                    )
                ).first()
                if done is None:
                    raise LeaseLost(f"job {claimed.id} was taken over by another worker")
        except LeaseLost:
            log.warning("job %s (%s): lease lost, changes rolled back", claimed.id, claimed.name)
            return "lease_lost"
        except Exception as exc:
            log.warning("job %s (%s) failed: %s", claimed.id, claimed.name, exc)
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            return await self._fail(claimed, detail[:MAX_ERROR_CHARS])
        return JobStatus.DONE

    async def _fail(self, claimed: ClaimedJob, error: str) -> str:
        if claimed.attempts >= claimed.max_attempts:
            await self._finish(claimed, JobStatus.DEAD, error)
            return JobStatus.DEAD
        retry_at = utcnow() + timedelta(seconds=backoff_seconds(claimed.attempts))
        async with self.db.unit_of_work() as session:
            await session.execute(
                update(Job)
                .where(self._owned(claimed))
                .values(
                    status=JobStatus.PENDING,
                    run_at=retry_at,
                    locked_by=None,
                    locked_until=None,
                    last_error=error,
                )
                .execution_options(synchronize_session=False)
            )
        return "failed"

    async def _finish(self, claimed: ClaimedJob, status: str, error: str | None) -> None:
        async with self.db.unit_of_work() as session:
            await session.execute(
                update(Job)
                .where(self._owned(claimed))
                .values(status=status, finished_at=utcnow(), locked_until=None, last_error=error)
                .execution_options(synchronize_session=False)
            )

    # -- scheduling -------------------------------------------------------------------

    async def schedule_periodic(self, *, now: datetime | None = None) -> int:
        """Enqueue each periodic job once per slot, however many workers try; returns
        how many this call enqueued."""
        specs = registry.periodic_jobs()
        now = now or utcnow()
        slots = {
            spec.name: int(now.timestamp()) // spec.every_seconds
            for spec in specs.values()
            if self._scheduled_slots.get(spec.name) != int(now.timestamp()) // spec.every_seconds
        }
        if not slots:
            return 0
        enqueued = 0
        async with self.db.unit_of_work() as session:
            for name, slot in slots.items():
                job_spec = registry.get(name)
                job_id = await service.enqueue(
                    session,
                    name,
                    {"slot": slot},
                    run_at=now,
                    idempotency_key=f"periodic:{name}:{slot}",
                    max_attempts=(job_spec.max_attempts if job_spec else None) or 1,
                )
                if job_id is not None:
                    enqueued += 1
        self._scheduled_slots.update(slots)
        return enqueued

    async def run_once(self) -> int:
        """Claim and run what is due now; returns how many jobs were run."""
        if self.periodic:
            await self.schedule_periodic()
        total = 0
        while True:
            batch = await self.claim(self.concurrency)
            if not batch:
                return total
            await asyncio.gather(*(self.run_job(job) for job in batch))
            total += len(batch)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; a due job enqueued in this process wakes it early."""
        self._loop = asyncio.get_running_loop()
        service.add_enqueue_listener(self.wake)
        log.info("worker %s started", self.name)
        try:
            while not stop.is_set():
                self._wake.clear()  # before the round: a wake during it triggers another
                try:
                    await self.run_once()
                except Exception:
                    log.exception("worker loop error")
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
        finally:
            service.remove_enqueue_listener(self.wake)
            log.info("worker %s stopped", self.name)
