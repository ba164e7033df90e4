"""Queries of the email channel: mailboxes, inbound records, Message-ID references."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.models import User
from opora.channels.email.models import Direction, EmailReference, InboundEmail, Mailbox
from opora.tickets.models import Message, Ticket, TicketFollower

_MAILBOXES = "opora.email.mailboxes"  # session.info: every mailbox, read once per transaction
_TICKET_MAILBOX = "opora.email.ticket_mailbox"  # session.info: ticket id -> mailbox id


def forget_mailboxes(session: AsyncSession) -> None:
    """After a mailbox changed in this transaction: read them again."""
    session.info.pop(_MAILBOXES, None)


async def mailboxes(session: AsyncSession, *, active_only: bool = False) -> list[Mailbox]:
    """Every mailbox by id (there are a handful; an email's intake asks several times, so
    the list is read once per transaction)."""
    found: list[Mailbox] | None = session.info.get(_MAILBOXES)
    if found is None:
        found = list((await session.execute(select(Mailbox).order_by(Mailbox.id))).scalars())
        session.info[_MAILBOXES] = found
    return [m for m in found if m.is_active] if active_only else list(found)


async def mailbox_by_name(session: AsyncSession, name: str) -> Mailbox | None:
    stmt = select(Mailbox).where(func.lower(Mailbox.name) == name.strip().lower())
    return (await session.execute(stmt)).scalar_one_or_none()


async def mailboxes_by_address(session: AsyncSession, addresses: Sequence[str]) -> list[Mailbox]:
    wanted = set(addresses)
    return [m for m in await mailboxes(session) if m.address in wanted]


async def mailboxes_due(session: AsyncSession, now: datetime) -> list[Mailbox]:
    """Active IMAP mailboxes whose next poll is due (or never planned)."""
    stmt = (
        select(Mailbox)
        .where(
            Mailbox.imap_enabled.is_(True),
            Mailbox.is_active.is_(True),
            (Mailbox.next_poll_at.is_(None)) | (Mailbox.next_poll_at <= now),
        )
        .order_by(Mailbox.id)
    )
    return list((await session.execute(stmt)).scalars())


async def inbound_by_key(session: AsyncSession, key: str) -> InboundEmail | None:
    stmt = select(InboundEmail).where(InboundEmail.message_key == key)
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_from_sender(session: AsyncSession, sender: str, since: datetime) -> int:
    stmt = select(func.count()).where(
        InboundEmail.sender == sender, InboundEmail.received_at >= since
    )
    return int((await session.execute(stmt)).scalar_one())


async def references(session: AsyncSession, keys: Sequence[str]) -> list[EmailReference]:
    """The references among ``keys``, in the order of ``keys``."""
    if not keys:
        return []
    stmt = select(EmailReference).where(EmailReference.message_key.in_(list(keys)))
    found = {r.message_key: r for r in (await session.execute(stmt)).scalars()}
    return [found[k] for k in keys if k in found]


async def reference(session: AsyncSession, key: str) -> EmailReference | None:
    stmt = select(EmailReference).where(EmailReference.message_key == key)
    return (await session.execute(stmt)).scalar_one_or_none()


async def thread_keys(session: AsyncSession, ticket_id: int, *, limit: int = 20) -> list[str]:
    """The ticket's Message-IDs, oldest first (the last ``limit``): our ``References``."""
    stmt = (
        select(EmailReference.message_key)
        .where(EmailReference.ticket_id == ticket_id)
        .order_by(EmailReference.id.desc())
        .limit(limit)
    )
    return list(reversed(list((await session.execute(stmt)).scalars())))


async def last_inbound_key(session: AsyncSession, ticket_id: int) -> str | None:
    stmt = (
        select(EmailReference.message_key)
        .where(EmailReference.ticket_id == ticket_id, EmailReference.direction == Direction.IN)
        .order_by(EmailReference.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def ticket_by_number(session: AsyncSession, number: int) -> Ticket | None:
    return (
        await session.execute(select(Ticket).where(Ticket.number == number))
    ).scalar_one_or_none()


async def follower_contact_ids(session: AsyncSession, ticket_id: int) -> set[int]:
    stmt = select(TicketFollower.contact_id).where(
        TicketFollower.ticket_id == ticket_id, TicketFollower.contact_id.is_not(None)
    )
    return {int(c) for c in (await session.execute(stmt)).scalars() if c is not None}


async def active_user_by_email(session: AsyncSession, email: str) -> User | None:
    stmt = select(User).where(func.lower(User.email) == email.lower(), User.is_active.is_(True))
    return (await session.execute(stmt)).scalar_one_or_none()


def remember_ticket_mailbox(session: AsyncSession, ticket_id: int, mailbox_id: int) -> None:
    session.info.setdefault(_TICKET_MAILBOX, {})[ticket_id] = mailbox_id


async def mailbox_of_ticket(session: AsyncSession, ticket_id: int) -> int | None:
    """The mailbox the ticket's latest email came in through."""
    known: dict[int, int] = session.info.get(_TICKET_MAILBOX, {})
    if ticket_id in known:
        return known[ticket_id]
    stmt = (
        select(InboundEmail.mailbox_id)
        .where(InboundEmail.ticket_id == ticket_id, InboundEmail.mailbox_id.is_not(None))
        .order_by(InboundEmail.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def inbound_of_message(session: AsyncSession, message_id: int) -> InboundEmail | None:
    stmt = select(InboundEmail).where(InboundEmail.message_id == message_id).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def message_by_id(session: AsyncSession, message_id: int) -> Message | None:
    return await session.get(Message, message_id)


# --- many messages at once (ingest_many) -----------------------------------------------------


async def inbound_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of these Message-IDs have been taken in already."""
    if not keys:
        return set()
    stmt = select(InboundEmail.message_key).where(InboundEmail.message_key.in_(set(keys)))
    return set((await session.execute(stmt)).scalars())


async def reference_tickets(session: AsyncSession, keys: Sequence[str]) -> dict[str, int]:
    """Which of these Message-IDs belong to a ticket's thread: key -> ticket id."""
    if not keys:
        return {}
    stmt = select(EmailReference.message_key, EmailReference.ticket_id).where(
        EmailReference.message_key.in_(set(keys))
    )
    return {key: ticket_id for key, ticket_id in await session.execute(stmt)}


async def tickets_by_id(session: AsyncSession, ids: Sequence[int]) -> dict[int, Ticket]:
    if not ids:
        return {}
    stmt = select(Ticket).where(Ticket.id.in_(set(ids)))
    return {t.id: t for t in (await session.execute(stmt)).scalars()}


async def active_user_emails(session: AsyncSession, emails: Sequence[str]) -> set[str]:
    """Which of these addresses (lower-case) are active agents'."""
    if not emails:
        return set()
    address = func.lower(User.email)
    stmt = select(address).where(address.in_({e.lower() for e in emails}), User.is_active.is_(True))
    return set((await session.execute(stmt)).scalars())


async def counts_from_senders(
    session: AsyncSession, senders: Sequence[str], since: datetime
) -> dict[str, int]:
    """Messages from each of these addresses received since ``since``."""
    if not senders:
        return {}
    stmt = (
        select(InboundEmail.sender, func.count())
        .where(InboundEmail.sender.in_(set(senders)), InboundEmail.received_at >= since)
        .group_by(InboundEmail.sender)
    )
    return {sender: int(n) for sender, n in await session.execute(stmt)}
