"""The embeddable web form: framable (and only it), its own signed token instead of the
cookie, the same checks as the portal's form, and the script that inserts it."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from opora.db import Database
from opora.tickets.models import Ticket
from tests.conftest import Company

TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def _token(html: str) -> str:
    match = TOKEN.search(html)
    assert match, "the embedded form has no form token"
    return match[1]


def _data(token: str, **extra: str) -> dict[str, str]:
    return {"form_token": token, "name": "Site Visitor", "email": "visitor@example.com",
            "subject": "Price question", "body": "How much is the pro plan?", **extra}  # fmt: skip


async def _tickets(db: Database) -> list[Ticket]:
    async with db.unit_of_work(write=False) as s:
        return list(await s.scalars(select(Ticket)))


class TestFraming:
    async def test_only_the_embedded_form_may_be_framed(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        embed = await client.get("/embed/request-form?lang=ru")
        assert embed.status_code == 200 and 'lang="ru"' in embed.text
        assert embed.headers["content-security-policy"] == "frame-ancestors *"
        assert "x-frame-options" not in embed.headers
        for path in ("/help/requests/new", "/help/sign-in"):
            r = await client.get(path)
            assert r.headers["content-security-policy"] == "frame-ancestors 'none'", path
            assert r.headers["x-frame-options"] == "DENY", path

    async def test_the_script_inserts_a_sized_iframe_of_the_form(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.get("/embed/request-form.js")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
        assert 'createElement("iframe")' in r.text and "/embed/request-form" in r.text
        assert "opora:request-form:height" in r.text and "event.origin !== origin" in r.text


class TestEmbeddedSubmission:
    async def test_a_visitor_submits_through_the_frame_without_cookies(
        self, app: object, db: Database, company: Company
    ) -> None:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://opora.test") as c:
            token = _token((await c.get("/embed/request-form")).text)
            c.cookies.clear()  # a third-party frame gets no SameSite cookie back
            r = await c.post("/embed/request-form", data=_data(token))
        assert r.status_code == 200, r.text
        assert 'id="request-submitted"' in r.text
        assert r.headers["content-security-policy"] == "frame-ancestors *"
        [ticket] = await _tickets(db)
        assert ticket.channel == "web" and ticket.subject == "Price question"

    async def test_a_missing_or_forged_token_stores_nothing_and_keeps_the_text(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        r = await client.post("/embed/request-form", data=_data("forged.token"))
        assert r.status_code == 403 and "How much is the pro plan?</textarea>" in r.text
        assert _token(r.text)  # a fresh token to send it again
        assert await _tickets(db) == []

    async def test_the_honeypot_and_required_inputs_apply_as_on_the_portal(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        token = _token((await client.get("/embed/request-form")).text)
        r = await client.post("/embed/request-form", data=_data(token, website="x"))
        assert r.status_code == 400 and 'id="request-form-error"' in r.text
        r = await client.post("/embed/request-form", data=_data(token, email=""))
        assert r.status_code == 400 and 'id="email-error"' in r.text
        assert await _tickets(db) == []
