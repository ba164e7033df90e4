"""Triggers, time rules, macros, and the record of what rules did.

- ``Trigger``: on ticket events (created, updated, message added, SLA warning, SLA breach)
  whose conditions hold, its actions run, in ``position`` order, once per event.
- ``TimeRule``: checked periodically against open tickets (e.g. pending for 3 business
  days → remind the customer); fires once per ticket per ``marker`` (the state it fired
  on: the ticket's last status change), recorded in ``automation_runs``.
- ``TimeRuleProgress``: where each time rule's passes over the tickets stand (the job
  reads only what changed since the last pass, and walks all tickets a slice per run).
- ``Macro``: a canned reply with placeholders plus actions, personal (``owner_id``) or
  shared, applied by an agent from the ticket page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opora.db import Base, IdMixin, TimestampMixin, utcnow


class Trigger(IdMixin, TimestampMixin, Base):
    __tablename__ = "triggers"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0, index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")


class TimeRule(IdMixin, TimestampMixin, Base):
    __tablename__ = "time_rules"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0, index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # business hours for "business_hours_since_…" and "within_business_hours"
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="SET NULL")
    )
    description: Mapped[str] = mapped_column(Text, default="")


class TimeRuleProgress(Base):
    """Where a time rule's two passes stand (``automation.time_rules``, see
    ``automation/passes.py``); deleted when the rule changes, so it starts over."""

    __tablename__ = "time_rule_progress"

    rule_id: Mapped[int] = mapped_column(
        ForeignKey("time_rules.id", ondelete="CASCADE"), primary_key=True
    )
    # every change and threshold crossing before this instant has been looked at
    changes_since: Mapped[datetime | None]
    # an unfinished pass over the changes: its instant and the last ticket id it looked at
    changes_pass_at: Mapped[datetime | None]
    changes_after_id: Mapped[int] = mapped_column(Integer, default=0)
    # the pass over every ticket, a slice of ids per run: the last id looked at
    sweep_after_id: Mapped[int] = mapped_column(Integer, default=0)
    sweep_started_at: Mapped[datetime | None]
    sweep_done_at: Mapped[datetime | None]  # when the last complete pass over all began


class Macro(IdMixin, TimestampMixin, Base):
    __tablename__ = "macros"

    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )  # None: shared
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    body: Mapped[str] = mapped_column(Text, default="")  # the reply, with placeholders
    visibility: Mapped[str] = mapped_column(String(20), default="public")
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class AutomationRun(IdMixin, Base):
    """A rule that fired on a ticket (time rules: once per ticket and marker)."""

    __tablename__ = "automation_runs"
    __table_args__ = (
        UniqueConstraint("rule_kind", "rule_id", "ticket_id", "marker"),
        Index("ix_automation_runs_ticket", "ticket_id"),
    )

    rule_kind: Mapped[str] = mapped_column(String(20))  # "time_rule" (triggers: per event)
    rule_id: Mapped[int] = mapped_column(Integer)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    marker: Mapped[str] = mapped_column(String(64))
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
