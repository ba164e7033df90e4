"""The signed session cookie of the pages, and its CSRF token.

The cookie (``opora_session``) is Starlette's ``SessionMiddleware``: a JSON dict signed
with the secret key (itsdangerous), HttpOnly, SameSite=Lax, ``Secure`` when
``OPORA_COOKIE_SECURE`` is set. Nothing is stored on the server, so every process that
shares the secret key reads every session.

The session holds:

- ``uid``: the signed-in user's id;
- ``ver``: the session version, a keyed hash of the user's password hash. Changing or
  resetting the password changes it, which signs out every other session of that user;
- ``csrf``: a random token every form and htmx request must send back.

The secret key is ``OPORA_SECRET_KEY``; when unset it is generated on the first start into
``<data_dir>/secret_key`` (mode 0600) and read from there afterwards, so sessions survive
restarts and all processes sharing the data dir agree.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request

from opora.auth.models import User
from opora.config import Settings

COOKIE_NAME = "opora_session"
MAX_AGE_SECONDS = 14 * 24 * 3600
SECRET_FILE = "secret_key"


def load_secret_key(settings: Settings) -> str:
    """The configured key, or the one kept in the data dir (created once, atomically)."""
    if settings.secret_key:
        return settings.secret_key
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRET_FILE
    if not path.exists():
        _create_secret_file(path)
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable key; delete it to make a new one")
    return key


def _create_secret_file(path: Path) -> None:
    """Write a new key to a private temporary file and link it into place: if another
    process got there first, the link fails and its key is kept."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


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


def session_version(request: Request, user: User) -> str:
    key: str = request.app.state.secret_key
    message = f"{user.id}:{user.password_hash or ''}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()[:32]


def sign_in(request: Request, user: User) -> None:
    """Start a fresh session for ``user`` (a new CSRF token too: no fixation)."""
    request.session.clear()
    request.session["uid"] = user.id
    request.session["ver"] = session_version(request, user)
    request.session["csrf"] = secrets.token_urlsafe(32)


def refresh_version(request: Request, user: User) -> None:
    """Keep this session signed in after the user changed their own password."""
    request.session["ver"] = session_version(request, user)


def sign_out(request: Request) -> None:
    request.session.clear()


def session_user_id(request: Request) -> int | None:
    uid: Any = request.session.get("uid")
    return uid if isinstance(uid, int) else None


def is_current_version(request: Request, user: User) -> bool:
    ver = request.session.get("ver")
    return isinstance(ver, str) and hmac.compare_digest(ver, session_version(request, user))


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
