"""Customer portal use cases: sign-in by a one-time link or a password, portal sessions,
the customer's requests as they read them, marking one solved, replying, and submitting
a new one (signed in or not). Services never commit.

Limits (all here): link requests per address and per client address, failed password
sign-ins, and anonymous submissions per client address and per address are rows of
``login_attempts`` (auth's table of counted attempts) under keys of their own, counted
over a window. A database count works the same on one process and in scale-out.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth import service as auth_service
from opora.auth.actor import Actor
from opora.auth.models import Group, LoginAttempt
from opora.auth.passwords import hash_password, verify_password
from opora.auth.service import blocked_for
from opora.contacts import repository as contacts_repository
from opora.contacts import service as contacts_service
from opora.contacts.models import Contact, IdentityKind
from opora.errors import Conflict, Forbidden, InvalidInput, NotFound
from opora.fields import service as fields_service
from opora.fields.models import CustomField, TicketForm
from opora.kit.blobs import BlobStore
from opora.kit.text import normalize_email
from opora.kit.time import utcnow
from opora.notifications.service import queue_email, render_email
from opora.portal import rules
from opora.portal.models import PortalLoginLink, PortalPassword, PortalSession
from opora.tickets import repository as tickets_repository
from opora.tickets import service as tickets_service
from opora.tickets.customer import customer_read, customer_ticket, shown_fields
from opora.tickets.models import Ticket
from opora.tickets.schemas import CustomerMessageCreate, CustomerTicketCreate, CustomerTicketRead

LINK_MAX_AGE = timedelta(minutes=30)
SESSION_MAX_AGE = timedelta(days=14)
LINK_REQUEST_WINDOW = timedelta(hours=1)
LINK_REQUEST_EMAIL_LIMIT = 5  # sign-in links asked for one address per window
LINK_REQUEST_IP_LIMIT = 20  # sign-in links asked from one client address per window
SIGN_IN_WINDOW = timedelta(minutes=15)
SIGN_IN_EMAIL_LIMIT = 5  # failed password sign-ins per address per window
SIGN_IN_IP_LIMIT = 30  # failed password sign-ins per client address per window
SUBMIT_WINDOW = timedelta(hours=1)
SUBMIT_IP_LIMIT = 10  # anonymous requests per client address per window
SUBMIT_EMAIL_LIMIT = 5  # anonymous requests per address per window
PASSWORD_MIN_LENGTH = auth_service.PASSWORD_MIN_LENGTH
PASSWORD_MAX_LENGTH = auth_service.PASSWORD_MAX_LENGTH
_TOKEN_BYTES = 32
_MAX_TOKEN_CHARS = 100


class BadSignInLink(InvalidInput):
    code = "bad_sign_in_link"


class NotSolvable(Conflict):
    code = "not_solvable"


# -- finding the customer ---------------------------------------------------------------


async def contact_by_email(session: AsyncSession, email: str) -> Contact | None:
    """The active contact who owns this email address, or None."""
    if not email.strip():
        return None
    contact = await contacts_repository.contact_by_identity(
        session, IdentityKind.EMAIL, normalize_email(email)
    )
    return contact if contact is not None and contact.is_active else None


async def active_contact(session: AsyncSession, contact_id: int) -> Contact | None:
    contact = await session.get(Contact, contact_id)
    return contact if contact is not None and contact.is_active else None


async def primary_email(session: AsyncSession, contact_id: int) -> str | None:
    return await contacts_repository.primary_email(session, contact_id)


# -- limits -----------------------------------------------------------------------------


def _keys(prefix: str, email: str, ip: str, email_limit: int, ip_limit: int) -> dict[str, int]:
    keys = {f"{prefix}-ip:{ip}": ip_limit} if ip else {}
    address = normalize_email(email) if email.strip() else ""
    if address:
        keys[f"{prefix}-email:{address[:300]}"] = email_limit
    return keys


def _link_keys(email: str, ip: str) -> dict[str, int]:
    return _keys("portal-link", email, ip, LINK_REQUEST_EMAIL_LIMIT, LINK_REQUEST_IP_LIMIT)


def _sign_in_keys(email: str, ip: str) -> dict[str, int]:
    return _keys("portal-sign-in", email, ip, SIGN_IN_EMAIL_LIMIT, SIGN_IN_IP_LIMIT)


def _submit_keys(email: str, ip: str) -> dict[str, int]:
    return _keys("portal-submit", email, ip, SUBMIT_EMAIL_LIMIT, SUBMIT_IP_LIMIT)


async def _record(session: AsyncSession, keys: dict[str, int], now: datetime) -> None:
    for key in keys:
        session.add(LoginAttempt(key=key, attempted_at=now))
    await session.flush()


async def link_request_blocked(
    session: AsyncSession, *, email: str, ip: str, now: datetime | None = None
) -> timedelta | None:
    """How long sign-in links for this address or from this client are refused. The same
    for addresses we know and addresses we do not."""
    return await blocked_for(session, _link_keys(email, ip), LINK_REQUEST_WINDOW, now or utcnow())


async def sign_in_blocked(
    session: AsyncSession, *, email: str, ip: str, now: datetime | None = None
) -> timedelta | None:
    return await blocked_for(session, _sign_in_keys(email, ip), SIGN_IN_WINDOW, now or utcnow())


async def record_failed_sign_in(
    session: AsyncSession, *, email: str, ip: str, now: datetime | None = None
) -> None:
    await _record(session, _sign_in_keys(email, ip), now or utcnow())


async def clear_failed_sign_ins(session: AsyncSession, *, email: str) -> None:
    keys = [k for k in _sign_in_keys(email, "") if "-email:" in k]
    if keys:
        await session.execute(delete(LoginAttempt).where(LoginAttempt.key.in_(keys)))


async def submission_blocked(
    session: AsyncSession, *, email: str, ip: str, now: datetime | None = None
) -> timedelta | None:
    """How long anonymous requests from this client (or for this address) are refused."""
    return await blocked_for(session, _submit_keys(email, ip), SUBMIT_WINDOW, now or utcnow())


async def record_submission(
    session: AsyncSession, *, email: str, ip: str, now: datetime | None = None
) -> None:
    await _record(session, _submit_keys(email, ip), now or utcnow())


# -- sign-in links ----------------------------------------------------------------------


async def request_sign_in_link(
    session: AsyncSession,
    *,
    email: str,
    ip: str,
    base_url: str,
    next_path: str = rules.DEFAULT_AFTER_SIGN_IN,
    now: datetime | None = None,
) -> None:
    """Count the request and email a one-time sign-in link to the contact with this
    address, in the contact's language. Nothing tells the caller whether the address is
    known: an unknown one is counted the same and gets nothing."""
    now = now or utcnow()
    await _record(session, _link_keys(email, ip), now)
    contact = await contact_by_email(session, email)
    if contact is None:
        return
    raw = secrets.token_urlsafe(_TOKEN_BYTES)
    session.add(
        PortalLoginLink(
            token_hash=rules.token_hash(raw), contact_id=contact.id, created_at=now,
            expires_at=now + LINK_MAX_AGE, next_path=rules.safe_portal_path(next_path),
        )
    )  # fmt: skip
    address = normalize_email(email)
    link = f"{base_url.rstrip('/')}/help/sign-in/{raw}"
    rendered = render_email(
        "portal_sign_in",
        language=contact.language,
        name=contact.name,
        email=address,
        link=link,
        valid_minutes=int(LINK_MAX_AGE.total_seconds()) // 60,
    )
    await queue_email(
        session,
        to=str(Address(display_name=contact.name, addr_spec=address)),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        headers={"Auto-Submitted": "auto-generated"},
    )


async def valid_sign_in_link(
    session: AsyncSession, *, token: str, now: datetime | None = None
) -> PortalLoginLink | None:
    """The unused, unexpired link with this token (nothing is changed), or None."""
    if not token or len(token) > _MAX_TOKEN_CHARS:
        return None
    row = (
        await session.execute(
            select(PortalLoginLink).where(PortalLoginLink.token_hash == rules.token_hash(token))
        )
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= (now or utcnow()):
        return None
    return row


async def use_sign_in_link(
    session: AsyncSession,
    *,
    token: str,
    ip: str = "",
    user_agent: str = "",
    now: datetime | None = None,
) -> tuple[PortalSession, str, str]:
    """Spend a sign-in link (once: a compare-and-set on ``used_at``) and start a portal
    session. Returns the session row, its raw token (for the cookie) and where to go."""
    now = now or utcnow()
    bad = BadSignInLink("this sign-in link is invalid, expired or already used", field="token")
    link = await valid_sign_in_link(session, token=token, now=now)
    if link is None:
        raise bad
    spent = await session.execute(
        update(PortalLoginLink)
        .where(PortalLoginLink.id == link.id, PortalLoginLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(spent, "rowcount", 0):  # another request spent it first
        raise bad
    contact = await session.get(Contact, link.contact_id)
    if contact is None or not contact.is_active:
        raise bad
    row, raw = await start_session(session, contact=contact, ip=ip, user_agent=user_agent, now=now)
    return row, raw, rules.safe_portal_path(link.next_path)


# -- sessions ---------------------------------------------------------------------------


async def start_session(
    session: AsyncSession,
    *,
    contact: Contact,
    ip: str = "",
    user_agent: str = "",
    now: datetime | None = None,
) -> tuple[PortalSession, str]:
    if not contact.is_active:
        raise Forbidden("this contact may not sign in")
    now = now or utcnow()
    raw = secrets.token_urlsafe(_TOKEN_BYTES)
    row = PortalSession(
        token_hash=rules.token_hash(raw), contact_id=contact.id, created_at=now,
        last_seen_at=now, ip=ip[:64], user_agent=user_agent[:300],
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row, raw


async def resolve_session(
    session: AsyncSession, raw: str, *, now: datetime | None = None
) -> tuple[PortalSession, Contact] | None:
    """The live portal session with this raw token and its contact, or None: unknown,
    revoked, too old, or the contact was deactivated. One query."""
    if not raw or len(raw) > _MAX_TOKEN_CHARS:
        return None
    now = now or utcnow()
    stmt = (
        select(PortalSession, Contact)
        .join(Contact, Contact.id == PortalSession.contact_id)
        .where(
            PortalSession.token_hash == rules.token_hash(raw),
            PortalSession.revoked_at.is_(None),
            PortalSession.created_at > now - SESSION_MAX_AGE,
            Contact.is_active.is_(True),
        )
    )
    found = (await session.execute(stmt)).first()
    return (found[0], found[1]) if found is not None else None


async def end_session(session: AsyncSession, raw: str, *, now: datetime | None = None) -> None:
    if not raw or len(raw) > _MAX_TOKEN_CHARS:
        return
    await session.execute(
        update(PortalSession)
        .where(
            PortalSession.token_hash == rules.token_hash(raw), PortalSession.revoked_at.is_(None)
        )
        .values(revoked_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )


async def _revoke_sessions(
    session: AsyncSession, *, contact_id: int, keep_id: int | None, now: datetime
) -> None:
    stmt = update(PortalSession).where(
        PortalSession.contact_id == contact_id, PortalSession.revoked_at.is_(None)
    )
    if keep_id is not None:
        stmt = stmt.where(PortalSession.id != keep_id)
    await session.execute(stmt.values(revoked_at=now).execution_options(synchronize_session=False))


# -- passwords --------------------------------------------------------------------------


async def password_of(session: AsyncSession, contact_id: int) -> str | None:
    row = await session.get(PortalPassword, contact_id)
    return row.password_hash if row is not None else None


async def set_password(
    session: AsyncSession,
    *,
    actor: Actor,
    new_password: str,
    current_password: str = "",
    keep_session_id: int | None = None,
) -> None:
    """The signed-in customer sets (or changes) their portal password. Changing one needs
    the current password; the customer's other browsers are signed out."""
    if not actor.is_customer or actor.id is None:
        raise Forbidden("only a customer sets a portal password")
    existing = await session.get(PortalPassword, actor.id, with_for_update=True)
    if existing is not None and not await asyncio.to_thread(
        verify_password, existing.password_hash, current_password
    ):
        raise InvalidInput("this is not your current password", field="current_password")
    if len(new_password) < PASSWORD_MIN_LENGTH:
        raise InvalidInput(
            f"the password must be at least {PASSWORD_MIN_LENGTH} characters", field="new_password"
        )
    if len(new_password) > PASSWORD_MAX_LENGTH:
        raise InvalidInput(
            f"the password must be at most {PASSWORD_MAX_LENGTH} characters", field="new_password"
        )
    now = utcnow()
    hashed = await asyncio.to_thread(hash_password, new_password)
    if existing is None:
        session.add(PortalPassword(contact_id=actor.id, password_hash=hashed, updated_at=now))
    else:
        existing.password_hash = hashed
        existing.updated_at = now
    await _revoke_sessions(session, contact_id=actor.id, keep_id=keep_session_id, now=now)
    await session.flush()


async def set_language(session: AsyncSession, *, actor: Actor, language: str) -> Contact:
    """The signed-in customer's own language (``en`` or ``ru``): pages and emails."""
    if not actor.is_customer or actor.id is None:
        raise Forbidden("only a customer changes their own language here")
    if language not in ("en", "ru"):
        raise InvalidInput("choose en or ru", field="language")
    contact = await session.get(Contact, actor.id)
    if contact is None:
        raise NotFound("contact not found")
    contact.language = language
    contact.updated_at = utcnow()
    await session.flush()
    return contact


# -- the customer's requests -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestSummary:
    """A request as "My requests" shows it: what the customer API gives, plus who handles
    it, when to expect our answer, and where it stands."""

    read: CustomerTicketRead
    handler: str | None  # the agent's name, or the group's; None: our support team
    due: datetime | None  # when we will answer next (from the SLA); None: no promise
    steps: list[rules.Step]
    next_step: str
    requester_name: str | None  # set when a colleague (same organization) asked


@dataclass(frozen=True, slots=True)
class RequestDetail:
    summary: RequestSummary
    fields: list[CustomField]  # definitions of the customer-visible fields shown
    latest_update: Any  # the last public message of support (CustomerMessageRead) or None
    may_mark_solved: bool


async def _group_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Group.id, Group.name).where(Group.id.in_(sorted(ids))))
    return {gid: name for gid, name in rows}


def _summary(
    actor: Actor,
    ticket: Ticket,
    read: CustomerTicketRead,
    groups: dict[int, str],
    requesters: dict[int, str],
) -> RequestSummary:
    handler = read.assignee_name or (groups.get(ticket.group_id) if ticket.group_id else None)
    return RequestSummary(
        read=read,
        handler=handler or None,
        due=rules.response_due(
            ticket.status,
            ticket.first_response_due_at,
            ticket.next_response_due_at,
            ticket.first_responded_at,
        ),
        steps=rules.progress(ticket.status),
        next_step=rules.next_step(ticket.status),
        requester_name=requesters.get(ticket.requester_id)
        if ticket.requester_id != actor.id
        else None,
    )


async def list_requests(
    session: AsyncSession, *, actor: Actor, cursor: str | None = None, limit: int = 25
) -> tuple[list[RequestSummary], str | None]:
    """The customer's requests (and their organization's, where allowed), most recently
    updated first. Read with the customer as the actor: the customer scope applies."""
    if not actor.is_customer:
        raise Forbidden("only a customer has requests here")
    tickets, _, next_cursor = await tickets_service.list_tickets(
        session, actor=actor, filters=tickets_repository.TicketFilters(), limit=limit,
        cursor=cursor,
    )  # fmt: skip
    view = await tickets_service.customer_view(session, tickets=tickets, messages=[])
    groups = await _group_names(session, {t.group_id for t in tickets if t.group_id})
    others = sorted({t.requester_id for t in tickets if t.requester_id != actor.id})
    requesters = await contacts_service.contact_names(session, others) if others else {}
    items = [_summary(actor, t, customer_read(t, None, view), groups, requesters) for t in tickets]
    return items, next_cursor


async def request_detail(session: AsyncSession, *, actor: Actor, ticket_id: int) -> RequestDetail:
    """One request with its public messages (a 404 when it is not the customer's)."""
    if not actor.is_customer:
        raise Forbidden("only a customer reads a request here")
    read = await customer_ticket(session, actor=actor, ticket_id=ticket_id)
    ticket = await tickets_service.get_ticket(session, actor=actor, ticket_id=ticket_id)
    groups = await _group_names(session, {ticket.group_id} if ticket.group_id else set())
    requesters = (
        await contacts_service.contact_names(session, [ticket.requester_id])
        if ticket.requester_id != actor.id
        else {}
    )
    support = [m for m in read.messages if m.author_kind != "contact"]
    return RequestDetail(
        summary=_summary(actor, ticket, read, groups, requesters),
        fields=await shown_fields(session, read),
        latest_update=support[-1] if support else None,
        may_mark_solved=rules.may_mark_solved(ticket.status),
    )


async def solve_request(session: AsyncSession, *, actor: Actor, ticket_id: int) -> Ticket:
    """The customer says their request is solved. A solved or closed one is a conflict."""
    if not actor.is_customer or actor.id is None:
        raise Forbidden("only a customer marks their request solved here")
    ticket = await tickets_repository.get_readable_ticket(
        session, actor, ticket_id, for_update=True
    )
    if ticket is None:
        raise tickets_service.TicketNotFound(f"ticket {ticket_id} not found")
    if not rules.may_mark_solved(ticket.status):
        raise NotSolvable(f"ticket #{ticket.number} is already {ticket.status}", field="status")
    await tickets_service.mark_solved_by_customer(session, actor=actor, ticket=ticket)
    return ticket


@dataclass(frozen=True, slots=True)
class UploadedFile:
    filename: str
    content_type: str | None
    data: bytes


async def reply_to_request(
    session: AsyncSession,
    *,
    actor: Actor,
    ticket_id: int,
    body: str,
    files: list[UploadedFile],
    store: BlobStore,
    max_bytes: int,
) -> tickets_service.MessageAdded:
    """The customer's reply with files: a solved request reopens, a closed one gets a
    follow-up (``tickets.service.add_customer_message``)."""
    if not actor.is_customer:
        raise Forbidden("only a customer replies here")
    if not body.strip() and not files:
        raise InvalidInput("write a message or attach a file", field="body")
    ids = []
    for f in files:
        att = await tickets_service.upload_attachment(
            session, actor=actor, store=store, filename=f.filename, content_type=f.content_type,
            data=f.data, max_bytes=max_bytes,
        )  # fmt: skip
        ids.append(att.id)
    return await tickets_service.add_customer_message(
        session,
        actor=actor,
        ticket_id=ticket_id,
        data=CustomerMessageCreate(body=body, attachment_ids=ids),
        channel="web",
    )


# -- submitting a request -----------------------------------------------------------------


async def request_forms(session: AsyncSession, *, actor: Actor) -> list[TicketForm]:
    """The forms a customer may use (active and meant for customers)."""
    return await fields_service.list_ticket_forms(session, actor=actor, active_only=True)


async def customer_fields(session: AsyncSession) -> list[CustomField]:
    return [
        f
        for f in await fields_service.list_fields(session, entity="ticket")
        if f.visible_to_customer
    ]


async def submit_portal_request(
    session: AsyncSession,
    *,
    actor: Actor | None,
    data: CustomerTicketCreate,
    form_id: int | None,
    name: str = "",
    email: str = "",
    language: str = "en",
    channel: str = "web",
) -> Ticket:
    """A request from the portal or the web form: as the signed-in customer, or, for an
    anonymous visitor, as the contact with this email (found, or made with this name and
    language). The form's own required fields are checked, then the ticket opens through
    ``tickets.service.submit_request``."""
    if actor is None:
        if not email.strip():
            raise InvalidInput("enter your email address", field="email")
        contact, _ = await contacts_service.find_or_create_by_identity(
            session, kind=IdentityKind.EMAIL, value=email, name=name.strip()[:200],
            language=language if language in ("en", "ru") else "en",
        )  # fmt: skip
        if not contact.is_active:
            raise Forbidden("this address may not submit requests")
        actor = auth_service.actor_for_contact(contact)
    if not actor.is_customer:
        raise Forbidden("only a customer submits a request here")
    if form_id is not None:
        await fields_service.check_form_values(
            session, actor=actor, form_id=form_id, values=data.custom_fields
        )
    return await tickets_service.submit_request(session, actor=actor, data=data, channel=channel)
