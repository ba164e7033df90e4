"""JSON API of SLAs (admins): business calendars and policies."""

from __future__ import annotations

from fastapi import APIRouter, Response

from opora.sla import service
from opora.sla.calendar import CalendarError
from opora.sla.models import BusinessCalendar, SlaPolicy
from opora.sla.schemas import (
    CalendarCreate,
    CalendarRead,
    CalendarUpdate,
    HolidaysImport,
    PolicyCreate,
    PolicyRead,
    PolicyUpdate,
)
from opora.web.deps import AgentActor, Session, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1/sla", route_class=UnitOfWorkRoute, tags=["sla"])


def calendar_read(row: BusinessCalendar) -> CalendarRead:
    try:
        always = service.calendar_of(row).always_open
    except CalendarError:
        always = False
    return CalendarRead(
        id=row.id, name=row.name, timezone=row.timezone, hours=row.hours,
        holidays=row.holidays, always_open=always, created_at=row.created_at,
        updated_at=row.updated_at,
    )  # fmt: skip


def policy_read(row: SlaPolicy) -> PolicyRead:
    return PolicyRead(
        id=row.id, name=row.name, position=row.position, is_active=row.is_active,
        conditions=row.conditions, targets=row.targets, calendar_id=row.calendar_id,
        pause_on_hold=row.pause_on_hold, warning_percent=row.warning_percent,
        delay_notice=row.delay_notice, created_at=row.created_at, updated_at=row.updated_at,
    )  # fmt: skip


@router.get("/calendars", response_model=list[CalendarRead])
async def list_calendars(actor: AgentActor, session: Session) -> list[CalendarRead]:
    return [calendar_read(c) for c in await service.list_calendars(session, actor=actor)]


@router.post("/calendars", response_model=CalendarRead, status_code=201)
async def create_calendar(
    actor: AgentActor, session: Session, data: CalendarCreate
) -> CalendarRead:
    return calendar_read(await service.create_calendar(session, actor=actor, data=data))


@router.get("/calendars/{calendar_id}", response_model=CalendarRead)
async def get_calendar(actor: AgentActor, session: Session, calendar_id: int) -> CalendarRead:
    return calendar_read(await service.get_calendar(session, actor=actor, calendar_id=calendar_id))


@router.patch("/calendars/{calendar_id}", response_model=CalendarRead)
async def update_calendar(
    actor: AgentActor, session: Session, calendar_id: int, data: CalendarUpdate
) -> CalendarRead:
    return calendar_read(
        await service.update_calendar(session, actor=actor, calendar_id=calendar_id, data=data)
    )


@router.post("/calendars/{calendar_id}/holidays", response_model=CalendarRead)
async def import_holidays(
    actor: AgentActor, session: Session, calendar_id: int, data: HolidaysImport
) -> CalendarRead:
    """Holidays from CSV text (a date per line, then a name): added, or replacing."""
    row = await service.import_holidays(
        session, actor=actor, calendar_id=calendar_id, csv_text=data.csv, replace=data.replace
    )
    return calendar_read(row)


@router.delete("/calendars/{calendar_id}", status_code=204)
async def delete_calendar(actor: AgentActor, session: Session, calendar_id: int) -> Response:
    await service.delete_calendar(session, actor=actor, calendar_id=calendar_id)
    return Response(status_code=204)


@router.get("/policies", response_model=list[PolicyRead])
async def list_policies(actor: AgentActor, session: Session) -> list[PolicyRead]:
    return [policy_read(p) for p in await service.list_policies(session, actor=actor)]


@router.post("/policies", response_model=PolicyRead, status_code=201)
async def create_policy(actor: AgentActor, session: Session, data: PolicyCreate) -> PolicyRead:
    return policy_read(await service.create_policy(session, actor=actor, data=data))


@router.get("/policies/{policy_id}", response_model=PolicyRead)
async def get_policy(actor: AgentActor, session: Session, policy_id: int) -> PolicyRead:
    return policy_read(await service.get_policy(session, actor=actor, policy_id=policy_id))


@router.patch("/policies/{policy_id}", response_model=PolicyRead)
async def update_policy(
    actor: AgentActor, session: Session, policy_id: int, data: PolicyUpdate
) -> PolicyRead:
    return policy_read(
        await service.update_policy(session, actor=actor, policy_id=policy_id, data=data)
    )


@router.delete("/policies/{policy_id}", status_code=204)
async def delete_policy(actor: AgentActor, session: Session, policy_id: int) -> Response:
    await service.delete_policy(session, actor=actor, policy_id=policy_id)
    return Response(status_code=204)


@router.post("/policies/apply", status_code=200)
async def apply_to_open(actor: AgentActor, session: Session) -> dict[str, int]:
    """Give every open ticket the policy it matches now (after setting policies up)."""
    return {"tickets": await service.apply_to_open(session, actor=actor)}
