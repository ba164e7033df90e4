"""The customer's side of the portal: sign in (a one-time link by email, or a password),
the account page, sign out, the language, "My requests" and one request (reply with
files, mark solved, download files).

Handlers are thin: parse, resolve the customer, call one service, render. Every form is
CSRF-checked (``verify_csrf``); ``PortalRoute`` answers a missing sign-in and a failed
check the portal's way. ``POST /help/sign-in/password`` opens its own transactions, as
the agents' ``POST /login`` does: a failed attempt answers 400 and is still counted, and
the slow password check runs outside any transaction.
"""

from __future__ import annotations

import functools
import math
import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from opora.auth.passwords import hash_password, verify_password
from opora.db import Database
from opora.errors import InvalidInput, OporaError
from opora.kit.blobs import BlobStore
from opora.kit.time import utcnow
from opora.notifications.subscribers import expected
from opora.portal import rules, service
from opora.portal.deps import (
    SESSION_KEY,
    OptionalCustomer,
    PortalCustomer,
    PortalOwnTransactionsRoute,
    PortalRoute,
    SignedInCustomer,
    portal_language,
    session_token,
)
from opora.tickets import service as tickets_service
from opora.web import i18n, sessions
from opora.web.deps import Session
from opora.web.downloads import file_response
from opora.web.forms import attempt, see_other
from opora.web.page_auth import verify_csrf
from opora.web.templating import render

router = APIRouter(
    route_class=PortalRoute, include_in_schema=False, dependencies=[Depends(verify_csrf)]
)
own_transactions = APIRouter(route_class=PortalOwnTransactionsRoute)

FormStr = Annotated[str, Form()]
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not-a-password-any-customer-has")


def _minutes(wait: timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds() / 60))


def page(request: Request, name: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A portal page in the customer's language (their own when signed in)."""
    return render(request, name, status_code=status_code, lang=portal_language(request), **context)


def _start(request: Request, raw: str) -> None:
    """Put a new portal session's token in the cookie, with a fresh CSRF token."""
    request.session[SESSION_KEY] = raw
    request.session["csrf"] = secrets.token_urlsafe(32)


# -- signing in -------------------------------------------------------------------------


def _sign_in_page(
    request: Request,
    *,
    email: str = "",
    next_path: str = rules.DEFAULT_AFTER_SIGN_IN,
    error: str | None = None,
    form: str = "link",
    minutes: int = 0,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "portal/sign_in.html",
        status_code=status_code,
        email=email,
        next=next_path,
        error=error,
        form=form,
        minutes=minutes,
    )


@router.get("/help/sign-in")
async def sign_in_page(request: Request, customer: OptionalCustomer, next: str = "") -> Response:
    target = rules.safe_portal_path(next)
    if customer is not None:
        return see_other(target)
    return _sign_in_page(request, next_path=target)


@router.post("/help/sign-in")
async def request_link(
    request: Request, session: Session, email: FormStr = "", next: FormStr = ""
) -> Response:
    """Email a sign-in link. The answer is the same whether or not we know the address;
    too many requests for it (or from this client) answer 429, again for any address."""
    target = rules.safe_portal_path(next)
    address = email.strip()
    if not address or "@" not in address or len(address) > 320:
        code = "email_required" if not address else "bad_email"
        return _sign_in_page(request, email=address, next_path=target, error=code, status_code=400)
    ip = sessions.client_ip(request)
    wait = await service.link_request_blocked(session, email=address, ip=ip)
    if wait is not None:
        return _sign_in_page(
            request,
            email=address,
            next_path=target,
            error="too_many_requests",
            minutes=_minutes(wait),
            status_code=429,
        )
    await service.request_sign_in_link(
        session,
        email=address,
        ip=ip,
        base_url=request.app.state.settings.base_url,
        next_path=target,
    )
    return page(
        request,
        "portal/sign_in_sent.html",
        email=address,
        valid_minutes=int(service.LINK_MAX_AGE.total_seconds()) // 60,
    )


@own_transactions.post("/help/sign-in/password")
async def password_sign_in(
    request: Request, email: FormStr = "", password: FormStr = "", next: FormStr = ""
) -> Response:
    target = rules.safe_portal_path(next)
    db: Database = request.app.state.db
    ip = sessions.client_ip(request)
    address = email.strip()
    contact = None
    password_hash = None
    async with db.unit_of_work(write=False) as session:
        wait = await service.sign_in_blocked(session, email=address, ip=ip)
        if wait is None and address:
            contact = await service.contact_by_email(session, address)
            if contact is not None:
                password_hash = await service.password_of(session, contact.id)
    if wait is not None:  # refused before the password is looked at
        return _sign_in_page(
            request,
            email=address,
            next_path=target,
            error="too_many_attempts",
            form="password",
            minutes=_minutes(wait),
            status_code=429,
        )
    ok = await run_in_threadpool(verify_password, password_hash or _dummy_hash(), password)
    good = contact is not None and password_hash is not None and ok
    async with db.unit_of_work() as session:
        if not good or contact is None:
            await service.record_failed_sign_in(session, email=address, ip=ip)
        else:
            await service.clear_failed_sign_ins(session, email=address)
            found = await service.active_contact(session, contact.id)
            if found is not None:
                _, raw = await service.start_session(
                    session, contact=found, ip=ip, user_agent=request.headers.get("user-agent", "")
                )
                _start(request, raw)
    if not good:
        return _sign_in_page(
            request,
            email=address,
            next_path=target,
            error="bad_credentials",
            form="password",
            status_code=400,
        )
    return see_other(target)


# before /help/sign-in/{token}: "password" is no token
router.include_router(own_transactions)


@router.get("/help/sign-in/{token}")
async def sign_in_link_page(request: Request, session: Session, token: str) -> Response:
    """The link from the email: a button that signs in (a POST), so that a mail scanner
    opening the link does not spend it."""
    link = await service.valid_sign_in_link(session, token=token)
    if link is None:
        return page(request, "portal/sign_in_link.html", valid=False, status_code=400)
    return page(request, "portal/sign_in_link.html", valid=True, token=token)


@router.post("/help/sign-in/{token}")
async def use_link(request: Request, session: Session, token: str) -> Response:
    error = None
    found: list[tuple[Any, str, str]] = []

    async def call() -> None:
        found.append(
            await service.use_sign_in_link(
                session,
                token=token,
                ip=sessions.client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
        )

    error = await attempt(session, call)
    if error is not None:
        return page(request, "portal/sign_in_link.html", valid=False, status_code=400)
    _, raw, target = found[0]
    _start(request, raw)
    return see_other(target)


@router.post("/help/sign-out")
async def sign_out(request: Request, session: Session) -> Response:
    raw = session_token(request)
    if raw is not None:
        await service.end_session(session, raw)
    request.session.pop(SESSION_KEY, None)
    return see_other("/help")


# -- account and language -----------------------------------------------------------------


ACCOUNT_NOTICES = ("password", "language")


async def _account(
    request: Request,
    session: Session,
    customer: PortalCustomer,
    *,
    status_code: int = 200,
    saved: str | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    return page(
        request,
        "portal/account.html",
        status_code=status_code,
        email=await service.primary_email(session, customer.contact_id) or "",
        has_password=await service.password_of(session, customer.contact_id) is not None,
        saved=saved,
        errors=errors or {},
    )


@router.get("/help/account")
async def account_page(
    request: Request, session: Session, customer: SignedInCustomer, saved: str = ""
) -> Response:
    notice = saved if saved in ACCOUNT_NOTICES else None
    return await _account(request, session, customer, saved=notice)


@router.post("/help/account/password")
async def set_password(
    request: Request,
    session: Session,
    customer: SignedInCustomer,
    current_password: FormStr = "",
    new_password: FormStr = "",
    new_password_repeat: FormStr = "",
) -> Response:
    if new_password != new_password_repeat:
        errors = {"new_password_repeat": "mismatch"}
        return await _account(request, session, customer, status_code=400, errors=errors)
    error = await attempt(
        session,
        lambda: service.set_password(
            session,
            actor=customer.actor,
            new_password=new_password,
            current_password=current_password,
            keep_session_id=customer.session_id,
        ),
    )
    if error is not None:
        field = error.field or "new_password"
        if field == "current_password":
            code = "wrong_password"
        else:
            code = "too_short" if len(new_password) < service.PASSWORD_MIN_LENGTH else "too_long"
        return await _account(request, session, customer, status_code=400, errors={field: code})
    return see_other("/help/account?saved=password")


@router.post("/help/language")
async def choose_language(
    request: Request,
    session: Session,
    customer: OptionalCustomer,
    language: FormStr = "",
    next: FormStr = "/help",
) -> Response:
    """The header's language switch for a signed-in customer (and the account page's):
    their own language changes, so their emails follow it too."""
    code = i18n.supported(language)
    back = next if next.startswith("/help") else "/help"
    back = rules.safe_portal_path(back, "/help") if back != "/help" else back
    if code is None:
        return see_other(back)
    if customer is not None:
        await service.set_language(session, actor=customer.actor, language=code)
    response = see_other(back)
    response.set_cookie(
        i18n.LANG_COOKIE, code, max_age=LANG_COOKIE_MAX_AGE, httponly=True, samesite="lax"
    )
    return response


# -- my requests -------------------------------------------------------------------------


def expectation(request: Request, due: Any, timezone: str | None) -> dict[str, Any] | None:
    """ "within 3 hours, by 6 December 2026, 21:30 (Europe/Moscow)" in the page's language,
    or ``{"late": True}`` once the time has passed."""
    if due is None:
        return None
    now = utcnow()
    if due <= now:
        return {"late": True}
    promise = expected(due, now, language=portal_language(request), timezone=timezone)
    return {"late": False, **promise}


@router.get("/help/requests")
async def my_requests(
    request: Request, session: Session, customer: SignedInCustomer, cursor: str | None = None
) -> Response:
    try:
        items, next_cursor = await service.list_requests(
            session, actor=customer.actor, cursor=cursor
        )
    except InvalidInput:  # an edited cursor: start the list again
        items, next_cursor = await service.list_requests(session, actor=customer.actor)
    return page(
        request,
        "portal/requests.html",
        items=items,
        next_cursor=next_cursor,
        expect={i.read.id: expectation(request, i.due, customer.timezone) for i in items},
    )


NOTICES = ("submitted", "replied", "solved", "followup")


async def _request_page(
    request: Request,
    session: Session,
    customer: PortalCustomer,
    ticket_id: int,
    *,
    status_code: int = 200,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    body: str = "",
    general: str | None = None,
) -> HTMLResponse:
    try:
        detail = await service.request_detail(session, actor=customer.actor, ticket_id=ticket_id)
    except tickets_service.TicketNotFound:
        return page(request, "portal/missing.html", status_code=404)
    summary = detail.summary
    return page(
        request,
        "portal/request.html",
        status_code=status_code,
        t=summary.read,
        summary=summary,
        detail=detail,
        customer_fields=detail.fields,
        handler=summary.handler,
        expect=expectation(request, summary.due, customer.timezone),
        attachment_base=f"/help/requests/{ticket_id}/attachments/",
        preview_of=None,
        back_url=None,
        notice=notice,
        errors=errors or {},
        body=body,
        general=general,
        max_bytes=request.app.state.settings.max_attachment_bytes,
    )


@router.get("/help/requests/{ticket_id:int}")
async def request_page(
    request: Request, session: Session, customer: SignedInCustomer, ticket_id: int,
    notice: str = "",
) -> Response:  # fmt: skip
    return await _request_page(
        request, session, customer, ticket_id, notice=notice if notice in NOTICES else None
    )


async def _files(request: Request) -> tuple[list[service.UploadedFile], str | None]:
    """The uploaded files, or the code of what is wrong with them (nothing is stored)."""
    form = await request.form()
    limit = request.app.state.settings.max_attachment_bytes
    files = []
    for item in form.getlist("files"):
        if not isinstance(item, UploadFile) or not item.filename:
            continue  # an untouched file input
        data = await item.read()
        if len(data) > limit:
            return [], "file_too_large"
        if not data:
            return [], "file_empty"
        files.append(service.UploadedFile(item.filename, item.content_type, data))
    return files, None


@router.post("/help/requests/{ticket_id:int}/reply")
async def reply(
    request: Request, session: Session, customer: SignedInCustomer, ticket_id: int
) -> Response:
    form = await request.form()
    body = str(form.get("body", ""))
    files, problem = await _files(request)
    if problem is not None:
        return await _request_page(
            request,
            session,
            customer,
            ticket_id,
            status_code=413 if "large" in problem else 400,
            errors={"files": problem},
            body=body,
        )
    if not body.strip() and not files:
        return await _request_page(
            request,
            session,
            customer,
            ticket_id,
            status_code=400,
            errors={"body": "empty_message"},
            body=body,
        )
    store = BlobStore(request.app.state.settings.attachments_dir)
    added: list[tickets_service.MessageAdded] = []

    async def call() -> None:
        added.append(
            await service.reply_to_request(
                session,
                actor=customer.actor,
                ticket_id=ticket_id,
                body=body,
                files=files,
                store=store,
                max_bytes=request.app.state.settings.max_attachment_bytes,
            )
        )

    error = await attempt(session, call)
    if error is not None:
        if isinstance(error, tickets_service.TicketNotFound):
            return page(request, "portal/missing.html", status_code=404)
        return await _request_page(
            request,
            session,
            customer,
            ticket_id,
            status_code=error.status_code,
            body=body,
            general=error.message,
        )
    result = added[0]
    if result.follow_up_of is not None:
        return see_other(f"/help/requests/{result.ticket.id}?notice=followup")
    return see_other(
        f"/help/requests/{result.ticket.id}?notice=replied#portal-message-{result.message.id}"
    )


@router.post("/help/requests/{ticket_id:int}/solve")
async def mark_solved(
    request: Request, session: Session, customer: SignedInCustomer, ticket_id: int
) -> Response:
    error: OporaError | None = await attempt(
        session, lambda: service.solve_request(session, actor=customer.actor, ticket_id=ticket_id)
    )
    if error is not None:
        if isinstance(error, tickets_service.TicketNotFound):
            return page(request, "portal/missing.html", status_code=404)
        return await _request_page(
            request,
            session,
            customer,
            ticket_id,
            status_code=error.status_code,
            general=error.message,
        )
    return see_other(f"/help/requests/{ticket_id}?notice=solved")


@router.get("/help/requests/{ticket_id:int}/attachments/{attachment_id:int}")
async def attachment(
    request: Request, session: Session, customer: SignedInCustomer, ticket_id: int,
    attachment_id: int,
) -> Response:  # fmt: skip
    try:
        await tickets_service.get_ticket(session, actor=customer.actor, ticket_id=ticket_id)
        att = await tickets_service.get_attachment(
            session, actor=customer.actor, attachment_id=attachment_id
        )
    except (tickets_service.TicketNotFound, tickets_service.AttachmentNotFound):
        return page(request, "portal/missing.html", status_code=404)
    store = BlobStore(request.app.state.settings.attachments_dir)
    return file_response(
        store.read(att.sha256), filename=att.filename, content_type=att.content_type
    )
