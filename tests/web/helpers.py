"""Signing in through the pages, as a browser does: GET the form, POST it with its token."""

from __future__ import annotations

import re

import httpx

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.schemas import UserUpdate
from opora.db import Database

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


async def page_csrf(client: httpx.AsyncClient, path: str = "/login") -> str:
    r = await client.get(path)
    assert r.status_code == 200, r.text
    return csrf_of(r.text)


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str, *, next_path: str | None = None
) -> httpx.Response:
    data = {"csrf_token": await page_csrf(client), "email": email, "password": password}
    if next_path is not None:
        data["next"] = next_path
    return await client.post("/login", data=data)


async def set_password(db: Database, user_id: int, password: str) -> None:
    async with db.unit_of_work() as s:
        await auth_service.update_user(
            s, actor=system_actor("tests"), user_id=user_id, data=UserUpdate(password=password)
        )
