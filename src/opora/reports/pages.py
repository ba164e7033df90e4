"""Report pages for supervisors: ``GET /workload``.

Supervisors and admins only: an agent gets the 403 page (``reports.workload`` refuses),
an anonymous visitor goes to ``/login``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from opora.auth import service as auth_service
from opora.errors import Forbidden
from opora.reports import workload
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.error_pages import error_page
from opora.web.page_auth import PageUser
from opora.web.templating import render

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


@router.get("/workload")
async def workload_page(request: Request, session: Session, user: PageUser) -> Response:
    actor = await auth_service.actor_for_user(session, user)
    try:
        report = await workload.get_workload(session, actor=actor)
    except Forbidden:  # rendered here, while the user is still readable
        return error_page(request, 403)
    return render(
        request,
        "reports/workload.html",
        report=report,
        statuses=workload.OPEN,
        capacity_statuses=workload.CAPACITY_STATUSES,
    )
