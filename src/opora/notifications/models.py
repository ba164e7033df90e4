"""Notification templates edited by admins.

The defaults ship as files (``templates/email/<key>.<lang>.subject`` and ``.txt``); a row
here replaces one language of one template, and deleting the row restores the default.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opora.db import Base, IdMixin, TimestampMixin


class NotificationTemplate(IdMixin, TimestampMixin, Base):
    __tablename__ = "notification_templates"
    __table_args__ = (UniqueConstraint("key", "language"),)

    key: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
