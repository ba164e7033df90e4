"""``opora worker --once`` and ``opora jobs list|retry``, as real processes."""

from __future__ import annotations

from typer.testing import CliRunner

from opora.cli.main import app
from opora.config import Settings
from opora.db import Database
from opora.jobs import enqueue
from opora.jobs.models import JobStatus
from tests.jobs.support import load_job, run_cli


class TestJobsCommands:
    async def test_worker_once_runs_due_jobs_and_jobs_list_shows_the_dead_one(
        self, db: Database, settings: Settings
    ) -> None:
        async with db.unit_of_work() as session:
            prune = await enqueue(session, "jobs.prune")
            orphan = await enqueue(session, "billing.sync_invoices", {"id": 7}, max_attempts=1)
        assert prune is not None and orphan is not None

        ran = await run_cli(settings, "worker", "--once")
        assert ran.returncode == 0, ran.stderr
        assert "ran " in ran.stdout
        assert (await load_job(db, prune)).status == JobStatus.DONE
        dead = await load_job(db, orphan)
        assert dead.status == JobStatus.DEAD

        listed = await run_cli(settings, "jobs", "list", "--status", "dead")
        assert listed.returncode == 0, listed.stderr
        rows = [line.split("\t") for line in listed.stdout.splitlines()]
        assert rows[0][:4] == ["id", "name", "status", "attempts"]
        assert [row[:4] for row in rows[1:]] == [
            [str(orphan), "billing.sync_invoices", "dead", "1/1"]
        ]
        assert rows[1][5] == "no handler is registered for job 'billing.sync_invoices'"

        retried = await run_cli(settings, "jobs", "retry", str(orphan))
        assert retried.returncode == 0, retried.stderr
        assert f"job {orphan} (billing.sync_invoices) is pending again" in retried.stdout
        job = await load_job(db, orphan)
        assert (job.status, job.attempts) == (JobStatus.PENDING, 0)

    def test_jobs_list_refuses_an_unknown_status(self) -> None:
        result = CliRunner().invoke(app, ["jobs", "list", "--status", "lost"])
        assert result.exit_code == 2
        assert "--status must be one of pending, running, done, dead" in result.output
