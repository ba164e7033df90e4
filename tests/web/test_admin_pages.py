"""The admin pages (src/opora/admin/pages.py) on both backends."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.models import Group, User
from opora.auth.schemas import UserUpdate
from opora.db import Database
from opora.tickets import service as tickets_service
from opora.tickets.schemas import RequesterIn, TicketCreate
from tests.conftest import Company
from tests.web.helpers import page_csrf, set_password, sign_in

ALICE = ("alice@opora.dev", "alice-secret")
LENA = ("lena@opora.dev", "lena-secret")
PAGES = ["/admin/users", "/admin/groups", "/admin/fields", "/admin/tags"]


@pytest.fixture
async def alice(client: httpx.AsyncClient, company: Company) -> httpx.AsyncClient:
    assert (await sign_in(client, *ALICE)).status_code == 303
    return client


async def _count(db: Database, model: type[User] | type[Group]) -> int:
    async with db.unit_of_work() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


class TestAccess:
    @pytest.mark.parametrize("path", PAGES)
    async def test_an_admin_sees_the_page_and_the_nav_link(
        self, alice: httpx.AsyncClient, path: str
    ) -> None:
        r = await alice.get(path)
        assert r.status_code == 200
        assert 'id="nav-admin"' in r.text

    @pytest.mark.parametrize("path", PAGES)
    async def test_an_agent_gets_403(
        self, client: httpx.AsyncClient, db: Database, company: Company, path: str
    ) -> None:
        await set_password(db, company.l1_agent.id, LENA[1])
        assert (await sign_in(client, *LENA)).status_code == 303
        r = await client.get(path)
        assert r.status_code == 403
        assert 'id="admin-forbidden"' in r.text
        assert 'id="nav-admin"' not in r.text

    async def test_anonymous_goes_to_login(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/admin/users")
        assert r.status_code == 303
        assert r.headers["location"].startswith("/login")


class TestUsers:
    async def test_creating_a_user_shows_it_in_the_table(
        self, alice: httpx.AsyncClient, company: Company
    ) -> None:
        data = {
            "csrf_token": await page_csrf(alice, "/admin/users"),
            "email": "nina@opora.dev",
            "name": "Nina New",
            "role": "supervisor",
            "language": "ru",
            "group_ids": [str(company.l2_group_id)],
        }
        r = await alice.post("/admin/users", data=data)
        assert r.status_code == 303
        page = (await alice.get("/admin/users")).text
        assert "Nina New" in page and "nina@opora.dev" in page

    async def test_a_duplicate_email_is_400_with_the_field_marked(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        before = await _count(db, User)
        data = {
            "csrf_token": await page_csrf(alice, "/admin/users"),
            "email": "lena@opora.dev",
            "name": "Second Lena",
        }
        r = await alice.post("/admin/users", data=data)
        assert r.status_code == 400
        assert 'id="email" name="email" type="email" value="lena@opora.dev"' in r.text
        assert 'aria-describedby="email-error"' in r.text
        assert 'value="Second Lena"' in r.text
        assert await _count(db, User) == before

    async def test_deactivating_a_user_from_the_edit_form(
        self, alice: httpx.AsyncClient, company: Company
    ) -> None:
        path = f"/admin/users/{company.l1_agent.id}"
        data = {"csrf_token": await page_csrf(alice, path), "role": "agent"}
        data["ticket_access"] = "groups"
        r = await alice.post(path, data=data)
        assert r.status_code == 303
        page = (await alice.get(path)).text
        assert 'name="is_active" >' in page  # the box is cleared: deactivated
        assert 'value="groups" checked' in page


class TestGroups:
    async def test_creating_a_group_shows_it_with_its_line(self, alice: httpx.AsyncClient) -> None:
        data = {
            "csrf_token": await page_csrf(alice, "/admin/groups"),
            "name": "Vendor Desk",
            "line": "4",
        }
        r = await alice.post("/admin/groups", data=data)
        assert r.status_code == 303
        page = (await alice.get("/admin/groups")).text
        assert "Vendor Desk" in page and "Vendor" in page

    async def test_a_group_in_use_cannot_be_deleted(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            await tickets_service.create_ticket(
                s,
                actor=system_actor("tests"),
                data=TicketCreate(
                    subject="Help",
                    body="Please help.",
                    requester=RequesterIn(email="carol@acme.ru", name="Carol Customer"),
                    group_id=company.l1_group_id,
                ),
            )
        before = await _count(db, Group)
        csrf = await page_csrf(alice, "/admin/groups")
        r = await alice.post(
            f"/admin/groups/{company.l1_group_id}/delete", data={"csrf_token": csrf}
        )
        assert r.status_code == 409
        assert 'id="group-in-use"' in r.text and "deactivate it instead" in r.text
        assert await _count(db, Group) == before


class TestFields:
    async def test_creating_a_select_field_shows_it(self, alice: httpx.AsyncClient) -> None:
        data = {
            "csrf_token": await page_csrf(alice, "/admin/fields"),
            "key": "product",
            "label": "Product",
            "label_ru": "Продукт",
            "type": "select",
            "options": "Printer\nScanner\n",
            "visible_to_customer": "on",
        }
        r = await alice.post("/admin/fields", data=data)
        assert r.status_code == 303
        page = (await alice.get("/admin/fields")).text
        assert "<code>product</code>" in page and "Printer, Scanner" in page

    async def test_a_select_without_options_is_refused(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        data = {
            "csrf_token": await page_csrf(alice, "/admin/fields"),
            "key": "product",
            "label": "Product",
            "type": "select",
        }
        r = await alice.post("/admin/fields", data=data)
        assert r.status_code == 400
        assert 'aria-describedby="options-error"' in r.text
        assert 'value="Product"' in r.text
        assert "<code>product</code>" not in (await alice.get("/admin/fields")).text


class TestTags:
    async def test_renaming_and_deleting_a_tag(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            tag = await tickets_service.create_tag(s, actor=system_actor("tests"), name="vip")
            other = await tickets_service.create_tag(s, actor=system_actor("tests"), name="urgent")
        csrf = await page_csrf(alice, "/admin/tags")
        r = await alice.post(f"/admin/tags/{tag.id}", data={"csrf_token": csrf, "name": "urgent"})
        assert r.status_code == 400 and f'aria-describedby="tag-{tag.id}-error"' in r.text
        r = await alice.post(f"/admin/tags/{tag.id}", data={"csrf_token": csrf, "name": "Gold"})
        assert r.status_code == 303
        assert 'value="gold"' in (await alice.get("/admin/tags")).text
        r = await alice.post(f"/admin/tags/{other.id}/delete", data={"csrf_token": csrf})
        assert r.status_code == 303
        assert 'value="urgent"' not in (await alice.get("/admin/tags")).text


class TestRussian:
    async def test_a_russian_admin_sees_russian_labels(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            await auth_service.update_user(
                s, actor=system_actor("tests"), user_id=company.admin.id,
                data=UserUpdate(language="ru"),
            )  # fmt: skip
        users = (await alice.get("/admin/users")).text
        assert "Пользователи" in users and "Новый пользователь" in users
        groups = (await alice.get("/admin/groups")).text
        assert "Группы" in groups and "Линия" in groups
