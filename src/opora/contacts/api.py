"""JSON API for contacts and organizations (agents)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from opora.contacts import service
from opora.contacts.models import Contact
from opora.contacts.schemas import (
    ContactCreate,
    ContactRead,
    ContactUpdate,
    IdentityRead,
    OrganizationCreate,
    OrganizationRead,
    OrganizationUpdate,
)
from opora.web.deps import AgentActor, Session, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute, tags=["contacts"])


async def contact_reads(session: Session, contacts: list[Contact]) -> list[ContactRead]:
    identities = await service.identities_by_contact(session, contacts)
    reads = []
    for c in contacts:
        read = ContactRead.model_validate(c)
        mine = identities[c.id]
        read.identities = [IdentityRead.model_validate(i) for i in mine]
        read.email = next((i.value for i in mine if i.kind == "email"), None)
        reads.append(read)
    return reads


class ContactPage(BaseModel):
    items: list[ContactRead]
    next_cursor: str | None = None


class OrganizationPage(BaseModel):
    items: list[OrganizationRead]
    next_cursor: str | None = None


@router.get("/contacts", response_model=ContactPage)
async def list_contacts(
    actor: AgentActor,
    session: Session,
    q: Annotated[str | None, Query(max_length=200)] = None,
    organization_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> ContactPage:
    contacts, next_cursor = await service.list_contacts(
        session, actor=actor, q=q, organization_id=organization_id, limit=limit, cursor=cursor
    )
    return ContactPage(items=await contact_reads(session, contacts), next_cursor=next_cursor)


@router.post("/contacts", status_code=201, response_model=ContactRead)
async def create_contact(data: ContactCreate, actor: AgentActor, session: Session) -> ContactRead:
    contact = await service.create_contact(session, actor=actor, data=data)
    return (await contact_reads(session, [contact]))[0]


@router.get("/contacts/{contact_id}", response_model=ContactRead)
async def get_contact(contact_id: int, actor: AgentActor, session: Session) -> ContactRead:
    contact = await service.get_contact(session, actor=actor, contact_id=contact_id)
    return (await contact_reads(session, [contact]))[0]


@router.patch("/contacts/{contact_id}", response_model=ContactRead)
async def update_contact(
    contact_id: int, data: ContactUpdate, actor: AgentActor, session: Session
) -> ContactRead:
    contact = await service.update_contact(session, actor=actor, contact_id=contact_id, data=data)
    return (await contact_reads(session, [contact]))[0]


@router.delete("/contacts/{contact_id}", status_code=204)
async def delete_contact(contact_id: int, actor: AgentActor, session: Session) -> Response:
    await service.deactivate_contact(session, actor=actor, contact_id=contact_id)
    return Response(status_code=204)


@router.get("/organizations", response_model=OrganizationPage)
async def list_organizations(
    actor: AgentActor,
    session: Session,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> OrganizationPage:
    orgs, next_cursor = await service.list_organizations(
        session, actor=actor, q=q, limit=limit, cursor=cursor
    )
    return OrganizationPage(
        items=[OrganizationRead.model_validate(o) for o in orgs], next_cursor=next_cursor
    )


@router.post("/organizations", status_code=201, response_model=OrganizationRead)
async def create_organization(
    data: OrganizationCreate, actor: AgentActor, session: Session
) -> OrganizationRead:
    org = await service.create_organization(session, actor=actor, data=data)
    return OrganizationRead.model_validate(org)


@router.get("/organizations/{org_id}", response_model=OrganizationRead)
async def get_organization(org_id: int, actor: AgentActor, session: Session) -> OrganizationRead:
    org = await service.get_organization(session, actor=actor, org_id=org_id)
    return OrganizationRead.model_validate(org)


@router.patch("/organizations/{org_id}", response_model=OrganizationRead)
async def update_organization(
    org_id: int, data: OrganizationUpdate, actor: AgentActor, session: Session
) -> OrganizationRead:
    org = await service.update_organization(session, actor=actor, org_id=org_id, data=data)
    return OrganizationRead.model_validate(org)


@router.delete("/organizations/{org_id}", status_code=204)
async def delete_organization(org_id: int, actor: AgentActor, session: Session) -> Response:
    await service.delete_organization(session, actor=actor, org_id=org_id)
    return Response(status_code=204)
