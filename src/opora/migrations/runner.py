"""Run Alembic from code on an async engine (the CLI, tests and the app's health check)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import create_async_engine

HERE = Path(__file__).parent


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option(
        "file_template", "%%(year)d-%%(month).2d-%%(day).2d-%%(hour).2d%%(minute).2d_%%(slug)s"
    )
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


async def _run(url: str, fn: Any, *args: Any) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:

            def go(sync_conn: Any) -> None:
                cfg = alembic_config(url)
                cfg.attributes["connection"] = sync_conn
                fn(cfg, *args)

            await conn.run_sync(go)
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    await _run(url, command.upgrade, revision)


async def downgrade(url: str, revision: str) -> None:
    await _run(url, command.downgrade, revision)


async def current(url: str) -> str | None:
    from sqlalchemy import text

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            try:
                return (
                    await conn.execute(text("SELECT version_num FROM alembic_version"))
                ).scalar_one_or_none()
            except Exception:
                return None
    finally:
        await engine.dispose()


async def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database named in ``url`` when it does not exist yet (as
    ``createdb`` would; the user needs the CREATEDB right). Returns whether it created
    one. SQLite creates its file by itself."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql") or not parsed.database:
        return False
    engine = create_async_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": parsed.database},
            )
            if exists:
                return False
            name = parsed.database.replace('"', '""')
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
            return True
    finally:
        await engine.dispose()
