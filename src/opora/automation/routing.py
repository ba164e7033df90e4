"""Routing: which agent of a group gets a ticket nobody has.

A group's ``assignment`` says how its tickets get an agent: ``manual`` (agents take them
from the queue; routing never touches the group), ``round_robin`` or ``least_loaded``.
``route_ticket`` picks among the group's members in these steps, each narrowing the
previous one (``pick_agent`` is the pure part, table-tested):

1. **Available**: active users whose availability is ``online``. An agent who is
   ``away`` keeps what they have but gets nothing new; ``offline`` gets nothing either
   (and, in groups with ``reassign_when_offline``, gives back what was waiting:
   ``reassign_from``).
2. **Below capacity**: an agent's load is their assigned tickets that are ``new``,
   ``open`` or ``on_hold`` (``CAPACITY_STATUSES``), in every group; ``pending`` tickets
   wait for the customer and do not count. Only agents whose load is below their
   ``capacity`` qualify (a capacity of 0 takes no routed tickets at all).
3. **Skills**: the ticket's tags that are skills of at least one agent still in the
   running are what the ticket needs; the agents who have the most of those qualify —
   all of them when someone has them all. When nobody has any, skills do not narrow
   anything: an answer from someone beats waiting for a specialist who is not there.
   Tags and skills compare case-insensitively, spaces as hyphens (as tags are stored).
4. **Language** (a preference): if some of the remaining agents list the requester's
   language in ``languages`` (``ru`` matches ``ru-RU``), only they qualify; otherwise
   everyone remaining does.
5. **Strategy**: ``round_robin`` takes the member whose membership ``last_assigned_at``
   is oldest (never assigned = first; ties by membership id); ``least_loaded`` takes the
   fewest tickets in the load of step 2, ties in round-robin order. Both stamp the
   chosen membership's ``last_assigned_at``.

The ticket is assigned through ``tickets.service.update_ticket`` as the system actor
"Routing", so the timeline says who assigned it and the usual ``ticket.updated`` event
(and notification) follows. When nobody qualifies the ticket stays unassigned, quietly:
it waits in the group's queue like any unassigned ticket.

**Concurrency.** On PostgreSQL, ``route_ticket`` locks the ticket row, then the group
memberships of every online member (``SELECT … ORDER BY id FOR UPDATE``: all their
memberships, in every group, so a routing in another group that could pick the same
agent waits too) before it counts loads; a second transaction routing at the same time
waits for the first to commit and then counts its assignment. Locks are taken in one
order (tickets, then memberships by id), so routings do not deadlock each other. SQLite
has one writer at a time, which serializes routing by itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import system_actor
from opora.auth.models import Availability, Group, GroupMembership, User
from opora.auth.schemas import AssignmentMode
from opora.contacts.models import Contact
from opora.errors import InvalidInput
from opora.kit.time import utcnow
from opora.tickets import repository as tickets_repository
from opora.tickets import service as tickets_service
from opora.tickets.models import Ticket, TicketStatus
from opora.tickets.schemas import TicketUpdate

ROUTING_ACTOR = "Routing"
# assigned tickets that fill an agent's capacity: pending waits for the customer
CAPACITY_STATUSES: tuple[str, ...] = (
    TicketStatus.NEW.value,
    TicketStatus.OPEN.value,
    TicketStatus.ON_HOLD.value,
)
# tickets waiting for us: routed when unassigned, handed back when their agent leaves
WAITING_STATUSES: tuple[str, ...] = (TicketStatus.NEW.value, TicketStatus.OPEN.value)
STRATEGIES = frozenset({AssignmentMode.ROUND_ROBIN.value, AssignmentMode.LEAST_LOADED.value})
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A member of the group who could take the ticket (the inputs of ``pick_agent``)."""

    user_id: int
    membership_id: int
    load: int
    capacity: int
    availability: str = Availability.ONLINE.value
    skills: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    last_assigned_at: datetime | None = None


def normalize_skill(value: str) -> str:
    """A skill or a tag as compared: lower case, runs of spaces as one hyphen."""
    return "-".join(value.strip().lower().split())


def primary_language(value: str | None) -> str:
    """``ru-RU`` → ``ru``; ``None`` → ``""``."""
    return (value or "").strip().lower().replace("_", "-").split("-", 1)[0]


def _round_robin_key(c: Candidate) -> tuple[bool, datetime, int]:
    never = c.last_assigned_at is None
    return (not never, c.last_assigned_at or datetime.min, c.membership_id)


def pick_agent(
    candidates: Iterable[Candidate],
    *,
    strategy: str,
    ticket_tags: Iterable[str] = (),
    language: str | None = None,
) -> Candidate | None:
    """The member who gets the ticket under the module's rules, or None."""
    if strategy not in STRATEGIES:
        raise InvalidInput(f"unknown routing strategy {strategy!r}", field="strategy")
    pool = [c for c in candidates if c.availability == Availability.ONLINE and c.load < c.capacity]
    tags = {normalize_skill(t) for t in ticket_tags}
    needed = tags & {s for c in pool for s in c.skills}
    if needed:
        best = max(len(c.skills & needed) for c in pool)
        pool = [c for c in pool if len(c.skills & needed) == best]
    wanted = primary_language(language)
    if wanted:
        speakers = [c for c in pool if wanted in c.languages]
        pool = speakers or pool
    if not pool:
        return None
    if strategy == AssignmentMode.LEAST_LOADED:
        return min(pool, key=lambda c: (c.load, *_round_robin_key(c)))
    return min(pool, key=_round_robin_key)


async def _lock_ticket(session: AsyncSession, ticket_ids: Sequence[int]) -> None:
    """PostgreSQL: lock the tickets (by id) before any membership, the one lock order."""
    if ticket_ids and session.get_bind().dialect.name == "postgresql":
        await session.execute(
            select(Ticket.id)
            .where(Ticket.id.in_(sorted(set(ticket_ids))))
            .order_by(Ticket.id)
            .with_for_update()
        )


async def _lock_memberships(session: AsyncSession, user_ids: Iterable[int]) -> None:
    """PostgreSQL: lock every membership of these users (in every group), by id."""
    ids = sorted(set(user_ids))
    if ids and session.get_bind().dialect.name == "postgresql":
        await session.execute(
            select(GroupMembership.id)
            .where(GroupMembership.user_id.in_(ids))
            .order_by(GroupMembership.id)
            .with_for_update()
        )


async def _online_member_ids(session: AsyncSession, group_ids: Iterable[int]) -> list[int]:
    rows = await session.execute(
        select(GroupMembership.user_id)
        .join(User, User.id == GroupMembership.user_id)
        .where(
            GroupMembership.group_id.in_(sorted(set(group_ids))),
            User.is_active.is_(True),
            User.availability == Availability.ONLINE.value,
        )
    )
    return list(rows.scalars())


async def loads_of(
    session: AsyncSession, user_ids: Iterable[int], *, excluding_ticket: int | None = None
) -> dict[int, int]:
    """Each user's load (assigned tickets in ``CAPACITY_STATUSES``): one GROUP BY over
    the (assignee_id, status) index."""
    ids = sorted(set(user_ids))
    result = dict.fromkeys(ids, 0)
    if not ids:
        return result
    stmt = (
        select(Ticket.assignee_id, func.count())
        .where(Ticket.assignee_id.in_(ids), Ticket.status.in_(CAPACITY_STATUSES))
        .group_by(Ticket.assignee_id)
    )
    if excluding_ticket is not None:
        stmt = stmt.where(Ticket.id != excluding_ticket)
    for user_id, count in await session.execute(stmt):
        if user_id is not None:
            result[user_id] = int(count)
    return result


async def _candidates(
    session: AsyncSession, group_id: int, ticket_id: int
) -> tuple[list[Candidate], list[GroupMembership]]:
    """The group's online members as candidates (memberships locked on PostgreSQL), and
    every membership of the group (for the round-robin stamp)."""
    await _lock_memberships(session, await _online_member_ids(session, [group_id]))
    rows = (
        await session.execute(
            select(GroupMembership, User)
            .join(User, User.id == GroupMembership.user_id)
            .where(GroupMembership.group_id == group_id)
            .order_by(GroupMembership.id)
        )
    ).all()
    memberships = [m for m, _ in rows]
    online = [(m, u) for m, u in rows if u.is_active and u.availability == Availability.ONLINE]
    loads = await loads_of(session, [u.id for _, u in online], excluding_ticket=ticket_id)
    candidates = [
        Candidate(
            user_id=u.id,
            membership_id=m.id,
            load=loads[u.id],
            capacity=u.capacity,
            availability=u.availability,
            skills=frozenset(normalize_skill(s) for s in u.skills or [] if s.strip()),
            languages=frozenset(primary_language(x) for x in u.languages or [] if x.strip()),
            last_assigned_at=m.last_assigned_at,
        )
        for m, u in online
    ]
    return candidates, memberships


def _stamp(memberships: list[GroupMembership]) -> datetime:
    """Now, but always after every stamp of the group: two routings in the same
    microsecond (or a clock a little behind another process's) keep their order."""
    now = utcnow()
    latest = max((m.last_assigned_at for m in memberships if m.last_assigned_at), default=None)
    return max(now, latest + _TICK) if latest is not None else now


async def route_ticket(
    session: AsyncSession, ticket: Ticket, *, strategy: str | None = None
) -> int | None:
    """Pick an agent of ``ticket.group_id`` and assign the ticket to them; returns their
    id, or None when the ticket is not routed (no group, an inactive group, a manual
    group with no ``strategy`` given, a solved or closed ticket, or nobody qualifies).

    ``strategy`` None follows the group's ``assignment``; ``round_robin`` or
    ``least_loaded`` route even a manual group's ticket (a rule that asks for it). A
    ticket that has an assignee is routed as if it had none (its own ticket does not
    count in its assignee's load); when the choice is its assignee nothing changes."""
    if ticket.group_id is None or ticket.status in (TicketStatus.SOLVED, TicketStatus.CLOSED):
        return None
    group = await session.get(Group, ticket.group_id)
    if group is None or not group.is_active:
        return None
    mode = strategy or group.assignment
    if mode == AssignmentMode.MANUAL:
        return None
    if mode not in STRATEGIES:
        raise InvalidInput(f"unknown routing strategy {mode!r}", field="strategy")
    await _lock_ticket(session, [ticket.id])
    candidates, memberships = await _candidates(session, group.id, ticket.id)
    if not candidates:
        return None
    tags = (await tickets_repository.tags_of(session, [ticket.id]))[ticket.id]
    requester = await session.get(Contact, ticket.requester_id)
    chosen = pick_agent(
        candidates,
        strategy=mode,
        ticket_tags=tags,
        language=requester.language if requester is not None else None,
    )
    if chosen is None:
        return None
    if chosen.user_id == ticket.assignee_id:
        return chosen.user_id
    membership = next(m for m in memberships if m.id == chosen.membership_id)
    membership.last_assigned_at = _stamp(memberships)
    await tickets_service.update_ticket(
        session,
        actor=system_actor(ROUTING_ACTOR),
        ticket_id=ticket.id,
        data=TicketUpdate(assignee_id=chosen.user_id),
    )
    return chosen.user_id


async def reassign_from(session: AsyncSession, *, user_id: int) -> int:
    """The agent went offline: each of their ``new``/``open`` tickets in an active group
    with ``reassign_when_offline`` (and a routing mode other than manual: a manual group
    has nobody to route to, so the agent keeps the ticket) is unassigned and routed
    again. Returns how many tickets were unassigned (some may find nobody and wait in
    the queue). ``pending`` and ``on_hold`` tickets stay with the agent."""
    stmt = (
        select(Ticket.id, Ticket.group_id)
        .join(Group, Group.id == Ticket.group_id)
        .where(
            Ticket.assignee_id == user_id,
            Ticket.status.in_(WAITING_STATUSES),
            Group.reassign_when_offline.is_(True),
            Group.is_active.is_(True),
            Group.assignment != AssignmentMode.MANUAL.value,
        )
        .order_by(Ticket.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        # the one lock order: the tickets first, then the memberships routing will need
        stmt = stmt.with_for_update(of=Ticket)
    rows = (await session.execute(stmt)).all()
    if not rows:
        return 0
    await _lock_memberships(
        session, await _online_member_ids(session, {gid for _, gid in rows if gid is not None})
    )
    actor = system_actor(ROUTING_ACTOR)
    for ticket_id, _ in rows:
        ticket = await tickets_service.update_ticket(
            session, actor=actor, ticket_id=int(ticket_id), data=TicketUpdate(assignee_id=None)
        )
        await route_ticket(session, ticket)
    return len(rows)
