"""Housekeeping jobs of the job system itself."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from opora.jobs.models import Job, JobStatus
from opora.jobs.registry import JobContext, job, periodic
from opora.kit.time import utcnow

KEEP_DONE_DAYS = 7


@job("jobs.prune")
async def prune_jobs(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Forget finished jobs after a week; dead ones stay until someone looks at them."""
    cutoff = utcnow() - timedelta(days=KEEP_DONE_DAYS)
    await ctx.session.execute(
        delete(Job).where(Job.status == JobStatus.DONE, Job.finished_at < cutoff)
    )


periodic("jobs.prune", every_seconds=3600)
