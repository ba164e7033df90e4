"""Portal fixtures: a second browser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio


@pytest_asyncio.fixture
async def other_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser on the same app: its own cookies."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://opora.test") as c:
        yield c
