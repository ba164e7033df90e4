"""Password reset by email link: request → outbox → real SMTP server → link → new password."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio

from opora.auth import cache as actor_cache
from opora.auth import repository
from opora.auth import service as auth_service
from opora.auth.actor import Actor, ActorKind, system_actor
from opora.auth.models import User
from opora.auth.passwords import verify_password
from opora.auth.schemas import UserCreate, UserUpdate
from opora.config import Settings
from opora.contacts import service as contacts_service
from opora.contacts.schemas import ContactCreate
from opora.db import Database
from opora.errors import InvalidInput
from opora.jobs.service import list_jobs
from opora.jobs.worker import Worker
from opora.kit.time import utcnow
from opora.notifications.service import SEND_EMAIL
from tests.notifications.smtp import Received, SmtpServer, running_smtp_server

SECRET = "test-secret-for-reset-tokens-0123456789"
LINK = re.compile(r"http://opora\.test/password/reset\?token=([A-Za-z0-9_.\-]+)")


@pytest_asyncio.fixture
async def smtp_server() -> AsyncIterator[SmtpServer]:
    async with running_smtp_server() as server:
        yield server


@pytest_asyncio.fixture
async def mail_worker(db: Database, settings: Settings, smtp_server: SmtpServer) -> Worker:
    mail_settings = settings.model_copy(
        update={"smtp_host": smtp_server.host, "smtp_port": smtp_server.port}
    )
    return Worker(db, mail_settings, name="mail-worker", periodic=False)


async def make_user(db: Database, email: str, name: str, language: str, **extra: object) -> int:
    async with db.unit_of_work() as s:
        user = await auth_service.create_user(
            s,
            actor=system_actor("tests"),
            data=UserCreate(
                email=email, name=name, language=language, password="old-password", **extra
            ),
        )
    return user.id


@pytest_asyncio.fixture
async def maria(db: Database) -> int:
    return await make_user(db, "maria@opora.dev", "Мария Иванова", "ru")


@pytest_asyncio.fixture
async def john(db: Database) -> int:
    return await make_user(db, "john@opora.dev", "John Smith", "en")


async def request_reset(db: Database, email: str, **kw: object) -> None:
    async with db.unit_of_work() as s:
        await auth_service.request_password_reset(
            s,
            email=email,
            base_url="http://opora.test/",
            secret=SECRET,
            **kw,  # type: ignore[arg-type]
        )


async def reset(db: Database, token: str, password: str, **kw: object) -> User:
    async with db.unit_of_work() as s:
        return await auth_service.reset_password(
            s,
            token=token,
            password=password,
            secret=SECRET,
            **kw,  # type: ignore[arg-type]
        )


async def load_user(db: Database, user_id: int) -> User:
    async with db.unit_of_work(write=False) as s:
        user = await repository.get_user(s, user_id)
    assert user is not None
    return user


async def queued_emails(db: Database) -> int:
    async with db.unit_of_work(write=False) as s:
        return len(await list_jobs(s, name=SEND_EMAIL))


def token_in(received: Received) -> str:
    text_links = LINK.findall(received.body("plain"))
    html_links = LINK.findall(received.body("html"))
    assert len(text_links) == 1 and html_links, "one link in the text, the same in the HTML"
    assert set(html_links) == set(text_links)
    return str(text_links[0])


async def deliver_one(worker: Worker, smtp_server: SmtpServer) -> Received:
    assert await worker.run_once() == 1
    assert len(smtp_server.messages) == 1
    return smtp_server.messages[-1]


async def password_is(db: Database, user_id: int, password: str) -> bool:
    return verify_password((await load_user(db, user_id)).password_hash, password)


class TestRequestPasswordReset:
    async def test_a_russian_user_gets_a_russian_email_whose_link_resets_the_password_once(
        self, db: Database, maria: int, mail_worker: Worker, smtp_server: SmtpServer
    ) -> None:
        await request_reset(db, "maria@opora.dev")
        received = await deliver_one(mail_worker, smtp_server)

        assert received.rcpt_tos == ["maria@opora.dev"]
        assert b"=?utf-8?" in received.raw.split(b"\r\n\r\n", 1)[0]
        msg = received.message
        assert msg["Subject"] == "Сброс пароля в Opora"
        assert msg["To"] == "Мария Иванова <maria@opora.dev>"
        assert msg["Auto-Submitted"] == "auto-generated"
        assert "Здравствуйте, Мария Иванова!" in received.body("plain")
        token = token_in(received)

        user = await reset(db, token, "new-password-1")
        assert user.id == maria
        assert await password_is(db, maria, "new-password-1")
        assert not await password_is(db, maria, "old-password")

        with pytest.raises(InvalidInput) as used:
            await reset(db, token, "another-password")
        assert (used.value.status_code, used.value.field) == (422, "token")
        assert await password_is(db, maria, "new-password-1")

    async def test_an_english_user_gets_an_english_email(
        self, db: Database, john: int, mail_worker: Worker, smtp_server: SmtpServer
    ) -> None:
        await request_reset(db, "  John@Opora.DEV ")
        received = await deliver_one(mail_worker, smtp_server)
        assert received.rcpt_tos == ["john@opora.dev"]
        assert received.message["Subject"] == "Reset your Opora password"
        assert "Hello John Smith," in received.body("plain")
        token_in(received)

    async def test_an_unknown_email_a_contact_or_an_inactive_user_gets_nothing(
        self, db: Database, john: int, mail_worker: Worker, smtp_server: SmtpServer
    ) -> None:
        async with db.unit_of_work() as s:
            await contacts_service.create_contact(
                s,
                actor=system_actor("tests"),
                data=ContactCreate(name="Carol Customer", email="carol@acme.ru"),
            )
            await auth_service.deactivate_user(s, actor=system_actor("tests"), user_id=john)
        for email in ("nobody@opora.dev", "carol@acme.ru", "john@opora.dev", "", "not-an-email"):
            await request_reset(db, email)  # no error: the same outcome as for a user
        assert await queued_emails(db) == 0
        assert await mail_worker.run_once() == 0
        assert smtp_server.messages == []

    async def test_at_most_three_emails_per_user_per_hour(self, db: Database, maria: int) -> None:
        now = utcnow()
        for minutes in (0, 10, 20, 30, 40):
            await request_reset(db, "maria@opora.dev", now=now + timedelta(minutes=minutes))
        assert await queued_emails(db) == 3
        # an hour after the first one, one more may go
        await request_reset(db, "maria@opora.dev", now=now + timedelta(minutes=61))
        assert await queued_emails(db) == 4
        await request_reset(db, "maria@opora.dev", now=now + timedelta(minutes=62))
        assert await queued_emails(db) == 4

    async def test_the_limit_holds_for_concurrent_requests(self, db: Database, maria: int) -> None:
        await asyncio.gather(*(request_reset(db, "maria@opora.dev") for _ in range(6)))
        assert await queued_emails(db) == 3

    async def test_the_limit_is_per_user(self, db: Database, maria: int, john: int) -> None:
        for _ in range(4):
            await request_reset(db, "maria@opora.dev")
        await request_reset(db, "john@opora.dev")
        assert await queued_emails(db) == 4


class TestResetPassword:
    async def token_for(self, db: Database, user_id: int, **kw: object) -> str:
        return auth_service.make_password_reset_token(
            await load_user(db, user_id),
            secret=SECRET,
            **kw,  # type: ignore[arg-type]
        )

    async def test_a_token_works_for_an_hour(self, db: Database, maria: int) -> None:
        fresh_enough = await self.token_for(db, maria, now=utcnow() - timedelta(minutes=59))
        await reset(db, fresh_enough, "new-password-1")
        assert await password_is(db, maria, "new-password-1")

    async def test_an_expired_token_is_refused(self, db: Database, maria: int) -> None:
        expired = await self.token_for(db, maria, now=utcnow() - timedelta(minutes=61))
        with pytest.raises(InvalidInput) as exc:
            await reset(db, expired, "new-password-1")
        assert (exc.value.status_code, exc.value.field) == (422, "token")
        assert await password_is(db, maria, "old-password")

    async def test_the_clock_can_be_controlled_on_checking_too(
        self, db: Database, maria: int
    ) -> None:
        token = await self.token_for(db, maria)
        with pytest.raises(InvalidInput):
            await reset(db, token, "new-password-1", now=utcnow() + timedelta(minutes=61))
        await reset(db, token, "new-password-1", now=utcnow() + timedelta(minutes=59))

    @pytest.mark.parametrize(
        "mangle",
        [
            lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # bad signature
            lambda t: "garbage",
            lambda t: "",
            lambda t: t + "x" * 2000,
        ],
    )
    async def test_a_tampered_or_garbage_token_is_refused(
        self, db: Database, maria: int, mangle: object
    ) -> None:
        token = await self.token_for(db, maria)
        with pytest.raises(InvalidInput) as exc:
            await reset(db, mangle(token), "new-password-1")  # type: ignore[operator]
        assert exc.value.field == "token"

    async def test_a_token_signed_with_another_secret_is_refused(
        self, db: Database, maria: int
    ) -> None:
        token = auth_service.make_password_reset_token(
            await load_user(db, maria), secret="some-other-secret"
        )
        with pytest.raises(InvalidInput) as exc:
            await reset(db, token, "new-password-1")
        assert exc.value.field == "token"

    async def test_a_password_change_or_deactivation_kills_outstanding_tokens(
        self, db: Database, maria: int, john: int
    ) -> None:
        maria_token = await self.token_for(db, maria)
        john_token = await self.token_for(db, john)
        me = Actor(kind=ActorKind.USER, id=maria, name="Мария Иванова", role="agent")
        async with db.unit_of_work() as s:
            await auth_service.update_user(
                s, actor=me, user_id=maria, data=UserUpdate(password="changed-myself")
            )
            await auth_service.deactivate_user(s, actor=system_actor("tests"), user_id=john)
        for token in (maria_token, john_token):
            with pytest.raises(InvalidInput) as exc:
                await reset(db, token, "new-password-1")
            assert exc.value.field == "token"

    @pytest.mark.parametrize("password", ["short", "x" * 201])
    async def test_a_password_outside_the_policy_changes_nothing(
        self, db: Database, maria: int, password: str
    ) -> None:
        token = await self.token_for(db, maria)
        with pytest.raises(InvalidInput) as exc:
            await reset(db, token, password)
        assert (exc.value.status_code, exc.value.field) == (422, "password")
        assert await password_is(db, maria, "old-password")
        await reset(db, token, "long-enough")  # the token was not used up
        assert await password_is(db, maria, "long-enough")

    async def test_a_reset_clears_the_actor_cache(self, db: Database, maria: int) -> None:
        me = Actor(kind=ActorKind.USER, id=maria, name="Мария Иванова", role="agent")
        actor_cache.put("some-token-hash", me)
        await reset(db, await self.token_for(db, maria), "new-password-1")
        assert actor_cache.get("some-token-hash") is None
