"""A worker process killed mid-job: the job runs again elsewhere, once."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from opora.config import Settings
from opora.db import Database
from opora.jobs import enqueue
from opora.jobs.models import JobStatus
from opora.jobs.worker import Worker
from tests.jobs.support import ROOT, counter, load_job, subprocess_env

LEASE_SECONDS = 3


async def wait_for(path: Path, process: asyncio.subprocess.Process, seconds: float) -> None:
    for _ in range(int(seconds / 0.05)):
        if await asyncio.to_thread(path.exists):
            return
        assert process.returncode is None, f"the worker exited with {process.returncode}"
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path.name} did not appear within {seconds} s")


class TestWorkerKilledMidJob:
    async def test_the_job_is_run_again_by_another_worker_once(
        self, db: Database, settings: Settings, tmp_path: Path
    ) -> None:
        markers = tmp_path / "markers"
        markers.mkdir()
        async with db.unit_of_work() as session:
            job_id = await enqueue(
                session,
                "tests.slow_then_fast",
                {"counter": "delivered", "marker_dir": str(markers)},
            )
        assert job_id is not None
        log_path = tmp_path / "worker.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.jobs.worker_process",
                cwd=ROOT,
                env=subprocess_env(settings, TEST_LEASE_SECONDS=str(LEASE_SECONDS)),
                stdout=log,
                stderr=log,
            )
        try:
            try:
                await wait_for(markers / "started-1", process, seconds=30)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{log_path.read_text()}") from exc
            process.send_signal(signal.SIGKILL)  # mid-job, its transaction still open
            await asyncio.wait_for(process.wait(), 10)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode == -signal.SIGKILL

        job = await load_job(db, job_id)
        assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)
        assert job.locked_by == f"doomed:{process.pid}"
        assert await counter(db, "delivered") is None  # the killed run's write is gone

        survivor = Worker(db, settings, name="survivor", periodic=False)
        for _ in range(int((LEASE_SECONDS + 20) / 0.1)):
            if await survivor.run_once():
                break
            await asyncio.sleep(0.1)
        job = await load_job(db, job_id)
        assert (job.status, job.attempts, job.locked_by) == (JobStatus.DONE, 2, "survivor")
        assert await counter(db, "delivered") == 1
        assert sorted(p.name for p in markers.iterdir()) == ["started-1", "started-2"]
        assert await survivor.run_once() == 0
