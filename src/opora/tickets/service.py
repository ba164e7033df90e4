"""Ticket use cases: one function per use case, keyword-only, never committing.

Each change writes ``TicketEvent`` rows (the timeline) and records a domain event that
is published after the commit. Authorization starts from ``tickets_readable_by``.
"""

from __future__ import annotations

import dataclasses
import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from opora import events
from opora.auth import repository as users
from opora.auth.actor import Actor, require_agent, system_actor
from opora.auth.models import Group, User
from opora.auth.service import actor_for_contact
from opora.contacts import repository as contact_repository
from opora.contacts import service as contacts
from opora.contacts.models import Contact, IdentityKind, Organization
from opora.errors import Conflict, FieldRequired, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from opora.fields import service as fields
from opora.kit.blobs import BlobStore
from opora.kit.html import html_to_text, sanitize_html
from opora.kit.text import sanitize_filename
from opora.kit.time import utcnow
from opora.search import service as search
from opora.tickets import repository, rules
from opora.tickets.models import (
    Attachment,
    AuthorKind,
    Channel,
    Counter,
    DeliveryState,
    LinkKind,
    Message,
    Tag,
    Ticket,
    TicketEvent,
    TicketFollower,
    TicketLink,
    TicketStatus,
    TicketTag,
    Visibility,
)
from opora.tickets.schemas import (
    CustomerMessageCreate,
    CustomerTicketCreate,
    EscalateIn,
    LinkCreate,
    MessageCreate,
    TicketCreate,
    TicketUpdate,
)

TICKET_NUMBER = "ticket_number"
_TAG_SPACE = re.compile(r"\s+")


class TicketNotFound(NotFound):
    code = "ticket_not_found"


class TicketClosed(Conflict):
    code = "ticket_closed"


class InvalidTransition(Conflict):
    code = "invalid_status_transition"


class NotInGroup(InvalidInput):
    code = "assignee_not_in_group"


class NoLowerLine(Conflict):
    code = "no_lower_line"


class NoHigherLine(Conflict):
    code = "no_higher_line"


class AttachmentNotFound(NotFound):
    code = "attachment_not_found"


# --- helpers -----------------------------------------------------------------------------


def _actor_columns(actor: Actor) -> dict[str, Any]:
    return {
        "actor_kind": actor.kind.value,
        "actor_user_id": actor.id if actor.is_user else None,
        "actor_contact_id": actor.id if actor.is_customer else None,
        "actor_label": actor.label,
    }


def _by(actor: Actor) -> str:
    """Who made a change, for realtime subscribers: ``user:5``, ``contact:9``, ``system:``."""
    return f"{actor.kind}:{actor.id or ''}"


def _event(
    session: AsyncSession,
    ticket_id: int,
    actor: Actor,
    kind: str,
    *,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    message_id: int | None = None,
    at: datetime | None = None,
) -> None:
    session.add(
        TicketEvent(
            ticket_id=ticket_id,
            kind=kind,
            field=field,
            old_value=old,
            new_value=new,
            message_id=message_id,
            created_at=at or utcnow(),
            **_actor_columns(actor),
        )
    )


def normalize_tag(name: str) -> str:
    tag = _TAG_SPACE.sub("-", name.strip().lower())
    if not tag:
        raise InvalidInput("a tag cannot be empty", field="tags")
    if len(tag) > 100:
        raise InvalidInput(f"tag {tag[:20]}… is longer than 100 characters", field="tags")
    return tag


async def _tag_ids(session: AsyncSession, names: list[str]) -> dict[str, int]:
    """Ids of these tags, creating the missing ones."""
    wanted = sorted({normalize_tag(n) for n in names})
    if not wanted:
        return {}
    rows = await session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(wanted)))
    found = {name: tag_id for name, tag_id in rows}
    missing = [n for n in wanted if n not in found]
    if not missing:  # the usual case: tags are a small, settled vocabulary
        return found
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    await session.execute(
        insert(Tag)
        .values([{"name": n, "created_at": now} for n in missing])
        .on_conflict_do_nothing(index_elements=["name"])  # another transaction's same tag
    )
    rows = await session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(missing)))
    return found | {name: tag_id for name, tag_id in rows}


async def _next_numbers(session: AsyncSession, count: int = 1) -> int:
    """Take ``count`` consecutive ticket numbers; returns the first. Gap-free: the counter
    row is updated in the caller's transaction, so a rollback gives the numbers back."""
    stmt = (
        update(Counter)
        .where(Counter.name == TICKET_NUMBER)
        .values(value=Counter.value + count)
        .returning(Counter.value)
    )
    value = (await session.execute(stmt)).scalar_one_or_none()
    if value is None:  # the first ticket: create the counter, racing other first tickets
        start = (await session.execute(select(func.max(Ticket.number)))).scalar() or 0
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        await session.execute(
            insert(Counter)
            .values(name=TICKET_NUMBER, value=start)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        value = (await session.execute(stmt)).scalar_one()
    return int(value) - count + 1


async def _group(session: AsyncSession, group_id: int, field: str = "group_id") -> Group:
    group = await session.get(Group, group_id)
    if group is None or not group.is_active:
        raise InvalidInput(f"group {group_id} does not exist", field=field)
    return group


async def _check_assignee(
    session: AsyncSession, assignee_id: int, group_id: int | None, field: str = "assignee_id"
) -> User:
    user = await users.get_user(session, assignee_id)
    if user is None or not user.is_active:
        raise InvalidInput(f"user {assignee_id} is not an active agent", field=field)
    if group_id is not None and not await users.is_member(
        session, user_id=assignee_id, group_id=group_id
    ):
        raise NotInGroup(
            f"{user.name} is not a member of the ticket's group; add them to it or pick "
            "another group",
            field=field,
        )
    return user


def _body(body: str, html: str | None) -> tuple[str, str]:
    if html and html.strip():
        clean = sanitize_html(html)
        return (body.strip() or html_to_text(clean)), clean
    return body.strip(), ""


async def _claim_attachments(
    session: AsyncSession, actor: Actor, attachment_ids: list[int], message_id: int
) -> list[Attachment]:
    return await _claim_attachments_of(session, [(actor, attachment_ids, message_id)])


async def _claim_attachments_of(
    session: AsyncSession, claims: list[tuple[Actor, list[int], int]]
) -> list[Attachment]:
    """Attach unused uploads to new messages: (who claims, upload ids, message id) each,
    read in one query."""
    wanted = [aid for _, ids, _ in claims for aid in ids]
    if not wanted:
        return []
    rows = await session.execute(select(Attachment).where(Attachment.id.in_(wanted)))
    found = {a.id: a for a in rows.scalars()}
    claimed = []
    for actor, attachment_ids, message_id in claims:
        for aid in attachment_ids:
            att = found.get(aid)
            owner_ok = att is not None and (
                (actor.is_user and att.uploaded_by_user_id == actor.id)
                or (actor.is_customer and att.uploaded_by_contact_id == actor.id)
                or actor.is_system
            )
            if att is None or not owner_ok or att.message_id is not None:
                raise InvalidInput(
                    f"attachment {aid} is not an unused upload of yours", field="attachment_ids"
                )
            att.message_id = message_id
            claimed.append(att)
    return claimed


# --- reading -----------------------------------------------------------------------------


async def get_ticket(session: AsyncSession, *, actor: Actor, ticket_id: int) -> Ticket:
    ticket = await repository.get_readable_ticket(session, actor, ticket_id)
    if ticket is None:
        raise TicketNotFound(f"ticket {ticket_id} not found")
    return ticket


async def ticket_by_number(session: AsyncSession, *, actor: Actor, number: int) -> Ticket:
    """The readable ticket with this number (what agents see, "#1042"), not its id."""
    stmt = repository.tickets_readable_by(actor).where(Ticket.number == number)
    ticket = (await session.execute(stmt)).scalar_one_or_none()
    if ticket is None:
        raise TicketNotFound(f"ticket #{number} not found", field="number")
    return ticket


async def linked_tickets(
    session: AsyncSession, *, actor: Actor, links: list[TicketLink]
) -> dict[int, Ticket]:
    """The readable tickets at the other ends of ``links``, by id (for their numbers)."""
    ids = {i for link in links for i in (link.source_id, link.target_id) if i is not None}
    if not ids:
        return {}
    stmt = repository.tickets_readable_by(actor).where(Ticket.id.in_(sorted(ids)))
    return {t.id: t for t in (await session.execute(stmt)).scalars()}


@dataclass(frozen=True, slots=True)
class TicketDetail:
    ticket: Ticket
    tags: list[str]
    messages: list[Message]
    attachments: dict[int, list[Attachment]]
    follower_contact_ids: list[int]
    links: list[TicketLink]


async def get_ticket_detail(session: AsyncSession, *, actor: Actor, ticket_id: int) -> TicketDetail:
    ticket = await get_ticket(session, actor=actor, ticket_id=ticket_id)
    messages = await repository.ticket_messages(session, actor, ticket_id)
    by_message: dict[int, list[Attachment]] = {}
    for att in await repository.attachments_of(session, [m.id for m in messages]):
        by_message.setdefault(att.message_id or 0, []).append(att)
    followers = await repository.followers_of(session, ticket_id)
    return TicketDetail(
        ticket=ticket,
        tags=(await repository.tags_of(session, [ticket_id]))[ticket_id],
        messages=messages,
        attachments=by_message,
        follower_contact_ids=[f.contact_id for f in followers if f.contact_id is not None],
        links=await repository.links_of(session, ticket_id) if not actor.is_customer else [],
    )


async def with_text_query(
    session: AsyncSession, *, actor: Actor, filters: repository.TicketFilters, query: str | None
) -> repository.TicketFilters:
    """``filters`` narrowed to the tickets whose text matches ``query`` (notes too, for
    agents); unchanged without a query. A query with no words is an ``InvalidInput``."""
    if not query or not query.strip():
        return filters
    matching = search.matching_ticket_ids(
        session.get_bind().dialect.name,
        query,
        include_internal=not actor.is_customer,
    )
    if matching is None:
        raise InvalidInput("the search has no words to look for", field="q")
    many = await search.matches_many(session, query, include_internal=not actor.is_customer)
    return dataclasses.replace(filters, ticket_ids=matching, many_ticket_ids=many)


async def list_tickets(
    session: AsyncSession,
    *,
    actor: Actor,
    filters: repository.TicketFilters,
    query: str | None = None,
    sort: str = "-updated_at",
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Ticket], dict[int, list[str]], str | None]:
    filters = await with_text_query(session, actor=actor, filters=filters, query=query)
    tickets, next_cursor = await repository.list_tickets(
        session, actor, filters, sort=sort, limit=limit, cursor=cursor
    )
    tags = await repository.tags_of(session, [t.id for t in tickets])
    return tickets, tags, next_cursor


async def ticket_timeline(
    session: AsyncSession, *, actor: Actor, ticket_id: int
) -> list[TicketEvent]:
    require_agent(actor)
    await get_ticket(session, actor=actor, ticket_id=ticket_id)
    return await repository.events_of(session, ticket_id)


@dataclass(frozen=True, slots=True)
class TicketWorkspace:
    """Everything the agent's ticket page shows besides the ticket detail."""

    detail: TicketDetail
    events: list[TicketEvent]
    requester: Contact
    requester_email: str | None
    organization: Organization | None
    previous_tickets: list[Ticket]  # the requester's last ten other tickets
    previous_org_tickets: list[Ticket]  # the organization's last ten others (not the requester's)
    groups: list[Group]
    assignable: list[User]  # members of the ticket's group (anyone active without a group)
    user_names: dict[int, str]
    author_names: dict[tuple[str, int], str]


async def get_ticket_workspace(
    session: AsyncSession, *, actor: Actor, ticket_id: int, extra_user_ids: tuple[int, ...] = ()
) -> TicketWorkspace:
    """The ticket page: detail, timeline events, the requester's card and earlier tickets,
    and the choices of the edit form. ``extra_user_ids`` get names too (a submitted
    assignee shown back after an error)."""
    require_agent(actor)
    detail = await get_ticket_detail(session, actor=actor, ticket_id=ticket_id)
    ticket = detail.ticket
    events_ = await repository.events_of(session, ticket_id)
    requester = await session.get(Contact, ticket.requester_id)
    assert requester is not None  # requester_id is a RESTRICT foreign key
    emails = [
        i.value
        for i in await contact_repository.identities_of(session, [requester.id])
        if i.kind == IdentityKind.EMAIL
    ]
    organization_id = ticket.organization_id or requester.organization_id
    organization = (
        await session.get(Organization, organization_id) if organization_id is not None else None
    )
    assignable = await repository.assignable_users(session, ticket.group_id)
    wanted = {e.actor_user_id for e in events_ if e.actor_user_id}
    for e in events_:
        if e.field == "assignee_id":
            wanted |= {v for v in (e.old_value, e.new_value) if isinstance(v, int)}
    wanted |= set(extra_user_ids)
    if ticket.assignee_id:
        wanted.add(ticket.assignee_id)
    names = {u.id: u.name for u in assignable}
    names |= await repository.user_names(session, sorted(wanted - set(names)))
    return TicketWorkspace(
        detail=detail,
        events=events_,
        requester=requester,
        requester_email=emails[0] if emails else None,
        organization=organization,
        previous_tickets=await repository.previous_tickets(
            session, actor, requester.id, exclude_id=ticket.id
        ),
        previous_org_tickets=await repository.organization_tickets(
            session, actor, organization.id, exclude_id=ticket.id, exclude_requester_id=requester.id
        )
        if organization is not None
        else [],
        groups=await repository.active_groups(session),
        assignable=assignable,
        user_names=names,
        author_names=await repository.author_names(session, detail.messages),
    )


@dataclass(frozen=True, slots=True)
class CustomerView:
    """What rendering tickets for their customer needs besides the tickets themselves."""

    author_names: dict[tuple[str, int], str]
    assignee_names: dict[int, str]
    shown_fields: frozenset[str]  # keys of the custom fields a customer may see


async def customer_view(
    session: AsyncSession, *, tickets: list[Ticket], messages: list[Message]
) -> CustomerView:
    defs = await fields.definitions(session, entity="ticket", customer_only=True)
    return CustomerView(
        author_names=await repository.author_names(session, messages),
        assignee_names=await repository.user_names(
            session, sorted({t.assignee_id for t in tickets if t.assignee_id})
        ),
        shown_fields=frozenset(d.key for d in defs),
    )


async def message_attachments(session: AsyncSession, message: Message) -> list[Attachment]:
    return await repository.attachments_of(session, [message.id])


# --- creating ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _NewTicket:
    """One ticket for ``_insert_tickets``: who opens it for whom, and its first message."""

    actor: Actor
    requester: Contact
    subject: str
    body: str
    html: str
    priority: str
    type_: str
    channel: str
    status: str
    group: Group | None
    assignee_id: int | None
    tags: list[str]
    custom: dict[str, Any]
    attachment_ids: list[int]
    submitted_by_user_id: int | None = None
    external_id: str | None = None
    extra: dict[str, Any] | None = None
    quiet: bool = False
    follow_up_of: int | None = None


async def _insert_ticket(session: AsyncSession, **fields: Any) -> Ticket:
    return (await _insert_tickets(session, [_NewTicket(**fields)]))[0]


async def _insert_tickets(session: AsyncSession, specs: list[_NewTicket]) -> list[Ticket]:
    """Insert tickets with their first messages, timeline rows and search documents.

    Many at once cost a handful of statements (one flush per table), not a handful per
    ticket: the email intake opens a whole IMAP poll's new requests this way. One ticket
    is the same code with a list of one."""
    now = utcnow()
    first_number = await _next_numbers(session, len(specs))
    tickets = [
        Ticket(
            number=first_number + i,
            subject=spec.subject.strip(),
            status=spec.status,
            priority=spec.priority,
            type=spec.type_,
            channel=spec.channel,
            requester_id=spec.requester.id,
            organization_id=spec.requester.organization_id,
            group_id=spec.group.id if spec.group else None,
            line=spec.group.line if spec.group else 1,
            assignee_id=spec.assignee_id,
            assigned_at=now if spec.assignee_id is not None else None,
            custom_fields=spec.custom,
            resolution={},
            created_at=now,
            updated_at=now,
            status_changed_at=now,
            last_customer_message_at=now,
        )
        for i, spec in enumerate(specs)
    ]
    session.add_all(tickets)
    await session.flush()
    messages = [
        Message(
            ticket_id=ticket.id,
            visibility=Visibility.PUBLIC,
            author_kind=AuthorKind.CONTACT,
            author_contact_id=spec.requester.id,
            body_text=spec.body,
            body_html=spec.html,
            channel=spec.channel,
            external_id=spec.external_id,
            delivery_state=DeliveryState.NONE,
            extra={
                **(spec.extra or {}),
                **(
                    {"submitted_by_user_id": spec.submitted_by_user_id}
                    if spec.submitted_by_user_id
                    else {}
                ),
            },
            created_at=now,
        )
        for ticket, spec in zip(tickets, specs, strict=True)
    ]
    session.add_all(messages)
    await session.flush()
    await _claim_attachments_of(
        session,
        [
            (spec.actor, spec.attachment_ids, message.id)
            for spec, message in zip(specs, messages, strict=True)
        ],
    )
    first_messages = session.info.setdefault(_FIRST_MESSAGES, {})
    keep = session.info.setdefault(_KEEP, [])
    for ticket, message, spec in zip(tickets, messages, specs, strict=True):
        if spec.tags:
            tag_ids = await _tag_ids(session, spec.tags)
            session.add_all(TicketTag(ticket_id=ticket.id, tag_id=tid) for tid in tag_ids.values())
        snapshot = {
            "number": ticket.number,
            "status": spec.status,
            "priority": spec.priority,
            "type": spec.type_,
            "channel": spec.channel,
            "group_id": ticket.group_id,
            "assignee_id": spec.assignee_id,
            "tags": sorted({normalize_tag(t) for t in spec.tags}),
        }
        _event(session, ticket.id, spec.actor, "created", new=snapshot, message_id=message.id,
               at=now)  # fmt: skip
        await search.index_new_ticket(
            session, ticket_id=ticket.id, subject=ticket.subject, body=spec.body
        )
        first_messages[ticket.id] = message
        # the session's identity map holds objects weakly: keep the new ticket and its
        # people alive until the commit, so the in-transaction subscribers
        # (notifications) find them there instead of reading them again
        keep.extend([ticket, spec.requester, spec.group])
    await session.flush()
    for ticket, message, spec in zip(tickets, messages, specs, strict=True):
        events.record(
            session,
            events.DomainEvent(
                "ticket.created",
                {
                    "by": _by(spec.actor),
                    "ticket_id": ticket.id,
                    "number": ticket.number,
                    "message_id": message.id,
                    "quiet": spec.quiet,
                    "follow_up_of": spec.follow_up_of,
                },
            ),
        )
    return tickets


# session.info: ticket id -> the first message of a ticket inserted in this transaction,
# so the channel intake can return it without reading it back
_FIRST_MESSAGES = "opora.tickets.first_messages"
_KEEP = "opora.tickets.keep"


async def create_ticket(session: AsyncSession, *, actor: Actor, data: TicketCreate) -> Ticket:
    """An agent (or an integration with an agent's token) opens a ticket for a customer."""
    require_agent(actor)
    if data.requester_id is not None:
        requester = await session.get(Contact, data.requester_id)
        if requester is None:
            raise InvalidInput(f"contact {data.requester_id} does not exist", field="requester_id")
    else:
        assert data.requester is not None
        requester, _ = await contacts.find_or_create_by_identity(
            session,
            kind=IdentityKind.EMAIL,
            value=str(data.requester.email),
            name=data.requester.name,
            language=data.requester.language,
        )
    group = await _group(session, data.group_id) if data.group_id is not None else None
    if data.assignee_id is not None:
        await _check_assignee(session, data.assignee_id, group.id if group else None)
    custom = await fields.validate(session, entity="ticket", values=data.custom_fields)
    status = data.status or (TicketStatus.OPEN if data.assignee_id else TicketStatus.NEW)
    if status == TicketStatus.CLOSED:
        raise InvalidInput("a ticket cannot be created closed", field="status")
    body, html = _body(data.body, data.html)
    return await _insert_ticket(
        session,
        actor=actor,
        requester=requester,
        subject=data.subject,
        body=body,
        html=html,
        priority=data.priority,
        type_=data.type,
        channel=data.channel,
        status=status,
        group=group,
        assignee_id=data.assignee_id,
        tags=data.tags,
        custom=custom,
        attachment_ids=data.attachment_ids,
        submitted_by_user_id=actor.id if actor.is_user else None,
    )


async def submit_request(
    session: AsyncSession, *, actor: Actor, data: CustomerTicketCreate, channel: str = Channel.WEB
) -> Ticket:
    """A customer opens a ticket themselves (portal, API with a contact's token)."""
    if not actor.is_customer or actor.id is None:
        raise Forbidden("only a customer may submit a request this way")
    requester = await session.get(Contact, actor.id)
    if requester is None:
        raise NotFound("contact not found")
    custom = await fields.validate(
        session, entity="ticket", values=data.custom_fields, customer=True
    )
    return await _insert_ticket(
        session,
        actor=actor,
        requester=requester,
        subject=data.subject,
        body=data.body.strip(),
        html="",
        priority="normal",
        type_=data.type,
        channel=channel,
        status=TicketStatus.NEW,
        group=None,
        assignee_id=None,
        tags=[],
        custom=custom,
        attachment_ids=data.attachment_ids,
    )


# --- changing ----------------------------------------------------------------------------


def _set_status(ticket: Ticket, new: str, now: datetime) -> None:
    ticket.status = new
    ticket.status_changed_at = now
    if new == TicketStatus.SOLVED:
        ticket.solved_at = now
    elif new == TicketStatus.CLOSED:
        ticket.closed_at = now
        ticket.solved_at = ticket.solved_at or now
    elif new in (TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD):
        ticket.solved_at = None


async def mark_solved_by_customer(session: AsyncSession, *, actor: Actor, ticket: Ticket) -> None:
    """A customer says their request is solved (the portal): the status change, its
    timeline row and ``ticket.updated``, recorded as an agent's change is. The caller has
    checked that the customer may read the ticket and that it can be solved now."""
    now = utcnow()
    old = ticket.status
    _set_status(ticket, TicketStatus.SOLVED, now)
    ticket.updated_at = now
    _event(session, ticket.id, actor, "field_changed", field="status", old=old,
           new=TicketStatus.SOLVED.value, at=now)  # fmt: skip
    await session.flush()
    events.record(
        session,
        events.DomainEvent(
            "ticket.updated",
            {
                "by": _by(actor),
                "ticket_id": ticket.id,
                "fields": ["status"],
                "changes": {"status": [old, TicketStatus.SOLVED.value]},
            },
        ),
    )


async def _reindex(session: AsyncSession, ticket_id: int) -> None:
    """Rebuild the ticket's search documents from its subject and every message."""
    subject = (
        await session.execute(select(Ticket.subject).where(Ticket.id == ticket_id))
    ).scalar_one()
    rows = await session.execute(
        select(Message.body_text, Message.visibility)
        .where(Message.ticket_id == ticket_id)
        .order_by(Message.created_at, Message.id)
    )
    await search.reindex_ticket(
        session,
        ticket_id=ticket_id,
        subject=subject,
        messages=[(body, visibility == Visibility.INTERNAL) for body, visibility in rows],
    )


async def _load_for_change(session: AsyncSession, actor: Actor, ticket_id: int) -> Ticket:
    ticket = await repository.get_readable_ticket(session, actor, ticket_id, for_update=True)
    if ticket is None:
        raise TicketNotFound(f"ticket {ticket_id} not found")
    return ticket


async def update_ticket(
    session: AsyncSession,
    *,
    actor: Actor,
    ticket_id: int,
    data: TicketUpdate,
    require_resolution: bool = False,
) -> Ticket:
    """Change a ticket's fields. With ``require_resolution`` (the agent's ticket page),
    solving it needs a resolution summary with a solution."""
    require_agent(actor)
    ticket = await _load_for_change(session, actor, ticket_id)
    changes = data.model_dump(exclude_unset=True)
    if rules.is_final(ticket.status):
        raise TicketClosed(
            f"ticket #{ticket.number} is closed; a follow-up opens a new ticket", field="status"
        )
    now = utcnow()
    changed: list[tuple[str, Any, Any]] = []

    def change(field: str, new: Any) -> None:
        old = getattr(ticket, field)
        if old != new:
            setattr(ticket, field, new)
            changed.append((field, old, new))

    if data.subject is not None:
        change("subject", data.subject.strip())
    if data.priority is not None:
        change("priority", data.priority.value)
    if data.type is not None:
        change("type", data.type.value)
    if data.requester_id is not None and data.requester_id != ticket.requester_id:
        requester = await session.get(Contact, data.requester_id)
        if requester is None:
            raise InvalidInput(f"contact {data.requester_id} does not exist", field="requester_id")
        change("requester_id", requester.id)
        change("organization_id", requester.organization_id)
    group_id = ticket.group_id
    if "group_id" in changes:
        if data.group_id is not None:
            group = await _group(session, data.group_id)
            change("group_id", group.id)
            change("line", group.line)
        else:
            change("group_id", None)
        group_id = ticket.group_id
    if "assignee_id" in changes:
        if data.assignee_id is not None:
            await _check_assignee(session, data.assignee_id, group_id)
        change("assignee_id", data.assignee_id)
    elif (
        "group_id" in changes
        and ticket.assignee_id is not None
        and group_id is not None
        and not await users.is_member(session, user_id=ticket.assignee_id, group_id=group_id)
    ):
        change("assignee_id", None)  # the old assignee is not in the new group
    if data.custom_fields is not None:
        # required fields are asked for when the ticket is solved (below), not on every
        # edit: a field made required later must not lock older tickets
        custom = await fields.validate(
            session,
            entity="ticket",
            values=data.custom_fields,
            existing=ticket.custom_fields,
            enforce_required=False,
        )
        change("custom_fields", custom)
    if data.resolution is not None:
        change("resolution", data.resolution.model_dump())
    if data.status is not None and data.status != ticket.status:
        if not rules.can_transition(ticket.status, data.status):
            raise InvalidTransition(
                f"a {ticket.status} ticket cannot become {data.status.value}", field="status"
            )
        if data.status == TicketStatus.NEW:
            raise InvalidTransition("a ticket cannot go back to new", field="status")
        old_status = ticket.status
        _set_status(ticket, data.status, now)
        changed.append(("status", old_status, data.status.value))
    tags_changed = await _change_tags(session, actor, ticket, data, now)
    if changed:
        # required fields must hold once a ticket is being solved
        if ticket.status in (TicketStatus.SOLVED, TicketStatus.CLOSED):
            await fields.validate(
                session, entity="ticket", values={}, existing=ticket.custom_fields
            )
        solving = any(f == "status" and n == TicketStatus.SOLVED for f, _, n in changed)
        if require_resolution and solving and not (ticket.resolution or {}).get("solution"):
            raise FieldRequired("say how the problem was solved", field="resolution")
        ticket.updated_at = now
        if any(f == "assignee_id" for f, _, _ in changed):
            ticket.assigned_at = now if ticket.assignee_id is not None else None
        for field, old, new in changed:
            _event(
                session, ticket.id, actor, "field_changed", field=field, old=old, new=new, at=now
            )
        if any(f == "subject" for f, _, _ in changed):
            await session.flush()
            await _reindex(session, ticket.id)
    await session.flush()
    if changed or tags_changed:
        names = {f for f, _, _ in changed} | ({"tags"} if tags_changed else set())
        events.record(
            session,
            events.DomainEvent(
                "ticket.updated",
                {
                    "by": _by(actor),
                    "ticket_id": ticket.id,
                    "fields": sorted(names),
                    # old and new of the small values notifications act on
                    "changes": {
                        f: [old, new]
                        for f, old, new in changed
                        if f in ("status", "assignee_id", "group_id", "priority")
                    },
                },
            ),
        )
    return ticket


async def _change_tags(
    session: AsyncSession, actor: Actor, ticket: Ticket, data: TicketUpdate, now: datetime
) -> bool:
    if data.tags is None and not data.add_tags and not data.remove_tags:
        return False
    current = set((await repository.tags_of(session, [ticket.id]))[ticket.id])
    wanted = {normalize_tag(t) for t in data.tags} if data.tags is not None else set(current)
    wanted |= {normalize_tag(t) for t in data.add_tags}
    wanted -= {normalize_tag(t) for t in data.remove_tags}
    if wanted == current:
        return False
    await session.execute(delete(TicketTag).where(TicketTag.ticket_id == ticket.id))
    ids = await _tag_ids(session, sorted(wanted))
    session.add_all(TicketTag(ticket_id=ticket.id, tag_id=tid) for tid in ids.values())
    ticket.updated_at = now
    _event(session, ticket.id, actor, "field_changed", field="tags",
           old=sorted(current), new=sorted(wanted), at=now)  # fmt: skip
    return True


@dataclass(frozen=True, slots=True)
class MessageAdded:
    message: Message
    ticket: Ticket
    follow_up_of: Ticket | None = None  # set when a reply to a closed ticket opened a new one


async def add_message(
    session: AsyncSession, *, actor: Actor, ticket_id: int, data: MessageCreate
) -> MessageAdded:
    """An agent's public reply or internal note."""
    require_agent(actor)
    ticket = await _load_for_change(session, actor, ticket_id)
    if rules.is_final(ticket.status):
        raise TicketClosed(
            f"ticket #{ticket.number} is closed"
            + (f" (merged into ticket {ticket.merged_into_id})" if ticket.merged_into_id else ""),
            field="ticket_id",
        )
    body, html = _body(data.body, data.html)
    now = utcnow()
    internal = data.visibility == Visibility.INTERNAL
    changes: dict[str, list[Any]] = {}
    message = Message(
        ticket_id=ticket.id,
        visibility=data.visibility.value,
        author_kind=AuthorKind.USER if actor.is_user else AuthorKind.SYSTEM,
        author_user_id=actor.id if actor.is_user else None,
        body_text=body,
        body_html=html,
        channel=ticket.channel if not internal else Channel.AGENT,
        delivery_state=DeliveryState.NONE,
        extra={},
        created_at=now,
    )
    session.add(message)
    await session.flush()
    await _claim_attachments(session, actor, data.attachment_ids, message.id)
    if not internal:
        if ticket.first_responded_at is None:
            ticket.first_responded_at = now
            _event(session, ticket.id, actor, "field_changed", field="first_responded_at",
                   old=None, new=now.isoformat(), at=now)  # fmt: skip
        ticket.last_agent_message_at = now
        new_status = rules.status_after_agent_reply(ticket.status)
        if new_status != ticket.status:
            _event(session, ticket.id, actor, "field_changed", field="status",
                   old=ticket.status, new=new_status, at=now)  # fmt: skip
            changes["status"] = [str(ticket.status), str(new_status)]
            _set_status(ticket, new_status, now)
    ticket.updated_at = now
    _event(session, ticket.id, actor, "note_added" if internal else "reply_added",
           message_id=message.id, at=now)  # fmt: skip
    await search.append_message(session, ticket_id=ticket.id, text_=body, internal=internal)
    await session.flush()
    events.record(
        session,
        events.DomainEvent(
            "message.created",
            {
                "by": _by(actor),
                "ticket_id": ticket.id,
                "message_id": message.id,
                "visibility": message.visibility,
                "changes": changes,
            },
        ),
    )
    return MessageAdded(message=message, ticket=ticket)


@dataclass(frozen=True, slots=True)
class ChannelMessage:
    """A customer's message as a channel adapter hands it over (email; later chat,
    Telegram, VK): its text, sanitized HTML, the channel's id for it, attachments already
    stored as unclaimed uploads, extra details for the timeline (``extra``). ``quiet``:
    sent by a machine (an auto-reply, bulk mail): it sends no automatic notification and
    does not reopen the ticket."""

    channel: str
    body: str
    html: str = ""
    external_id: str | None = None
    attachment_ids: tuple[int, ...] = ()
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    quiet: bool = False


async def open_ticket_from_channel(
    session: AsyncSession,
    *,
    requester: Contact,
    subject: str,
    message: ChannelMessage,
    group_id: int | None = None,
    priority: str = "normal",
) -> MessageAdded:
    """A customer's first message on a channel opens a ticket (routed to ``group_id``)."""
    request = ChannelRequest(requester, subject, message, group_id=group_id, priority=priority)
    return (await open_tickets_from_channel(session, [request]))[0]


@dataclass(frozen=True, slots=True)
class ChannelRequest:
    """A customer's first message on a channel, for ``open_tickets_from_channel``."""

    requester: Contact
    subject: str
    message: ChannelMessage
    group_id: int | None = None
    priority: str = "normal"


async def open_tickets_from_channel(
    session: AsyncSession, requests: Sequence[ChannelRequest]
) -> list[MessageAdded]:
    """Open a ticket for each request, in order, at once (an IMAP poll's new mail)."""
    if not requests:
        return []
    specs = []
    for request in requests:
        group_id = request.group_id
        group = await session.get(Group, group_id) if group_id is not None else None
        message = request.message
        specs.append(
            _NewTicket(
                actor=actor_for_contact(request.requester),
                requester=request.requester,
                subject=(request.subject.strip() or _no_subject(message.body))[:500],
                body=message.body,
                html=message.html,
                priority=request.priority,
                type_="question",
                channel=message.channel,
                status=TicketStatus.NEW,
                group=group if group is not None and group.is_active else None,
                assignee_id=None,
                tags=[],
                custom={},
                attachment_ids=list(message.attachment_ids),
                external_id=message.external_id,
                extra=message.extra,
                quiet=message.quiet,
            )
        )
    tickets = await _insert_tickets(session, specs)
    first_messages = session.info.get(_FIRST_MESSAGES, {})
    return [MessageAdded(message=first_messages[t.id], ticket=t) for t in tickets]


def _no_subject(body: str) -> str:
    """A subject for a message without one: its first words."""
    words = " ".join(body.split())
    return (words[:77] + "…") if len(words) > 80 else (words or "(no subject)")


async def add_channel_message(
    session: AsyncSession, *, contact: Contact, ticket_id: int, message: ChannelMessage
) -> MessageAdded:
    """A customer's reply that came in on a channel. Like ``add_customer_message``: it
    reopens a solved ticket (unless quiet), and on a closed ticket it opens a follow-up.
    The contact must be able to read the ticket (requester, follower, organization)."""
    return await _add_customer_message(
        session, actor=actor_for_contact(contact), ticket_id=ticket_id, body=message.body.strip(),
        html=message.html, channel=message.channel, external_id=message.external_id,
        attachment_ids=list(message.attachment_ids), extra=message.extra, quiet=message.quiet,
    )  # fmt: skip


async def add_customer_message(
    session: AsyncSession,
    *,
    actor: Actor,
    ticket_id: int,
    data: CustomerMessageCreate,
    channel: str | None = None,
    external_id: str | None = None,
) -> MessageAdded:
    """A customer's reply. It reopens a solved ticket; on a closed ticket it opens a new
    ticket linked to the old one (a follow-up) and lands there."""
    if not actor.is_customer or actor.id is None:
        raise Forbidden("only a customer may reply this way")
    return await _add_customer_message(
        session, actor=actor, ticket_id=ticket_id, body=data.body.strip(), html="",
        channel=channel, external_id=external_id, attachment_ids=data.attachment_ids,
        extra={}, quiet=False,
    )  # fmt: skip


async def _add_customer_message(
    session: AsyncSession,
    *,
    actor: Actor,
    ticket_id: int,
    body: str,
    html: str,
    channel: str | None,
    external_id: str | None,
    attachment_ids: list[int],
    extra: dict[str, Any],
    quiet: bool,
) -> MessageAdded:
    assert actor.is_customer and actor.id is not None
    ticket = await _load_for_change(session, actor, ticket_id)
    if ticket.merged_into_id is not None:
        target = await repository.get_readable_ticket(session, actor, ticket.merged_into_id)
        if target is not None and not rules.is_final(target.status):
            ticket = target
    if rules.is_final(ticket.status):
        requester = await session.get(Contact, actor.id)
        assert requester is not None
        follow_up = await _insert_ticket(
            session,
            actor=actor,
            requester=requester,
            subject=_follow_up_subject(ticket.subject),
            body=body,
            html=html,
            priority=ticket.priority,
            type_=ticket.type,
            channel=channel or ticket.channel,
            status=TicketStatus.NEW,
            group=await session.get(Group, ticket.group_id) if ticket.group_id else None,
            assignee_id=None,
            tags=[],
            custom=dict(ticket.custom_fields),
            attachment_ids=attachment_ids,
            external_id=external_id,
            extra=extra,
            quiet=quiet,
            follow_up_of=ticket.id,
        )
        session.add(
            TicketLink(
                source_id=ticket.id, target_id=follow_up.id, kind=LinkKind.FOLLOW_UP,
                created_at=utcnow(),
            )
        )  # fmt: skip
        _event(session, follow_up.id, actor, "linked", field="follow_up_of", new=ticket.id)
        _event(session, ticket.id, actor, "linked", field="follow_up", new=follow_up.id)
        await session.flush()
        first = session.info.get(_FIRST_MESSAGES, {}).get(follow_up.id)
        if first is None:
            first = (await repository.ticket_messages(session, actor, follow_up.id))[0]
        return MessageAdded(message=first, ticket=follow_up, follow_up_of=ticket)
    reply = _Reply(
        actor=actor, ticket=ticket, body=body, html=html, channel=channel,
        external_id=external_id, attachment_ids=attachment_ids, extra=extra, quiet=quiet,
    )  # fmt: skip
    return (await _append_customer_messages(session, [reply]))[0]


@dataclass(frozen=True, slots=True)
class _Reply:
    """A customer's message on a ticket that is not closed, for
    ``_append_customer_messages``."""

    actor: Actor
    ticket: Ticket
    body: str
    html: str
    channel: str | None
    external_id: str | None
    attachment_ids: list[int]
    extra: dict[str, Any]
    quiet: bool


async def _append_customer_messages(
    session: AsyncSession, replies: list[_Reply]
) -> list[MessageAdded]:
    """Add customers' messages to their tickets: each reopens a solved or pending ticket
    (unless quiet), with its timeline rows and search terms. Many at once (on different
    tickets) cost a flush or two for them all."""
    now = utcnow()
    messages = [
        Message(
            ticket_id=reply.ticket.id,
            visibility=Visibility.PUBLIC,
            author_kind=AuthorKind.CONTACT,
            author_contact_id=reply.actor.id,
            body_text=reply.body,
            body_html=reply.html,
            channel=reply.channel or reply.ticket.channel,
            external_id=reply.external_id,
            delivery_state=DeliveryState.NONE,
            extra=reply.extra,
            created_at=now,
        )
        for reply in replies
    ]
    session.add_all(messages)
    await session.flush()
    await _claim_attachments_of(
        session,
        [(r.actor, r.attachment_ids, m.id) for r, m in zip(replies, messages, strict=True)],
    )
    recorded = []
    keep = session.info.setdefault(_KEEP, [])  # for the subscribers
    with session.no_autoflush:  # one flush for all below
        for reply, message in zip(replies, messages, strict=True):
            ticket, actor = reply.ticket, reply.actor
            ticket.last_customer_message_at = now
            ticket.updated_at = now
            new_status = rules.status_after_customer_message(ticket.status)
            changes: dict[str, list[Any]] = {}
            if new_status != ticket.status and not reply.quiet:
                _event(session, ticket.id, actor, "field_changed", field="status",
                       old=ticket.status, new=new_status, at=now)  # fmt: skip
                changes["status"] = [str(ticket.status), str(new_status)]
                _set_status(ticket, new_status, now)
            _event(session, ticket.id, actor, "reply_added", message_id=message.id, at=now)
            await search.append_message(
                session, ticket_id=ticket.id, text_=reply.body, internal=False
            )
            keep.extend([ticket, message])
            recorded.append(
                events.DomainEvent(
                    "message.created",
                    {
                        "by": _by(actor),
                        "ticket_id": ticket.id,
                        "message_id": message.id,
                        "visibility": "public",
                        "quiet": reply.quiet,
                        "changes": changes,
                    },
                )
            )
    await session.flush()
    for event in recorded:
        events.record(session, event)
    pairs = zip(replies, messages, strict=True)
    return [MessageAdded(message=m, ticket=r.ticket) for r, m in pairs]


@dataclass(frozen=True, slots=True)
class ChannelReply:
    """A customer's reply on a channel, for ``add_channel_messages``."""

    contact: Contact
    ticket_id: int
    message: ChannelMessage


async def add_channel_messages(
    session: AsyncSession, replies: Sequence[ChannelReply]
) -> list[MessageAdded]:
    """Requesters' replies on their open tickets, one per ticket, at once (an IMAP poll's
    replies); each as ``add_channel_message`` adds it. A reply from someone else than the
    requester, to a closed or merged ticket, or a second one to a ticket, is refused
    (``InvalidInput``): those go one at a time through ``add_channel_message``."""
    if not replies:
        return []
    ids = [r.ticket_id for r in replies]
    stmt = select(Ticket).where(Ticket.id.in_(ids))
    if session.get_bind().dialect.name == "postgresql":  # locked, and read afresh
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = {t.id: t for t in (await session.execute(stmt)).scalars()}
    if len(set(ids)) != len(ids):
        raise InvalidInput("one reply per ticket at once", field="ticket_id")
    batch = []
    for reply in replies:
        ticket = found.get(reply.ticket_id)
        if ticket is None or not rules.plain_reply(
            status=ticket.status, merged_into_id=ticket.merged_into_id,
            requester_id=ticket.requester_id, contact_id=reply.contact.id,
        ):  # fmt: skip
            raise InvalidInput(
                f"ticket {reply.ticket_id} takes this reply only on its own",
                field="ticket_id",
            )
        message = reply.message
        item = _Reply(
            actor=actor_for_contact(reply.contact), ticket=ticket, body=message.body.strip(),
            html=message.html, channel=message.channel, external_id=message.external_id,
            attachment_ids=list(message.attachment_ids), extra=message.extra,
            quiet=message.quiet,
        )  # fmt: skip
        batch.append(item)
    return await _append_customer_messages(session, batch)


async def record_delivery_problem(
    session: AsyncSession,
    *,
    ticket_id: int,
    message_id: int | None,
    detail: str,
    permanent: bool,
) -> None:
    """A message of ours could not be delivered (a bounce), or is delayed: a timeline
    entry, so the agent knows the customer may not have it."""
    _event(
        session, ticket_id, system_actor("email"),
        "delivery_failed" if permanent else "delivery_delayed",
        field="delivery", new=detail[:1000], message_id=message_id,
    )  # fmt: skip
    await session.flush()


def _follow_up_subject(subject: str) -> str:
    prefix = "Follow-up: "
    return subject if subject.startswith(prefix) else (prefix + subject)[:500]


async def escalate_ticket(
    session: AsyncSession, *, actor: Actor, ticket_id: int, data: EscalateIn
) -> Ticket:
    """Move the ticket to a group on the next line; the reason stays as an internal note."""
    require_agent(actor)
    reason = data.reason.strip()
    if not reason:
        raise FieldRequired("say why the ticket is escalated", field="reason")
    ticket = await _load_for_change(session, actor, ticket_id)
    if rules.is_final(ticket.status):
        raise TicketClosed(f"ticket #{ticket.number} is closed", field="ticket_id")
    to_line = rules.next_line(ticket.line)
    if to_line is None:
        raise NoHigherLine(f"ticket #{ticket.number} is already at the highest line")
    if data.group_id is not None:
        group = await _group(session, data.group_id)
        if group.line <= ticket.line:
            raise InvalidInput(
                f"group {group.name} is on line {group.line}, not above line {ticket.line}",
                field="group_id",
            )
    else:
        candidates = await session.execute(
            select(Group)
            .where(Group.line == to_line, Group.is_active.is_(True))
            .order_by(Group.id)
            .limit(1)
        )
        found = candidates.scalar_one_or_none()
        if found is None:
            raise NoHigherLine(f"there is no active group on line {to_line} to escalate to")
        group = found
    return await _move_to_group(session, actor, ticket, group, reason, escalating=True)


async def deescalate_ticket(
    session: AsyncSession, *, actor: Actor, ticket_id: int, data: EscalateIn
) -> Ticket:
    """Hand the ticket back down to a lower line (line 1 unless a group is named), with a
    note saying why: the specialist found it is not theirs, or it is solved in principle
    and L1 finishes with the customer."""
    require_agent(actor)
    reason = data.reason.strip()
    if not reason:
        raise FieldRequired("say why the ticket goes back", field="reason")
    ticket = await _load_for_change(session, actor, ticket_id)
    if rules.is_final(ticket.status):
        raise TicketClosed(f"ticket #{ticket.number} is closed", field="ticket_id")
    if data.group_id is not None:
        group = await _group(session, data.group_id)
        if group.line >= ticket.line:
            raise InvalidInput(
                f"group {group.name} is on line {group.line}, not below line {ticket.line}",
                field="group_id",
            )
    else:
        if ticket.line <= 1:
            raise NoLowerLine(f"ticket #{ticket.number} is already on line 1")
        found = (
            await session.execute(
                select(Group)
                .where(Group.line == 1, Group.is_active.is_(True))
                .order_by(Group.id)
                .limit(1)
            )
        ).scalar_one_or_none()
        if found is None:
            raise NoLowerLine("there is no active group on line 1 to hand the ticket to")
        group = found
    return await _move_to_group(session, actor, ticket, group, reason, escalating=False)


async def _move_to_group(
    session: AsyncSession,
    actor: Actor,
    ticket: Ticket,
    group: Group,
    reason: str,
    *,
    escalating: bool,
) -> Ticket:
    now = utcnow()
    from_line, from_group = ticket.line, ticket.group_id
    verb = "Escalated" if escalating else "Handed back"
    note = Message(
        ticket_id=ticket.id,
        visibility=Visibility.INTERNAL,
        author_kind=AuthorKind.USER if actor.is_user else AuthorKind.SYSTEM,
        author_user_id=actor.id if actor.is_user else None,
        body_text=f"{verb} from line {from_line} to line {group.line} ({group.name}): {reason}",
        body_html="",
        channel=Channel.AGENT,
        delivery_state=DeliveryState.NONE,
        extra={"escalation": {"from_line": from_line, "to_line": group.line}},
        created_at=now,
    )
    session.add(note)
    await session.flush()
    old_assignee = ticket.assignee_id
    ticket.group_id = group.id
    ticket.line = group.line
    if escalating:
        ticket.escalated_at = now
    if old_assignee is not None and not await users.is_member(
        session, user_id=old_assignee, group_id=group.id
    ):
        ticket.assignee_id = None
        ticket.assigned_at = None
        _event(session, ticket.id, actor, "field_changed", field="assignee_id",
               old=old_assignee, new=None, at=now)  # fmt: skip
    if ticket.status == TicketStatus.NEW:
        _set_status(ticket, TicketStatus.OPEN, now)
        _event(session, ticket.id, actor, "field_changed", field="status",
               old=TicketStatus.NEW.value, new=TicketStatus.OPEN.value, at=now)  # fmt: skip
    ticket.updated_at = now
    _event(
        session, ticket.id, actor, "escalated" if escalating else "deescalated", field="line",
        old={"line": from_line, "group_id": from_group},
        new={"line": group.line, "group_id": group.id, "reason": reason},
        message_id=note.id, at=now,
    )  # fmt: skip
    await search.append_message(session, ticket_id=ticket.id, text_=note.body_text, internal=True)
    await session.flush()
    events.record(
        session,
        events.DomainEvent(
            "ticket.escalated",
            {
                "by": _by(actor),
                "ticket_id": ticket.id,
                "from_line": from_line,
                "to_line": group.line,
                "group_id": group.id,
                "assignee_cleared": old_assignee is not None and ticket.assignee_id is None,
            },
        ),
    )
    return ticket


async def check_merge(
    session: AsyncSession, *, actor: Actor, source_id: int, number: int
) -> tuple[Ticket, Ticket]:
    """Source and target of a merge into the ticket numbered ``number``, before asking the
    agent to confirm it; raises what ``merge_tickets`` would, on the field ``number``."""
    require_agent(actor)
    source = await get_ticket(session, actor=actor, ticket_id=source_id)
    target = await ticket_by_number(session, actor=actor, number=number)
    if target.id == source.id:
        raise InvalidInput("a ticket cannot be merged into itself", field="number")
    if rules.is_final(source.status):
        raise TicketClosed(f"ticket #{source.number} is closed and cannot be merged")
    if rules.is_final(target.status):
        raise TicketClosed(
            f"ticket #{target.number} is closed; merge into an open ticket", field="number"
        )
    return source, target


async def merge_tickets(
    session: AsyncSession, *, actor: Actor, source_id: int, into_id: int
) -> Ticket:
    """Move the source's messages into the target; close the source, pointing at it."""
    require_agent(actor)
    if source_id == into_id:
        raise InvalidInput("a ticket cannot be merged into itself", field="into_id")
    source = await _load_for_change(session, actor, source_id)
    target = await repository.get_readable_ticket(session, actor, into_id, for_update=True)
    if target is None:
        raise InvalidInput(f"ticket {into_id} not found", field="into_id")
    if rules.is_final(source.status):
        raise TicketClosed(f"ticket #{source.number} is closed and cannot be merged")
    if rules.is_final(target.status):
        raise TicketClosed(
            f"ticket #{target.number} is closed; merge into an open ticket", field="into_id"
        )
    now = utcnow()
    moved = await session.execute(
        update(Message).where(Message.ticket_id == source.id).values(ticket_id=target.id)
    )
    # the source's requester and followers follow the target
    existing = {
        (f.contact_id, f.user_id) for f in await repository.followers_of(session, target.id)
    }
    candidates = {
        (f.contact_id, f.user_id) for f in await repository.followers_of(session, source.id)
    }
    if source.requester_id != target.requester_id:
        candidates.add((source.requester_id, None))
    for contact_id, user_id in sorted(candidates - existing, key=str):
        session.add(TicketFollower(ticket_id=target.id, contact_id=contact_id, user_id=user_id))
    for ticket, text_ in (
        (source, f"Merged into ticket #{target.number}."),
        (target, f"Ticket #{source.number} was merged into this ticket."),
    ):
        session.add(
            Message(
                ticket_id=ticket.id,
                visibility=Visibility.INTERNAL,
                author_kind=AuthorKind.USER if actor.is_user else AuthorKind.SYSTEM,
                author_user_id=actor.id if actor.is_user else None,
                body_text=text_,
                body_html="",
                channel=Channel.AGENT,
                delivery_state=DeliveryState.NONE,
                extra={},
                created_at=now,
            )
        )
    old_status = source.status
    source.merged_into_id = target.id
    _set_status(source, TicketStatus.CLOSED, now)
    source.updated_at = now
    target.updated_at = now
    target.last_customer_message_at = max(
        filter(None, [target.last_customer_message_at, source.last_customer_message_at]),
        default=None,
    )
    _event(session, source.id, actor, "merged", field="merged_into_id", old=None, new=target.id,
           at=now)  # fmt: skip
    _event(session, source.id, actor, "field_changed", field="status", old=old_status,
           new=TicketStatus.CLOSED.value, at=now)  # fmt: skip
    _event(session, target.id, actor, "merged_in", field="merged_from", new={
        "ticket_id": source.id, "messages": moved.rowcount,  # type: ignore[attr-defined]
    }, at=now)  # fmt: skip
    session.add(
        TicketLink(source_id=source.id, target_id=target.id, kind=LinkKind.DUPLICATE,
                   created_at=now, created_by_id=actor.id if actor.is_user else None)
    )  # fmt: skip
    await session.flush()
    await _reindex(session, source.id)
    await _reindex(session, target.id)
    events.record(
        session,
        events.DomainEvent(
            "ticket.merged", {"by": _by(actor), "ticket_id": source.id, "into_id": target.id}
        ),
    )
    return target


async def link_ticket(
    session: AsyncSession, *, actor: Actor, ticket_id: int, data: LinkCreate
) -> TicketLink:
    require_agent(actor)
    ticket = await get_ticket(session, actor=actor, ticket_id=ticket_id)
    if data.target_id is not None:
        if data.target_id == ticket_id:
            raise InvalidInput("a ticket cannot be linked to itself", field="target_id")
        if await repository.get_readable_ticket(session, actor, data.target_id) is None:
            raise InvalidInput(f"ticket {data.target_id} not found", field="target_id")
        clash = await session.execute(
            select(TicketLink.id).where(
                TicketLink.source_id == ticket_id,
                TicketLink.target_id == data.target_id,
                TicketLink.kind == data.kind,
            )
        )
        if clash.first():
            raise Conflict("these tickets are already linked this way")
    elif data.external_url and not data.external_url.startswith(("http://", "https://")):
        raise InvalidInput("an external link must be an http(s) URL", field="external_url")
    now = utcnow()
    link = TicketLink(
        source_id=ticket.id,
        target_id=data.target_id,
        kind=data.kind.value,
        external_url=data.external_url,
        external_ref=data.external_ref,
        created_at=now,
        created_by_id=actor.id if actor.is_user else None,
    )
    session.add(link)
    await session.flush()
    ticket.updated_at = now
    _event(session, ticket.id, actor, "linked", field=data.kind.value,
           new=data.target_id or data.external_url, at=now)  # fmt: skip
    await session.flush()
    return link


async def unlink_ticket(
    session: AsyncSession, *, actor: Actor, ticket_id: int, link_id: int
) -> None:
    require_agent(actor)
    ticket = await get_ticket(session, actor=actor, ticket_id=ticket_id)
    link = await session.get(TicketLink, link_id)
    if link is None or ticket.id not in (link.source_id, link.target_id):
        raise NotFound(f"link {link_id} not found on this ticket")
    _event(session, ticket.id, actor, "unlinked", field=link.kind,
           old=link.target_id or link.external_url)  # fmt: skip
    await session.delete(link)
    await session.flush()


# --- attachments -------------------------------------------------------------------------


async def upload_attachment(
    session: AsyncSession,
    *,
    actor: Actor,
    store: BlobStore,
    filename: str,
    content_type: str | None,
    data: bytes,
    max_bytes: int,
) -> Attachment:
    if not (actor.is_user or actor.is_customer or actor.is_system):
        raise Forbidden("sign in to upload files")
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"the file is {len(data)} bytes; the limit is {max_bytes} bytes", field="file"
        )
    if not data:
        raise InvalidInput("the file is empty", field="file")
    safe_name = sanitize_filename(filename)
    guessed = mimetypes.guess_type(safe_name)[0]
    kind = (content_type or guessed or "application/octet-stream").split(";")[0].strip().lower()
    if not re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", kind):
        kind = "application/octet-stream"
    digest = store.put(data)
    att = Attachment(
        filename=safe_name,
        content_type=kind,
        size=len(data),
        sha256=digest,
        uploaded_by_user_id=actor.id if actor.is_user else None,
        uploaded_by_contact_id=actor.id if actor.is_customer else None,
        created_at=utcnow(),
    )
    session.add(att)
    await session.flush()
    return att


async def get_attachment(session: AsyncSession, *, actor: Actor, attachment_id: int) -> Attachment:
    """An attachment the actor may download: on a message they can read, or their upload."""
    att = await session.get(Attachment, attachment_id)
    if att is None:
        raise AttachmentNotFound(f"attachment {attachment_id} not found")
    if att.message_id is None:
        own = (actor.is_user and att.uploaded_by_user_id == actor.id) or (
            actor.is_customer and att.uploaded_by_contact_id == actor.id
        )
        if own or actor.is_admin:
            return att
        raise AttachmentNotFound(f"attachment {attachment_id} not found")
    message = (
        await session.execute(
            repository.messages_readable_by(actor).where(Message.id == att.message_id)
        )
    ).scalar_one_or_none()
    if message is None or (
        await repository.get_readable_ticket(session, actor, message.ticket_id) is None
    ):
        raise AttachmentNotFound(f"attachment {attachment_id} not found")
    return att


# --- tags ----------------------------------------------------------------------------------


async def list_tags(session: AsyncSession, *, actor: Actor) -> list[tuple[Tag, int]]:
    require_agent(actor)
    counts = select(TicketTag.tag_id, func.count().label("n")).group_by(TicketTag.tag_id).subquery()
    stmt = (
        select(Tag, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.tag_id == Tag.id)
        .order_by(Tag.name)
    )
    return [(tag, int(n)) for tag, n in (await session.execute(stmt))]


async def create_tag(session: AsyncSession, *, actor: Actor, name: str) -> Tag:
    require_agent(actor)
    tag_name = normalize_tag(name)
    if (await session.execute(select(Tag.id).where(Tag.name == tag_name))).first():
        raise Conflict(f"tag {tag_name} already exists", field="name")
    tag = Tag(name=tag_name, created_at=utcnow())
    session.add(tag)
    await session.flush()
    return tag


async def rename_tag(session: AsyncSession, *, actor: Actor, tag_id: int, name: str) -> Tag:
    if not actor.is_admin:
        raise Forbidden("only an admin may rename tags")
    tag = await session.get(Tag, tag_id)
    if tag is None:
        raise NotFound(f"tag {tag_id} not found")
    new = normalize_tag(name)
    if new != tag.name and (await session.execute(select(Tag.id).where(Tag.name == new))).first():
        raise Conflict(f"tag {new} already exists", field="name")
    tag.name = new
    await session.flush()
    return tag


async def delete_tag(session: AsyncSession, *, actor: Actor, tag_id: int) -> None:
    if not actor.is_admin:
        raise Forbidden("only an admin may delete tags")
    tag = await session.get(Tag, tag_id)
    if tag is None:
        raise NotFound(f"tag {tag_id} not found")
    await session.execute(delete(TicketTag).where(TicketTag.tag_id == tag_id))
    await session.delete(tag)
    await session.flush()
