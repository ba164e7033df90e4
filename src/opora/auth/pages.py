"""Sign in and out, and the account page (own password and language).

Handlers are thin: parse the form, check the password or call a service, render. Error
messages are codes (``bad_credentials``, ``too_short`` …) that the templates translate.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from opora.auth import repository, service
from opora.auth.passwords import hash_password, verify_password
from opora.auth.schemas import UserUpdate
from opora.errors import InvalidInput
from opora.kit.text import normalize_email
from opora.web import i18n, sessions
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.forms import see_other
from opora.web.page_auth import PageUser, is_staff, safe_next, signed_in_user, verify_csrf
from opora.web.templating import render

router = APIRouter(
    route_class=UnitOfWorkRoute,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)

MIN_PASSWORD = service.PASSWORD_MIN_LENGTH
MAX_PASSWORD = service.PASSWORD_MAX_LENGTH
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600

FormStr = Annotated[str, Form()]


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not-a-password-anyone-has")


@router.get("/")
async def home(user: PageUser) -> Response:
    return see_other("/inbox")


@router.get("/login")
async def login_page(request: Request, session: Session, next: str = "/") -> Response:
    if await signed_in_user(request, session) is not None:
        return see_other(safe_next(next))
    return render(request, "auth/login.html", email="", next=safe_next(next), error=None)


@router.post("/login")
async def login(
    request: Request,
    session: Session,
    email: FormStr = "",
    password: FormStr = "",
    next: FormStr = "/",
) -> Response:
    target = safe_next(next)
    user = await repository.get_user_by_email(session, normalize_email(email)) if email else None
    password_hash = user.password_hash if user is not None else None
    ok = await run_in_threadpool(verify_password, password_hash or _dummy_hash(), password)
    if user is None or password_hash is None or not ok or not is_staff(user):
        return render(
            request,
            "auth/login.html",
            status_code=400,
            email=email.strip(),
            next=target,
            error="bad_credentials",
        )
    sessions.sign_in(request, user)
    return see_other(target)


@router.post("/logout")
async def logout(request: Request) -> Response:
    sessions.sign_out(request)
    return see_other("/login")


@router.get("/language/{lang}")
async def choose_language(lang: str, next: str = "/login") -> Response:
    """The language switch of the pages before sign-in: remembered in a cookie."""
    response = see_other(safe_next(next, "/login"))
    code = i18n.supported(lang)
    if code is not None:
        response.set_cookie(
            i18n.LANG_COOKIE, code, max_age=LANG_COOKIE_MAX_AGE, httponly=True, samesite="lax"
        )
    return response


def _account(
    request: Request,
    *,
    status_code: int = 200,
    saved: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "auth/account.html",
        status_code=status_code,
        saved=saved,
        errors=errors or {},
        values=values or {},
    )


@router.get("/account")
async def account_page(request: Request, user: PageUser, saved: str | None = None) -> Response:
    return _account(request, saved=saved if saved in ("password", "language") else None)


@router.post("/account/password")
async def change_password(
    request: Request,
    session: Session,
    user: PageUser,
    current_password: FormStr = "",
    new_password: FormStr = "",
    new_password_repeat: FormStr = "",
) -> Response:
    errors: dict[str, str] = {}
    if not await run_in_threadpool(verify_password, user.password_hash, current_password):
        errors["current_password"] = "wrong_password"
    if len(new_password) < MIN_PASSWORD:
        errors["new_password"] = "too_short"
    elif len(new_password) > MAX_PASSWORD:
        errors["new_password"] = "too_long"
    elif new_password != new_password_repeat:
        errors["new_password_repeat"] = "mismatch"
    if errors:
        # the new password is given back so it need not be typed again; a wrong current
        # one is not
        values = {"new_password": new_password, "new_password_repeat": new_password_repeat}
        if "current_password" not in errors:
            values["current_password"] = current_password
        return _account(request, status_code=400, errors=errors, values=values)
    actor = await service.actor_for_user(session, user)
    await service.update_user(
        session, actor=actor, user_id=user.id, data=UserUpdate(password=new_password)
    )
    sessions.refresh_version(request, user)  # other sessions of this user are signed out
    return see_other("/account?saved=password")


@router.post("/account/language")
async def change_language(
    request: Request, session: Session, user: PageUser, language: FormStr = ""
) -> Response:
    code = i18n.supported(language)
    if code is None or code != language:
        return _account(request, status_code=400, errors={"language": "unknown_language"})
    actor = await service.actor_for_user(session, user)
    await service.update_user(session, actor=actor, user_id=user.id, data=UserUpdate(language=code))
    return see_other("/account?saved=language")


@router.get("/password/forgot")
async def forgot_password_page(request: Request) -> Response:
    return render(request, "auth/forgot.html", email="", error=None, sent=False)


@router.post("/password/forgot")
async def forgot_password(request: Request, session: Session, email: FormStr = "") -> Response:
    """The same answer whether or not the address belongs to anyone."""
    if not email.strip():
        return render(
            request,
            "auth/forgot.html",
            status_code=400,
            email=email,
            error="email_required",
            sent=False,
        )
    settings = request.app.state.settings
    await service.request_password_reset(
        session, email=email, base_url=settings.base_url, secret=request.app.state.secret_key
    )
    return render(request, "auth/forgot.html", email="", error=None, sent=True)


def _reset_page(
    request: Request,
    *,
    token: str,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    done: bool = False,
) -> HTMLResponse:
    return render(
        request,
        "auth/reset.html",
        status_code=status_code,
        token=token,
        errors=errors or {},
        values=values or {},
        done=done,
    )


@router.get("/password/reset")
async def reset_password_page(request: Request, token: str = "") -> Response:
    errors = {} if token else {"token": "bad_token"}
    return _reset_page(request, token=token, errors=errors, status_code=200 if token else 400)


@router.post("/password/reset")
async def reset_password(
    request: Request,
    session: Session,
    token: FormStr = "",
    password: FormStr = "",
    password_repeat: FormStr = "",
) -> Response:
    values = {"password": password, "password_repeat": password_repeat}
    if password != password_repeat:
        errors = {"password_repeat": "mismatch"}
        return _reset_page(request, token=token, status_code=400, errors=errors, values=values)
    try:
        await service.reset_password(
            session, token=token, password=password, secret=request.app.state.secret_key
        )
    except InvalidInput as exc:
        if exc.field == "password":
            code = "too_short" if len(password) < service.PASSWORD_MIN_LENGTH else "too_long"
            errors = {"password": code}
        else:
            errors = {"token": "bad_token"}
        return _reset_page(request, token=token, status_code=400, errors=errors, values=values)
    return _reset_page(request, token="", done=True)
