"""Who is told what, by email, when a ticket changes: an in-transaction event subscriber
(``events.subscribe_in_transaction``), so every notification is a job row written in the
same transaction as the change that caused it.

To the customer (their language; To: the requester, Cc: the ticket's followers):
- ``ticket_received`` when a customer's request arrives by email or the web (not a ticket
  an agent or an integration opened for them): the number, who handles it, when to expect
  an answer, a link to follow it;
- ``ticket_reply`` for each public reply of an agent (the reply itself, threaded);
- ``ticket_solved`` when the ticket is solved;
- ``ticket_escalated`` when it moves up a support line ("a specialist has taken over");
- ``ticket_delayed`` when its resolution target is about to be missed (the SLA warning),
  with a new estimate, if the policy sends delay notices.

To agents (their language): ``agent_assigned``, ``agent_customer_replied`` (the
assignee), ``agent_mentioned`` (``@name`` or ``@name@domain`` in an internal note: the
local part or the whole address of an active agent's email).

Never: anything about an internal note to a customer; anything automatic in answer to
automatic mail (``quiet`` events: auto-replies, bulk); anything to the person who made
the change; anything while ``session.info["opora.notify"]`` is False (the demo loader).
API-created tickets tell the customer nothing by themselves (integrations import history
through the API); chat, Telegram and VK answer through their own channel.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime, format_timedelta
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opora import events
from opora.auth.models import Group, User
from opora.channels.email import outbound
from opora.config import load_secret_key
from opora.contacts import repository as contacts_repository
from opora.contacts.models import Contact
from opora.kit.labels import label
from opora.kit.time import utcnow
from opora.notifications import templates
from opora.notifications.service import queue_email
from opora.sla import service as sla
from opora.sla.calendar import add_business_minutes
from opora.tickets import rules as ticket_rules
from opora.tickets.models import Channel, Message, Ticket, TicketFollower, TicketStatus, Visibility

log = logging.getLogger(__name__)

RECEIPT_CHANNELS = frozenset({Channel.EMAIL, Channel.WEB})
REPLY_CHANNELS = frozenset({Channel.EMAIL, Channel.WEB, Channel.AGENT, Channel.PHONE})
MENTION = re.compile(r"(?<![\w@])@([\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)")
AGENT_HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}


def mentioned_names(text: str) -> list[str]:
    """``@maria`` and ``@maria@acme.ru`` tokens of a note, lower-case, each once."""
    return list(dict.fromkeys(m.lower().rstrip(".") for m in MENTION.findall(text)))


async def notify(session: AsyncSession, event: events.DomainEvent) -> None:
    if session.info.get("opora.notify") is False:
        return
    handler = _HANDLERS.get(event.name)
    if handler is not None:
        await handler(session, event.payload)


def install() -> None:
    events.subscribe_in_transaction(notify)


# --- context -----------------------------------------------------------------------------


def _by_user(payload: dict[str, Any]) -> int | None:
    kind, _, ident = str(payload.get("by", "")).partition(":")
    return int(ident) if kind == "user" and ident.isdigit() else None


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def expected(
    due: datetime, now: datetime, *, language: str, timezone: str | None
) -> dict[str, str]:
    """ "within 12 hours", "by 6 December 2026, 21:30 (UTC+03:00)" in the reader's words."""
    lang = templates.language_of(language)
    within = format_timedelta(
        max(due - now, timedelta(minutes=1)), threshold=1.5, format="long", locale=lang
    )
    if lang == "ru":  # "12 часов" reads "в течение 12 часов"; Babel gives the nominative
        within = _ru_genitive(within)
    zone = _zone(timezone)
    by = format_datetime(due, "d MMMM y, HH:mm", tzinfo=zone, locale=lang)
    return {"within": within, "by": f"{by} ({zone.key})"}


_RU_GENITIVE = {"минута": "минуты", "секунда": "секунды", "неделя": "недели"}


def _ru_genitive(phrase: str) -> str:
    """ "1 минута" → "1 минуты" after «в течение»; plural forms already read right."""
    number, _, unit = phrase.partition(" ")
    return f"{number} {_RU_GENITIVE.get(unit, unit)}" if unit else phrase


async def _follower_emails(session: AsyncSession, ticket: Ticket) -> list[str]:
    stmt = select(TicketFollower.contact_id).where(
        TicketFollower.ticket_id == ticket.id, TicketFollower.contact_id.is_not(None)
    )
    emails = []
    for contact_id in (await session.execute(stmt)).scalars():
        if contact_id is not None and contact_id != ticket.requester_id:
            email = await contacts_repository.primary_email(session, contact_id)
            if email:
                emails.append(email)
    return emails


async def _handler_name(session: AsyncSession, ticket: Ticket, language: str) -> str:
    if ticket.assignee_id is not None:
        user = await session.get(User, ticket.assignee_id)
        if user is not None:
            return user.name
    if ticket.group_id is not None:
        group = await session.get(Group, ticket.group_id)
        if group is not None:
            return group.name
    return "служба поддержки" if templates.language_of(language) == "ru" else "our support team"


async def _company(session: AsyncSession, ticket: Ticket, language: str) -> str:
    mailbox = await outbound.mailbox_for_ticket(session, ticket.id)
    if mailbox is not None and mailbox.sender_name.strip():
        return mailbox.sender_name.strip()
    return "Служба поддержки" if templates.language_of(language) == "ru" else "Support"


def _ticket_context(ticket: Ticket, language: str, url: str) -> dict[str, Any]:
    lang = templates.language_of(language)
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "status_label": label(lang, "status", ticket.status),
        "priority": ticket.priority,
        "url": url,
    }


def _customer_url(session: AsyncSession, ticket: Ticket) -> str:
    settings = outbound.settings_of(session)
    token = ticket_rules.request_token(load_secret_key(settings), ticket.id, ticket.requester_id)
    return f"{settings.base_url.rstrip('/')}/requests/{ticket.id}/{token}"


def _agent_url(session: AsyncSession, ticket: Ticket) -> str:
    settings = outbound.settings_of(session)
    return f"{settings.base_url.rstrip('/')}/tickets/{ticket.id}"


async def _customer_context(
    session: AsyncSession, ticket: Ticket, requester: Contact, email: str
) -> dict[str, Any]:
    lang = requester.language
    return {
        "ticket": _ticket_context(ticket, lang, _customer_url(session, ticket)),
        "contact": {"name": requester.name, "email": email},
        "handler": await _handler_name(session, ticket, lang),
        "expected": None,
        "message": {"text": "", "author": ""},
        "agent": {"name": ""},
        "actor": {"name": ""},
        "company": await _company(session, ticket, lang),
    }


async def _send_customer(
    session: AsyncSession,
    ticket: Ticket,
    key: str,
    *,
    context_extra: dict[str, Any],
    message_id: int | None = None,
    with_followers: bool = True,
    automatic: bool = True,
) -> None:
    requester = await session.get(Contact, ticket.requester_id)
    if requester is None:
        return
    email = await contacts_repository.primary_email(session, requester.id)
    if not email:
        return  # a Telegram or phone customer without an address: nothing to email
    context = await _customer_context(session, ticket, requester, email)
    context.update(context_extra)
    rendered = await templates.render(session, key, language=requester.language, context=context)
    subject = rendered.subject
    if f"[#{ticket.number}]" not in subject:
        subject = f"{subject} [#{ticket.number}]"
    await outbound.queue_ticket_email(
        session,
        outbound.OutgoingEmail(
            ticket_id=ticket.id,
            to=[email],
            cc=await _follower_emails(session, ticket) if with_followers else [],
            subject=subject,
            text=rendered.text,
            message_id=message_id,
            automatic=automatic,
            kind=key,
        ),
    )


async def _send_agent(
    session: AsyncSession, user: User, ticket: Ticket, key: str, extra: dict[str, Any]
) -> None:
    if not user.is_active or not user.email:
        return
    requester = await session.get(Contact, ticket.requester_id)
    context: dict[str, Any] = {
        "ticket": _ticket_context(ticket, user.language, _agent_url(session, ticket)),
        "contact": {
            "name": requester.name if requester else "",
            "email": (await contacts_repository.primary_email(session, ticket.requester_id)) or "",
        },
        "handler": await _handler_name(session, ticket, user.language),
        "expected": None,
        "message": {"text": "", "author": ""},
        "agent": {"name": user.name},
        "actor": {"name": ""},
        "company": "",
    }
    context.update(extra)
    rendered = await templates.render(session, key, language=user.language, context=context)
    await queue_email(
        session, to=user.email, subject=rendered.subject, text=rendered.text,
        headers=AGENT_HEADERS,
    )  # fmt: skip


async def _actor_name(session: AsyncSession, payload: dict[str, Any]) -> str:
    user_id = _by_user(payload)
    if user_id is not None:
        user = await session.get(User, user_id)
        if user is not None:
            return user.name
    return "Opora"


# --- the events --------------------------------------------------------------------------


async def _ticket_created(session: AsyncSession, payload: dict[str, Any]) -> None:
    ticket = await session.get(Ticket, payload["ticket_id"])
    if ticket is None:
        return
    if ticket.assignee_id is not None and ticket.assignee_id != _by_user(payload):
        user = await session.get(User, ticket.assignee_id)
        if user is not None:
            await _send_agent(session, user, ticket, "agent_assigned",
                              {"actor": {"name": await _actor_name(session, payload)}})  # fmt: skip
    # a receipt answers the customer's own request: not a ticket an agent or an
    # integration opened for them (they know; an import must not write to everyone)
    by_customer = str(payload.get("by", "")).startswith("contact:")
    if payload.get("quiet") or not by_customer or ticket.channel not in RECEIPT_CHANNELS:
        return
    mailbox = await outbound.mailbox_for_ticket(session, ticket.id)
    if mailbox is not None and not mailbox.send_receipt:
        return
    requester = await session.get(Contact, ticket.requester_id)
    language = requester.language if requester else "en"
    now = utcnow()
    due = ticket.first_response_due_at or now + timedelta(
        minutes=mailbox.response_promise_minutes if mailbox else 720
    )
    await _send_customer(
        session, ticket, "ticket_received", with_followers=False,
        context_extra={
            "expected": expected(due, now, language=language,
                                 timezone=requester.timezone if requester else None),
        },
    )  # fmt: skip


async def _message_created(session: AsyncSession, payload: dict[str, Any]) -> None:
    message = await session.get(Message, payload["message_id"])
    ticket = await session.get(Ticket, payload["ticket_id"])
    if message is None or ticket is None:
        return
    author_id = _by_user(payload)
    if message.visibility == Visibility.INTERNAL:
        await _mentions(session, ticket, message, author_id, payload)
        return
    if message.author_kind == "user" and author_id is not None:
        if payload.get("quiet") or ticket.channel not in REPLY_CHANNELS:
            return
        author = await session.get(User, author_id)
        await _send_customer(
            session, ticket, "ticket_reply", message_id=message.id, automatic=False,
            context_extra={
                "message": {"text": message.body_text, "author": author.name if author else ""}
            },
        )  # fmt: skip
        return
    if message.author_kind == "contact" and not payload.get("quiet"):
        if ticket.assignee_id is None:
            return
        user = await session.get(User, ticket.assignee_id)
        if user is not None:
            await _send_agent(session, user, ticket, "agent_customer_replied",
                              {"message": {"text": message.body_text, "author": ""}})  # fmt: skip


async def _mentions(
    session: AsyncSession,
    ticket: Ticket,
    message: Message,
    author_id: int | None,
    payload: dict[str, Any],
) -> None:
    names = mentioned_names(message.body_text)
    if not names:
        return
    users = (await session.execute(select(User).where(User.is_active.is_(True)))).scalars()
    chosen: dict[int, User] = {}
    for user in users:
        email = user.email.lower()
        if email in names or email.partition("@")[0] in names:
            chosen[user.id] = user
    actor = await _actor_name(session, payload)
    for user in chosen.values():
        if user.id == author_id:
            continue
        await _send_agent(
            session, user, ticket, "agent_mentioned",
            {"actor": {"name": actor}, "message": {"text": message.body_text, "author": actor}},
        )  # fmt: skip


async def _ticket_updated(session: AsyncSession, payload: dict[str, Any]) -> None:
    changes: dict[str, list[Any]] = payload.get("changes") or {}
    ticket = await session.get(Ticket, payload["ticket_id"])
    if ticket is None:
        return
    by = _by_user(payload)
    assignee = changes.get("assignee_id")
    if assignee and assignee[1] is not None and assignee[1] != by:
        user = await session.get(User, assignee[1])
        if user is not None:
            await _send_agent(session, user, ticket, "agent_assigned",
                              {"actor": {"name": await _actor_name(session, payload)}})  # fmt: skip
    status = changes.get("status")
    # a customer who marked it solved themselves (the portal) is not told so by email
    by_requester = payload.get("by") == f"contact:{ticket.requester_id}"
    if (
        status
        and status[1] == TicketStatus.SOLVED
        and ticket.channel in REPLY_CHANNELS
        and not by_requester
    ):
        await _send_customer(session, ticket, "ticket_solved", context_extra={})


async def _ticket_escalated(session: AsyncSession, payload: dict[str, Any]) -> None:
    """The customer is told that a specialist has taken over (a move up a line)."""
    ticket = await session.get(Ticket, payload["ticket_id"])
    if ticket is None or ticket.channel not in REPLY_CHANNELS:
        return
    if (payload.get("to_line") or 0) <= (payload.get("from_line") or 0):
        return  # back down a line: nothing to tell
    await _send_customer(session, ticket, "ticket_escalated", context_extra={})


async def _sla_warning(session: AsyncSession, payload: dict[str, Any]) -> None:
    """A resolution about to be missed: the customer gets a delay notice with a new
    estimate (the due time plus half the policy's resolution time, in its business
    hours)."""
    if payload.get("target") != "resolution":
        return
    ticket = await session.get(Ticket, payload["ticket_id"])
    if ticket is None or ticket.channel not in REPLY_CHANNELS:
        return
    policy = await sla.policy_by_id(session, (ticket.sla_state or {}).get("policy_id"))
    if policy is None or not policy.delay_notice:
        return
    minutes = policy.targets.get(ticket.priority, {}).get("resolution")
    due = ticket.resolution_due_at
    if minutes is None or due is None:
        return
    estimate = add_business_minutes(due, max(minutes // 2, 1), policy.calendar)
    requester = await session.get(Contact, ticket.requester_id)
    language = requester.language if requester else "en"
    await _send_customer(
        session, ticket, "ticket_delayed", context_extra={
            "expected": expected(estimate, utcnow(), language=language,
                                 timezone=requester.timezone if requester else None),
        },
    )  # fmt: skip


_HANDLERS = {
    "ticket.created": _ticket_created,
    "message.created": _message_created,
    "ticket.updated": _ticket_updated,
    "ticket.escalated": _ticket_escalated,
    "sla.warning": _sla_warning,
}
