"""Shared fixtures: a migrated database per backend, the app, an API client, personas.

Every API and service test runs on SQLite and on PostgreSQL (the ``backend`` fixture is
parametrized). Migrations run once per test session per backend, so they are tested too.
Tests commit for real (the app's own unit of work); isolation comes from a fresh copy of
the migrated SQLite file per test, and from truncating every table after each test on
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text

from opora.app import create_app
from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.models import Group
from opora.auth.schemas import GroupCreate, UserCreate
from opora.config import Settings
from opora.contacts import service as contacts_service
from opora.contacts.schemas import ContactCreate, OrganizationCreate
from opora.db import Database
from opora.migrations import runner

PG_ADMIN_URL = os.environ.get(
    "OPORA_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PG_TEST_DB = f"opora_test_{os.getpid()}"  # one per test run: parallel runs never collide
REQUIRE_SERVICES = os.environ.get("OPORA_REQUIRE_SERVICES") == "1"


def pg_url(dbname: str = PG_TEST_DB) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{dbname}"


async def _pg_reachable() -> str | None:
    try:
        import asyncpg

        conn = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_URL), 5)
        await conn.close()
        return None
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {exc}"


async def recreate_pg_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_pg_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await conn.close()


def skip_or_fail(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (OPORA_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest_asyncio.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "opora.db"
    await runner.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest_asyncio.fixture(scope="session")
async def pg_database() -> AsyncIterator[str | None]:
    reason = await _pg_reachable()
    if reason:
        yield None
        return
    await recreate_pg_database(PG_TEST_DB)
    url = pg_url()
    await runner.upgrade(url)
    yield url
    await drop_pg_database(PG_TEST_DB)


async def truncate_all(url: str) -> None:
    """Empty every table and restart the id sequences. DELETE on these few rows is several
    times faster than TRUNCATE, which makes new files for every table and index."""
    from opora.migrations.models import metadata

    db = Database(url)
    try:
        async with db.write_engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
            await conn.execute(
                text("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'")
            )
    finally:
        await db.dispose()


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with test-sized parameters: real hashes that verify, but milliseconds to make
    instead of a noticeable fraction of a second per persona, per test."""
    from argon2 import PasswordHasher

    from opora.auth import passwords

    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    )


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture
async def database_url(
    backend: str, tmp_path: Path, sqlite_template: Path, pg_database: str | None
) -> AsyncIterator[str]:
    if backend == "sqlite":
        target = tmp_path / "opora.db"
        shutil.copy(sqlite_template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    if pg_database is None:
        skip_or_fail("PostgreSQL is unreachable")
    assert pg_database is not None
    try:
        yield pg_database
    finally:
        await truncate_all(pg_database)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        run_worker_in_process=False,
        max_attachment_bytes=1024 * 1024,
    )


@pytest_asyncio.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings, run_worker=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture
async def db(app: Any) -> Database:
    return app.state.db  # type: ignore[no-any-return]


@pytest_asyncio.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://opora.test") as c:
        yield c


@dataclass
class Persona:
    name: str
    token: str
    id: int
    kind: str  # "user" or "contact"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Company:
    """alice (admin), lena (L1 agent), igor (L2 agent), carol (customer of Acme),
    dave (Acme customer who may see Acme's tickets), erin (customer of Globex)."""

    admin: Persona
    l1_agent: Persona
    l2_agent: Persona
    customer: Persona
    same_org_customer: Persona
    other_org_customer: Persona
    l1_group_id: int
    l2_group_id: int
    l3_group_id: int
    acme_id: int
    globex_id: int
    extra: dict[str, Any] = field(default_factory=dict)

    def all(self) -> list[Persona]:
        return [
            self.admin,
            self.l1_agent,
            self.l2_agent,
            self.customer,
            self.same_org_customer,
            self.other_org_customer,
        ]


async def build_company(db: Database) -> Company:
    actor = system_actor("tests")
    async with db.unit_of_work() as s:
        groups = [
            await auth_service.create_group(s, actor=actor, data=GroupCreate(name=n, line=line))
            for n, line in (("L1 Support", 1), ("L2 Specialists", 2), ("L3 Engineering", 3))
        ]
        l1, l2, l3 = groups
        admin = await auth_service.create_user(
            s, actor=actor,
            data=UserCreate(email="alice@opora.dev", name="Alice Admin", role="admin",
                            password="alice-secret"),
        )  # fmt: skip
        lena = await auth_service.create_user(
            s, actor=actor,
            data=UserCreate(email="lena@opora.dev", name="Lena L1", group_ids=[l1.id]),
        )  # fmt: skip
        igor = await auth_service.create_user(
            s, actor=actor,
            data=UserCreate(email="igor@opora.dev", name="Igor L2", group_ids=[l2.id]),
        )  # fmt: skip
        acme = await contacts_service.create_organization(
            s, actor=actor, data=OrganizationCreate(name="Acme", domains=["acme.ru"])
        )
        globex = await contacts_service.create_organization(
            s, actor=actor, data=OrganizationCreate(name="Globex", domains=["globex.com"])
        )
        carol = await contacts_service.create_contact(
            s, actor=actor,
            data=ContactCreate(name="Carol Customer", email="carol@acme.ru",
                               organization_id=acme.id),
        )  # fmt: skip
        dave = await contacts_service.create_contact(
            s, actor=actor,
            data=ContactCreate(name="Dave Colleague", email="dave@acme.ru",
                               organization_id=acme.id, sees_organization_tickets=True),
        )  # fmt: skip
        erin = await contacts_service.create_contact(
            s, actor=actor,
            data=ContactCreate(name="Erin Other", email="erin@globex.com",
                               organization_id=globex.id),
        )  # fmt: skip
        personas = {}
        for name, uid in (("alice", admin.id), ("lena", lena.id), ("igor", igor.id)):
            _, raw = await auth_service.create_token(s, user_id=uid)
            personas[name] = Persona(name, raw, uid, "user")
        for name, cid in (("carol", carol.id), ("dave", dave.id), ("erin", erin.id)):
            _, raw = await auth_service.create_token(s, contact_id=cid)
            personas[name] = Persona(name, raw, cid, "contact")
        assert isinstance(l1, Group)
    return Company(
        admin=personas["alice"],
        l1_agent=personas["lena"],
        l2_agent=personas["igor"],
        customer=personas["carol"],
        same_org_customer=personas["dave"],
        other_org_customer=personas["erin"],
        l1_group_id=l1.id,
        l2_group_id=l2.id,
        l3_group_id=l3.id,
        acme_id=acme.id,
        globex_id=globex.id,
    )


@pytest_asyncio.fixture
async def company(db: Database) -> Company:
    return await build_company(db)
