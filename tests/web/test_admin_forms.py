"""The admin pages for ticket forms (src/opora/admin/ticket_forms.py) on both backends."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from opora.auth.actor import system_actor
from opora.db import Database
from opora.fields import service as fields_service
from opora.fields.models import TicketForm
from opora.fields.schemas import CustomFieldCreate, TicketFormCreate
from tests.conftest import Company
from tests.web.helpers import page_csrf, set_password, sign_in

ALICE = ("alice@opora.dev", "alice-secret")
LENA = ("lena@opora.dev", "lena-secret")


@pytest.fixture
async def alice(client: httpx.AsyncClient, company: Company, db: Database) -> httpx.AsyncClient:
    actor = system_actor("tests")
    async with db.unit_of_work() as s:
        for key, label in (("platform", "Platform"), ("version", "Version"), ("order", "Order")):
            await fields_service.create_field(
                s, actor=actor, data=CustomFieldCreate(key=key, label=label, type="text")
            )
    assert (await sign_in(client, *ALICE)).status_code == 303
    return client


async def stored(db: Database) -> list[TicketForm]:
    async with db.unit_of_work() as s:
        return await fields_service.list_ticket_forms(s, actor=system_actor("tests"))


def form_data(csrf: str, **extra: Any) -> dict[str, Any]:
    return {
        "csrf_token": csrf,
        "name": "Bug report",
        "name_ru": "Ошибка",
        "ticket_type": "incident",
        "position": "3",
        "visible_to_customers": "on",
        **extra,
    }


class TestAccess:
    @pytest.mark.parametrize("path", ["/admin/forms", "/admin/forms/1"])
    async def test_an_agent_gets_403(
        self, client: httpx.AsyncClient, db: Database, company: Company, path: str
    ) -> None:
        await set_password(db, company.l1_agent.id, LENA[1])
        assert (await sign_in(client, *LENA)).status_code == 303
        r = await client.get(path)
        assert (r.status_code, 'id="admin-forbidden"' in r.text) == (403, True)

    async def test_anonymous_goes_to_login(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/admin/forms")
        assert (r.status_code, r.headers["location"].startswith("/login")) == (303, True)

    async def test_the_admin_nav_links_the_forms_page(self, alice: httpx.AsyncClient) -> None:
        r = await alice.get("/admin/users")
        assert 'href="/admin/forms"' in r.text
        r = await alice.get("/admin/forms")
        assert r.status_code == 200
        assert 'href="/admin/forms" aria-current="page"' in r.text

    async def test_an_unknown_form_is_404(self, alice: httpx.AsyncClient) -> None:
        assert (await alice.get("/admin/forms/999")).status_code == 404


class TestCreateForm:
    async def test_creating_a_form_with_ordered_fields(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        csrf = await page_csrf(alice, "/admin/forms")
        data = form_data(
            csrf,
            field_keys=["platform", "version"],
            **{"order.platform": "2", "order.version": "1"},
            required_keys=["platform"],
            is_default="on",
        )
        r = await alice.post("/admin/forms", data=data)
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/admin/forms?saved=created"
        [form] = await stored(db)
        assert (form.name, form.name_ru, form.ticket_type, form.position) == (
            "Bug report", "Ошибка", "incident", 3,
        )  # fmt: skip
        assert (form.field_keys, form.required_keys) == (["version", "platform"], ["platform"])
        assert (form.is_default, form.visible_to_customers, form.is_active) == (True, True, True)
        page = (await alice.get("/admin/forms?saved=created")).text
        assert f'data-form-id="{form.id}"' in page
        assert 'data-default="1"' in page
        assert "Version, Platform*" in page

    async def test_a_duplicate_name_is_400_marked_and_the_input_kept(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        csrf = await page_csrf(alice, "/admin/forms")
        assert (await alice.post("/admin/forms", data=form_data(csrf))).status_code == 303
        data = form_data(csrf, name_ru="Другая", field_keys=["order"])
        r = await alice.post("/admin/forms", data=data)
        assert r.status_code == 400
        assert 'id="name" name="name" type="text" value="Bug report"' in r.text
        assert 'aria-invalid="true" aria-describedby="name-error"' in r.text
        assert 'value="Другая"' in r.text
        assert 'id="on-order" name="field_keys" value="order" checked' in r.text
        assert len(await stored(db)) == 1

    async def test_a_required_field_not_on_the_form_marks_the_chooser(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        csrf = await page_csrf(alice, "/admin/forms")
        data = form_data(csrf, field_keys=["version"], required_keys=["platform"])
        r = await alice.post("/admin/forms", data=data)
        assert r.status_code == 400
        assert re.search(r'id="form-field-chooser"\s+aria-invalid="true"', r.text)
        assert 'id="form-fields-error"' in r.text
        assert 'id="required-platform" name="required_keys" value="platform" checked' in r.text
        assert await stored(db) == []

    async def test_an_empty_name_is_marked(self, alice: httpx.AsyncClient, db: Database) -> None:
        csrf = await page_csrf(alice, "/admin/forms")
        r = await alice.post("/admin/forms", data=form_data(csrf, name="  "))
        assert r.status_code == 400
        assert 'aria-describedby="name-error"' in r.text
        assert await stored(db) == []

    async def test_a_post_without_the_csrf_token_is_refused(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        r = await alice.post("/admin/forms", data=form_data(""))
        assert r.status_code == 403
        assert await stored(db) == []


class TestEditForm:
    async def _form(self, db: Database, **data: Any) -> int:
        async with db.unit_of_work() as s:
            form = await fields_service.create_ticket_form(
                s, actor=system_actor("tests"), data=TicketFormCreate(**data)
            )
            return form.id

    async def test_the_edit_page_shows_the_stored_form(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        form_id = await self._form(
            db, name="Login", field_keys=["version", "platform"], required_keys=["version"]
        )
        r = await alice.get(f"/admin/forms/{form_id}")
        assert r.status_code == 200
        assert r.text.index('data-field-key="version"') < r.text.index('data-field-key="platform"')
        assert r.text.index('data-field-key="platform"') < r.text.index('data-field-key="order"')
        assert 'id="order-version" name="order.version" value="1"' in r.text
        assert 'id="required-version" name="required_keys" value="version" checked' in r.text

    async def test_reordering_requiring_and_making_default(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        old_default = await self._form(db, name="Old", is_default=True)
        form_id = await self._form(db, name="Login", field_keys=["version", "platform"])
        csrf = await page_csrf(alice, f"/admin/forms/{form_id}")
        data = form_data(
            csrf, name="Login problem", ticket_type="", is_active="on", is_default="on",
            field_keys=["version", "platform", "order"], required_keys=["order"],
            **{"order.version": "3", "order.platform": "1", "order.order": "2"},
        )  # fmt: skip
        r = await alice.post(f"/admin/forms/{form_id}", data=data)
        assert (r.status_code, r.headers["location"]) == (303, "/admin/forms?saved=saved")
        forms = {f.id: f for f in await stored(db)}
        form = forms[form_id]
        assert (form.name, form.ticket_type) == ("Login problem", None)
        assert (form.field_keys, form.required_keys) == (
            ["platform", "order", "version"], ["order"],
        )  # fmt: skip
        assert (form.is_default, forms[old_default].is_default) == (True, False)

    async def test_clearing_active_deactivates(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        form_id = await self._form(db, name="Login", is_default=True)
        csrf = await page_csrf(alice, f"/admin/forms/{form_id}")
        r = await alice.post(f"/admin/forms/{form_id}", data=form_data(csrf, name="Login"))
        assert (r.status_code, r.headers["location"]) == (303, "/admin/forms?saved=deactivated")
        [form] = await stored(db)
        assert (form.is_active, form.is_default) == (False, False)

    async def test_a_bad_edit_changes_nothing_and_keeps_the_input(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        await self._form(db, name="Other")
        form_id = await self._form(db, name="Login", field_keys=["version"])
        csrf = await page_csrf(alice, f"/admin/forms/{form_id}")
        data = form_data(csrf, name="Other", is_active="on", field_keys=["platform"])
        r = await alice.post(f"/admin/forms/{form_id}", data=data)
        assert r.status_code == 400
        assert 'aria-describedby="name-error"' in r.text
        assert 'id="on-platform" name="field_keys" value="platform" checked' in r.text
        form = next(f for f in await stored(db) if f.id == form_id)
        assert (form.name, form.field_keys) == ("Login", ["version"])

    async def test_an_inactive_default_is_refused_with_the_box_marked(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        form_id = await self._form(db, name="Login")
        csrf = await page_csrf(alice, f"/admin/forms/{form_id}")
        r = await alice.post(
            f"/admin/forms/{form_id}", data=form_data(csrf, name="Login", is_default="on")
        )
        assert r.status_code == 400
        assert 'aria-invalid="true" aria-describedby="is_default-error"' in r.text
        [form] = await stored(db)
        assert (form.is_active, form.is_default) == (True, False)
