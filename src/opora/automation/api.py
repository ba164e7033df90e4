"""JSON API of automation: triggers and time rules (admins), macros (agents)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from opora.automation import service
from opora.automation.models import Macro, TimeRule, Trigger
from opora.automation.schemas import (
    MacroApplied,
    MacroApply,
    MacroCreate,
    MacroPreview,
    MacroRead,
    MacroUpdate,
    TimeRuleCreate,
    TimeRuleRead,
    TimeRulesRun,
    TimeRuleUpdate,
    TriggerCreate,
    TriggerRead,
    TriggerUpdate,
)
from opora.web.deps import AgentActor, Session, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1/automation", route_class=UnitOfWorkRoute, tags=["automation"])


def trigger_read(row: Trigger) -> TriggerRead:
    return TriggerRead(
        id=row.id, name=row.name, description=row.description, position=row.position,
        is_active=row.is_active, events=row.events, conditions=row.conditions,
        actions=row.actions, created_at=row.created_at, updated_at=row.updated_at,
    )  # fmt: skip


def time_rule_read(row: TimeRule) -> TimeRuleRead:
    return TimeRuleRead(
        id=row.id, name=row.name, description=row.description, position=row.position,
        is_active=row.is_active, conditions=row.conditions, actions=row.actions,
        calendar_id=row.calendar_id, created_at=row.created_at, updated_at=row.updated_at,
    )  # fmt: skip


def macro_read(row: Macro) -> MacroRead:
    return MacroRead(
        id=row.id, name=row.name, body=row.body, visibility=row.visibility,
        actions=row.actions, position=row.position, is_active=row.is_active,
        owner_id=row.owner_id, shared=row.owner_id is None, created_at=row.created_at,
        updated_at=row.updated_at,
    )  # fmt: skip


# --- triggers -------------------------------------------------------------------------------


@router.get("/triggers", response_model=list[TriggerRead])
async def list_triggers(actor: AgentActor, session: Session) -> list[TriggerRead]:
    return [trigger_read(t) for t in await service.list_triggers(session, actor=actor)]


@router.post("/triggers", response_model=TriggerRead, status_code=201)
async def create_trigger(actor: AgentActor, session: Session, data: TriggerCreate) -> TriggerRead:
    return trigger_read(await service.create_trigger(session, actor=actor, data=data))


@router.get("/triggers/{trigger_id}", response_model=TriggerRead)
async def get_trigger(actor: AgentActor, session: Session, trigger_id: int) -> TriggerRead:
    return trigger_read(await service.get_trigger(session, actor=actor, trigger_id=trigger_id))


@router.patch("/triggers/{trigger_id}", response_model=TriggerRead)
async def update_trigger(
    actor: AgentActor, session: Session, trigger_id: int, data: TriggerUpdate
) -> TriggerRead:
    return trigger_read(
        await service.update_trigger(session, actor=actor, trigger_id=trigger_id, data=data)
    )


@router.delete("/triggers/{trigger_id}", status_code=204)
async def delete_trigger(actor: AgentActor, session: Session, trigger_id: int) -> Response:
    await service.delete_trigger(session, actor=actor, trigger_id=trigger_id)
    return Response(status_code=204)


# --- time rules -----------------------------------------------------------------------------


@router.get("/time-rules", response_model=list[TimeRuleRead])
async def list_time_rules(actor: AgentActor, session: Session) -> list[TimeRuleRead]:
    return [time_rule_read(r) for r in await service.list_time_rules(session, actor=actor)]


@router.post("/time-rules", response_model=TimeRuleRead, status_code=201)
async def create_time_rule(
    actor: AgentActor, session: Session, data: TimeRuleCreate
) -> TimeRuleRead:
    return time_rule_read(await service.create_time_rule(session, actor=actor, data=data))


@router.post("/time-rules/run", response_model=TimeRulesRun)
async def run_time_rules(actor: AgentActor, session: Session) -> TimeRulesRun:
    """Run the time rules now (what the periodic job does every minute)."""
    return await service.run_time_rules(session, actor=actor)


@router.get("/time-rules/{rule_id}", response_model=TimeRuleRead)
async def get_time_rule(actor: AgentActor, session: Session, rule_id: int) -> TimeRuleRead:
    return time_rule_read(await service.get_time_rule(session, actor=actor, rule_id=rule_id))


@router.patch("/time-rules/{rule_id}", response_model=TimeRuleRead)
async def update_time_rule(
    actor: AgentActor, session: Session, rule_id: int, data: TimeRuleUpdate
) -> TimeRuleRead:
    return time_rule_read(
        await service.update_time_rule(session, actor=actor, rule_id=rule_id, data=data)
    )


@router.delete("/time-rules/{rule_id}", status_code=204)
async def delete_time_rule(actor: AgentActor, session: Session, rule_id: int) -> Response:
    await service.delete_time_rule(session, actor=actor, rule_id=rule_id)
    return Response(status_code=204)


# --- macros ---------------------------------------------------------------------------------


@router.get("/macros", response_model=list[MacroRead])
async def list_macros(actor: AgentActor, session: Session) -> list[MacroRead]:
    """The shared macros and the agent's own."""
    return [macro_read(m) for m in await service.list_macros(session, actor=actor)]


@router.post("/macros", response_model=MacroRead, status_code=201)
async def create_macro(actor: AgentActor, session: Session, data: MacroCreate) -> MacroRead:
    return macro_read(await service.create_macro(session, actor=actor, data=data))


@router.get("/macros/{macro_id}", response_model=MacroRead)
async def get_macro(actor: AgentActor, session: Session, macro_id: int) -> MacroRead:
    return macro_read(await service.get_macro(session, actor=actor, macro_id=macro_id))


@router.patch("/macros/{macro_id}", response_model=MacroRead)
async def update_macro(
    actor: AgentActor, session: Session, macro_id: int, data: MacroUpdate
) -> MacroRead:
    return macro_read(
        await service.update_macro(session, actor=actor, macro_id=macro_id, data=data)
    )


@router.delete("/macros/{macro_id}", status_code=204)
async def delete_macro(actor: AgentActor, session: Session, macro_id: int) -> Response:
    await service.delete_macro(session, actor=actor, macro_id=macro_id)
    return Response(status_code=204)


@router.get("/macros/{macro_id}/preview", response_model=MacroPreview)
async def preview_macro(
    actor: AgentActor, session: Session, macro_id: int, ticket_id: int
) -> MacroPreview:
    return await service.preview_macro(session, actor=actor, macro_id=macro_id, ticket_id=ticket_id)


@router.post("/macros/{macro_id}/apply", response_model=MacroApplied)
async def apply_macro(
    actor: AgentActor, session: Session, macro_id: int, data: MacroApply
) -> MacroApplied:
    return await service.apply_macro(
        session, actor=actor, macro_id=macro_id, ticket_id=data.ticket_id, text=data.text
    )
