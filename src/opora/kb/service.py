"""Knowledge base use cases."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from opora.kb.models import KbOutcome
from opora.kit.time import utcnow


async def record_outcome(
    session: AsyncSession,
    *,
    kind: Literal["ticket", "deflected"],
    visitor: str,
    ticket_id: int | None = None,
    article_id: int | None = None,
) -> None:
    """What a visitor of the request form did: submitted ``ticket_id``, or left because
    ``article_id`` helped (a deflected request). The search analytics count them."""
    session.add(
        KbOutcome(
            kind=kind, visitor=visitor[:64], ticket_id=ticket_id, article_id=article_id,
            created_at=utcnow(),
        )
    )  # fmt: skip
    await session.flush()
