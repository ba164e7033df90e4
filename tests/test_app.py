"""The application shell: health check, API docs, error bodies for unknown routes and
missing tokens."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from alembic.script import ScriptDirectory
from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from opora.app import create_app
from opora.config import Settings
from opora.db import Database
from opora.kit.time import utcnow
from opora.migrations import runner
from opora.tickets.models import Tag
from opora.web.deps import Session, UnitOfWorkRoute
from tests.conftest import drop_pg_database, pg_url, recreate_pg_database, skip_or_fail

HEAD = ScriptDirectory.from_config(runner.alembic_config()).get_current_head()


@asynccontextmanager
async def client_for(database_url: str, data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An app on ``database_url``, started through its lifespan like a server would."""
    settings = Settings(data_dir=data_dir, database_url=database_url, run_worker_in_process=False)
    application = create_app(settings, run_worker=False)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://opora.test") as c:
            yield c


@pytest_asyncio.fixture
async def fresh_url(backend: str, tmp_path: Path, pg_database: str | None) -> AsyncIterator[str]:
    """An empty database of its own, so a test may break its migrations freely."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    if pg_database is None:  # the session's database tells whether PostgreSQL is up
        skip_or_fail("PostgreSQL is unreachable")
    name = f"opora_app_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    await recreate_pg_database(name)
    try:
        yield pg_url(name)
    finally:
        await drop_pg_database(name)


class TestHealthz:
    async def test_is_ok_on_a_migrated_database(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/healthz")

        assert r.status_code == 200, r.text
        assert r.json()["status"] == "ok"
        assert r.json()["migration"] == HEAD

    async def test_names_migrations_when_the_version_row_is_gone(
        self, fresh_url: str, tmp_path: Path
    ) -> None:
        await runner.upgrade(fresh_url)
        engine = create_async_engine(fresh_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("DELETE FROM alembic_version"))
        finally:
            await engine.dispose()

        async with client_for(fresh_url, tmp_path / "data") as client:
            r = await client.get("/healthz")

        assert r.status_code == 503
        assert r.json()["status"] == "unavailable"
        assert r.json()["reason"].startswith("migrations:"), r.json()
        assert f"code at {HEAD}" in r.json()["reason"]
        assert "opora migrate" in r.json()["reason"]

    async def test_names_migrations_on_a_database_never_migrated(
        self, fresh_url: str, tmp_path: Path
    ) -> None:
        async with client_for(fresh_url, tmp_path / "data") as client:
            r = await client.get("/healthz")

        assert r.status_code == 503
        assert r.json()["reason"].startswith("migrations:"), r.json()

    async def test_names_the_database_when_the_sqlite_directory_does_not_exist(
        self, tmp_path: Path
    ) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'opora.db'}"

        async with client_for(url, tmp_path / "data") as client:
            r = await client.get("/healthz")
            again = await client.get("/healthz")

        assert r.status_code == 503
        assert r.json()["reason"].startswith("database:"), r.json()
        assert again.status_code == 503, "the app keeps answering after a failed check"

    async def test_names_the_database_when_the_postgres_database_does_not_exist(
        self, tmp_path: Path, pg_database: str | None
    ) -> None:
        if pg_database is None:
            skip_or_fail("PostgreSQL is unreachable")
        url = pg_url(f"opora_missing_{uuid.uuid4().hex[:8]}")

        async with client_for(url, tmp_path / "data") as client:
            r = await client.get("/healthz")

        assert r.status_code == 503
        assert r.json()["reason"].startswith("database:"), r.json()


class TestApiDocs:
    async def test_the_docs_page_is_served(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/api/docs")

        assert r.status_code == 200
        assert "text/html" in r.headers["content-type"]
        assert "/api/openapi.json" in r.text

    async def test_the_openapi_document_lists_the_ticket_endpoints(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get("/api/openapi.json")

        assert r.status_code == 200
        paths = r.json()["paths"]
        assert "/api/v1/tickets" in paths
        assert {"get", "post"} <= set(paths["/api/v1/tickets"])
        assert "/api/v1/me/tickets" in paths
        assert "post" in paths["/api/v1/tickets/{ticket_id}/escalate"]
        assert "/healthz" not in paths


class TestErrors:
    async def test_an_unknown_route_is_a_json_404(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/api/v1/no-such-thing")

        assert r.status_code == 404
        assert r.headers["content-type"] == "application/json"
        assert r.json()["error"]["code"] == "not_found"

    async def test_a_request_without_a_token_is_a_json_401_with_a_challenge(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get("/api/v1/tickets")

        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"]["code"] == "unauthorized"
        assert "Bearer" in r.json()["error"]["message"]

    async def test_a_wrong_token_is_a_json_401_with_a_challenge(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get(
            "/api/v1/tickets", headers={"Authorization": "Bearer not-a-real-token"}
        )

        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"]["code"] == "unauthorized"


class TestErrorResponsesKeepNothing:
    async def test_a_route_answering_with_an_error_status_rolls_back_what_it_began(
        self, app: Any, client: httpx.AsyncClient, db: Database
    ) -> None:
        """A page that re-renders a form with a 400 must not commit half a change."""
        router = APIRouter(route_class=UnitOfWorkRoute)

        @router.post("/_test/half-written")
        async def half_written(session: Session, fail: bool = True) -> PlainTextResponse:
            session.add(Tag(name="half-written", created_at=utcnow()))
            await session.flush()
            return PlainTextResponse("no", status_code=400 if fail else 200)

        app.include_router(router)
        assert (await client.post("/_test/half-written")).status_code == 400
        assert (await client.post("/_test/half-written?fail=false")).status_code == 200
        async with db.unit_of_work(write=False) as s:
            count = await s.scalar(select(func.count()).select_from(Tag))
        assert count == 1  # only the successful request's tag


async def test_postgres_connections_plan_each_statement_with_its_values(
    db: Database, backend: str
) -> None:
    """asyncpg reuses prepared statements; generic plans misjudged the inbox's counts
    (35-43 ms instead of 6-8 ms at 1M tickets), so every connection asks for custom plans."""
    if backend != "postgres":
        pytest.skip("a PostgreSQL setting")
    async with db.unit_of_work(write=False) as s:
        mode = (await s.execute(text("SHOW plan_cache_mode"))).scalar_one()
    assert mode == "force_custom_plan"


async def test_no_page_may_be_framed_by_another_site_but_the_embed(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/login", "/help", "/api/v1/kb/categories", "/healthz"):
        r = await client.get(path)
        assert r.headers["x-frame-options"] == "DENY", path
        assert r.headers["content-security-policy"] == "frame-ancestors 'none'", path
    r = await client.get("/embed/request-form")
    assert r.status_code == 200, r.text
    assert "x-frame-options" not in r.headers
    assert r.headers["content-security-policy"] == "frame-ancestors *"
