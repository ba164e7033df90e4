"""Durable jobs: an outbox table in the application's own database.

``enqueue`` writes a row in the caller's transaction (a rollback drops it); a worker
claims due rows with a lease, runs the registered handler in its own transaction, retries
with back-off and, after ``max_attempts``, leaves the row in the visible ``dead`` state.
``collect`` gathers a batch's rows into one insert.
"""

from opora.jobs.registry import JobContext, job, periodic, registered_jobs
from opora.jobs.service import collect, enqueue

__all__ = ["JobContext", "collect", "enqueue", "job", "periodic", "registered_jobs"]
