"""Who is on a page, and the CSRF check of every form.

- ``PageUser`` (``current_page_user``): the signed-in agent, supervisor or admin. The
  cookie's ``sid`` is looked up with its user in one query (``auth.service.
  resolve_session``): the session must exist, not be revoked or older than its maximum
  age, and its user must be active staff. Otherwise the cookie is cleared and the
  browser is sent to ``/login?next=<this page>`` (an htmx request gets 401 with
  ``HX-Redirect``). ``last_seen_at`` is written after the response, at most once per
  ``SESSION_TOUCH_EVERY``, in its own short transaction. The session row is
  ``request.state.user_session``.
- ``verify_csrf``: on POST/PUT/PATCH/DELETE, the form field ``csrf_token`` or the header
  ``X-CSRF-Token`` must equal the session's token. Page routers list it in
  ``dependencies``, so it runs before anything else. A failure answers 403 with a page that
  says the page expired and gives back the text that was sent (never passwords), so a
  reply being written is not lost, even when the session itself has expired.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import BackgroundTasks, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile
from starlette.requests import HTTPConnection

from opora.auth import service
from opora.auth.models import User
from opora.db import Database
from opora.kit.time import utcnow
from opora.web import sessions
from opora.web.deps import Session
from opora.web.templating import render

log = logging.getLogger(__name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__("sign in first")
        self.next_path = next_path


class CsrfFailed(Exception):
    def __init__(self, fields: list[tuple[str, str]], back: str) -> None:
        super().__init__("the CSRF token is missing or wrong")
        self.fields = fields
        self.back = back


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def safe_next(value: str | None, default: str = "/") -> str:
    """A same-site path to go to after signing in: ``/tickets?x=1``, never
    ``//evil.com``, ``https://evil.com`` or ``/\\evil.com``."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ch in value for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def _path_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _return_path(request: Request) -> str:
    """Where to come back to after signing in: this page, or for htmx and form posts the
    page the browser shows."""
    if is_htmx(request):
        return safe_next(_path_of(request.headers.get("hx-current-url")))
    if request.method in UNSAFE_METHODS:
        return safe_next(_path_of(request.headers.get("referer")))
    return safe_next(_path_of(str(request.url)))


async def _touch(db: Database, session_id: int, now: datetime) -> None:
    try:
        async with db.unit_of_work() as session:
            await service.touch_session(session, session_id=session_id, now=now)
    except Exception:  # a missed "last seen" must never fail a page
        log.warning("could not record that session %s was seen", session_id, exc_info=True)


async def signed_in_user(
    request: HTTPConnection, session: Session, background: BackgroundTasks | None = None
) -> User | None:
    """The session's user if the session is still good, else None (and the cookie is
    cleared). Sets ``request.state.page_user`` and ``request.state.user_session``; with
    ``background``, records ``last_seen_at`` after the response when it is due. Works
    for a websocket too (its handshake carries the cookie)."""
    raw = sessions.session_token(request)
    if raw is None:
        return None
    now = utcnow()
    found = await service.resolve_session(session, raw, now=now)
    if found is None:
        sessions.forget(request)
        return None
    user_session, user = found
    if background is not None and service.needs_touch(user_session, now):
        # after the response, in its own transaction: a GET holds a read-only one
        background.add_task(_touch, request.app.state.db, user_session.id, now)
    request.state.page_user = user
    request.state.user_session = user_session
    return user


async def current_page_user(
    request: Request, session: Session, background: BackgroundTasks
) -> User:
    user = await signed_in_user(request, session, background)
    if user is None:
        raise LoginRequired(_return_path(request))
    return user


PageUser = Annotated[User, Depends(current_page_user)]


async def verify_csrf(request: Request) -> None:
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get("x-csrf-token")
    fields: list[tuple[str, str]] = []
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        for name, value in form.multi_items():
            if name == "csrf_token":
                sent = sent or (value if isinstance(value, str) else None)
            elif isinstance(value, UploadFile) or "password" in name:
                continue  # files cannot be given back; passwords are never echoed
            elif value.strip():
                fields.append((name, value))
    if not sessions.csrf_matches(request, sent):
        back = safe_next(_path_of(request.headers.get("referer")), request.url.path)
        raise CsrfFailed(fields, back)


def login_url(next_path: str) -> str:
    if not next_path or next_path == "/":
        return "/login"
    return "/login?next=" + quote(next_path, safe="/")


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    url = login_url(exc.next_path)
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def _csrf_failed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CsrfFailed)
    return render(
        request,
        "_expired.html" if is_htmx(request) else "expired.html",
        status_code=403,
        fields=exc.fields,
        back=exc.back,
        headers={"HX-Retarget": "#main", "HX-Reswap": "innerHTML"} if is_htmx(request) else None,
    )


def install_page_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(CsrfFailed, _csrf_failed)
