"""The session cookie and secret (src/opora/web/sessions.py), the server-side sessions
(``user_sessions``) behind it, and the safe ``next`` rule."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import itsdangerous
import pytest
from sqlalchemy import event, select, update

from opora.app import create_app
from opora.auth import service as auth_service
from opora.auth.models import UserSession
from opora.config import SECRET_FILE, Settings, load_secret_key
from opora.db import Database
from opora.kit.time import utcnow
from opora.web.page_auth import safe_next
from opora.web.sessions import COOKIE_NAME
from tests.conftest import Company
from tests.web.helpers import csrf_of, page_csrf, set_password, sign_in


class TestSecretKey:
    def test_is_created_once_private_and_reused(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path / "data")
        first = load_secret_key(settings)
        path = tmp_path / "data" / SECRET_FILE
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(first) >= 32
        assert load_secret_key(Settings(data_dir=tmp_path / "data")) == first
        assert [p.name for p in path.parent.iterdir()] == [SECRET_FILE]  # no temp files left

    def test_a_configured_key_wins_and_writes_no_file(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path / "data", secret_key="k" * 40)
        assert load_secret_key(settings) == "k" * 40
        assert not (tmp_path / "data" / SECRET_FILE).exists()

    def test_an_unusable_file_is_an_error(self, tmp_path: Path) -> None:
        (tmp_path / SECRET_FILE).write_text("short\n")
        with pytest.raises(RuntimeError, match="no usable key"):
            load_secret_key(Settings(data_dir=tmp_path))

    async def test_a_session_survives_a_restart(
        self, app: Any, settings: Settings, client: httpx.AsyncClient, company: Company
    ) -> None:
        await sign_in(client, "alice@opora.dev", "alice-secret")
        restarted = create_app(settings, run_worker=False)
        async with restarted.router.lifespan_context(restarted):
            transport = httpx.ASGITransport(app=restarted)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://opora.test", cookies=client.cookies
            ) as again:
                assert (await again.get("/account")).status_code == 200

    async def test_cookie_secure_sets_the_flag(self, settings: Settings, company: Company) -> None:
        secure = create_app(settings.model_copy(update={"cookie_secure": True}), run_worker=False)
        async with secure.router.lifespan_context(secure):
            transport = httpx.ASGITransport(app=secure)
            async with httpx.AsyncClient(transport=transport, base_url="https://opora.test") as c:
                r = await c.get("/login")
                assert "; secure" in r.headers["set-cookie"].lower()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/account", "/account"),
        ("/tickets?view=3&page=2", "/tickets?view=3&page=2"),
        ("", "/"),
        (None, "/"),
        ("//evil.com", "/"),
        ("///evil.com", "/"),
        ("/\\evil.com", "/"),
        ("/ok\\evil", "/"),
        ("https://evil.com", "/"),
        ("evil.com/x", "/"),
        ("javascript:alert(1)", "/"),
        ("/a\r\nSet-Cookie: x=1", "/"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


# -- server-side sessions (user_sessions) ------------------------------------------------

ALICE = ("alice@opora.dev", "alice-secret")


async def _sessions_of(db: Database, user_id: int) -> list[UserSession]:
    async with db.unit_of_work(write=False) as s:
        rows = await s.execute(
            select(UserSession).where(UserSession.user_id == user_id).order_by(UserSession.id)
        )
        return list(rows.scalars())


def _revoke_buttons(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'id="revoke-session-(\d+)"', html)]


class TestServerSessions:
    async def test_signing_in_stores_only_a_hash_and_the_cookie_holds_no_user_id(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        r = await sign_in(client, *ALICE)
        assert r.status_code == 303
        rows = await _sessions_of(db, company.admin.id)
        assert len(rows) == 1 and rows[0].revoked_at is None
        assert rows[0].ip == "127.0.0.1"
        cookie = client.cookies[COOKIE_NAME]
        payload = json.loads(base64.b64decode(cookie.split(".")[0]))
        assert set(payload) == {"sid", "csrf"}
        assert hashlib.sha256(payload["sid"].encode()).hexdigest() == rows[0].token_hash

    async def test_the_account_page_lists_the_browsers_and_marks_this_one(
        self,
        client: httpx.AsyncClient,
        other_client: httpx.AsyncClient,
        db: Database,
        company: Company,
    ) -> None:
        firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
        other_client.headers["user-agent"] = firefox
        await sign_in(other_client, *ALICE)
        await sign_in(client, *ALICE)
        page = await client.get("/account")
        assert page.status_code == 200
        mine, theirs = (await _sessions_of(db, company.admin.id))[::-1]
        assert _revoke_buttons(page.text) == [mine.id, theirs.id]
        row = page.text.split(f'id="session-{theirs.id}"')[1].split("</tr>")[0]
        assert "Firefox on Windows" in row and "this browser" not in row
        row = page.text.split(f'id="session-{mine.id}"')[1].split("</tr>")[0]
        assert "this browser" in row
        assert 'id="revoke-other-sessions"' in page.text

    async def test_revoking_one_session_signs_that_browser_out_at_once(
        self,
        client: httpx.AsyncClient,
        other_client: httpx.AsyncClient,
        db: Database,
        company: Company,
    ) -> None:
        await sign_in(other_client, *ALICE)
        await sign_in(client, *ALICE)
        theirs = (await _sessions_of(db, company.admin.id))[0]
        csrf = await page_csrf(client, "/account")
        r = await client.post(f"/account/sessions/{theirs.id}/revoke", data={"csrf_token": csrf})
        assert r.status_code == 303 and r.headers["location"].startswith("/account?saved=")
        assert (await other_client.get("/account")).status_code == 303
        page = await client.get("/account?saved=signed_out")
        assert page.status_code == 200 and "That browser is signed out." in page.text
        assert theirs.id not in _revoke_buttons(page.text)

    async def test_revoking_this_session_leads_to_sign_in(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        mine = (await _sessions_of(db, company.admin.id))[0]
        csrf = await page_csrf(client, "/account")
        r = await client.post(f"/account/sessions/{mine.id}/revoke", data={"csrf_token": csrf})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert (await client.get("/account")).status_code == 303

    async def test_another_users_session_cannot_be_revoked(
        self,
        client: httpx.AsyncClient,
        other_client: httpx.AsyncClient,
        db: Database,
        company: Company,
    ) -> None:
        await set_password(db, company.l1_agent.id, "lena-secret")
        await sign_in(other_client, *ALICE)
        await sign_in(client, "lena@opora.dev", "lena-secret")
        alices = (await _sessions_of(db, company.admin.id))[0]
        csrf = await page_csrf(client, "/account")
        r = await client.post(f"/account/sessions/{alices.id}/revoke", data={"csrf_token": csrf})
        assert r.status_code == 404
        assert "That session has already ended." in r.text
        assert (await other_client.get("/account")).status_code == 200

    async def test_sign_out_all_other_sessions_keeps_this_one(
        self,
        client: httpx.AsyncClient,
        other_client: httpx.AsyncClient,
        db: Database,
        company: Company,
    ) -> None:
        await sign_in(other_client, *ALICE)
        await sign_in(client, *ALICE)
        csrf = await page_csrf(client, "/account")
        r = await client.post("/account/sessions/revoke-others", data={"csrf_token": csrf})
        assert r.status_code == 303
        assert (await other_client.get("/account")).status_code == 303
        assert (await client.get("/account")).status_code == 200
        rows = await _sessions_of(db, company.admin.id)
        assert [row.revoked_at is None for row in rows] == [False, True]

    async def test_sign_out_revokes_the_row(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        stolen = client.cookies[COOKIE_NAME]
        await client.post("/logout", data={"csrf_token": await page_csrf(client, "/account")})
        (row,) = await _sessions_of(db, company.admin.id)
        assert row.revoked_at is not None
        client.cookies.set(COOKIE_NAME, stolen)  # a copy of the old cookie is worth nothing
        assert (await client.get("/account")).status_code == 303

    async def test_a_password_change_revokes_the_other_sessions_only(
        self,
        client: httpx.AsyncClient,
        other_client: httpx.AsyncClient,
        db: Database,
        company: Company,
    ) -> None:
        await sign_in(other_client, *ALICE)
        await sign_in(client, *ALICE)
        csrf = await page_csrf(client, "/account")
        r = await client.post(
            "/account/password",
            data={
                "csrf_token": csrf,
                "current_password": ALICE[1],
                "new_password": "brand-new-secret",
                "new_password_repeat": "brand-new-secret",
            },
        )
        assert r.status_code == 303
        assert (await client.get("/account")).status_code == 200
        assert (await other_client.get("/account")).status_code == 303
        rows = await _sessions_of(db, company.admin.id)
        assert [row.revoked_at is None for row in rows] == [False, True]

    async def test_an_admin_signs_a_user_out_everywhere(
        self,
        client: httpx.AsyncClient,
        other_client: httpx.AsyncClient,
        db: Database,
        company: Company,
    ) -> None:
        await set_password(db, company.l1_agent.id, "lena-secret")
        await sign_in(other_client, "lena@opora.dev", "lena-secret")
        await sign_in(client, *ALICE)
        page = await client.get(f"/admin/users/{company.l1_agent.id}")
        assert "Active sessions: 1" in page.text and 'id="sign-out-everywhere"' in page.text
        r = await client.post(
            f"/admin/users/{company.l1_agent.id}/sessions/revoke",
            data={"csrf_token": csrf_of(page.text)},
        )
        assert r.status_code == 303
        assert (await other_client.get("/account")).status_code == 303
        page = await client.get(r.headers["location"])
        assert "Signed out everywhere." in page.text and "Active sessions: 0" in page.text
        assert (await client.get("/account")).status_code == 200  # the admin stays

    async def test_an_agent_cannot_sign_out_others(
        self,
        client: httpx.AsyncClient,
        other_client: httpx.AsyncClient,
        db: Database,
        company: Company,
    ) -> None:
        await set_password(db, company.l1_agent.id, "lena-secret")
        await sign_in(other_client, *ALICE)
        await sign_in(client, "lena@opora.dev", "lena-secret")
        csrf = await page_csrf(client, "/account")
        r = await client.post(
            f"/admin/users/{company.admin.id}/sessions/revoke", data={"csrf_token": csrf}
        )
        assert r.status_code == 403
        assert (await other_client.get("/account")).status_code == 200

    async def test_deactivation_revokes_every_session(
        self,
        client: httpx.AsyncClient,
        other_client: httpx.AsyncClient,
        db: Database,
        company: Company,
    ) -> None:
        await set_password(db, company.l1_agent.id, "lena-secret")
        await sign_in(other_client, "lena@opora.dev", "lena-secret")
        await sign_in(client, *ALICE)
        page = await client.get(f"/admin/users/{company.l1_agent.id}")
        r = await client.post(
            f"/admin/users/{company.l1_agent.id}",
            data={"csrf_token": csrf_of(page.text), "role": "agent", "ticket_access": "all"},
        )
        assert r.status_code == 303
        assert (await other_client.get("/account")).status_code == 303
        rows = await _sessions_of(db, company.l1_agent.id)
        assert rows and all(row.revoked_at is not None for row in rows)

    async def test_a_forged_or_unknown_sid_leads_to_sign_in(
        self, app: Any, client: httpx.AsyncClient, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        signer = itsdangerous.TimestampSigner(app.state.secret_key)
        for sid in ("no-such-session", "x" * 500, 7):
            data = base64.b64encode(json.dumps({"sid": sid, "csrf": "c"}).encode())
            client.cookies.set(COOKIE_NAME, signer.sign(data).decode())
            r = await client.get("/account")
            assert r.status_code == 303 and r.headers["location"] == "/login?next=/account"

    async def test_a_session_past_its_max_age_ends(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        old = utcnow() - auth_service.SESSION_MAX_AGE - timedelta(minutes=1)
        async with db.unit_of_work() as s:
            await s.execute(update(UserSession).values(created_at=old, last_seen_at=old))
        assert (await client.get("/account")).status_code == 303

    async def test_last_seen_is_written_at_most_once_per_interval(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        every = auth_service.SESSION_TOUCH_EVERY

        async def last_seen_back(by: timedelta) -> datetime:
            at = utcnow() - by
            async with db.unit_of_work() as s:
                await s.execute(update(UserSession).values(last_seen_at=at))
            return at

        recent = await last_seen_back(every - timedelta(minutes=1))
        assert (await client.get("/account")).status_code == 200
        (row,) = await _sessions_of(db, company.admin.id)
        assert row.last_seen_at == recent  # not written: seen less than the interval ago

        stale = await last_seen_back(every + timedelta(minutes=1))
        assert (await client.get("/account")).status_code == 200
        (row,) = await _sessions_of(db, company.admin.id)
        assert row.last_seen_at > stale + every  # written: about now

    async def test_a_page_view_costs_one_query_for_the_session(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        statements: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if "user_sessions" in statement:
                statements.append(statement)

        engines = {db.read_engine.sync_engine, db.write_engine.sync_engine}
        for engine in engines:
            event.listen(engine, "before_cursor_execute", count)
        try:
            assert (await client.get("/")).status_code == 303
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", count)
        assert len(statements) == 1
        assert "JOIN users" in statements[0]
