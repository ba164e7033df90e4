"""The realtime hub: fan-out inside one process (MemoryHub) and between processes
(RedisHub over a real Redis server)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio

from opora.app import create_app
from opora.config import Settings
from opora.realtime.hub import MemoryHub, RedisHub
from tests.conftest import REQUIRE_SERVICES, build_company

REDIS_URL = os.environ.get("OPORA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

Message = dict[str, Any]


async def _redis_unreachable() -> str | None:
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await asyncio.wait_for(client.ping(), 3)
        return None
    except Exception as exc:
        return f"Redis at {REDIS_URL} is unreachable: {exc}"
    finally:
        await client.aclose()


@pytest_asyncio.fixture
async def redis_url() -> str:
    """The Redis server's URL; skips (or fails under OPORA_REQUIRE_SERVICES=1) without one."""
    reason = await _redis_unreachable()
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(f"{reason} (OPORA_REQUIRE_SERVICES=1)")
        pytest.skip(reason)
    return REDIS_URL


@contextlib.asynccontextmanager
async def started(url: str) -> AsyncIterator[RedisHub]:
    """A RedisHub as one process would run it: started, and closed at the end."""
    hub = RedisHub(url)
    await hub.start()
    try:
        yield hub
    finally:
        await hub.close()


async def first_matching(
    queue: asyncio.Queue[Message], match: Callable[[Message], bool], within: float = 5
) -> Message:
    """The first message ``match`` accepts. Other test runs may share the Redis channel,
    so messages that are not ours are skipped, never asserted on."""
    async with asyncio.timeout(within):
        while True:
            message = await queue.get()
            if match(message):
                return message


async def until_subscribed(publisher: RedisHub, queue: asyncio.Queue[Message]) -> None:
    """Publish a probe until it comes back on ``queue``: from then on the subscription is
    live on the server, and a message published once cannot be missed."""
    probe = {"name": "test.probe", "payload": {"nonce": uuid.uuid4().hex}}
    async with asyncio.timeout(5):
        while True:
            await publisher.publish(probe)
            with contextlib.suppress(TimeoutError):
                await first_matching(queue, lambda m: m == probe, within=0.1)
                return


class TestMemoryHub:
    async def test_every_subscriber_receives_every_message_in_order(self) -> None:
        hub = MemoryHub()
        async with hub.subscribe() as a, hub.subscribe() as b, hub.subscribe() as c:
            await hub.publish({"name": "ticket.created", "payload": {"ticket_id": 1}})
            await hub.publish({"name": "ticket.updated", "payload": {"ticket_id": 1}})

            for queue in (a, b, c):
                assert [queue.get_nowait()["name"], queue.get_nowait()["name"]] == [
                    "ticket.created",
                    "ticket.updated",
                ]
                assert queue.empty()

    async def test_a_full_queue_drops_its_oldest_message_and_never_blocks(self) -> None:
        hub = MemoryHub(queue_size=3)
        async with hub.subscribe() as slow, hub.subscribe() as fast:
            seen_by_fast = []
            async with asyncio.timeout(1):  # publishing into a full queue must not wait
                for n in range(1, 6):
                    await hub.publish({"n": n})
                    seen_by_fast.append(fast.get_nowait()["n"])

            assert [slow.get_nowait()["n"] for _ in range(slow.qsize())] == [3, 4, 5]
            assert seen_by_fast == [1, 2, 3, 4, 5], "a slow subscriber costs others nothing"

    async def test_a_subscriber_that_left_receives_nothing_more(self) -> None:
        hub = MemoryHub()
        async with hub.subscribe() as gone:
            pass
        async with hub.subscribe() as staying:
            await hub.publish({"name": "ticket.created"})

            assert gone.empty()
            assert staying.get_nowait() == {"name": "ticket.created"}


class TestRedisHub:
    async def test_a_message_published_in_one_process_reaches_subscribers_in_both(
        self, redis_url: str
    ) -> None:
        async with (
            started(redis_url) as first,
            started(redis_url) as second,
            first.subscribe() as on_first,
            second.subscribe() as on_second,
        ):
            await until_subscribed(first, on_second)
            await until_subscribed(second, on_first)
            message = {
                "name": "ticket.escalated",
                "payload": {"ticket_id": 7, "nonce": uuid.uuid4().hex, "line": 2},
            }

            await first.publish(message)

            # the other process gets it, and so does the publisher's own process:
            # publish goes through Redis only, never straight to local subscribers
            assert await first_matching(on_second, lambda m: m == message) == message
            assert await first_matching(on_first, lambda m: m == message) == message

    async def test_a_malformed_message_on_the_channel_is_skipped(self, redis_url: str) -> None:
        import redis.asyncio as redis

        from opora.realtime.hub import CHANNEL

        raw = redis.from_url(redis_url)
        try:
            async with started(redis_url) as hub, hub.subscribe() as queue:
                await until_subscribed(hub, queue)
                after = {"name": "test.after", "payload": {"nonce": uuid.uuid4().hex}}

                await raw.publish(CHANNEL, b"{not json")
                await hub.publish(after)

                assert await first_matching(queue, lambda m: m["name"] == "test.after") == after
        finally:
            await raw.aclose()


class TestTicketEventsOverRedis:
    async def test_creating_a_ticket_through_the_api_reaches_another_process(
        self, settings: Settings, redis_url: str
    ) -> None:
        scaled_out = Settings(
            data_dir=settings.data_dir,
            database_url=settings.database_url,
            redis_url=redis_url,
            run_worker_in_process=False,
        )
        application = create_app(scaled_out, run_worker=False)
        async with (
            started(redis_url) as other_process,
            other_process.subscribe() as received,
            application.router.lifespan_context(application),
        ):
            assert isinstance(application.state.hub, RedisHub)
            await until_subscribed(other_process, received)
            company = await build_company(application.state.db)
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://opora.test") as c:
                r = await c.post(
                    "/api/v1/tickets",
                    headers=company.l1_agent.headers,
                    json={
                        "subject": "Не могу войти",
                        "body": "Пишет неверный пароль",
                        "requester": {"email": "carol@acme.ru"},
                    },
                )
            assert r.status_code == 201, r.text
            ticket = r.json()

            message = await first_matching(
                received,
                lambda m: (
                    m.get("name") == "ticket.created"
                    and m["payload"].get("ticket_id") == ticket["id"]
                ),
            )

        assert isinstance(message["payload"].pop("message_id"), int)
        assert message["payload"] == {
            "by": f"user:{company.l1_agent.id}",
            "ticket_id": ticket["id"],
            "number": ticket["number"],
            "quiet": False,
            "follow_up_of": None,
        }
