"""Errors of page routes are HTML pages (web/error_pages.py); the API keeps its JSON."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import APIRouter, Request

from opora.errors import Conflict
from opora.web.deps import UnitOfWorkRoute
from opora.web.page_auth import PageUser
from tests.conftest import Company
from tests.web.helpers import sign_in

ALICE = ("alice@opora.dev", "alice-secret")
SECRET_DETAIL = "the database password is hunter2"


@pytest_asyncio.fixture
async def lenient(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client that gets the 500 answer instead of the exception (as a browser would)."""

    async def boom(request: Request) -> None:
        raise RuntimeError(SECRET_DETAIL)

    async def conflict(request: Request) -> None:
        raise Conflict("an internal English message")

    app.add_api_route("/test-boom", boom)
    app.add_api_route("/api/v1/test-boom", boom)
    app.add_api_route("/test-conflict", conflict)

    async def boom_signed_in(user: PageUser) -> None:
        raise RuntimeError(SECRET_DETAIL)  # the transaction rolls back: ``user`` is detached

    router = APIRouter(route_class=UnitOfWorkRoute)
    router.add_api_route("/test-boom-signed-in", boom_signed_in)
    app.include_router(router)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://opora.test") as c:
        yield c


class TestNotFound:
    async def test_an_unknown_page_is_an_html_404_with_a_way_to_sign_in(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get("/no-such-page")
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("text/html")
        assert "<h1" in r.text and "Page not found" in r.text
        assert 'id="error-back"' in r.text and 'href="/login"' in r.text
        assert '{"error"' not in r.text

    async def test_it_speaks_the_users_language(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/no-such-page", headers={"Accept-Language": "ru"})
        assert r.status_code == 404
        assert '<html lang="ru">' in r.text
        assert 'id="error-back">Войти</a>' in r.text

    async def test_a_signed_in_agent_is_offered_the_inbox(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        r = await client.get("/tickets/1/no-such-thing")
        assert r.status_code == 404
        assert 'href="/inbox" class="button-primary" id="error-back"' in r.text

    async def test_an_unknown_api_url_keeps_the_json_envelope(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get("/api/v1/unknown")
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/json"
        assert r.json() == {"error": {"code": "not_found", "message": "Not Found"}}

    async def test_a_bad_path_parameter_on_a_page_is_an_html_page(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        r = await client.get("/tickets/not-a-number")
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("text/html")
        r = await client.get("/api/v1/tickets/not-a-number", headers=company.admin.headers)
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


class TestMethodNotAllowed:
    async def test_a_page_answers_405_in_html_with_allow(self, client: httpx.AsyncClient) -> None:
        r = await client.delete("/login")
        assert r.status_code == 405
        assert r.headers["content-type"].startswith("text/html")
        assert "This address does not take this kind of request." in r.text
        assert "GET" in r.headers["allow"]

    async def test_healthz_keeps_json(self, client: httpx.AsyncClient) -> None:
        r = await client.post("/healthz")
        assert r.status_code == 405
        assert r.json()["error"]["code"] == "method_not_allowed"


class TestServerError:
    async def test_a_crash_in_a_page_route_is_a_calm_500_page_and_is_logged(
        self, lenient: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.ERROR, logger="opora.web.error_pages"):
            r = await lenient.get("/test-boom")
        assert r.status_code == 500
        assert r.headers["content-type"].startswith("text/html")
        assert "Something went wrong" in r.text
        assert SECRET_DETAIL not in r.text and "Traceback" not in r.text
        assert "RuntimeError" not in r.text
        logged = [rec for rec in caplog.records if rec.name == "opora.web.error_pages"]
        assert logged and logged[0].exc_info is not None
        assert "GET /test-boom" in logged[0].getMessage()

    async def test_a_crash_after_signing_in_still_gets_the_full_page(
        self, lenient: httpx.AsyncClient, company: Company
    ) -> None:
        """The failed transaction detaches the signed-in user; the error page must not
        need it (it used to fall back to a bare page without the app's look)."""
        await sign_in(lenient, *ALICE)
        r = await lenient.get("/test-boom-signed-in", headers={"Accept-Language": "ru"})
        assert r.status_code == 500
        assert "Что-то пошло не так" in r.text or "Something went wrong" in r.text
        assert 'rel="stylesheet"' in r.text and SECRET_DETAIL not in r.text

    async def test_a_crash_in_an_api_route_stays_plain(self, lenient: httpx.AsyncClient) -> None:
        r = await lenient.get("/api/v1/test-boom")
        assert r.status_code == 500
        assert r.text == "Internal Server Error"
        assert SECRET_DETAIL not in r.text

    async def test_htmx_gets_a_fragment_for_a_visible_area(
        self, lenient: httpx.AsyncClient
    ) -> None:
        r = await lenient.get("/test-boom", headers={"HX-Request": "true"})
        assert r.status_code == 500
        assert "<html" not in r.text and 'role="alert"' in r.text
        assert r.headers["hx-retarget"] == "#main"
        assert r.headers["hx-reswap"] == "afterbegin"
        assert r.headers["x-opora-error"] == "500"


class TestDomainErrors:
    async def test_a_domain_error_escaping_a_page_route_is_a_page(
        self, lenient: httpx.AsyncClient
    ) -> None:
        r = await lenient.get("/test-conflict")
        assert r.status_code == 409
        assert r.headers["content-type"].startswith("text/html")
        assert "This was changed in the meantime." in r.text
        assert "an internal English message" not in r.text

    async def test_the_api_keeps_the_envelope_for_domain_errors(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.get("/api/v1/tickets/999999", headers=company.admin.headers)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "ticket_not_found"
