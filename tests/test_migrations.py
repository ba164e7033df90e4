"""The one migration chain, on a fresh database of each backend.

``conftest`` already upgrades a template database once per session; these tests go
further: head builds every table and the search backend, base removes them all, head
works again, and the models agree with what the migrations built.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from opora.migrations import runner
from opora.migrations.models import (
    SEARCH_BACKEND_COLUMNS,
    SEARCH_BACKEND_INDEXES,
    SEARCH_BACKEND_TABLE_PREFIXES,
    include_object,
    metadata,
)
from tests.conftest import drop_pg_database, pg_url, recreate_pg_database, skip_or_fail

HEAD = ScriptDirectory.from_config(runner.alembic_config()).get_current_head()
FTS_TABLES = {"ticket_fts_public", "ticket_fts_all"}
FTS_TRIGGERS = {f"{t}_{s}" for t in FTS_TABLES for s in ("ai", "ad", "au")}


@contextlib.asynccontextmanager
async def fresh_database(backend: str, directory: Path, pg_up: bool) -> AsyncIterator[str]:
    """A database no migration has touched: a new SQLite file, or a new PostgreSQL db."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{directory / 'fresh.db'}"
        return
    if not pg_up:
        skip_or_fail("PostgreSQL is unreachable")
    name = f"opora_migrations_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    await recreate_pg_database(name)
    try:
        yield pg_url(name)
    finally:
        await drop_pg_database(name)


@pytest_asyncio.fixture
async def fresh_url(backend: str, tmp_path: Path, pg_database: str | None) -> AsyncIterator[str]:
    # the session's database (None when PostgreSQL is down) tells whether PostgreSQL is up
    async with fresh_database(backend, tmp_path, pg_database is not None) as url:
        yield url


@pytest_asyncio.fixture(scope="module", params=["sqlite", "postgres"])
async def upgraded_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    pg_database: str | None,
) -> AsyncIterator[str]:
    """A fresh database upgraded to head once, shared by the tests that only look at it
    (creating and dropping a PostgreSQL database costs seconds)."""
    directory = tmp_path_factory.mktemp("upgraded")
    async with fresh_database(request.param, directory, pg_database is not None) as url:
        await runner.upgrade(url)
        yield url


async def on_connection(url: str, fn: Any) -> Any:
    """Run ``fn(sync_connection)`` on a short-lived engine and return its result."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


def table_names(sync_conn: Any) -> set[str]:
    return set(inspect(sync_conn).get_table_names())


class TestUpgradeToHead:
    async def test_creates_every_model_table_and_records_the_head(self, upgraded_url: str) -> None:
        tables = await on_connection(upgraded_url, table_names)

        missing = set(metadata.tables) - tables
        assert not missing, f"tables in the models but not in the database: {missing}"
        assert await runner.current(upgraded_url) == HEAD

    async def test_builds_the_search_backend_of_the_dialect(self, upgraded_url: str) -> None:
        engine = create_async_engine(upgraded_url)
        try:
            async with engine.connect() as conn:  # never committed: rolled back
                if not upgraded_url.startswith("sqlite"):
                    # no ticket row is needed to see the index work: skip FK checks here
                    await conn.execute(text("SET LOCAL session_replication_role = replica"))
                await conn.execute(
                    text(
                        "INSERT INTO ticket_search (ticket_id, public_terms, all_terms) "
                        "VALUES (7, 'парол', 'парол password')"
                    )
                )
                if upgraded_url.startswith("sqlite"):
                    master = {
                        (row.type, row.name)
                        for row in await conn.execute(text("SELECT type, name FROM sqlite_master"))
                    }
                    assert {("table", t) for t in FTS_TABLES} <= master
                    assert {name for kind, name in master if kind == "trigger"} >= FTS_TRIGGERS
                    # the insert triggers fed both indexes, keyed by the ticket id
                    found = await conn.scalars(
                        text(
                            "SELECT rowid FROM ticket_fts_all WHERE ticket_fts_all MATCH 'password'"
                            " UNION ALL "
                            "SELECT rowid FROM ticket_fts_public "
                            "WHERE ticket_fts_public MATCH 'парол'"
                        )
                    )
                else:
                    columns = await conn.scalars(
                        text(
                            "SELECT column_name FROM information_schema.columns "
                            "WHERE table_name = 'ticket_search'"
                        )
                    )
                    assert {"public_tsv", "all_tsv"} <= set(columns)
                    for index_name in SEARCH_BACKEND_INDEXES:
                        index = await conn.scalar(
                            text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"),
                            {"n": index_name},
                        )
                        assert index is not None and "gin" in index.lower()
                    # the generated columns are filled on insert
                    found = await conn.scalars(
                        text(
                            "SELECT ticket_id FROM ticket_search "
                            "WHERE all_tsv @@ to_tsquery('simple', 'password') UNION ALL "
                            "SELECT ticket_id FROM ticket_search "
                            "WHERE public_tsv @@ to_tsquery('simple', 'парол')"
                        )
                    )
                assert found.all() == [7, 7]
        finally:
            await engine.dispose()


class TestDowngradeToBase:
    async def test_leaves_no_application_tables_and_head_can_be_reached_again(
        self, backend: str, fresh_url: str
    ) -> None:
        await runner.upgrade(fresh_url)

        await runner.downgrade(fresh_url, "base")

        left = await on_connection(fresh_url, table_names)
        assert left <= {"alembic_version"}, f"left behind after downgrade: {left}"
        if backend == "sqlite":
            triggers = await on_connection(
                fresh_url,
                lambda c: c.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                ).all(),
            )
            assert triggers == []
        assert await runner.current(fresh_url) is None

        await runner.upgrade(fresh_url)

        assert set(metadata.tables) <= await on_connection(fresh_url, table_names)
        assert await runner.current(fresh_url) == HEAD


class TestModelsAndMigrationsAgree:
    async def test_autogenerate_finds_nothing_to_change_after_upgrade(
        self, upgraded_url: str
    ) -> None:
        def compare(sync_conn: Any) -> list[Any]:
            context = MigrationContext.configure(
                sync_conn, opts={"compare_type": True, "include_object": include_object}
            )
            return list(compare_metadata(context, metadata))

        differences = await on_connection(upgraded_url, compare)
        assert differences == []

    async def test_the_filter_hides_only_the_search_backend(self, upgraded_url: str) -> None:
        """Without the filter the comparison must see the search objects, proving that
        the comparison looks at the database and that the filter is what hides them."""

        def compare(sync_conn: Any) -> list[Any]:
            context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))

        differences = await on_connection(upgraded_url, compare)
        assert differences, "the search backend should differ from the models"
        for diff in differences:
            kind = diff[0]
            assert kind in {"remove_table", "remove_column", "remove_index"}, diff
            if kind == "remove_table":
                assert diff[1].name.startswith(SEARCH_BACKEND_TABLE_PREFIXES), diff
            elif kind == "remove_column":
                assert (diff[2], diff[3].name) in SEARCH_BACKEND_COLUMNS, diff
            else:
                assert diff[1].name in SEARCH_BACKEND_INDEXES, diff
