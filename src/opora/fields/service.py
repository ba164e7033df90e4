"""Custom field definitions and the validation every entity uses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor
from opora.errors import Conflict, Forbidden, InvalidInput, NotFound
from opora.fields.models import CustomField, FieldType
from opora.fields.rules import FieldDef, validate_values
from opora.fields.schemas import CustomFieldCreate, CustomFieldUpdate
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
