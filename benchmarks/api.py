"""REST API benchmark: starts `opora serve` itself and prints figures.

    .venv/bin/python -m benchmarks.api --backend sqlite            # writes nothing
    .venv/bin/python -m benchmarks.api --backend postgres --record # updates RESULTS.md

1. Creates: a fresh migrated database, one server process (worker in-process, as
   `opora serve` runs by default), 5,000 POST /api/v1/tickets at concurrency 16:
   creates per second and p50/p95/p99 latency.
2. Reads at scale: the database made by `benchmarks.load` (run it first; 1,000,000
   tickets by default), p50/p95 of the first page of open tickets, a filtered list
   (group + status), a ticket with 20 messages, and full-text queries.
The server's peak RSS is sampled throughout. Latency is measured by the client over
loopback, one request at a time for the read figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks._results import report
from benchmarks.load import DATA, PG_ADMIN

ROOT = Path(__file__).parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, env: dict[str, str], cmd: list[str] | None = None) -> None:
        self.cmd = cmd
        self.port = free_port()
        self.env = {**os.environ, **env}
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss = 0
        self._sampler: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Server:
        cmd = self.cmd or [sys.executable, "-m", "opora.cli.main", "serve"]
        cmd = [*cmd, "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=ROOT)  # noqa: ASYNC220 (once)
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                try:
                    r = await client.get(f"{self.url}/healthz")
                    if r.status_code == 200 or (self.cmd and r.status_code == 404):
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the server did not become healthy")
        self._sampler = asyncio.create_task(self._sample())
        return self

    async def _sample(self) -> None:
        assert self.proc is not None
        ps = psutil.Process(self.proc.pid)
        while True:
            self.peak_rss = max(self.peak_rss, ps.memory_info().rss)
            await asyncio.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aexit__(self, *exc: object) -> None:
        if self._sampler:
            self._sampler.cancel()
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


async def bench_creates(backend: str, n: int, concurrency: int) -> dict[str, tuple[float, str]]:
    from opora.auth import service as auth_service
    from opora.auth.actor import system_actor
    from opora.auth.schemas import GroupCreate, UserCreate
    from opora.db import Database
    from opora.migrations import runner

    tmp = Path(tempfile.mkdtemp(prefix="opora-bench-"))
    env = {"OPORA_DATA_DIR": str(tmp)}
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'opora.db'}"
    else:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute("DROP DATABASE IF EXISTS opora_bench_create")
        await conn.execute("CREATE DATABASE opora_bench_create")
        await conn.close()
        url = "postgresql+asyncpg://postgres@127.0.0.1:5432/opora_bench_create"
        env["OPORA_DATABASE_URL"] = url
    await runner.upgrade(url)
    db = Database(url)
    async with db.unit_of_work() as s:
        group = await auth_service.create_group(
            s, actor=system_actor("bench"), data=GroupCreate(name="L1", line=1)
        )
        user = await auth_service.create_user(
            s,
            actor=system_actor("bench"),
            data=UserCreate(email="bench@opora.dev", name="Bench", group_ids=[group.id]),
        )
        _, token = await auth_service.create_token(s, user_id=user.id)
    await db.dispose()
    latencies: list[float] = []
    errors = 0
    async with Server(env) as server:
        limits = httpx.Limits(max_connections=concurrency)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=server.url, limits=limits, headers=headers) as c:
            counter = iter(range(n))

            async def worker() -> None:
                nonlocal errors
                for i in counter:
                    body = {
                        "subject": f"Не могу войти в аккаунт #{i}",
                        "body": "После обновления приложения пишет «неверный пароль». "
                        f"Пробовал сбросить пароль, письмо не пришло. Заказ {i}.",
                        "requester": {"email": f"customer{i % 500}@mail.ru", "name": "Клиент"},
                        "group_id": group.id,
                        "tags": ["login", "password"],
                        "channel": "email",
                    }
                    t0 = time.perf_counter()
                    r = await c.post("/api/v1/tickets", json=body)
                    latencies.append(time.perf_counter() - t0)
                    if r.status_code != 201:
                        errors += 1

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        rss = server.peak_rss
    if errors:
        print(f"WARNING: {errors} creates failed")
    print(f"{backend}: {n} creates in {elapsed:.1f} s at concurrency {concurrency}")
    p = f"api.{backend}.create"
    return {
        f"{p}.per_second": (n / elapsed, "creates/s"),
        f"{p}.p50_ms": (pct(latencies, 0.50), "ms"),
        f"{p}.p95_ms": (pct(latencies, 0.95), "ms"),
        f"{p}.p99_ms": (pct(latencies, 0.99), "ms"),
        f"{p}.errors": (float(errors), "count"),
        f"{p}.peak_rss_mb": (rss / 2**20, "MiB"),
    }


async def bench_ceiling(n: int, concurrency: int) -> dict[str, tuple[float, str]]:
    """The same client and load against a FastAPI app that only validates the body."""
    cmd = [sys.executable, "-m", "uvicorn", "benchmarks._noop_app:app", "--log-level", "warning"]
    async with Server({}, cmd) as server:
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(base_url=server.url, limits=limits) as c:
            counter = iter(range(n))

            async def worker() -> None:
                for i in counter:
                    body = {
                        "subject": f"Не могу войти в аккаунт #{i}",
                        "body": "После обновления приложения пишет «неверный пароль».",
                        "requester": {"email": f"customer{i % 500}@mail.ru", "name": "Клиент"},
                        "tags": ["login", "password"],
                    }
                    r = await c.post("/api/v1/tickets", json=body)
                    assert r.status_code == 201

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
    print(f"ceiling: {n} no-op creates in {elapsed:.1f} s at concurrency {concurrency}")
    return {"api.ceiling.noop_fastapi_create.per_second": (n / elapsed, "requests/s")}


async def bench_reads(backend: str, repeat: int) -> dict[str, tuple[float, str]]:
    info_path = DATA / f"{backend}.json"
    if not info_path.exists():
        print(f"no {info_path}: run `python -m benchmarks.load --backend {backend}` first")
        return {}
    info: dict[str, Any] = json.loads(info_path.read_text())
    env = {
        "OPORA_DATA_DIR": str(DATA / f"{backend}-data"),
        "OPORA_DATABASE_URL": info["database_url"],
    }
    open_statuses = "new,open,pending,on_hold"
    queries = {
        "open_first_page": f"/api/v1/tickets?status={open_statuses}&limit=50",
        "group_status_filter": f"/api/v1/tickets?group_id={info['group_id']}&status=open&limit=50",
        "ticket_20_messages": f"/api/v1/tickets/{info['long_ticket_id']}",
        "search_common_word": "/api/v1/tickets?q=пароль&limit=50",
        "search_two_words": "/api/v1/tickets?q=войти%20аккаунт&limit=50",
        "search_rare_phrase": "/api/v1/tickets?q=синхронизации%20очередь&limit=50",
    }
    figures: dict[str, tuple[float, str]] = {}
    async with Server(env) as server:
        headers = {"Authorization": f"Bearer {info['token']}"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as c:
            for name, path in queries.items():
                for _ in range(5):  # warm caches
                    r = await c.get(path)
                    r.raise_for_status()
                times = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    r = await c.get(path)
                    times.append(time.perf_counter() - t0)
                    r.raise_for_status()
                items = r.json().get("items")
                count = len(items) if items is not None else len(r.json().get("messages", []))
                print(
                    f"{backend} {name:22} p50 {pct(times, 0.5):7.1f} ms  "
                    f"p95 {pct(times, 0.95):7.1f} ms  mean {statistics.mean(times) * 1000:6.1f} ms"
                    f"  ({count} items)"
                )
                key = f"api.{backend}.at_{info['tickets'] // 1000}k.{name}"
                figures[f"{key}.p50_ms"] = (pct(times, 0.5), "ms")
                figures[f"{key}.p95_ms"] = (pct(times, 0.95), "ms")
        figures[f"api.{backend}.reads.peak_rss_mb"] = (server.peak_rss / 2**20, "MiB")
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description="REST API benchmark")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--creates", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=200, help="requests per read figure")
    parser.add_argument("--skip-creates", action="store_true")
    parser.add_argument("--skip-reads", action="store_true")
    parser.add_argument(
        "--ceiling", action="store_true", help="also measure a no-op FastAPI app, same client"
    )
    parser.add_argument("--record", action="store_true", help="write figures to RESULTS.md")
    args = parser.parse_args()
    figures: dict[str, tuple[float, str]] = {}
    if not args.skip_creates:
        figures |= await bench_creates(args.backend, args.creates, args.concurrency)
    if not args.skip_reads:
        figures |= await bench_reads(args.backend, args.repeat)
    if args.ceiling:
        figures |= await bench_ceiling(args.creates, args.concurrency)
    report("api", figures, record=args.record)


if __name__ == "__main__":
    asyncio.run(main())
