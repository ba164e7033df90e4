from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from opora.db import Database
from opora.jobs import collect, enqueue
from opora.jobs.models import Job, JobStatus
from opora.jobs.service import get_job
from opora.jobs.worker import Worker
from opora.kit.time import utcnow
from tests.jobs.support import counter, load_job, make_due


class TestEnqueueInTheCallersTransaction:
    async def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs(
        self, db: Database, worker: Worker
    ) -> None:
        job_id = None
        with pytest.raises(RuntimeError, match="the ticket could not be saved"):
            async with db.unit_of_work() as session:
                job_id = await enqueue(session, "tests.bump_counter", {"counter": "rolled"})
                raise RuntimeError("the ticket could not be saved")
        assert job_id is not None  # the row existed inside the transaction
        async with db.unit_of_work(write=False) as session:
            assert await get_job(session, job_id) is None
            assert await session.scalar(select(func.count()).select_from(Job)) == 0
        assert await worker.run_once() == 0
        assert await counter(db, "rolled") is None

    async def test_a_committed_job_waits_pending_with_no_attempts(self, db: Database) -> None:
        async with db.unit_of_work() as session:
            job_id = await enqueue(session, "tests.bump_counter", {"counter": "c"})
        assert job_id is not None
        job = await load_job(db, job_id)
        assert (job.status, job.attempts, job.payload) == (JobStatus.PENDING, 0, {"counter": "c"})

    async def test_max_attempts_defaults_to_the_registered_jobs_own(self, db: Database) -> None:
        async with db.unit_of_work() as session:
            limited = await enqueue(session, "tests.limited")
            plain = await enqueue(session, "tests.bump_counter", {"counter": "c"})
        assert limited is not None and plain is not None
        assert (await load_job(db, limited)).max_attempts == 2
        assert (await load_job(db, plain)).max_attempts == 5


class TestIdempotencyKey:
    async def test_enqueuing_twice_with_the_same_key_keeps_one_job(self, db: Database) -> None:
        async with db.unit_of_work() as session:
            first = await enqueue(
                session, "tests.bump_counter", {"counter": "c"}, idempotency_key="welcome:7"
            )
        async with db.unit_of_work() as session:
            second = await enqueue(
                session, "tests.bump_counter", {"counter": "c"}, idempotency_key="welcome:7"
            )
        assert first is not None
        assert second is None
        async with db.unit_of_work(write=False) as session:
            ids = (await session.execute(select(Job.id))).scalars().all()
        assert ids == [first]

    async def test_a_finished_job_keeps_its_key_so_it_is_not_run_again(
        self, db: Database, worker: Worker
    ) -> None:
        async with db.unit_of_work() as session:
            await enqueue(session, "tests.bump_counter", {"counter": "c"}, idempotency_key="k")
        assert await worker.run_once() == 1
        async with db.unit_of_work() as session:
            again = await enqueue(
                session, "tests.bump_counter", {"counter": "c"}, idempotency_key="k"
            )
        assert again is None
        assert await worker.run_once() == 0
        assert await counter(db, "c") == 1


class TestRunAt:
    async def test_a_job_due_later_is_not_claimed_until_it_is_due(
        self, db: Database, worker: Worker
    ) -> None:
        async with db.unit_of_work() as session:
            later = await enqueue(
                session,
                "tests.bump_counter",
                {"counter": "later"},
                run_at=utcnow() + timedelta(hours=1),
            )
            now = await enqueue(session, "tests.bump_counter", {"counter": "now"})
        assert later is not None and now is not None
        assert [c.id for c in await worker.claim(10)] == [now]
        assert await worker.claim(10) == []
        await make_due(db, later)
        assert [c.id for c in await worker.claim(10)] == [later]

    async def test_a_job_due_on_a_whole_second_is_claimed_at_that_very_instant(
        self, db: Database, worker: Worker
    ) -> None:
        # SQLite compares times as text: the instant the worker binds must be written the
        # way the ORM wrote run_at ("12:00:00.000000", not "12:00:00")
        due = (utcnow() - timedelta(seconds=2)).replace(microsecond=0)
        async with db.unit_of_work() as session:
            job_id = await enqueue(session, "tests.bump_counter", {"counter": "c"}, run_at=due)
        assert await worker.claim(1, now=due - timedelta(microseconds=1)) == []
        assert [c.id for c in await worker.claim(1, now=due)] == [job_id]

    async def test_a_naive_run_at_is_refused(self, db: Database) -> None:
        with pytest.raises(ValueError, match="naive"):
            async with db.unit_of_work() as session:
                await enqueue(
                    session,
                    "tests.bump_counter",
                    {"counter": "c"},
                    run_at=utcnow().replace(tzinfo=None),
                )


class TestCollect:
    async def test_rows_gathered_in_the_block_are_written_at_its_end(self, db: Database) -> None:
        async with db.unit_of_work() as session:
            async with collect(session):
                for i in range(5):
                    job_id = await enqueue(
                        session, "tests.bump_counter", {"counter": f"c{i}"},
                        idempotency_key=f"batch:{i}",
                    )  # fmt: skip
                    assert job_id is None  # not written yet
                assert await session.scalar(select(func.count()).select_from(Job)) == 0
            assert await session.scalar(select(func.count()).select_from(Job)) == 5
        async with db.unit_of_work(write=False) as session:
            rows = (await session.execute(select(Job).order_by(Job.id))).scalars().all()
        assert [r.payload["counter"] for r in rows] == [f"c{i}" for i in range(5)]
        assert {(r.status, r.attempts, r.max_attempts) for r in rows} == {(JobStatus.PENDING, 0, 5)}

    async def test_a_key_already_used_is_skipped_and_the_rest_written(self, db: Database) -> None:
        async with db.unit_of_work() as session:
            await enqueue(session, "tests.bump_counter", {"counter": "first"},
                          idempotency_key="mail:1")  # fmt: skip
        async with db.unit_of_work() as session, collect(session):
            await enqueue(session, "tests.bump_counter", {"counter": "again"},
                          idempotency_key="mail:1")  # fmt: skip
            await enqueue(session, "tests.bump_counter", {"counter": "new"},
                          idempotency_key="mail:2")  # fmt: skip
        async with db.unit_of_work(write=False) as session:
            rows = (await session.execute(select(Job).order_by(Job.id))).scalars().all()
        assert [r.payload["counter"] for r in rows] == ["first", "new"]

    async def test_an_exception_in_the_block_writes_nothing(self, db: Database) -> None:
        with pytest.raises(RuntimeError, match="batch failed"):
            async with db.unit_of_work() as session, collect(session):
                await enqueue(session, "tests.bump_counter", {"counter": "lost"})
                raise RuntimeError("batch failed")
        async with db.unit_of_work(write=False) as session:
            assert await session.scalar(select(func.count()).select_from(Job)) == 0
