"""Forgot password and the reset link (pages over auth.service's password reset)."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

import httpx
from sqlalchemy import select

from opora.db import Database
from opora.jobs.models import Job
from tests.conftest import Company
from tests.web.helpers import CSRF_INPUT, page_csrf, sign_in

LINK = re.compile(r"(https?://\S+/password/reset\?token=[\w.\-%]+)")


async def _emails(db: Database) -> list[Job]:
    async with db.unit_of_work(write=False) as s:
        rows = await s.execute(select(Job).where(Job.name == "notifications.send_email"))
        return list(rows.scalars())


async def _ask_for_link(client: httpx.AsyncClient, email: str) -> httpx.Response:
    token = await page_csrf(client, "/password/forgot")
    return await client.post("/password/forgot", data={"csrf_token": token, "email": email})


async def _reset_path(client: httpx.AsyncClient, db: Database) -> str:
    r = await _ask_for_link(client, "alice@opora.dev")
    assert r.status_code == 200
    (job,) = await _emails(db)
    match = LINK.search(job.payload["text"])
    assert match, job.payload["text"]
    url = urlsplit(match.group(1))
    return f"{url.path}?{url.query}"


def _token_of(path: str) -> str:
    return unquote(path.split("token=", 1)[1])


class TestForgotPassword:
    async def test_the_form_has_an_email_field(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/password/forgot")
        assert r.status_code == 200
        assert 'id="email" name="email" type="email"' in r.text
        assert '<label for="email">' in r.text

    async def test_known_and_unknown_addresses_get_the_same_answer(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        known = await _ask_for_link(client, "alice@opora.dev")
        unknown = await _ask_for_link(client, "nobody@opora.dev")
        contact = await _ask_for_link(client, "carol@acme.ru")
        assert known.status_code == unknown.status_code == contact.status_code == 200
        assert "If the address is known" in known.text

        def strip(html: str) -> str:
            return CSRF_INPUT.sub("", html).replace("X-CSRF-Token", "")

        assert strip(known.text) == strip(unknown.text) == strip(contact.text)
        emails = await _emails(db)
        assert [e.payload["to"] for e in emails] == [["Alice Admin <alice@opora.dev>"]]

    async def test_an_empty_address_is_marked(
        self, client: httpx.AsyncClient, db: Database
    ) -> None:
        r = await _ask_for_link(client, "  ")
        assert r.status_code == 400
        assert 'aria-invalid="true"' in r.text and 'role="alert"' in r.text
        assert await _emails(db) == []


class TestResetPassword:
    async def test_the_link_sets_a_new_password_once(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        path = await _reset_path(client, db)
        form = await client.get(path)
        assert form.status_code == 200
        assert 'id="password" name="password" type="password"' in form.text
        assert 'id="password-repeat" name="password_repeat" type="password"' in form.text
        data = {
            "csrf_token": await page_csrf(client, path),
            "token": _token_of(path),
            "password": "reset-secret-1",
            "password_repeat": "reset-secret-1",
        }
        r = await client.post("/password/reset", data=data)
        assert r.status_code == 200 and 'id="reset-done"' in r.text
        assert (await sign_in(client, "alice@opora.dev", "alice-secret")).status_code == 400
        assert (await sign_in(client, "alice@opora.dev", "reset-secret-1")).status_code == 303
        again = await client.post(
            "/password/reset",
            data={
                **data,
                "csrf_token": await page_csrf(client, path),  # signing in made a new one
                "password": "another-secret",
                "password_repeat": "another-secret",
            },
        )
        assert again.status_code == 400
        assert "This link is not valid any more." in again.text

    async def test_a_reset_signs_out_existing_sessions(
        self,
        client: httpx.AsyncClient,
        other_client: httpx.AsyncClient,
        db: Database,
        company: Company,
    ) -> None:
        await sign_in(other_client, "alice@opora.dev", "alice-secret")
        path = await _reset_path(client, db)
        token = await page_csrf(client, path)
        await client.post(
            "/password/reset",
            data={
                "csrf_token": token,
                "token": _token_of(path),
                "password": "reset-secret-1",
                "password_repeat": "reset-secret-1",
            },
        )
        assert (await other_client.get("/account")).status_code == 303

    async def test_bad_input_is_marked_and_changes_nothing(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        path = await _reset_path(client, db)
        csrf = await page_csrf(client, path)
        base = {"csrf_token": csrf, "token": _token_of(path)}
        r = await client.post(
            "/password/reset", data={**base, "password": "short", "password_repeat": "short"}
        )
        assert r.status_code == 400
        assert 'aria-describedby="password-error"' in r.text
        assert "Use at least 8 characters." in r.text
        r = await client.post(
            "/password/reset",
            data={**base, "password": "reset-secret-1", "password_repeat": "reset-secret-2"},
        )
        assert r.status_code == 400
        assert 'aria-describedby="password-repeat-error"' in r.text
        assert 'value="reset-secret-1"' in r.text  # what was typed is kept
        r = await client.post(
            "/password/reset",
            data={
                **base,
                "token": "forged",
                "password": "reset-1234",
                "password_repeat": "reset-1234",
            },
        )
        assert r.status_code == 400 and "This link is not valid any more." in r.text
        assert (await sign_in(client, "alice@opora.dev", "alice-secret")).status_code == 303

    async def test_a_link_without_token_says_so(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/password/reset")
        assert r.status_code == 400
        assert 'role="alert"' in r.text

    async def test_the_page_is_in_russian_for_a_russian_browser(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get("/password/forgot", headers={"Accept-Language": "ru"})
        assert "Отправить ссылку" in r.text
