from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from opora.db import Base, IdMixin, TimestampMixin


class View(IdMixin, TimestampMixin, Base):
    """A saved ticket filter: personal (``owner_id`` set) or shared (``owner_id`` NULL).

    ``conditions`` is a list of ``{"field", "op", "value"}`` checked by
    ``views.rules.validate_conditions``; every condition must hold (AND).
    Built-in views are not stored: they live in ``views.rules.BUILTIN_VIEWS``.
    """

    __tablename__ = "views"

    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    sort: Mapped[str] = mapped_column(String(20), default="-updated_at")
