from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from opora.config import Settings
from opora.db import Database
from opora.jobs.worker import Worker
from tests.notifications.smtp import SmtpServer, running_smtp_server


@pytest_asyncio.fixture
async def smtp_server() -> AsyncIterator[SmtpServer]:
    async with running_smtp_server() as server:
        yield server


@pytest_asyncio.fixture
async def mail_settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "mail_from": "Опора Поддержка <support@opora.test>",
            "base_url": "http://opora.test",
        }
    )


@pytest_asyncio.fixture
async def mail_worker(db: Database, mail_settings: Settings) -> Worker:
    return Worker(db, mail_settings, name="mail-worker", periodic=False)
