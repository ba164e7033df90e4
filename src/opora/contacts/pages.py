"""The people pages: contacts and organizations, each with its tickets and an edit form.

- ``GET /contacts``: a search box (email or phone beginning, a word of the name; see
  ``repository.contact_search_conditions``), the newest contacts first, a keyset cursor.
- ``GET /contacts/{id}``: the card (identities, language, time zone, technical level,
  organization, custom fields), the contact's tickets and the edit form;
  ``POST /contacts/{id}`` saves it.
- ``GET /organizations`` and ``GET /organizations/{id}``: the same for organizations,
  with their contacts and tickets; ``POST /organizations/{id}`` saves the edit form.

Tickets come from ``tickets.service.list_tickets``, which starts from
``tickets_readable_by``: an agent who sees only their groups' tickets sees only those
here too. Handlers parse the form, call one service and render; a form with mistakes is
shown again with the fields marked and the text kept (the error status rolls the request
back, and the use case runs in a savepoint, so the page shows what is stored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth import service as auth_service
from opora.auth.actor import Actor
from opora.contacts import service
from opora.contacts.models import Contact, Organization, TechnicalLevel
from opora.contacts.schemas import ContactUpdate, OrganizationUpdate
from opora.errors import InvalidInput, OporaError
from opora.fields import service as fields_service
from opora.tickets import service as tickets_service
from opora.tickets.models import Ticket
from opora.tickets.repository import TicketFilters
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.forms import attempt, see_other
from opora.web.i18n import LANGUAGES
from opora.web.page_auth import PageUser, verify_csrf
from opora.web.templating import render

router = APIRouter(
    route_class=UnitOfWorkRoute,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)

FormStr = Annotated[str, Form()]
PAGE_SIZE = 50
TICKETS_PAGE = 25
ORG_CONTACTS = 50
MAX_QUERY = 200
CONTACT_FIELDS = ("name", "technical_level", "language", "timezone", "organization")
ORG_FIELDS = ("name", "domains", "vip", "notes")


@dataclass
class TicketPage:
    tickets: list[Ticket]
    next_cursor: str | None
    cursor: str | None
    requester_names: dict[int, str] = field(default_factory=dict)


async def _actor(session: AsyncSession, user: Any) -> Actor:
    return await auth_service.actor_for_user(session, user)


def _not_found(request: Request, what: str) -> HTMLResponse:
    return render(request, "contacts/not_found.html", status_code=404, what=what)


async def _tickets(
    session: AsyncSession,
    actor: Actor,
    filters: TicketFilters,
    cursor: str | None,
    *,
    with_requesters: bool = False,
) -> TicketPage | None:
    """A page of readable tickets, the most recently updated first; None for a cursor
    this server did not give out."""
    try:
        tickets, _tags, next_cursor = await tickets_service.list_tickets(
            session,
            actor=actor,
            filters=filters,
            sort="-updated_at",
            limit=TICKETS_PAGE,
            cursor=cursor,
        )
    except InvalidInput:
        return None
    names = (
        await service.contact_names(session, [t.requester_id for t in tickets])
        if with_requesters
        else {}
    )
    return TicketPage(tickets, next_cursor, cursor, names)


def _validation_fields(exc: ValidationError, known: tuple[str, ...]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = str(err["loc"][0]) if err["loc"] else ""
        if loc == "organization_id":
            loc = "organization"
        code = "too_long" if err["type"] == "string_too_long" else "invalid"
        if loc == "timezone":
            code = "unknown_timezone"
        errors.setdefault(loc if loc in known else known[0], code)
    return errors


# -- contacts ---------------------------------------------------------------------------------


@router.get("/contacts")
async def contacts_page(
    request: Request,
    session: Session,
    user: PageUser,
    q: str = "",
    organization_id: int | None = None,
    cursor: str | None = None,
) -> Response:
    actor = await _actor(session, user)
    q = q.strip()
    organization: Organization | None = None
    if organization_id is not None:
        try:
            organization = await service.get_organization(
                session, actor=actor, org_id=organization_id
            )
        except service.OrganizationNotFound:
            return _not_found(request, "organization")
    problem: str | None = None
    contacts: list[Contact] = []
    next_cursor: str | None = None
    if len(q) > MAX_QUERY:
        problem = "too_long"
    else:
        try:
            contacts, next_cursor = await service.search_contacts(
                session,
                actor=actor,
                q=q or None,
                organization_id=organization_id,
                limit=PAGE_SIZE,
                cursor=cursor,
            )
        except InvalidInput:
            problem = "bad_cursor"
    identities = await service.identities_by_contact(session, contacts)
    org_ids = sorted({c.organization_id for c in contacts if c.organization_id})
    orgs = await service.organizations_by_id(session, actor=actor, org_ids=org_ids)
    return render(
        request,
        "contacts/list.html",
        status_code=400 if problem else 200,
        q=q,
        problem=problem,
        contacts=contacts,
        identities=identities,
        orgs=orgs,
        organization=organization,
        next_cursor=next_cursor,
        cursor=cursor if not problem else None,
    )


async def _contact_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    contact_id: int,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    cursor: str | None = None,
) -> Response:
    try:
        contact = await service.get_contact(session, actor=actor, contact_id=contact_id)
    except service.ContactNotFound:
        return _not_found(request, "contact")
    organization = None
    if contact.organization_id is not None:
        found = await service.organizations_by_id(
            session, actor=actor, org_ids=[contact.organization_id]
        )
        organization = found.get(contact.organization_id)
    tickets = await _tickets(session, actor, TicketFilters(requester_id=contact.id), cursor)
    if tickets is None:
        tickets = TicketPage([], None, None)
        status_code = 400
        errors = {**(errors or {}), "cursor": "bad_cursor"}
    defs = await fields_service.definitions(session, entity="contact")
    labels = {d.key: d.label for d in defs}
    current = {
        "name": contact.name,
        "technical_level": contact.technical_level or "",
        "language": contact.language,
        "timezone": contact.timezone,
        "organization": organization.name if organization else "",
    }
    return render(
        request,
        "contacts/contact.html",
        status_code=status_code,
        contact=contact,
        identities=(await service.identities_by_contact(session, [contact]))[contact.id],
        organization=organization,
        tickets=tickets,
        custom_fields=[
            (labels.get(key, key), value)
            for key, value in sorted(contact.custom_fields.items())
            if value not in (None, "", [])
        ],
        levels=[level.value for level in TechnicalLevel],
        languages=LANGUAGES,
        errors=errors or {},
        values={**current, **(values or {})},
        saved=request.query_params.get("saved") == "1",
    )


@router.get("/contacts/{contact_id}")
async def contact_page(
    request: Request, session: Session, user: PageUser, contact_id: int, cursor: str | None = None
) -> Response:
    actor = await _actor(session, user)
    return await _contact_page(request, session, actor, contact_id, cursor=cursor)


@router.post("/contacts/{contact_id}")
async def update_contact(
    request: Request,
    session: Session,
    user: PageUser,
    contact_id: int,
    name: FormStr = "",
    technical_level: FormStr = "",
    language: FormStr = "",
    timezone: FormStr = "",
    organization: FormStr = "",
) -> Response:
    actor = await _actor(session, user)
    values = {
        "name": name,
        "technical_level": technical_level,
        "language": language,
        "timezone": timezone,
        "organization": organization,
    }

    async def again(errors: dict[str, str]) -> Response:
        return await _contact_page(
            request, session, actor, contact_id, status_code=400, errors=errors, values=values
        )

    try:
        await service.get_contact(session, actor=actor, contact_id=contact_id)
    except service.ContactNotFound:
        return _not_found(request, "contact")
    organization_id: int | None = None
    if organization.strip():
        try:
            org = await service.find_organization_by_name(session, actor=actor, name=organization)
        except InvalidInput:
            return await again({"organization": "unknown_organization"})
        organization_id = org.id
    try:
        data = ContactUpdate(
            name=name.strip(),
            technical_level=technical_level or None,
            language=language,
            timezone=timezone.strip(),
            organization_id=organization_id,
        )
    except ValidationError as exc:
        return await again(_validation_fields(exc, CONTACT_FIELDS))
    error = await attempt(
        session,
        lambda: service.update_contact(session, actor=actor, contact_id=contact_id, data=data),
    )
    if error is not None:
        return await again(_domain_fields(error, CONTACT_FIELDS))
    return see_other(f"/contacts/{contact_id}?saved=1")


def _domain_fields(exc: OporaError, known: tuple[str, ...]) -> dict[str, str]:
    at = exc.field if exc.field in known else "form"
    if exc.field == "organization_id":
        at = "organization"
    return {at: "taken" if exc.status_code == 409 else "invalid"}


# -- organizations ----------------------------------------------------------------------------


@router.get("/organizations")
async def organizations_page(
    request: Request, session: Session, user: PageUser, q: str = "", cursor: str | None = None
) -> Response:
    actor = await _actor(session, user)
    q = q.strip()
    problem: str | None = None
    orgs: list[Organization] = []
    next_cursor: str | None = None
    if len(q) > MAX_QUERY:
        problem = "too_long"
    else:
        try:
            orgs, next_cursor = await service.search_organizations(
                session, actor=actor, q=q or None, limit=PAGE_SIZE, cursor=cursor
            )
        except InvalidInput:
            problem = "bad_cursor"
    return render(
        request,
        "contacts/organizations.html",
        status_code=400 if problem else 200,
        q=q,
        problem=problem,
        orgs=orgs,
        next_cursor=next_cursor,
        cursor=cursor if not problem else None,
    )


async def _organization_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    org_id: int,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    cursor: str | None = None,
) -> Response:
    try:
        org = await service.get_organization(session, actor=actor, org_id=org_id)
    except service.OrganizationNotFound:
        return _not_found(request, "organization")
    contacts, more_contacts = await service.search_contacts(
        session, actor=actor, organization_id=org.id, limit=ORG_CONTACTS
    )
    identities = await service.identities_by_contact(session, contacts)
    tickets = await _tickets(
        session, actor, TicketFilters(organization_id=org.id), cursor, with_requesters=True
    )
    if tickets is None:
        tickets = TicketPage([], None, None)
        status_code = 400
        errors = {**(errors or {}), "cursor": "bad_cursor"}
    current: dict[str, Any] = {
        "name": org.name,
        "domains": ", ".join(org.domains or []),
        "vip": org.vip,
        "notes": org.notes,
    }
    return render(
        request,
        "contacts/organization.html",
        status_code=status_code,
        org=org,
        contacts=contacts,
        more_contacts=more_contacts is not None,
        identities=identities,
        tickets=tickets,
        errors=errors or {},
        values={**current, **(values or {})},
        saved=request.query_params.get("saved") == "1",
    )


@router.get("/organizations/{org_id}")
async def organization_page(
    request: Request, session: Session, user: PageUser, org_id: int, cursor: str | None = None
) -> Response:
    actor = await _actor(session, user)
    return await _organization_page(request, session, actor, org_id, cursor=cursor)


def _split_domains(text: str) -> list[str]:
    return [d for d in text.replace(",", " ").split() if d]


@router.post("/organizations/{org_id}")
async def update_organization(
    request: Request,
    session: Session,
    user: PageUser,
    org_id: int,
    name: FormStr = "",
    domains: FormStr = "",
    vip: FormStr = "",
    notes: FormStr = "",
) -> Response:
    actor = await _actor(session, user)
    values: dict[str, Any] = {"name": name, "domains": domains, "vip": bool(vip), "notes": notes}

    async def again(errors: dict[str, str]) -> Response:
        return await _organization_page(
            request, session, actor, org_id, status_code=400, errors=errors, values=values
        )

    try:
        await service.get_organization(session, actor=actor, org_id=org_id)
    except service.OrganizationNotFound:
        return _not_found(request, "organization")
    bad_domains = [d for d in _split_domains(domains) if not _looks_like_domain(d)]
    if bad_domains:
        return await again({"domains": "invalid_domain"})
    try:
        data = OrganizationUpdate(
            name=name.strip(),
            domains=_split_domains(domains),
            vip=bool(vip),
            notes=notes,
        )
    except ValidationError as exc:
        return await again(_validation_fields(exc, ORG_FIELDS))
    error = await attempt(
        session,
        lambda: service.update_organization(session, actor=actor, org_id=org_id, data=data),
    )
    if error is not None:
        return await again(_domain_fields(error, ORG_FIELDS))
    return see_other(f"/organizations/{org_id}?saved=1")


def _looks_like_domain(text: str) -> bool:
    """«acme.ru», «mail.example.co.uk»: labels of letters, digits and hyphens, a dot."""
    labels = text.lower().rstrip(".").split(".")
    return len(labels) >= 2 and all(
        label
        and len(label) <= 63
        and label[0] != "-"
        and label[-1] != "-"
        and all(ch.isalnum() or ch == "-" for ch in label)
        for label in labels
    )
