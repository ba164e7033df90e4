"""JSON API for custom field definitions."""

from __future__ import annotations

from fastapi import APIRouter, Response

from opora.fields import service
from opora.fields.models import FieldEntity
from opora.fields.schemas import CustomFieldCreate, CustomFieldRead, CustomFieldUpdate
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
