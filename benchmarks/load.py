"""Bulk-load a large help desk for the benchmarks (fast: no per-row service calls).

    .venv/bin/python -m benchmarks.load --backend sqlite --tickets 1000000
    .venv/bin/python -m benchmarks.load --backend postgres --tickets 1000000

Groups, agents, the admin and its API token go through the services; organizations,
contacts, tickets, their first messages, 'created' events and search documents are
bulk-inserted (SQLite: executemany in one transaction; PostgreSQL: COPY). The ticket
search terms are produced by the same analysis the app uses, so search works on the data.
One ticket gets 20 messages (public replies and internal notes) for the ticket-page
figure. What the API benchmark needs (URL, token, ids) is written to
benchmarks/.data/<backend>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.schemas import GroupCreate, UserCreate
from opora.db import Database
from opora.migrations import runner
from opora.search.analysis import index_text

HERE = Path(__file__).parent
DATA = HERE / ".data"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "opora_bench"

STATUSES = ["new"] * 10 + ["open"] * 15 + ["pending"] * 10 + ["on_hold"] * 5
STATUSES += ["solved"] * 30 + ["closed"] * 30
OPEN_ONLY = ["new"] * 20 + ["open"] * 50 + ["pending"] * 20 + ["on_hold"] * 10
PRIORITIES = ["low"] * 15 + ["normal"] * 60 + ["high"] * 20 + ["urgent"] * 5
TYPES = ["question", "incident", "problem", "feature_request", "complaint", "task"]
CHANNELS = ["email", "email", "web", "chat", "telegram", "vk", "api"]
SUBJECTS_RU = [
    "Не могу войти в аккаунт",
    "Не приходит письмо активации",
    "Сброс пароля не работает",
    "Деньги списали, а заказ не оплачен",
    "Пропали сообщения в переписке",
    "Ошибка 502 при загрузке фото",
    "Как изменить номер телефона в профиле",
    "Жалоба на работу поддержки",
    "Предложение: тёмная тема в приложении",
    "Не выводятся средства на карту",
]
SUBJECTS_EN = [
    "Cannot log in to my account",
    "Activation email never arrives",
    "Password reset link is expired",
    "Charged twice for one payment",
    "Messages disappeared from the conversation",
    "Error 500 when uploading a photo",
    "How do I change my email address",
    "Complaint about a refund delay",
    "Feature request: export to CSV",
    "Withdrawal to card is stuck",
]
BODIES_RU = [
    "Здравствуйте! {s}. Пробовал в браузере {b}, версия приложения {v}. Номер заказа {n}.",
    "{s}. Уже третий день не могу решить проблему, помогите пожалуйста. Код ошибки E{n}.",
]
BODIES_EN = [
    "Hello, {s}. I tried in {b}, app version {v}. Order number {n}.",
    "{s}. This has been going on for three days, please help. Error code E{n}.",
]
BROWSERS = ["Chrome", "Firefox", "Safari", "Edge", "Яндекс Браузер"]


def ticket_terms(t: dict[str, Any]) -> str:
    return index_text(f"{t['subject']}\n{t['body']}")


def sqlite_ts(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def ticket_rows(n: int, rng: random.Random, ctx: dict[str, Any]) -> Iterator[dict[str, Any]]:
    now = datetime.now(UTC)
    groups: list[tuple[int, int, list[int]]] = ctx["groups"]  # (id, line, member ids)
    contacts: list[tuple[int, int | None]] = ctx["contacts"]
    for i in range(1, n + 1):
        ru = rng.random() < 0.6
        subject = rng.choice(SUBJECTS_RU if ru else SUBJECTS_EN)
        body = rng.choice(BODIES_RU if ru else BODIES_EN).format(
            s=subject,
            b=rng.choice(BROWSERS),
            v=f"{rng.randint(1, 9)}.{rng.randint(0, 30)}",
            n=rng.randint(10000, 99999),
        )
        created = now - timedelta(seconds=rng.randint(600, 365 * 86400))
        updated = created + timedelta(seconds=rng.randint(0, 5 * 86400))
        updated = min(updated, now)
        status = rng.choice(ctx.get("statuses") or STATUSES)
        gid, line, members = rng.choice(groups)
        assignee = rng.choice(members) if status != "new" and rng.random() < 0.85 else None
        contact_id, org_id = rng.choice(contacts)
        responded = created + timedelta(minutes=rng.randint(5, 600)) if status != "new" else None
        yield {
            "id": i,
            "number": i,
            "subject": subject,
            "body": body,
            "status": status,
            "priority": rng.choice(PRIORITIES),
            "type": rng.choice(TYPES),
            "channel": rng.choice(CHANNELS),
            "requester_id": contact_id,
            "organization_id": org_id,
            "group_id": gid,
            "line": line,
            "assignee_id": assignee,
            "created_at": created,
            "updated_at": updated,
            "first_responded_at": responded,
            "solved_at": updated if status in ("solved", "closed") else None,
            "closed_at": updated if status == "closed" else None,
        }


async def setup_people(db: Database, rng: random.Random) -> dict[str, Any]:
    actor = system_actor("benchmark")
    groups: list[tuple[int, int, list[int]]] = []
    async with db.unit_of_work() as s:
        admin = await auth_service.create_user(
            s,
            actor=actor,
            data=UserCreate(email="bench-admin@opora.dev", name="Bench Admin", role="admin"),
        )
        _, token = await auth_service.create_token(s, user_id=admin.id, name="benchmark")
        for name, line in (
            ("L1 Support", 1),
            ("L1 Chat", 1),
            ("L2 Billing", 2),
            ("L2 Technical", 2),
            ("L3 Engineering", 3),
        ):
            group = await auth_service.create_group(
                s, actor=actor, data=GroupCreate(name=name, line=line)
            )
            members = []
            for k in range(4):
                user = await auth_service.create_user(
                    s,
                    actor=actor,
                    data=UserCreate(
                        email=f"agent{group.id}-{k}@opora.dev",
                        name=f"Agent {group.id}-{k}",
                        group_ids=[group.id],
                    ),
                )
                members.append(user.id)
            groups.append((group.id, line, members))
    return {"admin_id": admin.id, "token": token, "groups": groups}


def org_and_contact_rows(
    n_orgs: int, n_contacts: int, rng: random.Random
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    now = datetime.now(UTC)
    orgs = [
        {
            "id": i,
            "name": f"Organization {i}",
            "domains": json.dumps([f"org{i}.ru"]),
            "vip": i % 10 == 0,
        }
        for i in range(1, n_orgs + 1)
    ]
    contacts, identities = [], []
    for i in range(1, n_contacts + 1):
        org = rng.randint(1, n_orgs) if rng.random() < 0.7 else None
        contacts.append(
            {"id": i, "name": f"Customer {i}", "organization_id": org, "created_at": now}
        )
        domain = f"org{org}.ru" if org else "mail.ru"
        identities.append({"id": i, "contact_id": i, "value": f"customer{i}@{domain}"})
    return orgs, contacts, identities


def load_sqlite(path: Path, ctx: dict[str, Any], n: int, rng: random.Random) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-512000")
    conn.execute("BEGIN")
    orgs, contacts, identities = org_and_contact_rows(ctx["n_orgs"], ctx["n_contacts"], rng)
    now = sqlite_ts(datetime.now(UTC))
    conn.executemany(
        "INSERT INTO organizations (id, name, domains, vip, notes, custom_fields, created_at, "
        "updated_at) VALUES (:id, :name, :domains, :vip, '', '{}', ?, ?)".replace("?", f"'{now}'"),
        orgs,
    )
    conn.executemany(
        "INSERT INTO contacts (id, name, organization_id, sees_organization_tickets, language, "
        "timezone, notes, custom_fields, is_active, created_at, updated_at) VALUES (:id, :name, "
        f":organization_id, 0, 'ru', 'UTC', '', '{{}}', 1, '{now}', '{now}')",
        contacts,
    )
    conn.executemany(
        "INSERT INTO contact_identities (id, contact_id, kind, value, is_primary) "
        "VALUES (:id, :contact_id, 'email', :value, 1)",
        identities,
    )
    ctx["contacts"] = [(c["id"], c["organization_id"]) for c in contacts]
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        rows = [
            {
                **t,
                "custom_fields": "{}",
                "resolution": "{}",
                **{
                    k: sqlite_ts(t[k]) if t[k] else None
                    for k in (
                        "created_at",
                        "updated_at",
                        "first_responded_at",
                        "solved_at",
                        "closed_at",
                    )
                },
                "status_changed_at": sqlite_ts(t["updated_at"]),
                "assigned_at": sqlite_ts(t["created_at"]) if t["assignee_id"] else None,
                "last_customer_message_at": sqlite_ts(t["created_at"]),
            }
            for t in batch
        ]
        conn.executemany(
            "INSERT INTO tickets (id, number, subject, status, priority, type, channel, "
            "requester_id, organization_id, group_id, line, assignee_id, custom_fields, "
            "created_at, updated_at, first_responded_at, last_customer_message_at, solved_at, "
            "closed_at, resolution, status_changed_at, assigned_at) VALUES (:id, :number, "
            ":subject, :status, :priority, :type, :channel, :requester_id, :organization_id, "
            ":group_id, :line, :assignee_id, :custom_fields, :created_at, :updated_at, "
            ":first_responded_at, :last_customer_message_at, :solved_at, :closed_at, "
            ":resolution, :status_changed_at, :assigned_at)",
            rows,
        )
        conn.executemany(
            "INSERT INTO messages (id, ticket_id, visibility, author_kind, author_contact_id, "
            "body_text, body_html, channel, delivery_state, extra, created_at) VALUES (:id, :id, "
            "'public', 'contact', :requester_id, :body, '', :channel, 'none', '{}', :created_at)",
            rows,
        )
        conn.executemany(
            "INSERT INTO ticket_events (ticket_id, kind, actor_kind, actor_contact_id, old_value, "
            "new_value, message_id, created_at) VALUES (:id, 'created', 'contact', :requester_id, "
            "'null', '{}', :id, :created_at)",
            rows,
        )
        conn.executemany(
            "INSERT INTO ticket_search (ticket_id, public_terms, all_terms) VALUES (?, ?, ?)",
            [(t["id"], terms, terms) for t in batch for terms in [ticket_terms(t)]],
        )
        batch.clear()

    for t in ticket_rows(n, rng, ctx):
        batch.append(t)
        if len(batch) >= 20000:
            flush()
    if batch:
        flush()
    conn.execute(
        "INSERT INTO counters (name, value) VALUES ('ticket_number', ?) "
        "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (n,),
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


async def load_postgres(url: str, ctx: dict[str, Any], n: int, rng: random.Random) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        orgs, contacts, identities = org_and_contact_rows(ctx["n_orgs"], ctx["n_contacts"], rng)
        now = datetime.now(UTC)
        await conn.copy_records_to_table(
            "organizations",
            columns=[
                "id",
                "name",
                "domains",
                "vip",
                "notes",
                "custom_fields",
                "created_at",
                "updated_at",
            ],
            records=[
                (o["id"], o["name"], o["domains"], o["vip"], "", "{}", now, now) for o in orgs
            ],
        )
        await conn.copy_records_to_table(
            "contacts",
            columns=[
                "id", "name", "organization_id", "sees_organization_tickets", "language",
                "timezone", "notes", "custom_fields", "is_active", "created_at", "updated_at",
            ],
            records=[
                (c["id"], c["name"], c["organization_id"], False, "ru", "UTC", "", "{}", True,
                 now, now)
                for c in contacts
            ],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "contact_identities",
            columns=["id", "contact_id", "kind", "value", "is_primary"],
            records=[(i["id"], i["contact_id"], "email", i["value"], True) for i in identities],
        )
        ctx["contacts"] = [(c["id"], c["organization_id"]) for c in contacts]
        batch: list[dict[str, Any]] = []

        async def flush() -> None:
            await conn.copy_records_to_table(
                "tickets",
                columns=[
                    "id", "number", "subject", "status", "priority", "type", "channel",
                    "requester_id", "organization_id", "group_id", "line", "assignee_id",
                    "custom_fields", "created_at", "updated_at", "first_responded_at",
                    "last_customer_message_at", "solved_at", "closed_at", "resolution",
                    "status_changed_at", "assigned_at",
                ],
                records=[
                    (t["id"], t["number"], t["subject"], t["status"], t["priority"], t["type"],
                     t["channel"], t["requester_id"], t["organization_id"], t["group_id"],
                     t["line"], t["assignee_id"], "{}", t["created_at"], t["updated_at"],
                     t["first_responded_at"], t["created_at"], t["solved_at"], t["closed_at"],
                     "{}", t["updated_at"], t["created_at"] if t["assignee_id"] else None)
                    for t in batch
                ],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "messages",
                columns=[
                    "id", "ticket_id", "visibility", "author_kind", "author_contact_id",
                    "body_text", "body_html", "channel", "delivery_state", "extra", "created_at",
                ],
                records=[
                    (t["id"], t["id"], "public", "contact", t["requester_id"], t["body"], "",
                     t["channel"], "none", "{}", t["created_at"])
                    for t in batch
                ],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "ticket_events",
                columns=[
                    "ticket_id", "kind", "actor_kind", "actor_contact_id", "old_value",
                    "new_value", "message_id", "created_at",
                ],
                records=[
                    (t["id"], "created", "contact", t["requester_id"], "null", "{}", t["id"],
                     t["created_at"])
                    for t in batch
                ],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "ticket_search",
                columns=["ticket_id", "public_terms", "all_terms"],
                records=[(t["id"], terms, terms) for t in batch for terms in [ticket_terms(t)]],
            )
            batch.clear()

        for t in ticket_rows(n, rng, ctx):
            batch.append(t)
            if len(batch) >= 20000:
                await flush()
        if batch:
            await flush()
        for table in ("organizations", "contacts", "contact_identities", "tickets", "messages",
                      "ticket_events"):  # fmt: skip
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        await conn.execute(
            "INSERT INTO counters (name, value) VALUES ('ticket_number', $1) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            n,
        )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def add_long_ticket(db: Database, ctx: dict[str, Any]) -> int:
    """A ticket with a 20-entry conversation (replies and notes), through the services."""
    from opora.auth import repository as users
    from opora.auth.service import actor_for_user
    from opora.tickets import service as tickets
    from opora.tickets.schemas import MessageCreate, TicketCreate

    async with db.unit_of_work() as s:
        user = await users.get_user(s, ctx["admin_id"])
        assert user is not None
        actor = await actor_for_user(s, user)
        ticket = await tickets.create_ticket(
            s,
            actor=actor,
            data=TicketCreate(
                subject="Долгая переписка: синхронизация сообщений",
                body="Пропадают сообщения после обновления приложения.",
                requester={"email": "customer1@mail.ru"},  # type: ignore[arg-type]
            ),
        )
        for k in range(19):
            await tickets.add_message(
                s,
                actor=actor,
                ticket_id=ticket.id,
                data=MessageCreate(
                    body=f"Сообщение {k}: проверяем очередь синхронизации, шаг {k}.",
                    visibility="internal" if k % 4 == 3 else "public",  # type: ignore[arg-type]
                ),
            )
        return ticket.id


async def prepare_database(backend: str, name: str = "") -> str:
    """A fresh database: ``bench[-name].db`` on SQLite, ``opora_bench[_name]`` on
    PostgreSQL."""
    DATA.mkdir(parents=True, exist_ok=True)
    pg_db = f"{PG_DB}_{name}" if name else PG_DB
    if backend == "sqlite":
        path = DATA / (f"bench-{name}.db" if name else "bench.db")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240 (setup, not serving)
        return f"sqlite+aiosqlite:///{path.resolve()}"
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", pg_db
        )
        await conn.execute(f"DROP DATABASE IF EXISTS {pg_db}")
        await conn.execute(f"CREATE DATABASE {pg_db}")
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{pg_db}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--organizations", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--name", default="", help="a separate database: bench-NAME.db / opora_bench_NAME"
    )
    parser.add_argument(
        "--open-only", action="store_true", help="every ticket new, open, pending or on hold"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    url = await prepare_database(args.backend, args.name)
    await runner.upgrade(url)
    db = Database(url)
    ctx = await setup_people(db, rng)
    await db.dispose()
    ctx["n_orgs"], ctx["n_contacts"] = args.organizations, args.contacts
    ctx["statuses"] = OPEN_ONLY if args.open_only else None
    if args.backend == "sqlite":
        load_sqlite(Path(url.removeprefix("sqlite+aiosqlite:///")), ctx, args.tickets, rng)
    else:
        await load_postgres(url, ctx, args.tickets, rng)
    db = Database(url)
    long_id = await add_long_ticket(db, ctx)
    await db.dispose()
    elapsed = time.perf_counter() - started
    info = {
        "backend": args.backend,
        "database_url": url,
        "token": ctx["token"],
        "tickets": args.tickets,
        "long_ticket_id": long_id,
        "group_id": ctx["groups"][0][0],
        "load_seconds": round(elapsed, 1),
    }
    info["open_only"] = args.open_only
    suffix = f"-{args.name}" if args.name else ""
    (DATA / f"{args.backend}{suffix}.json").write_text(json.dumps(info, indent=2))
    print(f"loaded {args.tickets:,} tickets into {args.backend} in {elapsed:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
