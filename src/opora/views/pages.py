"""The inbox: the views in a sidebar with their counts, and the current view's tickets.

``GET /inbox`` shows the default view (``my-open``), ``GET /inbox/{view_key}`` any other.
An htmx request from the page (``HX-Target: ticket-list``) gets only the list, with the
sidebar sent out of band so the current view and the counts follow; without JavaScript
every link loads the whole page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from opora.auth import service as auth_service
from opora.errors import InvalidInput
from opora.tickets.repository import SORTS
from opora.views import service
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.page_auth import PageUser, is_htmx, verify_csrf
from opora.web.templating import render

router = APIRouter(
    route_class=UnitOfWorkRoute,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)

DEFAULT_VIEW = "my-open"
PAGE_SIZE = 50


def _wants_list_only(request: Request) -> bool:
    return (
        is_htmx(request)
        and request.headers.get("hx-target") == "ticket-list"
        and request.headers.get("hx-history-restore-request") != "true"
    )


@router.get("/inbox")
async def inbox_default(
    request: Request,
    session: Session,
    user: PageUser,
    sort: str | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    return await inbox_page(request, session, user, DEFAULT_VIEW, sort, cursor)


@router.get("/inbox/{view_key}")
async def inbox_page(
    request: Request,
    session: Session,
    user: PageUser,
    view_key: str,
    sort: str | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    actor = await auth_service.actor_for_user(session, user)
    chosen = sort if sort in SORTS else None  # an unknown sort falls back to the view's
    try:
        inbox = await service.inbox(
            session, actor=actor, view_key=view_key, cursor=cursor or None, limit=PAGE_SIZE,
            sort=chosen,
        )  # fmt: skip
    except service.ViewNotFound:
        return render(request, "views/not_found.html", status_code=404, view_key=view_key)
    except InvalidInput as exc:
        if exc.field != "cursor":
            raise
        # a stale or edited cursor: start the view again from its first page
        query = f"?sort={chosen}" if chosen else ""
        return RedirectResponse(f"/inbox/{view_key}{query}", status_code=303)
    list_only = _wants_list_only(request)
    return render(
        request,
        "views/_ticket_list.html" if list_only else "views/inbox.html",
        headers={"Vary": "HX-Request, HX-Target"},
        inbox=inbox,
        view=inbox.page.view,
        sort=chosen or inbox.page.view.sort,
        cursor=cursor or None,
        list_only=list_only,
    )
