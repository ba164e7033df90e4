"""Publish committed domain events to subscribers (websockets come with the workspace).

``MemoryHub`` serves the single-process default; ``RedisHub`` carries events between
processes in scale-out mode. Both deliver to local subscribers through asyncio queues.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

log = logging.getLogger(__name__)

CHANNEL = "opora:events"


class Hub(Protocol):
    async def publish(self, message: dict[str, Any]) -> None: ...

    def subscribe(
        self,
    ) -> contextlib.AbstractAsyncContextManager[asyncio.Queue[dict[str, Any]]]: ...

    async def close(self) -> None: ...


class MemoryHub:
    def __init__(self, *, queue_size: int = 1000) -> None:
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self._queue_size = queue_size

    def _deliver(self, message: dict[str, Any]) -> None:
        for queue in list(self._queues):
            if queue.full():  # a slow subscriber loses its oldest event, never blocks others
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(message)

    async def publish(self, message: dict[str, Any]) -> None:
        self._deliver(message)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._queue_size)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    async def close(self) -> None:
        self._queues.clear()


class RedisHub(MemoryHub):
    """Publishes through Redis pub/sub; one listener task feeds the local subscribers."""

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(CHANNEL)

        async def listen() -> None:
            async for item in pubsub.listen():
                if item.get("type") != "message":
                    continue
                try:
                    self._deliver(json.loads(item["data"]))
                except (ValueError, TypeError):
                    log.warning("ignored a malformed realtime message")

        self._listener = asyncio.create_task(listen())

    async def publish(self, message: dict[str, Any]) -> None:
        await self._redis.publish(CHANNEL, json.dumps(message, default=str))

    async def close(self) -> None:
        if self._listener:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._redis.aclose()
        await super().close()
