"""Business calendars and SLA policies.

A ``BusinessCalendar`` is a time zone, working hours per weekday and holidays (or 24/7);
``sla.calendar`` does the arithmetic. An ``SlaPolicy`` gives the tickets its conditions
match (the first active policy by ``position``) targets per priority — first response,
next response, resolution, in business minutes of its calendar — and says whether the
clock also pauses on hold (it always pauses while the ticket waits for the customer).

A ticket's SLA state is on the ticket: ``sla_policy_id``, the due times
(``first_response_due_at``, ``next_response_due_at``, ``resolution_due_at``, ``due_at``
the earliest), ``sla_state`` (per target: start, minutes, due, warning time; the pause;
the warnings and breaches already recorded) and ``sla_check_at``, the next instant the
periodic sweep must look at the ticket (indexed).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from opora.db import Base, IdMixin, TimestampMixin

TARGETS = ("first_response", "next_response", "resolution")


class BusinessCalendar(IdMixin, TimestampMixin, Base):
    __tablename__ = "business_calendars"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # {"mon": [["09:00", "18:00"]], ...}; empty: 24/7
    hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    holidays: Mapped[list[str]] = mapped_column(JSON, default=list)  # "YYYY-MM-DD", sorted


class SlaPolicy(IdMixin, TimestampMixin, Base):
    __tablename__ = "sla_policies"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0, index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # automation.conditions spec ({"all": [...], "any": [...]}), SLA fields only
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {"urgent": {"first_response": 30, "next_response": 60, "resolution": 240}, ...}
    targets: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="RESTRICT")
    )
    pause_on_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    warning_percent: Mapped[int] = mapped_column(Integer, default=75)
    # tell the customer when the resolution target is about to be missed
    delay_notice: Mapped[bool] = mapped_column(Boolean, default=True)
