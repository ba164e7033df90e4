"""The ``opora`` command, run as a real process, as an operator would run it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

from opora.auth import service as auth_service
from opora.auth.models import User, UserSession
from opora.auth.passwords import verify_password
from opora.config import Settings
from opora.db import Database
from opora.migrations import runner
from tests.conftest import drop_pg_database, pg_url, recreate_pg_database, skip_or_fail

HEAD = ScriptDirectory.from_config(runner.alembic_config()).get_current_head()
CONSOLE_SCRIPT = Path(sys.executable).with_name("opora")
COMMAND = (
    [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [sys.executable, "-m", "opora.cli.main"]
)
ADMIN = "admin@opora.dev"


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Install:
    """One Opora installation: the environment its commands run with."""

    env: dict[str, str]
    data_dir: Path

    @property
    def database_url(self) -> str:
        return (
            self.env.get("OPORA_DATABASE_URL")
            or Settings(data_dir=self.data_dir).resolved_database_url
        )

    async def run(self, *args: str) -> Result:
        proc = await asyncio.create_subprocess_exec(
            *COMMAND,
            *args,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(60):
                out, err = await proc.communicate()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode is not None
        return Result(proc.returncode, out.decode(), err.decode())


def install_in(data_dir: Path) -> Install:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPORA_")}
    env["OPORA_DATA_DIR"] = str(data_dir)
    return Install(env=env, data_dir=data_dir)


@pytest.fixture
def fresh_sqlite(tmp_path: Path) -> Install:
    """The default installation: nothing but a data directory (not even created yet)."""
    return install_in(tmp_path / "data")


@pytest.fixture
def migrated_sqlite(tmp_path: Path, sqlite_template: Path) -> Install:
    """A SQLite installation at the migration head (a copy of the session's template)."""
    install = install_in(tmp_path / "data")
    install.data_dir.mkdir()
    shutil.copy(sqlite_template, install.data_dir / "opora.db")
    return install


@pytest_asyncio.fixture
async def fresh_install(
    backend: str, tmp_path: Path, pg_database: str | None
) -> AsyncIterator[Install]:
    """A fresh installation on either backend: SQLite in the data directory, or a new
    PostgreSQL database named by OPORA_DATABASE_URL."""
    install = install_in(tmp_path / "data")
    if backend == "sqlite":
        yield install
        return
    if pg_database is None:  # the session's database tells whether PostgreSQL is up
        skip_or_fail("PostgreSQL is unreachable")
    name = f"opora_cli_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    await recreate_pg_database(name)
    install.env["OPORA_DATABASE_URL"] = pg_url(name)
    try:
        yield install
    finally:
        await drop_pg_database(name)


async def users_with_email(install: Install, email: str) -> list[User]:
    db = Database(install.database_url)
    try:
        async with db.unit_of_work(write=False) as session:
            return list((await session.scalars(select(User).where(User.email == email))).all())
    finally:
        await db.dispose()


async def user_count(install: Install) -> int:
    db = Database(install.database_url)
    try:
        async with db.unit_of_work(write=False) as session:
            return int(await session.scalar(select(func.count()).select_from(User)) or 0)
    finally:
        await db.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def healthy(base: str, proc: asyncio.subprocess.Process, within: float = 30) -> bool:
    """Poll /healthz until it answers 200; False if the server exits or time runs out."""
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        try:
            async with asyncio.timeout(within):
                while proc.returncode is None:
                    with contextlib.suppress(httpx.TransportError):
                        if (await client.get("/healthz")).status_code == 200:
                            return True
                    await asyncio.sleep(0.1)
        except TimeoutError:
            pass
    return False


@contextlib.asynccontextmanager
async def serving(
    install: Install, log: Path
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """``opora serve`` on a free port; yields its base URL once /healthz answers 200,
    and stops it with SIGTERM at the end (killing it only if it ignores that)."""
    port = free_port()
    with log.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            *COMMAND,
            "serve",
            "--port",
            str(port),
            env=install.env,
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        if not await healthy(base, proc):
            pytest.fail(
                f"opora serve was not healthy within 30 s (exit code {proc.returncode}):\n"
                + await asyncio.to_thread(log.read_text)
            )
        yield base, proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


class TestMigrate:
    async def test_creates_the_sqlite_file_and_prints_the_revision(
        self, fresh_sqlite: Install
    ) -> None:
        result = await fresh_sqlite.run("migrate")

        assert result.code == 0, result.err
        assert (fresh_sqlite.data_dir / "opora.db").is_file()
        assert result.out.strip() == f"database at revision {HEAD}"
        assert await runner.current(fresh_sqlite.database_url) == HEAD

    async def test_creates_a_missing_postgresql_database(
        self, tmp_path: Path, pg_database: str | None
    ) -> None:
        """The issue's own command, `OPORA_DATABASE_URL=postgresql+asyncpg://…/opora opora
        serve`, must work on a server where that database does not exist yet."""
        if pg_database is None:
            skip_or_fail("PostgreSQL is unreachable")
        install = install_in(tmp_path / "data")
        name = f"opora_cli_new_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        install.env["OPORA_DATABASE_URL"] = pg_url(name)
        try:
            result = await install.run("migrate")
            assert result.code == 0, result.err
            assert "created the database" in result.err
            assert await runner.current(pg_url(name)) == HEAD
            again = await install.run("migrate")
            assert again.code == 0 and "created" not in again.err
        finally:
            await drop_pg_database(name)


class TestCreateAdmin:
    async def test_creates_an_admin_and_a_second_run_sets_the_new_password(
        self, fresh_sqlite: Install
    ) -> None:
        first = await fresh_sqlite.run("createadmin", "--email", ADMIN, "--password", "secret-pass")
        second = await fresh_sqlite.run(
            "createadmin", "--email", ADMIN, "--password", "another-secret"
        )

        assert first.code == 0, first.err
        assert first.out.startswith(f"created admin {ADMIN}")
        assert second.code == 0, second.err
        assert second.out.strip() == f"user {ADMIN} is now an admin"
        [user] = await users_with_email(fresh_sqlite, ADMIN)
        assert user.role == "admin"
        assert verify_password(user.password_hash, "another-secret")
        assert not verify_password(user.password_hash, "secret-pass")

    async def test_a_short_password_exits_non_zero_and_creates_nobody(
        self, fresh_sqlite: Install
    ) -> None:
        result = await fresh_sqlite.run("createadmin", "--email", ADMIN, "--password", "short")

        assert result.code != 0
        assert "password" in result.err and "8 characters" in result.err, result.err
        assert "Traceback" not in result.err
        assert await user_count(fresh_sqlite) == 0


class TestTokenCreate:
    async def test_an_unknown_email_exits_non_zero_with_a_message(
        self, migrated_sqlite: Install
    ) -> None:
        result = await migrated_sqlite.run("token", "create", "--email", "nobody@x.ru")

        assert result.code != 0
        assert result.out == ""
        assert "no active user or contact has the email nobody@x.ru" in result.err


async def _start_sessions(install: Install, email: str, count: int) -> None:
    db = Database(install.database_url)
    try:
        async with db.unit_of_work() as session:
            [user] = (await session.scalars(select(User).where(User.email == email))).all()
            for _ in range(count):
                await auth_service.start_session(session, user=user, ip="10.0.0.1")
    finally:
        await db.dispose()


async def _live_sessions(install: Install) -> dict[int, int]:
    db = Database(install.database_url)
    try:
        async with db.unit_of_work(write=False) as session:
            rows = await session.execute(
                select(UserSession.user_id, func.count())
                .where(UserSession.revoked_at.is_(None))
                .group_by(UserSession.user_id)
            )
            return {user_id: count for user_id, count in rows.all()}
    finally:
        await db.dispose()


class TestSessionsRevoke:
    async def test_signs_out_one_user_then_everyone(self, fresh_install: Install) -> None:
        other = "second@opora.dev"
        for email in (ADMIN, other):
            made = await fresh_install.run(
                "createadmin", "--email", email, "--password", "secret-pass"
            )
            assert made.code == 0, made.err
        await _start_sessions(fresh_install, ADMIN, 2)
        await _start_sessions(fresh_install, other, 1)
        [admin] = await users_with_email(fresh_install, ADMIN)
        [second] = await users_with_email(fresh_install, other)

        one = await fresh_install.run("sessions", "revoke", "--email", "Admin@Opora.dev")
        assert one.code == 0, one.err
        assert one.out.strip() == "signed out 2 sessions"
        assert await _live_sessions(fresh_install) == {second.id: 1}

        everyone = await fresh_install.run("sessions", "revoke", "--all")
        assert everyone.code == 0, everyone.err
        assert everyone.out.strip() == "signed out 1 session"
        assert await _live_sessions(fresh_install) == {}
        assert admin.id != second.id

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            ((), "give either --email ADDRESS or --all"),
            (("--all", "--email", ADMIN), "give either --email ADDRESS or --all"),
            (("--email", "nobody@x.ru"), "no user has the email nobody@x.ru"),
        ],
    )
    async def test_wrong_arguments_exit_non_zero_and_change_nothing(
        self, migrated_sqlite: Install, args: tuple[str, ...], message: str
    ) -> None:
        made = await migrated_sqlite.run(
            "createadmin", "--email", ADMIN, "--password", "secret-pass"
        )
        assert made.code == 0, made.err
        await _start_sessions(migrated_sqlite, ADMIN, 1)
        result = await migrated_sqlite.run("sessions", "revoke", *args)
        assert result.code == 2
        assert message in result.err and "Traceback" not in result.err
        assert sum((await _live_sessions(migrated_sqlite)).values()) == 1


class TestServe:
    async def test_tokens_from_the_cli_work_against_the_served_api(
        self, fresh_install: Install, tmp_path: Path
    ) -> None:
        created = await fresh_install.run(
            "createadmin", "--email", ADMIN, "--password", "secret-pass"
        )
        assert created.code == 0, created.err
        issued = await fresh_install.run("token", "create", "--email", ADMIN)
        assert issued.code == 0, issued.err
        admin = {"Authorization": f"Bearer {issued.out.strip()}"}
        log = tmp_path / "serve.log"

        async with (
            serving(fresh_install, log) as (base, proc),
            httpx.AsyncClient(base_url=base, timeout=10) as api,
        ):
            me = await api.get("/api/v1/users/me", headers=admin)
            assert me.status_code == 200, me.text
            assert (me.json()["email"], me.json()["role"]) == (ADMIN, "admin")

            contact = await api.post(
                "/api/v1/contacts",
                headers=admin,
                json={"name": "Carol Customer", "email": "carol@acme.ru"},
            )
            assert contact.status_code == 201, contact.text
            issued = await fresh_install.run("token", "create", "--email", "carol@acme.ru")
            assert issued.code == 0, issued.err
            customer = {"Authorization": f"Bearer {issued.out.strip()}"}

            agents_only = await api.get("/api/v1/tickets", headers=customer)
            own_tickets = await api.get("/api/v1/me/tickets", headers=customer)

            assert agents_only.status_code == 403, agents_only.text
            assert agents_only.json()["error"]["code"] == "forbidden"
            assert own_tickets.status_code == 200, own_tickets.text
            assert own_tickets.json()["items"] == []

            proc.send_signal(signal.SIGTERM)
            # uvicorn shuts down gracefully, then re-raises the signal it caught
            assert await asyncio.wait_for(proc.wait(), 15) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in await asyncio.to_thread(log.read_text)
