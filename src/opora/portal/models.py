"""Customer sign-in for the portal.

- ``PortalSession``: a signed-in customer's browser (the cookie holds a random id whose
  SHA-256 is ``token_hash``), as ``UserSession`` is for agents.
- ``PortalLoginLink``: a one-time sign-in link sent by email (SHA-256 of its token),
  valid until ``expires_at`` and once (``used_at``).
- ``PortalPassword``: a customer's optional password (argon2), for those who want one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from opora.db import Base, IdMixin


class PortalSession(IdMixin, Base):
    __tablename__ = "portal_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    revoked_at: Mapped[datetime | None]


class PortalLoginLink(IdMixin, Base):
    __tablename__ = "portal_login_links"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    next_path: Mapped[str] = mapped_column(String(300), default="")  # where to go after


class PortalPassword(Base):
    __tablename__ = "portal_passwords"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    password_hash: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]
