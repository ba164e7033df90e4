"""Job handlers the job tests run, in this process and in worker subprocesses.

Each one leaves a committed side effect in the real schema — it bumps a named row of the
``counters`` table — so a test can tell whether a run's transaction committed, and how
many times.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opora.jobs import JobContext, job
from opora.jobs.models import Job
from opora.tickets.models import Counter

# gates a test opens to let a waiting handler go on (same process only)
GATES: dict[str, asyncio.Event] = {}
# the lease a handler saw on its own row, by job id
LEASES: dict[int, datetime | None] = {}


async def bump(session: AsyncSession, name: str) -> None:
    bumped = await session.execute(
        update(Counter)
        .where(Counter.name == name)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    )
    if bumped.first() is None:
        session.add(Counter(name=name, value=1))
        await session.flush()


async def counter_value(session: AsyncSession, name: str) -> int | None:
    row = await session.execute(select(Counter.value).where(Counter.name == name))
    return row.scalar_one_or_none()


@job("tests.bump_counter")
async def bump_counter(ctx: JobContext, payload: dict[str, Any]) -> None:
    await bump(ctx.session, payload["counter"])


@job("tests.fail_until_fixed")
async def fail_until_fixed(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Writes, then fails while the counter named ``fixed`` does not exist."""
    await bump(ctx.session, payload["counter"])
    if await counter_value(ctx.session, payload["fixed"]) is None:
        raise RuntimeError(f"the mail server said no (attempt {ctx.attempt})")


@job("tests.slow_then_fast")
async def slow_then_fast(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Writes, marks that it started, and on its first attempt never finishes."""
    await bump(ctx.session, payload["counter"])
    await asyncio.to_thread(Path(payload["marker_dir"], f"started-{ctx.attempt}").touch)
    if ctx.attempt == 1:
        await asyncio.sleep(3600)


@job("tests.wait_for_gate")
async def wait_for_gate(ctx: JobContext, payload: dict[str, Any]) -> None:
    """On its first attempt waits for the test to open the gate before it writes."""
    if ctx.attempt == 1:
        await GATES[payload["gate"]].wait()
    await bump(ctx.session, payload["counter"])


@job("tests.sleep_past_lease")
async def sleep_past_lease(ctx: JobContext, payload: dict[str, Any]) -> None:
    await bump(ctx.session, payload["counter"])
    await asyncio.sleep(payload["seconds"])


@job("tests.record_lease", timeout_seconds=120)
async def record_lease(ctx: JobContext, payload: dict[str, Any]) -> None:
    row = await ctx.session.execute(select(Job.locked_until).where(Job.id == ctx.job_id))
    LEASES[ctx.job_id] = row.scalar_one()


@job("tests.limited", max_attempts=2)
async def limited(ctx: JobContext, payload: dict[str, Any]) -> None:
    raise RuntimeError("always")
