"""The ticket page's composer attachments, the header's custom fields and the customer
preview (src/opora/tickets/pages.py), on both backends."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.schemas import UserUpdate
from opora.db import Database
from opora.fields import service as fields_service
from opora.fields.schemas import CustomFieldCreate
from opora.tickets import service as tickets_service
from opora.tickets.schemas import EscalateIn, TicketUpdate
from tests.conftest import Company
from tests.web.helpers import csrf_of, set_password, sign_in
from tests.web.test_ticket_pages import (
    IGOR,
    LENA,
    NOTE,
    form_csrf,
    make_ticket,
    messages_of,
)

BINARY = bytes(range(256)) * 64  # every byte value, 16 KiB
SECRET = "zanzibar-kumquat"


@pytest.fixture
async def ticket_id(db: Database, company: Company) -> int:
    return await make_ticket(db, company)


@pytest.fixture
async def lena(client: httpx.AsyncClient, db: Database, company: Company) -> httpx.AsyncClient:
    await set_password(db, company.l1_agent.id, LENA[1])
    r = await sign_in(client, *LENA)
    assert r.status_code == 303
    return client


def blobs(settings: Any) -> list[Path]:
    root = Path(settings.attachments_dir)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def post_message(
    client: httpx.AsyncClient,
    ticket_id: int,
    body: str,
    files: list[tuple[str, bytes, str]],
    visibility: str = "public",
    csrf: str | None = None,
) -> httpx.Response:
    csrf = csrf or await form_csrf(client, ticket_id)
    return await client.post(
        f"/tickets/{ticket_id}/messages",
        data={"csrf_token": csrf, "body": body, "visibility": visibility},
        files=[("files", f) for f in files],
    )


class TestComposerAttachments:
    async def test_the_composer_is_multipart_with_a_labelled_file_input(
        self, lena: httpx.AsyncClient, ticket_id: int
    ) -> None:
        html = (await lena.get(f"/tickets/{ticket_id}")).text
        assert re.search(r'id="composer"[^>]*enctype="multipart/form-data"', html)
        assert '<label for="composer-files">Attach files</label>' in html
        assert re.search(r'<input id="composer-files" name="files" type="file" multiple', html)

    async def test_files_sent_with_a_reply_are_attached_and_download_byte_identical(
        self, lena: httpx.AsyncClient, company: Company, ticket_id: int
    ) -> None:
        r = await post_message(
            lena,
            ticket_id,
            "The logs you asked for.",
            [("dump.bin", BINARY, "application/octet-stream"), ("notes.txt", b"hi", "text/plain")],
        )
        assert r.status_code == 303, r.text
        (message,) = [
            m for m in await messages_of(lena, company, ticket_id)
            if m["body_text"] == "The logs you asked for."
        ]  # fmt: skip
        names = {a["filename"]: a["id"] for a in message["attachments"]}
        assert set(names) == {"dump.bin", "notes.txt"}
        page = (await lena.get(f"/tickets/{ticket_id}")).text
        entry = page[page.index(f'id="message-{message["id"]}"') :].split("</ul>")[0]
        assert "The logs you asked for." in entry
        for name, att_id in names.items():
            assert f'href="/tickets/{ticket_id}/attachments/{att_id}" download="{name}"' in entry
        got = await lena.get(f"/tickets/{ticket_id}/attachments/{names['dump.bin']}")
        assert got.status_code == 200
        assert got.content == BINARY
        assert got.headers["content-type"] == "application/octet-stream"

    async def test_files_alone_make_a_message(
        self, lena: httpx.AsyncClient, company: Company, ticket_id: int
    ) -> None:
        r = await post_message(lena, ticket_id, "", [("photo.png", b"\x89PNG...", "image/png")])
        assert r.status_code == 303
        last = (await messages_of(lena, company, ticket_id))[-1]
        assert [a["filename"] for a in last["attachments"]] == ["photo.png"]

    async def test_a_file_over_the_limit_keeps_the_text_and_saves_nothing(
        self, lena: httpx.AsyncClient, app: Any, company: Company, ticket_id: int
    ) -> None:
        before = await messages_of(lena, company, ticket_id)
        blobs_before = blobs(app.state.settings)
        too_big = b"x" * (app.state.settings.max_attachment_bytes + 1)
        r = await post_message(
            lena,
            ticket_id,
            "Here is the full <archive> & more",
            [("small.txt", b"fine", "text/plain"), ("big.zip", too_big, "application/zip")],
            visibility="internal",
        )
        assert r.status_code == 400
        assert re.search(r'id="composer-files"[^>]*aria-invalid="true"', r.text)
        assert 'id="composer-files-error"' in r.text
        assert "A file is larger than 1.0 MB. Nothing was sent" in r.text
        assert ">Here is the full &lt;archive&gt; &amp; more</textarea>" in r.text
        assert re.search(r'id="visibility-internal"\s+checked', r.text)
        assert await messages_of(lena, company, ticket_id) == before
        assert blobs(app.state.settings) == blobs_before

    async def test_an_empty_file_is_refused_with_the_text_kept(
        self, lena: httpx.AsyncClient, company: Company, ticket_id: int
    ) -> None:
        before = await messages_of(lena, company, ticket_id)
        r = await post_message(lena, ticket_id, "See attached", [("empty.txt", b"", "text/plain")])
        assert r.status_code == 400
        assert re.search(r'id="composer-files"[^>]*aria-invalid="true"', r.text)
        assert "This file is empty." in r.text
        assert ">See attached</textarea>" in r.text
        assert await messages_of(lena, company, ticket_id) == before

    async def test_a_file_input_left_empty_is_no_file(
        self, lena: httpx.AsyncClient, company: Company, ticket_id: int
    ) -> None:
        # what a browser sends for an untouched <input type=file>
        r = await post_message(
            lena, ticket_id, "No files today", [("", b"", "application/octet-stream")]
        )
        assert r.status_code == 303
        last = (await messages_of(lena, company, ticket_id))[-1]
        assert last["body_text"] == "No files today" and last["attachments"] == []

    async def test_a_notes_file_is_for_agents_only(
        self, lena: httpx.AsyncClient, client: httpx.AsyncClient, company: Company, ticket_id: int
    ) -> None:
        r = await post_message(
            lena, ticket_id, "Internal dump", [("secret-dump.txt", b"s3cr3t", "text/plain")],
            visibility="internal",
        )  # fmt: skip
        assert r.status_code == 303
        note = (await messages_of(lena, company, ticket_id))[-1]
        assert note["visibility"] == "internal"
        att_id = note["attachments"][0]["id"]
        agent = await lena.get(f"/tickets/{ticket_id}/attachments/{att_id}")
        assert agent.status_code == 200 and agent.content == b"s3cr3t"
        for customer in (company.customer, company.same_org_customer):
            api = await client.get(f"/api/v1/attachments/{att_id}", headers=customer.headers)
            assert api.status_code == 404
            own = await client.get(f"/api/v1/me/tickets/{ticket_id}", headers=customer.headers)
            assert own.status_code == 200 and "secret-dump.txt" not in own.text
        async with httpx.AsyncClient(transport=client._transport, base_url=client.base_url) as anon:
            page = await anon.get(f"/tickets/{ticket_id}/attachments/{att_id}")
            assert page.status_code == 303 and page.headers["location"].startswith("/login")

    async def test_a_failed_csrf_check_gives_back_the_text_but_not_the_files(
        self, lena: httpx.AsyncClient, company: Company, ticket_id: int
    ) -> None:
        before = await messages_of(lena, company, ticket_id)
        r = await post_message(
            lena, ticket_id, "A reply worth keeping", [("keep.txt", b"data", "text/plain")],
            csrf="wrong",
        )  # fmt: skip
        assert r.status_code == 403
        assert "A reply worth keeping" in r.text
        assert "keep.txt" not in r.text
        assert await messages_of(lena, company, ticket_id) == before


FIELDS = [
    CustomFieldCreate(key="order_ref", label="Order reference", label_ru="Номер заказа",
                      type="text"),
    CustomFieldCreate(key="devices", label="Devices", label_ru="Устройства", type="number"),
    CustomFieldCreate(key="due_on", label="Due on", type="date"),
    CustomFieldCreate(key="plan", label="Plan", type="select", options=["basic", "pro"]),
    CustomFieldCreate(key="platforms", label="Platforms", type="multiselect",
                      options=["mac", "windows", "linux"]),
    CustomFieldCreate(key="vip", label="VIP", type="checkbox"),
]  # fmt: skip


@pytest.fixture
async def fields(db: Database) -> None:
    async with db.unit_of_work() as s:
        for data in FIELDS:
            await fields_service.create_field(s, actor=system_actor("tests"), data=data)


def header_form(csrf: str, company: Company, **extra: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "csrf_token": csrf,
        "status": "open",
        "priority": "normal",
        "type": "question",
        "group_id": str(company.l1_group_id),
        "assignee_id": "",
        "tags": "",
        "custom_fields_shown": "1",
    }
    form.update(extra)
    return form


async def stored_fields(client: httpx.AsyncClient, company: Company, ticket_id: int) -> Any:
    r = await client.get(f"/api/v1/tickets/{ticket_id}", headers=company.admin.headers)
    return r.json()["custom_fields"], r.json()["status"], r.json()["priority"]


@pytest.mark.usefixtures("fields")
class TestCustomFields:
    async def test_each_field_has_an_input_fitting_its_type(
        self, lena: httpx.AsyncClient, ticket_id: int
    ) -> None:
        html = (await lena.get(f"/tickets/{ticket_id}")).text
        assert '<label for="cf-order_ref">Order reference</label>' in html
        assert re.search(r'id="cf-devices" name="cf.devices" type="text" inputmode="decimal"', html)
        assert re.search(r'id="cf-due_on" name="cf.due_on" type="date"', html)
        assert re.search(r'<select id="cf-plan" name="cf.plan"', html)
        assert html.count('name="cf.platforms"') == 3
        assert re.search(r'type="checkbox" id="cf-vip" name="cf.vip"', html)

    async def test_labels_are_in_the_agents_language(
        self, lena: httpx.AsyncClient, db: Database, company: Company, ticket_id: int
    ) -> None:
        async with db.unit_of_work() as s:
            await auth_service.update_user(
                s, actor=system_actor("tests"), user_id=company.l1_agent.id,
                data=UserUpdate(language="ru"),
            )  # fmt: skip
        html = (await lena.get(f"/tickets/{ticket_id}")).text
        assert '<label for="cf-order_ref">Номер заказа</label>' in html
        assert '<label for="cf-due_on">Due on</label>' in html  # no Russian label: English

    async def test_values_are_saved_typed_and_shown_back(
        self, lena: httpx.AsyncClient, company: Company, ticket_id: int
    ) -> None:
        csrf = await form_csrf(lena, ticket_id)
        form = header_form(
            csrf, company,
            **{"cf.order_ref": " A-17 ", "cf.devices": "3", "cf.due_on": "2026-12-01",
               "cf.plan": "pro", "cf.platforms": ["windows", "mac"], "cf.vip": "1"},
        )  # fmt: skip
        r = await lena.post(f"/tickets/{ticket_id}", data=form)
        assert r.status_code == 303, r.text
        custom, _, _ = await stored_fields(lena, company, ticket_id)
        assert custom == {
            "order_ref": "A-17", "devices": 3, "due_on": "2026-12-01", "plan": "pro",
            "platforms": ["mac", "windows"], "vip": True,
        }  # fmt: skip
        html = (await lena.get(f"/tickets/{ticket_id}")).text
        assert re.search(r'id="cf-order_ref" name="cf.order_ref" type="text" value="A-17"', html)
        assert re.search(r'id="cf-devices"[^>]*value="3"', html)
        assert '<option value="pro" selected>' in html
        assert 'value="mac" checked' in html and 'value="linux" checked' not in html
        assert re.search(r'id="cf-vip" name="cf.vip" value="1" checked', html)
        # clearing: an emptied input and an unticked box remove the values
        csrf = csrf_of(html)
        r = await lena.post(
            f"/tickets/{ticket_id}",
            data=header_form(csrf, company, **{"cf.order_ref": "", "cf.devices": "2.5"}),
        )
        assert r.status_code == 303
        custom, _, _ = await stored_fields(lena, company, ticket_id)
        assert custom == {"devices": 2.5, "vip": False}

    async def test_a_number_field_given_text_is_marked_and_everything_typed_kept(
        self, lena: httpx.AsyncClient, company: Company, ticket_id: int
    ) -> None:
        before = await stored_fields(lena, company, ticket_id)
        csrf = await form_csrf(lena, ticket_id)
        r = await lena.post(
            f"/tickets/{ticket_id}",
            data=header_form(
                csrf, company, priority="urgent",
                **{"cf.devices": "abc", "cf.order_ref": "kept ref", "cf.platforms": ["linux"]},
            ),
        )  # fmt: skip
        assert r.status_code == 400
        assert re.search(r'id="cf-devices"[^>]*value="abc"[^>]*aria-invalid="true"', r.text)
        assert 'id="cf-devices-error"' in r.text
        assert "Enter a number, such as 42 or 3.5." in r.text
        assert 'value="kept ref"' in r.text
        assert 'value="linux" checked' in r.text
        assert '<option value="urgent" selected>' in r.text
        assert await stored_fields(lena, company, ticket_id) == before

    async def test_a_required_field_is_asked_for_when_solving(
        self, lena: httpx.AsyncClient, db: Database, company: Company, ticket_id: int
    ) -> None:
        async with db.unit_of_work() as s:
            await fields_service.create_field(
                s, actor=system_actor("tests"),
                data=CustomFieldCreate(key="root_cause", label="Root cause", type="text",
                                       required=True),
            )  # fmt: skip
        csrf = await form_csrf(lena, ticket_id)
        solve = {"status": "solved", "resolution_solution": "Replaced the fuser."}
        r = await lena.post(
            f"/tickets/{ticket_id}",
            data=header_form(csrf, company, **solve, **{"cf.order_ref": "R-1"}),
        )
        assert r.status_code == 400
        assert re.search(r'id="cf-root_cause"[^>]*aria-invalid="true"', r.text)
        assert "Fill in this field to solve the ticket." in r.text
        assert '<option value="solved" selected>' in r.text
        assert 'value="R-1"' in r.text and "Replaced the fuser.</textarea>" in r.text
        assert (await stored_fields(lena, company, ticket_id))[1] == "new"
        r = await lena.post(
            f"/tickets/{ticket_id}",
            data=header_form(
                csrf, company, **solve, **{"cf.order_ref": "R-1", "cf.root_cause": "Toner"}
            ),
        )
        assert r.status_code == 303, r.text
        custom, status, _ = await stored_fields(lena, company, ticket_id)
        assert status == "solved"
        assert custom == {"order_ref": "R-1", "root_cause": "Toner", "vip": False} or custom == {
            "order_ref": "R-1", "root_cause": "Toner"
        }  # fmt: skip

    async def test_a_form_without_the_fields_leaves_them_alone(
        self, lena: httpx.AsyncClient, db: Database, company: Company, ticket_id: int
    ) -> None:
        async with db.unit_of_work() as s:
            await tickets_service.update_ticket(
                s, actor=system_actor("tests"), ticket_id=ticket_id,
                data=TicketUpdate(custom_fields={"order_ref": "X-9", "vip": True}),
            )  # fmt: skip
        csrf = await form_csrf(lena, ticket_id)
        form = header_form(csrf, company, priority="high")
        del form["custom_fields_shown"]
        r = await lena.post(f"/tickets/{ticket_id}", data=form)
        assert r.status_code == 303
        custom, _, priority = await stored_fields(lena, company, ticket_id)
        assert priority == "high" and custom == {"order_ref": "X-9", "vip": True}


class TestCustomerView:
    async def test_shows_public_messages_and_never_internal_ones(
        self, lena: httpx.AsyncClient, db: Database, company: Company, ticket_id: int
    ) -> None:
        r = await post_message(
            lena, ticket_id, "We replaced the toner for you.",
            [("invoice.pdf", b"%PDF-1.4 public", "application/pdf")],
        )  # fmt: skip
        assert r.status_code == 303
        r = await post_message(
            lena, ticket_id, f"Do not tell them: {SECRET}",
            [("internal-trace.log", b"trace", "text/plain")], visibility="internal",
        )  # fmt: skip
        assert r.status_code == 303
        reason = "Firmware bug needs the vendor escalation desk"
        async with db.unit_of_work() as s:
            await tickets_service.escalate_ticket(
                s, actor=system_actor("tests"), ticket_id=ticket_id, data=EscalateIn(reason=reason)
            )
            await tickets_service.update_ticket(
                s, actor=system_actor("tests"), ticket_id=ticket_id,
                data=TicketUpdate(assignee_id=company.l2_agent.id),
            )  # fmt: skip
        agent_page = (await lena.get(f"/tickets/{ticket_id}")).text
        assert reason in agent_page and SECRET in agent_page  # the agent sees all of it
        r = await lena.get(f"/tickets/{ticket_id}/customer-view")
        assert r.status_code == 200
        html = r.text
        assert "Printer on fire" in html
        assert "room 4 is on fire" in html
        assert "We replaced the toner for you." in html
        assert 'id="portal-status">In progress<' in html  # "open" in customer words
        assert 'id="portal-handler">Igor L2<' in html
        public_att = re.search(
            r'href="(/tickets/\d+/attachments/(\d+))" download="invoice.pdf"', html
        )
        assert public_att
        assert (await lena.get(public_att.group(1))).content == b"%PDF-1.4 public"
        for hidden in (SECRET, NOTE, "internal-trace.log", reason, "escalated", "L2 Specialists"):
            assert hidden not in html, hidden
        assert 'id="customer-preview-banner"' in html
        assert 'class="topbar"' not in html  # the portal's frame, not the workspace's

    async def test_the_ticket_page_links_to_it_in_a_new_tab(
        self, lena: httpx.AsyncClient, ticket_id: int
    ) -> None:
        html = (await lena.get(f"/tickets/{ticket_id}")).text
        assert re.search(
            rf'href="/tickets/{ticket_id}/customer-view" target="_blank" rel="noopener"', html
        )

    async def test_only_an_agent_who_may_read_the_ticket_gets_it(
        self, client: httpx.AsyncClient, db: Database, company: Company, ticket_id: int
    ) -> None:
        r = await client.get(f"/tickets/{ticket_id}/customer-view")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        r = await client.get(
            f"/tickets/{ticket_id}/customer-view", headers=company.customer.headers
        )
        assert r.status_code == 303  # a customer's API token is no page session
        async with db.unit_of_work() as s:
            await auth_service.update_user(
                s, actor=system_actor("tests"), user_id=company.l2_agent.id,
                data=UserUpdate(ticket_access="groups", password=IGOR[1]),
            )  # fmt: skip
        assert (await sign_in(client, *IGOR)).status_code == 303
        r = await client.get(f"/tickets/{ticket_id}/customer-view")
        assert r.status_code == 404  # an L1 ticket is outside Igor's groups
