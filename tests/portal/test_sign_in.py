"""Customer sign-in: one-time links by email, passwords, sessions kept apart from the
agents', limits, CSRF."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import update

from opora.db import Database
from opora.kit.time import utcnow
from opora.portal import service
from opora.portal.models import PortalLoginLink
from tests.conftest import Company
from tests.portal.support import (
    ask_for_link,
    open_link,
    outbox,
    portal_sign_in,
    sign_in_links,
)
from tests.web.helpers import csrf_of, page_csrf, set_password, sign_in

CAROL = "carol@acme.ru"


async def _expire_links(db: Database) -> None:
    async with db.unit_of_work() as s:
        await s.execute(update(PortalLoginLink).values(expires_at=utcnow() - timedelta(seconds=1)))


class TestSignInLink:
    async def test_a_known_address_gets_a_link_in_the_contacts_language(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            contact = await service.contact_by_email(s, CAROL)
            assert contact is not None
            contact.language = "ru"
        r = await ask_for_link(client, CAROL)
        assert r.status_code == 200
        assert 'id="link-sent"' in r.text
        [mail] = await outbox(db)
        assert mail["to"] == ["Carol Customer <carol@acme.ru>"]
        assert "портал" in mail["subject"].lower()
        assert "30 минут" in mail["text"]
        assert len(await sign_in_links(db, CAROL)) == 1

    async def test_an_unknown_address_gets_the_same_answer_and_no_email(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        known = await ask_for_link(client, CAROL)
        unknown = await ask_for_link(client, "nobody@nowhere.example")
        assert known.status_code == unknown.status_code == 200
        assert known.text.replace(CAROL, "X") == unknown.text.replace("nobody@nowhere.example", "X")
        assert [m["to"] for m in await outbox(db)] == [["Carol Customer <carol@acme.ru>"]]

    async def test_the_link_signs_in_once_only(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await ask_for_link(client, CAROL)
        [path] = await sign_in_links(db, CAROL)
        # opening the link (a mail scanner does) spends nothing; the button signs in
        assert (await client.get(path)).status_code == 200
        r = await open_link(client, path)
        assert r.status_code == 303 and r.headers["location"] == "/help/requests"
        mine = await client.get("/help/requests")
        assert mine.status_code == 200 and 'id="portal-account"' in mine.text
        again = await client.get(path)
        assert again.status_code == 400 and 'id="bad-link"' in again.text
        assert (
            await client.post(path, data={"csrf_token": csrf_of(again.text)})
        ).status_code == 400

    async def test_an_expired_link_does_not_sign_in(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await ask_for_link(client, CAROL)
        [path] = await sign_in_links(db, CAROL)
        await _expire_links(db)
        r = await open_link(client, path)
        assert r.status_code == 400 and 'id="bad-link"' in r.text
        assert (await client.get("/help/requests")).status_code == 303

    async def test_a_wrong_token_does_not_sign_in(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        r = await client.get("/help/sign-in/not-a-real-token")
        assert r.status_code == 400 and 'id="bad-link"' in r.text
        token = await page_csrf(client, "/help/sign-in")
        r = await client.post("/help/sign-in/not-a-real-token", data={"csrf_token": token})
        assert r.status_code == 400
        assert (await client.get("/help/requests")).status_code == 303

    async def test_the_link_leads_to_the_page_asked_for_and_never_elsewhere(
        self, client: httpx.AsyncClient, other_client: httpx.AsyncClient, db: Database,
        company: Company,
    ) -> None:  # fmt: skip
        r = await portal_sign_in(client, db, CAROL, next_path="/help/requests/new")
        assert r.headers["location"] == "/help/requests/new"
        r = await portal_sign_in(other_client, db, CAROL, next_path="https://evil.example/")
        assert r.headers["location"] == "/help/requests"

    async def test_a_page_that_needs_sign_in_sends_there_with_the_way_back(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.get("/help/requests/7")
        assert r.status_code == 303
        assert r.headers["location"] == "/help/sign-in?next=/help/requests/7"


class TestLimits:
    async def test_links_for_one_address_are_limited_known_or_not(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        for address in (CAROL, "ghost@nowhere.example"):
            for _ in range(service.LINK_REQUEST_EMAIL_LIMIT):
                assert (await ask_for_link(client, address)).status_code == 200
            r = await ask_for_link(client, address)
            assert r.status_code == 429
            assert 'id="sign-in-error"' in r.text and f'value="{address}"' in r.text
        assert len(await sign_in_links(db, CAROL)) == service.LINK_REQUEST_EMAIL_LIMIT

    async def test_links_from_one_client_are_limited(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        for n in range(service.LINK_REQUEST_IP_LIMIT):
            assert (await ask_for_link(client, f"someone{n}@example.com")).status_code == 200
        assert (await ask_for_link(client, CAROL)).status_code == 429


class TestPassword:
    async def _set_password(self, client: httpx.AsyncClient, password: str) -> httpx.Response:
        page = await client.get("/help/account")
        assert page.status_code == 200
        return await client.post(
            "/help/account/password",
            data={"csrf_token": csrf_of(page.text), "new_password": password,
                  "new_password_repeat": password},
        )  # fmt: skip

    async def _password_sign_in(
        self, client: httpx.AsyncClient, email: str, password: str
    ) -> httpx.Response:
        page = await client.get("/help/sign-in")
        return await client.post(
            "/help/sign-in/password",
            data={"csrf_token": csrf_of(page.text), "email": email, "password": password},
        )

    async def test_a_customer_sets_a_password_and_signs_in_with_it(
        self, client: httpx.AsyncClient, other_client: httpx.AsyncClient, db: Database,
        company: Company,
    ) -> None:  # fmt: skip
        await portal_sign_in(client, db, CAROL)
        r = await self._set_password(client, "carol-portal-pw")
        assert r.status_code == 303, r.text
        wrong = await self._password_sign_in(other_client, CAROL, "not-it")
        assert wrong.status_code == 400 and 'id="password-error"' in wrong.text
        r = await self._password_sign_in(other_client, CAROL, "carol-portal-pw")
        assert r.status_code == 303 and r.headers["location"] == "/help/requests"
        assert (await other_client.get("/help/requests")).status_code == 200

    async def test_changing_the_password_needs_the_current_one(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await portal_sign_in(client, db, CAROL)
        assert (await self._set_password(client, "first-password")).status_code == 303
        r = await self._set_password(client, "second-password")
        assert r.status_code == 400 and 'id="current_password-error"' in r.text
        short = await client.post(
            "/help/account/password",
            data={"csrf_token": csrf_of(r.text), "current_password": "first-password",
                  "new_password": "short", "new_password_repeat": "short"},
        )  # fmt: skip
        assert short.status_code == 400 and 'id="new_password-error"' in short.text

    async def test_failed_password_sign_ins_are_limited(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        for _ in range(service.SIGN_IN_EMAIL_LIMIT):
            assert (await self._password_sign_in(client, CAROL, "guess")).status_code == 400
        r = await self._password_sign_in(client, CAROL, "guess")
        assert r.status_code == 429 and 'id="password-error"' in r.text


class TestSessions:
    async def test_signing_out_ends_the_session_on_the_server(
        self, client: httpx.AsyncClient, other_client: httpx.AsyncClient, db: Database,
        company: Company,
    ) -> None:  # fmt: skip
        await portal_sign_in(client, db, CAROL)
        stolen = dict(client.cookies)
        page = await client.get("/help/requests")
        r = await client.post("/help/sign-out", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 303
        assert (await client.get("/help/requests")).status_code == 303
        for name, value in stolen.items():  # the old cookie is worth nothing now
            other_client.cookies.set(name, value)
        assert (await other_client.get("/help/requests")).status_code == 303

    async def test_a_customer_session_never_opens_agent_pages(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await portal_sign_in(client, db, CAROL)
        for path in ("/inbox", "/tickets/new", "/account", "/contacts"):
            r = await client.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), path

    async def test_an_agent_session_is_not_a_customer(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await set_password(db, company.l1_agent.id, "lena-password")
        r = await sign_in(client, "lena@opora.dev", "lena-password")
        assert r.status_code == 303
        assert (await client.get("/inbox")).status_code == 200
        r = await client.get("/help/requests")
        assert r.status_code == 303 and r.headers["location"] == "/help/sign-in"
        page = await client.get("/help/requests/new")
        assert 'id="portal-sign-in"' in page.text and 'id="name"' in page.text  # a visitor

    async def test_a_form_without_its_csrf_token_is_refused_in_the_portals_frame(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await portal_sign_in(client, db, CAROL)
        r = await client.post("/help/sign-out", data={})
        assert r.status_code == 403
        assert 'class="portal"' in r.text and "nav-inbox" not in r.text
        assert (await client.get("/help/requests")).status_code == 200  # still signed in
