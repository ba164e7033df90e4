"""Sign in and out, the account page (own password, language and browser sessions),
and the forgotten-password pages.

Handlers are thin: parse the form, check the password or call a service, render. Error
messages are codes (``bad_credentials``, ``too_short`` …) that the templates translate.

``POST /login`` manages its own transactions instead of ``UnitOfWorkRoute``: a failed
sign-in answers 400 but its ``login_attempts`` row must be kept, and the slow password
check runs outside any transaction. Too many failures for the email or the client
address answer 429 before the password is looked at (limits in ``auth.service``).
"""

from __future__ import annotations

import functools
import math
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from opora.auth import repository, service
from opora.auth.models import User
from opora.auth.passwords import hash_password, verify_password
from opora.auth.schemas import UserUpdate
from opora.db import Database
from opora.errors import InvalidInput
from opora.kit.text import normalize_email
from opora.kit.user_agent import describe_user_agent
from opora.web import i18n, sessions
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.error_pages import error_page
from opora.web.forms import attempt, see_other
from opora.web.page_auth import PageUser, safe_next, signed_in_user, verify_csrf
from opora.web.templating import render

router = APIRouter(
    route_class=UnitOfWorkRoute,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
# routes that open their own transactions; included into ``router`` at the end
own_transactions = APIRouter()

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


def _minutes(wait: timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds() / 60))


def _login_form(
    request: Request,
    *,
    email: str = "",
    next_path: str = "/",
    error: str | None = None,
    status_code: int = 200,
    minutes: int = 0,
) -> HTMLResponse:
    return render(
        request,
        "auth/login.html",
        status_code=status_code,
        email=email,
        next=next_path,
        error=error,
        minutes=minutes,
    )


@router.get("/login")
async def login_page(
    request: Request, session: Session, background: BackgroundTasks, next: str = "/"
) -> Response:
    if await signed_in_user(request, session, background) is not None:
        return see_other(safe_next(next))
    return _login_form(request, next_path=safe_next(next))


@own_transactions.post("/login")
async def login(
    request: Request,
    email: FormStr = "",
    password: FormStr = "",
    next: FormStr = "/",
) -> Response:
    target = safe_next(next)
    db: Database = request.app.state.db
    ip = sessions.client_ip(request)
    address = normalize_email(email) if email.strip() else ""
    user = None
    async with db.unit_of_work(write=False) as session:
        wait = await service.sign_in_blocked(session, email=address, ip=ip)
        if wait is None and address:
            user = await repository.get_user_by_email(session, address)
    if wait is not None:  # refused without looking at the password
        return _login_form(
            request,
            email=email.strip(),
            next_path=target,
            error="too_many_attempts",
            status_code=429,
            minutes=_minutes(wait),
        )
    password_hash = user.password_hash if user is not None else None
    ok = await run_in_threadpool(verify_password, password_hash or _dummy_hash(), password)
    good = user is not None and password_hash is not None and ok and service.can_use_pages(user)
    async with db.unit_of_work() as session:
        if user is None or not good:
            await service.record_failed_sign_in(session, email=address, ip=ip)
        else:
            await service.clear_failed_sign_ins(session, email=address)
            await sessions.sign_in(request, session, user)
    if not good:
        return _login_form(
            request,
            email=email.strip(),
            next_path=target,
            error="bad_credentials",
            status_code=400,
        )
    return see_other(target)


@router.post("/logout")
async def logout(request: Request, session: Session) -> Response:
    await sessions.sign_out(request, session)
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


ACCOUNT_NOTICES = ("password", "language", "signed_out", "signed_out_others")


async def _account(
    request: Request,
    session: Session,
    user: User,
    *,
    status_code: int = 200,
    saved: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    actor = await service.actor_for_user(session, user)
    rows = await service.list_sessions(session, actor=actor, user_id=user.id)
    current = getattr(request.state, "user_session", None)
    browsers = [
        {
            "id": row.id,
            "created_at": row.created_at,
            "last_seen_at": row.last_seen_at,
            "ip": row.ip,
            "agent": describe_user_agent(row.user_agent),
            "current": current is not None and row.id == current.id,
        }
        for row in rows
    ]
    return render(
        request,
        "auth/account.html",
        status_code=status_code,
        saved=saved,
        errors=errors or {},
        values=values or {},
        browsers=browsers,
    )


@router.get("/account")
async def account_page(
    request: Request, session: Session, user: PageUser, saved: str | None = None
) -> Response:
    return await _account(request, session, user, saved=saved if saved in ACCOUNT_NOTICES else None)


@router.post("/account/sessions/{session_id}/revoke")
async def revoke_browser_session(
    request: Request, session: Session, user: PageUser, session_id: int
) -> Response:
    """Sign out one of the user's browsers; signing out this one leads to the sign-in."""
    actor = await service.actor_for_user(session, user)
    error = await attempt(
        session,
        lambda: service.revoke_session(
            session, actor=actor, user_id=user.id, session_id=session_id
        ),
    )
    if error is not None:
        errors = {"sessions": "session_gone"}
        return await _account(request, session, user, status_code=404, errors=errors)
    current = request.state.user_session
    if current.id == session_id:
        sessions.forget(request)
        return see_other("/login")
    return see_other("/account?saved=signed_out#sessions-section")


@router.post("/account/sessions/revoke-others")
async def revoke_other_browser_sessions(
    request: Request, session: Session, user: PageUser
) -> Response:
    actor = await service.actor_for_user(session, user)
    await service.revoke_sessions(
        session, actor=actor, user_id=user.id, keep_session_id=request.state.user_session.id
    )
    return see_other("/account?saved=signed_out_others#sessions-section")


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
        return await _account(request, session, user, status_code=400, errors=errors, values=values)
    actor = await service.actor_for_user(session, user)
    await service.update_user(  # signs out the user's other sessions, keeps this one
        session,
        actor=actor,
        user_id=user.id,
        data=UserUpdate(password=new_password),
        keep_session_id=request.state.user_session.id,
    )
    return see_other("/account?saved=password")


@router.post("/account/language")
async def change_language(
    request: Request, session: Session, user: PageUser, language: FormStr = ""
) -> Response:
    code = i18n.supported(language)
    if code is None or code != language:
        errors = {"language": "unknown_language"}
        return await _account(request, session, user, status_code=400, errors=errors)
    actor = await service.actor_for_user(session, user)
    await service.update_user(session, actor=actor, user_id=user.id, data=UserUpdate(language=code))
    return see_other("/account?saved=language")


@router.post("/account/availability")
async def change_availability(
    request: Request,
    session: Session,
    user: PageUser,
    availability: FormStr = "",
    next: FormStr = "/",
) -> Response:
    """The top bar's availability switch: set, then back to the page it was sent from.
    A value outside online/away/offline is a 422 error page (only a forged form sends
    one); going offline may hand tickets back to routing (``auth.service``)."""
    actor = await service.actor_for_user(session, user)
    try:
        await service.set_availability(session, actor=actor, availability=availability)
    except InvalidInput:  # rendered here, while the user is still readable
        return error_page(request, 422)
    return see_other(safe_next(next))


@router.get("/password/forgot")
async def forgot_password_page(request: Request) -> Response:
    return render(request, "auth/forgot.html", email="", error=None, sent=False)


@router.post("/password/forgot")
async def forgot_password(request: Request, session: Session, email: FormStr = "") -> Response:
    """The same answer whether or not the address belongs to anyone; too many requests
    for an address (or from a client address) answer 429, again for any address."""
    if not email.strip():
        return render(
            request,
            "auth/forgot.html",
            status_code=400,
            email=email,
            error="email_required",
            sent=False,
        )
    ip = sessions.client_ip(request)
    wait = await service.reset_request_blocked(session, email=email, ip=ip)
    if wait is not None:
        return render(
            request,
            "auth/forgot.html",
            status_code=429,
            email=email.strip(),
            error="too_many_requests",
            minutes=_minutes(wait),
            sent=False,
        )
    await service.record_reset_request(session, email=email, ip=ip)
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


router.include_router(own_transactions)
