"""Keyset (cursor) pagination: stable under inserts, fast at any depth."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from opora.errors import InvalidInput

T = TypeVar("T")


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("the cursor is not one this server gave out", field="cursor") from exc
    if not isinstance(values, list):
        raise InvalidInput("the cursor is not one this server gave out", field="cursor")
    return values


def decode_id_cursor(cursor: str) -> int:
    """The last id of a page ordered by id, from a cursor made by ``encode_cursor([id])``."""
    values = decode_cursor(cursor)
    if len(values) != 1 or type(values[0]) is not int:
        raise InvalidInput("the cursor is not one this server gave out", field="cursor")
    return values[0]


def decode_text_cursor(cursor: str) -> str:
    """The last key of a page ordered by a unique text column (``encode_cursor([name])``)."""
    values = decode_cursor(cursor)
    if len(values) != 1 or not isinstance(values[0], str):
        raise InvalidInput("the cursor is not one this server gave out", field="cursor")
    return values[0]


def page_of(rows: Sequence[T], limit: int, key: Callable[[T], Any]) -> tuple[list[T], str | None]:
    """A page from ``limit + 1`` fetched rows: the first ``limit``, and the cursor after
    the last of them (``key`` gives its value) when there was one more row."""
    if len(rows) <= limit:
        return list(rows), None
    return list(rows[:limit]), encode_cursor([key(rows[limit - 1])])
