"""Email use cases: take a message in (from any route), and mailboxes.

``ingest_email`` takes one message in (the pipe, the API); ``ingest_batch`` many in one
transaction (an IMAP poll, the SMTP receiver's deliveries arriving together, through
``intake.ingest_many``), writing the usual ones together and the others through
``ingest_email``'s own steps, to the same outcome. For each message, in one transaction:

1. records the message (``InboundEmail``) under its Message-ID; the same Message-ID is
   never ingested twice (a second delivery answers with what became of the first), and
   the raw bytes are kept under the data directory, so nothing accepted is lost, whatever
   becomes of it;
2. sorts out what must not become a ticket: mail without a sender, mail from one of our
   own mailboxes or carrying one of our own Message-IDs (a loop), delivery reports
   (bounces: the message they are about is marked bounced), and a sender over the rate
   limit (a loop with another robot);
3. threads it (``threading``): onto the ticket it answers, or a new ticket in the
   mailbox's group; the text shown is the new part (quoted history and signature cut),
   attachments and inline images are kept, CC'd addresses follow the ticket;
4. marks automatic mail (auto-replies, bulk, lists) ``quiet``: it never triggers an
   automatic notification and never reopens a ticket.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from opora import events, jobs
from opora.auth import service as auth_service
from opora.auth.actor import Actor, require_admin
from opora.auth.models import Group
from opora.channels.email import imap, repository, threading
from opora.channels.email.imap import MailboxCheck
from opora.channels.email.models import (
    Direction,
    EmailReference,
    InboundEmail,
    InboundStatus,
    Mailbox,
    Route,
)
from opora.channels.email.parsing import AutoKind, EmailParseError, ParsedEmail, parse_email
from opora.channels.email.quotes import extract_reply, strip_html_reply
from opora.channels.email.schemas import MailboxCreate, MailboxUpdate
from opora.config import Settings, load_secret_key
from opora.contacts import repository as contacts_repository
from opora.contacts import service as contacts
from opora.contacts.models import Contact, IdentityKind
from opora.errors import Conflict, InvalidInput, NotFound, OporaError
from opora.kit.blobs import BlobBatch, BlobStore
from opora.kit.html import sanitize_html
from opora.kit.text import normalize_email, sanitize_filename
from opora.kit.time import utcnow
from opora.tickets import rules as ticket_rules
from opora.tickets import service as tickets
from opora.tickets.models import (
    Attachment,
    Channel,
    DeliveryState,
    Message,
    Ticket,
    TicketFollower,
    Visibility,
)
from opora.tickets.schemas import MessageCreate

MAX_FOLLOWERS_PER_MESSAGE = 20
QUIET_KINDS = frozenset(
    {AutoKind.AUTO_REPLIED, AutoKind.AUTO_GENERATED, AutoKind.BULK, AutoKind.LIST}
)


class MailboxNotFound(NotFound):
    code = "mailbox_not_found"


class NoMailbox(InvalidInput):
    code = "no_mailbox"


@dataclass(frozen=True, slots=True)
class SenderLimit:
    """At most ``count`` messages from one address within ``window``; more are refused
    (kept, never made tickets): the brake on a loop with another robot."""

    count: int = 20
    window: timedelta = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class IngestOptions:
    store: BlobStore
    secret: str
    limit: SenderLimit = SenderLimit()


def ingest_options(settings: Settings) -> IngestOptions:
    """What ingesting needs from the settings (every route builds it the same way)."""
    return IngestOptions(
        store=BlobStore(settings.attachments_dir),
        secret=load_secret_key(settings),
        limit=SenderLimit(
            count=settings.email_sender_limit,
            window=timedelta(seconds=settings.email_sender_window_seconds),
        ),
    )


@dataclass(frozen=True, slots=True)
class IngestResult:
    status: InboundStatus
    inbound_id: int
    reason: str = ""
    ticket_id: int | None = None
    ticket_number: int | None = None
    message_id: int | None = None
    duplicate: bool = False

    @property
    def accepted(self) -> bool:
        """It became (part of) a ticket, or told us about a bounce."""
        return self.status in (
            InboundStatus.TICKET_CREATED,
            InboundStatus.MESSAGE_ADDED,
            InboundStatus.BOUNCE,
        )


def _message_key(parsed: ParsedEmail, raw: bytes) -> str:
    if parsed.message_id:
        return parsed.message_id[:998]
    return f"sha256.{hashlib.sha256(raw).hexdigest()}@opora.invalid"


async def _result_of(
    session: AsyncSession, record: InboundEmail, *, duplicate: bool
) -> IngestResult:
    number = None
    if record.ticket_id is not None:
        ticket = await session.get(Ticket, record.ticket_id)
        number = ticket.number if ticket else None
    return IngestResult(
        status=InboundStatus(record.status), inbound_id=record.id, reason=record.reason,
        ticket_id=record.ticket_id, ticket_number=number, message_id=record.message_id,
        duplicate=duplicate,
    )  # fmt: skip


async def _choose_mailbox(
    session: AsyncSession,
    *,
    parsed: ParsedEmail,
    recipients: Sequence[str],
    mailbox_id: int | None,
    mailbox_name: str | None,
    secret: str,
) -> tuple[Mailbox, int | None]:
    """The mailbox the message came to, and a ticket number from a reply address."""
    addresses = [
        *recipients,
        *parsed.delivered_to,
        *(a.email for a in parsed.to),
        *(a.email for a in parsed.cc),
    ]
    number = None
    for address in addresses:
        found = threading.ticket_number_of_address(address, secret)
        if found is not None:
            number = found[1]
            break
    if mailbox_id is not None:
        mailbox = await session.get(Mailbox, mailbox_id)
        if mailbox is None:
            raise MailboxNotFound(f"mailbox {mailbox_id} not found", field="mailbox")
        return mailbox, number
    if mailbox_name is not None:
        mailbox = await repository.mailbox_by_name(session, mailbox_name)
        if mailbox is None:
            raise MailboxNotFound(f"no mailbox is named {mailbox_name!r}", field="mailbox")
        return mailbox, number
    bases = [threading.base_address(a) for a in addresses]
    matching = {m.address: m for m in await repository.mailboxes_by_address(session, bases)}
    for base in bases:
        if base in matching:
            return matching[base], number
    active = await repository.mailboxes(session, active_only=True)
    if len(active) == 1:
        return active[0], number
    if not active:
        raise NoMailbox("no mailbox is set up; add one in Admin → Mailboxes", field="mailbox")
    raise NoMailbox(
        "no mailbox has the address this message was sent to ("
        + (", ".join(dict.fromkeys(bases)) or "no recipients")
        + "); name one with --mailbox",
        field="mailbox",
    )


def read_message(raw: bytes) -> tuple[ParsedEmail, str]:
    """The parsed message and its key (no database); ``InvalidInput`` for what is not a
    message at all."""
    if not raw.strip():
        raise InvalidInput("the message is empty", field="message")
    try:
        parsed = parse_email(raw)
    except EmailParseError as exc:
        raise InvalidInput(f"not an email message: {exc}", field="message") from exc
    return parsed, _message_key(parsed, raw)


async def ingest_email(
    session: AsyncSession,
    *,
    raw: bytes,
    route: Route,
    options: IngestOptions,
    mailbox_id: int | None = None,
    mailbox_name: str | None = None,
    recipients: Sequence[str] = (),
) -> IngestResult:
    """Take one raw message in (see the module docstring). Raises ``InvalidInput`` for
    something that is not a message at all and ``NoMailbox`` / ``MailboxNotFound`` when
    it cannot be placed; both change nothing."""
    parsed, key = read_message(raw)
    return await _ingest_parsed(
        session, raw=raw, parsed=parsed, key=key, route=route, options=options,
        mailbox_id=mailbox_id, mailbox_name=mailbox_name, recipients=recipients,
    )  # fmt: skip


async def _ingest_parsed(
    session: AsyncSession,
    *,
    raw: bytes,
    parsed: ParsedEmail,
    key: str,
    route: Route,
    options: IngestOptions,
    mailbox_id: int | None = None,
    mailbox_name: str | None = None,
    recipients: Sequence[str] = (),
) -> IngestResult:
    existing = await repository.inbound_by_key(session, key)
    if existing is not None:
        return await _result_of(session, existing, duplicate=True)
    mailbox, addressed_number = await _choose_mailbox(
        session, parsed=parsed, recipients=recipients, mailbox_id=mailbox_id,
        mailbox_name=mailbox_name, secret=options.secret,
    )  # fmt: skip
    record = _record(parsed, raw, key, mailbox, route, options.store)
    try:
        async with session.begin_nested():
            session.add(record)
    except IntegrityError:  # the same message, ingested at this moment by another process
        existing = await repository.inbound_by_key(session, key)
        assert existing is not None
        return await _result_of(session, existing, duplicate=True)
    status, reason = await _screen(session, parsed, record, key, options)
    if status is None:
        status, reason = await _deliver(
            session, parsed=parsed, record=record, key=key, mailbox=mailbox,
            addressed_number=addressed_number, options=options,
        )  # fmt: skip
    record.status = status
    record.reason = reason
    await session.flush()
    return await _result_of(session, record, duplicate=False)


def _record(
    parsed: ParsedEmail,
    raw: bytes,
    key: str,
    mailbox: Mailbox,
    route: Route,
    store: BlobStore | BlobBatch,
) -> InboundEmail:
    """The record of an incoming message (refused until it is placed), its bytes stored."""
    sender = parsed.sender.email.lower() if parsed.sender else ""
    return InboundEmail(
        message_key=key,
        mailbox_id=mailbox.id,
        route=route.value,
        raw_sha256=store.put(raw),
        size=len(raw),
        sender=sender[:320],
        subject=parsed.subject[:500],
        status=InboundStatus.REFUSED,
        reason="",
        auto=parsed.auto.value if parsed.auto else None,
        received_at=utcnow(),
    )


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message read for ``ingest_batch``: its place in the batch, bytes, envelope
    recipients, and what ``read_message`` made of it."""

    index: int
    raw: bytes
    parsed: ParsedEmail
    key: str
    recipients: tuple[str, ...] = ()


async def ingest_batch(
    session: AsyncSession,
    items: Sequence[Incoming],
    *,
    route: Route,
    options: IngestOptions,
    mailbox_id: int | None = None,
    blobs: BlobBatch | None = None,
) -> list[tuple[int, IngestResult | OporaError]]:
    """Take many messages in within the caller's transaction: each index with its result,
    or with the error that refused it (nothing written for that one).

    The usual cases, a new request and a requester's reply threaded by its references to
    their open ticket, are written for all such messages at once: a handful of
    statements for the batch (records, contacts, tickets, messages, timeline rows,
    search documents, references), not two dozen a message. Every other message (a
    bounce, a loop, a duplicate, CC'd people, a number in the subject, a reply to a
    closed ticket or from someone else, a sender over the rate limit, no mailbox, two
    messages for one ticket) goes through ``ingest_email``'s own steps afterwards, one at
    a time in the batch's order, each in a savepoint. The messages written together
    touch no ticket that another message of the batch may touch, so writing them first
    changes no outcome, and a reply to a new request of the batch finds its ticket.

    ``blobs``: where the files of the messages written together go (the caller waits for
    them before committing); by default each is stored and flushed at once."""
    plan = await _plan_batch(session, items, options=options, mailbox_id=mailbox_id)
    results = await _write_together(
        session, plan, route=route, options=options, blobs=blobs or options.store
    )
    for item in plan.rest:
        position = events.mark(session)
        try:
            async with session.begin_nested():
                result: IngestResult | OporaError = await _ingest_parsed(
                    session, raw=item.raw, parsed=item.parsed, key=item.key, route=route,
                    options=options, mailbox_id=mailbox_id, recipients=item.recipients,
                )  # fmt: skip
        except OporaError as exc:
            events.forget_since(session, position)
            result = exc
        results.append((item.index, result))
    return results


@dataclass(slots=True)
class _Plan:
    """How a batch goes in: new requests and replies written together, the rest one by one."""

    new: list[tuple[Incoming, Mailbox]]
    replies: list[tuple[Incoming, Mailbox, Ticket]]
    rest: list[Incoming]


async def _plan_batch(
    session: AsyncSession,
    items: Sequence[Incoming],
    *,
    options: IngestOptions,
    mailbox_id: int | None,
) -> _Plan:
    """Sort the batch (see ``ingest_batch``); what that needs read in a few queries.

    A message is written together with others only when taking the batch in one by one
    would come to the same: it is new (its Message-ID unseen), placed (a mailbox), not
    screened out (a sender, not ours, not a bounce, under the rate limit), without Cc,
    and either names no ticket at all (a new request) or is its requester's reply to an
    open ticket no other message of the batch names (by reference, merge or number).
    Once a sender has a message that goes one by one, so do their later ones (their
    contact, rate count and tickets then follow the batch's order), and a message that an
    earlier one refers to goes one by one too."""
    keys = [item.key for item in items]
    taken = await repository.inbound_keys(session, keys)
    thread = {item.index: _thread_keys(item) for item in items}
    refs = await repository.reference_tickets(session, [k for ks in thread.values() for k in ks])
    tickets_found = await repository.tickets_by_id(session, list(refs.values()))
    senders = {item.index: normalize_email(item.parsed.sender.email) for item in items
               if item.parsed.sender}  # fmt: skip
    counts = await repository.counts_from_senders(
        session, list(senders.values()), utcnow() - options.limit.window
    )
    owners = await contacts_repository.contact_ids_by_emails(session, list(senders.values()))
    agents = await repository.active_user_emails(session, list(senders.values()))
    ours = {m.address for m in await repository.mailboxes(session)}
    in_batch = set(keys)

    # what each message may land on: the ticket its references name, numbers it carries
    placed: dict[int, tuple[Mailbox | None, Ticket | None, set[int]]] = {}
    touched: dict[int, int] = {}  # ticket id -> how many messages may land on it
    numbers: set[int] = set()  # ticket numbers some message carries
    for item in items:
        try:
            mailbox, addressed = await _choose_mailbox(
                session, parsed=item.parsed, recipients=item.recipients, mailbox_id=mailbox_id,
                mailbox_name=None, secret=options.secret,
            )  # fmt: skip
        except OporaError:
            mailbox, addressed = None, None  # refused on its own, with the reason
        named = [tickets_found[refs[k]] for k in thread[item.index]
                 if k in refs and refs[k] in tickets_found]  # fmt: skip
        carried = {n for n in (addressed, threading.subject_ticket_number(item.parsed.subject))
                   if n is not None}  # fmt: skip
        placed[item.index] = (mailbox, named[0] if named else None, carried)
        for ticket_id in {t.id for t in named} | {t.merged_into_id for t in named
                                                  if t.merged_into_id}:  # fmt: skip
            touched[ticket_id] = touched.get(ticket_id, 0) + 1
        numbers |= carried

    plan = _Plan(new=[], replies=[], rest=[])
    seen: set[str] = set()  # keys of the messages so far
    referred: set[str] = set()  # what the messages so far refer to
    slow: set[str] = set()  # senders with a message going one by one
    for item in items:
        parsed, key = item.parsed, item.key
        mailbox, ticket, carried = placed[item.index]
        sender = senders.get(item.index)
        usual = (
            key not in seen
            and key not in taken
            and key not in referred
            and mailbox is not None
            and parsed.sender is not None
            and sender is not None
            and sender not in slow
            and threading.base_address(parsed.sender.email) not in ours
            and not key.startswith("opora.")
            and parsed.auto != AutoKind.BOUNCE
            and not parsed.cc
            and not any(k in in_batch for k in thread[item.index])
        )
        seen.add(key)
        referred.update(thread[item.index])
        new = usual and ticket is None and not carried
        reply = (
            usual
            and ticket is not None
            and touched.get(ticket.id) == 1
            and ticket.number not in numbers
            and ticket_rules.plain_reply(
                status=ticket.status,
                merged_into_id=ticket.merged_into_id,
                requester_id=ticket.requester_id,
                contact_id=owners.get(sender or ""),
            )
            and sender not in agents
        )
        if (new or reply) and parsed.sender is not None:  # under the rate limit
            counted = parsed.sender.email.lower()[:320]  # as the record keeps it
            counts[counted] = counts.get(counted, 0) + 1
            if counts[counted] - 1 >= options.limit.count:
                new = reply = False
        if new and mailbox is not None:
            plan.new.append((item, mailbox))
        elif reply and mailbox is not None and ticket is not None:
            plan.replies.append((item, mailbox, ticket))
        else:
            plan.rest.append(item)
            if sender is not None:
                slow.add(sender)
    return plan


def _thread_keys(item: Incoming) -> list[str]:
    """The Message-IDs a message refers to (a delivery report: also the one it is about)."""
    parsed = item.parsed
    about = [parsed.bounce.original_message_id] if parsed.bounce and (
        parsed.bounce.original_message_id) else []  # fmt: skip
    found = threading.reference_keys([*about, *parsed.in_reply_to], parsed.references)
    return [k for k in found if k != item.key]


async def _write_together(
    session: AsyncSession,
    plan: _Plan,
    *,
    route: Route,
    options: IngestOptions,
    blobs: BlobStore | BlobBatch,
) -> list[tuple[int, IngestResult | OporaError]]:
    """The plan's new requests (a ticket each) and replies, written together."""
    together = [*plan.new, *((item, mailbox) for item, mailbox, _ in plan.replies)]
    if not together:
        return []
    records = [
        _record(item.parsed, item.raw, item.key, mailbox, route, blobs)
        for item, mailbox in together
    ]
    session.add_all(records)
    await session.flush()
    people = []
    for item, _ in together:
        assert item.parsed.sender is not None
        language = threading.guess_language(item.parsed.subject, item.parsed.text)
        people.append((item.parsed.sender.email, item.parsed.sender.name.strip(), language))
    found = await contacts.find_or_create_by_emails(session, people)
    uploads = [
        _attachments(item.parsed, contact, blobs)
        for (item, _), contact in zip(together, found, strict=True)
    ]
    if any(uploads):
        session.add_all(a for per_message in uploads for a in per_message)
    await session.flush()
    await contacts_repository.remember_primary_emails(session, [c.id for c in found])
    messages = []
    for (item, mailbox), record, attachments in zip(together, records, uploads, strict=True):
        body, html, extra = _shown(item.parsed, record, mailbox)
        message = tickets.ChannelMessage(
            channel=Channel.EMAIL, body=body, html=html, external_id=item.key,
            attachment_ids=tuple(a.id for a in attachments), extra=extra,
            quiet=item.parsed.auto in QUIET_KINDS,
        )  # fmt: skip
        messages.append(message)
    count = len(plan.new)
    requests = [
        tickets.ChannelRequest(
            requester=contact,
            subject=item.parsed.subject,
            message=message,
            group_id=mailbox.group_id,
            priority=mailbox.default_priority,
        )
        for (item, mailbox), contact, message in zip(
            plan.new, found[:count], messages[:count], strict=True
        )
    ]
    opened = await tickets.open_tickets_from_channel(session, requests)
    answered = await tickets.add_channel_messages(
        session,
        [
            tickets.ChannelReply(contact=contact, ticket_id=ticket.id, message=message)
            for (_, _, ticket), contact, message in zip(
                plan.replies, found[count:], messages[count:], strict=True
            )
        ],
    )
    results: list[tuple[int, IngestResult | OporaError]] = []
    for position, ((item, mailbox), record, added) in enumerate(
        zip(together, records, [*opened, *answered], strict=True)
    ):
        if position < count:
            status, reason = InboundStatus.TICKET_CREATED, "a new request"
        else:
            status, reason = InboundStatus.MESSAGE_ADDED, "threaded by references"
        if item.parsed.auto in QUIET_KINDS:
            reason += f"; automatic ({item.parsed.auto_reason}): no notifications"
        record.ticket_id, record.message_id = added.ticket.id, added.message.id
        record.status, record.reason = status, reason
        repository.remember_ticket_mailbox(session, added.ticket.id, mailbox.id)
        _remember_new(session, item.key, added.ticket.id, added.message.id)
        result = IngestResult(
            status=status, inbound_id=record.id, reason=reason, ticket_id=added.ticket.id,
            ticket_number=added.ticket.number, message_id=added.message.id,
        )  # fmt: skip
        results.append((item.index, result))
    await session.flush()
    return results


async def _screen(
    session: AsyncSession,
    parsed: ParsedEmail,
    record: InboundEmail,
    key: str,
    options: IngestOptions,
) -> tuple[InboundStatus | None, str]:
    """What must not become a ticket, and why; (None, "") for everything else."""
    if parsed.sender is None:
        return InboundStatus.REFUSED, "the message has no sender address (From)"
    ours = {m.address for m in await repository.mailboxes(session)}
    if threading.base_address(parsed.sender.email) in ours:
        return InboundStatus.IGNORED, (
            f"sent from one of our own mailboxes ({parsed.sender.email}): not taken in, so "
            "that two mailboxes cannot answer each other forever"
        )
    if key.startswith("opora."):  # our Message-IDs look like that (threading.new_message_key)
        own = await repository.reference(session, key)
        if own is not None and own.direction == Direction.OUT:
            return InboundStatus.IGNORED, "one of our own messages came back"
    if parsed.auto == AutoKind.BOUNCE:
        return InboundStatus.BOUNCE, await _record_bounce(session, parsed, record)
    since = utcnow() - options.limit.window
    earlier = await repository.count_from_sender(session, record.sender, since) - 1
    if earlier >= options.limit.count:
        minutes = int(options.limit.window.total_seconds() // 60)
        return InboundStatus.REFUSED, (
            f"rate limit: {earlier} messages from {record.sender} in the last {minutes} "
            "minutes; kept, not made a ticket (a mail loop?)"
        )
    return None, ""


async def _record_bounce(session: AsyncSession, parsed: ParsedEmail, record: InboundEmail) -> str:
    """Mark the message a delivery report is about as bounced."""
    bounce = parsed.bounce
    keys = threading.reference_keys(
        [bounce.original_message_id] if bounce and bounce.original_message_id else [],
        [*parsed.in_reply_to, *parsed.references],
    )
    refs = [r for r in await repository.references(session, keys) if r.direction == Direction.OUT]
    detail = bounce.diagnostic if bounce else (parsed.subject or "delivery failed")
    if bounce and bounce.recipient:
        detail = f"{bounce.recipient}: {detail}"
    if not refs:
        return f"a delivery report about a message we do not know: {detail}"[:2000]
    ref = refs[0]
    record.ticket_id = ref.ticket_id
    permanent = bounce.permanent if bounce else True
    if ref.message_id is not None:
        message = await session.get(Message, ref.message_id)
        if message is not None and permanent:
            message.delivery_state = DeliveryState.BOUNCED
            message.delivery_error = detail[:2000]
            record.message_id = None
    await tickets.record_delivery_problem(
        session, ticket_id=ref.ticket_id, message_id=ref.message_id, detail=detail,
        permanent=permanent,
    )  # fmt: skip
    kind = "bounced" if permanent else "delayed"
    return f"delivery {kind}: {detail}"[:2000]


async def _deliver(
    session: AsyncSession,
    *,
    parsed: ParsedEmail,
    record: InboundEmail,
    key: str,
    mailbox: Mailbox,
    addressed_number: int | None,
    options: IngestOptions,
) -> tuple[InboundStatus, str]:
    """Thread the message onto its ticket or open one."""
    assert parsed.sender is not None
    quiet = parsed.auto in QUIET_KINDS
    ticket, matched_by = await _find_ticket(session, parsed, key, addressed_number)
    name = parsed.sender.name.strip()
    language = threading.guess_language(parsed.subject, parsed.text)
    contact, _ = await contacts.find_or_create_by_identity(
        session, kind=IdentityKind.EMAIL, value=parsed.sender.email, name=name,
        language=language,
    )  # fmt: skip
    if ticket is not None and matched_by == "subject":
        allowed = contact.id == ticket.requester_id or contact.id in (
            await repository.follower_contact_ids(session, ticket.id)
        )
        if not allowed:  # a number in a subject is no proof: a new ticket instead
            ticket = None
    body, html, extra = _shown(parsed, record, mailbox)
    if ticket is not None:
        agent = await repository.active_user_by_email(session, parsed.sender.email)
        if agent is not None:
            return await _agent_note(session, agent, ticket.id, body, parsed, record, key, extra)
    if quiet and ticket is not None and ticket_rules.is_final(ticket.status):
        return InboundStatus.IGNORED, (
            f"an automatic message ({parsed.auto_reason}) about closed ticket #{ticket.number}"
        )
    attachments = _attachments(parsed, contact, options.store)
    if attachments:
        session.add_all(attachments)
        await session.flush()
    message = tickets.ChannelMessage(
        channel=Channel.EMAIL, body=body, html=html, external_id=key,
        attachment_ids=tuple(a.id for a in attachments), extra=extra, quiet=quiet,
    )  # fmt: skip
    if ticket is not None:
        if contact.id != ticket.requester_id and matched_by in ("references", "address"):
            await _follow(session, ticket.id, contact.id)
        added = await tickets.add_channel_message(
            session, contact=contact, ticket_id=ticket.id, message=message
        )
        status = InboundStatus.TICKET_CREATED if added.follow_up_of else InboundStatus.MESSAGE_ADDED
        reason = (
            f"a reply to closed ticket #{added.follow_up_of.number}: follow-up opened"
            if added.follow_up_of
            else f"threaded by {matched_by}"
        )
    else:
        added = await tickets.open_ticket_from_channel(
            session, requester=contact, subject=parsed.subject, message=message,
            group_id=mailbox.group_id, priority=mailbox.default_priority,
        )  # fmt: skip
        status, reason = InboundStatus.TICKET_CREATED, "a new request"
    if quiet:
        reason += f"; automatic ({parsed.auto_reason}): no notifications"
    record.ticket_id = added.ticket.id
    record.message_id = added.message.id
    record.status, record.reason = status, reason  # one UPDATE with the ticket's ids
    repository.remember_ticket_mailbox(session, added.ticket.id, mailbox.id)
    if parsed.cc:
        await _follow_ccs(session, parsed, added.ticket.id, contact, ours=mailbox.address)
    _remember_new(session, key, added.ticket.id, added.message.id)
    return status, reason


async def _find_ticket(
    session: AsyncSession, parsed: ParsedEmail, key: str, addressed_number: int | None
) -> tuple[Ticket | None, str]:
    keys = [k for k in threading.reference_keys(parsed.in_reply_to, parsed.references) if k != key]
    for ref in await repository.references(session, keys):
        ticket = await session.get(Ticket, ref.ticket_id)
        if ticket is not None:
            return ticket, "references"
    if addressed_number is not None:
        ticket = await repository.ticket_by_number(session, addressed_number)
        if ticket is not None:
            return ticket, "address"
    number = threading.subject_ticket_number(parsed.subject)
    if number is not None:
        ticket = await repository.ticket_by_number(session, number)
        if ticket is not None:
            return ticket, "subject"
    return None, ""


_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|fw|wg|tr|пересл|переслано)\s*(\[\d+\])?\s*:", re.I)


def _shown_part(parsed: ParsedEmail) -> tuple[str, str, bool]:
    """The new part of the message: (text, sanitized HTML, whether anything was cut). A
    forwarded message is shown whole: Outlook's forward header looks like its reply
    header, and when a customer forwards a mail to support, the forward is the request."""
    if _FORWARD_SUBJECT.match(parsed.subject):
        html = sanitize_html(parsed.raw_html) if parsed.raw_html else ""
        return parsed.text.strip(), html, False
    reply = extract_reply(parsed.text)
    text = reply.text.strip()
    html = ""
    if parsed.raw_html:
        html = sanitize_html(strip_html_reply(parsed.raw_html))
    return text, html, bool(reply.quoted or reply.signature)


def _address_text(name: str, email: str) -> str:
    return f"{name} <{email}>" if name else email


def _shown(
    parsed: ParsedEmail, record: InboundEmail, mailbox: Mailbox
) -> tuple[str, str, dict[str, Any]]:
    """What a message shows on its ticket: text, sanitized HTML, and its email details."""
    assert parsed.sender is not None
    body, html, quoted = _shown_part(parsed)
    extra: dict[str, Any] = {
        "email": {
            "inbound_id": record.id,
            "mailbox_id": mailbox.id,
            "from": _address_text(parsed.sender.name, parsed.sender.email),
            "to": [_address_text(a.name, a.email) for a in parsed.to],
            "cc": [_address_text(a.name, a.email) for a in parsed.cc],
            "subject": parsed.subject,
            "quoted": quoted,
            "auto": parsed.auto.value if parsed.auto else None,
        }
    }
    return body, html, extra


def _attachments(
    parsed: ParsedEmail, contact: Contact, store: BlobStore | BlobBatch
) -> list[Attachment]:
    """Each part as an unclaimed upload of the contact (the message claims them), its
    bytes stored; the caller adds and flushes them."""
    now = utcnow()
    return [
        Attachment(
            filename=sanitize_filename(part.filename),
            content_type=part.content_type,
            size=len(part.data),
            sha256=store.put(part.data),
            uploaded_by_contact_id=contact.id,
            inline=part.inline,
            content_id=part.content_id[:500] if part.content_id else None,
            created_at=now,
        )
        for part in parsed.attachments
        if part.data
    ]


async def _follow(session: AsyncSession, ticket_id: int, contact_id: int) -> None:
    if contact_id in await repository.follower_contact_ids(session, ticket_id):
        return
    session.add(TicketFollower(ticket_id=ticket_id, contact_id=contact_id))
    await session.flush()


async def _follow_ccs(
    session: AsyncSession, parsed: ParsedEmail, ticket_id: int, sender: Contact, *, ours: str
) -> None:
    """CC'd people (not our mailboxes, not the sender) follow the ticket."""
    ticket = await session.get(Ticket, ticket_id)
    assert ticket is not None
    our_addresses = {m.address for m in await repository.mailboxes(session)} | {ours}
    followers = await repository.follower_contact_ids(session, ticket_id)
    for address in parsed.cc[:MAX_FOLLOWERS_PER_MESSAGE]:
        if threading.base_address(address.email) in our_addresses:
            continue
        if await repository.active_user_by_email(session, address.email) is not None:
            continue  # an agent on CC is not a customer of the ticket
        contact, _ = await contacts.find_or_create_by_identity(
            session, kind=IdentityKind.EMAIL, value=address.email, name=address.name
        )
        if contact.id in (sender.id, ticket.requester_id) or contact.id in followers:
            continue
        session.add(TicketFollower(ticket_id=ticket_id, contact_id=contact.id))
        followers.add(contact.id)
    await session.flush()


def _remember_new(session: AsyncSession, key: str, ticket_id: int, message_id: int) -> None:
    """An incoming message's Message-ID, new by construction (its ``InboundEmail`` row, under
    the same unique key, was just inserted)."""
    session.add(
        EmailReference(
            message_key=key, ticket_id=ticket_id, message_id=message_id,
            direction=Direction.IN.value, created_at=utcnow(),
        )
    )  # fmt: skip


async def _remember(
    session: AsyncSession, key: str, ticket_id: int, message_id: int | None, direction: Direction
) -> None:
    if await repository.reference(session, key) is None:
        session.add(
            EmailReference(
                message_key=key, ticket_id=ticket_id, message_id=message_id,
                direction=direction.value, created_at=utcnow(),
            )
        )  # fmt: skip
        await session.flush()


async def _agent_note(
    session: AsyncSession,
    agent: Any,
    ticket_id: int,
    body: str,
    parsed: ParsedEmail,
    record: InboundEmail,
    key: str,
    extra: dict[str, Any],
) -> tuple[InboundStatus, str]:
    """An agent's email on a ticket becomes their internal note: mail from an agent's
    address is never sent on to the customer by itself."""
    actor = await auth_service.actor_for_user(session, agent)
    text = body or parsed.subject or "(empty message)"
    added = await tickets.add_message(
        session, actor=actor, ticket_id=ticket_id,
        data=MessageCreate(body=text[:200_000], visibility=Visibility.INTERNAL),
    )  # fmt: skip
    added.message.extra = {**added.message.extra, **extra}
    record.ticket_id = ticket_id
    record.message_id = added.message.id
    await _remember(session, key, ticket_id, added.message.id, Direction.IN)
    return InboundStatus.MESSAGE_ADDED, f"from agent {agent.email}: added as an internal note"


# --- mailboxes -------------------------------------------------------------------------------


def imap_config(mailbox: Mailbox, *, ca_file: str | None = None) -> imap.ImapConfig:
    return imap.ImapConfig(
        host=mailbox.imap_host.strip(),
        port=mailbox.imap_port,
        security=imap.Security(mailbox.imap_security),
        username=mailbox.imap_username,
        password=mailbox.imap_password,
        folder=mailbox.imap_folder or "INBOX",
        processed=imap.Processed(mailbox.imap_processed),
        processed_folder=mailbox.imap_processed_folder or "Processed",
        verify_certificate=mailbox.imap_verify_certificate,
        ca_file=ca_file,
    )


def _normalized_address(address: str) -> str:
    address = address.strip().lower()
    local, _, domain = address.rpartition("@")
    if not local or not domain or "+" in local or " " in address:
        raise InvalidInput(
            "enter the mailbox's address, such as support@example.com (without +tags)",
            field="address",
        )
    return address


async def list_mailboxes(session: AsyncSession, *, actor: Actor) -> list[Mailbox]:
    require_admin(actor)
    return await repository.mailboxes(session)


async def get_mailbox(session: AsyncSession, *, actor: Actor, mailbox_id: int) -> Mailbox:
    require_admin(actor)
    mailbox = await session.get(Mailbox, mailbox_id)
    if mailbox is None:
        raise MailboxNotFound(f"mailbox {mailbox_id} not found")
    return mailbox


def _check_imap(mailbox: Mailbox) -> None:
    if not mailbox.imap_enabled:
        return
    if not mailbox.imap_host.strip():
        raise InvalidInput("IMAP needs the server's host name", field="imap_host")
    if not mailbox.imap_username.strip():
        raise InvalidInput("IMAP needs a user name", field="imap_username")
    if not mailbox.imap_password:
        raise InvalidInput("IMAP needs a password", field="imap_password")
    if mailbox.imap_processed == "move" and not mailbox.imap_processed_folder.strip():
        raise InvalidInput("name the folder processed mail moves to", field="imap_processed_folder")
    if mailbox.imap_processed == "move" and (
        mailbox.imap_processed_folder.strip() == mailbox.imap_folder.strip()
    ):
        raise InvalidInput(
            "processed mail must move to another folder than the one read",
            field="imap_processed_folder",
        )


async def _check_unique(session: AsyncSession, mailbox: Mailbox) -> None:
    for other in await repository.mailboxes(session):
        if other.id == mailbox.id:
            continue
        if other.address == mailbox.address:
            raise Conflict(f"mailbox {other.name!r} has this address", field="address")
        if other.name.lower() == mailbox.name.lower():
            raise Conflict(f"a mailbox is already named {other.name!r}", field="name")


async def _check_group(session: AsyncSession, group_id: int | None) -> None:
    if group_id is not None and await session.get(Group, group_id) is None:
        raise InvalidInput(f"group {group_id} does not exist", field="group_id")


async def create_mailbox(session: AsyncSession, *, actor: Actor, data: MailboxCreate) -> Mailbox:
    require_admin(actor)
    values = data.model_dump()
    values["address"] = _normalized_address(values["address"])
    values["name"] = values["name"].strip()
    mailbox = Mailbox(**values, next_poll_at=utcnow() if data.imap_enabled else None)
    await _check_group(session, mailbox.group_id)
    _check_imap(mailbox)
    await _check_unique(session, mailbox)
    session.add(mailbox)
    await session.flush()
    repository.forget_mailboxes(session)
    return mailbox


async def update_mailbox(
    session: AsyncSession, *, actor: Actor, mailbox_id: int, data: MailboxUpdate
) -> Mailbox:
    mailbox = await get_mailbox(session, actor=actor, mailbox_id=mailbox_id)
    values = data.model_dump(exclude_unset=True)
    if "address" in values:
        values["address"] = _normalized_address(values["address"])
    if "name" in values:
        values["name"] = values["name"].strip()
    if values.get("imap_password") == "":
        values.pop("imap_password")  # an empty password field keeps the stored one
    if values.get("smtp_password") == "":
        values.pop("smtp_password")
    for name, value in values.items():
        setattr(mailbox, name, value)
    await _check_group(session, mailbox.group_id)
    _check_imap(mailbox)
    await _check_unique(session, mailbox)
    if mailbox.imap_enabled and mailbox.next_poll_at is None:
        mailbox.next_poll_at = utcnow()
    mailbox.updated_at = utcnow()
    await session.flush()
    repository.forget_mailboxes(session)
    return mailbox


async def delete_mailbox(session: AsyncSession, *, actor: Actor, mailbox_id: int) -> None:
    mailbox = await get_mailbox(session, actor=actor, mailbox_id=mailbox_id)
    await session.delete(mailbox)
    await session.flush()
    repository.forget_mailboxes(session)


POLL_MAILBOX = "channels.email.poll_mailbox"  # the job (channels/email/jobs.py)


# --- the record of incoming mail ---------------------------------------------------------


async def list_inbound(
    session: AsyncSession,
    *,
    actor: Actor,
    status: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[InboundEmail]:
    """Incoming mail, newest first (admins: to see what was refused, and why)."""
    require_admin(actor)
    stmt = select(InboundEmail).order_by(InboundEmail.id.desc()).limit(limit)
    if status is not None:
        if status not in {s.value for s in InboundStatus}:
            raise InvalidInput(f"unknown status {status!r}", field="status")
        stmt = stmt.where(InboundEmail.status == status)
    if before_id is not None:
        stmt = stmt.where(InboundEmail.id < before_id)
    return list((await session.execute(stmt)).scalars())


async def get_inbound(session: AsyncSession, *, actor: Actor, inbound_id: int) -> InboundEmail:
    """An incoming message's record: admins, or agents who may read its ticket."""
    record = await session.get(InboundEmail, inbound_id)
    if record is None:
        raise NotFound(f"incoming message {inbound_id} not found")
    if actor.is_admin:
        return record
    if actor.is_user and record.ticket_id is not None:
        await tickets.get_ticket(session, actor=actor, ticket_id=record.ticket_id)
        return record
    raise NotFound(f"incoming message {inbound_id} not found")


class NotImap(InvalidInput):
    code = "mailbox_not_imap"


async def check_mailbox_connection(
    session: AsyncSession, *, actor: Actor, mailbox_id: int, ca_file: str | None = None
) -> MailboxCheck:
    """Connect to the mailbox's IMAP server as stored and count what is there (changes
    nothing): the admin's "Test connection"."""
    mailbox = await get_mailbox(session, actor=actor, mailbox_id=mailbox_id)
    if not mailbox.imap_enabled:
        raise NotImap("this mailbox does not use IMAP", field="imap_enabled")
    config = imap_config(mailbox, ca_file=ca_file)
    return await imap.check_mailbox(config)


async def request_poll(session: AsyncSession, *, actor: Actor, mailbox_id: int) -> int:
    """Poll the mailbox now: a job the worker runs within seconds; returns its id."""
    mailbox = await get_mailbox(session, actor=actor, mailbox_id=mailbox_id)
    if not mailbox.imap_enabled:
        raise NotImap("this mailbox does not use IMAP", field="imap_enabled")
    job_id = await jobs.enqueue(session, POLL_MAILBOX, {"mailbox_id": mailbox.id})
    return int(job_id or 0)


async def ticket_numbers(session: AsyncSession, ticket_ids: Sequence[int]) -> dict[int, int]:
    """Ticket id -> number, for the incoming-mail log."""
    if not ticket_ids:
        return {}
    rows = await session.execute(
        select(Ticket.id, Ticket.number).where(Ticket.id.in_(sorted(set(ticket_ids))))
    )
    return {tid: number for tid, number in rows}
