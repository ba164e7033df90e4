from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from opora.config import Settings
from opora.db import Database
from opora.jobs import enqueue, registry
from opora.jobs.models import Job, JobStatus
from opora.jobs.service import list_jobs, retry_job
from opora.jobs.worker import Worker, backoff_seconds
from opora.kit.time import utcnow
from tests.jobs.handlers import GATES, LEASES, bump
from tests.jobs.support import counter, expire_lease, load_job, make_due


async def enqueue_one(db: Database, name: str, payload: dict[str, Any], **kw: Any) -> int:
    async with db.unit_of_work() as session:
        job_id = await enqueue(session, name, payload, **kw)
    assert job_id is not None
    return job_id


class TestRunJob:
    async def test_a_committed_job_runs_once_and_its_changes_commit_with_the_done_mark(
        self, db: Database, worker: Worker
    ) -> None:
        job_id = await enqueue_one(db, "tests.bump_counter", {"counter": "sent"})
        assert await worker.run_once() == 1
        assert await worker.run_once() == 0
        job = await load_job(db, job_id)
        assert (job.status, job.attempts, job.last_error) == (JobStatus.DONE, 1, None)
        assert job.finished_at is not None and job.locked_until is None
        assert job.locked_by == "worker-a"
        assert await counter(db, "sent") == 1

    async def test_a_failing_handlers_changes_roll_back(self, db: Database, worker: Worker) -> None:
        job_id = await enqueue_one(
            db, "tests.fail_until_fixed", {"counter": "tries", "fixed": "mail-server-ok"}
        )
        assert await worker.run_once() == 1
        assert (await load_job(db, job_id)).status == JobStatus.PENDING
        assert await counter(db, "tries") is None

    async def test_a_job_nobody_handles_fails_with_a_clear_error(
        self, db: Database, worker: Worker
    ) -> None:
        job_id = await enqueue_one(db, "tests.no_such_job", {}, max_attempts=1)
        assert await worker.run_once() == 1
        job = await load_job(db, job_id)
        assert job.status == JobStatus.DEAD
        assert job.last_error == "no handler is registered for job 'tests.no_such_job'"


class TestRetryWithBackoff:
    async def test_a_failing_job_is_retried_later_then_goes_dead_and_can_be_retried(
        self, db: Database, worker: Worker
    ) -> None:
        payload = {"counter": "tries", "fixed": "mail-server-ok"}
        job_id = await enqueue_one(db, "tests.fail_until_fixed", payload, max_attempts=2)

        before = utcnow()
        assert await worker.run_once() == 1
        job = await load_job(db, job_id)
        assert (job.status, job.attempts) == (JobStatus.PENDING, 1)
        assert job.last_error == "RuntimeError: the mail server said no (attempt 1)"
        assert before + timedelta(seconds=13) < job.run_at < utcnow() + timedelta(seconds=17)
        assert job.locked_by is None and job.locked_until is None
        assert await worker.run_once() == 0  # backing off

        await make_due(db, job_id)
        assert await worker.run_once() == 1
        job = await load_job(db, job_id)
        assert (job.status, job.attempts) == (JobStatus.DEAD, 2)
        assert job.last_error == "RuntimeError: the mail server said no (attempt 2)"
        assert job.finished_at is not None
        assert await worker.run_once() == 0  # dead stays dead
        async with db.unit_of_work(write=False) as session:
            assert [j.id for j in await list_jobs(session, status="dead")] == [job_id]

        async with db.unit_of_work() as session:  # someone fixes the mail server
            await bump(session, "mail-server-ok")
            retried = await retry_job(session, job_id=job_id)
            assert (retried.status, retried.attempts) == (JobStatus.PENDING, 0)
        assert await worker.run_once() == 1
        job = await load_job(db, job_id)
        assert (job.status, job.attempts, job.last_error) == (JobStatus.DONE, 1, None)
        assert await counter(db, "tries") == 1  # only the successful run's write is kept

    @pytest.mark.parametrize(
        ("attempt", "low", "high"),
        [(1, 13.5, 16.5), (2, 54, 66), (3, 216, 264), (4, 864, 1056), (30, 12960, 15840)],
    )
    def test_backoff_grows_fourfold_up_to_four_hours(
        self, attempt: int, low: float, high: float
    ) -> None:
        assert all(low <= backoff_seconds(attempt) <= high for _ in range(50))


class TestLease:
    async def test_a_late_worker_whose_lease_was_taken_over_cannot_mark_the_job_done(
        self, db: Database, other_db: Database, settings: Settings
    ) -> None:
        GATES["late"] = asyncio.Event()
        job_id = await enqueue_one(db, "tests.wait_for_gate", {"gate": "late", "counter": "c"})
        slow = Worker(db, settings, name="slow", periodic=False)
        [claimed] = await slow.claim(1)
        late_run = asyncio.create_task(slow.run_job(claimed))
        try:
            await asyncio.sleep(0.05)  # the slow worker is inside its handler now
            await expire_lease(db, job_id)  # ... and stays there past its lease
            other = Worker(other_db, settings, name="other", periodic=False)
            assert await other.run_once() == 1
            GATES["late"].set()
            assert await asyncio.wait_for(late_run, 30) == "lease_lost"
        finally:
            GATES.pop("late").set()
            late_run.cancel()
        job = await load_job(db, job_id)
        assert (job.status, job.attempts, job.locked_by) == (JobStatus.DONE, 2, "other")
        assert await counter(db, "c") == 1  # the late worker's write rolled back

    async def test_a_late_worker_cannot_mark_done_a_job_its_new_owner_is_still_running(
        self, db: Database, other_db: Database, settings: Settings
    ) -> None:
        GATES["late2"] = asyncio.Event()
        job_id = await enqueue_one(db, "tests.wait_for_gate", {"gate": "late2", "counter": "c"})
        slow = Worker(db, settings, name="slow", periodic=False)
        [claimed] = await slow.claim(1)
        late_run = asyncio.create_task(slow.run_job(claimed))
        try:
            await asyncio.sleep(0.05)
            await expire_lease(db, job_id)
            other = Worker(other_db, settings, name="other", periodic=False)
            [taken_over] = await other.claim(1)
            assert taken_over.attempts == 2
            GATES["late2"].set()  # the late worker finishes first, while "other" holds it
            assert await asyncio.wait_for(late_run, 30) == "lease_lost"
            job = await load_job(db, job_id)
            assert (job.status, job.locked_by) == (JobStatus.RUNNING, "other")
            assert await counter(db, "c") is None
            assert await other.run_job(taken_over) == JobStatus.DONE
        finally:
            GATES.pop("late2").set()
            late_run.cancel()
        job = await load_job(db, job_id)
        assert (job.status, job.attempts, job.locked_by) == (JobStatus.DONE, 2, "other")
        assert await counter(db, "c") == 1

    async def test_a_job_whose_workers_keep_dying_goes_dead_after_its_attempts(
        self, db: Database, settings: Settings
    ) -> None:
        job_id = await enqueue_one(db, "tests.bump_counter", {"counter": "c"}, max_attempts=2)
        dying = Worker(db, settings, name="dying", lease_seconds=0, periodic=False)
        assert [c.attempts for c in await dying.claim(1)] == [1]
        assert [c.attempts for c in await dying.claim(1)] == [2]
        job = await load_job(db, job_id)
        assert job.last_error == "the lease ran out (dying)"
        assert await dying.claim(1) == []
        job = await load_job(db, job_id)
        assert (job.status, job.attempts) == (JobStatus.DEAD, 2)
        assert job.last_error == "gave up: the lease ran out on the last attempt (dying)"
        assert await counter(db, "c") is None

    async def test_a_handler_that_outlives_its_lease_is_stopped_and_retried_later(
        self, db: Database, settings: Settings
    ) -> None:
        job_id = await enqueue_one(db, "tests.sleep_past_lease", {"counter": "c", "seconds": 30})
        short = Worker(db, settings, lease_seconds=1, periodic=False)
        [claimed] = await short.claim(1)
        assert await short.run_job(claimed) == "failed"
        job = await load_job(db, job_id)
        assert job.status == JobStatus.PENDING
        assert job.last_error is not None and "ran past its lease" in job.last_error
        assert await counter(db, "c") is None

    async def test_a_job_with_a_long_timeout_gets_a_lease_that_covers_it(
        self, db: Database, settings: Settings
    ) -> None:
        job_id = await enqueue_one(db, "tests.record_lease", {})
        short = Worker(db, settings, lease_seconds=5, periodic=False)
        [claimed] = await short.claim(1)
        assert await short.run_job(claimed) == JobStatus.DONE
        lease = LEASES.pop(job_id)
        assert lease is not None
        assert lease > utcnow() + timedelta(seconds=120)


class TestConcurrentClaims:
    async def test_workers_claiming_at_once_never_get_the_same_job(
        self, db: Database, database_url: str, settings: Settings
    ) -> None:
        async with db.unit_of_work() as session:
            for n in range(40):
                await enqueue(session, "tests.bump_counter", {"counter": f"c{n}"})
        async with db.unit_of_work(write=False) as session:
            all_ids = set((await session.execute(select(Job.id))).scalars())
        databases = [Database(database_url) for _ in range(4)]
        workers = [
            Worker(d, settings, name=f"w{i}", periodic=False) for i, d in enumerate(databases)
        ]

        async def drain(w: Worker) -> list[int]:
            taken: list[int] = []
            while batch := await w.claim(3):
                taken.extend(c.id for c in batch)
            return taken

        try:
            results = await asyncio.gather(*(drain(w) for w in workers))
        finally:
            for d in databases:
                await d.dispose()
        taken = [job_id for result in results for job_id in result]
        assert len(taken) == len(set(taken)) == 40
        assert set(taken) == all_ids
        async with db.unit_of_work(write=False) as session:
            owners = {i: o for i, o in (await session.execute(select(Job.id, Job.locked_by))).all()}
        for name, result in zip(("w0", "w1", "w2", "w3"), results, strict=True):
            assert all(owners[job_id] == name for job_id in result)


class TestPeriodic:
    async def test_two_workers_scheduling_in_the_same_slot_enqueue_each_job_once(
        self, db: Database, database_url: str, settings: Settings
    ) -> None:
        specs = registry.periodic_jobs()
        assert "jobs.prune" in specs
        now = utcnow()
        other_db = Database(database_url)
        first = Worker(db, settings, name="first")
        second = Worker(other_db, settings, name="second")
        try:
            counts = await asyncio.gather(
                first.schedule_periodic(now=now), second.schedule_periodic(now=now)
            )
            assert await first.schedule_periodic(now=now) == 0
            assert sum(counts) == len(specs)
            later = now + timedelta(seconds=max(s.every_seconds for s in specs.values()))
            assert sum(
                await asyncio.gather(
                    first.schedule_periodic(now=later), second.schedule_periodic(now=later)
                )
            ) == len(specs)
        finally:
            await other_db.dispose()
        async with db.unit_of_work(write=False) as session:
            rows = (await session.execute(select(Job.name, Job.idempotency_key))).all()
        slot = int(now.timestamp()) // specs["jobs.prune"].every_seconds
        prune_keys = sorted(key for name, key in rows if name == "jobs.prune")
        assert prune_keys == [f"periodic:jobs.prune:{slot}", f"periodic:jobs.prune:{slot + 1}"]
        assert len(rows) == 2 * len(specs)

    async def test_the_periodic_prune_forgets_old_done_jobs_and_keeps_dead_ones(
        self, db: Database, settings: Settings
    ) -> None:
        old_done = await enqueue_one(db, "tests.bump_counter", {"counter": "c"})
        old_dead = await enqueue_one(db, "tests.no_such_job", {}, max_attempts=1)
        worker = Worker(db, settings, periodic=False)
        assert await worker.run_once() == 2
        async with db.unit_of_work() as session:
            for job_id in (old_done, old_dead):
                job = await session.get_one(Job, job_id)
                job.finished_at = utcnow() - timedelta(days=8)
        assert await Worker(db, settings).run_once() >= 1  # schedules and runs jobs.prune
        async with db.unit_of_work(write=False) as session:
            names = {i: st for i, st in (await session.execute(select(Job.id, Job.status))).all()}
        assert old_done not in names
        assert names[old_dead] == JobStatus.DEAD


class TestWakeOnEnqueue:
    async def test_the_in_process_worker_runs_a_job_committed_in_its_process_at_once(
        self, db: Database, settings: Settings
    ) -> None:
        worker = Worker(db, settings, poll_seconds=300, periodic=False)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        try:
            await asyncio.sleep(0.3)  # its first round found nothing; it now sleeps 300 s
            job_id = await enqueue_one(db, "tests.bump_counter", {"counter": "c"})
            for _ in range(200):
                if (await load_job(db, job_id)).status == JobStatus.DONE:
                    break
                await asyncio.sleep(0.05)
            assert (await load_job(db, job_id)).status == JobStatus.DONE
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
        assert await counter(db, "c") == 1
