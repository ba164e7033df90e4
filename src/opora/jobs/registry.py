"""Job handlers register here by dotted name: ``@job("notifications.send_email")``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a handler gets besides its payload: its own session (the worker commits)."""

    session: AsyncSession
    job_id: int
    attempt: int
    settings: Any
    max_attempts: int = 5
    # the worker's Database, for a handler that must keep network I/O out of a
    # transaction and commit in steps of its own (IMAP polling); most handlers use session
    db: Any = None

    @property
    def last_attempt(self) -> bool:
        """This run is the job's last chance: a failure now leaves it dead."""
        return self.attempt >= self.max_attempts


Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class JobSpec:
    name: str
    handler: Handler
    max_attempts: int | None
    timeout_seconds: float | None


@dataclass(frozen=True, slots=True)
class PeriodicSpec:
    name: str
    every_seconds: int


_jobs: dict[str, JobSpec] = {}
_periodic: dict[str, PeriodicSpec] = {}


def job(
    name: str, *, max_attempts: int | None = None, timeout_seconds: float | None = None
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        existing = _jobs.get(name)
        if existing is not None and existing.handler is not handler:
            raise ValueError(f"job {name!r} is registered twice")
        _jobs[name] = JobSpec(name, handler, max_attempts, timeout_seconds)
        return handler

    return register


def periodic(name: str, *, every_seconds: int) -> None:
    """Run the registered job ``name`` every ``every_seconds`` (once per slot, any workers)."""
    if every_seconds <= 0:
        raise ValueError("every_seconds must be positive")
    _periodic[name] = PeriodicSpec(name, every_seconds)


def registered_jobs() -> dict[str, JobSpec]:
    return dict(_jobs)


def periodic_jobs() -> dict[str, PeriodicSpec]:
    return dict(_periodic)


def get(name: str) -> JobSpec | None:
    return _jobs.get(name)
