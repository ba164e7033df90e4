"""The inbox: the views in a sidebar with their counts, and the current view's tickets.

``GET /inbox`` shows the default view (``my-open``), ``GET /inbox/{view_key}`` any other.
An htmx request from the page (``HX-Target: ticket-list``) gets only the list, with the
sidebar sent out of band so the current view and the counts follow; without JavaScript
every link loads the whole page.

The list can be sorted by any column (``sort``) and narrowed by a filter bar (``status``,
``priority``, ``assignee``, ``group_id``, ``type``, ``channel``, ``tag`` and the full-text
``q``); sort links, pages and the filter form keep each other's parameters. The sidebar
counts stay the views' own. ``POST /tickets/bulk`` changes the chosen tickets of a page
all at once, or none of them, and goes back to the list it came from.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth import service as auth_service
from opora.auth.actor import Actor
from opora.errors import InvalidInput, OporaError
from opora.kit.time import utcnow
from opora.tickets import bulk
from opora.tickets.models import (
    OPEN_STATUSES,
    Channel,
    Priority,
    TicketStatus,
    TicketType,
)
from opora.tickets.repository import SORTS
from opora.tickets.schemas import TicketUpdate
from opora.views import rules, service
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.forms import attempt, see_other
from opora.web.page_auth import PageUser, is_htmx, verify_csrf
from opora.web.templating import render

router = APIRouter(
    route_class=UnitOfWorkRoute,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)

DEFAULT_VIEW = "my-open"
PAGE_SIZE = 50
MAX_CURSOR = 4000  # a cursor of a name sort holds the name (JSON-escaped, base64)
BULK_ACTIONS = ("assign", "status", "priority", "add_tags", "remove_tags", "merge")
# column -> (ascending sort, descending sort, the sort a first click on its header picks)
COLUMN_SORTS = {
    "number": ("number", "-number", "-number"),
    "subject": ("subject", "-subject", "subject"),
    "requester": ("requester", "-requester", "requester"),
    "status": ("status", "-status", "status"),
    "priority": ("priority", "-priority", "-priority"),
    "group": ("group", "-group", "group"),
    "line": ("line", "-line", "-line"),
    "assignee": ("assignee", "-assignee", "assignee"),
    "updated_at": ("updated_at", "-updated_at", "-updated_at"),
    "due_at": ("due_at", "-due_at", "due_at"),
}
_VIEW_PATH = re.compile(r"^/inbox(?:/([A-Za-z0-9_-]{1,100}))?$")


def _wants_list_only(request: Request) -> bool:
    return (
        is_htmx(request)
        and request.headers.get("hx-target") == "ticket-list"
        and request.headers.get("hx-history-restore-request") != "true"
    )


def _filter_params(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The filter bar's parameters that have a value (the first of each)."""
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in rules.LIST_FILTER_PARAMS and name not in params and value.strip():
            params[name] = value.strip()
    return params


@dataclass(frozen=True, slots=True)
class ListLinks:
    """URLs of the list that keep its filters: sort links, pages, the bulk form's way back."""

    base: str
    params: dict[str, str]  # the filters in force (values with a problem left out)

    def url(self, sort: str | None = None, cursor: str | None = None, **extra: str) -> str:
        query = dict(self.params)
        if sort:
            query["sort"] = sort
        if cursor:
            query["cursor"] = cursor
        query.update(extra)
        return f"{self.base}?{urlencode(query)}" if query else self.base

    def save_as_view(self, sort: str) -> str:
        return "/views/new?" + urlencode({**self.params, "sort": sort})


@dataclass
class BulkProblem:
    code: str
    message: str = ""
    failures: list[bulk.BulkFailure] = dataclasses.field(default_factory=list)


async def _show(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    view_key: str,
    *,
    sort: str | None,
    cursor: str | None,
    params: dict[str, str],
    redirect_stale_cursor: bool = True,
    status_code: int = 200,
    bulk_problem: BulkProblem | None = None,
    bulk_values: dict[str, str] | None = None,
    selected: frozenset[int] = frozenset(),
) -> Response:
    """The inbox (or, for an htmx list request, the list) of one view with the filters."""
    chosen_sort = sort if sort in SORTS else None  # an unknown sort falls back to the view's
    chosen, problems = rules.parse_list_filter(params)
    while True:
        kept = {k: v for k, v in params.items() if k not in problems}
        links = ListLinks(base=f"/inbox/{view_key}", params=kept)
        try:
            inbox = await service.inbox(
                session, actor=actor, view_key=view_key, cursor=cursor, limit=PAGE_SIZE,
                sort=chosen_sort, narrowing=chosen if chosen.active else None,
                sort_limit=service.SORT_LIMIT,
            )  # fmt: skip
        except service.ViewNotFound:
            return render(request, "views/not_found.html", status_code=404, view_key=view_key)
        except InvalidInput as exc:
            if exc.field == "cursor" and redirect_stale_cursor:
                # a stale or edited cursor: start the list again from its first page
                return RedirectResponse(links.url(sort=chosen_sort), status_code=303)
            if exc.field == "cursor":
                cursor = None
            elif exc.field == "q" and chosen.q is not None:
                problems["q"] = "no_words"
                chosen = dataclasses.replace(chosen, q=None)
            else:
                raise
            continue
        break
    list_only = _wants_list_only(request)
    sort_in_force = inbox.page.sort_used or chosen_sort or inbox.page.view.sort
    notice = request.query_params if request.method == "GET" else {}
    return render(
        request,
        "views/_ticket_list.html" if list_only else "views/inbox.html",
        status_code=400 if problems or bulk_problem else status_code,
        headers={"Vary": "HX-Request, HX-Target"},
        inbox=inbox,
        view=inbox.page.view,
        sort=sort_in_force,
        cursor=cursor,
        list_only=list_only,
        links=links,
        filters=params,
        filtering=bool(kept),
        problems=problems,
        column_sorts=COLUMN_SORTS,
        sort_refused=inbox.page.sort_refused,
        sort_limit=service.SORT_LIMIT,
        now=utcnow(),
        open_statuses=frozenset(OPEN_STATUSES),
        statuses=[s.value for s in TicketStatus],
        priorities=[p.value for p in Priority],
        types=[t.value for t in TicketType],
        channels=[c.value for c in Channel],
        back=links.url(sort=chosen_sort, cursor=cursor),
        updated=_count(notice.get("updated")),
        merged=_count(notice.get("merged")),
        merged_into=_count(notice.get("into")),
        bulk_problem=bulk_problem,
        bulk_values=bulk_values or {},
        selected=selected,
        max_bulk=bulk.MAX_BULK,
    )


def _count(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


@router.get("/inbox")
async def inbox_default(
    request: Request,
    session: Session,
    user: PageUser,
    sort: str | None = None,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR)] = None,
) -> Response:
    return await inbox_page(request, session, user, DEFAULT_VIEW, sort, cursor)


@router.get("/inbox/{view_key}")
async def inbox_page(
    request: Request,
    session: Session,
    user: PageUser,
    view_key: str,
    sort: str | None = None,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR)] = None,
) -> Response:
    actor = await auth_service.actor_for_user(session, user)
    return await _show(
        request, session, actor, view_key, sort=sort, cursor=cursor or None,
        params=_filter_params(list(request.query_params.multi_items())),
    )  # fmt: skip


def _split_tags(text: str) -> list[str]:
    return [t for t in text.replace(",", " ").split() if t]


def _bulk_change(action: str, values: dict[str, str]) -> TicketUpdate | BulkProblem:
    """The change one bulk action makes, or the problem with the form."""
    changes: dict[str, Any] = {}
    if action == "assign":
        assignee, group = values["assignee_id"], values["group_id"]
        if not assignee and not group:
            return BulkProblem("choose_assignee")
        if assignee:
            changes["assignee_id"] = None if assignee == rules.NO_ASSIGNEE else assignee
        if group:
            changes["group_id"] = group
    elif action in ("status", "priority"):
        if not values[action]:
            return BulkProblem(f"choose_{action}")
        changes[action] = values[action]
    elif action in ("add_tags", "remove_tags"):
        tags = _split_tags(values["tags"])
        if not tags:
            return BulkProblem("enter_tags")
        changes[action] = tags
    try:
        return TicketUpdate(**changes)
    except ValidationError:
        return BulkProblem("invalid_value")


@router.post("/tickets/bulk")
async def bulk_action(request: Request, session: Session, user: PageUser) -> Response:
    """One change to the tickets chosen on a list page, all or nothing; then back to the
    list (``next``) with a notice, or the list again with what went wrong."""
    actor = await auth_service.actor_for_user(session, user)
    form = await request.form()
    text = {
        name: str(form.get(name) or "").strip()
        for name in ("action", "assignee_id", "group_id", "status", "priority", "tags",
                     "merge_into", "next")
    }  # fmt: skip
    raw_ids = [str(v) for v in form.getlist("ticket_ids")]
    ids = [int(v) for v in raw_ids if v.isdigit() and len(v) < 19]
    parts = urlsplit(text["next"])
    match = _VIEW_PATH.match(parts.path)
    view_key = (match.group(1) if match else None) or DEFAULT_VIEW
    query = parse_qsl(parts.query) if match else []
    params = _filter_params(query)
    sort = next((v for k, v in query if k == "sort"), None)
    cursor = next((v for k, v in query if k == "cursor"), None)
    back = ListLinks(base=f"/inbox/{view_key}", params=params)
    action = text["action"]
    values = {k: text[k] for k in ("assignee_id", "group_id", "status", "priority", "tags",
                                   "merge_into")}  # fmt: skip
    problem: BulkProblem | None = None
    done: dict[str, str] = {}
    if len(ids) != len(raw_ids):
        problem = BulkProblem("invalid_selection")
    elif action not in BULK_ACTIONS:
        problem = BulkProblem("choose_action")
    elif action == "merge":
        into = values["merge_into"].lstrip("#")
        if not into.isdigit() or len(into) > 18:
            problem = BulkProblem("invalid_number")
        else:
            merged: list[tuple[Any, int]] = []

            async def merge() -> None:
                merged.append(
                    await bulk.bulk_merge_tickets(
                        session, actor=actor, ticket_ids=ids, into_number=int(into)
                    )
                )

            error = await attempt(session, merge)
            if error is None:
                done = {"merged": str(merged[0][1]), "into": str(merged[0][0].number)}
            else:
                problem = _problem_of(error, merging=True)
    else:
        change = _bulk_change(action, values)
        if isinstance(change, BulkProblem):
            problem = change
        else:
            counted: list[int] = []

            async def update() -> None:
                counted.append(
                    await bulk.bulk_update_tickets(
                        session, actor=actor, ticket_ids=ids, data=change
                    )
                )

            error = await attempt(session, update)
            if error is None:
                done = {"updated": str(counted[0])}
            else:
                problem = _problem_of(error)
    if problem is None:
        return see_other(back.url(sort=sort, cursor=cursor, **done))
    return await _show(
        request, session, actor, view_key, sort=sort, cursor=cursor, params=params,
        redirect_stale_cursor=False, bulk_problem=problem, bulk_values={"action": action,
        **values}, selected=frozenset(ids),
    )  # fmt: skip


def _problem_of(error: OporaError, *, merging: bool = False) -> BulkProblem:
    if isinstance(error, bulk.BulkFailed):
        return BulkProblem(error.code, error.message, error.failures)
    if error.field == "merge_into":
        return BulkProblem("unknown_target", error.message)
    if merging and isinstance(error, bulk.BulkNothingChosen):
        return BulkProblem("merge_needs_two", error.message)
    return BulkProblem(error.code, error.message)
