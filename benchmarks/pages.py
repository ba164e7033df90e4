"""Agent pages benchmark: server time of the inbox and the ticket page at scale.

    .venv/bin/python -m benchmarks.pages --backend sqlite            # writes nothing
    .venv/bin/python -m benchmarks.pages --backend postgres --record # updates RESULTS.md

Runs on the database `benchmarks.load` filled (1,000,000 tickets by default; run it
first). It migrates that database to the latest schema, adds an agent with a password in
the loaded group and a ticket with a 50-entry timeline (replies, internal notes and field
changes, through the services) if they are missing, starts `opora serve`, signs in like a
browser (GET /login for the cookie and CSRF token, POST /login) and measures p50/p95,
one request at a time over loopback after a warm-up, of:

- ``inbox``: ``GET /inbox``, the default view with the sidebar and its counts;
- ``all_open_sorted``: ``GET /inbox/all-open?sort=-updated_at``, a filtered list, full page;
- ``list_htmx``: the same list as htmx asks for it (``HX-Target: ticket-list``: only the
  list, the sidebar out of band);
- ``ticket_50_entries``: ``GET /tickets/{id}`` for the 50-entry ticket.

Beside the latencies, the server process's CPU time per request (user + system, the
database's own work on PostgreSQL not included): a figure that moves less than the
latencies when other work shares the machine. The server's peak RSS is sampled
throughout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from typing import Any

import httpx
import psutil

from benchmarks._results import report
from benchmarks.api import Server, pct
from benchmarks.load import DATA

EMAIL = "bench-pages@opora.dev"
PASSWORD = "bench-pages-password"
SUBJECT = "Страница тикета: 50 записей в ленте (benchmarks.pages)"
ENTRIES = 50
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def prepare(url: str, group_id: int) -> tuple[int, int]:
    """Migrate; add the agent and the 50-entry ticket if missing. Returns the ticket's id
    and its requester's."""
    from sqlalchemy import select

    from opora.auth import repository as users
    from opora.auth import service as auth_service
    from opora.auth.actor import system_actor
    from opora.auth.schemas import UserCreate
    from opora.db import Database
    from opora.migrations import runner
    from opora.tickets import service as tickets
    from opora.tickets.models import Ticket, Visibility
    from opora.tickets.pages import _timeline
    from opora.tickets.schemas import MessageCreate, TicketCreate, TicketUpdate

    await runner.upgrade(url)
    db = Database(url)
    try:
        async with db.unit_of_work() as s:
            user = await users.get_user_by_email(s, EMAIL)
            if user is None:
                user = await auth_service.create_user(
                    s,
                    actor=system_actor("bench"),
                    data=UserCreate(
                        email=EMAIL, name="Bench Pages", password=PASSWORD, group_ids=[group_id]
                    ),
                )
            actor = await auth_service.actor_for_user(s, user)
            found = await s.execute(select(Ticket.id).where(Ticket.subject == SUBJECT).limit(1))
            ticket_id = found.scalar()
            if ticket_id is None:
                ticket = await tickets.create_ticket(
                    s,
                    actor=actor,
                    data=TicketCreate(
                        subject=SUBJECT,
                        body="После обновления приложения пропадают сообщения в переписке.",
                        requester={"email": "customer2@mail.ru", "name": "Клиент"},  # type: ignore[arg-type]
                        group_id=group_id,
                        assignee_id=user.id,
                        tags=["sync"],
                    ),
                )
                ticket_id = ticket.id
            k = 0
            while True:
                workspace = await tickets.get_ticket_workspace(s, actor=actor, ticket_id=ticket_id)
                if len(_timeline(workspace)) >= ENTRIES:
                    break
                step = k % 4
                if step == 0:
                    await tickets.add_message(
                        s,
                        actor=actor,
                        ticket_id=ticket_id,
                        data=MessageCreate(body=f"Ответ №{k}: проверьте, пожалуйста, ещё раз."),
                    )
                elif step == 1:
                    await tickets.add_message(
                        s,
                        actor=actor,
                        ticket_id=ticket_id,
                        data=MessageCreate(
                            body=f"Заметка №{k}: похоже на баг синхронизации.",
                            visibility=Visibility.INTERNAL,
                        ),
                    )
                elif step == 2:
                    priority = "high" if workspace.detail.ticket.priority != "high" else "normal"
                    await tickets.update_ticket(
                        s, actor=actor, ticket_id=ticket_id, data=TicketUpdate(priority=priority)
                    )
                else:
                    kind = "incident" if workspace.detail.ticket.type != "incident" else "problem"
                    await tickets.update_ticket(
                        s, actor=actor, ticket_id=ticket_id, data=TicketUpdate(type=kind)
                    )
                k += 1
            print(f"ticket {ticket_id}: {len(_timeline(workspace))} timeline entries")
            requester_id = workspace.detail.ticket.requester_id
    finally:
        await db.dispose()
    return int(ticket_id), int(requester_id)


async def sign_in(c: httpx.AsyncClient) -> None:
    r = await c.get("/login")
    r.raise_for_status()
    m = CSRF.search(r.text)
    assert m, "no csrf_token on the sign-in page"
    r = await c.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": m[1]})
    if r.status_code != 303:
        raise RuntimeError(f"sign-in failed: {r.status_code}")


async def bench(backend: str, repeat: int) -> dict[str, tuple[float, str]]:
    info_path = DATA / f"{backend}.json"
    if not info_path.exists():
        print(f"no {info_path}: run `python -m benchmarks.load --backend {backend}` first")
        return {}
    info: dict[str, Any] = json.loads(info_path.read_text())
    url = info["database_url"]
    ticket_id, contact_id = await prepare(url, info["group_id"])
    env = {"OPORA_DATA_DIR": str(DATA / f"{backend}-data"), "OPORA_DATABASE_URL": url}
    htmx = {"HX-Request": "true", "HX-Target": "ticket-list"}
    requests: dict[str, tuple[str, dict[str, str]]] = {
        "inbox": ("/inbox", {}),
        "all_open_sorted": ("/inbox/all-open?sort=-updated_at", {}),
        "list_htmx": ("/inbox/all-open?sort=-updated_at", htmx),
        "ticket_50_entries": (f"/tickets/{ticket_id}", {}),
        # beyond the three: other sorts, the filter bar, contact page, global search
        "all_open_by_priority": ("/inbox/all-open?sort=-priority", {}),
        "all_open_by_due": ("/inbox/all-open?sort=due_at", {}),
        "all_open_by_requester": ("/inbox/all-open?sort=requester", {}),
        "filter_status_priority": ("/inbox/all-open?status=open&priority=urgent", {}),
        "filter_search_word": ("/inbox/all-open?q=пароль", {}),
        "contact_page": (f"/contacts/{contact_id}", {}),
        "global_search": ("/search?q=войти", {}),
    }
    figures: dict[str, tuple[float, str]] = {}
    key = f"pages.{backend}.at_{info['tickets'] // 1000}k"
    async with Server(env) as server:
        assert server.proc is not None
        proc = psutil.Process(server.proc.pid)
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as c:
            await sign_in(c)
            for name, (path, headers) in requests.items():
                for _ in range(5):  # warm caches
                    r = await c.get(path, headers=headers)
                    r.raise_for_status()
                times = []
                cpu0 = sum(proc.cpu_times()[:2])
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    r = await c.get(path, headers=headers)
                    times.append(time.perf_counter() - t0)
                    r.raise_for_status()
                cpu_ms = (sum(proc.cpu_times()[:2]) - cpu0) / repeat * 1000
                rows = r.text.count("<tr")
                print(
                    f"{backend} {name:18} p50 {pct(times, 0.5):7.1f} ms  "
                    f"p95 {pct(times, 0.95):7.1f} ms  mean {statistics.mean(times) * 1000:6.1f} ms"
                    f"  server CPU {cpu_ms:5.1f} ms  ({len(r.content) // 1024} KiB, {rows} <tr>)"
                )
                figures[f"{key}.{name}.p50_ms"] = (pct(times, 0.5), "ms")
                figures[f"{key}.{name}.p95_ms"] = (pct(times, 0.95), "ms")
                figures[f"{key}.{name}.server_cpu_ms"] = (cpu_ms, "ms")
        figures[f"pages.{backend}.peak_rss_mb"] = (server.peak_rss / 2**20, "MiB")
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description="Agent pages benchmark")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=200, help="requests per figure")
    parser.add_argument("--record", action="store_true", help="write figures to RESULTS.md")
    args = parser.parse_args()
    figures = await bench(args.backend, args.repeat)
    report("pages", figures, record=args.record)


if __name__ == "__main__":
    asyncio.run(main())
