"""The agent's ticket page: header form (with the ticket's custom fields), timeline,
composer (with attachments), macros (pick one, preview it for this ticket, edit the text,
apply), the knowledge-base card (articles for the ticket, loaded by htmx; a link or the
text of one inserted into the reply, an internal one into a note only), escalation,
customer sidebar, merging (with a confirmation step), links, the resolution summary asked
for on solving, and the customer preview (``/tickets/{id}/customer-view``: the ticket as
its customer reads it).

Handlers parse the form, resolve the page user's actor, call one service and render. A
service error (a rule, a missing field) re-renders the page with the field marked and the
user's input kept. The error response makes the request's unit of work roll back; the use
case also runs in a savepoint so that the page re-rendered in the same session shows the
ticket as it is, not half-changed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from opora.auth import service as auth_service
from opora.auth.actor import Actor
from opora.automation import service as automation_service
from opora.automation.models import Macro
from opora.automation.schemas import MacroApplied, MacroApply
from opora.contacts import service as contacts_service
from opora.errors import Conflict, FieldRequired, NotFound, OporaError
from opora.fields import service as fields_service
from opora.fields.models import CustomField, FieldType
from opora.kb import suggest as kb_suggest
from opora.kit.blobs import BlobStore
from opora.sla import service as sla_service
from opora.tickets import service
from opora.tickets.customer import customer_ticket, shown_fields
from opora.tickets.models import (
    LinkKind,
    Message,
    Priority,
    Ticket,
    TicketEvent,
    TicketStatus,
    TicketType,
)
from opora.tickets.schemas import (
    EscalateIn,
    LinkCreate,
    MessageCreate,
    TicketUpdate,
)
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.downloads import file_response
from opora.web.forms import attempt
from opora.web.page_auth import PageUser, is_htmx, verify_csrf
from opora.web.templating import render

router = APIRouter(
    route_class=UnitOfWorkRoute,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)

FormStr = Annotated[str, Form()]
EDIT_FIELDS = ("status", "priority", "type", "group_id", "assignee_id", "tags")
# events shown by the message they belong to, or too small to show
HIDDEN_EVENTS = frozenset({"reply_added", "note_added"})
HIDDEN_FIELDS = frozenset({"first_responded_at", "resolution"})
RESOLUTION_FIELDS = ("resolution_problem", "resolution_solution", "resolution_outcome")
LINK_KINDS = (LinkKind.RELATED, LinkKind.PARENT, LinkKind.VENDOR)


@dataclass
class Problems:
    """What went wrong in one form: field -> message code or text, and a general one."""

    form: str
    fields: dict[str, str] = field(default_factory=dict)
    general: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the timeline: a message or an event."""

    at: datetime
    kind: str  # "message" or "event"
    message: Message | None = None
    event: TicketEvent | None = None


@dataclass
class MacroView:
    """The macro card's preview: the macro (None when the agent may not see it), where its
    text goes and what its actions will do for this ticket, the text in the textarea (the
    filled-in preview, or what the agent sent when applying was refused), and what went
    wrong (a code or a message); ``refused``: an apply changed nothing; ``appliable``: the
    Apply button is shown (an active macro whose preview could be made)."""

    macro: Macro | None
    visibility: str = "public"
    actions: list[str] = field(default_factory=list)
    text: str = ""
    problem: str | None = None
    refused: bool = False
    appliable: bool = False


def _timeline(workspace: service.TicketWorkspace) -> list[Entry]:
    entries = [Entry(at=m.created_at, kind="message", message=m) for m in workspace.detail.messages]
    entries += [
        Entry(at=e.created_at, kind="event", event=e)
        for e in workspace.events
        if e.kind not in HIDDEN_EVENTS and e.field not in HIDDEN_FIELDS
    ]
    # at the same moment an escalation's line comes before its note
    return sorted(entries, key=lambda x: (x.at, x.kind != "event"))


def _split_tags(text: str) -> list[str]:
    return [t for t in text.replace(",", " ").split() if t]


def _int_or_none(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() else None


# --- custom fields in the header form -----------------------------------------------------
# Each active ticket field is an input named ``cf.<key>``; the hidden ``custom_fields_shown``
# says the form carried them (a post without it leaves the fields alone).
CF_PREFIX = "cf."
_INTEGER = re.compile(r"[+-]?\d+")


def _shown_value(defn: CustomField, value: Any) -> Any:
    """A stored value as its input shows it: a list for a multiselect, a bool for a
    checkbox, text for the rest."""
    if defn.type == FieldType.MULTISELECT:
        return [str(v) for v in value] if isinstance(value, list) else []
    if defn.type == FieldType.CHECKBOX:
        return value is True
    if value is None:
        return ""
    if defn.type == FieldType.NUMBER and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _typed_value(defn: CustomField, raw: Any) -> Any:
    """What the service gets for a submitted input: an empty input clears the field; text
    that is not a number is passed on as it is, for the service to refuse by name."""
    if defn.type == FieldType.MULTISELECT:
        return list(raw)
    if defn.type == FieldType.CHECKBOX:
        return bool(raw)
    text = str(raw).strip()
    if not text:
        return None
    if defn.type == FieldType.NUMBER:
        number = text.replace(",", ".").replace(" ", "")
        if _INTEGER.fullmatch(number):
            return int(number)
        try:
            parsed = float(number)
        except ValueError:
            return text
        return parsed if math.isfinite(parsed) else text
    return text


def _is_change(defn: CustomField, stored: Any, typed: Any) -> bool:
    if defn.type == FieldType.MULTISELECT:
        return set(stored or []) != set(typed)
    if defn.type == FieldType.CHECKBOX:
        return (stored is True) != typed
    if stored is None or stored == "":
        return typed is not None
    return bool(stored != typed)  # 3 and 3.0 are the same number


def _custom_from_form(
    form: Any, defs: list[CustomField], stored: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what each input said, to show it back; the changed fields' values for the service)"""
    shown: dict[str, Any] = {}
    changes: dict[str, Any] = {}
    for defn in defs:
        name = CF_PREFIX + defn.key
        if defn.type == FieldType.MULTISELECT:
            raw: Any = [v for v in form.getlist(name) if isinstance(v, str)]
        elif defn.type == FieldType.CHECKBOX:
            raw = form.get(name) is not None
        else:
            value = form.get(name)
            raw = value if isinstance(value, str) else ""
        shown[defn.key] = raw
        typed = _typed_value(defn, raw)
        if _is_change(defn, stored.get(defn.key), typed):
            changes[defn.key] = typed
    return shown, changes


def _custom_problem(exc: OporaError, defs: list[CustomField]) -> Problems | None:
    """A service error about ``custom_fields.<key>``, said at that field's input."""
    if not (exc.field or "").startswith("custom_fields."):
        return None
    key = (exc.field or "").removeprefix("custom_fields.")
    kind = next((d.type for d in defs if d.key == key), None)
    if isinstance(exc, FieldRequired):
        code = "cf_required"
    elif kind == FieldType.NUMBER:
        code = "cf_number"
    elif kind == FieldType.DATE:
        code = "cf_date"
    else:
        code = "invalid"
    problems = Problems(form="edit", fields={CF_PREFIX + key: code})
    if isinstance(exc, FieldRequired):
        problems.general = "field_required"
    return problems


async def _actor(session: AsyncSession, user: Any) -> Actor:
    return await auth_service.actor_for_user(session, user)


def _not_found(request: Request) -> HTMLResponse:
    return render(request, "tickets/not_found.html", status_code=404)


async def _page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    ticket_id: int,
    *,
    status_code: int = 200,
    problems: Problems | None = None,
    values: dict[str, str] | None = None,
    merge_target: Ticket | None = None,
    custom: dict[str, Any] | None = None,
    macro: MacroView | None = None,
    kb: kb_suggest.Suggestions | None = None,
) -> HTMLResponse:
    """The ticket page; after a refused form, ``values`` (and ``custom``, the custom-field
    inputs by key) are what the agent sent, shown back instead of what is stored. ``macro``:
    the macro preview shown open in the macro card; ``kb``: the knowledge-base card's
    articles, drawn in place (else htmx loads them after the page)."""
    values = values or {}
    extra = _int_or_none(values.get("assignee_id", ""))
    try:
        workspace = await service.get_ticket_workspace(
            session, actor=actor, ticket_id=ticket_id, extra_user_ids=(extra,) if extra else ()
        )
    except service.TicketNotFound:
        return _not_found(request)
    ticket = workspace.detail.ticket
    current = {
        "status": ticket.status,
        "priority": ticket.priority,
        "type": ticket.type,
        "group_id": str(ticket.group_id or ""),
        "assignee_id": str(ticket.assignee_id or ""),
        "tags": " ".join(workspace.detail.tags),
    }
    edit = {k: values.get(k, current[k]) for k in EDIT_FIELDS}
    stored = ticket.resolution or {}
    for name in RESOLUTION_FIELDS:
        edit[name] = values.get(name, stored.get(name.removeprefix("resolution_"), ""))
    links = workspace.detail.links
    linked = await service.linked_tickets(session, actor=actor, links=links)
    custom_defs = await fields_service.list_fields(session, entity="ticket")
    sla_view = await sla_service.ticket_sla_view(session, ticket)
    macros = await automation_service.list_macros(session, actor=actor, active_only=True)
    custom_edit = {
        d.key: (custom[d.key] if custom is not None and d.key in custom
                else _shown_value(d, ticket.custom_fields.get(d.key)))
        for d in custom_defs
    }  # fmt: skip
    return render(
        request,
        "tickets/page.html",
        status_code=status_code,
        w=workspace,
        ticket=ticket,
        timeline=_timeline(workspace),
        groups_by_id={g.id: g for g in workspace.groups},
        edit=edit,
        problems=problems or Problems(form=""),
        values=values,
        statuses=[s.value for s in TicketStatus],
        priorities=[p.value for p in Priority],
        types=[t.value for t in TicketType],
        sent=request.query_params.get("sent") == "1",
        links=links,
        linked=linked,
        link_kinds=[k.value for k in LINK_KINDS],
        merge_target=merge_target,
        merged_from=_int_or_none(request.query_params.get("merged", "")),
        custom_defs=custom_defs,
        custom_edit=custom_edit,
        cf_prefix=CF_PREFIX,
        max_attachment_bytes=request.app.state.settings.max_attachment_bytes,
        sla_view=sla_view,
        sla_zone=_agent_zone(request),
        macros=macros,
        macro_view=macro,
        kb=kb,
        site_url=_site_url(request),
    )


def _site_url(request: Request) -> str:
    """This server's address, for the absolute article links "Insert link" writes."""
    return str(request.base_url).rstrip("/")


def _agent_zone(request: Request) -> ZoneInfo:
    """The page user's time zone (UTC when unknown), for the SLA box's due times."""
    try:
        return ZoneInfo(getattr(request.state.page_user, "timezone", None) or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _problems(form: str, exc: OporaError | ValidationError, known: tuple[str, ...]) -> Problems:
    problems = Problems(form=form)
    if isinstance(exc, ValidationError):
        for err in exc.errors():
            loc = str(err["loc"][0]) if err["loc"] else ""
            name = loc if loc in known else known[0]
            problems.fields.setdefault(name, "invalid")
        return problems
    if exc.field == "resolution":  # solving without saying how
        problems.fields["resolution_solution"] = "resolution_required"
        return problems
    at = exc.field if exc.field in known else None
    text = exc.code if exc.code in KNOWN_CODES else exc.message
    if at:
        problems.fields[at] = text
    else:
        problems.general = text
    return problems


KNOWN_CODES = frozenset(
    {
        "assignee_not_in_group",
        "invalid_status_transition",
        "ticket_closed",
        "field_required",
        "no_higher_line",
        "resolution_required",
        "invalid_number",
        "unknown_ticket",
        "merge_itself",
        "target_closed",
        "link_itself",
        "already_linked",
        "invalid_url",
        "url_required",
    }
)


@router.get("/tickets/{ticket_id}")
async def ticket_page(
    request: Request, session: Session, user: PageUser, ticket_id: int
) -> Response:
    return await _page(request, session, await _actor(session, user), ticket_id)


@router.post("/tickets/{ticket_id}")
async def update_ticket(
    request: Request,
    session: Session,
    user: PageUser,
    ticket_id: int,
    status: FormStr = "",
    priority: FormStr = "",
    type: FormStr = "",
    group_id: FormStr = "",
    assignee_id: FormStr = "",
    tags: FormStr = "",
    resolution_problem: FormStr = "",
    resolution_solution: FormStr = "",
    resolution_outcome: FormStr = "",
) -> Response:
    actor = await _actor(session, user)
    values = {
        "status": status,
        "priority": priority,
        "type": type,
        "group_id": group_id,
        "assignee_id": assignee_id,
        "tags": tags,
        "resolution_problem": resolution_problem,
        "resolution_solution": resolution_solution,
        "resolution_outcome": resolution_outcome,
    }
    try:
        ticket = await service.get_ticket(session, actor=actor, ticket_id=ticket_id)
    except service.TicketNotFound:
        return _not_found(request)
    form = await request.form()
    custom: dict[str, Any] | None = None
    custom_changes: dict[str, Any] = {}
    custom_defs: list[CustomField] = []
    if form.get("custom_fields_shown") == "1":
        custom_defs = await fields_service.list_fields(session, entity="ticket")
        custom, custom_changes = _custom_from_form(form, custom_defs, ticket.custom_fields)
    # only what the form changes, so an untouched field is never checked again
    changes: dict[str, Any] = {"tags": _split_tags(tags)}
    if custom_changes:
        changes["custom_fields"] = custom_changes
    for name, old in (
        ("status", ticket.status),
        ("priority", ticket.priority),
        ("type", ticket.type),
    ):
        if values[name] and values[name] != old:
            changes[name] = values[name]
    for name, old_id in (("group_id", ticket.group_id), ("assignee_id", ticket.assignee_id)):
        if values[name].strip() and not values[name].strip().isdigit():
            changes[name] = values[name]  # let validation name the field
        elif _int_or_none(values[name]) != old_id:
            changes[name] = _int_or_none(values[name])
    if values["status"] == TicketStatus.SOLVED and resolution_solution.strip():
        changes["resolution"] = {
            "problem": resolution_problem.strip(),
            "solution": resolution_solution.strip(),
            "outcome": resolution_outcome.strip(),
        }
    try:
        data = TicketUpdate(**changes)
    except ValidationError as exc:
        problems = _problems("edit", exc, EDIT_FIELDS)
        if "resolution" in {str(e["loc"][0]) for e in exc.errors() if e["loc"]}:
            problems.fields.pop("status", None)
            problems.fields["resolution_solution"] = "invalid"
        return await _page(
            request,
            session,
            actor,
            ticket_id,
            status_code=400,
            problems=problems,
            values=values,
            custom=custom,
        )
    error = await attempt(
        session,
        lambda: service.update_ticket(
            session, actor=actor, ticket_id=ticket_id, data=data, require_resolution=True
        ),
    )
    if isinstance(error, service.TicketNotFound):
        return _not_found(request)
    if error is not None:
        if not custom_defs and (error.field or "").startswith("custom_fields."):
            custom_defs = await fields_service.list_fields(session, entity="ticket")
        problems = _custom_problem(error, custom_defs) or _problems("edit", error, EDIT_FIELDS)
        return await _page(
            request,
            session,
            actor,
            ticket_id,
            status_code=400,
            problems=problems,
            values=values,
            custom=custom,
        )
    return RedirectResponse(f"/tickets/{ticket_id}?saved=1", status_code=303)


Upload = tuple[str, str | None, bytes]  # a chosen file: name, content type, bytes


async def _read_files(files: list[UploadFile], limit: int) -> tuple[list[Upload], str | None]:
    """The chosen files' names, types and bytes, or the code of the first problem. A file
    input left empty sends one nameless, empty part: that is no file at all."""
    read: list[Upload] = []
    for upload in files:
        data = await upload.read(limit + 1)
        if not upload.filename and not data:
            continue
        if len(data) > limit:
            return [], "file_too_large"
        if not data:
            return [], "file_empty"
        read.append((upload.filename or "attachment", upload.content_type, data))
    return read, None


@router.post("/tickets/{ticket_id}/messages")
async def add_message(
    request: Request,
    session: Session,
    user: PageUser,
    ticket_id: int,
    body: FormStr = "",
    visibility: FormStr = "public",
) -> Response:
    """A reply or note, with the files chosen in the composer stored as its attachments.
    A file over the size limit, or an empty one, saves nothing (neither the message nor
    any file) and shows the composer again with the text kept."""
    actor = await _actor(session, user)
    values = {"body": body, "visibility": visibility}
    settings = request.app.state.settings
    added: list[service.MessageAdded] = []

    async def call() -> None:
        store = BlobStore(settings.attachments_dir)
        ids = []
        for filename, content_type, content in uploads:
            att = await service.upload_attachment(
                session,
                actor=actor,
                store=store,
                filename=filename,
                content_type=content_type,
                data=content,
                max_bytes=settings.max_attachment_bytes,
            )
            ids.append(att.id)
        with_files = data.model_copy(update={"attachment_ids": ids})
        added.append(
            await service.add_message(session, actor=actor, ticket_id=ticket_id, data=with_files)
        )

    def again(problems: Problems) -> Awaitable[HTMLResponse]:
        return _page(
            request, session, actor, ticket_id, status_code=400, problems=problems, values=values
        )

    # read from the form itself: a file input left empty arrives as a text part, not a file
    files = [f for f in (await request.form()).getlist("files") if isinstance(f, UploadFile)]
    uploads, file_problem = await _read_files(files, settings.max_attachment_bytes)
    if file_problem is not None:
        return await again(Problems(form="message", fields={"files": file_problem}))
    try:
        # files alone make a message too; their ids are known once they are stored
        data = MessageCreate(body=body, visibility=visibility, attachment_ids=[0] * len(uploads))
    except ValidationError as exc:
        problems = _problems("message", exc, ("body", "visibility"))
        if "visibility" not in problems.fields:
            problems.fields = {"body": "empty_message"}
        return await again(problems)
    if data.visibility == "public" and await kb_suggest.internal_articles_in(session, body):
        # an internal article's link or text, put in with the knowledge-base card or typed
        return await again(Problems(form="message", fields={"body": "kb_internal_in_reply"}))
    error = await attempt(session, call)
    if isinstance(error, service.TicketNotFound):
        return _not_found(request)
    if error is not None:
        problems = _problems("message", error, ("body", "visibility", "files"))
        return await again(problems)
    return RedirectResponse(
        f"/tickets/{ticket_id}?sent=1#message-{added[0].message.id}", status_code=303
    )


# --- the knowledge-base card: suggested articles, a search, insert a link or the text -------
# htmx loads the card's list after the page (the search is not on the page's own path);
# without JavaScript "Show articles" opens the page with the list in place.


@router.get("/tickets/{ticket_id}/kb")
async def kb_suggestions(
    request: Request, session: Session, user: PageUser, ticket_id: int, q: str = ""
) -> Response:
    """Articles for the ticket: from its subject and the customer's latest message, or
    for ``q``; in the customer's language. Internal ones are marked and can go into an
    internal note only."""
    actor = await _actor(session, user)
    try:
        found = await kb_suggest.ticket_suggestions(
            session, actor=actor, ticket_id=ticket_id, query=q[:300]
        )
    except service.TicketNotFound:
        return _not_found(request)
    if not is_htmx(request):
        return await _page(request, session, actor, ticket_id, kb=found)
    return render(
        request, "tickets/_kb_suggestions.html", kb=found, ticket=found.ticket,
        site_url=_site_url(request),
    )  # fmt: skip


# --- macros: pick one, preview it for this ticket, apply it ------------------------------
# The card's preview (tickets/_macro_preview.html) is swapped in by htmx; without JavaScript
# the picker's form opens the page with the preview in place. Applying is a plain form post.
MACRO_CODES = frozenset({"macro_not_found", "macro_inactive", "text_too_long"})


async def _macro_view(
    session: AsyncSession,
    actor: Actor,
    ticket_id: int,
    macro_id: int,
    *,
    text: str | None = None,
    problem: str | None = None,
) -> MacroView:
    """The macro as it would apply to the ticket; ``text``, after a refused apply: what the
    agent sent, kept instead of the filled-in text. Raises ``TicketNotFound``."""
    refused = problem is not None
    try:
        macro = await automation_service.get_macro(session, actor=actor, macro_id=macro_id)
    except automation_service.MacroNotFound:
        return MacroView(macro=None, text=text or "", problem="macro_not_found", refused=refused)
    try:
        preview = await automation_service.preview_macro(
            session, actor=actor, macro_id=macro_id, ticket_id=ticket_id
        )
    except service.TicketNotFound:
        raise
    except OporaError as exc:  # a stored action that no longer reads
        return MacroView(
            macro=macro, visibility=macro.visibility, text=text or "", problem=exc.message,
            refused=refused,
        )  # fmt: skip
    if problem is None and not macro.is_active:
        problem = "macro_inactive"
    return MacroView(
        macro=macro,
        visibility=preview.visibility,
        actions=preview.actions,
        text=preview.text if text is None else text,
        problem=problem,
        refused=refused,
        appliable=macro.is_active,
    )


async def _macro_answer(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    ticket_id: int,
    view: MacroView,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """The preview: for htmx the card's part alone, put in the card's preview area (an
    error status too: ``X-Opora-Error``, see static/js/opora.js); else the whole page with
    the preview open."""
    if not is_htmx(request):
        return await _page(request, session, actor, ticket_id, status_code=status_code, macro=view)
    headers = None
    if status_code >= 400:
        headers = {"HX-Retarget": "#macro-preview", "HX-Reswap": "innerHTML",
                   "X-Opora-Error": str(status_code)}  # fmt: skip
    return render(
        request,
        "tickets/_macro_preview.html",
        status_code=status_code,
        headers=headers,
        ticket_id=ticket_id,
        macro_view=view,
    )


@router.get("/tickets/{ticket_id}/macros/preview")
async def macro_picked(
    request: Request, session: Session, user: PageUser, ticket_id: int, macro_id: str = ""
) -> Response:
    """The picker's answer (htmx when the choice changes; its form without JavaScript): the
    chosen macro's preview, or none when no macro is chosen."""
    chosen = _int_or_none(macro_id)
    if chosen is not None:
        return await macro_preview(request, session, user, ticket_id, chosen)
    if is_htmx(request):
        return HTMLResponse("")
    return RedirectResponse(f"/tickets/{ticket_id}#macros", status_code=303)


@router.get("/tickets/{ticket_id}/macros/{macro_id}/preview")
async def macro_preview(
    request: Request, session: Session, user: PageUser, ticket_id: int, macro_id: int
) -> Response:
    """The macro's text for this ticket, placeholders filled in, to edit; whether it goes to
    the customer or stays an internal note; what its actions will do. Changes nothing."""
    actor = await _actor(session, user)
    try:
        view = await _macro_view(session, actor, ticket_id, macro_id)
    except service.TicketNotFound:
        return _not_found(request)
    status_code = 404 if view.macro is None else 200
    return await _macro_answer(request, session, actor, ticket_id, view, status_code=status_code)


@router.post("/tickets/{ticket_id}/macros/{macro_id}/apply")
async def apply_macro(
    request: Request,
    session: Session,
    user: PageUser,
    ticket_id: int,
    macro_id: int,
    text: Annotated[str | None, Form()] = None,
) -> Response:
    """Apply the macro with the text as the agent left it (no text field: the macro's own
    text). The macro's visibility, never the form, says whether the text is a public reply
    or an internal note (``automation.service.apply_macro``). A refusal changes nothing and
    shows the preview again, with the reason and the agent's text."""
    actor = await _actor(session, user)
    applied: list[MacroApplied] = []

    async def call() -> None:
        applied.append(
            await automation_service.apply_macro(
                session, actor=actor, macro_id=macro_id, ticket_id=ticket_id, text=data.text
            )
        )

    try:
        data = MacroApply(ticket_id=ticket_id, text=text)
    except ValidationError:
        problem = "text_too_long"
    else:
        error = await attempt(session, call)
        if error is None:
            done = applied[0]
            anchor = f"message-{done.message_id}" if done.message_id else "timeline"
            return RedirectResponse(
                f"/tickets/{ticket_id}?macro_applied={macro_id}#{anchor}", status_code=303
            )
        if isinstance(error, service.TicketNotFound):
            return _not_found(request)
        problem = error.code if error.code in KNOWN_CODES | MACRO_CODES else error.message
    try:
        view = await _macro_view(session, actor, ticket_id, macro_id, text=text, problem=problem)
    except service.TicketNotFound:
        return _not_found(request)
    status_code = 404 if view.macro is None else 400
    return await _macro_answer(request, session, actor, ticket_id, view, status_code=status_code)


@router.post("/tickets/{ticket_id}/escalate")
async def escalate_ticket(
    request: Request, session: Session, user: PageUser, ticket_id: int, reason: FormStr = ""
) -> Response:
    actor = await _actor(session, user)
    values = {"reason": reason}
    error: OporaError | None
    if not reason.strip():
        error = None
        problems = Problems(form="escalate", fields={"reason": "reason_required"})
    else:
        data = EscalateIn(reason=reason[:10_000])
        error = await attempt(
            session,
            lambda: service.escalate_ticket(session, actor=actor, ticket_id=ticket_id, data=data),
        )
        if error is None:
            return RedirectResponse(f"/tickets/{ticket_id}?escalated=1", status_code=303)
        if isinstance(error, service.TicketNotFound):
            return _not_found(request)
        problems = _problems("escalate", error, ("reason",))
    return await _page(
        request, session, actor, ticket_id, status_code=400, problems=problems, values=values
    )


@router.post("/tickets/{ticket_id}/deescalate")
async def deescalate_ticket(
    request: Request, session: Session, user: PageUser, ticket_id: int, reason: FormStr = ""
) -> Response:
    """Hand the ticket back to line 1, saying why (an internal note keeps the reason)."""
    actor = await _actor(session, user)
    values = {"reason": reason}
    if not reason.strip():
        problems = Problems(form="deescalate", fields={"reason": "reason_required"})
    else:
        data = EscalateIn(reason=reason[:10_000])
        error = await attempt(
            session,
            lambda: service.deescalate_ticket(session, actor=actor, ticket_id=ticket_id, data=data),
        )
        if error is None:
            return RedirectResponse(f"/tickets/{ticket_id}?deescalated=1", status_code=303)
        if isinstance(error, service.TicketNotFound):
            return _not_found(request)
        problems = _problems("deescalate", error, ("reason",))
        if isinstance(error, service.NoLowerLine):
            problems.general = "no_lower_line"
    return await _page(
        request, session, actor, ticket_id, status_code=400, problems=problems, values=values
    )


def _number_problem(form: str, exc: OporaError) -> Problems:
    """A merge or link error, said about the ticket number the agent typed."""
    if isinstance(exc, service.TicketNotFound):
        code = "unknown_ticket"
    elif isinstance(exc, service.TicketClosed):
        code = "target_closed" if exc.field else "ticket_closed"
    elif exc.field in ("number", "into_id", "target_id"):
        code = "merge_itself" if form == "merge" else "link_itself"
    elif exc.field == "external_url":
        return Problems(form=form, fields={"external_url": "invalid_url"})
    elif isinstance(exc, Conflict):
        return Problems(form=form, general="already_linked")
    else:
        return Problems(form=form, general=exc.message)
    if code == "ticket_closed":
        return Problems(form=form, general=code)
    return Problems(form=form, fields={"number": code})


@router.post("/tickets/{ticket_id}/merge")
async def merge_ticket(
    request: Request,
    session: Session,
    user: PageUser,
    ticket_id: int,
    number: FormStr = "",
    confirm: FormStr = "",
) -> Response:
    """Merge this ticket into the one numbered ``number``: the first post shows both
    subjects to confirm, the second (``confirm=1``) merges."""
    actor = await _actor(session, user)
    values = {"number": number}
    into = _int_or_none(number.lstrip("#"))
    if into is None:
        problems = Problems(form="merge", fields={"number": "invalid_number"})
        return await _page(
            request, session, actor, ticket_id, status_code=400, problems=problems, values=values
        )
    checked: list[Ticket] = []

    async def check() -> None:
        checked.append(
            (await service.check_merge(session, actor=actor, source_id=ticket_id, number=into))[1]
        )

    error = await attempt(session, check)
    if error is None and confirm == "1":
        target_id = checked[0].id
        error = await attempt(
            session,
            lambda: service.merge_tickets(
                session, actor=actor, source_id=ticket_id, into_id=target_id
            ),
        )
        if error is None:
            source = await service.get_ticket(session, actor=actor, ticket_id=ticket_id)
            return RedirectResponse(
                f"/tickets/{target_id}?merged={source.number}#merged-notice", status_code=303
            )
    if error is not None:
        if isinstance(error, service.TicketNotFound) and error.field is None:
            return _not_found(request)
        problems = _number_problem("merge", error)
        return await _page(
            request, session, actor, ticket_id, status_code=400, problems=problems, values=values
        )
    return await _page(request, session, actor, ticket_id, values=values, merge_target=checked[0])


@router.post("/tickets/{ticket_id}/links")
async def add_link(
    request: Request,
    session: Session,
    user: PageUser,
    ticket_id: int,
    kind: FormStr = "related",
    number: FormStr = "",
    external_url: FormStr = "",
    external_ref: FormStr = "",
) -> Response:
    actor = await _actor(session, user)
    values = {
        "kind": kind,
        "number": number,
        "external_url": external_url,
        "external_ref": external_ref,
    }

    async def call() -> None:
        if link_kind == LinkKind.VENDOR:
            data = LinkCreate(
                kind=link_kind,
                external_url=external_url.strip(),
                external_ref=external_ref.strip() or None,
            )
        else:
            target = await service.ticket_by_number(session, actor=actor, number=into or 0)
            data = LinkCreate(kind=link_kind, target_id=target.id)
        await service.link_ticket(session, actor=actor, ticket_id=ticket_id, data=data)

    link_kind = LinkKind(kind) if kind in LINK_KINDS else None
    into = _int_or_none(number.lstrip("#"))
    problems: Problems | None = None
    if link_kind is None:
        problems = Problems(form="link", fields={"kind": "invalid"})
    elif link_kind == LinkKind.VENDOR and not external_url.strip():
        problems = Problems(form="link", fields={"external_url": "url_required"})
    elif link_kind != LinkKind.VENDOR and into is None:
        problems = Problems(form="link", fields={"number": "invalid_number"})
    else:
        try:
            error = await attempt(session, call)
        except ValidationError:
            problems = Problems(form="link", fields={"external_ref": "invalid"})
        else:
            if error is None:
                return RedirectResponse(f"/tickets/{ticket_id}?linked=1#links", status_code=303)
            if isinstance(error, service.TicketNotFound) and error.field is None:
                return _not_found(request)
            problems = _number_problem("link", error)
    return await _page(
        request, session, actor, ticket_id, status_code=400, problems=problems, values=values
    )


@router.post("/tickets/{ticket_id}/links/{link_id}/delete")
async def remove_link(
    request: Request, session: Session, user: PageUser, ticket_id: int, link_id: int
) -> Response:
    actor = await _actor(session, user)
    error = await attempt(
        session,
        lambda: service.unlink_ticket(session, actor=actor, ticket_id=ticket_id, link_id=link_id),
    )
    if isinstance(error, NotFound):
        return _not_found(request)
    if error is not None:
        problems = Problems(form="link", general=error.message)
        return await _page(request, session, actor, ticket_id, status_code=400, problems=problems)
    return RedirectResponse(f"/tickets/{ticket_id}?unlinked=1#links", status_code=303)


@router.get("/tickets/{ticket_id}/attachments/{attachment_id}")
async def download_attachment(
    request: Request, session: Session, user: PageUser, ticket_id: int, attachment_id: int
) -> Response:
    """An attachment for the signed-in agent, with the API download's safe headers."""
    actor = await _actor(session, user)
    try:
        att = await service.get_attachment(session, actor=actor, attachment_id=attachment_id)
    except service.AttachmentNotFound:
        return _not_found(request)
    store = BlobStore(request.app.state.settings.attachments_dir)
    return file_response(
        store.read(att.sha256), filename=att.filename, content_type=att.content_type
    )


@router.get("/tickets/{ticket_id}/customer-view")
async def customer_view(
    request: Request, session: Session, user: PageUser, ticket_id: int
) -> Response:
    """The ticket as its requester sees it, for the agent to check: built from exactly what
    the customer API returns (read with the requester as the actor, so internal notes,
    their files and internal events are never loaded), rendered by the portal's template."""
    actor = await _actor(session, user)
    try:
        ticket = await service.get_ticket(session, actor=actor, ticket_id=ticket_id)
        requester = await contacts_service.get_contact(
            session, actor=actor, contact_id=ticket.requester_id
        )
        read = await customer_ticket(
            session, actor=auth_service.actor_for_contact(requester), ticket_id=ticket_id
        )
    except (service.TicketNotFound, contacts_service.ContactNotFound):
        return _not_found(request)
    shown = await shown_fields(session, read)
    return render(
        request,
        "portal/ticket.html",
        t=read,
        customer_fields=shown,
        attachment_base=f"/tickets/{ticket_id}/attachments/",
        preview_of=requester.name or "",
        back_url=f"/tickets/{ticket_id}",
    )
