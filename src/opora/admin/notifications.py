"""Admin pages of the notification templates: the list, and the editor of one template in
one language (preview against the sample, save, restore the default).

The same shape as ``admin/pages.py``: only admins; a handler parses the form, calls one
function of ``notifications.templates`` and redirects, or shows the editor again with the
field marked, the reason and the text kept (an error status, so the request rolls back).
The variables a template may use are listed beside it, with the sample's values.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from opora.admin.common import NotAdmin, admin_actor, forbidden, not_found
from opora.auth.actor import Actor
from opora.errors import OporaError
from opora.notifications import catalog, templates
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


def variables(language: str) -> list[tuple[str, str]]:
    """Every name of the sample context, flattened (``ticket.number``), with its value."""

    def walk(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
        if isinstance(value, dict):
            for key, inner in value.items():
                yield from walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            yield prefix, str(value)

    return list(walk("", catalog.SAMPLE[language]))


def _url(key: str, language: str) -> str:
    return f"/admin/notifications/{key}/{language}"


@router.get("/notifications")
async def notifications_page(
    request: Request, session: Session, user: PageUser, saved: str | None = None
) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    views = await templates.list_templates(session, actor=actor)
    return render(request, "admin/notifications.html", templates=views, specs=catalog.BY_KEY)


async def _template_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    key: str,
    language: str,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    preview: templates.Rendered | None = None,
    saved: str | None = None,
) -> Response:
    try:
        view = await templates.get_template(session, actor=actor, key=key, language=language)
    except OporaError:
        return not_found(request)
    return render(
        request,
        "admin/notification.html",
        status_code=status_code,
        template=view,
        spec=catalog.BY_KEY[view.key],
        variables=variables(view.language),
        errors=errors or {},
        values=values or {"subject": view.subject, "body": view.body},
        preview=preview,
        saved=saved,
    )


@router.get("/notifications/{key}/{language}")
async def template_page(
    request: Request,
    session: Session,
    user: PageUser,
    key: str,
    language: str,
    saved: str | None = None,
) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    chosen = saved if saved in ("saved", "reset") else None
    return await _template_page(request, session, actor, key, language, saved=chosen)


@router.post("/notifications/{key}/{language}")
async def save_or_preview_template(
    request: Request, session: Session, user: PageUser, key: str, language: str
) -> Response:
    """The "Preview" button shows the text rendered against the sample (nothing is
    stored); "Save" stores it."""
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    form = await request.form()
    values = {"subject": str(form.get("subject", "")), "body": str(form.get("body", ""))}
    # a browser sends a textarea's line breaks as CRLF
    values["body"] = values["body"].replace("\r\n", "\n")
    if form.get("action") == "preview":
        try:
            rendered = templates.preview(
                actor=actor, key=key, language=language, subject=values["subject"],
                body=values["body"],
            )  # fmt: skip
        except templates.TemplateNotFound:
            return not_found(request)
        except OporaError as exc:
            return await _template_page(
                request, session, actor, key, language, status_code=400,
                errors={exc.field or "body": exc.message}, values=values,
            )  # fmt: skip
        return await _template_page(
            request, session, actor, key, language, values=values, preview=rendered
        )

    async def call() -> None:
        await templates.save_template(
            session, actor=actor, key=key, language=language,
            subject=values["subject"], body=values["body"],
        )  # fmt: skip

    error = await attempt(session, call)
    if error is not None:
        if error.status_code == 404:
            return not_found(request)
        return await _template_page(
            request, session, actor, key, language, status_code=400,
            errors={error.field or "body": error.message}, values=values,
        )  # fmt: skip
    return see_other(f"{_url(key, language)}?saved=saved")


@router.get("/notifications/{key}/{language}/reset")
async def confirm_reset_template(
    request: Request, session: Session, user: PageUser, key: str, language: str
) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)
    try:
        view = await templates.get_template(session, actor=actor, key=key, language=language)
    except OporaError:
        return not_found(request)
    return render(
        request, "admin/notification_reset.html", template=view, spec=catalog.BY_KEY[view.key]
    )


@router.post("/notifications/{key}/{language}/reset")
async def reset_template(
    request: Request, session: Session, user: PageUser, key: str, language: str
) -> Response:
    try:
        actor = await admin_actor(session, user)
    except NotAdmin:
        return forbidden(request)

    async def call() -> None:
        await templates.reset_template(session, actor=actor, key=key, language=language)

    if await attempt(session, call) is not None:
        return not_found(request)
    return see_other(f"{_url(key, language)}?saved=reset")
