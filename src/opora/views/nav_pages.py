"""The inbox sidebar alone: ``GET /inbox/{view_key}/nav`` renders the views and their
counts, with ``view_key`` marked current. The inbox reloads it when ``/live`` says a
ticket changed, so the counts stay live without reloading the list being read."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from opora.auth import service as auth_service
from opora.views import service
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.page_auth import PageUser, verify_csrf
from opora.web.templating import render

router = APIRouter(
    route_class=UnitOfWorkRoute,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)


@router.get("/inbox/{view_key}/nav")
async def view_nav(request: Request, session: Session, user: PageUser, view_key: str) -> Response:
    actor = await auth_service.actor_for_user(session, user)
    views = await service.list_views(session, actor=actor)
    current = next((v for v in views if v.key == view_key), None)
    if current is None:
        return Response(status_code=404)
    counts = await service.view_counts(session, actor=actor, views=views)
    return render(
        request,
        "views/_view_nav.html",
        headers={"Cache-Control": "no-store"},
        inbox=SimpleNamespace(views=views, counts=counts),
        view=current,
        oob=False,
    )
