"""What every admin page shares: who may use it, the 403 page, and form errors as the
templates mark them (field name -> code)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth import service as auth_service
from opora.auth.actor import Actor
from opora.errors import OporaError
from opora.web.templating import render


class NotAdmin(Exception):
    pass


async def admin_actor(session: AsyncSession, user: Any) -> Actor:
    actor = await auth_service.actor_for_user(session, user)
    if not actor.is_admin:
        raise NotAdmin
    return actor


async def admin_or_none(session: AsyncSession, user: Any) -> Actor | None:
    """The page user's actor when an admin; None (answer with ``forbidden``) otherwise."""
    try:
        return await admin_actor(session, user)
    except NotAdmin:
        return None


def forbidden(request: Request) -> Response:
    return render(request, "admin/forbidden.html", status_code=403)


def not_found(request: Request) -> Response:
    return render(request, "admin/not_found.html", status_code=404)


def validation_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = error.get("loc") or ("form",)
        errors.setdefault(str(loc[0]), "invalid")
    return errors


def domain_error(exc: OporaError) -> dict[str, str]:
    code = "taken" if exc.status_code == 409 else "invalid"
    if exc.field == "options":
        code = "options"
    return {exc.field or "form": code}
