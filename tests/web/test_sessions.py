"""The session secret (src/opora/web/sessions.py) and the safe ``next`` rule."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from opora.app import create_app
from opora.config import Settings
from opora.web.page_auth import safe_next
from opora.web.sessions import SECRET_FILE, load_secret_key
from tests.conftest import Company
from tests.web.helpers import sign_in


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
