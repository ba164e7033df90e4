"""Fixtures for the email channel's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.channels.email.dovecot import Dovecot, missing_reason, running_dovecot
from tests.conftest import skip_or_fail

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
