"""JSON API of the search analytics: ``GET /api/v1/kb/analytics?from=&to=``.

Admins and supervisors (an agent's or a customer's token gets a 403). ``from`` and
``to`` are days (YYYY-MM-DD, both included) in the caller's time zone; a bad range is a
422 ``invalid_date_range`` naming the field. What each figure means: ``kb.analytics``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from opora.kb import analytics
from opora.web.deps import AgentActor, Session, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1/kb", route_class=UnitOfWorkRoute, tags=["knowledge base"])


@router.get("/analytics", response_model=analytics.SearchAnalytics)
async def search_analytics(
    actor: AgentActor,
    session: Session,
    date_from: Annotated[str | None, Query(alias="from", max_length=20)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=analytics.MAX_LIMIT)] = analytics.LIMIT,
) -> analytics.SearchAnalytics:
    """Every table of the search analytics over the range (default: the last 30 days),
    ``limit`` rows each."""
    return await analytics.get_search_analytics(
        session, actor=actor, date_from=date_from, date_to=date_to, limit=limit
    )
