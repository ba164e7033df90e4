"""Write plain ticket stories straight to the tables, exactly as the services would.

Most demo tickets take the same few steps: created, assigned, answered, maybe asked and
answered, escalated, noted, solved, closed. Through the services each step costs several
ORM round trips (~25 ms of CPU per ticket on SQLite), which would make the 3,000-ticket
demo take well over a minute. For stories made only of these steps, ``FastWriter``
computes the rows ``opora.tickets.service`` writes (the ticket, its messages, the
timeline events and tags) and inserts them in bulk, already dated; then the search
service indexes each new ticket, as it does after a merge.

It follows the services step by step and checks the same rules (status transitions,
group membership, custom fields), and ``tests/demo/test_demo.py`` loads the same stories
both ways and compares every row. When a service starts writing something else, that
test fails and this module has to follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor
from opora.demo.plan import Step, Story
from opora.fields.rules import FieldDef, validate_values
from opora.kit.time import utcnow
from opora.search import service as search
from opora.tickets import rules
from opora.tickets.models import (
    AuthorKind,
    Channel,
    Counter,
    DeliveryState,
    Message,
    Tag,
    Ticket,
    TicketEvent,
    TicketStatus,
    TicketTag,
    Visibility,
)
from opora.tickets.service import TICKET_NUMBER, normalize_tag

FAST_OPS = frozenset({"create", "assign", "reply", "note", "status", "customer", "escalate"})


def fast_possible(story: Story) -> bool:
    """Whether every step of the story is one ``FastWriter`` knows."""
    return all(step.op in FAST_OPS and step.ticket == 0 for step in story.steps)


@dataclass(frozen=True, slots=True)
class Directory:
    """What the writer needs to know about the company."""

    groups: dict[str, int]  # key -> id
    group_lines: dict[int, int]
    group_names: dict[int, str]
    user_ids: dict[str, int]  # agent key -> id
    memberships: dict[int, frozenset[int]]  # user id -> group ids
    contacts: list[tuple[int, Actor]]  # plan index -> (id, actor)
    fields: list[FieldDef]  # ticket custom fields


@dataclass(slots=True)
class _Pending:
    """One ticket's rows, waiting for ids. Events point at messages by their index in
    ``messages``."""

    ticket: dict[str, Any]
    tags: list[str]
    topic: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[dict[str, Any], int | None]] = field(default_factory=list)


def _actor_columns(actor: Actor) -> dict[str, Any]:
    return {
        "actor_kind": actor.kind.value,
        "actor_user_id": actor.id if actor.is_user else None,
        "actor_contact_id": actor.id if actor.is_customer else None,
        "actor_label": actor.label,
    }


class FastWriter:
    """Collects plain stories as rows; ``flush`` numbers and inserts them."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.pending: list[_Pending] = []

    # --- the steps -----------------------------------------------------------------------

    def add_story(self, story: Story, actor_of: Any) -> _Pending:
        """Compute the rows of ``story``; ``actor_of(key)`` resolves a step's actor."""
        pending: _Pending | None = None
        for step in story.steps:
            assert step.at is not None
            actor: Actor = actor_of(step.actor)
            if step.op == "create":
                pending = self._create(story, step, actor, step.at)
                continue
            assert pending is not None
            getattr(self, f"_{step.op}")(pending, step, actor, step.at)
        assert pending is not None
        pending.topic = story.topic
        self.pending.append(pending)
        return pending

    def _event(
        self,
        p: _Pending,
        actor: Actor,
        kind: str,
        at: datetime,
        *,
        field: str | None = None,
        old: Any = None,
        new: Any = None,
        message: int | None = None,
    ) -> None:
        row = {
            "kind": kind,
            "field": field,
            "old_value": old,
            "new_value": new,
            "created_at": at,
            **_actor_columns(actor),
        }
        p.events.append((row, message))

    def _message(self, p: _Pending, row: dict[str, Any]) -> int:
        p.messages.append(
            {
                "author_user_id": None,
                "author_contact_id": None,
                "body_html": "",
                "external_id": None,
                "delivery_state": DeliveryState.NONE.value,
                "delivery_error": None,
                **row,
            }
        )
        return len(p.messages) - 1

    def _set_status(self, ticket: dict[str, Any], new: str, at: datetime) -> None:
        ticket["status"] = new
        ticket["status_changed_at"] = at
        if new == TicketStatus.SOLVED:
            ticket["solved_at"] = at
        elif new == TicketStatus.CLOSED:
            ticket["closed_at"] = at
            ticket["solved_at"] = ticket["solved_at"] or at
        elif new in (TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD):
            ticket["solved_at"] = None

    def _check_assignee(self, user_id: int, group_id: int | None) -> None:
        if group_id is not None and group_id not in self.directory.memberships[user_id]:
            raise ValueError(f"user {user_id} is not in group {group_id}")

    def _create(self, story: Story, step: Step, actor: Actor, at: datetime) -> _Pending:
        d, directory = step.data, self.directory
        requester_id, requester = directory.contacts[story.contact]
        group_id = directory.groups[d["group"]]
        assignee_id = directory.user_ids[d["assignee"]] if d.get("assignee") else None
        if assignee_id is not None:
            self._check_assignee(assignee_id, group_id)
        custom = validate_values(directory.fields, d["custom_fields"])
        status = d.get("status") or (TicketStatus.OPEN if assignee_id else TicketStatus.NEW)
        if status == TicketStatus.CLOSED:
            raise ValueError("a ticket cannot be created closed")
        body = d["body"].strip()
        tags = sorted({normalize_tag(t) for t in d["tags"]})
        ticket = {
            "number": None,
            "subject": d["subject"].strip(),
            "status": str(status),
            "priority": d["priority"],
            "type": d["type"],
            "channel": d["channel"],
            "requester_id": requester_id,
            "organization_id": requester.organization_id,
            "group_id": group_id,
            "line": directory.group_lines[group_id],
            "assignee_id": assignee_id,
            "assigned_at": at if assignee_id is not None else None,
            "custom_fields": custom,
            "merged_into_id": None,
            "satisfaction": None,
            "sla_policy_id": None,
            "first_response_due_at": None,
            "next_response_due_at": None,
            "resolution_due_at": None,
            "created_at": at,
            "updated_at": at,
            "status_changed_at": at,
            "first_responded_at": None,
            "last_customer_message_at": at,
            "last_agent_message_at": None,
            "escalated_at": None,
            "solved_at": None,
            "closed_at": None,
            "resolution": {},
        }
        p = _Pending(ticket=ticket, tags=tags)
        first = self._message(
            p,
            {
                "visibility": Visibility.PUBLIC.value,
                "author_kind": AuthorKind.CONTACT.value,
                "author_contact_id": requester_id,
                "body_text": body,
                "channel": d["channel"],
                "extra": {"submitted_by_user_id": actor.id} if actor.is_user else {},
                "created_at": at,
            },
        )
        snapshot = {
            "number": None,  # filled when the ticket is numbered
            "status": str(status),
            "priority": d["priority"],
            "type": d["type"],
            "channel": d["channel"],
            "group_id": group_id,
            "assignee_id": assignee_id,
            "tags": tags,
        }
        self._event(p, actor, "created", at, new=snapshot, message=first)
        return p

    def _assign(self, p: _Pending, step: Step, actor: Actor, at: datetime) -> None:
        d, t = step.data, p.ticket
        changed: list[tuple[str, Any, Any]] = []

        def change(column: str, new: Any) -> None:
            if t[column] != new:
                changed.append((column, t[column], new))
                t[column] = new

        if "priority" in d:
            change("priority", d["priority"])
        assignee_id = self.directory.user_ids[d["assignee"]]
        self._check_assignee(assignee_id, t["group_id"])
        change("assignee_id", assignee_id)
        if changed and changed[-1][0] == "assignee_id":
            t["assigned_at"] = at
        if "custom_fields" in d:
            custom = validate_values(
                self.directory.fields, d["custom_fields"], existing=t["custom_fields"]
            )
            change("custom_fields", custom)
        self._changed(p, actor, changed, at)

    def _changed(
        self, p: _Pending, actor: Actor, changed: list[tuple[str, Any, Any]], at: datetime
    ) -> None:
        if not changed:
            return
        p.ticket["updated_at"] = at
        for column, old, new in changed:
            self._event(p, actor, "field_changed", at, field=column, old=old, new=new)

    def _status(self, p: _Pending, step: Step, actor: Actor, at: datetime) -> None:
        d, t = step.data, p.ticket
        if rules.is_final(t["status"]):
            raise ValueError(f"ticket is closed: {step}")
        changed: list[tuple[str, Any, Any]] = []
        if "resolution" in d and t["resolution"] != d["resolution"]:
            changed.append(("resolution", t["resolution"], dict(d["resolution"])))
            t["resolution"] = dict(d["resolution"])
        new = d["status"]
        if new != t["status"]:
            if not rules.can_transition(t["status"], new) or new == TicketStatus.NEW:
                raise ValueError(f"a {t['status']} ticket cannot become {new}")
            old = t["status"]
            self._set_status(t, new, at)
            changed.append(("status", old, new))
        if changed and t["status"] in (TicketStatus.SOLVED, TicketStatus.CLOSED):
            validate_values(self.directory.fields, {}, existing=t["custom_fields"])
        self._changed(p, actor, changed, at)

    def _reply(self, p: _Pending, step: Step, actor: Actor, at: datetime) -> None:
        self._agent_message(p, step, actor, at, internal=False)

    def _note(self, p: _Pending, step: Step, actor: Actor, at: datetime) -> None:
        self._agent_message(p, step, actor, at, internal=True)

    def _agent_message(
        self, p: _Pending, step: Step, actor: Actor, at: datetime, *, internal: bool
    ) -> None:
        t = p.ticket
        if rules.is_final(t["status"]):
            raise ValueError(f"ticket is closed: {step}")
        index = self._message(
            p,
            {
                "visibility": (Visibility.INTERNAL if internal else Visibility.PUBLIC).value,
                "author_kind": (AuthorKind.USER if actor.is_user else AuthorKind.SYSTEM).value,
                "author_user_id": actor.id if actor.is_user else None,
                "body_text": step.data["body"].strip(),
                "channel": Channel.AGENT.value if internal else t["channel"],
                "extra": {},
                "created_at": at,
            },
        )
        if not internal:
            if t["first_responded_at"] is None:
                t["first_responded_at"] = at
                self._event(p, actor, "field_changed", at, field="first_responded_at",
                            old=None, new=at.isoformat())  # fmt: skip
            t["last_agent_message_at"] = at
            new_status = rules.status_after_agent_reply(t["status"])
            if new_status != t["status"]:
                self._event(p, actor, "field_changed", at, field="status",
                            old=t["status"], new=str(new_status))  # fmt: skip
                self._set_status(t, str(new_status), at)
        t["updated_at"] = at
        self._event(p, actor, "note_added" if internal else "reply_added", at, message=index)

    def _customer(self, p: _Pending, step: Step, actor: Actor, at: datetime) -> None:
        t = p.ticket
        if rules.is_final(t["status"]):
            raise ValueError(f"a reply to a closed ticket opens a follow-up: {step}")
        index = self._message(
            p,
            {
                "visibility": Visibility.PUBLIC.value,
                "author_kind": AuthorKind.CONTACT.value,
                "author_contact_id": actor.id,
                "body_text": step.data["body"].strip(),
                "channel": t["channel"],
                "extra": {},
                "created_at": at,
            },
        )
        t["last_customer_message_at"] = at
        t["updated_at"] = at
        new_status = rules.status_after_customer_message(t["status"])
        if new_status != t["status"]:
            self._event(p, actor, "field_changed", at, field="status",
                        old=t["status"], new=str(new_status))  # fmt: skip
            self._set_status(t, str(new_status), at)
        self._event(p, actor, "reply_added", at, message=index)

    def _escalate(self, p: _Pending, step: Step, actor: Actor, at: datetime) -> None:
        t, directory = p.ticket, self.directory
        reason = step.data["reason"].strip()
        if rules.is_final(t["status"]) or rules.next_line(t["line"]) is None or not reason:
            raise ValueError(f"cannot escalate: {step}")
        group_id = directory.groups[step.data["group"]]
        to_line, name = directory.group_lines[group_id], directory.group_names[group_id]
        if to_line <= t["line"]:
            raise ValueError(f"group {name} is not above line {t['line']}")
        from_line, from_group = t["line"], t["group_id"]
        note = self._message(
            p,
            {
                "visibility": Visibility.INTERNAL.value,
                "author_kind": (AuthorKind.USER if actor.is_user else AuthorKind.SYSTEM).value,
                "author_user_id": actor.id if actor.is_user else None,
                "body_text": f"Escalated from line {from_line} to line {to_line} ({name}): "
                f"{reason}",
                "channel": Channel.AGENT.value,
                "extra": {"escalation": {"from_line": from_line, "to_line": to_line}},
                "created_at": at,
            },
        )
        old_assignee = t["assignee_id"]
        t["group_id"], t["line"], t["escalated_at"] = group_id, to_line, at
        if old_assignee is not None and group_id not in directory.memberships[old_assignee]:
            t["assignee_id"] = None
            self._event(p, actor, "field_changed", at, field="assignee_id",
                        old=old_assignee, new=None)  # fmt: skip
        if t["status"] == TicketStatus.NEW:
            self._set_status(t, TicketStatus.OPEN.value, at)
            self._event(p, actor, "field_changed", at, field="status",
                        old=TicketStatus.NEW.value, new=TicketStatus.OPEN.value)  # fmt: skip
        t["updated_at"] = at
        self._event(
            p, actor, "escalated", at, field="line",
            old={"line": from_line, "group_id": from_group},
            new={"line": to_line, "group_id": group_id, "reason": reason},
            message=note,
        )  # fmt: skip

    # --- writing -----------------------------------------------------------------------

    async def _numbers(self, session: AsyncSession, count: int) -> list[int]:
        """``count`` ticket numbers from the same counter the services use."""
        stmt = (
            update(Counter)
            .where(Counter.name == TICKET_NUMBER)
            .values(value=Counter.value + count)
            .returning(Counter.value)
        )
        last = (await session.execute(stmt)).scalar_one_or_none()
        if last is None:  # no ticket yet: create the counter as the service does
            start = (await session.execute(select(func.max(Ticket.number)))).scalar() or 0
            await session.execute(
                _dialect_insert(session)(Counter)
                .values(name=TICKET_NUMBER, value=start)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            last = (await session.execute(stmt)).scalar_one()
        return list(range(int(last) - count + 1, int(last) + 1))

    async def _tag_ids(self, session: AsyncSession, names: set[str]) -> dict[str, int]:
        if not names:
            return {}
        now = utcnow()
        await session.execute(
            _dialect_insert(session)(Tag)
            .values([{"name": n, "created_at": now} for n in sorted(names)])
            .on_conflict_do_nothing(index_elements=["name"])
        )
        rows = await session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(names)))
        return {name: tag_id for name, tag_id in rows}

    async def flush(self, session: AsyncSession) -> list[tuple[int, _Pending]]:
        """Insert what is pending; returns (ticket id, its rows) in order."""
        pending, self.pending = self.pending, []
        if not pending:
            return []
        for p, number in zip(pending, await self._numbers(session, len(pending)), strict=True):
            p.ticket["number"] = number
            created = p.events[0][0]
            created["new_value"] = {**created["new_value"], "number": number}
        # nothing in a story shares a moment, so (ticket, time) names a message
        by_number = await _insert(session, Ticket, [p.ticket for p in pending], "number")
        ticket_ids = [by_number[(p.ticket["number"],)] for p in pending]
        messages = [
            {**m, "ticket_id": tid} for p, tid in zip(pending, ticket_ids, strict=True)
            for m in p.messages
        ]  # fmt: skip
        by_moment = await _insert(session, Message, messages, "ticket_id", "created_at")
        by_ticket = [
            [by_moment[(tid, m["created_at"])] for m in p.messages]
            for p, tid in zip(pending, ticket_ids, strict=True)
        ]
        events, ticket_tags = [], []
        tag_ids = await self._tag_ids(session, {tag for p in pending for tag in p.tags})
        for p, tid, mids in zip(pending, ticket_ids, by_ticket, strict=True):
            for row, index in p.events:
                message_id = mids[index] if index is not None else None
                events.append({**row, "ticket_id": tid, "message_id": message_id})
            ticket_tags += [{"ticket_id": tid, "tag_id": tag_ids[tag]} for tag in p.tags]
        for model, rows in ((TicketEvent, events), (TicketTag, ticket_tags)):
            if rows:
                await session.execute(insert(model).execution_options(render_nulls=True), rows)
        for p, tid in zip(pending, ticket_ids, strict=True):
            texts = [(m["body_text"], m["visibility"] == "internal") for m in p.messages]
            await search.reindex_ticket(
                session, ticket_id=tid, subject=p.ticket["subject"], messages=texts
            )
        return list(zip(ticket_ids, pending, strict=True))


def _dialect_insert(session: AsyncSession) -> Any:
    """INSERT with ON CONFLICT for the session's database."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def _insert(
    session: AsyncSession, model: Any, rows: list[dict[str, Any]], *key: str
) -> dict[tuple[Any, ...], int]:
    """Insert ``rows`` (many per statement); their new ids by the values of ``key``."""
    if not rows:
        return {}
    columns = [getattr(model, name) for name in key]
    # render_nulls keeps every row's columns alike, so they go many to a statement
    stmt = insert(model).returning(model.id, *columns).execution_options(render_nulls=True)
    result = await session.execute(stmt, rows)
    ids = {tuple(found): int(row_id) for row_id, *found in result}
    if len(ids) != len(rows):
        raise ValueError(f"{model.__name__} rows are not told apart by {key}")
    return ids
