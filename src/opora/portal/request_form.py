"""Submitting a request: ``/help/requests/new`` (signed-in customers and visitors) and the
embeddable web form for a company's own site, ``/embed/request-form`` with its script
``/embed/request-form.js``.

The form is the ticket form's: the chosen form's customer-visible fields in its order
(the default form at first), its required fields, its ticket type. Changing the form swaps
the block of fields (htmx ``GET /help/requests/new/fields``, typed values kept; without
JavaScript the "Apply form" button posts the page back and creates nothing). A mistake
re-renders the form with the field marked and everything typed kept, and stores nothing.

Spam: a honeypot input (``website``) people never see; a filled one is refused with a
clear message and nothing is stored. Visitors (not signed in) may send
``SUBMIT_IP_LIMIT`` requests per client address and ``SUBMIT_EMAIL_LIMIT`` per email an
hour (``portal.service``; rows in the database, so it holds across processes); more
answer 429 with the text kept.

The embedded form lives in another site's iframe, where browsers do not send our
SameSite cookie: instead of the cookie's CSRF token it carries a signed, timestamped
form token (``itsdangerous``, the app's secret key, valid ``EMBED_TOKEN_MAX_AGE``). Only
its two pages may be framed (``frame-ancestors *``); every other portal page says
``frame-ancestors 'none'``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadData, TimestampSigner
from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, QueryParams

from opora.auth.actor import Actor, ActorKind
from opora.fields.inputs import CF, custom_values, field_inputs, typed_custom
from opora.fields.models import TicketForm
from opora.kb import service as kb_service
from opora.portal import rules, service
from opora.portal.deps import PortalActor, PortalRoute, portal_language
from opora.portal.visitor import visitor_of
from opora.tickets.models import Ticket, TicketType
from opora.tickets.schemas import CustomerTicketCreate
from opora.web import i18n, sessions
from opora.web.deps import Session
from opora.web.forms import attempt, see_other
from opora.web.page_auth import verify_csrf
from opora.web.templating import render

router = APIRouter(
    route_class=PortalRoute, include_in_schema=False, dependencies=[Depends(verify_csrf)]
)
# the embedded form checks its own signed token instead of the cookie's CSRF token
embed_router = APIRouter(route_class=PortalRoute, include_in_schema=False)

TEXT_INPUTS = ("name", "email", "subject", "body", "form_id")
HONEYPOT = "website"
EMBED_FRAMING = "frame-ancestors *"
EMBED_TOKEN_MAX_AGE = 6 * 3600
_EMBED_SALT = "opora.portal.embed-form"
_EMAIL = TypeAdapter(EmailStr)
# a service error's field -> the input that shows it
ERROR_INPUTS = {"subject": "subject", "body": "body", "email": "email", "form_id": "form_id"}


def _visitor_actor(actor: Actor | None) -> Actor:
    """Who reads the forms: the customer, or a visitor seeing what customers see."""
    return actor if actor is not None else Actor(kind=ActorKind.CONTACT)


def raw_values(data: FormData | QueryParams) -> dict[str, Any]:
    """Everything typed, as the template shows it back."""
    values: dict[str, Any] = {name: str(data.get(name, "")) for name in TEXT_INPUTS}
    values["custom"] = typed_custom(data)
    return values


def chosen_form(forms: list[TicketForm], form_id: str | None) -> TicketForm | None:
    """The form asked for; with nothing (or something unknown) asked, the default form;
    None (every customer field, only the ones required everywhere required) without one."""
    wanted = int(form_id) if form_id and form_id.strip().isdigit() else None
    if wanted is not None:
        found = next((f for f in forms if f.id == wanted), None)
        if found is not None:
            return found
    return next((f for f in forms if f.is_default), None)


def embed_token(secret: str) -> str:
    return TimestampSigner(secret, salt=_EMBED_SALT).sign(b"request-form").decode()


def embed_token_ok(secret: str, token: str) -> bool:
    if not token or len(token) > 200:
        return False
    try:
        TimestampSigner(secret, salt=_EMBED_SALT).unsign(token, max_age=EMBED_TOKEN_MAX_AGE)
    except BadData:
        return False
    return True


def embed_token_valid(request: Request, token: str) -> bool:
    """Whether ``token`` is an embeddable form's token this instance signed, still valid."""
    return embed_token_ok(_secret(request), token)


def _secret(request: Request) -> str:
    return str(request.app.state.secret_key)


def _embed_language(request: Request) -> str:
    return i18n.supported(request.query_params.get("lang")) or portal_language(request)


async def _form_page(
    request: Request,
    session: AsyncSession,
    actor: Actor | None,
    values: dict[str, Any],
    *,
    embedded: bool = False,
    block_only: bool = False,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    general: str | None = None,
    minutes: int = 0,
) -> HTMLResponse:
    forms = await service.request_forms(session, actor=_visitor_actor(actor))
    form = chosen_form(forms, values["form_id"])
    fields = await service.customer_fields(session)
    lang = _embed_language(request) if embedded else portal_language(request)
    context: dict[str, Any] = {
        "values": {**values, "form_id": str(form.id) if form else ""},
        "inputs": field_inputs(fields, form, values["custom"]),
        "errors": errors or {},
    }
    if block_only:
        return render(request, "portal/_request_fields.html", lang=lang, **context)
    response = render(
        request,
        "portal/embed.html" if embedded else "portal/new_request.html",
        status_code=status_code,
        lang=lang,
        **context,
        forms=forms,
        form=form,
        has_default=any(f.is_default for f in forms),
        anonymous=actor is None,
        general=general,
        minutes=minutes,
        embedded=embedded,
        action="/embed/request-form" if embedded else "/help/requests/new",
        form_token=embed_token(_secret(request)) if embedded else "",
    )
    if embedded:
        response.headers["Content-Security-Policy"] = EMBED_FRAMING
    return response


def _defaults() -> dict[str, Any]:
    return {**dict.fromkeys(TEXT_INPUTS, ""), "custom": {}}


@router.get("/help/requests/new")
async def new_request_page(
    request: Request, session: Session, actor: PortalActor, form_id: str = "", subject: str = ""
) -> Response:
    values = {**_defaults(), "form_id": form_id, "subject": subject[:500]}
    return await _form_page(request, session, actor, values)


@router.get("/help/requests/new/fields")
async def fields_block(request: Request, session: Session, actor: PortalActor) -> Response:
    """The block of fields for another form (htmx swaps it in), keeping what was typed."""
    values = raw_values(request.query_params)
    return await _form_page(request, session, actor, values, block_only=True)


def _input_of(field: str | None) -> str | None:
    if field is None:
        return None
    if field.startswith("custom_fields."):
        return CF + field.removeprefix("custom_fields.")
    return ERROR_INPUTS.get(field)


async def _submit(
    request: Request, session: AsyncSession, actor: Actor | None, *, embedded: bool
) -> Response:
    submitted = await request.form()
    values = raw_values(submitted)

    async def again(status_code: int, **kw: Any) -> Response:
        return await _form_page(
            request, session, actor, values, embedded=embedded, status_code=status_code, **kw
        )

    if submitted.get("apply"):  # the no-JavaScript "Apply form": show its fields
        return await again(200)
    if embedded and not embed_token_valid(request, str(submitted.get("form_token", ""))):
        return await again(403, general="expired")
    if rules.honeypot_tripped(str(submitted.get(HONEYPOT, ""))):
        return await again(400, general="spam")
    errors: dict[str, str] = {}
    ip = sessions.client_ip(request)
    email = values["email"].strip()
    if actor is None:
        if not values["name"].strip():
            errors["name"] = "name_required"
        if not email:
            errors["email"] = "email_required"
        else:
            try:
                _EMAIL.validate_python(email)
            except ValidationError:
                errors["email"] = "bad_email"
        if not errors:
            wait = await service.submission_blocked(session, email=email, ip=ip)
            if wait is not None:
                minutes = max(1, int(wait.total_seconds() + 59) // 60)
                return await again(429, general="too_many", minutes=minutes)
    if not values["subject"].strip():
        errors["subject"] = "subject_required"
    if not values["body"].strip():
        errors["body"] = "body_required"
    forms = await service.request_forms(session, actor=_visitor_actor(actor))
    form = chosen_form(forms, values["form_id"])
    fields = await service.customer_fields(session)
    data: CustomerTicketCreate | None = None
    try:
        data = CustomerTicketCreate(
            subject=values["subject"].strip()[:500],
            body=values["body"],
            type=TicketType(form.ticket_type) if form and form.ticket_type else TicketType.QUESTION,
            custom_fields=custom_values(field_inputs(fields, form, values["custom"])),
        )
    except ValidationError as exc:
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "body"
            errors.setdefault(name if name in TEXT_INPUTS else "body", "invalid")
    if errors or data is None:
        return await again(400, errors=errors or {"body": "invalid"})
    created: list[Ticket] = []

    async def call() -> None:
        assert data is not None
        created.append(
            await service.submit_portal_request(
                session,
                actor=actor,
                data=data,
                form_id=form.id if form else None,
                name=values["name"],
                email=email,
                language=portal_language(request),
            )
        )

    error = await attempt(session, call)
    if error is not None:
        at = _input_of(error.field)
        code = "required" if error.code == "field_required" else "invalid"
        status = error.status_code if error.status_code in (403, 409, 422) else 400
        errors = {at: code} if at else {}
        return await again(status, errors=errors, general=None if at else "failed")
    ticket = created[0]
    if actor is None:
        await service.record_submission(session, email=email, ip=ip)
    await kb_service.record_outcome(
        session, kind="ticket", visitor=visitor_of(request), ticket_id=ticket.id
    )
    if actor is not None and not embedded:
        return see_other(f"/help/requests/{ticket.id}?notice=submitted")
    lang = _embed_language(request) if embedded else portal_language(request)
    response = render(
        request,
        "portal/embed_done.html" if embedded else "portal/submitted.html",
        lang=lang,
        number=ticket.number,
        email=email,
        embedded=embedded,
    )
    if embedded:
        response.headers["Content-Security-Policy"] = EMBED_FRAMING
    return response


@router.post("/help/requests/new")
async def submit_request(request: Request, session: Session, actor: PortalActor) -> Response:
    return await _submit(request, session, actor, embedded=False)


@embed_router.get("/embed/request-form")
async def embed_form(request: Request, session: Session, form_id: str = "") -> Response:
    values = {**_defaults(), "form_id": form_id}
    return await _form_page(request, session, None, values, embedded=True)


@embed_router.post("/embed/request-form")
async def embed_submit(request: Request, session: Session) -> Response:
    return await _submit(request, session, None, embedded=True)


EMBED_SCRIPT = """/* Opora web form: put this tag where the form should appear. */
(function () {
  var script = document.currentScript;
  if (!script) { return; }
  var origin = new URL(script.src).origin;
  var params = new URLSearchParams();
  var lang = script.getAttribute("data-lang") || document.documentElement.lang || "";
  if (lang) { params.set("lang", lang.slice(0, 2)); }
  var form = script.getAttribute("data-form-id");
  if (form) { params.set("form_id", form); }
  var frame = document.createElement("iframe");
  frame.src = origin + "/embed/request-form" + (params.toString() ? "?" + params : "");
  frame.title = script.getAttribute("data-title") || "Support request form";
  frame.loading = "lazy";
  frame.style.cssText = "width:100%;max-width:40rem;border:0;display:block;height:40rem";
  script.parentNode.insertBefore(frame, script.nextSibling);
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) { return; }
    var data = event.data || {};
    if (data.type === "opora:request-form:height" && typeof data.height === "number") {
      frame.style.height = Math.max(200, Math.ceil(data.height)) + "px";
    }
  });
})();
"""


@embed_router.get("/embed/request-form.js")
async def embed_script() -> Response:
    return Response(
        EMBED_SCRIPT,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
