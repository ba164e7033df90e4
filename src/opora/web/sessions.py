"""The session cookie of the pages: which server-side session it is, and its CSRF token.

A signed-in browser is a row of ``user_sessions`` (``auth.service``: ``start_session``,
``resolve_session``, ``end_session``). The cookie (``opora_session``) is Starlette's
``SessionMiddleware``: a JSON dict signed with the secret key (itsdangerous), HttpOnly,
SameSite=Lax, ``Secure`` when ``OPORA_COOKIE_SECURE`` is set. It holds:

- ``sid``: the session's random token (the row stores only its SHA-256). Revoking the row
  signs the browser out at once, on every process;
- ``csrf``: a random token every form and htmx request must send back (before sign-in
  too, so the sign-in form is protected).

The secret key is ``OPORA_SECRET_KEY``; when unset it is generated
(``config.load_secret_key``) on the first start into ``<data_dir>/secret_key`` (mode
0600) and read from there afterwards, so cookies survive restarts and all processes
sharing the data dir agree.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection, Request

from opora.auth import service
from opora.auth.models import User, UserSession
from opora.config import Settings, load_secret_key

COOKIE_NAME = "opora_session"
MAX_AGE_SECONDS = int(service.SESSION_MAX_AGE.total_seconds())


def install_sessions(app: FastAPI, settings: Settings) -> None:
    key = load_secret_key(settings)
    app.state.secret_key = key
    app.add_middleware(
        SessionMiddleware,
        secret_key=key,
        session_cookie=COOKIE_NAME,
        max_age=MAX_AGE_SECONDS,
        same_site="lax",
        https_only=settings.cookie_secure,
    )


async def sign_in(request: Request, session: AsyncSession, user: User) -> UserSession:
    """Start a fresh server-side session for ``user`` and put its token in the cookie,
    with a new CSRF token (no fixation)."""
    row, raw = await service.start_session(
        session,
        user=user,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    request.session.clear()
    request.session["sid"] = raw
    request.session["csrf"] = secrets.token_urlsafe(32)
    return row


async def sign_out(request: Request, session: AsyncSession) -> None:
    """End this browser's session on the server and forget the cookie."""
    raw = session_token(request)
    if raw is not None:
        await service.end_session(session, raw)
    forget(request)


def forget(request: HTTPConnection) -> None:
    request.session.clear()


def session_token(request: HTTPConnection) -> str | None:
    raw: Any = request.session.get("sid")
    return raw if isinstance(raw, str) and raw else None


def client_ip(request: HTTPConnection) -> str:
    return request.client.host if request.client is not None else ""


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_matches(request: Request, sent: str | None) -> bool:
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())
