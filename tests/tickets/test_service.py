"""Ticket use cases through the service layer, one class per use case.

Each test runs the service in the application's own unit of work (``db.unit_of_work()``)
with actors built by ``actor_for_user`` / ``actor_for_contact``, asserts the state that
was committed, the timeline rows, the domain events and, on hot paths, the query count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opora import events
from opora.auth import service as auth_service
from opora.auth.actor import Actor, system_actor
from opora.auth.models import User
from opora.auth.schemas import GroupCreate, UserUpdate
from opora.config import Settings
from opora.contacts.models import Contact, ContactIdentity
from opora.db import Database
from opora.errors import FieldRequired, Forbidden, InvalidInput, PayloadTooLarge
from opora.fields import service as fields_service
from opora.fields.schemas import CustomFieldCreate
from opora.kit.blobs import BlobStore
from opora.tickets import repository, service
from opora.tickets.models import (
    Attachment,
    LinkKind,
    Message,
    Tag,
    Ticket,
    TicketEvent,
    TicketLink,
)
from opora.tickets.schemas import (
    CustomerMessageCreate,
    CustomerTicketCreate,
    EscalateIn,
    LinkCreate,
    MessageCreate,
    TicketCreate,
    TicketUpdate,
)
from tests.conftest import Company, Persona

# --- helpers -----------------------------------------------------------------------------


async def as_agent(session: AsyncSession, persona: Persona) -> Actor:
    user = await session.get(User, persona.id)
    assert user is not None
    return await auth_service.actor_for_user(session, user)


async def as_customer(session: AsyncSession, persona: Persona) -> Actor:
    contact = await session.get(Contact, persona.id)
    assert contact is not None
    return auth_service.actor_for_contact(contact)


async def count(db: Database, model: Any) -> int:
    async with db.unit_of_work(write=False) as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def load(db: Database, ticket_id: int) -> Ticket:
    async with db.unit_of_work(write=False) as s:
        ticket = await s.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


async def timeline(db: Database, ticket_id: int) -> list[TicketEvent]:
    async with db.unit_of_work(write=False) as s:
        return await repository.events_of(s, ticket_id)


async def messages_of(db: Database, ticket_id: int) -> list[Message]:
    async with db.unit_of_work(write=False) as s:
        rows = await s.execute(
            select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)
        )
        return list(rows.scalars())


async def new_ticket(
    db: Database, company: Company, *, by: Persona | None = None, **fields: Any
) -> Ticket:
    data: dict[str, Any] = {
        "subject": "Cannot sign in",
        "body": "The app says my password is wrong.",
        "requester_id": company.customer.id,
        "group_id": company.l1_group_id,
    }
    data.update(fields)
    async with db.unit_of_work() as s:
        actor = await as_agent(s, by or company.l1_agent)
        return await service.create_ticket(s, actor=actor, data=TicketCreate(**data))


async def update(db: Database, persona: Persona, ticket_id: int, **changes: Any) -> Ticket:
    async with db.unit_of_work() as s:
        actor = await as_agent(s, persona)
        return await service.update_ticket(
            s, actor=actor, ticket_id=ticket_id, data=TicketUpdate(**changes)
        )


async def add_vendor_group(db: Database, name: str = "Vendor: PayCo") -> int:
    async with db.unit_of_work() as s:
        group = await auth_service.create_group(
            s, actor=system_actor("tests"), data=GroupCreate(name=name, line=4)
        )
        return group.id


async def require_field(db: Database, key: str = "order_id", **extra: Any) -> None:
    async with db.unit_of_work() as s:
        await fields_service.create_field(
            s,
            actor=system_actor("tests"),
            data=CustomFieldCreate(key=key, label="Order number", type="text", **extra),
        )


@contextmanager
def counting_queries(db: Database) -> Iterator[list[str]]:
    """Statements sent to the database (transaction control left out)."""
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        head = statement.lstrip().split(None, 1)[0].upper()
        if head not in {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA"}:
            statements.append(statement)

    engines = {id(e): e for e in (db.write_engine.sync_engine, db.read_engine.sync_engine)}
    for engine in engines.values():
        event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        for engine in engines.values():
            event.remove(engine, "before_cursor_execute", before)


# --- creating ----------------------------------------------------------------------------


class TestCreateTicket:
    async def test_numbers_are_sequential_from_one(self, db: Database, company: Company) -> None:
        numbers = [(await new_ticket(db, company)).number for _ in range(3)]
        assert numbers == [1, 2, 3]

    async def test_a_failed_create_does_not_consume_a_number(
        self, db: Database, company: Company
    ) -> None:
        await new_ticket(db, company)
        with pytest.raises(InvalidInput):
            await new_ticket(db, company, custom_fields={"no_such_field": 1})
        assert (await new_ticket(db, company)).number == 2

    async def test_records_the_creation_in_the_timeline_and_as_a_domain_event(
        self, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l1_agent)
            ticket = await service.create_ticket(
                s,
                actor=actor,
                data=TicketCreate(
                    subject="Refund", body="Charged twice", requester_id=company.customer.id,
                    priority="high", tags=["Billing", "refund"],
                ),
            )  # fmt: skip
            pending = events.pending(s)
            created_message_id = (
                (await service.get_ticket_detail(s, actor=actor, ticket_id=ticket.id))
                .messages[0]
                .id
            )
        assert [(e.name, e.payload) for e in pending] == [
            (
                "ticket.created",
                {
                    "by": f"user:{company.l1_agent.id}",
                    "ticket_id": ticket.id,
                    "number": 1,
                    "message_id": created_message_id,
                    "quiet": False,
                    "follow_up_of": None,
                },
            )
        ]
        (created,) = await timeline(db, ticket.id)
        assert created.kind == "created"
        assert created.actor_user_id == company.l1_agent.id
        assert created.new_value["priority"] == "high"
        assert created.new_value["tags"] == ["billing", "refund"]

    async def test_the_description_is_the_requesters_first_public_message(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        (message,) = await messages_of(db, ticket.id)
        assert message.visibility == "public"
        assert message.author_contact_id == company.customer.id
        assert message.body_text == "The app says my password is wrong."
        assert message.extra == {"submitted_by_user_id": company.l1_agent.id}
        loaded = await load(db, ticket.id)
        assert loaded.status == "new"
        assert loaded.organization_id == company.acme_id
        assert loaded.line == 1

    async def test_an_unknown_requester_email_becomes_a_contact_of_the_domains_organization(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(
            db, company, requester_id=None, requester={"email": "New.Person@ACME.ru"}
        )
        async with db.unit_of_work(write=False) as s:
            identity = (
                await s.execute(
                    select(ContactIdentity).where(ContactIdentity.value == "new.person@acme.ru")
                )
            ).scalar_one()
            contact = await s.get(Contact, identity.contact_id)
        assert contact is not None
        assert contact.organization_id == company.acme_id
        assert (await load(db, ticket.id)).requester_id == contact.id

    async def test_a_known_requester_email_is_reused(self, db: Database, company: Company) -> None:
        before = await count(db, Contact)
        ticket = await new_ticket(
            db, company, requester_id=None, requester={"email": "CAROL@acme.ru"}
        )
        assert (await load(db, ticket.id)).requester_id == company.customer.id
        assert await count(db, Contact) == before

    async def test_an_assigned_ticket_starts_open(self, db: Database, company: Company) -> None:
        ticket = await new_ticket(db, company, assignee_id=company.l1_agent.id)
        assert ticket.status == "open"
        assert ticket.assignee_id == company.l1_agent.id

    async def test_the_assignee_must_be_in_the_group_and_nothing_is_written(
        self, db: Database, company: Company
    ) -> None:
        before = [await count(db, m) for m in (Ticket, Contact, Tag, Message)]
        with pytest.raises(service.NotInGroup) as err:
            await new_ticket(
                db, company, assignee_id=company.l2_agent.id, requester_id=None,
                requester={"email": "someone@new.io"}, tags=["never-seen"],
            )  # fmt: skip
        assert err.value.field == "assignee_id"
        assert err.value.status_code == 422
        assert [await count(db, m) for m in (Ticket, Contact, Tag, Message)] == before

    async def test_a_missing_required_field_is_named(self, db: Database, company: Company) -> None:
        await require_field(db, required=True)
        with pytest.raises(FieldRequired) as err:
            await new_ticket(db, company)
        assert err.value.field == "custom_fields.order_id"
        ticket = await new_ticket(db, company, custom_fields={"order_id": "A-1"})
        assert ticket.custom_fields == {"order_id": "A-1"}
        assert ticket.number == 1

    async def test_a_ticket_cannot_be_created_closed(self, db: Database, company: Company) -> None:
        with pytest.raises(InvalidInput) as err:
            await new_ticket(db, company, status="closed")
        assert err.value.field == "status"

    async def test_html_from_outside_is_sanitized(self, db: Database, company: Company) -> None:
        html = (
            '<p>See <a href="https://status.example.com/x">status</a></p>'
            "<script>alert('x')</script><img src=\"x.png\" onerror=\"alert('y')\">"
        )
        ticket = await new_ticket(db, company, body="", html=html)
        (message,) = await messages_of(db, ticket.id)
        assert "<script" not in message.body_html
        assert "onerror" not in message.body_html
        assert 'href="https://status.example.com/x"' in message.body_html
        assert message.body_text == "See status (https://status.example.com/x)"  # links kept

    async def test_a_customer_may_not_open_a_ticket_for_someone(
        self, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            actor = await as_customer(s, company.customer)
            with pytest.raises(Forbidden):
                await service.create_ticket(
                    s,
                    actor=actor,
                    data=TicketCreate(subject="x", body="y", requester_id=company.customer.id),
                )


class TestSubmitRequest:
    async def test_a_customer_opens_a_new_unassigned_ticket(
        self, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            actor = await as_customer(s, company.customer)
            ticket = await service.submit_request(
                s, actor=actor, data=CustomerTicketCreate(subject="Фото", body="Не грузится")
            )
            assert [e.name for e in events.pending(s)] == ["ticket.created"]
        loaded = await load(db, ticket.id)
        assert (loaded.status, loaded.channel, loaded.assignee_id) == ("new", "web", None)
        assert loaded.requester_id == company.customer.id
        (created,) = await timeline(db, ticket.id)
        assert created.actor_kind == "contact"
        assert created.actor_contact_id == company.customer.id

    async def test_a_field_hidden_from_customers_is_neither_asked_nor_accepted(
        self, db: Database, company: Company
    ) -> None:
        await require_field(db, key="internal_code", required=True, visible_to_customer=False)
        async with db.unit_of_work() as s:
            actor = await as_customer(s, company.customer)
            ticket = await service.submit_request(
                s, actor=actor, data=CustomerTicketCreate(subject="a", body="b")
            )
            assert ticket.custom_fields == {}
            with pytest.raises(InvalidInput) as err:
                await service.submit_request(
                    s,
                    actor=actor,
                    data=CustomerTicketCreate(
                        subject="a", body="b", custom_fields={"internal_code": "x"}
                    ),
                )
            assert err.value.field == "custom_fields.internal_code"


# --- changing ----------------------------------------------------------------------------


class TestUpdateTicket:
    async def test_each_changed_field_is_a_timeline_row_with_old_and_new(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l1_agent)
            await service.update_ticket(
                s,
                actor=actor,
                ticket_id=ticket.id,
                data=TicketUpdate(
                    status="pending", priority="urgent", assignee_id=company.l1_agent.id,
                    type="incident",
                ),
            )  # fmt: skip
            pending = events.pending(s)
        assert [(e.name, e.payload) for e in pending] == [
            (
                "ticket.updated",
                {
                    "by": f"user:{company.l1_agent.id}",
                    "ticket_id": ticket.id,
                    "fields": ["assignee_id", "priority", "status", "type"],
                    "changes": {  # old and new of what notifications act on
                        "status": ["new", "pending"],
                        "priority": ["normal", "urgent"],
                        "assignee_id": [None, company.l1_agent.id],
                    },
                },
            )
        ]
        changes = {
            e.field: (e.old_value, e.new_value, e.actor_user_id)
            for e in await timeline(db, ticket.id)
            if e.kind == "field_changed"
        }
        me = company.l1_agent.id
        assert changes == {
            "status": ("new", "pending", me),
            "priority": ("normal", "urgent", me),
            "type": ("question", "incident", me),
            "assignee_id": (None, me, me),
        }

    async def test_an_update_that_changes_nothing_records_nothing(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l1_agent)
            await service.update_ticket(
                s, actor=actor, ticket_id=ticket.id, data=TicketUpdate(priority="normal")
            )
            assert events.pending(s) == []
        assert [e.kind for e in await timeline(db, ticket.id)] == ["created"]
        assert (await load(db, ticket.id)).updated_at == ticket.updated_at

    async def test_a_closed_ticket_is_final(self, db: Database, company: Company) -> None:
        ticket = await new_ticket(db, company)
        await update(db, company.l1_agent, ticket.id, status="closed")
        with pytest.raises(service.TicketClosed) as err:
            await update(db, company.l1_agent, ticket.id, priority="high")
        assert err.value.status_code == 409
        assert err.value.code == "ticket_closed"
        assert (await load(db, ticket.id)).priority == "normal"

    @pytest.mark.parametrize(("first", "then"), [("solved", "pending"), ("open", "new")])
    async def test_a_transition_outside_the_rules_is_refused(
        self, db: Database, company: Company, first: str, then: str
    ) -> None:
        ticket = await new_ticket(db, company)
        await update(db, company.l1_agent, ticket.id, status=first)
        with pytest.raises(service.InvalidTransition) as err:
            await update(db, company.l1_agent, ticket.id, status=then)
        assert err.value.status_code == 409
        assert (await load(db, ticket.id)).status == first

    async def test_solving_and_reopening_set_and_clear_solved_at(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        solved = await update(db, company.l1_agent, ticket.id, status="solved")
        assert solved.solved_at is not None
        reopened = await update(db, company.l1_agent, ticket.id, status="open")
        assert reopened.solved_at is None
        closed = await update(db, company.l1_agent, ticket.id, status="closed")
        assert closed.closed_at is not None

    async def test_assigning_needs_the_agent_to_be_in_the_tickets_group(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        with pytest.raises(service.NotInGroup) as err:
            await update(db, company.l1_agent, ticket.id, assignee_id=company.l2_agent.id)
        assert err.value.code == "assignee_not_in_group"
        assert (await load(db, ticket.id)).assignee_id is None

    async def test_assigning_and_changing_the_group_at_once_checks_the_new_group(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        moved = await update(
            db, company.l1_agent, ticket.id,
            group_id=company.l2_group_id, assignee_id=company.l2_agent.id,
        )  # fmt: skip
        assert (moved.group_id, moved.line, moved.assignee_id) == (
            company.l2_group_id, 2, company.l2_agent.id,
        )  # fmt: skip

    async def test_moving_to_another_group_unassigns_an_assignee_outside_it(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company, assignee_id=company.l1_agent.id)
        moved = await update(db, company.l1_agent, ticket.id, group_id=company.l2_group_id)
        assert moved.assignee_id is None
        fields = {e.field: e.new_value for e in await timeline(db, ticket.id)}
        assert fields["assignee_id"] is None
        assert fields["group_id"] == company.l2_group_id
        assert fields["line"] == 2

    async def test_solving_needs_the_required_fields(self, db: Database, company: Company) -> None:
        ticket = await new_ticket(db, company)
        await require_field(db, required=True)  # added after the ticket was opened
        with pytest.raises(FieldRequired) as err:
            await update(db, company.l1_agent, ticket.id, status="solved")
        assert err.value.field == "custom_fields.order_id"
        solved = await update(
            db, company.l1_agent, ticket.id, status="solved", custom_fields={"order_id": "A-7"}
        )
        assert (solved.status, solved.custom_fields) == ("solved", {"order_id": "A-7"})

    async def test_a_field_made_required_later_does_not_block_other_edits(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        await require_field(db, key="app_version")
        await require_field(db, required=True)
        edited = await update(
            db, company.l1_agent, ticket.id, custom_fields={"app_version": "5.12"}
        )
        assert edited.custom_fields == {"app_version": "5.12"}
        with pytest.raises(FieldRequired):
            await update(db, company.l1_agent, ticket.id, status="solved")

    async def test_tags_are_set_added_and_removed_with_one_timeline_row_each(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company, tags=["login"])
        await update(db, company.l1_agent, ticket.id, add_tags=["VIP Customer"])
        await update(db, company.l1_agent, ticket.id, remove_tags=["login"], add_tags=["2fa"])
        await update(db, company.l1_agent, ticket.id, tags=["x"])
        rows = [
            (e.old_value, e.new_value) for e in await timeline(db, ticket.id) if e.field == "tags"
        ]
        assert rows == [
            (["login"], ["login", "vip-customer"]),
            (["login", "vip-customer"], ["2fa", "vip-customer"]),
            (["2fa", "vip-customer"], ["x"]),
        ]

    async def test_a_tag_change_is_published_as_a_domain_event(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l1_agent)
            await service.update_ticket(
                s, actor=actor, ticket_id=ticket.id, data=TicketUpdate(add_tags=["vip"])
            )
            pending = events.pending(s)
        assert [(e.name, e.payload["fields"]) for e in pending] == [("ticket.updated", ["tags"])]

    async def test_a_customer_may_not_change_a_ticket(self, db: Database, company: Company) -> None:
        ticket = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            actor = await as_customer(s, company.customer)
            with pytest.raises(Forbidden):
                await service.update_ticket(
                    s, actor=actor, ticket_id=ticket.id, data=TicketUpdate(status="solved")
                )


class TestAddMessage:
    async def test_the_first_public_reply_sets_first_responded_at_and_opens_the_ticket(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l1_agent)
            added = await service.add_message(
                s, actor=actor, ticket_id=ticket.id, data=MessageCreate(body="Try resetting it")
            )
            pending = events.pending(s)
        assert [(e.name, e.payload) for e in pending] == [
            (
                "message.created",
                {
                    "by": f"user:{company.l1_agent.id}",
                    "ticket_id": ticket.id,
                    "message_id": added.message.id,
                    "visibility": "public",
                    "changes": {"status": ["new", "open"]},  # the SLA clock reads it
                },
            )
        ]
        loaded = await load(db, ticket.id)
        assert loaded.first_responded_at == added.message.created_at
        assert loaded.last_agent_message_at == added.message.created_at
        assert loaded.status == "open"
        kinds = [(e.kind, e.field) for e in await timeline(db, ticket.id)]
        assert kinds[1:] == [
            ("field_changed", "first_responded_at"),
            ("field_changed", "status"),
            ("reply_added", None),
        ]

    async def test_a_later_reply_keeps_the_first_response_time(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        for body in ("first", "second"):
            async with db.unit_of_work() as s:
                actor = await as_agent(s, company.l1_agent)
                await service.add_message(
                    s, actor=actor, ticket_id=ticket.id, data=MessageCreate(body=body)
                )
        first, second = (await messages_of(db, ticket.id))[1:]
        loaded = await load(db, ticket.id)
        assert loaded.first_responded_at == first.created_at
        assert loaded.last_agent_message_at == second.created_at

    async def test_an_internal_note_is_not_a_response(self, db: Database, company: Company) -> None:
        ticket = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l1_agent)
            added = await service.add_message(
                s, actor=actor, ticket_id=ticket.id,
                data=MessageCreate(body="customer seems confused", visibility="internal"),
            )  # fmt: skip
            assert events.pending(s)[0].payload["visibility"] == "internal"
        loaded = await load(db, ticket.id)
        assert loaded.first_responded_at is None
        assert loaded.last_agent_message_at is None
        assert loaded.status == "new"
        assert added.message.channel == "agent"
        assert [e.kind for e in await timeline(db, ticket.id)] == ["created", "note_added"]

    async def test_a_closed_ticket_takes_no_more_messages(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        await update(db, company.l1_agent, ticket.id, status="closed")
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l1_agent)
            with pytest.raises(service.TicketClosed):
                await service.add_message(
                    s, actor=actor, ticket_id=ticket.id, data=MessageCreate(body="late")
                )
        assert len(await messages_of(db, ticket.id)) == 1

    async def test_attachments_are_claimed_once_and_only_by_their_uploader(
        self, db: Database, company: Company, settings: Settings
    ) -> None:
        ticket = await new_ticket(db, company)
        store = BlobStore(settings.attachments_dir)
        async with db.unit_of_work() as s:
            lena = await as_agent(s, company.l1_agent)
            att = await service.upload_attachment(
                s, actor=lena, store=store, filename="log.txt", content_type="text/plain",
                data=b"trace", max_bytes=settings.max_attachment_bytes,
            )  # fmt: skip
        with pytest.raises(InvalidInput) as err:
            async with db.unit_of_work() as s:
                igor = await as_agent(s, company.l2_agent)
                await service.add_message(
                    s, actor=igor, ticket_id=ticket.id,
                    data=MessageCreate(body="mine now", attachment_ids=[att.id]),
                )  # fmt: skip
        assert err.value.field == "attachment_ids"
        async with db.unit_of_work() as s:
            lena = await as_agent(s, company.l1_agent)
            added = await service.add_message(
                s, actor=lena, ticket_id=ticket.id, data=MessageCreate(attachment_ids=[att.id])
            )
        with pytest.raises(InvalidInput):
            async with db.unit_of_work() as s:
                lena = await as_agent(s, company.l1_agent)
                await service.add_message(
                    s, actor=lena, ticket_id=ticket.id,
                    data=MessageCreate(body="again", attachment_ids=[att.id]),
                )  # fmt: skip
        async with db.unit_of_work(write=False) as s:
            stored = await s.get(Attachment, att.id)
        assert stored is not None and stored.message_id == added.message.id
        assert len(await messages_of(db, ticket.id)) == 2  # the failed ones left nothing

    async def test_a_reply_takes_a_fixed_number_of_queries(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l1_agent)
            with counting_queries(db) as first:
                await service.add_message(
                    s, actor=actor, ticket_id=ticket.id, data=MessageCreate(body="one")
                )
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l1_agent)
            with counting_queries(db) as later:
                await service.add_message(
                    s, actor=actor, ticket_id=ticket.id, data=MessageCreate(body="two")
                )
        # load the ticket, insert the message and its search document, update the ticket,
        # insert the timeline rows (one batch on PostgreSQL, one row each on SQLite)
        assert len(later) == 5, "\n".join(q[:70] for q in later)
        assert len(first) == (5 if db.dialect == "postgresql" else 7)


class TestAddCustomerMessage:
    async def customer_reply(
        self, db: Database, persona: Persona, ticket_id: int, body: str = "Still broken"
    ) -> service.MessageAdded:
        async with db.unit_of_work() as s:
            actor = await as_customer(s, persona)
            return await service.add_customer_message(
                s, actor=actor, ticket_id=ticket_id, data=CustomerMessageCreate(body=body)
            )

    @pytest.mark.parametrize(
        ("before", "after"), [("solved", "open"), ("pending", "open"), ("on_hold", "on_hold")]
    )
    async def test_a_reply_reopens_a_solved_or_pending_ticket(
        self, db: Database, company: Company, before: str, after: str
    ) -> None:
        ticket = await new_ticket(db, company)
        await update(db, company.l1_agent, ticket.id, status=before)
        added = await self.customer_reply(db, company.customer, ticket.id)
        loaded = await load(db, ticket.id)
        assert added.ticket.id == ticket.id
        assert added.follow_up_of is None
        assert loaded.status == after
        assert loaded.last_customer_message_at == added.message.created_at
        if after == "open":
            assert loaded.solved_at is None
            reopen = (await timeline(db, ticket.id))[-2]
            assert (reopen.field, reopen.old_value, reopen.new_value) == ("status", before, "open")
            assert reopen.actor_contact_id == company.customer.id

    async def test_a_reply_to_a_closed_ticket_opens_a_linked_follow_up(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company, tags=["login"], priority="high")
        await update(db, company.l1_agent, ticket.id, status="closed")
        added = await self.customer_reply(db, company.customer, ticket.id, "It broke again")
        follow_up = await load(db, added.ticket.id)
        assert added.follow_up_of is not None and added.follow_up_of.id == ticket.id
        assert follow_up.id != ticket.id
        assert follow_up.number == 2
        assert follow_up.subject == "Follow-up: Cannot sign in"
        assert (follow_up.status, follow_up.priority) == ("new", "high")
        assert follow_up.group_id == company.l1_group_id
        assert [m.body_text for m in await messages_of(db, follow_up.id)] == ["It broke again"]
        assert len(await messages_of(db, ticket.id)) == 1  # the closed ticket is untouched
        assert (await load(db, ticket.id)).status == "closed"
        async with db.unit_of_work(write=False) as s:
            links = await repository.links_of(s, ticket.id)
        assert [(lk.source_id, lk.target_id, lk.kind) for lk in links] == [
            (ticket.id, follow_up.id, LinkKind.FOLLOW_UP)
        ]

    async def test_a_reply_to_a_merged_ticket_lands_on_the_target(
        self, db: Database, company: Company
    ) -> None:
        source = await new_ticket(db, company)
        target = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l1_agent)
            await service.merge_tickets(s, actor=actor, source_id=source.id, into_id=target.id)
        added = await self.customer_reply(db, company.customer, source.id)
        assert added.ticket.id == target.id
        assert added.follow_up_of is None

    async def test_an_agent_may_not_reply_as_a_customer(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l1_agent)
            with pytest.raises(Forbidden):
                await service.add_customer_message(
                    s, actor=actor, ticket_id=ticket.id, data=CustomerMessageCreate(body="x")
                )


class TestChannelBatches:
    """``open_tickets_from_channel`` and ``add_channel_messages``: many at once (the email
    intake's batches), as the one-at-a-time use cases would, in few statements."""

    async def contact(self, db: Database, persona: Persona) -> Contact:
        async with db.unit_of_work(write=False) as s:
            found = await s.get(Contact, persona.id)
        assert found is not None
        return found

    async def test_tickets_opened_together_have_consecutive_numbers_and_their_rows(
        self, db: Database, company: Company
    ) -> None:
        first = await new_ticket(db, company)
        customer = await self.contact(db, company.customer)
        requests = [
            service.ChannelRequest(
                customer,
                f"Question {i}",
                service.ChannelMessage(channel="email", body=f"Body {i}"),
                group_id=company.l1_group_id,
            )
            for i in range(10)
        ]
        with counting_queries(db) as statements:
            async with db.unit_of_work() as s:
                opened = await service.open_tickets_from_channel(s, requests)
                recorded = [e.name for e in events.pending(s)]
        assert [a.ticket.number for a in opened] == list(range(first.number + 1, first.number + 11))
        assert recorded == ["ticket.created"] * 10
        for i, added in enumerate(opened):
            assert [m.body_text for m in await messages_of(db, added.ticket.id)] == [f"Body {i}"]
            assert [e.kind for e in await timeline(db, added.ticket.id)] == ["created"]
        # the numbers taken at once (the timing is the benchmark's: benchmarks/email.py)
        assert len([q for q in statements if q.startswith("UPDATE counters")]) == 1

    async def test_replies_together_reopen_and_record_like_one_reply(
        self, db: Database, company: Company
    ) -> None:
        solved = await new_ticket(db, company)
        await update(db, company.l1_agent, solved.id, status="solved")
        held = await new_ticket(db, company)
        await update(db, company.l1_agent, held.id, status="on_hold")
        customer = await self.contact(db, company.customer)
        async with db.unit_of_work() as s:
            added = await service.add_channel_messages(
                s,
                [
                    service.ChannelReply(customer, solved.id,
                                         service.ChannelMessage(channel="email", body="Again")),
                    service.ChannelReply(customer, held.id,
                                         service.ChannelMessage(channel="email", body="Any news?",
                                                                quiet=True)),
                ],
            )  # fmt: skip
            recorded = [(e.name, e.payload["changes"]) for e in events.pending(s)]
        assert [a.message.body_text for a in added] == ["Again", "Any news?"]
        assert (await load(db, solved.id)).status == "open"
        assert (await load(db, held.id)).status == "on_hold"
        assert recorded == [
            ("message.created", {"status": ["solved", "open"]}),
            ("message.created", {}),
        ]
        assert [e.kind for e in await timeline(db, solved.id)][-2:] == [
            "field_changed", "reply_added",
        ]  # fmt: skip

    @pytest.mark.parametrize("backend", ["postgres"])  # SQLite: one writer, nobody else can
    async def test_a_ticket_closed_meanwhile_is_seen_closed(
        self, db: Database, company: Company
    ) -> None:
        """The ticket read earlier in the transaction is read again under its lock, so a
        close committed in between refuses the reply."""
        ticket = await new_ticket(db, company)
        customer = await self.contact(db, company.customer)
        message = service.ChannelMessage(channel="email", body="Hello")
        with pytest.raises(InvalidInput):
            async with db.unit_of_work() as s:
                loaded = await s.get(Ticket, ticket.id)
                assert loaded is not None and loaded.status == "new"
                await update(db, company.l1_agent, ticket.id, status="closed")
                await service.add_channel_messages(
                    s, [service.ChannelReply(customer, ticket.id, message)]
                )
        assert [m.body_text for m in await messages_of(db, ticket.id)] == [
            "The app says my password is wrong."
        ]

    @pytest.mark.parametrize("case", ["someone_else", "closed", "merged", "twice"])
    async def test_what_must_go_one_at_a_time_is_refused_and_nothing_is_written(
        self, db: Database, company: Company, case: str
    ) -> None:
        ticket = await new_ticket(db, company)
        other = await new_ticket(db, company)
        persona = company.same_org_customer if case == "someone_else" else company.customer
        contact = await self.contact(db, persona)
        if case == "closed":
            await update(db, company.l1_agent, ticket.id, status="closed")
        if case == "merged":
            async with db.unit_of_work() as s:
                actor = await as_agent(s, company.l1_agent)
                await service.merge_tickets(s, actor=actor, source_id=ticket.id, into_id=other.id)
        message = service.ChannelMessage(channel="email", body="Hello")
        replies = [service.ChannelReply(contact, ticket.id, message)]
        if case == "twice":
            replies.append(service.ChannelReply(contact, ticket.id, message))
        before = await count(db, Message)
        with pytest.raises(InvalidInput):
            async with db.unit_of_work() as s:
                await service.add_channel_messages(s, replies)
        assert await count(db, Message) == before


class TestDeescalateTicket:
    async def test_back_to_line_1_with_the_reason_as_a_note(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l1_agent)
            await service.escalate_ticket(
                s, actor=actor, ticket_id=ticket.id, data=EscalateIn(reason="needs L2")
            )
        async with db.unit_of_work() as s:
            igor = await as_agent(s, company.l2_agent)
            await service.deescalate_ticket(
                s, actor=igor, ticket_id=ticket.id,
                data=EscalateIn(reason="not a bug: the customer's password expired"),
            )  # fmt: skip
            pending = events.pending(s)
        loaded = await load(db, ticket.id)
        assert (loaded.line, loaded.group_id) == (1, company.l1_group_id)
        note = (await messages_of(db, ticket.id))[-1]
        assert note.visibility == "internal" and "password expired" in note.body_text
        assert [(e.name, e.payload["from_line"], e.payload["to_line"]) for e in pending] == [
            ("ticket.escalated", 2, 1)
        ]
        kinds = [e.kind for e in await timeline(db, ticket.id)]
        assert "deescalated" in kinds

    async def test_line_1_cannot_go_lower_and_a_reason_is_required(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l1_agent)
            with pytest.raises(service.NoLowerLine):
                await service.deescalate_ticket(
                    s, actor=actor, ticket_id=ticket.id, data=EscalateIn(reason="x")
                )
            with pytest.raises(FieldRequired):
                await service.deescalate_ticket(
                    s, actor=actor, ticket_id=ticket.id, data=EscalateIn(reason="   ")
                )


class TestEscalateTicket:
    async def escalate(
        self, db: Database, persona: Persona, ticket_id: int, reason: str, **extra: Any
    ) -> Ticket:
        async with db.unit_of_work() as s:
            actor = await as_agent(s, persona)
            return await service.escalate_ticket(
                s, actor=actor, ticket_id=ticket_id, data=EscalateIn(reason=reason, **extra)
            )

    async def test_reason_is_required(self, db: Database, company: Company) -> None:
        ticket = await new_ticket(db, company)
        with pytest.raises(FieldRequired) as err:
            await self.escalate(db, company.l1_agent, ticket.id, "   ")
        assert err.value.field == "reason"
        assert (await load(db, ticket.id)).line == 1

    async def test_moves_the_ticket_to_the_next_line_keeping_the_reason_as_a_note(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l1_agent)
            await service.escalate_ticket(
                s, actor=actor, ticket_id=ticket.id, data=EscalateIn(reason="DB error 0x42")
            )
            pending = events.pending(s)
        assert [(e.name, e.payload) for e in pending] == [
            (
                "ticket.escalated",
                {
                    "by": f"user:{company.l1_agent.id}",
                    "ticket_id": ticket.id,
                    "from_line": 1,
                    "to_line": 2,
                    "group_id": company.l2_group_id,
                    "assignee_cleared": False,
                },
            )
        ]
        loaded = await load(db, ticket.id)
        assert (loaded.line, loaded.group_id, loaded.status) == (2, company.l2_group_id, "open")
        assert loaded.escalated_at is not None
        note = (await messages_of(db, ticket.id))[-1]
        assert note.visibility == "internal"
        assert "DB error 0x42" in note.body_text
        escalated = (await timeline(db, ticket.id))[-1]
        assert escalated.kind == "escalated"
        assert escalated.old_value == {"line": 1, "group_id": company.l1_group_id}
        assert escalated.new_value == {
            "line": 2, "group_id": company.l2_group_id, "reason": "DB error 0x42",
        }  # fmt: skip
        assert escalated.message_id == note.id

    async def test_the_old_assignee_is_unassigned_when_not_in_the_new_group(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company, assignee_id=company.l1_agent.id)
        escalated = await self.escalate(db, company.l1_agent, ticket.id, "needs L2")
        assert escalated.assignee_id is None
        unassigned = [e for e in await timeline(db, ticket.id) if e.field == "assignee_id"]
        assert [(e.old_value, e.new_value) for e in unassigned] == [(company.l1_agent.id, None)]

    async def test_an_assignee_who_is_in_the_new_group_keeps_the_ticket(
        self, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            await auth_service.update_user(
                s, actor=system_actor("tests"), user_id=company.l1_agent.id,
                data=UserUpdate(group_ids=[company.l1_group_id, company.l2_group_id]),
            )  # fmt: skip
        ticket = await new_ticket(db, company, assignee_id=company.l1_agent.id)
        escalated = await self.escalate(db, company.l1_agent, ticket.id, "needs L2")
        assert escalated.assignee_id == company.l1_agent.id

    async def test_from_l3_it_goes_to_a_vendor_group_when_there_is_one(
        self, db: Database, company: Company
    ) -> None:
        vendor = await add_vendor_group(db)
        ticket = await new_ticket(db, company, group_id=company.l3_group_id)
        escalated = await self.escalate(db, company.l1_agent, ticket.id, "vendor bug")
        assert (escalated.line, escalated.group_id) == (4, vendor)

    async def test_from_l3_without_a_vendor_group_there_is_no_higher_line(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company, group_id=company.l3_group_id)
        with pytest.raises(service.NoHigherLine) as err:
            await self.escalate(db, company.l1_agent, ticket.id, "vendor bug")
        assert err.value.status_code == 409

    async def test_at_the_vendor_line_there_is_no_higher_line(
        self, db: Database, company: Company
    ) -> None:
        vendor = await add_vendor_group(db)
        ticket = await new_ticket(db, company, group_id=vendor)
        with pytest.raises(service.NoHigherLine) as err:
            await self.escalate(db, company.l1_agent, ticket.id, "more")
        assert err.value.code == "no_higher_line"
        assert len(await messages_of(db, ticket.id)) == 1

    async def test_a_named_group_must_be_above_the_current_line(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company, group_id=company.l2_group_id)
        with pytest.raises(InvalidInput) as err:
            await self.escalate(
                db, company.l2_agent, ticket.id, "sideways", group_id=company.l1_group_id
            )
        assert err.value.field == "group_id"
        escalated = await self.escalate(
            db, company.l2_agent, ticket.id, "up", group_id=company.l3_group_id
        )
        assert (escalated.line, escalated.group_id) == (3, company.l3_group_id)

    async def test_a_closed_ticket_cannot_be_escalated(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        await update(db, company.l1_agent, ticket.id, status="closed")
        with pytest.raises(service.TicketClosed):
            await self.escalate(db, company.l1_agent, ticket.id, "too late")


class TestMergeTickets:
    async def merge(self, db: Database, company: Company, source_id: int, into_id: int) -> Ticket:
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l1_agent)
            return await service.merge_tickets(s, actor=actor, source_id=source_id, into_id=into_id)

    async def test_moves_the_messages_and_closes_the_source_pointing_at_the_target(
        self, db: Database, company: Company
    ) -> None:
        source = await new_ticket(db, company, subject="Second mail about login")
        target = await new_ticket(db, company, requester_id=company.same_org_customer.id)
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l1_agent)
            await service.add_message(
                s, actor=actor, ticket_id=source.id,
                data=MessageCreate(body="checked logs", visibility="internal"),
            )  # fmt: skip
            await service.merge_tickets(s, actor=actor, source_id=source.id, into_id=target.id)
            assert [e.name for e in events.pending(s)][-1] == "ticket.merged"
            assert events.pending(s)[-1].payload == {
                "by": f"user:{company.l1_agent.id}",
                "ticket_id": source.id,
                "into_id": target.id,
            }
        merged_source = await load(db, source.id)
        assert merged_source.status == "closed"
        assert merged_source.merged_into_id == target.id
        assert merged_source.closed_at is not None
        bodies = [m.body_text for m in await messages_of(db, target.id)]
        assert bodies[:3] == [
            "The app says my password is wrong.",  # the target's own description
            "The app says my password is wrong.",  # moved from the source
            "checked logs",
        ]
        assert bodies[3] == "Ticket #1 was merged into this ticket."
        assert [m.body_text for m in await messages_of(db, source.id)] == ["Merged into ticket #2."]
        source_events = {e.field: e.new_value for e in await timeline(db, source.id)}
        assert source_events["merged_into_id"] == target.id
        assert source_events["status"] == "closed"
        merged_in = (await timeline(db, target.id))[-1]
        assert merged_in.new_value == {"ticket_id": source.id, "messages": 2}
        async with db.unit_of_work(write=False) as s:
            followers = await repository.followers_of(s, target.id)
            links = await repository.links_of(s, source.id)
        assert [f.contact_id for f in followers] == [company.customer.id]
        assert [(lk.target_id, lk.kind) for lk in links] == [(target.id, "duplicate")]

    async def test_a_ticket_cannot_be_merged_into_itself(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        with pytest.raises(InvalidInput) as err:
            await self.merge(db, company, ticket.id, ticket.id)
        assert err.value.field == "into_id"

    async def test_a_ticket_cannot_be_merged_into_a_closed_one(
        self, db: Database, company: Company
    ) -> None:
        source = await new_ticket(db, company)
        target = await new_ticket(db, company)
        await update(db, company.l1_agent, target.id, status="closed")
        with pytest.raises(service.TicketClosed) as err:
            await self.merge(db, company, source.id, target.id)
        assert err.value.status_code == 409
        assert (await load(db, source.id)).merged_into_id is None
        assert len(await messages_of(db, source.id)) == 1

    async def test_a_closed_ticket_cannot_be_merged_away(
        self, db: Database, company: Company
    ) -> None:
        source = await new_ticket(db, company)
        target = await new_ticket(db, company)
        await update(db, company.l1_agent, source.id, status="closed")
        with pytest.raises(service.TicketClosed):
            await self.merge(db, company, source.id, target.id)

    async def test_an_unknown_target_is_named(self, db: Database, company: Company) -> None:
        source = await new_ticket(db, company)
        with pytest.raises(InvalidInput) as err:
            await self.merge(db, company, source.id, 999_999)
        assert err.value.field == "into_id"


class TestLinkTicket:
    async def link(self, db: Database, company: Company, ticket_id: int, **data: Any) -> TicketLink:
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l2_agent)
            return await service.link_ticket(
                s, actor=actor, ticket_id=ticket_id, data=LinkCreate(**data)
            )

    @pytest.mark.parametrize("kind", ["related", "parent"])
    async def test_links_two_tickets(self, db: Database, company: Company, kind: str) -> None:
        a = await new_ticket(db, company)
        b = await new_ticket(db, company)
        link = await self.link(db, company, a.id, kind=kind, target_id=b.id)
        assert (link.source_id, link.target_id, link.kind) == (a.id, b.id, kind)
        assert link.created_by_id == company.l2_agent.id
        async with db.unit_of_work(write=False) as s:
            assert [lk.id for lk in await repository.links_of(s, b.id)] == [link.id]
        linked = (await timeline(db, a.id))[-1]
        assert (linked.kind, linked.field, linked.new_value) == ("linked", kind, b.id)

    async def test_links_a_vendor_issue_by_its_url(self, db: Database, company: Company) -> None:
        ticket = await new_ticket(db, company)
        link = await self.link(
            db, company, ticket.id, kind="vendor",
            external_url="https://vendor.example.com/issues/77", external_ref="VND-77",
        )  # fmt: skip
        assert (link.kind, link.target_id, link.external_ref) == ("vendor", None, "VND-77")

    async def test_an_external_link_must_be_http(self, db: Database, company: Company) -> None:
        ticket = await new_ticket(db, company)
        with pytest.raises(InvalidInput) as err:
            await self.link(db, company, ticket.id, kind="vendor", external_url="javascript:x")
        assert err.value.field == "external_url"

    async def test_a_ticket_cannot_be_linked_to_itself_or_twice_the_same_way(
        self, db: Database, company: Company
    ) -> None:
        a = await new_ticket(db, company)
        b = await new_ticket(db, company)
        with pytest.raises(InvalidInput):
            await self.link(db, company, a.id, target_id=a.id)
        await self.link(db, company, a.id, target_id=b.id)
        with pytest.raises(service.Conflict):
            await self.link(db, company, a.id, target_id=b.id)
        await self.link(db, company, a.id, target_id=b.id, kind="parent")  # another kind is fine

    async def test_unlinking_removes_the_link_and_records_it(
        self, db: Database, company: Company
    ) -> None:
        a = await new_ticket(db, company)
        b = await new_ticket(db, company)
        link = await self.link(db, company, a.id, target_id=b.id)
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l2_agent)
            await service.unlink_ticket(s, actor=actor, ticket_id=b.id, link_id=link.id)
        assert await count(db, TicketLink) == 0
        unlinked = (await timeline(db, b.id))[-1]
        assert (unlinked.kind, unlinked.old_value) == ("unlinked", b.id)


class TestUploadAttachment:
    async def upload(
        self, db: Database, company: Company, settings: Settings, name: str, data: bytes
    ) -> Attachment:
        async with db.unit_of_work() as s:
            actor = await as_agent(s, company.l1_agent)
            return await service.upload_attachment(
                s, actor=actor, store=BlobStore(settings.attachments_dir), filename=name,
                content_type=None, data=data, max_bytes=settings.max_attachment_bytes,
            )  # fmt: skip

    async def test_the_bytes_are_stored_once_by_their_hash_under_the_data_dir(
        self, db: Database, company: Company, settings: Settings
    ) -> None:
        data = b"%PDF-1.7 invoice"
        digest = hashlib.sha256(data).hexdigest()
        first = await self.upload(db, company, settings, "invoice.pdf", data)
        second = await self.upload(db, company, settings, "copy.pdf", data)
        path = settings.attachments_dir / digest[:2] / digest[2:4] / digest
        assert path.read_bytes() == data
        assert first.sha256 == second.sha256 == digest
        assert first.id != second.id
        assert (first.content_type, first.size) == ("application/pdf", len(data))
        assert len([p for p in settings.attachments_dir.rglob("*") if p.is_file()]) == 1

    @pytest.mark.parametrize(
        ("given", "kept"),
        [
            ("../../etc/passwd", "passwd"),
            ("..\\..\\windows\\win.ini", "win.ini"),
            ("re\x00port\x1b[31m.txt", "report[31m.txt"),
            ("отчёт за май.xlsx", "отчёт за май.xlsx"),
            ("...", "attachment"),
        ],
    )
    async def test_the_file_name_is_sanitized(
        self, db: Database, company: Company, settings: Settings, given: str, kept: str
    ) -> None:
        att = await self.upload(db, company, settings, given, b"x")
        assert att.filename == kept

    async def test_a_file_over_the_limit_is_refused_and_not_stored(
        self, db: Database, company: Company, settings: Settings
    ) -> None:
        with pytest.raises(PayloadTooLarge) as err:
            await self.upload(
                db, company, settings, "big.bin", b"x" * (settings.max_attachment_bytes + 1)
            )
        assert err.value.status_code == 413
        assert await count(db, Attachment) == 0
        assert not settings.attachments_dir.exists() or not any(settings.attachments_dir.rglob("*"))

    async def test_an_empty_file_is_refused(
        self, db: Database, company: Company, settings: Settings
    ) -> None:
        with pytest.raises(InvalidInput):
            await self.upload(db, company, settings, "empty.txt", b"")


class TestListTickets:
    async def test_the_query_count_does_not_grow_with_the_page(
        self, db: Database, company: Company
    ) -> None:
        async def list_all() -> int:
            async with db.unit_of_work(write=False) as s:
                actor = await as_agent(s, company.l1_agent)
                with counting_queries(db) as queries:
                    tickets, tags, _ = await service.list_tickets(
                        s, actor=actor, filters=repository.TicketFilters(), query="password"
                    )
                assert all(tags[t.id] == ["login"] for t in tickets)
                return len(queries)

        await new_ticket(db, company, tags=["login"])
        one = await list_all()
        for _ in range(4):
            await new_ticket(db, company, tags=["login"])
        # the page and its tags, plus on SQLite the count that picks the plan for a search
        assert await list_all() == one == (3 if db.is_sqlite else 2)


class TestTicketTimeline:
    async def test_a_customer_may_not_read_the_timeline(
        self, db: Database, company: Company
    ) -> None:
        ticket = await new_ticket(db, company)
        async with db.unit_of_work(write=False) as s:
            actor = await as_customer(s, company.customer)
            with pytest.raises(Forbidden):
                await service.ticket_timeline(s, actor=actor, ticket_id=ticket.id)
