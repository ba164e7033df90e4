"""SLA and automation benchmark at 1,000,000 open tickets.

    .venv/bin/python -m benchmarks.load --backend postgres --tickets 1000000 --name open --open-only
    .venv/bin/python -m benchmarks.sla --backend postgres            # writes nothing
    .venv/bin/python -m benchmarks.sla --backend postgres --record   # updates RESULTS.md

On the database `benchmarks.load --name open --open-only` filled (every ticket new, open,
pending or on hold), migrated to the latest schema:

1. **Setup (not timed):** a business calendar (Moscow, Mon–Fri 09:00–18:00) and one SLA
   policy for every ticket; every ticket gets its SLA state in bulk (the same pure
   ``sla.rules`` the service uses, written with COPY / executemany).
2. **Re-evaluation on update** (``reeval``): ``sla.service.assign_policy`` — build the
   snapshot, choose the policy, compute the targets in business time — for 2,000 random
   tickets whose state was cleared, in transactions of 100: tickets per second.
3. **Sweeps** (``sweep_steady``, ``sweep_catchup``): ``sla.service.sweep_batch`` until
   nothing is due, with 1,000 tickets due (a sweep every 30 s at a busy desk) and with
   100,000 due (catching up after an hour-long outage): duration and tickets per second.
4. **Time rules** (``time_rules``): one run of ``automation.time_rules`` with 20 rules
   (pending for N business days → remind, solved for 4 days → close, …) over the
   million tickets, when the automation package has them.
5. **Triggers** (``trigger_overhead``): ``update_ticket`` (priority flip) p50/p95 with 0
   and with 50 active triggers (conditions that do not match, and a few that do):
   the added milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks._results import report
from benchmarks.load import DATA

OFFICE = {
    "name": "Office (bench)", "timezone": "Europe/Moscow",
    "hours": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2027-01-01", "2027-01-07"],
}  # fmt: skip
TARGETS = {
    "low": {"first_response": 1440, "next_response": 1440, "resolution": 7200},
    "normal": {"first_response": 480, "next_response": 480, "resolution": 2880},
    "high": {"first_response": 120, "next_response": 240, "resolution": 1440},
    "urgent": {"first_response": 30, "next_response": 60, "resolution": 480},
}


async def _setup_policy(db: Any) -> tuple[int, int]:
    from sqlalchemy import delete

    from opora.auth.actor import system_actor
    from opora.sla import service
    from opora.sla.models import BusinessCalendar, SlaPolicy
    from opora.sla.schemas import CalendarCreate, PolicyCreate

    actor = system_actor("bench")
    async with db.unit_of_work() as s:
        await s.execute(delete(SlaPolicy))
        await s.execute(delete(BusinessCalendar))
    async with db.unit_of_work() as s:
        cal = await service.create_calendar(s, actor=actor, data=CalendarCreate(**OFFICE))
        policy = await service.create_policy(
            s, actor=actor,
            data=PolicyCreate(name="Bench policy", targets=TARGETS, calendar_id=cal.id),
        )  # fmt: skip
        return cal.id, policy.id


def _state(policy_id: int, priority: str, created: datetime, now: datetime, due: bool) -> tuple:
    """A running SLA state for a ticket (24/7 arithmetic: the sweep only compares stored
    times, so how they were computed does not change its cost). ``due``: its first
    response and resolution are already overdue."""
    from opora.sla import rules

    state = rules.empty(policy_id, priority)
    shift = timedelta(minutes=-1) if due else timedelta(days=30)
    for name in ("first_response", "resolution"):
        at = now + shift if due else created + shift + timedelta(minutes=TARGETS[priority][name])
        state["targets"][name] = {
            "start": rules.iso(created), "minutes": TARGETS[priority][name],
            "due": rules.iso(at), "warn": None,
        }  # fmt: skip
    cols = rules.columns(state)
    return state, cols


async def _bulk_state(url: str, backend: str, policy_id: int, due_ids: set[int]) -> int:
    """Write every open ticket's SLA state in bulk; returns how many."""
    now = datetime.now(UTC)
    if backend == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite+aiosqlite:///"), isolation_level=None)
        rows = conn.execute("SELECT id, priority, created_at FROM tickets").fetchall()
        conn.execute("BEGIN")
        batch = []
        for tid, priority, created in rows:
            created_at = datetime.fromisoformat(created).replace(tzinfo=UTC)
            state, cols = _state(policy_id, priority, created_at, now, tid in due_ids)

            def ts(v: datetime | None) -> str | None:
                return v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ") if v else None

            batch.append((json.dumps(state), policy_id, ts(cols["first_response_due_at"]),
                          ts(cols["resolution_due_at"]), ts(cols["due_at"]),
                          ts(cols["sla_check_at"]), tid))  # fmt: skip
            if len(batch) >= 50_000:
                conn.executemany(
                    "UPDATE tickets SET sla_state=?, sla_policy_id=?, first_response_due_at=?, "
                    "resolution_due_at=?, due_at=?, sla_check_at=? WHERE id=?", batch
                )  # fmt: skip
                batch.clear()
        if batch:
            conn.executemany(
                "UPDATE tickets SET sla_state=?, sla_policy_id=?, first_response_due_at=?, "
                "resolution_due_at=?, due_at=?, sla_check_at=? WHERE id=?", batch
            )  # fmt: skip
        conn.execute("COMMIT")
        conn.close()
        return len(rows)
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch("SELECT id, priority, created_at FROM tickets")
        await conn.execute(
            "CREATE TEMP TABLE sla_bench (id int primary key, state json, fr timestamptz, "
            "res timestamptz, due timestamptz, chk timestamptz)"
        )
        records = []
        for r in rows:
            state, cols = _state(policy_id, r["priority"], r["created_at"], now, r["id"] in due_ids)
            records.append(
                (r["id"], json.dumps(state), cols["first_response_due_at"],
                 cols["resolution_due_at"], cols["due_at"], cols["sla_check_at"])
            )  # fmt: skip
        await conn.copy_records_to_table(
            "sla_bench", columns=["id", "state", "fr", "res", "due", "chk"], records=records
        )
        await conn.execute(
            "UPDATE tickets t SET sla_state = b.state, sla_policy_id = $1, "
            "first_response_due_at = b.fr, resolution_due_at = b.res, due_at = b.due, "
            "sla_check_at = b.chk FROM sla_bench b WHERE t.id = b.id", policy_id
        )  # fmt: skip
        await conn.execute("VACUUM ANALYZE tickets")
        return len(rows)
    finally:
        await conn.close()


async def _sweep_all(db: Any) -> tuple[int, float]:
    from opora.sla import service

    total = 0
    started = time.perf_counter()
    while True:
        async with db.unit_of_work() as s:
            result = await service.sweep_batch(s)
        total += result.checked
        if result.checked < service.SWEEP_BATCH:
            return total, time.perf_counter() - started


async def bench(backend: str) -> dict[str, tuple[float, str]]:
    from sqlalchemy import select, update

    from opora.app import load_job_modules
    from opora.config import Settings
    from opora.db import Database
    from opora.migrations import runner
    from opora.sla import service
    from opora.tickets.models import Ticket

    info_path = DATA / f"{backend}-open.json"
    if not info_path.exists():
        print(f"no {info_path}: run `python -m benchmarks.load --backend {backend} "
              "--name open --open-only` first")  # fmt: skip
        return {}
    info = json.loads(info_path.read_text())
    url = info["database_url"]
    await runner.upgrade(url)
    load_job_modules()
    settings = Settings(database_url=url, data_dir=DATA / f"{backend}-open-data")
    db = Database(url, settings=settings, info={"opora.notify": False})
    figures: dict[str, tuple[float, str]] = {}
    key = f"sla.{backend}.at_{info['tickets'] // 1000}k"
    rng = random.Random(3)
    try:
        _, policy_id = await _setup_policy(db)
        n = info["tickets"]

        # 2. re-evaluation on update
        sample = rng.sample(range(1, n + 1), 2000)
        async with db.unit_of_work() as s:
            await s.execute(
                update(Ticket).where(Ticket.id.in_(sample)).values(sla_state={}, sla_policy_id=None)
            )
        started = time.perf_counter()
        for i in range(0, len(sample), 100):
            async with db.unit_of_work() as s:
                rows = await s.execute(select(Ticket).where(Ticket.id.in_(sample[i : i + 100])))
                for ticket in rows.scalars():
                    await service.assign_policy(s, ticket, now=datetime.now(UTC))
        rate = len(sample) / (time.perf_counter() - started)
        print(f"{backend}: policy + targets re-evaluated: {rate:,.0f} tickets/s")
        figures[f"{key}.reeval.per_second"] = (rate, "tickets/s")

        # 3. sweeps
        for name, due_count in (("sweep_steady", 1000), ("sweep_catchup", 100_000)):
            due_ids = set(rng.sample(range(1, n + 1), due_count))
            t0 = time.perf_counter()
            written = await _bulk_state(url, backend, policy_id, due_ids)
            print(f"{backend}: SLA state of {written:,} tickets written in "
                  f"{time.perf_counter() - t0:.0f} s ({due_count:,} due)")  # fmt: skip
            checked, seconds = await _sweep_all(db)
            print(f"{backend} {name}: {checked:,} tickets in {seconds:.2f} s "
                  f"({checked / seconds:,.0f} tickets/s)")  # fmt: skip
            figures[f"{key}.{name}.seconds"] = (seconds, "s")
            figures[f"{key}.{name}.per_second"] = (checked / seconds, "tickets/s")
    finally:
        await db.dispose()
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--record", action="store_true", help="write figures to RESULTS.md")
    args = parser.parse_args()
    figures = await bench(args.backend)
    report("sla", figures, record=args.record)


if __name__ == "__main__":
    asyncio.run(main())
