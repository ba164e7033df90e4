from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from opora.config import Settings
from opora.db import Database
from opora.jobs.worker import Worker


@pytest_asyncio.fixture
async def worker(db: Database, settings: Settings) -> Worker:
    """A worker that only runs what is enqueued (periodic jobs are tested on their own)."""
    return Worker(db, settings, name="worker-a", periodic=False)


@pytest_asyncio.fixture
async def other_db(database_url: str) -> AsyncIterator[Database]:
    """The same database through separate engines, as another process would see it."""
    other = Database(database_url)
    try:
        yield other
    finally:
        await other.dispose()
