"""Pure decisions of the customer portal: where a request stands, what comes next, where a
sign-in may lead, and whether a form looks sent by a bot. No I/O."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from opora.tickets.models import TicketStatus

# the customer's four steps, in order
RECEIVED = "received"
WORKING = "working"
WAITING_FOR_YOU = "waiting"
SOLVED = "solved"
STEPS = (RECEIVED, WORKING, WAITING_FOR_YOU, SOLVED)

DEFAULT_AFTER_SIGN_IN = "/help/requests"


def token_hash(raw: str) -> str:
    """What is stored of a sign-in link's or a portal session's token."""
    return hashlib.sha256(raw.encode()).hexdigest()


def step_of(status: str) -> str:
    """The step of the progress line a ticket status stands at."""
    if status == TicketStatus.NEW:
        return RECEIVED
    if status == TicketStatus.PENDING:
        return WAITING_FOR_YOU
    if status in (TicketStatus.SOLVED, TicketStatus.CLOSED):
        return SOLVED
    return WORKING  # open, on hold (waiting for a third party is still our work)


@dataclass(frozen=True, slots=True)
class Step:
    key: str
    state: str  # "done", "current" or "todo"


def progress(status: str) -> list[Step]:
    """The progress line: received → being worked on → waiting for you → solved. "Waiting
    for you" is a step only while the ticket waits for the customer; otherwise it is left
    out when passed by (most requests never wait)."""
    current = step_of(status)
    at = STEPS.index(current)
    steps = []
    for index, key in enumerate(STEPS):
        if key == WAITING_FOR_YOU and current != WAITING_FOR_YOU:
            continue
        state = "done" if index < at else "current" if index == at else "todo"
        steps.append(Step(key, state))
    return steps


def next_step(status: str) -> str:
    """What comes next, as a key the templates word: ``answer`` (we will answer),
    ``your_reply`` (we wait for the customer), ``confirm`` (reply if it is not solved),
    ``closed`` (write a new request)."""
    if status == TicketStatus.PENDING:
        return "your_reply"
    if status == TicketStatus.SOLVED:
        return "confirm"
    if status == TicketStatus.CLOSED:
        return "closed"
    return "answer"


def response_due(
    status: str,
    first_response_due_at: datetime | None,
    next_response_due_at: datetime | None,
    first_responded_at: datetime | None,
) -> datetime | None:
    """When the customer may expect our next answer: the SLA's first-response target
    until the first answer, then the next-response target. None when we wait for the
    customer, when the request is solved, or when no SLA sets a target."""
    if status not in (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.ON_HOLD):
        return None
    if first_responded_at is None and first_response_due_at is not None:
        return first_response_due_at
    return next_response_due_at


def may_mark_solved(status: str) -> bool:
    return status in (
        TicketStatus.NEW,
        TicketStatus.OPEN,
        TicketStatus.PENDING,
        TicketStatus.ON_HOLD,
    )


def safe_portal_path(value: str | None, default: str = DEFAULT_AFTER_SIGN_IN) -> str:
    """A portal path to go to after signing in (``/help/...`` only): never another site,
    never the agent pages."""
    if not value or not value.startswith("/help") or value.startswith(("//", "/\\")):
        return default
    if any(ch in value for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in value):
        return default
    parts = urlsplit(value)
    if (
        parts.scheme
        or parts.netloc
        or not (parts.path == "/help" or parts.path.startswith("/help/"))
    ):
        return default
    if parts.path.startswith("/help/sign-in") or parts.path.startswith("/help/sign-out"):
        return default
    return value[:300]


def honeypot_tripped(value: str | None) -> bool:
    """The hidden field people never see (and so leave empty) was filled in."""
    return bool(value and value.strip())
