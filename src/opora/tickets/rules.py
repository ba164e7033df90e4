"""Pure decisions about tickets: status transitions and support lines. No I/O."""

from __future__ import annotations

import hashlib
import hmac

from opora.tickets.models import TicketStatus

_ALLOWED: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset(
        {TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD, TicketStatus.SOLVED,
         TicketStatus.CLOSED}
    ),
    TicketStatus.OPEN: frozenset(
        {TicketStatus.PENDING, TicketStatus.ON_HOLD, TicketStatus.SOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.PENDING: frozenset(
        {TicketStatus.OPEN, TicketStatus.ON_HOLD, TicketStatus.SOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.ON_HOLD: frozenset(
        {TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.SOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.SOLVED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}  # fmt: skip

MAX_LINE = 4  # 1, 2, 3 and the external vendor


def can_transition(old: str, new: str) -> bool:
    """Whether an agent may move a ticket from ``old`` to ``new`` (same status is a no-op)."""
    if old == new:
        return True
    return TicketStatus(new) in _ALLOWED[TicketStatus(old)]


def plain_reply(
    *, status: str, merged_into_id: int | None, requester_id: int, contact_id: int | None
) -> bool:
    """Whether a customer's reply simply lands on this ticket: it is the requester's, and
    the ticket is neither closed nor merged (those open a follow-up or move the reply)."""
    return contact_id == requester_id and merged_into_id is None and not is_final(status)


def status_after_customer_message(status: str) -> str:
    """A customer's message reopens solved and pending tickets; on-hold stays on hold."""
    if status in (TicketStatus.SOLVED, TicketStatus.PENDING):
        return TicketStatus.OPEN
    return status


def status_after_agent_reply(status: str) -> str:
    """The first public answer moves a new ticket to open."""
    return TicketStatus.OPEN if status == TicketStatus.NEW else status


def next_line(line: int) -> int | None:
    return line + 1 if line < MAX_LINE else None


def is_final(status: str) -> bool:
    return status == TicketStatus.CLOSED


def request_token(secret: str, ticket_id: int, requester_id: int) -> str:
    """The signature in a customer's link to their request (``/requests/{id}/{token}``):
    only someone who got the link by email can open it, and it stops working when the
    ticket gets another requester."""
    mac = hmac.new(
        secret.encode(), f"opora-request:{ticket_id}:{requester_id}".encode(), hashlib.sha256
    )
    return mac.hexdigest()[:24]
