"""Fixtures for the email channel's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from opora.app import create_app
from opora.config import Settings
from tests.channels.email.dovecot import Dovecot, missing_reason, running_dovecot
from tests.conftest import skip_or_fail
from tests.notifications.smtp import free_port

# --- a private Dovecot (IMAP), tests/channels/email/dovecot.py ------------------------------

DOVECOT_USERS = {
    "agent": "agent-secret",
    "ivan": 'пароль "в кавычках" \\ и пробелы',  # non-ASCII, quotes, a backslash
}


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One private Dovecot per test process (xdist workers each start their own, on free
    ports, in their own directory): ``host``, ``imap_port`` (STARTTLS offered),
    ``imaps_port``, ``ca_file``, ``users``; ``new_mailbox()`` for an empty account,
    ``append()``, ``messages()``, ``folders()``. A skip when Dovecot is not installed, a
    failure under OPORA_REQUIRE_SERVICES=1."""
    reason = missing_reason()
    if reason:
        skip_or_fail(reason)
    with running_dovecot(DOVECOT_USERS) as server:
        yield server


# --- the SMTP/LMTP receiver of a served app ----------------------------------------------


@pytest_asyncio.fixture
async def receiver(settings: Settings) -> AsyncIterator[tuple[Any, int]]:
    port = free_port()
    served = settings.model_copy(update={"smtp_listen": f"127.0.0.1:{port}"})
    application = create_app(served, run_worker=False)
    async with application.router.lifespan_context(application):
        yield application, port


@pytest_asyncio.fixture
async def lmtp_receiver(settings: Settings) -> AsyncIterator[tuple[Any, int]]:
    port = free_port()
    served = settings.model_copy(
        update={"smtp_listen": f"127.0.0.1:{port}", "smtp_listen_lmtp": True}
    )
    application = create_app(served, run_worker=False)
    async with application.router.lifespan_context(application):
        yield application, port
