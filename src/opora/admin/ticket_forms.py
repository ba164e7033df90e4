"""Admin pages for ticket forms: the list with a form to create one, and the edit page.

The same shape as ``admin/pages.py``: only admins; a handler parses the form, calls one
service of ``fields`` in a savepoint and redirects, or shows the form again with the
fields marked and the input kept (an error status, so the request rolls back).

A form's fields are chosen in a table of the active ticket fields: a box to put the field
on the form, a number giving its place, and a box to require it on this form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from opora.admin.common import NotAdmin, admin_actor, domain_error, forbidden, validation_errors
from opora.auth.actor import Actor
from opora.errors import OporaError
from opora.fields import service as fields_service
from opora.fields.models import CustomField, FieldEntity, TicketForm
from opora.fields.schemas import TicketFormCreate, TicketFormUpdate
from opora.tickets.models import TicketType
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.forms import attempt, see_other
from opora.web.page_auth import PageUser, verify_csrf
from opora.web.templating import render

router = APIRouter(
    prefix="/admin",
    route_class=UnitOfWorkRoute,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)

TYPES = [t.value for t in TicketType]


@dataclass(frozen=True, slots=True)
class FieldRow:
    """One line of the field chooser."""

    key: str
    label: str
    type: str
    required_everywhere: bool
    on_form: bool
    order: str
    required: bool


def _rows(fields: list[CustomField], values: dict[str, Any]) -> list[FieldRow]:
    """The active ticket fields: the ones on the form first, in its order, then the rest."""
    keys: list[str] = values["field_keys"]
    orders: dict[str, str] = values["orders"]
    rows = [
        FieldRow(
            key=f.key,
            label=f.label,
            type=f.type,
            required_everywhere=f.required,
            on_form=f.key in keys,
            order=orders.get(f.key, ""),
            required=f.key in values["required_keys"],
        )
        for f in fields
    ]
    place = {k: i for i, k in enumerate(keys)}
    return sorted(rows, key=lambda r: (not r.on_form, place.get(r.key, 0)))


def _stored_values(form: TicketForm | None) -> dict[str, Any]:
    if form is None:
        return {
            "name": "",
            "name_ru": "",
            "ticket_type": "",
            "position": "0",
            "is_default": False,
            "visible_to_customers": True,
            "is_active": True,
            "field_keys": [],
            "required_keys": [],
            "orders": {},
        }
    return {
        "name": form.name,
        "name_ru": form.name_ru,
        "ticket_type": form.ticket_type or "",
        "position": str(form.position),
        "is_default": form.is_default,
        "visible_to_customers": form.visible_to_customers,
        "is_active": form.is_active,
        "field_keys": list(form.field_keys),
        "required_keys": list(form.required_keys),
        "orders": {k: str(i + 1) for i, k in enumerate(form.field_keys)},
    }


def _form_values(form: Any, fields: list[CustomField]) -> dict[str, Any]:
    """What the admin sent, as the template shows it back. The chosen fields are put in
    the order of their numbers (a field without a number goes after the numbered ones)."""
    active = [f.key for f in fields]
    chosen = [k for k in form.getlist("field_keys") if isinstance(k, str)]
    orders = {k: str(form.get(f"order.{k}", "")).strip() for k in active}

    def place(key: str) -> tuple[int, int]:
        number = orders.get(key, "")
        digits = number.lstrip("-")
        index = active.index(key) if key in active else len(active)
        return (int(number) if digits.isdigit() else 1_000_000, index)

    return {
        "name": str(form.get("name", "")).strip(),
        "name_ru": str(form.get("name_ru", "")).strip(),
        "ticket_type": str(form.get("ticket_type", "")),
        "position": str(form.get("position", "0")).strip() or "0",
        "is_default": form.get("is_default") == "on",
        "visible_to_customers": form.get("visible_to_customers") == "on",
        "is_active": form.get("is_active") == "on",
        "field_keys": sorted(chosen, key=place),
        "required_keys": [k for k in form.getlist("required_keys") if isinstance(k, str)],
        "orders": orders,
    }


def _schema_args(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": values["name"],
        "name_ru": values["name_ru"],
        "ticket_type": values["ticket_type"] or None,
        "position": values["position"],
        "field_keys": values["field_keys"],
        # a box ticked on a row that is not on the form is the service's error to name
        "required_keys": values["required_keys"],
        "is_default": values["is_default"],
        "visible_to_customers": values["visible_to_customers"],
    }


async def _active_fields(session: AsyncSession) -> list[CustomField]:
    return await fields_service.list_fields(session, entity=FieldEntity.TICKET)


# -- the list ---------------------------------------------------------------------------


async def _forms_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    saved: str | None = None,
) -> Response:
    forms = await fields_service.list_ticket_forms(session, actor=actor)
    fields = await _active_fields(session)
    values = values or _stored_values(None)
    return render(
        request,
        "admin/forms.html",
        status_code=status_code,
        forms=forms,
        rows=_rows(fields, values),
        labels={f.key: f.label for f in fields},
        types=TYPES,
        errors=errors or {},
        values=values,
        saved=saved,
    )


@router.get("/forms")
async def forms_page(
    request: Request, session: Session, user: PageUser, saved: str | None = None
) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    chosen = saved if saved in ("created", "saved", "deactivated") else None
    return await _forms_page(request, session, actor, saved=chosen)


@router.post("/forms")
async def create_form(request: Request, session: Session, user: PageUser) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    values = _form_values(await request.form(), await _active_fields(session))
    try:
        data = TicketFormCreate(**_schema_args(values))
    except ValidationError as exc:
        errors = validation_errors(exc)
        return await _forms_page(
            request, session, actor, status_code=400, errors=errors, values=values
        )

    async def call() -> None:
        await fields_service.create_ticket_form(session, actor=actor, data=data)

    error = await attempt(session, call)
    if error is not None:
        return await _forms_page(
            request, session, actor, status_code=400, errors=domain_error(error), values=values
        )
    return see_other("/admin/forms?saved=created")


# -- one form ---------------------------------------------------------------------------


async def _form_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    form_id: int,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    try:
        form = await fields_service.get_ticket_form(session, actor=actor, form_id=form_id)
    except OporaError:
        return render(request, "admin/not_found.html", status_code=404)
    fields = await _active_fields(session)
    values = values or _stored_values(form)
    return render(
        request,
        "admin/form.html",
        status_code=status_code,
        form=form,
        rows=_rows(fields, values),
        types=TYPES,
        errors=errors or {},
        values=values,
    )


@router.get("/forms/{form_id}")
async def form_page(request: Request, session: Session, user: PageUser, form_id: int) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    return await _form_page(request, session, actor, form_id)


@router.post("/forms/{form_id}")
async def update_form(request: Request, session: Session, user: PageUser, form_id: int) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    values = _form_values(await request.form(), await _active_fields(session))
    try:
        data = TicketFormUpdate(**_schema_args(values), is_active=values["is_active"])
    except ValidationError as exc:
        errors = validation_errors(exc)
        return await _form_page(
            request, session, actor, form_id, status_code=400, errors=errors, values=values
        )

    async def call() -> None:
        await fields_service.update_ticket_form(session, actor=actor, form_id=form_id, data=data)

    error = await attempt(session, call)
    if error is not None:
        if error.status_code == 404:
            return render(request, "admin/not_found.html", status_code=404)
        return await _form_page(
            request, session, actor, form_id, status_code=400,
            errors=domain_error(error), values=values,
        )  # fmt: skip
    return see_other("/admin/forms?saved=" + ("saved" if values["is_active"] else "deactivated"))
