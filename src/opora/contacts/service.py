"""Use cases for contacts and organizations. Services never commit."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth import cache as actor_cache
from opora.auth.actor import Actor, require_agent
from opora.contacts import repository
from opora.contacts.models import Contact, ContactIdentity, IdentityKind, Organization
from opora.contacts.schemas import (
    ContactCreate,
    ContactUpdate,
    IdentityIn,
    OrganizationCreate,
    OrganizationUpdate,
)
from opora.errors import Conflict, Forbidden, InvalidInput, NotFound
from opora.fields import service as fields
from opora.kit.pagination import decode_id_cursor, decode_text_cursor, page_of
from opora.kit.text import normalize_email
from opora.kit.time import utcnow


class ContactNotFound(NotFound):
    code = "contact_not_found"


class OrganizationNotFound(NotFound):
    code = "organization_not_found"


def normalize_identity(kind: str, value: str) -> str:
    value = value.strip()
    if kind == IdentityKind.EMAIL:
        return normalize_email(value)
    if kind == IdentityKind.PHONE:
        digits = "".join(ch for ch in value if ch.isdigit())
        if len(digits) < 5:
            raise InvalidInput("a phone number needs at least 5 digits", field="identities")
        return "+" + digits
    return value


async def _add_identity(
    session: AsyncSession, contact: Contact, ident: IdentityIn, *, primary: bool
) -> ContactIdentity:
    value = normalize_identity(ident.kind, ident.value)
    existing = await repository.find_identity(session, ident.kind, value)
    if existing is not None:
        if existing.contact_id == contact.id:
            return existing
        raise Conflict(
            f"{ident.kind} {value} already belongs to contact {existing.contact_id}",
            field="identities",
            contact_id=existing.contact_id,
        )
    identity = ContactIdentity(
        contact_id=contact.id, kind=ident.kind, value=value, is_primary=primary
    )
    session.add(identity)
    return identity


async def _check_org(session: AsyncSession, organization_id: int | None) -> None:
    if organization_id is not None and await session.get(Organization, organization_id) is None:
        raise InvalidInput(
            f"organization {organization_id} does not exist", field="organization_id"
        )


async def create_contact(session: AsyncSession, *, actor: Actor, data: ContactCreate) -> Contact:
    require_agent(actor)
    await _check_org(session, data.organization_id)
    custom = await fields.validate(session, entity="contact", values=data.custom_fields)
    organization_id = data.organization_id
    if organization_id is None and data.email:
        org = await repository.organization_by_domain(
            session, normalize_email(data.email).rpartition("@")[2]
        )
        organization_id = org.id if org else None
    contact = Contact(
        name=data.name,
        organization_id=organization_id,
        sees_organization_tickets=data.sees_organization_tickets,
        language=data.language,
        timezone=data.timezone,
        technical_level=data.technical_level,
        notes=data.notes,
        custom_fields=custom,
    )
    session.add(contact)
    await session.flush()
    idents = list(data.identities)
    if data.email:
        idents.insert(0, IdentityIn(kind=IdentityKind.EMAIL, value=data.email))
    seen_kinds: set[str] = set()
    for ident in idents:
        await _add_identity(session, contact, ident, primary=ident.kind not in seen_kinds)
        seen_kinds.add(ident.kind)
    await session.flush()
    return contact


def _new_contact(
    kind: str, value: str, name: str, language: str | None, org: Organization | None
) -> Contact:
    """A contact met through an identity: its name, else an address's local part."""
    return Contact(
        name=name or (value.partition("@")[0] if kind == IdentityKind.EMAIL else ""),
        organization_id=org.id if org else None,
        language=language or "en",
        custom_fields={},
    )


async def find_or_create_by_identity(
    session: AsyncSession,
    *,
    kind: str,
    value: str,
    name: str = "",
    language: str | None = None,
) -> tuple[Contact, bool]:
    """The contact who owns this identity, or a new one (with the organization by domain)."""
    value = normalize_identity(kind, value)
    contact = await repository.contact_by_identity(session, kind, value)
    if contact is not None:
        if name and not contact.name:
            contact.name = name
        return contact, False
    org = None
    if kind == IdentityKind.EMAIL:
        org = await repository.organization_by_domain(session, value.rpartition("@")[2])
    contact = _new_contact(kind, value, name, language, org)
    session.add(contact)
    await session.flush()
    try:
        async with session.begin_nested():
            session.add(
                ContactIdentity(contact_id=contact.id, kind=kind, value=value, is_primary=True)
            )
    except IntegrityError:  # another transaction created it first
        await session.delete(contact)
        identity = await repository.find_identity(session, kind, value)
        assert identity is not None
        found = await session.get(Contact, identity.contact_id)
        assert found is not None
        return found, False
    return contact, True


async def find_or_create_by_emails(
    session: AsyncSession, people: Sequence[tuple[str, str, str | None]]
) -> list[Contact]:
    """For each (address, name, language), in order: the contact who owns the address, or
    a new one (with the organization by domain), as ``find_or_create_by_identity`` does
    for one, in a handful of statements for them all (the email intake's batches). The
    same address twice is one contact. Another transaction creating one of the addresses
    at the same moment makes the flush fail (``IntegrityError``): retry one at a time."""
    values = [normalize_identity(IdentityKind.EMAIL, address) for address, _, _ in people]
    stmt = (
        select(ContactIdentity.value, Contact)
        .join(Contact, Contact.id == ContactIdentity.contact_id)
        .where(ContactIdentity.kind == IdentityKind.EMAIL, ContactIdentity.value.in_(set(values)))
    )
    found: dict[str, Contact] = {value: contact for value, contact in await session.execute(stmt)}
    organizations = (
        await repository.organizations_by_domain(session)
        if any(v not in found for v in values)
        else {}
    )
    created: dict[str, Contact] = {}
    result = []
    for value, (_, name, language) in zip(values, people, strict=True):
        contact = found.get(value) or created.get(value)
        if contact is None:
            org = organizations.get(value.rpartition("@")[2])
            contact = _new_contact(IdentityKind.EMAIL, value, name, language, org)
            created[value] = contact
        elif name and not contact.name:
            contact.name = name
        result.append(contact)
    if created:
        session.add_all(created.values())
        await session.flush()
        session.add_all(
            ContactIdentity(contact_id=c.id, kind=IdentityKind.EMAIL, value=v, is_primary=True)
            for v, c in created.items()
        )
    return result


async def get_contact(session: AsyncSession, *, actor: Actor, contact_id: int) -> Contact:
    stmt = repository.contacts_readable_by(actor).where(Contact.id == contact_id)
    contact = (await session.execute(stmt)).scalar_one_or_none()
    if contact is None:
        raise ContactNotFound(f"contact {contact_id} not found")
    return contact


async def update_contact(
    session: AsyncSession, *, actor: Actor, contact_id: int, data: ContactUpdate
) -> Contact:
    require_agent(actor)
    contact = await get_contact(session, actor=actor, contact_id=contact_id)
    changes = data.model_dump(exclude_unset=True)
    add = [IdentityIn(**i) for i in changes.pop("add_identities", [])]
    remove = changes.pop("remove_identity_ids", [])
    if "organization_id" in changes:
        await _check_org(session, changes["organization_id"])
        contact.organization_id = changes.pop("organization_id")
    if changes.get("custom_fields") is not None:
        contact.custom_fields = await fields.validate(
            session,
            entity="contact",
            values=changes.pop("custom_fields"),
            existing=contact.custom_fields,
        )
    changes.pop("custom_fields", None)
    for key, value in changes.items():
        if value is not None or key == "technical_level":
            setattr(contact, key, value)
    for identity_id in remove:
        identity = await session.get(ContactIdentity, identity_id)
        if identity is None or identity.contact_id != contact.id:
            raise InvalidInput(
                f"identity {identity_id} is not this contact's", field="remove_identity_ids"
            )
        await session.delete(identity)
    await session.flush()
    kinds = {i.kind for i in await repository.identities_of(session, [contact.id])}
    for ident in add:
        await _add_identity(session, contact, ident, primary=ident.kind not in kinds)
        kinds.add(ident.kind)
    contact.updated_at = utcnow()
    await session.flush()
    actor_cache.invalidate(session)  # organization access may have changed
    return contact


async def deactivate_contact(session: AsyncSession, *, actor: Actor, contact_id: int) -> None:
    """Contacts with tickets are deactivated, not deleted: history must stay readable."""
    require_agent(actor)
    contact = await get_contact(session, actor=actor, contact_id=contact_id)
    contact.is_active = False
    await session.flush()
    actor_cache.invalidate(session)


async def create_organization(
    session: AsyncSession, *, actor: Actor, data: OrganizationCreate
) -> Organization:
    require_agent(actor)
    clash = await session.execute(select(Organization.id).where(Organization.name == data.name))
    if clash.first():
        raise Conflict(f"an organization named {data.name!r} already exists", field="name")
    custom = await fields.validate(session, entity="organization", values=data.custom_fields)
    org = Organization(
        name=data.name,
        domains=sorted({d.strip().lower() for d in data.domains if d.strip()}),
        vip=data.vip,
        notes=data.notes,
        custom_fields=custom,
    )
    session.add(org)
    await session.flush()
    return org


async def get_organization(session: AsyncSession, *, actor: Actor, org_id: int) -> Organization:
    stmt = repository.organizations_readable_by(actor).where(Organization.id == org_id)
    org = (await session.execute(stmt)).scalar_one_or_none()
    if org is None:
        raise OrganizationNotFound(f"organization {org_id} not found")
    return org


async def update_organization(
    session: AsyncSession, *, actor: Actor, org_id: int, data: OrganizationUpdate
) -> Organization:
    require_agent(actor)
    org = await get_organization(session, actor=actor, org_id=org_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") and changes["name"] != org.name:
        clash = await session.execute(
            select(Organization.id).where(Organization.name == changes["name"])
        )
        if clash.first():
            raise Conflict(
                f"an organization named {changes['name']!r} already exists", field="name"
            )
    if changes.get("custom_fields") is not None:
        org.custom_fields = await fields.validate(
            session,
            entity="organization",
            values=changes.pop("custom_fields"),
            existing=org.custom_fields,
        )
    changes.pop("custom_fields", None)
    if changes.get("domains") is not None:
        changes["domains"] = sorted({d.strip().lower() for d in changes["domains"] if d.strip()})
    for key, value in changes.items():
        if value is not None:
            setattr(org, key, value)
    org.updated_at = utcnow()
    await session.flush()
    return org


async def delete_organization(session: AsyncSession, *, actor: Actor, org_id: int) -> None:
    require_agent(actor)
    if not actor.is_admin:
        raise Forbidden("only an admin may delete an organization")
    org = await get_organization(session, actor=actor, org_id=org_id)
    await session.delete(org)
    await session.flush()
    actor_cache.invalidate(session)


async def identities_by_contact(
    session: AsyncSession, contacts: list[Contact]
) -> dict[int, list[ContactIdentity]]:
    """Each contact's identities (primary first), for rendering contacts."""
    result: dict[int, list[ContactIdentity]] = {c.id: [] for c in contacts}
    for ident in await repository.identities_of(session, [c.id for c in contacts]):
        result[ident.contact_id].append(ident)
    return result


async def list_contacts(
    session: AsyncSession,
    *,
    actor: Actor,
    q: str | None = None,
    organization_id: int | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Contact], str | None]:
    require_agent(actor)
    rows = await repository.list_contacts(
        session,
        actor,
        q=q,
        organization_id=organization_id,
        after_id=decode_id_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    return page_of(rows, limit, lambda row: row.id)


async def list_organizations(
    session: AsyncSession,
    *,
    actor: Actor,
    q: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Organization], str | None]:
    require_agent(actor)
    rows = await repository.list_organizations(
        session,
        actor,
        q=q,
        after_id=decode_id_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    return page_of(rows, limit, lambda row: row.id)


async def search_contacts(
    session: AsyncSession,
    *,
    actor: Actor,
    q: str | None = None,
    organization_id: int | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Contact], str | None]:
    """The contacts pages' list: the newest first, ``q`` matched by
    ``repository.contact_search_conditions`` (email or phone beginning, name word)."""
    require_agent(actor)
    rows = await repository.search_contacts(
        session,
        actor,
        q=q,
        organization_id=organization_id,
        before_id=decode_id_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    return page_of(rows, limit, lambda row: row.id)


async def search_organizations(
    session: AsyncSession,
    *,
    actor: Actor,
    q: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Organization], str | None]:
    """Organizations by name, A to Z; ``q`` is a part of the name."""
    require_agent(actor)
    after = decode_text_cursor(cursor) if cursor else None
    rows = await repository.search_organizations(
        session, actor, q=q, after_name=after, limit=limit + 1
    )
    return page_of(rows, limit, lambda row: row.name)


async def find_organization_by_name(
    session: AsyncSession, *, actor: Actor, name: str
) -> Organization:
    """The organization with exactly this name (names are unique), for forms that name one."""
    require_agent(actor)
    org = await repository.organization_by_name(session, name.strip())
    if org is None:
        raise InvalidInput(f"there is no organization named {name!r}", field="organization")
    return org


async def contact_names(session: AsyncSession, contact_ids: list[int]) -> dict[int, str]:
    """Contact id -> name, for lists of tickets showing their requesters."""
    return await repository.contact_names(session, contact_ids)


async def organizations_by_id(
    session: AsyncSession, *, actor: Actor, org_ids: list[int]
) -> dict[int, Organization]:
    """The readable organizations among ``org_ids``, by id (one query)."""
    return await repository.organizations_by_ids(session, actor, org_ids)
