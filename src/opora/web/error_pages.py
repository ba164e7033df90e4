"""Errors on the pages are pages: a calm HTML answer instead of the API's JSON.

``errors.install_handlers`` renders every error as ``{"error": {...}}``. These handlers
replace them and decide by path: under ``/api/`` and at ``/healthz`` the JSON handler
answers exactly as before; anywhere else (the agent pages) the answer is
``templates/error.html`` with the status, a short message in the user's language and a
way back (the inbox, or sign-in). An htmx request gets the fragment ``_error.html`` with
``HX-Retarget: #main`` and ``HX-Reswap: afterbegin`` (and ``X-Opora-Error``, which
``static/js/opora.js`` reads to swap an error status), so the message appears above the
page instead of nothing happening.

An unhandled exception is logged with its traceback and answered 500; the page shows no
detail. API paths keep Starlette's plain ``Internal Server Error``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from opora.errors import JSON_HANDLERS, OporaError
from opora.web import sessions
from opora.web.page_auth import is_htmx
from opora.web.templating import render

log = logging.getLogger(__name__)

KNOWN_STATUSES = frozenset({400, 401, 403, 404, 405, 409, 413, 422, 429, 500})

_FALLBACK = (
    "<!doctype html><html><head><meta charset='utf-8'><title>{status} · Opora</title></head>"
    "<body><h1>{status}</h1><p><a href='/'>Opora</a></p></body></html>"
)


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/") or path == "/healthz"


def _signed_in_hint(request: Request) -> bool:
    """Show the inbox link rather than sign-in? No database here: a resolved user, or a
    session cookie (a stale one just leads to the sign-in form)."""
    if getattr(request.state, "page_user", None) is not None:
        return True
    return "session" in request.scope and sessions.session_token(request) is not None


def error_page(
    request: Request, status_code: int, *, headers: dict[str, str] | None = None
) -> Response:
    htmx = is_htmx(request)
    out_headers = dict(headers or {})
    if htmx:
        out_headers.update(
            {"HX-Retarget": "#main", "HX-Reswap": "afterbegin", "X-Opora-Error": str(status_code)}
        )
    try:
        return render(
            request,
            "_error.html" if htmx else "error.html",
            status_code=status_code,
            headers=out_headers,
            status=status_code,
            kind=status_code if status_code in KNOWN_STATUSES else 400,
            signed_in=_signed_in_hint(request),
        )
    except Exception:  # the error page itself must not fail
        log.exception("could not render the error page for %s", status_code)
        return HTMLResponse(_FALLBACK.format(status=status_code), status_code=status_code)


async def _opora_error(request: Request, exc: Exception) -> Response:
    if is_api_path(request.url.path):
        return await JSON_HANDLERS[OporaError](request, exc)
    assert isinstance(exc, OporaError)
    return error_page(request, exc.status_code)


async def _http_error(request: Request, exc: Exception) -> Response:
    if is_api_path(request.url.path):
        return await JSON_HANDLERS[StarletteHTTPException](request, exc)
    assert isinstance(exc, StarletteHTTPException)
    return error_page(request, exc.status_code, headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> Response:
    if is_api_path(request.url.path):
        return await JSON_HANDLERS[RequestValidationError](request, exc)
    return error_page(request, 422)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if is_api_path(request.url.path):
        return PlainTextResponse("Internal Server Error", status_code=500)
    return error_page(request, 500)


def install_error_pages(app: FastAPI) -> None:
    """Install after ``errors.install_handlers``: these replace them and fall back to
    them for API paths."""
    app.add_exception_handler(OporaError, _opora_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _server_error)
