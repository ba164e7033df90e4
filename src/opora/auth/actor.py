"""Who is acting: an agent (user), a customer (contact), or the system (a rule, a job)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from opora.errors import Forbidden


class ActorKind(StrEnum):
    USER = "user"
    CONTACT = "contact"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: int | None = None
    name: str = ""
    role: str | None = None  # admin / supervisor / agent for users
    ticket_access: str = "all"
    group_ids: frozenset[int] = field(default_factory=frozenset)
    organization_id: int | None = None
    sees_organization_tickets: bool = False
    language: str = "en"
    label: str | None = None  # a rule's or job's name for system actors

    @property
    def is_user(self) -> bool:
        return self.kind is ActorKind.USER

    @property
    def is_customer(self) -> bool:
        return self.kind is ActorKind.CONTACT

    @property
    def is_system(self) -> bool:
        return self.kind is ActorKind.SYSTEM

    @property
    def is_admin(self) -> bool:
        return self.is_system or (self.is_user and self.role == "admin")

    @property
    def is_supervisor(self) -> bool:
        return self.is_admin or (self.is_user and self.role == "supervisor")

    @property
    def sees_all_tickets(self) -> bool:
        return (
            self.is_system or self.is_supervisor or (self.is_user and self.ticket_access == "all")
        )


def system_actor(label: str = "system") -> Actor:
    return Actor(kind=ActorKind.SYSTEM, name=label, label=label)


def require_agent(actor: Actor) -> None:
    """Agents (and the system) only: customers get a 403."""
    if not (actor.is_user or actor.is_system):
        raise Forbidden("only agents may do this")


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("only an admin may do this")
