"""The view editor: create, change and delete saved views from the pages.

- ``GET /views/new`` (query params prefill the conditions from the inbox filter bar),
  ``POST /views``;
- ``GET /views/{key}/edit``, ``POST /views/{key}``;
- ``GET /views/{key}/delete`` (the confirmation step), ``POST /views/{key}/delete``.

The form sends one row per condition: ``field_<n>``, ``op_<n>`` and ``value_<n>`` (which
may repeat, for "is one of"). Rows whose field is empty are skipped, so a form without
JavaScript shows the saved conditions and three empty rows; the "Update the form" button
re-renders the form with each row's value input fitting its field, without saving. With
JavaScript (``static/js/view-editor.js``) rows are added and removed in place and the
value input follows the field as it is chosen.

Who may do what is decided by ``views.service``: a service error re-renders the form with
the input at fault marked (``conditions.2.value`` marks row 2's value) and everything the
user typed kept; a view the user may not change gets a 403 or 404 page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, QueryParams

from opora.auth import service as auth_service
from opora.auth.actor import Actor
from opora.auth.models import Role
from opora.errors import Forbidden, OporaError
from opora.tickets.models import Channel, Priority, TicketStatus, TicketType
from opora.tickets.repository import SORTS
from opora.views import rules, service
from opora.views.schemas import ViewCreate, ViewUpdate
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.forms import attempt, see_other
from opora.web.page_auth import PageUser, verify_csrf
from opora.web.templating import render

router = APIRouter(
    route_class=UnitOfWorkRoute,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)

EMPTY_ROWS = 3  # empty condition rows shown below the saved ones (the form without JS)
MAX_ROWS = rules.MAX_CONDITIONS + 20  # rows read from a form; more are ignored
STAFF_ROLES = frozenset({Role.ADMIN.value, Role.SUPERVISOR.value, Role.AGENT.value})
UNASSIGNED = "none"
_ROW_KEY = re.compile(r"^field_(\d{1,4})$")
_TOP_INPUTS = frozenset({"name", "position", "sort", "columns", "shared", "conditions"})
_PATH = re.compile(r"^conditions\.(\d+)\.(field|op|value)$")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How the form shows one condition field: the ops it offers and its value input."""

    name: str
    ops: tuple[str, ...]
    kind: str  # choice, group, line, assignee, flag, days, id, text
    choices: tuple[str, ...] = ()


FIELD_SPECS: tuple[FieldSpec, ...] = (
    FieldSpec("status", ("eq", "in"), "choice", tuple(TicketStatus)),
    FieldSpec("priority", ("eq", "in"), "choice", tuple(Priority)),
    FieldSpec("type", ("eq", "in"), "choice", tuple(TicketType)),
    FieldSpec("channel", ("eq", "in"), "choice", tuple(Channel)),
    FieldSpec("group_id", ("eq", "in"), "group"),
    FieldSpec("my_groups", ("eq",), "flag"),
    FieldSpec("assignee_id", ("eq",), "assignee"),
    FieldSpec("line", ("eq", "gte"), "line"),
    FieldSpec("escalated", ("eq",), "flag"),
    FieldSpec("tag", ("eq",), "text"),
    FieldSpec("updated_within_days", ("eq",), "days"),
    FieldSpec("solved_within_days", ("eq",), "days"),
    FieldSpec("requester_id", ("eq",), "id"),
    FieldSpec("organization_id", ("eq",), "id"),
)
SPECS = {spec.name: spec for spec in FIELD_SPECS}
ALL_OPS = ("eq", "in", "gte")
assert set(SPECS) == set(rules.FIELDS), "every condition field needs a form input"


@dataclass(slots=True)
class Row:
    """One condition row as the form shows it: strings, as typed or as stored."""

    field: str = ""
    op: str = "eq"
    values: list[str] = default(default_factory=list)


@dataclass(slots=True)
class Draft:
    """The form's values: a saved view's, a prefill's, or what the user sent."""

    name: str = ""
    position: str = "0"
    shared: bool = False
    sort: str = rules.DEFAULT_SORT
    columns: list[str] = default(default_factory=lambda: list(rules.DEFAULT_COLUMNS))
    rows: list[Row] = default(default_factory=list)


class _Refused(Exception):
    """The view cannot be changed by this user: a page, not a form."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


# -- stored conditions <-> form rows ---------------------------------------------------


def _as_strings(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if value is True:
        return ["true"]
    if value is None:
        return []
    return [str(value)]


def row_of(condition: dict[str, Any]) -> Row:
    name, op, value = condition["field"], condition["op"], condition["value"]
    if name == "assignee_id" and (op == "is_null" or value is None):
        return Row(name, "eq", [UNASSIGNED])
    return Row(name, op, _as_strings(value))


def _number(text: str) -> int | str:
    return int(text) if text.isdigit() and len(text) < 12 else text


def condition_of(row: Row) -> dict[str, Any]:
    """The condition a form row stands for. Values that do not parse are passed on as
    typed, so ``views.rules`` reports them with their path."""
    name, op = row.field, row.op
    texts = [v.strip() for v in row.values if v.strip()]
    spec = SPECS.get(name)
    kind = spec.kind if spec else "text"
    if kind in ("choice", "group"):
        items: list[Any] = [part.strip() for t in texts for part in t.split(",") if part.strip()]
        if kind == "group":
            items = [_number(i) for i in items]
        if op in ("eq", "in"):
            op = "in" if op == "in" or len(items) > 1 else "eq"
        value: Any = items if op == "in" else (items[0] if items else None)
        return {"field": name, "op": op, "value": value}
    first = texts[0] if texts else ""
    if kind == "assignee":
        if first in ("", UNASSIGNED):
            return {"field": name, "op": "is_null", "value": True}
        return {"field": name, "op": op, "value": first if first == rules.ME else _number(first)}
    if kind == "flag":
        flag = first.lower() in ("", "true", "yes", "on", "1")
        return {"field": name, "op": op, "value": True if flag else first}
    if kind == "line":
        line = first if first == rules.MY_LINE else _number(first)
        return {"field": name, "op": op, "value": line}
    if kind in ("days", "id"):
        return {"field": name, "op": op, "value": _number(first) if first else None}
    return {"field": name, "op": op, "value": first}


def draft_of(view: service.ViewDef) -> Draft:
    return Draft(
        name=view.name_en,
        position=str(view.position),
        shared=view.shared,
        sort=view.sort,
        columns=list(view.columns),
        rows=[row_of(c) for c in view.conditions],
    )


def prefill(params: QueryParams) -> Draft:
    """A new view's form from the inbox filter bar's query: each filter becomes a
    condition, a repeated one "is one of"."""
    rows: list[Row] = []
    for name in ("status", "priority", "type", "channel", "group_id"):
        values = [v for v in params.getlist(name) if v.strip()]
        if values:
            rows.append(Row(name, "in" if len(set(values)) > 1 else "eq", values))
    assignee = params.get("assignee", "").strip()
    if assignee:
        rows.append(Row("assignee_id", "eq", [assignee]))
    tags = [t for t in params.getlist("tag") if t.strip()]
    if tags:  # a view holds one tag condition: the first tag of the filter bar
        rows.append(Row("tag", "eq", tags[:1]))
    sort = params.get("sort", "")
    return Draft(rows=rows, sort=sort if sort in SORTS else rules.DEFAULT_SORT)


def draft_from_form(form: FormData) -> Draft:
    found = (int(m.group(1)) for key in form if (m := _ROW_KEY.match(key)))
    indexes = sorted(found)[:MAX_ROWS]
    rows = [
        Row(
            field=str(form.get(f"field_{i}", "")).strip(),
            op=str(form.get(f"op_{i}", "eq")).strip() or "eq",
            values=[str(v) for v in form.getlist(f"value_{i}") if isinstance(v, str)],
        )
        for i in indexes
    ]
    checked = [str(c) for c in form.getlist("columns")]

    def column_place(item: tuple[int, str]) -> tuple[int, int]:
        index, column = item
        pos = str(form.get(f"colpos_{column}", "")).strip()
        return (int(pos) if pos.isdigit() and len(pos) < 6 else 10**6, index)

    columns = [c for _, c in sorted(enumerate(checked), key=column_place)]
    return Draft(
        name=str(form.get("name", "")).strip(),
        position=str(form.get("position", "0")).strip(),
        shared=form.get("shared") is not None,
        sort=str(form.get("sort", "")),
        columns=columns,
        rows=rows,
    )


def conditions_of(draft: Draft) -> tuple[list[dict[str, Any]], list[int]]:
    """The conditions of the rows that name a field, and the row of each condition."""
    conditions, row_indexes = [], []
    for i, row in enumerate(draft.rows):
        if row.field:
            conditions.append(condition_of(row))
            row_indexes.append(i)
    return conditions, row_indexes


def _position(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 7 else None


# -- errors ----------------------------------------------------------------------------


def _error_marks(draft: Draft, row_indexes: list[int], path: str) -> dict[str, str]:
    """Which input a service error marks, and the code of its message."""
    match = _PATH.match(path)
    if match:
        index, part = int(match.group(1)), match.group(2)
        row = row_indexes[index] if index < len(row_indexes) else 0
        name = draft.rows[row].field if row < len(draft.rows) else ""
        if part == "field":
            earlier = {r.field for r in draft.rows[:row]}
            return {f"row-{row}-field": "duplicate" if name in earlier else "field"}
        if part == "op":
            return {f"row-{row}-op": "op"}
        return {f"row-{row}-value": f"value-{SPECS[name].kind}" if name in SPECS else "value"}
    if path.startswith("conditions."):  # e.g. an extra key: the row as a whole
        parts = path.split(".")
        if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(row_indexes):
            return {f"row-{row_indexes[int(parts[1])]}-field": "field"}
    top = path.split(".")[0]
    return {top if top in _TOP_INPUTS else "form": top}


def _validation_marks(exc: ValidationError) -> dict[str, str]:
    marks: dict[str, str] = {}
    for error in exc.errors():
        loc = error.get("loc") or ("form",)
        top = str(loc[0])
        marks.setdefault(top if top in ("name", "position") else "form", top)
    return marks


# -- rendering -------------------------------------------------------------------------


async def _form_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    draft: Draft,
    *,
    view: service.ViewDef | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    users = await auth_service.list_users(session, actor=actor)
    agents = [(u.id, u.name) for u in users if u.is_active and u.role in STAFF_ROLES]
    groups = [(g.id, g.name) for g in await auth_service.list_groups(session, actor=actor)]
    chosen = [c for c in draft.columns if c in rules.COLUMNS]
    columns = chosen + [c for c in rules.COLUMNS if c not in chosen]
    trailing = 0  # a form sent back keeps its rows: top its empty ones up to EMPTY_ROWS
    while trailing < len(draft.rows) and not draft.rows[-1 - trailing].field:
        trailing += 1
    rows = list(draft.rows) + [Row() for _ in range(max(0, EMPTY_ROWS - trailing))]
    return render(
        request,
        "views/editor.html",
        status_code=status_code,
        view=view,
        draft=draft,
        rows=rows,
        errors=errors or {},
        specs=FIELD_SPECS,
        spec_by_name=SPECS,
        all_ops=ALL_OPS,
        agents=agents,
        groups=groups,
        columns=columns,
        sorts=list(SORTS),
        may_share=actor.is_admin and view is None,
        action=f"/views/{view.key}" if view else "/views",
    )


def _refusal(request: Request, reason: str, view_key: str) -> Response:
    if reason == "missing":
        return render(request, "views/not_found.html", status_code=404, view_key=view_key)
    return render(request, "views/forbidden.html", status_code=403, reason=reason)


async def _editable(
    session: AsyncSession, request: Request, actor: Actor, key: str
) -> service.ViewDef:
    """The saved view the actor may change, or ``_Refused`` with a 403/404 page."""
    try:
        view = await service.get_view(session, actor=actor, view_key=key)
    except service.ViewNotFound:
        raise _Refused(_refusal(request, "missing", key)) from None
    if view.builtin:
        raise _Refused(_refusal(request, "builtin", key))
    if not view.editable:
        raise _Refused(_refusal(request, "shared", key))
    return view


# -- routes ----------------------------------------------------------------------------


@router.get("/views")
async def views_home(user: PageUser) -> Response:
    return see_other("/inbox")  # the views live in the inbox's sidebar


@router.get("/views/new")
async def new_view(request: Request, session: Session, user: PageUser) -> Response:
    actor = await auth_service.actor_for_user(session, user)
    return await _form_page(request, session, actor, prefill(request.query_params))


@router.post("/views")
async def create_view(request: Request, session: Session, user: PageUser) -> Response:
    actor = await auth_service.actor_for_user(session, user)
    form = await request.form()
    draft = draft_from_form(form)
    if form.get("action") == "refresh":
        return await _form_page(request, session, actor, draft)
    if draft.shared and not actor.is_admin:
        return _refusal(request, "share", "")
    conditions, row_indexes = conditions_of(draft)
    position = _position(draft.position)
    if position is None:
        return await _form_page(
            request, session, actor, draft, errors={"position": "position"}, status_code=422
        )
    try:
        data = ViewCreate(
            name=draft.name, shared=draft.shared, position=position, conditions=conditions,
            columns=draft.columns, sort=draft.sort,
        )  # fmt: skip
    except ValidationError as exc:
        return await _form_page(
            request, session, actor, draft, errors=_validation_marks(exc), status_code=422
        )
    created: list[service.ViewDef] = []

    async def call() -> None:
        created.append(await service.create_view(session, actor=actor, data=data))

    error = await attempt(session, call)
    if isinstance(error, Forbidden):
        return _refusal(request, "share", "")
    if error is not None:
        marks = _error_marks(draft, row_indexes, error.field or "form")
        return await _form_page(request, session, actor, draft, errors=marks, status_code=422)
    return see_other(f"/inbox/{created[0].key}")


@router.get("/views/{view_key}/edit")
async def edit_view(request: Request, session: Session, user: PageUser, view_key: str) -> Response:
    actor = await auth_service.actor_for_user(session, user)
    try:
        view = await _editable(session, request, actor, view_key)
    except _Refused as refused:
        return refused.response
    return await _form_page(request, session, actor, draft_of(view), view=view)


@router.post("/views/{view_key}")
async def update_view(
    request: Request, session: Session, user: PageUser, view_key: str
) -> Response:
    actor = await auth_service.actor_for_user(session, user)
    try:
        view = await _editable(session, request, actor, view_key)
    except _Refused as refused:
        return refused.response
    form = await request.form()
    draft = draft_from_form(form)
    draft.shared = view.shared  # who a view is for is set when it is made
    if form.get("action") == "refresh":
        return await _form_page(request, session, actor, draft, view=view)
    conditions, row_indexes = conditions_of(draft)
    position = _position(draft.position)
    if position is None:
        return await _form_page(
            request, session, actor, draft, view=view, errors={"position": "position"},
            status_code=422,
        )  # fmt: skip
    try:
        data = ViewUpdate(
            name=draft.name, position=position, conditions=conditions, columns=draft.columns,
            sort=draft.sort,
        )  # fmt: skip
    except ValidationError as exc:
        return await _form_page(
            request, session, actor, draft, view=view, errors=_validation_marks(exc),
            status_code=422,
        )  # fmt: skip

    async def call() -> None:
        await service.update_view(session, actor=actor, view_key=view_key, data=data)

    error = await attempt(session, call)
    if error is not None:
        return await _service_error(request, session, actor, draft, view, row_indexes, error)
    return see_other(f"/inbox/{view.key}")


async def _service_error(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    draft: Draft,
    view: service.ViewDef,
    row_indexes: list[int],
    error: OporaError,
) -> Response:
    if isinstance(error, service.ViewNotFound):
        return _refusal(request, "missing", view.key)
    if isinstance(error, Forbidden):
        return _refusal(request, "builtin" if view.builtin else "shared", view.key)
    marks = _error_marks(draft, row_indexes, error.field or "form")
    return await _form_page(
        request, session, actor, draft, view=view, errors=marks, status_code=422
    )


@router.get("/views/{view_key}/delete")
async def confirm_delete(
    request: Request, session: Session, user: PageUser, view_key: str
) -> Response:
    actor = await auth_service.actor_for_user(session, user)
    try:
        view = await _editable(session, request, actor, view_key)
    except _Refused as refused:
        return refused.response
    return render(request, "views/delete.html", view=view)


@router.post("/views/{view_key}/delete")
async def delete_view(
    request: Request, session: Session, user: PageUser, view_key: str
) -> Response:
    actor = await auth_service.actor_for_user(session, user)
    try:
        view = await _editable(session, request, actor, view_key)
    except _Refused as refused:
        return refused.response

    async def call() -> None:
        await service.delete_view(session, actor=actor, view_key=view_key)

    error = await attempt(session, call)
    if error is not None:
        return _refusal(request, "missing" if error.status_code == 404 else "shared", view.key)
    return see_other("/inbox")
