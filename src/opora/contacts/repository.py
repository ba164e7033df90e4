"""Contact and organization queries; ``readable_by`` decides who sees which records."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor
from opora.contacts.models import Contact, ContactIdentity, Organization


def contacts_readable_by(actor: Actor) -> Select[Contact]:
    stmt = select(Contact)
    if actor.is_user or actor.is_system:
        return stmt
    if actor.is_customer:
        if actor.sees_organization_tickets and actor.organization_id is not None:
            return stmt.where(
                or_(Contact.id == actor.id, Contact.organization_id == actor.organization_id)
            )
        return stmt.where(Contact.id == actor.id)
    return stmt.where(False)  # type: ignore[arg-type]


def organizations_readable_by(actor: Actor) -> Select[Organization]:
    stmt = select(Organization)
    if actor.is_user or actor.is_system:
        return stmt
    if actor.is_customer and actor.organization_id is not None:
        return stmt.where(Organization.id == actor.organization_id)
    return stmt.where(False)  # type: ignore[arg-type]


async def find_identity(session: AsyncSession, kind: str, value: str) -> ContactIdentity | None:
    stmt = select(ContactIdentity).where(
        ContactIdentity.kind == kind, ContactIdentity.value == value
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def contact_by_identity(session: AsyncSession, kind: str, value: str) -> Contact | None:
    stmt = (
        select(Contact)
        .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
        .where(ContactIdentity.kind == kind, ContactIdentity.value == value)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def identities_of(session: AsyncSession, contact_ids: list[int]) -> list[ContactIdentity]:
    if not contact_ids:
        return []
    stmt = (
        select(ContactIdentity)
        .where(ContactIdentity.contact_id.in_(contact_ids))
        .order_by(ContactIdentity.contact_id, ContactIdentity.is_primary.desc(), ContactIdentity.id)
    )
    return list((await session.execute(stmt)).scalars())


async def organization_by_domain(session: AsyncSession, domain: str) -> Organization | None:
    # domains are few per organization; the JSON list is matched in Python
    stmt = select(Organization).where(Organization.domains.is_not(None))
    for org in (await session.execute(stmt)).scalars():
        if domain in (org.domains or []):
            return org
    return None


async def list_contacts(
    session: AsyncSession,
    actor: Actor,
    *,
    q: str | None,
    organization_id: int | None,
    after_id: int | None,
    limit: int,
) -> list[Contact]:
    """Up to ``limit`` readable contacts by id, matching ``q`` in the name or an identity."""
    stmt = contacts_readable_by(actor)
    if organization_id is not None:
        stmt = stmt.where(Contact.organization_id == organization_id)
    if q and q.strip():
        like = f"%{q.strip().lower()}%"
        with_ident = select(ContactIdentity.contact_id).where(ContactIdentity.value.like(like))
        stmt = stmt.where(or_(Contact.name.ilike(like), Contact.id.in_(with_ident)))
    if after_id is not None:
        stmt = stmt.where(Contact.id > after_id)
    return list((await session.execute(stmt.order_by(Contact.id).limit(limit))).scalars())


async def list_organizations(
    session: AsyncSession, actor: Actor, *, q: str | None, after_id: int | None, limit: int
) -> list[Organization]:
    stmt = organizations_readable_by(actor)
    if q and q.strip():
        stmt = stmt.where(Organization.name.ilike(f"%{q.strip()}%"))
    if after_id is not None:
        stmt = stmt.where(Organization.id > after_id)
    return list((await session.execute(stmt.order_by(Organization.id).limit(limit))).scalars())
