"""Contact and organization queries; ``readable_by`` decides who sees which records."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor
from opora.contacts.models import Contact, ContactIdentity, IdentityKind, Organization


def contacts_readable_by(actor: Actor) -> Select[Contact]:
    stmt = select(Contact)
    if actor.is_user or actor.is_system:
        return stmt
    if actor.is_customer:
        if actor.sees_organization_tickets and actor.organization_id is not None:
            return stmt.where(
                or_(Contact.id == actor.id, Contact.organization_id == actor.organization_id)
            )
        return stmt.where(Contact.id == actor.id)
    return stmt.where(False)  # type: ignore[arg-type]


def organizations_readable_by(actor: Actor) -> Select[Organization]:
    stmt = select(Organization)
    if actor.is_user or actor.is_system:
        return stmt
    if actor.is_customer and actor.organization_id is not None:
        return stmt.where(Organization.id == actor.organization_id)
    return stmt.where(False)  # type: ignore[arg-type]


async def find_identity(session: AsyncSession, kind: str, value: str) -> ContactIdentity | None:
    stmt = select(ContactIdentity).where(
        ContactIdentity.kind == kind, ContactIdentity.value == value
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def contact_by_identity(session: AsyncSession, kind: str, value: str) -> Contact | None:
    stmt = (
        select(Contact)
        .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
        .where(ContactIdentity.kind == kind, ContactIdentity.value == value)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def identities_of(session: AsyncSession, contact_ids: list[int]) -> list[ContactIdentity]:
    if not contact_ids:
        return []
    stmt = (
        select(ContactIdentity)
        .where(ContactIdentity.contact_id.in_(contact_ids))
        .order_by(ContactIdentity.contact_id, ContactIdentity.is_primary.desc(), ContactIdentity.id)
    )
    return list((await session.execute(stmt)).scalars())


def primary_email_query(contact_id: int | SQLColumnExpression[int]) -> Select[str]:
    """The contact's email address: the primary one, else the first added (``contact_id``
    may be a column, for a correlated subquery)."""
    return (
        select(ContactIdentity.value)
        .where(ContactIdentity.contact_id == contact_id, ContactIdentity.kind == IdentityKind.EMAIL)
        .order_by(ContactIdentity.is_primary.desc(), ContactIdentity.id)
        .limit(1)
    )


_PRIMARY_EMAILS = "opora.contacts.primary_emails"  # session.info: contact id -> address


async def primary_email(session: AsyncSession, contact_id: int) -> str | None:
    """The contact's email address: the primary one, else the first added."""
    known: dict[int, str] = session.info.get(_PRIMARY_EMAILS, {})
    if contact_id in known:
        return known[contact_id]
    return (await session.execute(primary_email_query(contact_id))).scalar_one_or_none()


async def remember_primary_emails(session: AsyncSession, contact_ids: Sequence[int]) -> None:
    """Read the addresses of many contacts in one query for ``primary_email`` to answer
    from, for the rest of this transaction (the email intake: a receipt per new ticket).
    Only for a transaction that changes no identity afterwards."""
    wanted = sorted(set(contact_ids) - set(session.info.get(_PRIMARY_EMAILS, {})))
    if not wanted:
        return
    stmt = (
        select(ContactIdentity.contact_id, ContactIdentity.value)
        .where(ContactIdentity.contact_id.in_(wanted), ContactIdentity.kind == IdentityKind.EMAIL)
        .order_by(ContactIdentity.contact_id, ContactIdentity.is_primary.desc(), ContactIdentity.id)
    )
    known = session.info.setdefault(_PRIMARY_EMAILS, {})
    for contact_id, value in await session.execute(stmt):
        known.setdefault(contact_id, value)


async def contact_ids_by_emails(session: AsyncSession, emails: Sequence[str]) -> dict[str, int]:
    """Owners of these (normalized) addresses: address -> contact id."""
    if not emails:
        return {}
    stmt = select(ContactIdentity.value, ContactIdentity.contact_id).where(
        ContactIdentity.kind == IdentityKind.EMAIL, ContactIdentity.value.in_(set(emails))
    )
    return {value: contact_id for value, contact_id in await session.execute(stmt)}


async def organizations_by_domain(session: AsyncSession) -> dict[str, Organization]:
    """Every organization's email domains (a few per organization), domain -> organization."""
    stmt = select(Organization).where(Organization.domains.is_not(None)).order_by(Organization.id)
    found: dict[str, Organization] = {}
    for org in (await session.execute(stmt)).scalars():
        for domain in org.domains or []:
            found.setdefault(domain, org)
    return found


async def organization_by_domain(session: AsyncSession, domain: str) -> Organization | None:
    return (await organizations_by_domain(session)).get(domain)


async def list_contacts(
    session: AsyncSession,
    actor: Actor,
    *,
    q: str | None,
    organization_id: int | None,
    after_id: int | None,
    limit: int,
) -> list[Contact]:
    """Up to ``limit`` readable contacts by id, matching ``q`` in the name or an identity."""
    stmt = contacts_readable_by(actor)
    if organization_id is not None:
        stmt = stmt.where(Contact.organization_id == organization_id)
    if q and q.strip():
        like = f"%{q.strip().lower()}%"
        with_ident = select(ContactIdentity.contact_id).where(ContactIdentity.value.like(like))
        stmt = stmt.where(or_(Contact.name.ilike(like), Contact.id.in_(with_ident)))
    if after_id is not None:
        stmt = stmt.where(Contact.id > after_id)
    return list((await session.execute(stmt.order_by(Contact.id).limit(limit))).scalars())


async def list_organizations(
    session: AsyncSession, actor: Actor, *, q: str | None, after_id: int | None, limit: int
) -> list[Organization]:
    stmt = organizations_readable_by(actor)
    if q and q.strip():
        stmt = stmt.where(Organization.name.ilike(f"%{q.strip()}%"))
    if after_id is not None:
        stmt = stmt.where(Organization.id > after_id)
    return list((await session.execute(stmt.order_by(Organization.id).limit(limit))).scalars())


# --- the people pages' search: indexed lookups only where the table is large ----------------

_ALNUM = "0123456789abcdefghijklmnopqrstuvwxyz"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _next_prefix(prefix: str) -> str | None:
    """The smallest string of [0-9a-z] greater than every string starting with ``prefix``
    ("carol" -> "carom", "caz" -> "cb", "a9" -> "aa"), or None ("zz"). Made only of
    letters and digits, so the range holds under a linguistic collation (PostgreSQL's
    en_US, which ignores punctuation at first) as well as under SQLite's binary one."""
    chars = list(prefix)
    while chars:
        i = _ALNUM.find(chars[-1])
        if 0 <= i < len(_ALNUM) - 1:
            chars[-1] = _ALNUM[i + 1]
            return "".join(chars)
        chars.pop()
    return None


def _identity_prefix(kind: str, prefix: str, like: str) -> Select[int]:
    """Contact ids with an identity of ``kind`` starting with ``prefix`` (letters and
    digits, lower case): a range over the unique (kind, value) index, then ``like`` (the
    whole text typed, escaped) for the exact match."""
    stmt = select(ContactIdentity.contact_id).where(
        ContactIdentity.kind == kind,
        ContactIdentity.value >= prefix,
        ContactIdentity.value.like(like, escape="\\"),
    )
    upper = _next_prefix(prefix)
    if upper is not None:
        stmt = stmt.where(ContactIdentity.value < upper)
    return stmt


def _case_variants(text: str) -> list[str]:
    """The text as typed, in lower case and capitalised: SQLite folds the case of ASCII
    letters only, so «иван» must also be tried as «Иван»."""
    return sorted({text, text.lower(), text.capitalize(), text.title()})


def contact_search_conditions(q: str, dialect: str) -> list[ColumnElement[bool]]:
    """What ``q`` matches, each a separate query (an OR of an indexed lookup and a scan
    would make the whole a scan); none when it has nothing to look for:

    - an email address or its beginning («carol», «carol@acme.ru»): an email identity
      starting with it, by a range over the (kind, value) index;
    - a phone number or its beginning («+7 999 12», «8-800»): a phone identity starting
      with its digits, by the same index;
    - anything else also matches a name, or a word of a name, starting with it. Names
      have no index (contacts.name), so this part reads the contacts newest first until
      a page is full: one LIKE per row, a whole scan when little matches (about 100 ms
      at 300,000 contacts on SQLite); see docs/architecture.md.
    """
    q = " ".join(q.split())
    if not q:
        return []
    lowered = q.lower()
    conditions: list[ColumnElement[bool]] = []
    digits = "".join(ch for ch in q if ch.isdigit())
    phone_like = bool(digits) and all(ch.isdigit() or ch in "+-() " for ch in q)
    if phone_like:
        if len(digits) >= 3:
            phones = _identity_prefix(IdentityKind.PHONE, "+" + digits, f"+{digits}%")
            conditions.append(Contact.id.in_(phones))
        return conditions
    head = ""
    for ch in lowered:
        if ch not in _ALNUM:
            break
        head += ch
    if head:
        like = _escape_like(lowered) + "%"
        conditions.append(Contact.id.in_(_identity_prefix(IdentityKind.EMAIL, head, like)))
    if "@" not in q:
        # one LIKE per row: " " + name has " " + q at the start of any of its words
        spaced = literal(" ") + Contact.name
        if dialect == "postgresql":  # ILIKE folds the case of every alphabet
            conditions.append(spaced.ilike("% " + _escape_like(q) + "%", escape="\\"))
        else:  # SQLite's LIKE folds ASCII only: «иван» is tried as «Иван» too
            variants = _case_variants(q) if not q.isascii() else [q]
            conditions.append(
                or_(*(spaced.like("% " + _escape_like(v) + "%", escape="\\") for v in variants))
            )
    return conditions


async def search_contacts(
    session: AsyncSession,
    actor: Actor,
    *,
    q: str | None,
    organization_id: int | None,
    before_id: int | None,
    limit: int,
) -> list[Contact]:
    """Up to ``limit`` readable contacts, the newest first, matching ``q`` (see
    ``contact_search_conditions``: one query per way of matching, merged here);
    ``before_id`` is the keyset cursor."""
    stmt = contacts_readable_by(actor)
    if organization_id is not None:
        stmt = stmt.where(Contact.organization_id == organization_id)
    if before_id is not None:
        stmt = stmt.where(Contact.id < before_id)
    stmt = stmt.order_by(Contact.id.desc()).limit(limit)
    if q is None or not q.strip():
        return list((await session.execute(stmt)).scalars())
    found: dict[int, Contact] = {}
    for condition in contact_search_conditions(q, session.get_bind().dialect.name):
        for contact in (await session.execute(stmt.where(condition))).scalars():
            found[contact.id] = contact
    return [found[i] for i in sorted(found, reverse=True)[:limit]]


async def search_organizations(
    session: AsyncSession, actor: Actor, *, q: str | None, after_name: str | None, limit: int
) -> list[Organization]:
    """Readable organizations by name (the unique index keeps the order cheap), those
    whose name contains ``q`` when given. Organizations are far fewer than contacts."""
    stmt = organizations_readable_by(actor)
    q = " ".join((q or "").split())
    if q:
        stmt = stmt.where(
            or_(
                *(
                    Organization.name.ilike("%" + _escape_like(v) + "%", escape="\\")
                    for v in _case_variants(q)
                )
            )
        )
    if after_name is not None:
        stmt = stmt.where(Organization.name > after_name)
    return list((await session.execute(stmt.order_by(Organization.name).limit(limit))).scalars())


async def organization_by_name(session: AsyncSession, name: str) -> Organization | None:
    stmt = select(Organization).where(Organization.name == name)
    return (await session.execute(stmt)).scalar_one_or_none()


async def contact_names(session: AsyncSession, contact_ids: list[int]) -> dict[int, str]:
    if not contact_ids:
        return {}
    rows = await session.execute(
        select(Contact.id, Contact.name).where(Contact.id.in_(sorted(set(contact_ids))))
    )
    return {cid: name for cid, name in rows}


async def organizations_by_ids(
    session: AsyncSession, actor: Actor, org_ids: list[int]
) -> dict[int, Organization]:
    if not org_ids:
        return {}
    stmt = organizations_readable_by(actor).where(Organization.id.in_(sorted(set(org_ids))))
    return {o.id: o for o in (await session.execute(stmt)).scalars()}
