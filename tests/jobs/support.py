"""Helpers for the job tests: read a job's row, a counter, run the CLI in a subprocess."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from opora.config import Settings
from opora.db import Database
from opora.jobs.models import Job
from opora.jobs.service import get_job
from opora.kit.time import utcnow
from tests.jobs.handlers import counter_value

ROOT = Path(__file__).resolve().parents[2]


async def load_job(db: Database, job_id: int) -> Job:
    async with db.unit_of_work(write=False) as session:
        job = await get_job(session, job_id)
    assert job is not None, f"job {job_id} does not exist"
    return job


async def counter(db: Database, name: str) -> int | None:
    async with db.unit_of_work(write=False) as session:
        return await counter_value(session, name)


async def make_due(db: Database, job_id: int) -> None:
    """As if the job's back-off (or run_at) had passed."""
    async with db.unit_of_work() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(run_at=utcnow() - timedelta(seconds=1))
            .execution_options(synchronize_session=False)
        )


async def expire_lease(db: Database, job_id: int) -> None:
    """As if the worker holding the job had been paused past its lease."""
    async with db.unit_of_work() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
            .execution_options(synchronize_session=False)
        )


def subprocess_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        OPORA_DATABASE_URL=settings.resolved_database_url,
        OPORA_DATA_DIR=str(settings.data_dir),
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


async def run_cli(settings: Settings, *args: str) -> CliResult:
    """Run ``opora <args>`` as its own process against the test's database."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "opora.cli.main",
        *args,
        cwd=ROOT,
        env=subprocess_env(settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return CliResult(process.returncode, stdout.decode(), stderr.decode())
