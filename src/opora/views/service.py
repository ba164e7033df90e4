"""View use cases. Services never commit.

Who may do what:
- agents (and the system) use views; customers get a 403;
- every agent sees the built-in views, the shared views and their own personal views;
  another agent's personal view is a 404, like a view that does not exist;
- an agent creates, changes and deletes their own personal views;
- shared views (``owner_id`` NULL) are created, changed and deleted by admins only;
  other agents get a 403 for a shared view they can see;
- built-in views cannot be changed or deleted (403, ``view_builtin``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor, require_agent
from opora.errors import Forbidden, InvalidInput, NotFound
from opora.kit.time import utcnow
from opora.tickets import service as tickets
from opora.tickets.models import Ticket
from opora.tickets.repository import TicketFilters
from opora.views import repository, rules
from opora.views.models import View
from opora.views.schemas import ViewCreate, ViewUpdate

COUNT_CAP = 1_000  # counts above this are reported as "1000+": a count reads at most 1,001 rows
# Sorts an index serves (walk it, stop after a page) whatever the list's size. The others
# (priority, status, names, due, subject) sort every ticket of the list, which costs
# 1-2 s for "All open" at a million tickets; the pages apply them to lists of at most
# SORT_LIMIT tickets and otherwise keep the view's sort and say why.
INDEXED_SORTS = frozenset(
    {"updated_at", "-updated_at", "created_at", "-created_at", "number", "-number"}
)
SORT_LIMIT = COUNT_CAP


class ViewNotFound(NotFound):
    code = "view_not_found"


class InvalidView(InvalidInput):
    code = "invalid_view"


class BuiltinViewReadOnly(Forbidden):
    code = "view_builtin"


@dataclass(frozen=True, slots=True)
class ViewDef:
    """A view as the inbox shows it: a built-in (from code) or a saved row."""

    key: str
    name_en: str
    name_ru: str
    conditions: list[dict[str, Any]]
    columns: list[str]
    sort: str
    position: int
    builtin: bool
    id: int | None = None
    owner_id: int | None = None
    editable: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def shared(self) -> bool:
        return self.builtin or self.owner_id is None

    def name(self, language: str) -> str:
        return self.name_ru if language == "ru" else self.name_en


@dataclass(frozen=True, slots=True)
class ViewCount:
    count: int
    capped: bool


@dataclass(frozen=True, slots=True)
class ViewPage:
    view: ViewDef
    tickets: list[Ticket]
    tags: dict[int, list[str]] = field(default_factory=dict)
    next_cursor: str | None = None
    sort_used: str | None = None  # the sort the page is in
    sort_refused: str | None = None  # a sort asked for but not applied (see SORT_LIMIT)


@dataclass(frozen=True, slots=True)
class Inbox:
    """Everything the inbox page shows: the sidebar (views and their counts) and one page
    of the current view's tickets with the names of requesters, assignees and groups."""

    views: list[ViewDef]
    counts: dict[str, ViewCount]
    page: ViewPage
    requester_names: dict[int, str]
    assignee_names: dict[int, str]
    group_names: dict[int, str]
    groups: list[tuple[int, str]] = field(default_factory=list)  # active groups, for filters
    agents: list[tuple[int, str]] = field(default_factory=list)  # active agents, for filters


def _may_edit(actor: Actor, view: View) -> bool:
    return actor.is_admin if view.owner_id is None else view.owner_id == actor.id


def _saved_def(actor: Actor, view: View) -> ViewDef:
    return ViewDef(
        key=str(view.id),
        name_en=view.name,
        name_ru=view.name,
        conditions=list(view.conditions),
        columns=list(view.columns),
        sort=view.sort,
        position=view.position,
        builtin=False,
        id=view.id,
        owner_id=view.owner_id,
        editable=_may_edit(actor, view),
        created_at=view.created_at,
        updated_at=view.updated_at,
    )


def _builtin_defs() -> list[ViewDef]:
    return [
        ViewDef(
            key=b.key,
            name_en=b.name_en,
            name_ru=b.name_ru,
            conditions=[dict(c) for c in b.conditions],
            columns=list(b.columns),
            sort=b.sort,
            position=i,
            builtin=True,
        )
        for i, b in enumerate(rules.BUILTIN_VIEWS)
    ]


def _name(raw: str) -> str:
    name = raw.strip()
    if not name:
        raise InvalidView("a view needs a name", field="name")
    return name


def _checked(fn: Any, value: Any) -> Any:
    try:
        return fn(value)
    except rules.ViewRuleError as exc:
        raise InvalidView(exc.message, field=exc.path) from exc


async def _scope(session: AsyncSession, actor: Actor) -> rules.Scope:
    return rules.Scope(
        user_id=actor.id if actor.is_user else None,
        group_ids=actor.group_ids,
        line=await repository.highest_line(session, actor.group_ids),
        now=utcnow(),
    )


async def _saved_view_for_change(session: AsyncSession, actor: Actor, view_key: str) -> View:
    require_agent(actor)
    if view_key in rules.BUILTIN_BY_KEY:
        raise BuiltinViewReadOnly(f"the built-in view {view_key} cannot be changed")
    view = None
    if view_key.isdigit():
        view = await repository.get_readable_view(session, actor, int(view_key))
    if view is None:
        raise ViewNotFound(f"view {view_key} not found")
    if not _may_edit(actor, view):
        raise Forbidden("only an admin may change a shared view")
    return view


async def list_views(session: AsyncSession, *, actor: Actor) -> list[ViewDef]:
    """Built-in views first, then the shared and the actor's personal views by position."""
    require_agent(actor)
    saved = await repository.saved_views(session, actor)
    return _builtin_defs() + [_saved_def(actor, v) for v in saved]


async def get_view(session: AsyncSession, *, actor: Actor, view_key: str) -> ViewDef:
    require_agent(actor)
    for builtin in _builtin_defs():
        if builtin.key == view_key:
            return builtin
    view = None
    if view_key.isdigit():
        view = await repository.get_readable_view(session, actor, int(view_key))
    if view is None:
        raise ViewNotFound(f"view {view_key} not found")
    return _saved_def(actor, view)


async def create_view(session: AsyncSession, *, actor: Actor, data: ViewCreate) -> ViewDef:
    require_agent(actor)
    if data.shared and not actor.is_admin:
        raise Forbidden("only an admin may create a shared view", field="shared")
    if not data.shared and not actor.is_user:
        raise InvalidInput("a personal view needs a user", field="shared")
    view = View(
        name=_name(data.name),
        owner_id=None if data.shared else actor.id,
        position=data.position,
        conditions=_checked(rules.validate_conditions, data.conditions),
        columns=_checked(
            rules.validate_columns,
            data.columns if data.columns is not None else list(rules.DEFAULT_COLUMNS),
        ),
        sort=_checked(rules.validate_sort, data.sort or rules.DEFAULT_SORT),
    )
    session.add(view)
    await session.flush()
    return _saved_def(actor, view)


async def update_view(
    session: AsyncSession, *, actor: Actor, view_key: str, data: ViewUpdate
) -> ViewDef:
    view = await _saved_view_for_change(session, actor, view_key)
    # check everything before changing anything
    conditions = (
        _checked(rules.validate_conditions, data.conditions)
        if data.conditions is not None
        else None
    )
    columns = _checked(rules.validate_columns, data.columns) if data.columns is not None else None
    sort = _checked(rules.validate_sort, data.sort) if data.sort is not None else None
    name = _name(data.name) if data.name is not None else None
    if name is not None:
        view.name = name
    if data.position is not None:
        view.position = data.position
    if conditions is not None:
        view.conditions = conditions
    if columns is not None:
        view.columns = columns
    if sort is not None:
        view.sort = sort
    view.updated_at = utcnow()
    await session.flush()
    return _saved_def(actor, view)


async def delete_view(session: AsyncSession, *, actor: Actor, view_key: str) -> None:
    view = await _saved_view_for_change(session, actor, view_key)
    await session.delete(view)
    await session.flush()


async def view_tickets(
    session: AsyncSession,
    *,
    actor: Actor,
    view_key: str,
    cursor: str | None = None,
    limit: int = 50,
    sort: str | None = None,
    query: str | None = None,
    narrowing: rules.ListFilter | None = None,
    sort_limit: int | None = None,
    scope: rules.Scope | None = None,
) -> ViewPage:
    """A page of the view's tickets, within what the actor may read, in the view's sort
    (or ``sort``), with cursor pagination like ``tickets.list_tickets``. ``narrowing``
    (the inbox's filter bar) narrows the view further; its ``q`` searches like the API.
    With ``sort_limit``, a sort no index serves is applied only to a list of at most that
    many tickets; a longer list keeps the view's sort and ``sort_refused`` names the
    sort asked for."""
    view = await get_view(session, actor=actor, view_key=view_key)
    scope = scope or await _scope(session, actor)
    filters = rules.to_filters(view.conditions, scope)
    if filters is not None and narrowing is not None:
        filters = rules.narrow(filters, narrowing, scope)
        query = narrowing.q if narrowing.q is not None else query
    if filters is None:
        return ViewPage(view=view, tickets=[])
    wanted = sort or view.sort
    refused = None
    if sort_limit is not None and wanted not in INDEXED_SORTS:
        narrowed = await tickets.with_text_query(session, actor=actor, filters=filters, query=query)
        if await repository.count_tickets(session, actor, narrowed, cap=sort_limit) > sort_limit:
            refused = wanted
            wanted = view.sort if view.sort in INDEXED_SORTS else rules.DEFAULT_SORT
            cursor = None  # a cursor of the refused sort means nothing in this one
    found, tags, next_cursor = await tickets.list_tickets(
        session,
        actor=actor,
        filters=filters,
        query=query,
        sort=wanted,
        limit=limit,
        cursor=cursor,
    )
    return ViewPage(
        view=view, tickets=found, tags=tags, next_cursor=next_cursor, sort_used=wanted,
        sort_refused=refused,
    )  # fmt: skip


async def view_counts(
    session: AsyncSession,
    *,
    actor: Actor,
    views: list[ViewDef] | None = None,
    scope: rules.Scope | None = None,
) -> dict[str, ViewCount]:
    """Ticket count of each view (all the actor's views unless given), within what the
    actor may read, all in one statement. A count stops at ``COUNT_CAP``: ``capped``
    says there are more."""
    if views is None:
        views = await list_views(session, actor=actor)
    require_agent(actor)
    scope = scope or await _scope(session, actor)
    wanted: dict[str, TicketFilters] = {}
    for view in views:
        filters: TicketFilters | None = rules.to_filters(view.conditions, scope)
        if filters is not None:  # None: the view can match nothing for this actor
            wanted[view.key] = filters
    found = await repository.count_tickets_many(
        session, actor, list(wanted.values()), cap=COUNT_CAP
    )
    numbers = dict(zip(wanted, found, strict=True))
    counts: dict[str, ViewCount] = {}
    for view in views:
        n = numbers.get(view.key, 0)
        counts[view.key] = ViewCount(count=min(n, COUNT_CAP), capped=n > COUNT_CAP)
    return counts


async def inbox(
    session: AsyncSession,
    *,
    actor: Actor,
    view_key: str,
    cursor: str | None = None,
    limit: int = 50,
    sort: str | None = None,
    narrowing: rules.ListFilter | None = None,
    sort_limit: int | None = None,
) -> Inbox:
    """The inbox page of one view: the sidebar's views and counts (the views' own, never
    narrowed), a page of tickets (narrowed by the filter bar) with names resolved, and
    the groups and agents the filter bar and the bulk actions offer."""
    scope = await _scope(session, actor)
    page = await view_tickets(
        session, actor=actor, view_key=view_key, cursor=cursor, limit=limit, sort=sort,
        narrowing=narrowing, sort_limit=sort_limit, scope=scope,
    )  # fmt: skip
    views = await list_views(session, actor=actor)
    counts = await view_counts(session, actor=actor, views=views, scope=scope)
    requesters, assignees, groups = await repository.list_names(session, page.tickets)
    return Inbox(
        views=views,
        counts=counts,
        page=page,
        requester_names=requesters,
        assignee_names=assignees,
        group_names=groups,
        groups=await repository.active_groups(session),
        agents=await repository.active_agents(session),
    )
