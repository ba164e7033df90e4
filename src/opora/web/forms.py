"""Helpers shared by the page routers' form handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from opora import events
from opora.errors import OporaError


async def attempt(session: AsyncSession, call: Callable[[], Awaitable[Any]]) -> OporaError | None:
    """Run a use case in a savepoint and return its domain error, if any: on an error the
    session forgets what the use case began, so the page re-rendered in the same session
    reads what is stored (the error response then rolls the request back), and the events
    it recorded are forgotten with it."""
    position = events.mark(session)
    try:
        async with session.begin_nested():
            await call()
    except OporaError as exc:
        events.forget_since(session, position)
        return exc
    return None


def see_other(url: str) -> RedirectResponse:
    """The redirect after a successful POST (303: the browser follows with a GET)."""
    return RedirectResponse(url, status_code=303)
