"""``auth.prune_sign_ins``: forget old failed sign-ins and long-ended browser sessions.

Runs every hour. Attempts older than ``ATTEMPTS_KEEP`` count for nothing any more;
sessions revoked or expired more than ``SESSION_KEEP_ENDED`` ago are deleted (until then
they stay for the record). Limits are in ``auth.service``.
"""

from __future__ import annotations

import logging
from typing import Any

from opora.auth import service
from opora.jobs import JobContext, job, periodic

log = logging.getLogger(__name__)

PRUNE_SIGN_INS = "auth.prune_sign_ins"


@job(PRUNE_SIGN_INS)
async def prune_sign_ins(ctx: JobContext, payload: dict[str, Any]) -> None:
    attempts, sessions = await service.prune_sign_in_records(ctx.session)
    if attempts or sessions:
        log.info("pruned %d sign-in attempts and %d ended sessions", attempts, sessions)


periodic(PRUNE_SIGN_INS, every_seconds=3600)
