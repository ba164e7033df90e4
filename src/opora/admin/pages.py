"""Admin pages: users and their roles, groups and their line, ticket fields, tags.

Only admins may use them: another agent gets a 403 page, an anonymous visitor goes to
``/login``. Handlers parse the form, call one service of ``auth``, ``fields`` or
``tickets`` and render; a form with
mistakes is shown again with the fields marked and the input kept (the status is an
error, so the request rolls back). Use cases run in a savepoint, so the re-rendered page
reads what is stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from opora.admin.common import NotAdmin, admin_actor, domain_error, forbidden, validation_errors
from opora.auth import service as auth_service
from opora.auth.actor import Actor
from opora.auth.models import Availability, Role, TicketAccess
from opora.auth.schemas import AssignmentMode, GroupCreate, GroupUpdate, UserCreate, UserUpdate
from opora.errors import OporaError
from opora.fields import service as fields_service
from opora.fields.models import FieldEntity, FieldType
from opora.fields.schemas import CustomFieldCreate, CustomFieldUpdate
from opora.tickets import service as tickets_service
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.forms import attempt, see_other
from opora.web.page_auth import PageUser, verify_csrf
from opora.web.templating import render

router = APIRouter(
    prefix="/admin",
    route_class=UnitOfWorkRoute,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)

ROLES = [r.value for r in Role if r.value != "customer"]
ACCESS = [a.value for a in TicketAccess]
LINES = [1, 2, 3, 4]  # 4 is the vendor
ASSIGNMENTS = [m.value for m in AssignmentMode]
AVAILABILITIES = [a.value for a in Availability]


def _ints(values: list[Any]) -> list[int]:
    return [int(v) for v in values if isinstance(v, str) and v.strip().isdigit()]


def _words(value: Any, *, lower: bool = False) -> list[str]:
    """A comma-separated list as typed ("billing, VPN"): trimmed, each once, in order."""
    words: dict[str, str] = {}  # case-folded -> as typed first
    for part in str(value or "").split(","):
        word = part.strip().lower() if lower else part.strip()
        if word:
            words.setdefault(word.casefold(), word)
    return list(words.values())


def _routing_profile(form: Any) -> dict[str, Any]:
    """The user form's routing inputs that it carries (a form without them changes none)."""
    profile: dict[str, Any] = {}
    if "capacity" in form:
        profile["capacity"] = str(form.get("capacity", "")).strip()
    if "skills" in form:
        profile["skills"] = _words(form.get("skills"))
    if "languages" in form:
        profile["languages"] = _words(form.get("languages"), lower=True)
    if "availability" in form:
        profile["availability"] = str(form.get("availability", ""))
    return profile


# -- users ------------------------------------------------------------------------------


async def _users_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    saved: str | None = None,
) -> Response:
    users = await auth_service.list_users(session, actor=actor)
    groups = await auth_service.list_groups(session, actor=actor)
    memberships = await auth_service.group_ids_by_user(session, users)
    return render(
        request,
        "admin/users.html",
        status_code=status_code,
        users=users,
        groups=groups,
        group_names={g.id: g.name for g in groups},
        memberships=memberships,
        roles=ROLES,
        errors=errors or {},
        values=values or {"role": "agent", "language": "en", "group_ids": []},
        saved=saved,
    )


@router.get("/users")
async def users_page(
    request: Request, session: Session, user: PageUser, saved: str | None = None
) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    return await _users_page(request, session, actor, saved="created" if saved else None)


@router.post("/users")
async def create_user(request: Request, session: Session, user: PageUser) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    form = await request.form()
    values: dict[str, Any] = {
        "email": str(form.get("email", "")).strip(),
        "name": str(form.get("name", "")).strip(),
        "role": str(form.get("role", "agent")),
        "language": str(form.get("language", "en")),
        "group_ids": _ints(form.getlist("group_ids")),
    }
    password = str(form.get("password", ""))
    try:
        data = UserCreate(**values, password=password or None)
    except ValidationError as exc:
        errors = validation_errors(exc)
        return await _users_page(
            request, session, actor, status_code=400, errors=errors, values=values
        )

    async def call() -> None:
        await auth_service.create_user(session, actor=actor, data=data)

    error = await attempt(session, call)
    if error is not None:
        return await _users_page(
            request, session, actor, status_code=400, errors=domain_error(error), values=values
        )
    return see_other("/admin/users?saved=1")


async def _user_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    user_id: int,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    signed_out: bool = False,
) -> Response:
    try:
        target = await auth_service.get_user(session, actor=actor, user_id=user_id)
    except OporaError:
        return render(request, "admin/not_found.html", status_code=404)
    groups = await auth_service.list_groups(session, actor=actor)
    memberships = await auth_service.group_ids_by_user(session, [target])
    browsers = await auth_service.list_sessions(session, actor=actor, user_id=target.id)
    return render(
        request,
        "admin/user.html",
        status_code=status_code,
        target=target,
        groups=groups,
        member_of=memberships.get(target.id, []),
        roles=ROLES,
        accesses=ACCESS,
        availabilities=AVAILABILITIES,
        errors=errors or {},
        saved=saved,
        session_count=len(browsers),
        signed_out=signed_out,
    )


@router.get("/users/{user_id}")
async def user_page(
    request: Request, session: Session, user: PageUser, user_id: int, saved: str | None = None
) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    return await _user_page(
        request,
        session,
        actor,
        user_id,
        saved=saved == "1",
        signed_out=saved == "signed_out",
    )


@router.post("/users/{user_id}/sessions/revoke")
async def sign_out_user_everywhere(
    request: Request, session: Session, user: PageUser, user_id: int
) -> Response:
    """Revoke every browser session of the user (an admin's own too: then sign in again)."""
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    error = await attempt(
        session, lambda: auth_service.revoke_sessions(session, actor=actor, user_id=user_id)
    )
    if error is not None:
        return render(request, "admin/not_found.html", status_code=404)
    return see_other(f"/admin/users/{user_id}?saved=signed_out")


@router.post("/users/{user_id}")
async def update_user(request: Request, session: Session, user: PageUser, user_id: int) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    form = await request.form()
    active = form.get("is_active") == "on"
    try:
        data = UserUpdate(
            role=str(form.get("role", "agent")),
            ticket_access=str(form.get("ticket_access", "all")),
            group_ids=_ints(form.getlist("group_ids")),
            **_routing_profile(form),
            **({"is_active": True} if active else {}),
        )
    except ValidationError as exc:
        return await _user_page(
            request, session, actor, user_id, status_code=400, errors=validation_errors(exc)
        )

    async def call() -> None:
        await auth_service.update_user(session, actor=actor, user_id=user_id, data=data)
        if not active:
            await auth_service.deactivate_user(session, actor=actor, user_id=user_id)

    error = await attempt(session, call)
    if error is not None:
        if error.status_code == 404:
            return render(request, "admin/not_found.html", status_code=404)
        errors = {error.field or "is_active": "invalid"}
        return await _user_page(request, session, actor, user_id, status_code=400, errors=errors)
    return see_other(f"/admin/users/{user_id}?saved=1")


# -- groups -----------------------------------------------------------------------------


async def _groups_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    saved: str | None = None,
    in_use: str | None = None,
) -> Response:
    groups = await auth_service.list_groups(session, actor=actor)
    users = await auth_service.list_users(session, actor=actor)
    memberships = await auth_service.group_ids_by_user(session, users)
    members: dict[int, list[str]] = {g.id: [] for g in groups}
    for u in users:
        for gid in memberships.get(u.id, []):
            members.setdefault(gid, []).append(u.name)
    return render(
        request,
        "admin/groups.html",
        status_code=status_code,
        groups=groups,
        members=members,
        lines=LINES,
        assignments=ASSIGNMENTS,
        errors=errors or {},
        values=values or {"line": 1, "assignment": "manual"},
        saved=saved,
        in_use=in_use,
    )


def _group_values(form: Any) -> dict[str, Any]:
    values = {
        "name": str(form.get("name", "")).strip(),
        "line": str(form.get("line", "1")),
        "description": str(form.get("description", "")).strip(),
    }
    if "assignment" in form:  # a form without the routing inputs changes neither
        values["assignment"] = str(form.get("assignment", ""))
        values["reassign_when_offline"] = form.get("reassign_when_offline") == "on"
    return values


@router.get("/groups")
async def groups_page(
    request: Request, session: Session, user: PageUser, saved: str | None = None
) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    chosen = saved if saved in ("created", "saved", "deleted") else None
    return await _groups_page(request, session, actor, saved=chosen)


@router.post("/groups")
async def create_group(request: Request, session: Session, user: PageUser) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    values = _group_values(await request.form())
    try:
        data = GroupCreate(**values)
    except ValidationError as exc:
        errors = validation_errors(exc)
        return await _groups_page(
            request, session, actor, status_code=400, errors=errors, values=values
        )

    async def call() -> None:
        await auth_service.create_group(session, actor=actor, data=data)

    error = await attempt(session, call)
    if error is not None:
        return await _groups_page(
            request, session, actor, status_code=400, errors=domain_error(error), values=values
        )
    return see_other("/admin/groups?saved=created")


async def _group_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    group_id: int,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    try:
        group = await auth_service.get_group(session, actor=actor, group_id=group_id)
    except OporaError:
        return render(request, "admin/not_found.html", status_code=404)
    users = await auth_service.list_users(session, actor=actor)
    member_ids = await auth_service.member_ids(session, group)
    if values is not None and "assignment" not in values:  # sent without the routing inputs
        values = {
            **values,
            "assignment": group.assignment,
            "reassign_when_offline": group.reassign_when_offline,
        }
    return render(
        request,
        "admin/group.html",
        status_code=status_code,
        group=group,
        users=users,
        member_ids=values["member_ids"] if values else member_ids,
        lines=LINES,
        assignments=ASSIGNMENTS,
        errors=errors or {},
        values=values
        or {
            "name": group.name,
            "line": str(group.line),
            "description": group.description,
            "assignment": group.assignment,
            "reassign_when_offline": group.reassign_when_offline,
        },
    )


@router.get("/groups/{group_id}")
async def group_page(request: Request, session: Session, user: PageUser, group_id: int) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    return await _group_page(request, session, actor, group_id)


@router.post("/groups/{group_id}")
async def update_group(
    request: Request, session: Session, user: PageUser, group_id: int
) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    form = await request.form()
    values = _group_values(form)
    values["member_ids"] = _ints(form.getlist("member_ids"))
    is_active = form.get("is_active") == "on"
    try:
        data = GroupUpdate(**values, is_active=is_active)
    except ValidationError as exc:
        errors = validation_errors(exc)
        return await _group_page(
            request, session, actor, group_id, status_code=400, errors=errors, values=values
        )

    async def call() -> None:
        await auth_service.update_group(session, actor=actor, group_id=group_id, data=data)

    error = await attempt(session, call)
    if error is not None:
        if error.status_code == 404:
            return render(request, "admin/not_found.html", status_code=404)
        return await _group_page(
            request, session, actor, group_id, status_code=400,
            errors=domain_error(error), values=values,
        )  # fmt: skip
    return see_other("/admin/groups?saved=saved")


@router.post("/groups/{group_id}/delete")
async def delete_group(
    request: Request, session: Session, user: PageUser, group_id: int
) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)

    async def call() -> None:
        await auth_service.delete_group(session, actor=actor, group_id=group_id)

    error = await attempt(session, call)
    if error is not None:
        if error.status_code == 404:
            return render(request, "admin/not_found.html", status_code=404)
        group = await auth_service.get_group(session, actor=actor, group_id=group_id)
        return await _groups_page(request, session, actor, status_code=409, in_use=group.name)
    return see_other("/admin/groups?saved=deleted")


# -- ticket fields ----------------------------------------------------------------------

FIELD_TYPES = [t.value for t in FieldType]


def _options(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


async def _fields_page(
    request: Request,
    session: AsyncSession,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    saved: str | None = None,
) -> Response:
    fields = await fields_service.list_fields(session, entity=FieldEntity.TICKET, active_only=False)
    return render(
        request,
        "admin/fields.html",
        status_code=status_code,
        fields=fields,
        types=FIELD_TYPES,
        errors=errors or {},
        values=values or {"type": "text", "visible_to_customer": True},
        saved=saved,
    )


def _field_values(form: Any) -> dict[str, Any]:
    return {
        "label": str(form.get("label", "")).strip(),
        "label_ru": str(form.get("label_ru", "")).strip(),
        "options": str(form.get("options", "")),
        "required": form.get("required") == "on",
        "visible_to_customer": form.get("visible_to_customer") == "on",
    }


@router.get("/fields")
async def fields_page(
    request: Request, session: Session, user: PageUser, saved: str | None = None
) -> Response:
    try:
        await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    chosen = saved if saved in ("created", "saved", "deactivated") else None
    return await _fields_page(request, session, saved=chosen)


@router.post("/fields")
async def create_field(request: Request, session: Session, user: PageUser) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    form = await request.form()
    values = _field_values(form)
    values["key"] = str(form.get("key", "")).strip()
    values["type"] = str(form.get("type", "text"))
    try:
        data = CustomFieldCreate(
            entity=FieldEntity.TICKET,
            key=values["key"],
            label=values["label"],
            label_ru=values["label_ru"],
            type=values["type"],
            options=_options(values["options"]),
            required=values["required"],
            visible_to_customer=values["visible_to_customer"],
        )
    except ValidationError as exc:
        errors = validation_errors(exc)
        return await _fields_page(request, session, status_code=400, errors=errors, values=values)

    async def call() -> None:
        await fields_service.create_field(session, actor=actor, data=data)

    error = await attempt(session, call)
    if error is not None:
        errors = domain_error(error)
        return await _fields_page(request, session, status_code=400, errors=errors, values=values)
    return see_other("/admin/fields?saved=created")


async def _field_page(
    request: Request,
    session: AsyncSession,
    field_id: int,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    fields = await fields_service.list_fields(session, entity=FieldEntity.TICKET, active_only=False)
    field = next((f for f in fields if f.id == field_id), None)
    if field is None:
        return render(request, "admin/not_found.html", status_code=404)
    return render(
        request,
        "admin/field.html",
        status_code=status_code,
        field=field,
        errors=errors or {},
        values=values
        or {
            "label": field.label,
            "label_ru": field.label_ru,
            "options": "\n".join(field.options),
            "required": field.required,
            "visible_to_customer": field.visible_to_customer,
            "is_active": field.is_active,
        },
    )


@router.get("/fields/{field_id}")
async def field_page(request: Request, session: Session, user: PageUser, field_id: int) -> Response:
    try:
        await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    return await _field_page(request, session, field_id)


@router.post("/fields/{field_id}")
async def update_field(
    request: Request, session: Session, user: PageUser, field_id: int
) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    form = await request.form()
    values = _field_values(form)
    values["is_active"] = form.get("is_active") == "on"
    try:
        data = CustomFieldUpdate(
            label=values["label"],
            label_ru=values["label_ru"],
            options=_options(values["options"]),
            required=values["required"],
            visible_to_customer=values["visible_to_customer"],
            is_active=values["is_active"],
        )
    except ValidationError as exc:
        errors = validation_errors(exc)
        return await _field_page(
            request, session, field_id, status_code=400, errors=errors, values=values
        )

    async def call() -> None:
        if not values["is_active"]:
            await fields_service.delete_field(session, actor=actor, field_id=field_id)
            return
        await fields_service.update_field(session, actor=actor, field_id=field_id, data=data)

    error = await attempt(session, call)
    if error is not None:
        if error.status_code == 404:
            return render(request, "admin/not_found.html", status_code=404)
        errors = domain_error(error)
        return await _field_page(
            request, session, field_id, status_code=400, errors=errors, values=values
        )
    return see_other("/admin/fields?saved=" + ("saved" if values["is_active"] else "deactivated"))


# -- tags -------------------------------------------------------------------------------


async def _tags_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    status_code: int = 200,
    errors: dict[int, str] | None = None,
    values: dict[int, str] | None = None,
    saved: str | None = None,
) -> Response:
    tags = await tickets_service.list_tags(session, actor=actor)
    return render(
        request,
        "admin/tags.html",
        status_code=status_code,
        tags=tags,
        errors=errors or {},
        values=values or {},
        saved=saved,
    )


@router.get("/tags")
async def tags_page(
    request: Request, session: Session, user: PageUser, saved: str | None = None
) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    chosen = saved if saved in ("renamed", "deleted") else None
    return await _tags_page(request, session, actor, saved=chosen)


@router.post("/tags/{tag_id}")
async def rename_tag(request: Request, session: Session, user: PageUser, tag_id: int) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    name = str((await request.form()).get("name", ""))

    async def call() -> None:
        await tickets_service.rename_tag(session, actor=actor, tag_id=tag_id, name=name)

    error = await attempt(session, call)
    if error is not None:
        if error.status_code == 404:
            return render(request, "admin/not_found.html", status_code=404)
        code = "taken" if error.status_code == 409 else "invalid"
        return await _tags_page(
            request, session, actor, status_code=400, errors={tag_id: code}, values={tag_id: name}
        )
    return see_other("/admin/tags?saved=renamed")


@router.post("/tags/{tag_id}/delete")
async def delete_tag(request: Request, session: Session, user: PageUser, tag_id: int) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)

    async def call() -> None:
        await tickets_service.delete_tag(session, actor=actor, tag_id=tag_id)

    error = await attempt(session, call)
    if error is not None:
        return render(request, "admin/not_found.html", status_code=404)
    return see_other("/admin/tags?saved=deleted")
