"""Report pages for supervisors: ``GET /workload`` and the knowledge base's search
analytics, ``GET /reports/kb-search`` (with ``?from=&to=``) and its tables as CSV files,
``GET /reports/kb-search.csv?table=…&from=&to=``.

Supervisors and admins only: an agent gets the 403 page (``reports.workload`` and
``kb.analytics`` refuse), an anonymous visitor goes to ``/login``. A date range that
cannot be read re-renders the range form with the field marked (422)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from opora.auth import service as auth_service
from opora.errors import Forbidden
from opora.kb import analytics
from opora.kit.labels import N_
from opora.reports import workload
from opora.web import i18n
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.downloads import file_response
from opora.web.error_pages import error_page
from opora.web.page_auth import PageUser
from opora.web.templating import page_language, render

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

DateFrom = Annotated[str | None, Query(alias="from")]
DateTo = Annotated[str | None, Query(alias="to")]

# the CSV files' columns, in the reader's language
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "top_queries": (N_("Query"), N_("Searches"), N_("With results"), N_("Share with results"),
                    N_("With a click"), N_("Click-through")),
    "no_results": (N_("Query"), N_("Searches"), N_("Last seen")),
    "no_click": (N_("Query"), N_("Searches"), N_("Last seen")),
    "articles": (N_("Article ID"), N_("Title"), N_("Clicks"), N_("Average position"),
                 N_("Views"), N_("Click share")),
    "after_failed": (N_("Failed query"), N_("Next query"), N_("Times"),
                     N_("Next search found something")),
    "followed_by_ticket": (N_("Query"), N_("Searches followed by a request")),
    "deflection": (N_("Deflected"), N_("Requests"), N_("Deflection rate")),
    "helpfulness": (N_("Article ID"), N_("Title"), N_("Helped"), N_("Didn't help"),
                    N_("Helped share"), N_("Latest comments")),
}  # fmt: skip


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


def _bad_range(
    request: Request, error: analytics.BadDateRange, date_from: str | None, date_to: str | None
) -> Response:
    return render(
        request, "reports/kb_search.html", status_code=422, report=None,
        values={"from": date_from or "", "to": date_to or ""},
        errors={error.field: error.details.get("reason", "date")},
    )  # fmt: skip


@router.get("/reports/kb-search")
async def kb_search_page(
    request: Request,
    session: Session,
    user: PageUser,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> Response:
    actor = await auth_service.actor_for_user(session, user)
    try:
        report = await analytics.get_search_analytics(
            session, actor=actor, date_from=date_from, date_to=date_to
        )
    except Forbidden:
        return error_page(request, 403)
    except analytics.BadDateRange as error:
        return _bad_range(request, error, date_from, date_to)
    return render(
        request, "reports/kb_search.html", report=report, errors={},
        zone=analytics.zone_of(report.timezone),
        values={"from": report.date_from.isoformat(), "to": report.date_to.isoformat()},
    )  # fmt: skip


@router.get("/reports/kb-search.csv")
async def kb_search_csv(
    request: Request,
    session: Session,
    user: PageUser,
    table: str = "top_queries",
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> Response:
    actor = await auth_service.actor_for_user(session, user)
    try:
        analytics.require_viewer(actor)
        if table not in analytics.TABLES:
            return error_page(request, 404)
        report = await analytics.get_search_analytics(
            session, actor=actor, date_from=date_from, date_to=date_to, limit=analytics.MAX_LIMIT
        )
    except Forbidden:
        return error_page(request, 403)
    except analytics.BadDateRange as error:
        return _bad_range(request, error, date_from, date_to)
    gettext = i18n.translations(page_language(request)).gettext
    data = analytics.to_csv(
        [gettext(c) for c in CSV_COLUMNS[table]], analytics.table_rows(report, table)
    )
    name = f"kb-search-{table}-{report.date_from.isoformat()}-{report.date_to.isoformat()}.csv"
    return file_response(data, filename=name, content_type="text/csv; charset=utf-8")
