"""The sign-in and password-reset limits (auth.service, ``login_attempts``) through the
pages, and the job that prunes old attempts and ended sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import func, select, update

from opora.auth import service as auth_service
from opora.auth.jobs import PRUNE_SIGN_INS
from opora.auth.models import LoginAttempt, User, UserSession
from opora.config import Settings
from opora.db import Database
from opora.jobs.models import Job, JobStatus
from opora.jobs.service import enqueue
from opora.jobs.worker import Worker
from opora.kit.time import utcnow
from tests.conftest import Company
from tests.web.helpers import page_csrf, sign_in

ALICE = ("alice@opora.dev", "alice-secret")
BLOCKED = "Too many failed attempts. Try again in 15 minutes."


@pytest_asyncio.fixture
async def far_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A browser at another client address."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://opora.test") as c:
        yield c


async def _attempt_keys(db: Database) -> list[str]:
    async with db.unit_of_work(write=False) as s:
        return sorted((await s.execute(select(LoginAttempt.key))).scalars())


async def _fail(client: httpx.AsyncClient, email: str, times: int) -> None:
    for _ in range(times):
        r = await sign_in(client, email, "wrong-password")
        assert r.status_code == 400, r.text


class TestSignInLimit:
    async def test_after_five_failures_even_the_right_password_is_refused(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await _fail(client, "alice@opora.dev", 5)
        r = await sign_in(client, " Alice@Opora.dev ", ALICE[1], next_path="/account")
        assert r.status_code == 429
        assert BLOCKED in r.text
        assert 'value="Alice@Opora.dev"' in r.text
        assert (await client.get("/account")).status_code == 303  # not signed in
        async with db.unit_of_work(write=False) as s:
            started = (await s.execute(select(func.count()).select_from(UserSession))).scalar()
        assert started == 0

    async def test_a_refusal_checks_no_password_and_records_nothing(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await _fail(client, "alice@opora.dev", 5)
        before = await _attempt_keys(db)
        assert before.count("email:alice@opora.dev") == 5
        r = await sign_in(client, "alice@opora.dev", "wrong-again")
        assert r.status_code == 429
        assert await _attempt_keys(db) == before

    async def test_the_wait_shrinks_as_the_failures_age(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await _fail(client, "alice@opora.dev", 5)
        async with db.unit_of_work() as s:
            await s.execute(
                update(LoginAttempt).values(attempted_at=utcnow() - timedelta(minutes=13))
            )
        r = await sign_in(client, *ALICE)
        assert r.status_code == 429
        assert "Too many failed attempts. Try again in 2 minutes." in r.text
        async with db.unit_of_work() as s:
            await s.execute(
                update(LoginAttempt).values(attempted_at=utcnow() - timedelta(minutes=16))
            )
        assert (await sign_in(client, *ALICE)).status_code == 303

    async def test_another_email_is_not_affected(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await _fail(client, "lena@opora.dev", 5)
        assert (await sign_in(client, "lena@opora.dev", "x")).status_code == 429
        assert (await sign_in(client, *ALICE)).status_code == 303

    async def test_four_failures_then_success_clears_the_emails_count(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await _fail(client, "alice@opora.dev", 4)
        assert (await sign_in(client, *ALICE)).status_code == 303
        keys = await _attempt_keys(db)
        assert "email:alice@opora.dev" not in keys
        assert keys.count("ip:127.0.0.1") == 4  # the client address keeps its count
        client.cookies.clear()
        await _fail(client, "alice@opora.dev", 4)
        assert (await sign_in(client, *ALICE)).status_code == 303

    async def test_thirty_failures_from_one_address_block_it_for_every_email(
        self,
        client: httpx.AsyncClient,
        far_client: httpx.AsyncClient,
        db: Database,
        company: Company,
    ) -> None:
        async with db.unit_of_work() as s:
            for n in range(auth_service.SIGN_IN_IP_LIMIT - 1):
                await auth_service.record_failed_sign_in(
                    s, email=f"guess{n}@opora.dev", ip="127.0.0.1"
                )
        await _fail(client, "someone@opora.dev", 1)  # the thirtieth
        r = await sign_in(client, *ALICE)
        assert r.status_code == 429 and BLOCKED in r.text
        assert (await sign_in(far_client, *ALICE)).status_code == 303  # another address

    async def test_the_limits_are_the_documented_ones(self) -> None:
        assert auth_service.SIGN_IN_EMAIL_LIMIT == 5
        assert auth_service.SIGN_IN_IP_LIMIT == 30
        assert timedelta(minutes=15) == auth_service.SIGN_IN_WINDOW


async def _ask(client: httpx.AsyncClient, email: str) -> httpx.Response:
    token = await page_csrf(client, "/password/forgot")
    return await client.post("/password/forgot", data={"csrf_token": token, "email": email})


async def _reset_emails(db: Database) -> int:
    async with db.unit_of_work(write=False) as s:
        query = select(func.count()).where(Job.name == "notifications.send_email")
        return int((await s.execute(query)).scalar_one())


class TestResetRequestLimit:
    async def test_known_and_unknown_addresses_are_limited_alike(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        for email in ("alice@opora.dev", "nobody@opora.dev"):
            for _ in range(auth_service.RESET_REQUEST_EMAIL_LIMIT):
                assert (await _ask(client, email)).status_code == 200
        known = await _ask(client, "alice@opora.dev")
        unknown = await _ask(client, "nobody@opora.dev")
        assert known.status_code == unknown.status_code == 429
        message = "Too many requests for a new password. Try again in 60 minutes."
        assert message in known.text and message in unknown.text
        assert 'value="nobody@opora.dev"' in unknown.text
        assert known.text.replace("alice@opora.dev", "X") == unknown.text.replace(
            "nobody@opora.dev", "X"
        )
        # the per-user email limit (3 an hour) still holds underneath
        assert await _reset_emails(db) == auth_service.PASSWORD_RESET_LIMIT

    async def test_another_address_may_still_ask(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        for _ in range(auth_service.RESET_REQUEST_EMAIL_LIMIT):
            await _ask(client, "nobody@opora.dev")
        assert (await _ask(client, "nobody@opora.dev")).status_code == 429
        assert (await _ask(client, "alice@opora.dev")).status_code == 200
        assert await _reset_emails(db) == 1

    async def test_one_client_address_is_limited_across_emails(
        self, client: httpx.AsyncClient, far_client: httpx.AsyncClient, company: Company
    ) -> None:
        for n in range(auth_service.RESET_REQUEST_IP_LIMIT):
            assert (await _ask(client, f"x{n}@opora.dev")).status_code == 200
        assert (await _ask(client, "fresh@opora.dev")).status_code == 429
        assert (await _ask(far_client, "fresh@opora.dev")).status_code == 200


class TestPruneJob:
    async def test_old_attempts_and_long_ended_sessions_are_deleted(
        self, client: httpx.AsyncClient, db: Database, settings: Settings, company: Company
    ) -> None:
        await _fail(client, "lena@opora.dev", 2)
        await _fail(client, "alice@opora.dev", 1)
        await sign_in(client, *ALICE)  # a live session; alice's failure is cleared
        now = utcnow()
        old = now - auth_service.ATTEMPTS_KEEP - timedelta(minutes=1)
        ended = now - auth_service.SESSION_KEEP_ENDED - timedelta(days=1)
        expired = ended - auth_service.SESSION_MAX_AGE
        async with db.unit_of_work() as s:
            await s.execute(
                update(LoginAttempt)
                .where(LoginAttempt.key == "email:lena@opora.dev")
                .values(attempted_at=old)
            )
            admin = await s.get_one(User, company.admin.id)
            long_revoked, _ = await auth_service.start_session(s, user=admin, now=ended)
            long_revoked.revoked_at = ended
            long_expired, _ = await auth_service.start_session(s, user=admin, now=expired)
            recently_revoked, _ = await auth_service.start_session(s, user=admin)
            recently_revoked.revoked_at = now - timedelta(days=2)
            await s.flush()
            kept = {recently_revoked.id}
            gone = {long_revoked.id, long_expired.id}
            await enqueue(s, PRUNE_SIGN_INS)
        assert await Worker(db, settings, periodic=False).run_once() == 1
        async with db.unit_of_work(write=False) as s:
            jobs = (await s.execute(select(Job.status).where(Job.name == PRUNE_SIGN_INS))).all()
            ids = set((await s.execute(select(UserSession.id))).scalars())
        assert [status for (status,) in jobs] == [JobStatus.DONE]
        assert await _attempt_keys(db) == ["ip:127.0.0.1"] * 3  # lena's old one is gone
        assert kept <= ids and not gone & ids
        assert len(ids) == 2  # the live one and the recently revoked one
        assert (await client.get("/account")).status_code == 200
