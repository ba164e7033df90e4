"""The agent's new-ticket page: ``GET /tickets/new`` and ``POST /tickets/new``.

The agent names the requester (an existing contact's email, or a new one with a name),
writes the subject and the customer's request (a public first message), picks a ticket
form and fills its fields, and sets priority, type, group, assignee, tags and the channel
the request came by. The ticket is made by ``tickets.service.create_ticket``; the form's
own required fields are checked first by ``fields.service.check_form_values``, both in one
savepoint, so a mistake creates nothing and shows the page again with the field marked
and everything typed kept.

Changing the form swaps the block of form fields (htmx ``GET /tickets/new/fields``, the
typed values are sent along and kept); without JavaScript the "Apply form" button posts
the page back with the new form's fields, creating nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, QueryParams

from opora.auth import service as auth_service
from opora.auth.actor import Actor
from opora.contacts import service as contacts_service
from opora.errors import OporaError
from opora.fields import service as fields_service
from opora.fields.inputs import CF, custom_values, field_inputs, typed_custom
from opora.fields.models import FieldEntity, TicketForm
from opora.tickets import service
from opora.tickets.models import Channel, Priority, Ticket, TicketType
from opora.tickets.schemas import TicketCreate
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.forms import attempt, see_other
from opora.web.page_auth import PageUser, verify_csrf
from opora.web.templating import render

router = APIRouter(
    route_class=UnitOfWorkRoute,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)

CHANNELS = (Channel.PHONE, Channel.EMAIL, Channel.AGENT)
TEXT_INPUTS = (
    "requester_email",
    "requester_name",
    "subject",
    "body",
    "priority",
    "type",
    "group_id",
    "assignee_id",
    "tags",
    "channel",
    "form_id",
)
# a service error's field -> the input that shows it
ERROR_INPUTS = {
    "requester": "requester_email",
    "requester.email": "requester_email",
    "requester_id": "requester_email",
    "requester.name": "requester_name",
    "requester.language": "requester_email",
}


def _int_or_none(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() else None


def _raw_values(data: FormData | QueryParams) -> dict[str, Any]:
    """Everything the agent typed, as the template shows it back."""
    values: dict[str, Any] = {name: str(data.get(name, "")) for name in TEXT_INPUTS}
    values["custom"] = typed_custom(data)
    return values


def _chosen_form(forms: list[TicketForm], form_id: str | None) -> TicketForm | None:
    """The form asked for; with nothing asked, the default form; "" means no form."""
    if form_id is None:
        return next((f for f in forms if f.is_default), None)
    wanted = _int_or_none(form_id)
    return next((f for f in forms if f.id == wanted), None)


async def _page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    values: dict[str, Any],
    *,
    forms: list[TicketForm],
    form: TicketForm | None,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    general: str | None = None,
    block_only: bool = False,
) -> HTMLResponse:
    """The page (or, for htmx, only its block of form fields) with ``values`` shown."""
    fields = await fields_service.list_fields(session, entity=FieldEntity.TICKET)
    context: dict[str, Any] = {
        "values": {**values, "form_id": str(form.id) if form else ""},
        "inputs": field_inputs(fields, form, values["custom"]),
        "types": [t.value for t in TicketType],
        "errors": errors or {},
    }
    if block_only:
        return render(request, "tickets/_new_fields.html", status_code=status_code, **context)
    groups = await auth_service.list_groups(session, actor=actor)
    users = await auth_service.list_users(session, actor=actor)
    return render(
        request,
        "tickets/new.html",
        status_code=status_code,
        **context,
        forms=forms,
        form=form,
        groups=[g for g in groups if g.is_active],
        users=[u for u in users if u.is_active],
        priorities=[p.value for p in Priority],
        channels=[c.value for c in CHANNELS],
        general=general,
    )


async def _forms(session: AsyncSession, actor: Actor) -> list[TicketForm]:
    return await fields_service.list_ticket_forms(session, actor=actor, active_only=True)


def _with_form_type(values: dict[str, Any], form: TicketForm | None) -> dict[str, Any]:
    """Choosing a form sets the ticket's type to the form's, if it has one."""
    if form is not None and form.ticket_type:
        return {**values, "type": form.ticket_type}
    return values


def _defaults(form: TicketForm | None) -> dict[str, Any]:
    return {
        **dict.fromkeys(TEXT_INPUTS, ""),
        "priority": Priority.NORMAL.value,
        "type": (form.ticket_type if form and form.ticket_type else TicketType.QUESTION.value),
        "channel": Channel.PHONE.value,
        "custom": {},
    }


async def _actor(session: AsyncSession, user: Any) -> Actor:
    return await auth_service.actor_for_user(session, user)


@router.get("/tickets/new")
async def new_ticket_page(
    request: Request,
    session: Session,
    user: PageUser,
    requester_id: str = "",
    form_id: str | None = None,
) -> Response:
    actor = await _actor(session, user)
    forms = await _forms(session, actor)
    form = _chosen_form(forms, form_id)
    values = _defaults(form)
    contact_id = _int_or_none(requester_id)
    if contact_id is not None:
        try:
            contact = await contacts_service.get_contact(
                session, actor=actor, contact_id=contact_id
            )
        except OporaError:
            contact = None
        if contact is not None:
            identities = await contacts_service.identities_by_contact(session, [contact])
            emails = [i.value for i in identities[contact.id] if i.kind == "email"]
            values["requester_email"] = emails[0] if emails else ""
            values["requester_name"] = contact.name
    return await _page(request, session, actor, values, forms=forms, form=form)


@router.get("/tickets/new/fields")
async def form_fields_block(request: Request, session: Session, user: PageUser) -> Response:
    """The block of form fields for another form (htmx swaps it in), keeping the values
    typed so far; the type is set to the new form's type."""
    actor = await _actor(session, user)
    values = _raw_values(request.query_params)
    forms = await _forms(session, actor)
    form = _chosen_form(forms, values["form_id"])
    values = _with_form_type(values, form)
    return await _page(request, session, actor, values, forms=forms, form=form, block_only=True)


def _error_input(field: str | None) -> str | None:
    if field is None:
        return None
    if field.startswith("custom_fields."):
        return CF + field.removeprefix("custom_fields.")
    if field in ERROR_INPUTS:
        return ERROR_INPUTS[field]
    return field if field in TEXT_INPUTS else None


def _validation_problems(exc: ValidationError) -> dict[str, str]:
    """Pydantic's complaints, by input; one about the whole ticket is about its body."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        errors.setdefault(_error_input(loc) or "body", "invalid")
    return errors


@router.post("/tickets/new")
async def create_ticket(request: Request, session: Session, user: PageUser) -> Response:
    actor = await _actor(session, user)
    submitted = await request.form()
    values = _raw_values(submitted)
    forms = await _forms(session, actor)
    form = _chosen_form(forms, values["form_id"])
    if submitted.get("apply"):  # the no-JavaScript "Apply form": show its fields
        values = _with_form_type(values, form)
        return await _page(request, session, actor, values, forms=forms, form=form)
    if values["form_id"].strip() and form is None:
        return await _page(
            request, session, actor, values, forms=forms, form=None, status_code=400,
            errors={"form_id": "invalid"},
        )  # fmt: skip
    fields = await fields_service.list_fields(session, entity=FieldEntity.TICKET)
    custom = custom_values(field_inputs(fields, form, values["custom"]))
    errors: dict[str, str] = {}
    if not values["requester_email"].strip():
        errors["requester_email"] = "email_required"
    if not values["body"].strip():
        errors["body"] = "empty_message"
    if values["channel"] not in CHANNELS:
        errors["channel"] = "invalid"
    data: TicketCreate | None = None
    try:
        data = TicketCreate.model_validate(
            {
                "subject": values["subject"].strip(),
                "body": values["body"],
                "requester": {
                    "email": values["requester_email"].strip(),
                    "name": values["requester_name"].strip(),
                },
                "priority": values["priority"],
                "type": values["type"],
                "group_id": values["group_id"].strip() or None,
                "assignee_id": values["assignee_id"].strip() or None,
                "tags": values["tags"].replace(",", " ").split(),
                "custom_fields": custom,
                "channel": values["channel"],
            }
        )
    except ValidationError as exc:
        for name, code in _validation_problems(exc).items():
            errors.setdefault(name, code)
    if errors or data is None:
        return await _page(
            request, session, actor, values, forms=forms, form=form, status_code=400,
            errors=errors or {"body": "invalid"},
        )  # fmt: skip
    created: list[Ticket] = []

    async def call() -> None:
        assert data is not None
        if form is not None:
            await fields_service.check_form_values(
                session, actor=actor, form_id=form.id, values=data.custom_fields
            )
        created.append(await service.create_ticket(session, actor=actor, data=data))

    error = await attempt(session, call)
    if error is not None:
        at = _error_input(error.field)
        code = {"field_required": "required", "assignee_not_in_group": error.code}.get(
            error.code, "invalid"
        )
        return await _page(
            request, session, actor, values, forms=forms, form=form,
            status_code=error.status_code if error.status_code in (409, 422) else 400,
            errors={at: code} if at else {},
            general=None if at else error.message,
        )  # fmt: skip
    return see_other(f"/tickets/{created[0].id}")
