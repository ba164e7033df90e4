"""Admin pages of the email channel: mailboxes and the log of incoming mail.

- ``/admin/mailboxes``: the list, with the last poll of each IMAP mailbox and how mail
  can reach Opora (IMAP polling, the SMTP/LMTP receiver, the pipe);
- ``/admin/mailboxes/new`` and ``/admin/mailboxes/{id}``: one form for every setting;
  ``.../delete`` (a confirmation, then the delete), ``.../check`` (test the IMAP
  connection: the edit page shows the outcome) and ``.../poll`` (fetch mail now: a job);
- ``/admin/mail-log``: incoming mail, newest first, and ``.../{id}/original`` (the
  message exactly as it arrived).

The same shape as ``admin/pages.py``: only admins; a handler parses the form, calls one
service of ``channels.email`` in a savepoint and redirects, or shows the form again with
the fields marked and the input kept (an error status, so the request rolls back).
Passwords are write-only: never put back into a page, an empty one keeps the stored one.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from opora.admin.common import (
    admin_or_none,
    domain_error,
    forbidden,
    not_found,
    validation_errors,
)
from opora.auth import service as auth_service
from opora.auth.actor import Actor
from opora.channels.email import imap, service
from opora.channels.email.models import (
    ImapProcessed,
    ImapSecurity,
    InboundStatus,
    Mailbox,
    SmtpSecurity,
)
from opora.channels.email.schemas import MailboxCreate, MailboxFields, MailboxUpdate
from opora.errors import OporaError
from opora.kit.blobs import BlobStore
from opora.tickets.models import Priority
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.downloads import file_response
from opora.web.forms import attempt, see_other
from opora.web.page_auth import PageUser, verify_csrf
from opora.web.templating import render

router = APIRouter(
    prefix="/admin",
    route_class=UnitOfWorkRoute,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)

IMAP_SECURITIES = [s.value for s in ImapSecurity]
SMTP_SECURITIES = [s.value for s in SmtpSecurity]
PROCESSED = [p.value for p in ImapProcessed]
PRIORITIES = [p.value for p in Priority]
STATUSES = [s.value for s in InboundStatus]
LOG_PAGE = 50

# the form's fields, as the page shows them back (passwords never are)
TEXTS = (
    "name", "address", "sender_name", "group_id", "default_priority", "response_promise_hours",
    "imap_host", "imap_port", "imap_security", "imap_username", "imap_folder",
    "imap_processed", "imap_processed_folder", "poll_interval_seconds",
    "smtp_host", "smtp_port", "smtp_security", "smtp_username",
)  # fmt: skip
CHECKBOXES = ("is_active", "send_receipt", "imap_enabled", "imap_verify_certificate")
PASSWORDS = ("imap_password", "smtp_password")


def _hours(minutes: int) -> str:
    hours = minutes / 60
    return str(int(hours)) if hours.is_integer() else f"{hours:.2f}".rstrip("0")


def _minutes(hours: str) -> int | None:
    """The response promise typed in hours (``12``, ``1.5``, ``1,5``) in minutes; None
    for what is not a number (the schema then names the field)."""
    try:
        value = float(hours.replace(",", ".").strip())
    except ValueError:
        return None
    return round(value * 60) if math.isfinite(value) else None


def _stored_values(mailbox: Mailbox | None) -> dict[str, Any]:
    source: Any = mailbox if mailbox is not None else MailboxFields()
    values: dict[str, Any] = {
        name: str(getattr(source, name))
        for name in TEXTS
        if name not in ("name", "address", "group_id", "response_promise_hours")
    }
    values.update({name: bool(getattr(source, name)) for name in CHECKBOXES})
    values["name"] = mailbox.name if mailbox else ""
    values["address"] = mailbox.address if mailbox else ""
    group_id = source.group_id
    values["group_id"] = "" if group_id is None else str(group_id)
    values["response_promise_hours"] = _hours(source.response_promise_minutes)
    return values


def _form_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in TEXTS}
    values.update({name: form.get(name) == "on" for name in CHECKBOXES})
    return values


def _schema_args(values: dict[str, Any], form: Any) -> dict[str, Any]:
    args = {k: v for k, v in values.items() if k not in ("group_id", "response_promise_hours")}
    args["group_id"] = values["group_id"] or None
    args["response_promise_minutes"] = _minutes(values["response_promise_hours"])
    args.update({name: str(form.get(name, "")) for name in PASSWORDS})
    return args


def _errors(exc: ValidationError) -> dict[str, str]:
    errors = validation_errors(exc)
    if "response_promise_minutes" in errors:
        errors["response_promise_hours"] = errors.pop("response_promise_minutes")
    return errors


async def _find(session: AsyncSession, actor: Actor, mailbox_id: int) -> Mailbox | None:
    try:
        return await service.get_mailbox(session, actor=actor, mailbox_id=mailbox_id)
    except OporaError:
        return None


# -- the list ---------------------------------------------------------------------------


@router.get("/mailboxes")
async def mailboxes_page(
    request: Request, session: Session, user: PageUser, saved: str | None = None
) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    mailboxes = await service.list_mailboxes(session, actor=actor)
    groups = await auth_service.list_groups(session, actor=actor)
    return render(
        request,
        "admin/mailboxes.html",
        mailboxes=mailboxes,
        group_names={g.id: g.name for g in groups},
        saved=saved if saved == "deleted" else None,
    )


# -- one mailbox ------------------------------------------------------------------------


async def _mailbox_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    mailbox: Mailbox | None,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    saved: str | None = None,
    check: imap.MailboxCheck | None = None,
    imap_off: bool = False,
) -> Response:
    groups = await auth_service.list_groups(session, actor=actor)
    return render(
        request,
        "admin/mailbox.html",
        status_code=status_code,
        mailbox=mailbox,
        groups=groups,
        priorities=PRIORITIES,
        imap_securities=IMAP_SECURITIES,
        smtp_securities=SMTP_SECURITIES,
        processed_choices=PROCESSED,
        errors=errors or {},
        values=values or _stored_values(mailbox),
        saved=saved,
        check=check,
        imap_off=imap_off,
    )


@router.get("/mailboxes/new")
async def new_mailbox_page(request: Request, session: Session, user: PageUser) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    return await _mailbox_page(request, session, actor, None)


@router.post("/mailboxes/new")
async def create_mailbox(request: Request, session: Session, user: PageUser) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    form = await request.form()
    values = _form_values(form)
    try:
        data = MailboxCreate(**_schema_args(values, form))
    except ValidationError as exc:
        return await _mailbox_page(
            request, session, actor, None, status_code=400, errors=_errors(exc), values=values
        )
    created: list[Mailbox] = []

    async def call() -> None:
        created.append(await service.create_mailbox(session, actor=actor, data=data))

    error = await attempt(session, call)
    if error is not None:
        return await _mailbox_page(
            request, session, actor, None, status_code=400,
            errors=domain_error(error), values=values,
        )  # fmt: skip
    return see_other(f"/admin/mailboxes/{created[0].id}?saved=created")


@router.get("/mailboxes/{mailbox_id}")
async def mailbox_page(
    request: Request, session: Session, user: PageUser, mailbox_id: int, saved: str | None = None
) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    mailbox = await _find(session, actor, mailbox_id)
    if mailbox is None:
        return not_found(request)
    chosen = saved if saved in ("created", "saved", "polling") else None
    return await _mailbox_page(request, session, actor, mailbox, saved=chosen)


@router.post("/mailboxes/{mailbox_id}")
async def update_mailbox(
    request: Request, session: Session, user: PageUser, mailbox_id: int
) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    form = await request.form()
    values = _form_values(form)
    try:
        data = MailboxUpdate(**_schema_args(values, form))
    except ValidationError as exc:
        return await _mailbox_again(request, session, actor, mailbox_id, _errors(exc), values)

    async def call() -> None:
        await service.update_mailbox(session, actor=actor, mailbox_id=mailbox_id, data=data)

    error = await attempt(session, call)
    if error is not None:
        if error.status_code == 404:
            return not_found(request)
        errors = domain_error(error)
        return await _mailbox_again(request, session, actor, mailbox_id, errors, values)
    return see_other(f"/admin/mailboxes/{mailbox_id}?saved=saved")


async def _mailbox_again(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    mailbox_id: int,
    errors: dict[str, str],
    values: dict[str, Any],
) -> Response:
    """The edit form with its mistakes marked, over the mailbox as stored (the savepoint
    undid the use case)."""
    mailbox = await _find(session, actor, mailbox_id)
    if mailbox is None:
        return not_found(request)
    return await _mailbox_page(
        request, session, actor, mailbox, status_code=400, errors=errors, values=values
    )


@router.post("/mailboxes/{mailbox_id}/check")
async def check_mailbox(
    request: Request, session: Session, user: PageUser, mailbox_id: int
) -> Response:
    """Connect to the mailbox's IMAP server as stored and count what is there (changes
    nothing); the edit page says how it went."""
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    mailbox = await _find(session, actor, mailbox_id)
    if mailbox is None:
        return not_found(request)
    try:
        check = await service.check_mailbox_connection(
            session, actor=actor, mailbox_id=mailbox.id,
            ca_file=request.app.state.settings.email_ca_file,
        )  # fmt: skip
    except service.NotImap:
        return await _mailbox_page(request, session, actor, mailbox, status_code=400, imap_off=True)
    return await _mailbox_page(request, session, actor, mailbox, check=check)


@router.post("/mailboxes/{mailbox_id}/poll")
async def poll_mailbox(
    request: Request, session: Session, user: PageUser, mailbox_id: int
) -> Response:
    """Fetch the mailbox's mail now: a job the worker runs within seconds."""
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    mailbox = await _find(session, actor, mailbox_id)
    if mailbox is None:
        return not_found(request)
    try:
        await service.request_poll(session, actor=actor, mailbox_id=mailbox.id)
    except service.NotImap:
        return await _mailbox_page(request, session, actor, mailbox, status_code=400, imap_off=True)
    return see_other(f"/admin/mailboxes/{mailbox.id}?saved=polling")


@router.get("/mailboxes/{mailbox_id}/delete")
async def confirm_delete_mailbox(
    request: Request, session: Session, user: PageUser, mailbox_id: int
) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    mailbox = await _find(session, actor, mailbox_id)
    if mailbox is None:
        return not_found(request)
    return render(request, "admin/mailbox_delete.html", mailbox=mailbox)


@router.post("/mailboxes/{mailbox_id}/delete")
async def delete_mailbox(
    request: Request, session: Session, user: PageUser, mailbox_id: int
) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)

    async def call() -> None:
        await service.delete_mailbox(session, actor=actor, mailbox_id=mailbox_id)

    if await attempt(session, call) is not None:
        return not_found(request)
    return see_other("/admin/mailboxes?saved=deleted")


# -- the log of incoming mail -----------------------------------------------------------


@router.get("/mail-log")
async def mail_log_page(
    request: Request,
    session: Session,
    user: PageUser,
    status: str | None = None,
    before_id: str | None = None,
) -> Response:
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    chosen = status or None
    before = int(before_id) if before_id and before_id.isdigit() else None
    errors: dict[str, str] = {}
    try:
        records = await service.list_inbound(
            session, actor=actor, status=chosen, before_id=before, limit=LOG_PAGE
        )
    except OporaError:
        records, errors = [], {"status": "invalid"}
    mailboxes = await service.list_mailboxes(session, actor=actor)
    older = records[-1].id if len(records) == LOG_PAGE else None
    return render(
        request,
        "admin/mail_log.html",
        status_code=400 if errors else 200,
        records=records,
        ticket_numbers=await service.ticket_numbers(
            session, [r.ticket_id for r in records if r.ticket_id is not None]
        ),
        mailbox_names={m.id: m.name for m in mailboxes},
        statuses=STATUSES,
        status=chosen or "",
        errors=errors,
        paged=before is not None,
        older=older,
    )


@router.get("/mail-log/{inbound_id}/original")
async def original(request: Request, session: Session, user: PageUser, inbound_id: int) -> Response:
    """The message exactly as it arrived (``.eml``)."""
    actor = await admin_or_none(session, user)
    if actor is None:
        return forbidden(request)
    try:
        record = await service.get_inbound(session, actor=actor, inbound_id=inbound_id)
    except OporaError:
        return not_found(request)
    store = BlobStore(request.app.state.settings.attachments_dir)
    if not store.exists(record.raw_sha256):
        return not_found(request)
    return file_response(
        store.read(record.raw_sha256), filename=f"message-{record.id}.eml",
        content_type="message/rfc822",
    )  # fmt: skip
