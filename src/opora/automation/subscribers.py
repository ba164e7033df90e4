"""The triggers follow the tickets: an in-transaction event subscriber (installed after
the SLA clock, so a trigger sees the ticket's SLA policy and due times, and before the
notifications, so the changes and mail a trigger writes are told about in the same
transaction). See ``engine`` for what it does and how it stops loops."""

from __future__ import annotations

from opora import events
from opora.automation import engine


def install() -> None:
    events.subscribe_in_transaction(engine.on_event)
