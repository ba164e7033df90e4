"""Use cases for users, groups, API tokens, browser sessions and sign-in limits.

Services never commit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from email.headerregistry import Address
from urllib.parse import urlencode

from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth import cache as actor_cache
from opora.auth import repository
from opora.auth.actor import Actor, ActorKind, require_admin, require_agent
from opora.auth.models import (
    ApiToken,
    Availability,
    Group,
    GroupMembership,
    LoginAttempt,
    Role,
    User,
    UserSession,
)
from opora.auth.passwords import hash_password
from opora.auth.schemas import GroupCreate, GroupUpdate, UserCreate, UserUpdate
from opora.contacts.models import Contact
from opora.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from opora.kit.text import normalize_email
from opora.kit.time import isoformat, utcnow
from opora.notifications.service import queue_email, render_email

TOKEN_PREFIX = "opr_"


class UserNotFound(NotFound):
    code = "user_not_found"


class GroupNotFound(NotFound):
    code = "group_not_found"


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _check_groups(session: AsyncSession, group_ids: list[int], field: str) -> None:
    for gid in set(group_ids):
        if await session.get(Group, gid) is None:
            raise InvalidInput(f"group {gid} does not exist", field=field)


async def _set_memberships(session: AsyncSession, user_id: int, group_ids: list[int]) -> None:
    await session.execute(delete(GroupMembership).where(GroupMembership.user_id == user_id))
    for gid in sorted(set(group_ids)):
        session.add(GroupMembership(group_id=gid, user_id=user_id))
    await session.flush()


async def create_user(session: AsyncSession, *, actor: Actor, data: UserCreate) -> User:
    require_admin(actor)
    email = normalize_email(data.email)
    if await repository.get_user_by_email(session, email):
        raise Conflict(f"a user with email {email} already exists", field="email")
    await _check_groups(session, data.group_ids, "group_ids")
    user = User(
        email=email,
        name=data.name,
        password_hash=hash_password(data.password) if data.password else None,
        role=data.role,
        ticket_access=data.ticket_access,
        language=data.language,
        timezone=data.timezone,
        skills=data.skills,
        languages=data.languages,
        capacity=data.capacity,
    )
    session.add(user)
    await session.flush()
    await _set_memberships(session, user.id, data.group_ids)
    return user


async def update_user(
    session: AsyncSession,
    *,
    actor: Actor,
    user_id: int,
    data: UserUpdate,
    keep_session_id: int | None = None,
) -> User:
    """Change a user. A new password signs out the user's browser sessions, except
    ``keep_session_id`` when users change their own password from that session; a user
    who can no longer use the pages (inactive, or a role without page access) is signed
    out everywhere."""
    user = await repository.get_user(session, user_id)
    if user is None:
        raise UserNotFound(f"user {user_id} not found")
    own = actor.is_user and actor.id == user_id
    changes = data.model_dump(exclude_unset=True)
    self_editable = {"name", "password", "language", "timezone", "availability"}
    if not actor.is_admin and not (own and set(changes) <= self_editable):
        raise Forbidden("only an admin may change this user")
    if "group_ids" in changes and changes["group_ids"] is not None:
        await _check_groups(session, changes["group_ids"], "group_ids")
        await _set_memberships(session, user.id, changes.pop("group_ids"))
    changes.pop("group_ids", None)
    new_password = False
    if "password" in changes:
        password = changes.pop("password")
        if password:
            user.password_hash = hash_password(password)
            new_password = True
    availability = changes.pop("availability", None)
    for key, value in changes.items():
        if value is not None:
            setattr(user, key, value)
    user.updated_at = utcnow()
    await session.flush()
    if availability is not None:
        await _change_availability(session, user, availability)
    if not can_use_pages(user):
        await _revoke_sessions(session, user_id=user.id)
    elif new_password:
        await _revoke_sessions(session, user_id=user.id, keep_id=keep_session_id if own else None)
    actor_cache.invalidate(session)
    return user


async def set_availability(
    session: AsyncSession, *, actor: Actor, availability: str, user_id: int | None = None
) -> tuple[User, int]:
    """Set a user's availability (online / away / offline): users set their own (the
    default ``user_id``), an admin anyone's. Going offline hands the user's waiting
    tickets of the groups that ask for it back to routing (``automation.routing.
    reassign_from``), in this transaction; returns the user and how many tickets went.
    "away" keeps everything: the agent just gets nothing new."""
    try:
        wanted = Availability(availability)
    except ValueError:
        raise InvalidInput(
            f"availability must be one of {', '.join(a.value for a in Availability)}",
            field="availability",
        ) from None
    target_id = user_id if user_id is not None else actor.id
    if target_id is None or not (actor.is_admin or (actor.is_user and actor.id == target_id)):
        raise Forbidden("only an admin may change another user's availability")
    user = await repository.get_user(session, target_id)
    if user is None:
        raise UserNotFound(f"user {target_id} not found")
    moved = await _change_availability(session, user, wanted)
    return user, moved


async def _change_availability(session: AsyncSession, user: User, wanted: str) -> int:
    if user.availability == wanted:
        return 0
    user.availability = wanted
    user.updated_at = utcnow()
    await session.flush()
    if wanted != Availability.OFFLINE:
        return 0
    # imported here: routing assigns through tickets.service, which imports this module
    from opora.automation import routing

    return await routing.reassign_from(session, user_id=user.id)


async def deactivate_user(session: AsyncSession, *, actor: Actor, user_id: int) -> None:
    require_admin(actor)
    user = await repository.get_user(session, user_id)
    if user is None:
        raise UserNotFound(f"user {user_id} not found")
    if actor.is_user and actor.id == user_id:
        raise Conflict("you cannot deactivate yourself")
    user.is_active = False
    await session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
    await _revoke_sessions(session, user_id=user_id)
    await session.flush()
    actor_cache.invalidate(session)


async def create_group(session: AsyncSession, *, actor: Actor, data: GroupCreate) -> Group:
    require_admin(actor)
    exists = await session.execute(select(Group.id).where(Group.name == data.name))
    if exists.first():
        raise Conflict(f"a group named {data.name!r} already exists", field="name")
    group = Group(
        name=data.name,
        line=data.line,
        description=data.description,
        assignment=data.assignment.value,
        reassign_when_offline=data.reassign_when_offline,
    )
    session.add(group)
    await session.flush()
    for uid in sorted(set(data.member_ids)):
        if await session.get(User, uid) is None:
            raise InvalidInput(f"user {uid} does not exist", field="member_ids")
        session.add(GroupMembership(group_id=group.id, user_id=uid))
    await session.flush()
    return group


async def update_group(
    session: AsyncSession, *, actor: Actor, group_id: int, data: GroupUpdate
) -> Group:
    require_admin(actor)
    group = await session.get(Group, group_id)
    if group is None:
        raise GroupNotFound(f"group {group_id} not found")
    changes = data.model_dump(exclude_unset=True)
    member_ids = changes.pop("member_ids", None)
    if "name" in changes and changes["name"] != group.name:
        clash = await session.execute(select(Group.id).where(Group.name == changes["name"]))
        if clash.first():
            raise Conflict(f"a group named {changes['name']!r} already exists", field="name")
    for key, value in changes.items():
        if value is not None:
            setattr(group, key, value)
    if member_ids is not None:
        await session.execute(delete(GroupMembership).where(GroupMembership.group_id == group_id))
        for uid in sorted(set(member_ids)):
            if await session.get(User, uid) is None:
                raise InvalidInput(f"user {uid} does not exist", field="member_ids")
            session.add(GroupMembership(group_id=group_id, user_id=uid))
    group.updated_at = utcnow()
    await session.flush()
    actor_cache.invalidate(session)
    return group


async def delete_group(session: AsyncSession, *, actor: Actor, group_id: int) -> None:
    require_admin(actor)
    group = await session.get(Group, group_id)
    if group is None:
        raise GroupNotFound(f"group {group_id} not found")
    try:
        await session.delete(group)
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("the group is still in use; deactivate it instead") from exc
    actor_cache.invalidate(session)


async def create_token(
    session: AsyncSession,
    *,
    user_id: int | None = None,
    contact_id: int | None = None,
    name: str = "",
) -> tuple[ApiToken, str]:
    """Create a bearer token; the raw token is returned once and never stored."""
    if (user_id is None) == (contact_id is None):
        raise InvalidInput("a token belongs to exactly one user or one contact")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        token_hash=_hash_token(raw),
        prefix=raw[:12],
        name=name,
        user_id=user_id,
        contact_id=contact_id,
        created_at=utcnow(),
    )
    session.add(token)
    await session.flush()
    return token, raw


async def actor_for_user(session: AsyncSession, user: User) -> Actor:
    return Actor(
        kind=ActorKind.USER,
        id=user.id,
        name=user.name,
        role=user.role,
        ticket_access=user.ticket_access,
        group_ids=frozenset(await repository.group_ids_of(session, user.id)),
        language=user.language,
    )


def actor_for_contact(contact: Contact) -> Actor:
    return Actor(
        kind=ActorKind.CONTACT,
        id=contact.id,
        name=contact.name,
        organization_id=contact.organization_id,
        sees_organization_tickets=contact.sees_organization_tickets,
        language=contact.language,
    )


async def authenticate_token(session: AsyncSession, raw: str) -> Actor:
    if not raw.startswith(TOKEN_PREFIX):
        raise Unauthorized("the API token is not valid")
    token_hash = _hash_token(raw)
    cached = actor_cache.get(token_hash)
    if cached is not None:
        return cached
    token = await repository.token_by_hash(session, token_hash)
    if token is None or token.revoked_at is not None:
        raise Unauthorized("the API token is not valid")
    if token.user_id is not None:
        user = await repository.get_user(session, token.user_id)
        if user is None or not user.is_active:
            raise Unauthorized("the API token's user is not active")
        actor = await actor_for_user(session, user)
    else:
        contact = await session.get(Contact, token.contact_id)
        if contact is None or not contact.is_active:
            raise Unauthorized("the API token's contact is not active")
        actor = actor_for_contact(contact)
    actor_cache.put(token_hash, actor)
    return actor


async def revoke_token(session: AsyncSession, *, actor: Actor, token_id: int) -> None:
    token = await session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"token {token_id} not found")
    if not actor.is_admin and not (actor.is_user and token.user_id == actor.id):
        raise NotFound(f"token {token_id} not found")
    token.revoked_at = utcnow()
    await session.flush()
    actor_cache.invalidate(session)


async def list_users(session: AsyncSession, *, actor: Actor) -> list[User]:
    require_agent(actor)
    rows = await session.execute(repository.users_readable_by(actor).order_by(User.id))
    return list(rows.scalars())


async def get_user(session: AsyncSession, *, actor: Actor, user_id: int) -> User:
    row = await session.execute(repository.users_readable_by(actor).where(User.id == user_id))
    user = row.scalar_one_or_none()
    if user is None:
        raise UserNotFound(f"user {user_id} not found")
    return user


async def group_ids_by_user(session: AsyncSession, users: list[User]) -> dict[int, list[int]]:
    return await repository.group_ids_by_user(session, [u.id for u in users])


async def list_groups(session: AsyncSession, *, actor: Actor) -> list[Group]:
    require_agent(actor)
    rows = await session.execute(
        repository.groups_readable_by(actor).order_by(Group.line, Group.name)
    )
    return list(rows.scalars())


async def get_group(session: AsyncSession, *, actor: Actor, group_id: int) -> Group:
    row = await session.execute(repository.groups_readable_by(actor).where(Group.id == group_id))
    group = row.scalar_one_or_none()
    if group is None:
        raise GroupNotFound(f"group {group_id} not found")
    return group


async def member_ids(session: AsyncSession, group: Group) -> list[int]:
    return sorted(await repository.member_ids_of(session, group.id))


# -- password reset ---------------------------------------------------------------------
#
# A reset link carries a stateless token: signed with the app secret (itsdangerous), valid
# for an hour, holding the user id and an HMAC of the user's current email and password
# hash. Setting a new password changes the hash, so a token works once; a second request
# does not cancel an earlier link, but every link dies with the first reset.

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 200
PASSWORD_RESET_MAX_AGE = timedelta(hours=1)
PASSWORD_RESET_LIMIT = 3  # reset emails per user per PASSWORD_RESET_WINDOW
PASSWORD_RESET_WINDOW = timedelta(hours=1)
_PASSWORD_RESET_SALT = "opora.auth.password-reset"
_PASSWORD_RESET_LOG = "password_reset_sent_at"  # key in users.extra: ISO times of recent emails
_MAX_TOKEN_CHARS = 1000


def _reset_serializer(secret: str, *, now: datetime | None = None) -> URLSafeTimedSerializer:
    """The token serializer; ``now`` fixes its clock (for signing and for checking age)."""
    if now is None:
        return URLSafeTimedSerializer(secret, salt=_PASSWORD_RESET_SALT)
    frozen = int(now.timestamp())

    class FixedClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return frozen

    return URLSafeTimedSerializer(secret, salt=_PASSWORD_RESET_SALT, signer=FixedClockSigner)


def _password_fingerprint(user: User, secret: str) -> str:
    material = f"{user.id}\0{user.email}\0{user.password_hash or ''}".encode()
    return hmac.new(secret.encode(), material, hashlib.sha256).hexdigest()[:32]


def make_password_reset_token(user: User, *, secret: str, now: datetime | None = None) -> str:
    """A reset token for ``user``, valid for an hour from ``now`` and until the password
    (or email) changes."""
    token = _reset_serializer(secret, now=now).dumps(
        {"u": user.id, "f": _password_fingerprint(user, secret)}
    )
    return token if isinstance(token, str) else token.decode()


def check_password_policy(password: str) -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidInput(
            f"the password must be at least {PASSWORD_MIN_LENGTH} characters", field="password"
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidInput(
            f"the password must be at most {PASSWORD_MAX_LENGTH} characters", field="password"
        )


def _recent_resets(user: User, now: datetime) -> list[datetime]:
    recent = []
    for value in (user.extra or {}).get(_PASSWORD_RESET_LOG, []):
        try:
            at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            continue
        if at.tzinfo is not None and now - PASSWORD_RESET_WINDOW < at <= now:
            recent.append(at)
    return sorted(recent)


async def request_password_reset(
    session: AsyncSession,
    *,
    email: str,
    base_url: str,
    secret: str,
    now: datetime | None = None,
) -> None:
    """Email a reset link to the active user with this email, in their language.

    The outcome is the same whether or not such a user exists (no one learns which
    addresses have accounts); contacts never get one. At most ``PASSWORD_RESET_LIMIT``
    emails per user per hour: further requests are dropped silently. ``secret`` is the
    app's signing secret; ``base_url`` is where the link points
    (``{base_url}/password/reset?token=...``).
    """
    user = await repository.get_user_by_email(session, normalize_email(email))
    if user is None or not user.is_active:
        return
    await session.refresh(user, with_for_update=True)  # PostgreSQL: one request at a time
    now = now or utcnow()
    recent = _recent_resets(user, now)
    if len(recent) >= PASSWORD_RESET_LIMIT:
        return
    token = make_password_reset_token(user, secret=secret, now=now)
    link = f"{base_url.rstrip('/')}/password/reset?{urlencode({'token': token})}"
    rendered = render_email(
        "password_reset",
        language=user.language,
        name=user.name,
        email=user.email,
        link=link,
        valid_minutes=int(PASSWORD_RESET_MAX_AGE.total_seconds()) // 60,
    )
    await queue_email(
        session,
        to=str(Address(display_name=user.name, addr_spec=user.email)),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        headers={"Auto-Submitted": "auto-generated"},
    )
    log = [isoformat(at) for at in [*recent, now]]
    user.extra = {**(user.extra or {}), _PASSWORD_RESET_LOG: log}
    await session.flush()


async def reset_password(
    session: AsyncSession,
    *,
    token: str,
    password: str,
    secret: str,
    now: datetime | None = None,
) -> User:
    """Set a new password with a reset token; the token then stops working.

    A bad, expired or used token is ``InvalidInput(field="token")``; a password outside
    the policy is ``InvalidInput(field="password")``. Nothing changes on an error.
    """
    invalid = InvalidInput(
        "this password reset link is invalid, expired or already used; ask for a new one",
        field="token",
    )
    if not token or len(token) > _MAX_TOKEN_CHARS:
        raise invalid
    try:
        data = _reset_serializer(secret, now=now).loads(
            token, max_age=int(PASSWORD_RESET_MAX_AGE.total_seconds())
        )
    except BadData:
        raise invalid from None
    if not (
        isinstance(data, dict) and isinstance(data.get("u"), int) and isinstance(data.get("f"), str)
    ):
        raise invalid
    user = await repository.get_user(session, data["u"])
    if user is None or not user.is_active:
        raise invalid
    await session.refresh(user, with_for_update=True)  # PostgreSQL: one reset at a time
    if not hmac.compare_digest(data["f"], _password_fingerprint(user, secret)):
        raise invalid
    check_password_policy(password)
    user.password_hash = hash_password(password)
    user.updated_at = utcnow()
    await _revoke_sessions(session, user_id=user.id)
    await session.flush()
    actor_cache.invalidate(session)
    return user


# -- browser sessions -------------------------------------------------------------------
#
# A signed-in browser is a ``UserSession`` row. The browser holds a random token (in the
# signed cookie); the row holds its SHA-256 only, so a database leak gives no session
# away. A session lives ``SESSION_MAX_AGE`` from sign-in, ends on sign-out, and is
# revoked when the password changes or the user loses access. ``last_seen_at`` is
# written at most once per ``SESSION_TOUCH_EVERY``, so an ordinary page view costs one
# read. All the limits of this section and the next are here and nowhere else.

SESSION_MAX_AGE = timedelta(days=14)
SESSION_TOUCH_EVERY = timedelta(minutes=5)
SESSION_KEEP_ENDED = timedelta(days=30)  # ended sessions are deleted after this
PAGE_ROLES = frozenset({Role.ADMIN.value, Role.SUPERVISOR.value, Role.AGENT.value})
_SESSION_TOKEN_BYTES = 32
_MAX_SESSION_TOKEN_CHARS = 100


def can_use_pages(user: User) -> bool:
    """May this user sign in to the agent pages?"""
    return user.is_active and user.role in PAGE_ROLES


def session_token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def start_session(
    session: AsyncSession,
    *,
    user: User,
    ip: str = "",
    user_agent: str = "",
    now: datetime | None = None,
) -> tuple[UserSession, str]:
    """A new browser session for ``user``; returns the row and the raw token (the only
    time it exists outside the browser)."""
    if not can_use_pages(user):
        raise Forbidden("this user may not sign in to the pages")
    now = now or utcnow()
    raw = secrets.token_urlsafe(_SESSION_TOKEN_BYTES)
    row = UserSession(
        token_hash=session_token_hash(raw),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        ip=ip[:64],
        user_agent=user_agent[:300],
    )
    session.add(row)
    await session.flush()
    return row, raw


def session_created_after(now: datetime) -> datetime:
    return now - SESSION_MAX_AGE


async def resolve_session(
    session: AsyncSession, raw: str, *, now: datetime | None = None
) -> tuple[UserSession, User] | None:
    """The live session with this raw token and its user, or None: unknown, revoked,
    too old, or the user may not use the pages any more. One query."""
    if not raw or len(raw) > _MAX_SESSION_TOKEN_CHARS:
        return None
    return await repository.live_session_with_user(
        session,
        token_hash=session_token_hash(raw),
        created_after=session_created_after(now or utcnow()),
        roles=PAGE_ROLES,
    )


def needs_touch(user_session: UserSession, now: datetime) -> bool:
    return now - user_session.last_seen_at >= SESSION_TOUCH_EVERY


async def touch_session(session: AsyncSession, *, session_id: int, now: datetime) -> bool:
    """Record that the session was seen; a no-op (False) if it was seen less than
    ``SESSION_TOUCH_EVERY`` ago, so concurrent requests write once."""
    result = await session.execute(
        update(UserSession)
        .where(
            UserSession.id == session_id,
            UserSession.last_seen_at <= now - SESSION_TOUCH_EVERY,
        )
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def end_session(session: AsyncSession, raw: str, *, now: datetime | None = None) -> None:
    """Sign out: the session with this raw token is revoked (nothing if there is none)."""
    if not raw or len(raw) > _MAX_SESSION_TOKEN_CHARS:
        return
    row = await repository.session_by_hash(session, session_token_hash(raw))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now or utcnow()
        await session.flush()


async def _revoke_sessions(
    session: AsyncSession,
    *,
    user_id: int | None,
    keep_id: int | None = None,
    only_id: int | None = None,
    now: datetime | None = None,
) -> int:
    stmt = update(UserSession).where(UserSession.revoked_at.is_(None))
    if user_id is not None:
        stmt = stmt.where(UserSession.user_id == user_id)
    if keep_id is not None:
        stmt = stmt.where(UserSession.id != keep_id)
    if only_id is not None:
        stmt = stmt.where(UserSession.id == only_id)
    result = await session.execute(
        stmt.values(revoked_at=now or utcnow()).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _may_manage_sessions(actor: Actor, user_id: int) -> bool:
    return actor.is_admin or actor.is_system or (actor.is_user and actor.id == user_id)


async def list_sessions(
    session: AsyncSession, *, actor: Actor, user_id: int, now: datetime | None = None
) -> list[UserSession]:
    """The user's live browser sessions, most recently seen first (own, or an admin)."""
    if not _may_manage_sessions(actor, user_id):
        raise UserNotFound(f"user {user_id} not found")
    return await repository.live_sessions_of(
        session, user_id=user_id, created_after=session_created_after(now or utcnow())
    )


class SessionNotFound(NotFound):
    code = "session_not_found"


async def revoke_session(
    session: AsyncSession, *, actor: Actor, user_id: int, session_id: int
) -> None:
    """Sign out one browser session of the user (own, or an admin)."""
    if not _may_manage_sessions(actor, user_id):
        raise SessionNotFound(f"session {session_id} not found")
    if not await _revoke_sessions(session, user_id=user_id, only_id=session_id):
        raise SessionNotFound(f"session {session_id} not found")


async def revoke_sessions(
    session: AsyncSession, *, actor: Actor, user_id: int, keep_session_id: int | None = None
) -> int:
    """Sign out the user's browser sessions, but ``keep_session_id``; returns how many.
    Users may do it to their own; an admin (or the system) to anyone's."""
    if not _may_manage_sessions(actor, user_id):
        raise UserNotFound(f"user {user_id} not found")
    if await repository.get_user(session, user_id) is None:
        raise UserNotFound(f"user {user_id} not found")
    return await _revoke_sessions(session, user_id=user_id, keep_id=keep_session_id)


async def revoke_all_sessions(session: AsyncSession, *, actor: Actor) -> int:
    """Sign out every browser session of every user (the system only: the CLI)."""
    if not actor.is_system:
        raise Forbidden("only the system may sign out everyone")
    return await _revoke_sessions(session, user_id=None)


# -- sign-in limits ---------------------------------------------------------------------
#
# Failed sign-ins are rows of ``login_attempts`` keyed "email:<address>" and "ip:<address>";
# password-reset requests are keyed "reset-email:<address>" and "reset-ip:<address>".
# When a key has reached its limit within its window, the request is refused before any
# password is checked or any email is looked up.

SIGN_IN_WINDOW = timedelta(minutes=15)
SIGN_IN_EMAIL_LIMIT = 5  # failures per address per window
SIGN_IN_IP_LIMIT = 30  # failures per client address per window
RESET_REQUEST_WINDOW = timedelta(hours=1)
RESET_REQUEST_EMAIL_LIMIT = 5  # reset requests per address per window
RESET_REQUEST_IP_LIMIT = 20  # reset requests per client address per window
ATTEMPTS_KEEP = timedelta(days=1)  # older rows count for nothing and are deleted


def _sign_in_keys(email: str, ip: str) -> dict[str, int]:
    keys = {f"ip:{ip}": SIGN_IN_IP_LIMIT} if ip else {}
    address = normalize_email(email) if email.strip() else ""
    if address:
        keys[f"email:{address}"] = SIGN_IN_EMAIL_LIMIT
    return keys


def _reset_keys(email: str, ip: str) -> dict[str, int]:
    keys = {f"reset-ip:{ip}": RESET_REQUEST_IP_LIMIT} if ip else {}
    address = normalize_email(email) if email.strip() else ""
    if address:
        keys[f"reset-email:{address}"] = RESET_REQUEST_EMAIL_LIMIT
    return keys


async def blocked_for(
    session: AsyncSession, keys: dict[str, int], window: timedelta, now: datetime
) -> timedelta | None:
    """How long until the fullest of ``keys`` (attempt key -> its limit in ``window``)
    has room again, or None when none is full (sign-in limits here and in the portal)."""
    if not keys:
        return None
    counts = await repository.attempts_since(session, keys=list(keys), since=now - window)
    waits = [oldest + window - now for key, (count, oldest) in counts.items() if count >= keys[key]]
    if not waits:
        return None
    return max(max(waits), timedelta(seconds=1))


async def sign_in_blocked(
    session: AsyncSession, *, email: str, ip: str, now: datetime | None = None
) -> timedelta | None:
    """How long sign-ins with this email or from this address are refused, or None."""
    return await blocked_for(session, _sign_in_keys(email, ip), SIGN_IN_WINDOW, now or utcnow())


async def record_failed_sign_in(
    session: AsyncSession, *, email: str, ip: str, now: datetime | None = None
) -> None:
    now = now or utcnow()
    for key in _sign_in_keys(email, ip):
        session.add(LoginAttempt(key=key, attempted_at=now))
    await session.flush()


async def clear_failed_sign_ins(session: AsyncSession, *, email: str) -> None:
    """A successful sign-in forgets the address's failures (not the client address's)."""
    keys = [k for k in _sign_in_keys(email, "") if k.startswith("email:")]
    if keys:
        await session.execute(delete(LoginAttempt).where(LoginAttempt.key.in_(keys)))


async def reset_request_blocked(
    session: AsyncSession, *, email: str, ip: str, now: datetime | None = None
) -> timedelta | None:
    """How long reset requests for this email or from this address are refused, or None.
    The same for addresses with and without an account."""
    return await blocked_for(session, _reset_keys(email, ip), RESET_REQUEST_WINDOW, now or utcnow())


async def record_reset_request(
    session: AsyncSession, *, email: str, ip: str, now: datetime | None = None
) -> None:
    now = now or utcnow()
    for key in _reset_keys(email, ip):
        session.add(LoginAttempt(key=key, attempted_at=now))
    await session.flush()


async def prune_sign_in_records(
    session: AsyncSession, *, now: datetime | None = None
) -> tuple[int, int]:
    """Delete attempts older than ``ATTEMPTS_KEEP`` and sessions that ended (revoked or
    expired) more than ``SESSION_KEEP_ENDED`` ago; returns (attempts, sessions) deleted."""
    now = now or utcnow()
    attempts = await session.execute(
        delete(LoginAttempt).where(LoginAttempt.attempted_at < now - ATTEMPTS_KEEP)
    )
    cutoff = now - SESSION_KEEP_ENDED
    sessions = await session.execute(
        delete(UserSession).where(
            or_(
                UserSession.revoked_at < cutoff,
                UserSession.created_at < cutoff - SESSION_MAX_AGE,
            )
        )
    )
    return (
        int(getattr(attempts, "rowcount", 0) or 0),
        int(getattr(sessions, "rowcount", 0) or 0),
    )
