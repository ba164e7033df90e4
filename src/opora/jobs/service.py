"""Enqueue a job inside the caller's transaction; look at jobs and retry dead ones.

``enqueue`` writes the row in the caller's transaction, so a rollback drops it with the
change that needed it. An idempotency key makes a second ``enqueue`` a no-op for as long
as the first row exists (finished rows are pruned after a week, dead ones are kept).

A worker running in the same process can ask to be woken when a due job is committed
(``add_enqueue_listener``), so ``opora serve`` delivers at once instead of at its next poll.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from opora.errors import Conflict, NotFound
from opora.jobs import registry
from opora.jobs.models import Job, JobStatus
from opora.kit.time import utcnow

DEFAULT_MAX_ATTEMPTS = 5

_WAKE_KEY = "opora.jobs.wake_after_commit"
_enqueue_listeners: list[Callable[[], None]] = []


class JobNotFound(NotFound):
    code = "job_not_found"


class JobNotRetryable(Conflict):
    code = "job_not_retryable"


async def enqueue(
    session: AsyncSession,
    name: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: datetime | None = None,
    idempotency_key: str | None = None,
    max_attempts: int | None = None,
) -> int | None:
    """Write a job row; returns its id, or None when the idempotency key was already used
    (or inside ``collect``, which writes the row at its end).

    ``max_attempts`` defaults to the one the job was registered with, else 5.
    """
    if max_attempts is None:
        spec = registry.get(name)
        max_attempts = (spec.max_attempts if spec else None) or DEFAULT_MAX_ATTEMPTS
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    if run_at is not None and run_at.tzinfo is None:
        raise ValueError("run_at must be timezone-aware (naive datetimes are ambiguous)")
    now = utcnow()
    values: dict[str, Any] = {
        "name": name,
        "payload": payload or {},
        "status": JobStatus.PENDING,
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_at": run_at or now,
        "idempotency_key": idempotency_key,
        "created_at": now,
    }
    collected: list[dict[str, Any]] | None = session.info.get(_COLLECTED)
    if collected is not None:
        collected.append(values)
        if run_at is None or run_at <= now:
            _wake_after_commit(session)
        return None
    if idempotency_key is None:
        job = Job(**values)
        session.add(job)
        await session.flush()
        job_id: int | None = job.id
    else:
        insert = (
            postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        )
        stmt = (
            insert(Job)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(Job.id)
        )
        job_id = (await session.execute(stmt)).scalar_one_or_none()
    if job_id is not None and (run_at is None or run_at <= now):
        _wake_after_commit(session)
    return job_id


_COLLECTED = "opora.jobs.collected"  # session.info: the rows ``collect`` gathers


@contextlib.asynccontextmanager
async def collect(session: AsyncSession) -> AsyncIterator[None]:
    """Within the block, ``enqueue`` gathers its rows (and returns None), and the block's
    end writes them all in one statement (those whose idempotency key is taken are
    skipped): a batch that writes many jobs (the email intake's receipts) pays one
    statement, not one each. Left by an exception, it writes nothing."""
    if _COLLECTED in session.info:  # already collecting: the outer block writes them
        yield
        return
    rows: list[dict[str, Any]] = []
    session.info[_COLLECTED] = rows
    try:
        yield
    finally:
        del session.info[_COLLECTED]
    if not rows:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # one statement, executed for many rows (compiled once, not once per batch size)
    stmt = insert(Job).on_conflict_do_nothing(index_elements=["idempotency_key"])
    await session.execute(stmt, rows)


async def get_job(session: AsyncSession, job_id: int) -> Job | None:
    return await session.get(Job, job_id, populate_existing=True)


async def list_jobs(
    session: AsyncSession,
    *,
    status: JobStatus | str | None = None,
    name: str | None = None,
    limit: int = 100,
) -> Sequence[Job]:
    """The newest jobs first, optionally only those in one status or with one name."""
    stmt = select(Job).order_by(Job.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(Job.status == JobStatus(status))
    if name is not None:
        stmt = stmt.where(Job.name == name)
    return (await session.execute(stmt)).scalars().all()


async def retry_job(session: AsyncSession, *, job_id: int) -> Job:
    """Put a dead job back in the queue with a fresh set of attempts, due now.

    A pending job (waiting out its back-off) is made due now and keeps its attempts.
    Running and done jobs cannot be retried. The last error stays visible until the job
    succeeds.
    """
    job = await session.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None:
        raise JobNotFound(f"job {job_id} does not exist")
    if job.status == JobStatus.DEAD:
        job.attempts = 0
    elif job.status != JobStatus.PENDING:
        raise JobNotRetryable(
            f"job {job_id} is {job.status}; only dead or pending jobs can be retried"
        )
    job.status = JobStatus.PENDING
    job.run_at = utcnow()
    job.locked_by = None
    job.locked_until = None
    job.finished_at = None
    await session.flush()
    _wake_after_commit(session)
    return job


def add_enqueue_listener(listener: Callable[[], None]) -> None:
    """Call ``listener`` (synchronously, in the committing thread) after a transaction
    that enqueued a due job commits. It must only signal, e.g. set an event."""
    if listener not in _enqueue_listeners:
        _enqueue_listeners.append(listener)


def remove_enqueue_listener(listener: Callable[[], None]) -> None:
    if listener in _enqueue_listeners:
        _enqueue_listeners.remove(listener)


def _wake_after_commit(session: AsyncSession) -> None:
    if not _enqueue_listeners or session.info.get(_WAKE_KEY):
        return
    session.info[_WAKE_KEY] = True
    event.listen(session.sync_session, "after_commit", _notify, once=True)


def _notify(session: Session) -> None:
    session.info.pop(_WAKE_KEY, None)
    for listener in list(_enqueue_listeners):
        listener()
