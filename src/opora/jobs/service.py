"""Enqueue a job inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from opora.jobs.models import Job, JobStatus
from opora.kit.time import utcnow


async def enqueue(
    session: AsyncSession,
    name: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: datetime | None = None,
    idempotency_key: str | None = None,
    max_attempts: int = 5,
) -> int | None:
    """Write a job row; returns its id, or None when the idempotency key was already used."""
    values = {
        "name": name,
        "payload": payload or {},
        "status": JobStatus.PENDING,
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_at": run_at or utcnow(),
        "idempotency_key": idempotency_key,
        "created_at": utcnow(),
    }
    if idempotency_key is None:
        job = Job(**values)
        session.add(job)
        await session.flush()
        return job.id
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Job)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Job.id)
    )
    result = await session.execute(stmt)
    row = result.first()
    return row[0] if row else None


async def get_job(session: AsyncSession, job_id: int) -> Job | None:
    return (await session.execute(select(Job).where(Job.id == job_id))).scalar_one_or_none()
