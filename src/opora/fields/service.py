"""Custom field definitions and the validation every entity uses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor
from opora.errors import Conflict, FieldRequired, Forbidden, InvalidInput, NotFound
from opora.fields.models import CustomField, FieldEntity, FieldType, TicketForm
from opora.fields.rules import FieldDef, key_missing, validate_values
from opora.fields.schemas import (
    CustomFieldCreate,
    CustomFieldUpdate,
    TicketFormCreate,
    TicketFormUpdate,
)
from opora.kit.time import utcnow

_CHOICE_TYPES = {FieldType.SELECT, FieldType.MULTISELECT}


async def list_fields(
    session: AsyncSession, *, entity: str, active_only: bool = True
) -> list[CustomField]:
    stmt = select(CustomField).where(CustomField.entity == entity)
    if active_only:
        stmt = stmt.where(CustomField.is_active.is_(True))
    rows = await session.execute(stmt.order_by(CustomField.position, CustomField.id))
    return list(rows.scalars())


async def definitions(
    session: AsyncSession, *, entity: str, customer_only: bool = False
) -> list[FieldDef]:
    fields = await list_fields(session, entity=entity)
    return [
        FieldDef(f.key, f.type, f.required, tuple(f.options), f.label)
        for f in fields
        if not customer_only or f.visible_to_customer
    ]


async def validate(
    session: AsyncSession,
    *,
    entity: str,
    values: dict[str, Any],
    existing: dict[str, Any] | None = None,
    enforce_required: bool = True,
    customer: bool = False,
) -> dict[str, Any]:
    # a customer can neither set nor be asked for fields hidden from customers
    defs = await definitions(session, entity=entity, customer_only=customer)
    return validate_values(defs, values, existing=existing, enforce_required=enforce_required)


def _check_options(kind: str, options: list[str]) -> None:
    if kind in _CHOICE_TYPES and not options:
        raise InvalidInput("a select field needs at least one option", field="options")
    if len(set(options)) != len(options):
        raise InvalidInput("options must be unique", field="options")


async def create_field(
    session: AsyncSession, *, actor: Actor, data: CustomFieldCreate
) -> CustomField:
    if not actor.is_admin:
        raise Forbidden("only an admin may define fields")
    _check_options(data.type, data.options)
    clash = await session.execute(
        select(CustomField.id).where(CustomField.entity == data.entity, CustomField.key == data.key)
    )
    if clash.first():
        raise Conflict(f"a {data.entity} field {data.key!r} already exists", field="key")
    field = CustomField(**data.model_dump())
    session.add(field)
    await session.flush()
    return field


async def update_field(
    session: AsyncSession, *, actor: Actor, field_id: int, data: CustomFieldUpdate
) -> CustomField:
    if not actor.is_admin:
        raise Forbidden("only an admin may change fields")
    field = await session.get(CustomField, field_id)
    if field is None:
        raise NotFound(f"custom field {field_id} not found")
    changes = data.model_dump(exclude_unset=True)
    if changes.get("options") is not None:
        _check_options(field.type, changes["options"])
    for key, value in changes.items():
        if value is not None:
            setattr(field, key, value)
    field.updated_at = utcnow()
    await session.flush()
    return field


async def delete_field(session: AsyncSession, *, actor: Actor, field_id: int) -> None:
    """Fields are deactivated, never dropped: old tickets keep their values."""
    if not actor.is_admin:
        raise Forbidden("only an admin may remove fields")
    field = await session.get(CustomField, field_id)
    if field is None:
        raise NotFound(f"custom field {field_id} not found")
    field.is_active = False
    field.required = False
    await session.flush()


# --- ticket forms ------------------------------------------------------------------------


class TicketFormNotFound(NotFound):
    pass


async def list_ticket_forms(
    session: AsyncSession, *, actor: Actor, active_only: bool = False
) -> list[TicketForm]:
    """Agents (and the system) see every form; a customer only the active forms meant
    for customers."""
    stmt = select(TicketForm)
    if actor.is_customer:
        stmt = stmt.where(TicketForm.is_active.is_(True), TicketForm.visible_to_customers.is_(True))
    elif active_only:
        stmt = stmt.where(TicketForm.is_active.is_(True))
    rows = await session.execute(stmt.order_by(TicketForm.position, TicketForm.id))
    return list(rows.scalars())


async def get_ticket_form(session: AsyncSession, *, actor: Actor, form_id: int) -> TicketForm:
    form = await session.get(TicketForm, form_id)
    hidden = (
        form is not None
        and actor.is_customer
        and not (form.is_active and form.visible_to_customers)
    )
    if form is None or hidden:
        raise TicketFormNotFound(f"ticket form {form_id} not found")
    return form


async def default_ticket_form(session: AsyncSession) -> TicketForm | None:
    rows = await session.execute(
        select(TicketForm).where(TicketForm.is_default.is_(True), TicketForm.is_active.is_(True))
    )
    return rows.scalars().first()


async def _check_form_name(session: AsyncSession, name: str, form_id: int | None) -> None:
    stmt = select(TicketForm.id).where(func.lower(TicketForm.name) == name.lower())
    if form_id is not None:
        stmt = stmt.where(TicketForm.id != form_id)
    if (await session.execute(stmt)).first():
        raise Conflict(f"a ticket form named {name!r} already exists", field="name")


async def _check_form_keys(
    session: AsyncSession, field_keys: list[str], required_keys: list[str]
) -> None:
    """Keys are active ticket fields, each once; required keys are on the form."""
    if len(set(field_keys)) != len(field_keys):
        raise InvalidInput("a field may be on a form only once", field="field_keys")
    active = {f.key for f in await list_fields(session, entity=FieldEntity.TICKET)}
    unknown = [k for k in field_keys if k not in active]
    if unknown:
        raise InvalidInput(f"there is no active ticket field {unknown[0]!r}", field="field_keys")
    if len(set(required_keys)) != len(required_keys):
        raise InvalidInput("a required field may be listed only once", field="required_keys")
    stray = [k for k in required_keys if k not in field_keys]
    if stray:
        raise InvalidInput(
            f"{stray[0]!r} is required but not on the form; add it to field_keys",
            field="required_keys",
        )


async def _make_default(session: AsyncSession, form: TicketForm) -> None:
    """At most one default: the previous one stops being it in the same transaction."""
    await session.execute(
        update(TicketForm)
        .where(TicketForm.is_default.is_(True), TicketForm.id != form.id)
        .values(is_default=False)
        .execution_options(synchronize_session="fetch")
    )
    form.is_default = True


async def create_ticket_form(
    session: AsyncSession, *, actor: Actor, data: TicketFormCreate
) -> TicketForm:
    if not actor.is_admin:
        raise Forbidden("only an admin may define ticket forms")
    await _check_form_name(session, data.name, None)
    await _check_form_keys(session, data.field_keys, data.required_keys)
    form = TicketForm(**data.model_dump(exclude={"is_default"}), is_default=False, is_active=True)
    session.add(form)
    await session.flush()
    if data.is_default:
        await _make_default(session, form)
        await session.flush()
    return form


async def update_ticket_form(
    session: AsyncSession, *, actor: Actor, form_id: int, data: TicketFormUpdate
) -> TicketForm:
    if not actor.is_admin:
        raise Forbidden("only an admin may change ticket forms")
    form = await session.get(TicketForm, form_id)
    if form is None:
        raise TicketFormNotFound(f"ticket form {form_id} not found")
    changes = data.model_dump(exclude_unset=True)
    for key in ("name", "name_ru", "field_keys", "required_keys", "position"):
        if key in changes and changes[key] is None:
            raise InvalidInput(f"{key} cannot be null", field=key)
    for key in ("is_default", "visible_to_customers", "is_active"):
        if key in changes and changes[key] is None:
            raise InvalidInput(f"{key} must be true or false", field=key)
    if "name" in changes:
        await _check_form_name(session, changes["name"], form.id)
    if "field_keys" in changes or "required_keys" in changes:
        field_keys = changes.get("field_keys", form.field_keys)
        if "required_keys" in changes:
            required_keys = changes["required_keys"]
        else:  # a field taken off the form is no longer required on it
            required_keys = [k for k in form.required_keys if k in field_keys]
        if "field_keys" in changes:
            await _check_form_keys(session, field_keys, required_keys)
        else:  # the keys already on the form stay valid even if a field was deactivated
            if len(set(required_keys)) != len(required_keys):
                raise InvalidInput(
                    "a required field may be listed only once", field="required_keys"
                )
            stray = [k for k in required_keys if k not in field_keys]
            if stray:
                raise InvalidInput(
                    f"{stray[0]!r} is required but not on the form", field="required_keys"
                )
        changes["field_keys"] = list(field_keys)
        changes["required_keys"] = list(required_keys)
    active = changes.get("is_active", form.is_active)
    if changes.get("is_default") and not active:
        raise InvalidInput("an inactive form cannot be the default", field="is_default")
    want_default = changes.pop("is_default", None)
    if want_default is False or not active:
        form.is_default = False
    for key, value in changes.items():
        setattr(form, key, value)
    form.updated_at = utcnow()
    await session.flush()
    if want_default:
        await _make_default(session, form)
        await session.flush()
    return form


async def deactivate_ticket_form(session: AsyncSession, *, actor: Actor, form_id: int) -> None:
    """Forms are deactivated, never dropped; an inactive form is nobody's default."""
    await update_ticket_form(
        session, actor=actor, form_id=form_id, data=TicketFormUpdate(is_active=False)
    )


async def check_form_values(
    session: AsyncSession, *, actor: Actor, form_id: int, values: dict[str, Any]
) -> TicketForm:
    """The fields ``form_id`` requires on top of the ones required everywhere are filled
    in ``values``; otherwise ``FieldRequired`` naming ``custom_fields.<key>``."""
    form = await get_ticket_form(session, actor=actor, form_id=form_id)
    if not form.is_active:
        raise InvalidInput("this ticket form is no longer in use", field="form_id")
    if not form.required_keys:
        return form
    labels = {f.key: f.label for f in await list_fields(session, entity=FieldEntity.TICKET)}
    for key in form.required_keys:
        if key not in labels:  # the field was deactivated after the form was made
            continue
        if key_missing(values, key) or values.get(key) is False:
            raise FieldRequired(f"{labels[key] or key} is required", field=f"custom_fields.{key}")
    return form
