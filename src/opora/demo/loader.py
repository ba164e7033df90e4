"""Carry out the demo plan, then move its history into the past.

Groups, agents, fields, organizations and contacts are made by the services. Tickets are
made by the services too, step by step with the agent who acts as the actor, so the
timelines name real people and every business rule holds; the plain stories (created,
answered, escalated, solved, closed) go through ``fast.FastWriter``, which writes the same
rows in bulk (a test holds the two to the same result), because three thousand tickets
through the ORM one step at a time would take minutes.

The services stamp ``now``; after each step the loader notes which rows the step wrote
(messages, ticket events, links) and which ticket timestamps it set, and at the end of
each batch moves them to the step's planned moment with plain UPDATE statements. Search
documents carry no time.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth import repository as auth_repository
from opora.auth import service as auth_service
from opora.auth.actor import Actor, system_actor
from opora.auth.models import Group, User
from opora.auth.schemas import GroupCreate, UserCreate
from opora.channels.email import repository as email_repository
from opora.channels.email.models import Mailbox
from opora.config import Settings
from opora.contacts import repository as contacts_repository
from opora.contacts import service as contacts_service
from opora.contacts.models import Contact, IdentityKind, Organization
from opora.contacts.schemas import ContactCreate, IdentityIn, OrganizationCreate
from opora.db import Database
from opora.demo import content
from opora.demo.automation import load_automation
from opora.demo.fast import Directory, FastWriter, fast_possible
from opora.demo.kb import load_kb
from opora.demo.plan import Plan, Step, Story, make_plan
from opora.fields import service as fields_service
from opora.fields.models import CustomField, FieldEntity, FieldType, TicketForm
from opora.fields.schemas import CustomFieldCreate, TicketFormCreate
from opora.kit.time import utcnow
from opora.tickets import service as tickets
from opora.tickets.models import (
    LinkKind,
    Message,
    Ticket,
    TicketEvent,
    TicketLink,
    TicketStatus,
    TicketType,
    Visibility,
)
from opora.tickets.schemas import (
    CustomerMessageCreate,
    EscalateIn,
    LinkCreate,
    MessageCreate,
    ResolutionIn,
    TicketCreate,
    TicketUpdate,
)

BATCH_TICKETS = 100  # tickets per transaction
TICKET_TIMES = (
    "created_at",
    "updated_at",
    "status_changed_at",
    "first_responded_at",
    "last_customer_message_at",
    "last_agent_message_at",
    "escalated_at",
    "assigned_at",
    "solved_at",
    "closed_at",
)
FIELDS = (
    CustomFieldCreate(
        entity=FieldEntity.TICKET,
        key="platform",
        label="Platform",
        label_ru="Платформа",
        type=FieldType.SELECT,
        options=["web", "ios", "android", "desktop"],
        position=1,
    ),
    CustomFieldCreate(
        entity=FieldEntity.TICKET,
        key="app_version",
        label="App version",
        label_ru="Версия приложения",
        type=FieldType.TEXT,
        position=2,
    ),
)

# the portal's and the agent's new-ticket forms over those fields; a question is the default
TICKET_FORMS = (
    TicketFormCreate(
        name="Question",
        name_ru="Вопрос",
        ticket_type=TicketType.QUESTION,
        position=1,
        is_default=True,
    ),
    TicketFormCreate(
        name="Problem with the app",
        name_ru="Проблема с приложением",
        ticket_type=TicketType.INCIDENT,
        field_keys=["platform", "app_version"],
        required_keys=["platform"],
        position=2,
    ),
    TicketFormCreate(
        name="Callback request",
        name_ru="Просьба перезвонить",
        ticket_type=TicketType.CALLBACK,
        field_keys=["platform"],
        position=3,
        visible_to_customers=False,
    ),
)


@dataclass(slots=True)
class Company:
    directory: Directory
    agents: dict[str, Actor]
    admin_existed: bool

    @property
    def groups(self) -> dict[str, int]:
        return self.directory.groups

    @property
    def user_ids(self) -> dict[str, int]:
        return self.directory.user_ids

    @property
    def contacts(self) -> list[tuple[int, Actor]]:
        return self.directory.contacts


@dataclass(slots=True)
class _Backdating:
    """Rows to move into the past at the end of a batch."""

    tickets: list[dict[str, Any]] = field(default_factory=list)
    written: list[tuple[Message | TicketEvent | TicketLink, datetime]] = field(default_factory=list)

    async def apply(self, session: AsyncSession) -> None:
        await session.flush()
        messages, links, events, responded = [], [], [], []
        for obj, at in self.written:
            row = {"id": obj.id, "created_at": at}
            if isinstance(obj, Message):
                messages.append(row)
            elif isinstance(obj, TicketLink):
                links.append(row)
            elif obj.field == "first_responded_at":  # its new value is the time itself
                responded.append({**row, "new_value": at.isoformat()})
            else:
                events.append(row)
        for model, rows in (
            (Ticket, self.tickets),
            (Message, messages),
            (TicketLink, links),
            (TicketEvent, events),
            (TicketEvent, responded),
        ):
            if rows:
                await session.execute(update(model), rows)
        self.tickets.clear()
        self.written.clear()


@dataclass(slots=True)
class _Run:
    """What the loader keeps between stories."""

    company: Company
    fast: bool = True
    problems: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    system: dict[str, Actor] = field(default_factory=dict)

    def actor(self, story: Story, key: str) -> Actor:
        if key == "customer":
            return self.company.contacts[story.contact][1]
        if key.startswith("system:"):
            label = key.partition(":")[2]
            return self.system.setdefault(label, system_actor(label))
        return self.company.agents[key]


async def load_demo(
    settings: Settings,
    *,
    tickets: int = 3000,
    seed: int = 7,
    if_empty: bool = False,
    now: datetime | None = None,
    fast: bool = True,
) -> str:
    """Load the demo company; returns a summary to print.

    ``now`` is where the 90 days of history end (default: the present). ``fast=False``
    sends every ticket through the services, step by step (slow; the tests compare it
    with the default).
    """
    started = time.perf_counter()
    # demo customers have made-up addresses: tell nobody anything
    db = Database(settings.resolved_database_url, settings=settings, info={"opora.notify": False})
    try:
        if if_empty:
            async with db.unit_of_work(write=False) as session:
                has = (await session.execute(select(Ticket.id).limit(1))).first()
            if has is not None:
                return (
                    "demo: the database already has tickets, so nothing was loaded "
                    "(run `opora demo` without --if-empty to add more)"
                )
        plan = make_plan(seed=seed, tickets=max(0, tickets), now=now or utcnow())
        company = await _load_company(db, plan)
        run = _Run(company, fast=fast)
        batch: list[Story] = []
        size = 0
        for story in plan.stories:
            batch.append(story)
            size += story.tickets
            if size >= BATCH_TICKETS:
                await _load_batch(db, batch, run)
                batch, size = [], 0
        if batch:
            await _load_batch(db, batch, run)
        made = await load_automation(db, now=plan.now)
        made.update(await load_kb(db))
        return await _summary(db, plan, company, time.perf_counter() - started, made)
    finally:
        await db.dispose()


# --- the company -------------------------------------------------------------------------


async def _load_company(db: Database, plan: Plan) -> Company:
    """Groups, fields, agents, organizations and contacts; existing ones are reused, so a
    second ``opora demo`` adds tickets to the same company."""
    actor = system_actor("demo")
    history = random.Random(f"{plan.seed}/history")
    new: dict[type, list[tuple[int, datetime]]] = defaultdict(list)

    def born(model: type, row_id: int, days_ago: tuple[int, int]) -> None:
        days = history.uniform(*days_ago)
        new[model].append((row_id, plan.now - timedelta(days=days)))

    async with db.unit_of_work() as s:
        groups: dict[str, int] = {}
        for spec in content.GROUPS:
            group = (
                await s.execute(select(Group).where(Group.name == spec.name))
            ).scalar_one_or_none()
            if group is None:
                group = await auth_service.create_group(
                    s,
                    actor=actor,
                    data=GroupCreate(name=spec.name, line=spec.line, description=spec.description),
                )
                born(Group, group.id, (300, 400))
            groups[spec.key] = group.id

        # the support address, so that mail can be taken in at once (`opora mail ingest`,
        # or an IMAP server added to it in Admin -> Mailboxes)
        if not await email_repository.mailboxes(s):
            s.add(
                Mailbox(
                    name="Support", address=content.MAILBOX_ADDRESS,
                    sender_name=content.MAILBOX_SENDER, group_id=groups["l1"],
                )
            )  # fmt: skip
            email_repository.forget_mailboxes(s)

        existing_fields = {
            f.key for f in await fields_service.list_fields(s, entity="ticket", active_only=False)
        }
        for field_spec in FIELDS:
            if field_spec.key not in existing_fields:
                custom = await fields_service.create_field(s, actor=actor, data=field_spec)
                born(CustomField, custom.id, (200, 300))
        existing_forms = {f.name for f in await fields_service.list_ticket_forms(s, actor=actor)}
        for form_spec in TICKET_FORMS:
            if form_spec.name not in existing_forms:
                form = await fields_service.create_ticket_form(s, actor=actor, data=form_spec)
                born(TicketForm, form.id, (150, 200))

        users: dict[str, User] = {}
        admin_existed = False
        for agent in content.AGENTS:
            user = await auth_repository.get_user_by_email(s, agent.email)
            if user is None:
                user = await auth_service.create_user(
                    s,
                    actor=actor,
                    data=UserCreate(
                        email=agent.email,
                        name=agent.name,
                        password=content.ADMIN_PASSWORD if agent.role == "admin" else None,
                        role=agent.role,
                        ticket_access=agent.ticket_access,
                        language=agent.language,
                        timezone="Europe/Moscow",
                        skills=list(agent.skills),
                        languages=list(agent.languages),
                        group_ids=[groups[g] for g in agent.groups],
                    ),
                )
                born(User, user.id, (100, 380))
            elif agent.role == "admin":
                admin_existed = True
            users[agent.key] = user

        orgs: list[int] = []
        for org_spec in content.ORGANIZATIONS[: plan.organizations]:
            org = (
                await s.execute(select(Organization).where(Organization.name == org_spec.name))
            ).scalar_one_or_none()
            if org is None:
                org = await contacts_service.create_organization(
                    s,
                    actor=actor,
                    data=OrganizationCreate(
                        name=org_spec.name,
                        domains=[org_spec.domain],
                        vip=org_spec.vip,
                        notes=org_spec.notes,
                    ),
                )
                born(Organization, org.id, (150, 700))
            orgs.append(org.id)

        contacts: list[tuple[int, Actor]] = []
        for person in plan.contacts:
            identity = await contacts_repository.find_identity(s, IdentityKind.EMAIL, person.email)
            if identity is not None:
                found = await s.get(Contact, identity.contact_id)
                assert found is not None
                contacts.append((found.id, auth_service.actor_for_contact(found)))
                continue
            extra = []
            if person.phone:
                extra.append(IdentityIn(kind=IdentityKind.PHONE, value=person.phone))
            if person.telegram:
                extra.append(IdentityIn(kind=IdentityKind.TELEGRAM, value=person.telegram))
            contact = await contacts_service.create_contact(
                s,
                actor=actor,
                data=ContactCreate(
                    name=person.name,
                    email=person.email,
                    identities=extra,
                    organization_id=(
                        orgs[person.organization] if person.organization is not None else None
                    ),
                    sees_organization_tickets=person.sees_organization_tickets,
                    language=person.language,
                    timezone=person.timezone,
                    technical_level=person.technical_level,
                ),
            )
            born(Contact, contact.id, (95, 700))
            contacts.append((contact.id, auth_service.actor_for_contact(contact)))

        for model, born_rows in new.items():
            await s.execute(
                update(model),
                [{"id": row_id, "created_at": at, "updated_at": at} for row_id, at in born_rows],
            )
        agents = {key: await auth_service.actor_for_user(s, user) for key, user in users.items()}
        lines, names = {}, {}
        for group_id, line, name in await s.execute(select(Group.id, Group.line, Group.name)):
            lines[group_id], names[group_id] = line, name
        directory = Directory(
            groups=groups,
            group_lines=lines,
            group_names=names,
            user_ids={key: user.id for key, user in users.items()},
            memberships={actor.id: actor.group_ids for actor in agents.values() if actor.id},
            contacts=contacts,
            fields=await fields_service.definitions(s, entity="ticket"),
        )
    return Company(directory=directory, agents=agents, admin_existed=admin_existed)


# --- the tickets -------------------------------------------------------------------------


async def _load_batch(db: Database, batch: list[Story], run: _Run) -> None:
    written: list[Message | TicketEvent | TicketLink] = []

    def collect(_session: Any, instance: object) -> None:
        if isinstance(instance, Message | TicketEvent | TicketLink):
            written.append(instance)

    backdating = _Backdating()
    writer = FastWriter(run.company.directory)

    async def flush_fast(s: AsyncSession) -> None:
        for ticket_id, rows in await writer.flush(s):
            if rows.ticket["type"] == "problem":
                run.problems[rows.topic].append(ticket_id)

    async with db.unit_of_work() as s:
        event.listen(s.sync_session, "transient_to_pending", collect)
        try:
            for story in batch:
                if run.fast and fast_possible(story):
                    writer.add_story(story, lambda key, story=story: run.actor(story, key))
                    continue
                await flush_fast(s)  # keep ticket numbers in the order of time
                await _load_story(s, story, run, written, backdating)
            await flush_fast(s)
            await backdating.apply(s)
        finally:
            event.remove(s.sync_session, "transient_to_pending", collect)


async def _load_story(
    s: AsyncSession,
    story: Story,
    run: _Run,
    written: list[Message | TicketEvent | TicketLink],
    backdating: _Backdating,
) -> None:
    tickets_of: dict[int, Ticket] = {}  # the story's tickets: 0 main, 1 duplicate, 2 follow-up
    seen: dict[datetime, datetime] = {}  # a timestamp a service wrote -> the planned moment
    for step in story.steps:
        assert step.at is not None
        written.clear()
        await _do(s, story, step, run, tickets_of)
        backdating.written.extend((obj, step.at) for obj in written)
        for ticket in tickets_of.values():
            for column in TICKET_TIMES:
                value = getattr(ticket, column)
                if value is not None and value not in seen:
                    seen[value] = step.at
    for ticket in tickets_of.values():
        row = {column: seen.get(getattr(ticket, column)) for column in TICKET_TIMES}
        backdating.tickets.append({"id": ticket.id, **row})


async def _do(
    s: AsyncSession, story: Story, step: Step, run: _Run, tickets_of: dict[int, Ticket]
) -> None:
    """One step, one service call."""
    actor = run.actor(story, step.actor)
    company = run.company
    d = step.data
    op = step.op
    if op == "create":
        ticket = await tickets.create_ticket(
            s,
            actor=actor,
            data=TicketCreate(
                subject=d["subject"],
                body=d["body"],
                requester_id=company.contacts[story.contact][0],
                priority=d["priority"],
                type=d["type"],
                channel=d["channel"],
                group_id=company.groups[d["group"]],
                assignee_id=company.user_ids[d["assignee"]] if d.get("assignee") else None,
                status=TicketStatus(d["status"]) if d.get("status") else None,
                tags=d["tags"],
                custom_fields=d["custom_fields"],
            ),
        )
        tickets_of[step.ticket] = ticket
        if ticket.type == "problem":
            run.problems[story.topic].append(ticket.id)
        return
    ticket_id = tickets_of[step.ticket].id
    if op == "assign":
        await tickets.update_ticket(
            s,
            actor=actor,
            ticket_id=ticket_id,
            data=TicketUpdate(
                assignee_id=company.user_ids[d["assignee"]],
                **{k: d[k] for k in ("priority", "custom_fields") if k in d},
            ),
        )
    elif op in ("reply", "note"):
        visibility = Visibility.PUBLIC if op == "reply" else Visibility.INTERNAL
        await tickets.add_message(
            s,
            actor=actor,
            ticket_id=ticket_id,
            data=MessageCreate(body=d["body"], visibility=visibility),
        )
    elif op == "status":
        resolution = {"resolution": ResolutionIn(**d["resolution"])} if "resolution" in d else {}
        await tickets.update_ticket(
            s,
            actor=actor,
            ticket_id=ticket_id,
            data=TicketUpdate(status=TicketStatus(d["status"]), **resolution),
        )
    elif op in ("customer", "follow_up"):
        added = await tickets.add_customer_message(
            s, actor=actor, ticket_id=ticket_id, data=CustomerMessageCreate(body=d["body"])
        )
        if op == "follow_up":
            tickets_of[2] = added.ticket
    elif op == "escalate":
        await tickets.escalate_ticket(
            s,
            actor=actor,
            ticket_id=ticket_id,
            data=EscalateIn(reason=d["reason"], group_id=company.groups[d["group"]]),
        )
    elif op == "regroup":
        await tickets.update_ticket(
            s,
            actor=actor,
            ticket_id=ticket_id,
            data=TicketUpdate(
                group_id=company.groups[d["group"]],
                assignee_id=company.user_ids[d["assignee"]],
                status=TicketStatus(d["status"]),
            ),
        )
    elif op == "merge":
        await tickets.merge_tickets(s, actor=actor, source_id=ticket_id, into_id=tickets_of[0].id)
    elif op == "link_related":
        earlier = [t for t in run.problems[d["topic"]] if t != ticket_id]
        if earlier:
            await tickets.link_ticket(
                s,
                actor=actor,
                ticket_id=ticket_id,
                data=LinkCreate(kind=LinkKind.RELATED, target_id=earlier[-1]),
            )
    elif op == "link_vendor":
        await tickets.link_ticket(
            s,
            actor=actor,
            ticket_id=ticket_id,
            data=LinkCreate(kind=LinkKind.VENDOR, external_url=d["url"], external_ref=d["ref"]),
        )
    else:  # pragma: no cover - the plan only writes the ops above
        raise ValueError(f"unknown demo step {op!r}")


# --- the summary -------------------------------------------------------------------------


async def _summary(
    db: Database, plan: Plan, company: Company, elapsed: float, made: dict[str, int]
) -> str:
    async with db.unit_of_work(write=False) as s:

        async def grouped(column: Any) -> dict[Any, int]:
            rows = await s.execute(select(column, func.count()).group_by(column))
            return {key: int(n) for key, n in rows}

        lines = await grouped(Group.line)
        roles = await grouped(User.role)
        statuses = await grouped(Ticket.status)
        languages = await grouped(Contact.language)
        organizations = await s.scalar(select(func.count(Organization.id))) or 0
        vip = await s.scalar(select(func.count(Organization.id)).where(Organization.vip)) or 0
        messages = await grouped(Message.visibility)
        escalations = await s.scalar(
            select(func.count(TicketEvent.id)).where(TicketEvent.kind == "escalated")
        )
    loaded = sum(story.tickets for story in plan.stories)
    by_status = ", ".join(f"{st} {statuses.get(st, 0)}" for st in TicketStatus)

    def counts(found: dict[Any, int], label: str = "") -> str:
        parts = ", ".join(f"{label}{key}: {n}" for key, n in sorted(found.items()))
        return f"{sum(found.values())} ({parts})"

    admin = content.ADMIN_EMAIL
    password = (
        "existed before the demo, its password is unchanged"
        if company.admin_existed
        else f"password {content.ADMIN_PASSWORD}"
    )
    customer = plan.contacts[0].email if plan.contacts else "<a contact's email>"
    email = {agent.key: agent.email for agent in content.AGENTS}
    return "\n".join(
        [
            f"Demo company loaded: {loaded} tickets in {elapsed:.1f} s (seed {plan.seed}).",
            "In the database now:",
            f"  groups         {counts(lines, 'line ')}",
            f"  agents         {counts(roles)}",
            f"  organizations  {organizations} ({vip} VIP)",
            f"  contacts       {counts(languages)}",
            f"  tickets        {sum(statuses.values())} ({by_status})",
            f"  messages       {sum(messages.values())} "
            f"({messages.get('internal', 0)} internal notes), escalations {escalations}",
            f"  SLA and automation made now: {made['calendars']} calendars, "
            f"{made['policies']} policies, {made['triggers']} triggers, "
            f"{made['time_rules']} time rules, {made['macros']} macros "
            "(Admin -> SLA, Triggers, Time rules; Macros in the top bar)",
            f"  knowledge base made now: {made.get('kb_categories', 0)} categories and "
            f"sections, {made.get('kb_articles', 0)} articles (the help center: /help)",
            "",
            f"Admin: {admin}, {password}",
            "The API takes tokens. Print one for the admin, any agent or any customer:",
            f"  opora token create --email {admin}",
            '  curl -H "Authorization: Bearer opr_..." '
            "'http://127.0.0.1:8000/api/v1/tickets?status=open'",
            f"Other views: {email['olga']} (L1), {email['igor']} (L2),",
            f"  {email['tomasz']} (the vendor: its group only),",
            f"  {customer} (a customer: /api/v1/me/tickets)",
        ]
    )
