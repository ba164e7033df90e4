"""``notifications.send_email``: compose and send one queued email.

Payload: ``to`` (list of addresses), ``subject``, ``text``, optional ``html``, ``headers``
and ``message_id`` (the local part; the domain is that of ``OPORA_MAIL_FROM``).

Every failure raises ``DeliveryError``, so the worker retries with its back-off. A
permanent one (5xx) is not retried forever: like any failure it ends ``dead`` after the
job's attempts (5 by default, about 21 minutes), with the server's reply in
``last_error``, where ``opora jobs list --status dead`` shows it and ``opora jobs retry``
can send it again once the cause is fixed. (Some 5xx replies are configuration errors an
admin fixes within minutes: relaying denied, authentication required.)

Delivery is at least once: if the worker dies after the server took the message but before
the job's ``done`` mark commits, the message is sent again with the same Message-ID.
"""

from __future__ import annotations

import secrets
from typing import Any

from opora.jobs import JobContext, job
from opora.notifications import mail
from opora.notifications.service import SEND_EMAIL


@job(SEND_EMAIL)
async def send_email(ctx: JobContext, payload: dict[str, Any]) -> None:
    config = mail.SmtpConfig.from_settings(ctx.settings)
    local = payload.get("message_id") or f"job{ctx.job_id}.{secrets.token_hex(8)}"
    message = mail.build_message(
        mail_from=config.mail_from,
        to=payload["to"],
        subject=payload["subject"],
        text=payload["text"],
        html=payload.get("html"),
        headers=payload.get("headers"),
        message_id=f"<{local}@{config.domain}>",
    )
    await mail.send_message(message, config)
