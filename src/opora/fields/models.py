from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opora.db import Base, IdMixin, TimestampMixin


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    SELECT = "select"
    MULTISELECT = "multiselect"
    CHECKBOX = "checkbox"


class FieldEntity(StrEnum):
    TICKET = "ticket"
    CONTACT = "contact"
    ORGANIZATION = "organization"


class CustomField(IdMixin, TimestampMixin, Base):
    __tablename__ = "custom_fields"
    __table_args__ = (UniqueConstraint("entity", "key"),)

    entity: Mapped[str] = mapped_column(String(20), default=FieldEntity.TICKET)
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    label_ru: Mapped[str] = mapped_column(String(200), default="")
    type: Mapped[str] = mapped_column(String(20))
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    visible_to_customer: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TicketForm(IdMixin, TimestampMixin, Base):
    """A named set of ticket fields for one kind of request ("Login problem", "Bug
    report"): the portal and the agent's new-ticket form show its fields in this order.

    ``field_keys`` lists ticket custom-field keys, in order; ``required_keys`` the ones
    this form requires on top of the fields that are required everywhere. A form with
    ``visible_to_customers`` false is for agents only.
    """

    __tablename__ = "ticket_forms"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    name_ru: Mapped[str] = mapped_column(String(200), default="")
    ticket_type: Mapped[str | None] = mapped_column(String(30))
    field_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    required_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    visible_to_customers: Mapped[bool] = mapped_column(Boolean, default=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
