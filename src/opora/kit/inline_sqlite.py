"""SQLite on the event loop's own thread, for SQLAlchemy's ``sqlite+aiosqlite`` dialect.

aiosqlite runs each connection in a thread and hands every call (cursor, execute, fetch,
close) to it through a queue: four thread hand-offs per statement. SQLite answers an
indexed statement in microseconds, so on a busy two-core machine the hand-offs cost more
than the work (measured: 140-300 µs each, ~70 % of an email's intake). This module gives
SQLAlchemy's aiosqlite adapter an object with aiosqlite's interface whose coroutines call
``sqlite3`` directly: no thread, no hand-off.

It blocks the event loop while a statement runs, so it is used where statements are
short and serialized anyway: the single **writer** connection (``db.py``). Readers keep
aiosqlite, so a slow search never stalls other requests. ``sqlite3`` itself is the
standard library's; nothing here changes what SQLite does or sees.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _CursorContext:
    """What ``connection.cursor()`` returns in aiosqlite: awaitable, and an async context."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __await__(self) -> Any:
        return self._make().__await__()

    async def _make(self) -> InlineCursor:
        return InlineCursor(self._connection.cursor())

    async def __aenter__(self) -> InlineCursor:
        return await self._make()

    async def __aexit__(self, *exc: object) -> None:
        return None


class _RunNow:
    """Stands in for aiosqlite's job queue (``_tx``), which SQLAlchemy's adapter uses to set
    ``isolation_level``: the job runs at once and its future is resolved."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class InlineConnection:
    """aiosqlite.Connection's interface over a plain ``sqlite3.Connection``."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _RunNow()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> _CursorContext:
        return _CursorContext(self._conn)

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        return InlineCursor(self._conn.execute(sql, parameters))

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def creator(path: str) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine``: connections to ``path``."""

    async def connect() -> InlineConnection:
        # the loop's thread is the only one that uses it; autocommit off like aiosqlite
        return InlineConnection(sqlite3.connect(path, check_same_thread=False))

    return connect
