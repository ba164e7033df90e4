"""Contact use cases the API tests do not reach: finding or creating many contacts by
address at once (the email intake's batches)."""

from __future__ import annotations

from sqlalchemy import select

from opora.auth.actor import system_actor
from opora.contacts import repository, service
from opora.contacts.models import Contact, ContactIdentity
from opora.contacts.schemas import OrganizationCreate
from opora.db import Database
from tests.conftest import Company


class TestFindOrCreateByEmails:
    async def test_found_created_and_the_same_address_twice(
        self, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            org = await service.create_organization(
                s, actor=system_actor("t"),
                data=OrganizationCreate(name="Initech", domains=["initech.example"]),
            )  # fmt: skip
            org_id = org.id
        async with db.unit_of_work() as s:
            existing = await s.get(Contact, company.customer.id)
            assert existing is not None
            address = await repository.primary_email(s, existing.id)
            assert address is not None
            found = await service.find_or_create_by_emails(
                s,
                [
                    (address.upper(), "Ignored Name", "en"),
                    ("Peter@Initech.example", "Peter", "en"),
                    ("anna@example.ru", "", "ru"),
                    ("peter@initech.example", "Pete", None),
                ],
            )
            ids = [c.id for c in found]
        assert ids[0] == company.customer.id
        assert ids[1] == ids[3] and len(set(ids)) == 3
        async with db.unit_of_work(write=False) as s:
            peter = await s.get(Contact, ids[1])
            anna = await s.get(Contact, ids[2])
            rows = await s.execute(
                select(ContactIdentity.value, ContactIdentity.is_primary).where(
                    ContactIdentity.contact_id.in_(ids[1:3])
                )
            )
            identities = sorted(rows.all())
        assert peter is not None and anna is not None
        assert (peter.name, peter.organization_id, peter.language) == ("Peter", org_id, "en")
        assert (anna.name, anna.organization_id, anna.language) == ("anna", None, "ru")
        assert identities == [("anna@example.ru", True), ("peter@initech.example", True)]

    async def test_primary_addresses_are_read_once_for_many(
        self, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            ids = [company.customer.id, company.same_org_customer.id]
            await repository.remember_primary_emails(s, ids)
            remembered = [await repository.primary_email(s, i) for i in ids]
        async with db.unit_of_work(write=False) as s:
            read = [await repository.primary_email(s, i) for i in ids]
        assert remembered == read and all(read)
