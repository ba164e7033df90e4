"""Database: the declarative base, the engines and the unit of work.

One model serves SQLite (embedded) and PostgreSQL (scale-out). On SQLite a write
transaction starts with ``BEGIN IMMEDIATE`` on a single pooled connection, so writers in
one process queue on the pool instead of failing with "database is locked", while
readers use their own connections (WAL lets them read during a write).

The request or the job owns the transaction (``unit_of_work``); services never commit.
Domain events recorded during the transaction are dispatched only after the commit.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Integer, MetaData, event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from opora import events
from opora.kit import inline_sqlite

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def shared_cache(session: Any, name: str) -> dict[Any, Any]:
    """The per-process cache ``name`` of the session's Database (``"opora.cache"`` in the
    sessions' ``info``, see ``Database``): one dict every session of that database sees.
    A session of no Database (none there) gets a fresh dict each time: no caching."""
    shared = session.info.get("opora.cache")
    if not isinstance(shared, dict):
        return {}
    found: dict[Any, Any] = shared.setdefault(name, {})
    return found


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class IdMixin:
    id: Mapped[int] = mapped_column(Integer, primary_key=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # take transaction control away from the driver so our BEGIN is the one that runs
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # the busy timeout first: the pragmas below may themselves wait for another writer
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _make_begin(statement: str) -> Any:
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(statement)

    return _begin


def _postgres_connect_args(url: str) -> dict[str, Any]:
    """asyncpg prepares every statement and reuses it; after five runs PostgreSQL may
    switch a prepared statement to a generic plan, made without the parameters' values,
    which misjudges our skewed columns (status, the capped counts' LIMIT): the inbox's
    counts took 35-43 ms instead of 6-8 ms that way (benchmarks/RESULTS.md, pages).
    Custom plans cost a little planning per statement and are right for every value."""
    if "+asyncpg" not in url:
        return {}
    return {"server_settings": {"plan_cache_mode": "force_custom_plan"}}


class Database:
    """Engines and session factories for one database URL."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        settings: Any = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        """``settings`` (the app's ``Settings``) rides along on every session as
        ``session.info["settings"]``, for code that runs inside a transaction without a
        request (in-transaction event subscribers: the sender address of mail, say);
        ``info`` adds more (``{"opora.notify": False}``: no notifications at all)."""
        self.url = url
        self.settings = settings
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            # the single writer runs its statements on the event loop's own thread
            # (kit/inline_sqlite.py: no thread hand-off per call); readers keep aiosqlite
            database = make_url(url).database
            inline = database not in (None, "", ":memory:")
            self.write_engine = create_async_engine(
                url,
                echo=echo,
                pool_size=1,
                max_overflow=0,
                pool_timeout=60,
                **({"async_creator": inline_sqlite.creator(str(database))} if inline else {}),
            )
            self.read_engine = create_async_engine(url, echo=echo, pool_size=8, max_overflow=8)
            for engine, begin in (
                (self.write_engine, "BEGIN IMMEDIATE"),
                (self.read_engine, "BEGIN"),
            ):
                event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
                event.listen(engine.sync_engine, "begin", _make_begin(begin))
        else:
            self.write_engine = create_async_engine(
                url,
                echo=echo,
                pool_size=20,
                max_overflow=10,
                pool_pre_ping=True,
                connect_args=_postgres_connect_args(url),
            )
            self.read_engine = self.write_engine
        # "opora.cache": one dict shared by every session of this Database (the session
        # copies ``info`` shallowly), for short-lived per-process caches that must not
        # outlive or cross databases (``shared_cache``: templates, SLA policies, triggers,
        # the knowledge base's document count)
        info = {
            **({"settings": settings} if settings is not None else {}),
            "opora.cache": {},
            **(info or {}),
        }
        self._write_sessions = async_sessionmaker(
            self.write_engine, expire_on_commit=False, info=info
        )
        self._read_sessions = async_sessionmaker(
            self.read_engine, expire_on_commit=False, info=info
        )

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    def session(self, *, write: bool = True) -> AsyncSession:
        return (self._write_sessions if write else self._read_sessions)()

    @contextlib.asynccontextmanager
    async def unit_of_work(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """Open a session, commit when the block ends cleanly, then dispatch its events.
        Just before the commit, the in-transaction subscribers handle the events recorded
        (``events.run_in_transaction``: outbox rows for the side effects)."""
        session = self.session(write=write)
        try:
            yield session
            if write:
                await events.run_in_transaction(session)
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            await session.close()
        await events.dispatch_committed(session)

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
