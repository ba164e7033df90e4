"""A ticket's SLA clock as pure state transitions (no I/O): start a target, pause, resume,
meet, and find the warnings and breaches that a moment crosses.

The state is JSON on the ticket (``Ticket.sla_state``)::

    {
      "policy_id": 3, "priority": "high",
      "targets": {                      # the targets still running
        "first_response": {"start": iso, "minutes": 240, "due": iso, "warn": iso},
        "resolution": {...}
      },
      "paused_at": iso | null,          # the clock is stopped (pending, maybe on hold)
      "warned": ["first_response"],     # recorded once each
      "breached": ["resolution"],       # recorded once each; a breached target keeps running
      "met": {"first_response": iso}    # when each target was met (reports)
    }

Times are ISO 8601 in UTC. Durations are business minutes of the policy's calendar; the
warning comes at ``warning_percent`` of a target's time. A pause keeps each running
target's remaining business time: resuming sets ``due = now + remaining`` (in business
time), so a ticket that waited for the customer for a weekend has lost nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opora.sla.calendar import BusinessCalendar, add_business_minutes, business_minutes_between

WARNING = "warning"
BREACH = "breach"


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def when(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def empty(policy_id: int | None = None, priority: str | None = None) -> dict[str, Any]:
    return {
        "policy_id": policy_id, "priority": priority, "targets": {}, "paused_at": None,
        "warned": [], "breached": [], "met": {},
    }  # fmt: skip


def start_target(
    state: dict[str, Any],
    name: str,
    *,
    start: datetime,
    minutes: int,
    calendar: BusinessCalendar,
    warning_percent: int,
) -> None:
    """(Re)start ``name``: due ``minutes`` of business time after ``start``. A restart
    forgets an earlier warning and breach of the same target (a new cycle: the next
    response after another customer message, the resolution after a reopening)."""
    due = add_business_minutes(start, minutes, calendar)
    warn_minutes = int(minutes * warning_percent / 100)
    warn = None
    if 0 < warn_minutes < minutes:
        warn = add_business_minutes(start, warn_minutes, calendar)
    state["targets"][name] = {
        "start": iso(start), "minutes": minutes, "due": iso(due),
        "warn": iso(warn) if warn else None,
    }  # fmt: skip
    state["warned"] = [t for t in state["warned"] if t != name]
    state["breached"] = [t for t in state["breached"] if t != name]
    state["met"].pop(name, None)


def meet(state: dict[str, Any], name: str, *, at: datetime) -> bool:
    """The target is met (the first response was sent, the ticket solved): it stops.
    Returns whether it was running."""
    if state["targets"].pop(name, None) is None:
        return False
    state["met"][name] = iso(at)
    return True


def stop(state: dict[str, Any], name: str) -> None:
    """Forget a running target without meeting it (e.g. the policy no longer has it)."""
    state["targets"].pop(name, None)


def pause(state: dict[str, Any], *, at: datetime) -> None:
    if state.get("paused_at") is None and state["targets"]:
        state["paused_at"] = iso(at)


def resume(state: dict[str, Any], *, at: datetime, calendar: BusinessCalendar) -> None:
    """Restart the clock: every running target keeps the business time it had left."""
    paused = state.get("paused_at")
    if paused is None:
        return
    paused_at = when(paused)
    state["paused_at"] = None
    for target in state["targets"].values():
        for key in ("due", "warn"):
            value = target.get(key)
            if value is None:
                continue
            moment = when(value)
            if moment <= paused_at:
                continue  # already passed before the pause: stays where it was
            left = business_minutes_between(paused_at, moment, calendar)
            target[key] = iso(add_business_minutes(at, round(left), calendar))


def due(state: dict[str, Any], name: str) -> datetime | None:
    target = state["targets"].get(name)
    return when(target["due"]) if target else None


@dataclass(frozen=True, slots=True)
class Crossing:
    kind: str  # WARNING or BREACH
    target: str
    at: datetime  # when it was crossed (the warning or due time)


def crossings(state: dict[str, Any], *, now: datetime) -> list[Crossing]:
    """The warnings and breaches ``now`` has crossed that are not recorded yet; records
    them in the state (so each is reported once). Nothing while paused."""
    if state.get("paused_at") is not None:
        return []
    found = []
    for name, target in state["targets"].items():
        due_at = when(target["due"])
        if name not in state["breached"] and due_at <= now:
            state["breached"].append(name)
            found.append(Crossing(BREACH, name, due_at))
            if name not in state["warned"]:
                state["warned"].append(name)  # a breach needs no warning after it
            continue
        warn = target.get("warn")
        if warn and name not in state["warned"] and when(warn) <= now:
            state["warned"].append(name)
            found.append(Crossing(WARNING, name, when(warn)))
    found.sort(key=lambda c: c.at)
    return found


def _pending_moments(state: dict[str, Any]) -> Iterator[datetime]:
    for name, target in state["targets"].items():
        if name not in state["breached"]:
            yield when(target["due"])
        if target.get("warn") and name not in state["warned"] and name not in state["breached"]:
            yield when(target["warn"])


def next_check(state: dict[str, Any]) -> datetime | None:
    """When the sweep must look at the ticket next: its earliest unrecorded warning or
    due time; None while paused or with nothing left to record."""
    if state.get("paused_at") is not None:
        return None
    return min(_pending_moments(state), default=None)


def columns(state: dict[str, Any]) -> dict[str, datetime | None]:
    """The ticket's indexed columns from the state: the three due times, ``due_at`` (the
    earliest running target; none while paused) and ``sla_check_at``."""
    dues = {name: due(state, name) for name in ("first_response", "next_response", "resolution")}
    running = [d for d in dues.values() if d is not None]
    paused = state.get("paused_at") is not None
    return {
        "first_response_due_at": dues["first_response"],
        "next_response_due_at": dues["next_response"],
        "resolution_due_at": dues["resolution"],
        "due_at": None if paused or not running else min(running),
        "sla_check_at": next_check(state),
    }
