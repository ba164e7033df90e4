from __future__ import annotations

from datetime import timedelta

import pytest

from opora.db import Database
from opora.jobs import enqueue
from opora.jobs.models import JobStatus
from opora.jobs.service import JobNotFound, JobNotRetryable, list_jobs, retry_job
from opora.jobs.worker import Worker
from opora.kit.time import utcnow
from tests.jobs.support import load_job


class TestListJobs:
    async def test_lists_newest_first_filtered_by_status_and_name(
        self, db: Database, worker: Worker
    ) -> None:
        async with db.unit_of_work() as session:
            done = await enqueue(session, "tests.bump_counter", {"counter": "c"})
            dead = await enqueue(session, "tests.no_such_job", max_attempts=1)
        await worker.run_once()
        async with db.unit_of_work() as session:
            pending = await enqueue(session, "tests.bump_counter", {"counter": "c"})
        async with db.unit_of_work(write=False) as session:
            assert [j.id for j in await list_jobs(session)] == [pending, dead, done]
            assert [j.id for j in await list_jobs(session, status=JobStatus.DEAD)] == [dead]
            assert [j.id for j in await list_jobs(session, name="tests.bump_counter")] == [
                pending,
                done,
            ]
            assert [j.id for j in await list_jobs(session, limit=1)] == [pending]
            with pytest.raises(ValueError):
                await list_jobs(session, status="lost")


class TestRetryJob:
    async def test_a_job_that_does_not_exist_is_not_found(self, db: Database) -> None:
        with pytest.raises(JobNotFound, match="job 404 does not exist"):
            async with db.unit_of_work() as session:
                await retry_job(session, job_id=404)

    async def test_a_done_job_cannot_be_retried(self, db: Database, worker: Worker) -> None:
        async with db.unit_of_work() as session:
            job_id = await enqueue(session, "tests.bump_counter", {"counter": "c"})
        assert job_id is not None
        await worker.run_once()
        with pytest.raises(JobNotRetryable, match="is done"):
            async with db.unit_of_work() as session:
                await retry_job(session, job_id=job_id)
        assert (await load_job(db, job_id)).status == JobStatus.DONE

    async def test_a_job_waiting_out_its_back_off_is_made_due_now_and_keeps_its_attempts(
        self, db: Database, worker: Worker
    ) -> None:
        payload = {"counter": "c", "fixed": "never"}
        async with db.unit_of_work() as session:
            job_id = await enqueue(session, "tests.fail_until_fixed", payload)
        assert job_id is not None
        await worker.run_once()
        assert (await load_job(db, job_id)).run_at > utcnow() + timedelta(seconds=10)
        async with db.unit_of_work() as session:
            await retry_job(session, job_id=job_id)
        job = await load_job(db, job_id)
        assert (job.status, job.attempts) == (JobStatus.PENDING, 1)
        assert job.run_at <= utcnow()
        assert [c.attempts for c in await worker.claim(1)] == [2]
