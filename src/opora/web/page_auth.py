"""Who is on a page, and the CSRF check of every form.

- ``PageUser`` (``current_page_user``): the signed-in agent, supervisor or admin. Without
  a valid session the browser is sent to ``/login?next=<this page>`` (an htmx request gets
  401 with ``HX-Redirect``). A deactivated user, or a session from before a password
  change, is signed out.
- ``verify_csrf``: on POST/PUT/PATCH/DELETE, the form field ``csrf_token`` or the header
  ``X-CSRF-Token`` must equal the session's token. Page routers list it in
  ``dependencies``, so it runs before anything else. A failure answers 403 with a page that
  says the page expired and gives back the text that was sent (never passwords), so a
  reply being written is not lost, even when the session itself has expired.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from opora.auth import repository
from opora.auth.models import Role, User
from opora.web import sessions
from opora.web.deps import Session
from opora.web.templating import render

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STAFF_ROLES = frozenset({Role.ADMIN.value, Role.SUPERVISOR.value, Role.AGENT.value})


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


def is_staff(user: User) -> bool:
    return user.is_active and user.role in STAFF_ROLES


async def signed_in_user(request: Request, session: Session) -> User | None:
    """The session's user if the session is still good, else None (and the session is
    cleared). Sets ``request.state.page_user`` for the templates."""
    uid = sessions.session_user_id(request)
    if uid is None:
        return None
    user = await repository.get_user(session, uid)
    if user is None or not is_staff(user) or not sessions.is_current_version(request, user):
        sessions.sign_out(request)
        return None
    request.state.page_user = user
    return user


async def current_page_user(request: Request, session: Session) -> User:
    user = await signed_in_user(request, session)
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
