"""A worker process with the test jobs registered: ``python -m tests.jobs.worker_process``.

Settings come from the environment (``OPORA_DATABASE_URL``, ``OPORA_DATA_DIR``); the
lease from ``TEST_LEASE_SECONDS``. SIGTERM stops it cleanly; the tests SIGKILL it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import tests.jobs.handlers  # noqa: F401  (registers the test jobs)
from opora.config import Settings
from opora.db import Database
from opora.jobs.worker import Worker


async def main() -> None:
    settings = Settings()
    db = Database(settings.resolved_database_url)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    worker = Worker(
        db,
        settings,
        name=f"doomed:{os.getpid()}",
        lease_seconds=int(os.environ.get("TEST_LEASE_SECONDS", "3")),
        poll_seconds=0.1,
        periodic=False,
    )
    try:
        await worker.run(stop)
    finally:
        await db.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(main())
