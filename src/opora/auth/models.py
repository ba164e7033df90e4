from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opora.db import Base, IdMixin, TimestampMixin


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


class TicketAccess(StrEnum):
    ALL = "all"  # sees every ticket
    GROUPS = "groups"  # sees tickets of their groups and tickets assigned to them


class Availability(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class SupportLine(IntEnum):
    L1 = 1
    L2 = 2
    L3 = 3
    VENDOR = 4  # an external vendor (line 4/5 in ITIL terms)


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default=Role.AGENT)
    ticket_access: Mapped[str] = mapped_column(String(20), default=TicketAccess.ALL)
    language: Mapped[str] = mapped_column(String(10), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=20)
    availability: Mapped[str] = mapped_column(String(20), default=Availability.OFFLINE)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Group(IdMixin, TimestampMixin, Base):
    __tablename__ = "groups"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    line: Mapped[int] = mapped_column(Integer, default=SupportLine.L1, index=True)
    description: Mapped[str] = mapped_column(String(2000), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # how new tickets of the group get an agent: manual, round_robin, least_loaded
    assignment: Mapped[str] = mapped_column(String(20), default="manual")
    # an agent going offline hands their open tickets of this group back to routing
    reassign_when_offline: Mapped[bool] = mapped_column(Boolean, default=False)


class GroupMembership(Base):
    __tablename__ = "group_memberships"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # round-robin: the member who got a ticket of this group the longest ago is next
    last_assigned_at: Mapped[datetime | None]


class ApiToken(IdMixin, Base):
    """A bearer token; only its SHA-256 is stored. Belongs to a user or to a contact."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class UserSession(IdMixin, Base):
    """A signed-in browser. The session cookie carries a random id whose SHA-256 is
    ``token_hash``; revoking the row (``revoked_at``) signs that browser out at once, on
    every process."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    revoked_at: Mapped[datetime | None]


class LoginAttempt(IdMixin, Base):
    """A failed sign-in, counted per ``key`` ("email:<address>" or "ip:<address>") over
    a recent window to slow down password guessing."""

    __tablename__ = "login_attempts"

    key: Mapped[str] = mapped_column(String(400), index=True)
    attempted_at: Mapped[datetime] = mapped_column(index=True)
