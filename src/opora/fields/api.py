"""JSON API for custom field definitions and ticket forms."""

from __future__ import annotations

from fastapi import APIRouter, Response

from opora.auth.actor import Actor
from opora.fields import service
from opora.fields.models import FieldEntity, TicketForm
from opora.fields.schemas import (
    CustomFieldCreate,
    CustomFieldRead,
    CustomFieldUpdate,
    TicketFormCreate,
    TicketFormRead,
    TicketFormUpdate,
)
from opora.web.deps import AgentActor, CurrentActor, Session, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute, tags=["custom fields"])


@router.get("/custom-fields", response_model=list[CustomFieldRead])
async def list_fields(
    actor: CurrentActor, session: Session, entity: FieldEntity = FieldEntity.TICKET
) -> list[CustomFieldRead]:
    fields = await service.list_fields(session, entity=entity, active_only=not actor.is_user)
    if actor.is_customer:  # a customer sees the fields they fill in, nothing else
        fields = [f for f in fields if f.visible_to_customer and f.entity == FieldEntity.TICKET]
    return [CustomFieldRead.model_validate(f) for f in fields]


@router.post("/custom-fields", status_code=201, response_model=CustomFieldRead)
async def create_field(
    data: CustomFieldCreate, actor: AgentActor, session: Session
) -> CustomFieldRead:
    return CustomFieldRead.model_validate(
        await service.create_field(session, actor=actor, data=data)
    )


@router.patch("/custom-fields/{field_id}", response_model=CustomFieldRead)
async def update_field(
    field_id: int, data: CustomFieldUpdate, actor: AgentActor, session: Session
) -> CustomFieldRead:
    return CustomFieldRead.model_validate(
        await service.update_field(session, actor=actor, field_id=field_id, data=data)
    )


@router.delete("/custom-fields/{field_id}", status_code=204)
async def delete_field(field_id: int, actor: AgentActor, session: Session) -> Response:
    await service.delete_field(session, actor=actor, field_id=field_id)
    return Response(status_code=204)


# --- ticket forms ------------------------------------------------------------------------


async def _read_forms(
    session: Session, actor: Actor, forms: list[TicketForm]
) -> list[TicketFormRead]:
    """A customer sees a form's fields that are shown to customers, nothing else."""
    reads = [TicketFormRead.model_validate(f) for f in forms]
    if not actor.is_customer:
        return reads
    fields = await service.list_fields(session, entity=FieldEntity.TICKET)
    shown = {f.key for f in fields if f.visible_to_customer}
    for read in reads:
        read.field_keys = [k for k in read.field_keys if k in shown]
        read.required_keys = [k for k in read.required_keys if k in shown]
    return reads


@router.get("/ticket-forms", response_model=list[TicketFormRead])
async def list_ticket_forms(
    actor: CurrentActor, session: Session, active_only: bool = False
) -> list[TicketFormRead]:
    forms = await service.list_ticket_forms(session, actor=actor, active_only=active_only)
    return await _read_forms(session, actor, forms)


@router.post("/ticket-forms", status_code=201, response_model=TicketFormRead)
async def create_ticket_form(
    data: TicketFormCreate, actor: AgentActor, session: Session
) -> TicketFormRead:
    return TicketFormRead.model_validate(
        await service.create_ticket_form(session, actor=actor, data=data)
    )


@router.get("/ticket-forms/{form_id}", response_model=TicketFormRead)
async def get_ticket_form(form_id: int, actor: CurrentActor, session: Session) -> TicketFormRead:
    form = await service.get_ticket_form(session, actor=actor, form_id=form_id)
    return (await _read_forms(session, actor, [form]))[0]


@router.patch("/ticket-forms/{form_id}", response_model=TicketFormRead)
async def update_ticket_form(
    form_id: int, data: TicketFormUpdate, actor: AgentActor, session: Session
) -> TicketFormRead:
    return TicketFormRead.model_validate(
        await service.update_ticket_form(session, actor=actor, form_id=form_id, data=data)
    )


@router.delete("/ticket-forms/{form_id}", status_code=204)
async def deactivate_ticket_form(form_id: int, actor: AgentActor, session: Session) -> Response:
    await service.deactivate_ticket_form(session, actor=actor, form_id=form_id)
    return Response(status_code=204)
