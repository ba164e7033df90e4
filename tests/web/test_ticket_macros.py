"""Macros on the agent's ticket page (tickets/_macro_card.html, tickets/pages.py), on both
backends: the picker lists the active shared macros and the agent's own, never another
agent's; the preview fills the placeholders in for this ticket, says where the text goes
and what the actions will do; applying posts exactly the edited text as the macro's
visibility says and runs the actions as the agent; an internal macro never reaches the
customer, whatever the form says; a refusal (a turned-off macro, another agent's, a closed
ticket, a refused action, a missing CSRF token) changes nothing and keeps the text."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.schemas import UserUpdate
from opora.automation import service as automation
from opora.automation.schemas import MacroCreate, MacroUpdate
from opora.config import Settings, load_secret_key
from opora.db import Database
from opora.tickets import rules
from opora.tickets import service as tickets_service
from opora.tickets.models import Ticket
from opora.tickets.schemas import TicketUpdate
from tests.automation.test_triggers import (
    agent,
    jobs_named,
    load,
    messages,
    new_ticket,
    rules_applied,
    timeline,
)
from tests.conftest import Company
from tests.web.helpers import csrf_of, set_password, sign_in

ADMIN = system_actor("tests")
LENA = ("lena@opora.dev", "lena-secret")
HTMX = {"HX-Request": "true"}
RESET = "{{contact.first_name}}, сбросьте пароль: заявка #{{ticket.number}}, {{agent.name}}."
EDITED = "Carol, вот ссылка на сброс пароля.\nЕсли не придёт письмо — напишите нам."


@pytest.fixture
async def lena(client: httpx.AsyncClient, db: Database, company: Company) -> httpx.AsyncClient:
    """Lena, the L1 agent, signed in on the pages."""
    await set_password(db, company.l1_agent.id, LENA[1])
    assert (await sign_in(client, *LENA)).status_code == 303
    return client


async def add_macro(db: Database, owner_id: int | None = None, **fields: Any) -> int:
    """A shared macro (``owner_id`` None, made by an admin) or that agent's own."""
    data: dict[str, Any] = {"name": "Password reset", "body": RESET, "shared": owner_id is None}
    data.update(fields)
    actor = ADMIN if owner_id is None else await agent(db, owner_id)
    async with db.unit_of_work() as s:
        return (await automation.create_macro(s, actor=actor, data=MacroCreate(**data))).id


async def turn_off(db: Database, macro_id: int) -> None:
    async with db.unit_of_work() as s:
        await automation.update_macro(
            s, actor=ADMIN, macro_id=macro_id, data=MacroUpdate(is_active=False)
        )


def preview_area(html: str) -> str:
    """The macro card's preview area of a page (or the whole of an htmx answer)."""
    start = html.find('id="macro-preview"')
    return html if start < 0 else html[start : html.index("</section>", start)]


def textarea(html: str) -> str | None:
    found = re.search(r'<textarea id="macro-text"[^>]*>(.*?)</textarea>', html, re.S)
    return None if found is None else found.group(1)


async def apply(
    client: httpx.AsyncClient, ticket_id: int, macro_id: int, **form: str
) -> httpx.Response:
    """Apply from the ticket page, with the page's CSRF token (``csrf_token=""``: none)."""
    data = {"csrf_token": csrf_of((await client.get(f"/tickets/{ticket_id}")).text)}
    data.update(form)
    if not data["csrf_token"]:
        del data["csrf_token"]
    return await client.post(f"/tickets/{ticket_id}/macros/{macro_id}/apply", data=data)


async def unchanged(db: Database, ticket: Ticket) -> None:
    """Nothing of a refused apply stays: no message, no change, no macro row, no mail (a
    ticket an agent opened on the phone mails the customer nothing until a reply)."""
    now = await load(db, ticket.id)
    assert (now.status, now.assignee_id, now.updated_at) == (
        ticket.status, ticket.assignee_id, ticket.updated_at,
    )  # fmt: skip
    assert len(await messages(db, ticket.id)) == 1  # the customer's first message only
    assert await rules_applied(db, ticket.id) == []
    assert await jobs_named(db, "channels.email.send") == []


class TestPicker:
    async def test_lists_the_active_shared_macros_and_the_agents_own_only(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        shared = await add_macro(db, name="Shared: greeting")
        internal = await add_macro(db, name="Shared: call back", visibility="internal")
        own = await add_macro(db, company.l1_agent.id, name="Lena's reset")
        igors = await add_macro(db, company.l2_agent.id, name="Igor's secret")
        off = await add_macro(db, name="Old greeting")
        await turn_off(db, off)
        t = await new_ticket(db, company)
        page = (await lena.get(f"/tickets/{t.id}")).text
        select = re.search(r'<select id="macro-picker".*?</select>', page, re.S)
        assert select is not None
        listed = select.group(0)
        groups = re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', listed, re.S)
        assert [label for label, _ in groups] == ["Shared macros", "My macros"]
        assert f'value="{shared}"' in groups[0][1] and f'value="{internal}"' in groups[0][1]
        assert f'value="{own}"' in groups[1][1]
        assert re.search(rf'value="{internal}"[^>]*>Shared: call back · internal note<', listed)
        assert f'value="{igors}"' not in listed and "Igor&#39;s secret" not in page
        assert f'value="{off}"' not in listed and "Old greeting" not in page
        assert f'hx-get="/tickets/{t.id}/macros/preview"' in listed
        assert 'aria-keyshortcuts="m"' in listed

    async def test_without_macros_the_card_says_so(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        t = await new_ticket(db, company)
        page = (await lena.get(f"/tickets/{t.id}")).text
        assert 'id="macros-none"' in page and 'id="macro-picker"' not in page
        assert "<kbd>m</kbd></dt><dd>Choose a macro" in page  # the shortcuts' help


class TestPreview:
    async def test_fills_in_the_placeholders_for_this_ticket_and_lists_the_actions(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await add_macro(db, actions=[
            {"action": "set_status", "status": "pending"},
            {"action": "add_tags", "tags": ["password"]},
        ])  # fmt: skip
        t = await new_ticket(db, company)
        r = await lena.get(f"/tickets/{t.id}/macros/{m}/preview", headers=HTMX)
        assert r.status_code == 200, r.text
        assert "<html" not in r.text  # the card's part only
        assert textarea(r.text) == f"Carol, сбросьте пароль: заявка #{t.number}, Lena L1."
        assert re.search(r'id="macro-visibility">Public reply<', r.text)
        assert "sent to the customer as a public reply" in r.text
        assert 'class="stack macro-form macro-form-public"' in r.text
        assert re.findall(r"<li>([^<]*)</li>", r.text) == [
            "Set status to Pending", "Add tags: password",
        ]  # fmt: skip
        assert f'action="/tickets/{t.id}/macros/{m}/apply"' in r.text
        assert 'id="macro-apply"' in r.text and 'id="macro-cancel"' in r.text
        assert 'name="csrf_token"' in r.text
        # a preview changes nothing
        assert (await load(db, t.id)).status == "new"
        assert await rules_applied(db, t.id) == []

    async def test_the_actions_are_said_in_the_agents_language(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            await auth_service.update_user(
                s, actor=ADMIN, user_id=company.l1_agent.id, data=UserUpdate(language="ru")
            )
        m = await add_macro(db, actions=[{"action": "add_tags", "tags": ["password"]}])
        t = await new_ticket(db, company)
        r = await lena.get(f"/tickets/{t.id}/macros/{m}/preview", headers=HTMX)
        assert re.findall(r"<li>([^<]*)</li>", r.text) == ["Добавить теги: password"]

    async def test_an_internal_macro_says_it_is_an_internal_note(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await add_macro(db, name="Escalation note", visibility="internal",
                            body="Проверить логи входа {{contact.email}}")  # fmt: skip
        t = await new_ticket(db, company)
        r = await lena.get(f"/tickets/{t.id}/macros/{m}/preview", headers=HTMX)
        assert r.status_code == 200
        assert re.search(
            r'class="badge badge-internal" id="macro-visibility">Internal note<', r.text
        )
        assert 'class="stack macro-form macro-form-internal"' in r.text
        assert "the customer never does" in r.text and "Public reply" not in r.text
        assert textarea(r.text) == "Проверить логи входа carol@acme.ru"
        assert "No actions: the ticket is not changed otherwise." in r.text

    async def test_the_pickers_form_opens_the_page_with_the_preview(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        """Without JavaScript: the picker's Preview button."""
        m = await add_macro(db)
        t = await new_ticket(db, company)
        r = await lena.get(f"/tickets/{t.id}/macros/preview", params={"macro_id": m})
        assert r.status_code == 200
        assert "<html" in r.text and 'id="composer"' in r.text
        assert re.search(rf'<option value="{m}" selected>', r.text)
        assert textarea(preview_area(r.text)) == (
            f"Carol, сбросьте пароль: заявка #{t.number}, Lena L1."
        )
        # choosing no macro: no preview
        r = await lena.get(f"/tickets/{t.id}/macros/preview", params={"macro_id": ""})
        assert (r.status_code, r.headers["location"]) == (303, f"/tickets/{t.id}#macros")
        r = await lena.get(f"/tickets/{t.id}/macros/preview?macro_id=", headers=HTMX)
        assert (r.status_code, r.text) == (200, "")

    async def test_another_agents_personal_macro_is_not_found(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await add_macro(db, company.l2_agent.id, name="Igor's", body="Секрет Игоря")
        t = await new_ticket(db, company)
        r = await lena.get(f"/tickets/{t.id}/macros/{m}/preview", headers=HTMX)
        assert r.status_code == 404
        # shown in the preview area (static/js/opora.js swaps an X-Opora-Error answer)
        assert r.headers["x-opora-error"] == "404"
        assert r.headers["hx-retarget"] == "#macro-preview"
        assert 'id="macro-error"' in r.text and "another agent" in r.text
        assert "Секрет Игоря" not in r.text and 'id="macro-form"' not in r.text

    async def test_a_turned_off_macro_cannot_be_applied_from_its_preview(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await add_macro(db)
        await turn_off(db, m)
        t = await new_ticket(db, company)
        r = await lena.get(f"/tickets/{t.id}/macros/{m}/preview", headers=HTMX)
        assert r.status_code == 200
        assert 'id="macro-error"' in r.text and "turned off" in r.text
        assert 'id="macro-apply"' not in r.text

    async def test_a_ticket_the_agent_may_not_see_is_not_found(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await add_macro(db)
        assert (await lena.get(f"/tickets/999999/macros/{m}/preview")).status_code == 404


class TestApply:
    async def test_posts_exactly_the_edited_text_and_runs_the_actions_as_the_agent(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await add_macro(db, actions=[
            {"action": "set_status", "status": "pending"},
            {"action": "add_tags", "tags": ["password"]},
        ])  # fmt: skip
        t = await new_ticket(db, company)
        r = await apply(lena, t.id, m, text=EDITED)
        assert r.status_code == 303, r.text
        [_, reply] = await messages(db, t.id)
        assert r.headers["location"] == f"/tickets/{t.id}?macro_applied={m}#message-{reply.id}"
        assert (reply.body_text, reply.visibility, reply.author_user_id) == (
            EDITED, "public", company.l1_agent.id,
        )  # fmt: skip
        assert (await load(db, t.id)).status == "pending"
        assert await rules_applied(db, t.id) == ["Macro: Password reset"]
        changes = {(e.field, e.actor_user_id) for e in await timeline(db, t.id, "field_changed")}
        assert {("status", company.l1_agent.id), ("tags", company.l1_agent.id)} <= changes
        mail = [j.payload for j in await jobs_named(db, "channels.email.send")]
        assert [(p["kind"], p["message_id"]) for p in mail] == [("ticket_reply", reply.id)]

        page = (await lena.get(r.headers["location"])).text
        assert 'id="macro-applied-notice"' in page
        assert f'data-macro-applied="opora:draft:ticket:{t.id}:macro:{m}"' in page
        item = re.search(rf'<li class="entry message message-public"\s+id="message-{reply.id}"'
                         r".*?</li>", page, re.S)  # fmt: skip
        assert item is not None and "Если не придёт письмо" in item.group(0)
        assert "Lena L1 applied Macro: Password reset" in page
        assert re.search(r'<option value="pending" selected>', page)  # the header's status
        assert 'id="macro-form"' not in page  # the preview is closed

    async def test_the_macros_own_text_without_a_text_field(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await add_macro(db, company.l1_agent.id)
        t = await new_ticket(db, company)
        assert (await apply(lena, t.id, m)).status_code == 303
        bodies = [x.body_text for x in await messages(db, t.id)]
        assert bodies[-1] == f"Carol, сбросьте пароль: заявка #{t.number}, Lena L1."

    async def test_an_empty_text_only_runs_the_actions(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await add_macro(db, actions=[{"action": "set_priority", "priority": "high"}])
        t = await new_ticket(db, company)
        r = await apply(lena, t.id, m, text="  ")
        assert (r.status_code, r.headers["location"]) == (
            303, f"/tickets/{t.id}?macro_applied={m}#timeline",
        )  # fmt: skip
        assert len(await messages(db, t.id)) == 1
        assert (await load(db, t.id)).priority == "high"

    async def test_an_internal_macro_adds_an_internal_note_the_customer_never_sees(
        self, lena: httpx.AsyncClient, db: Database, settings: Settings, company: Company
    ) -> None:
        m = await add_macro(db, name="Check logs", visibility="internal",
                            body="Проверить логи", actions=[
                                {"action": "add_tags", "tags": ["logs"]}])  # fmt: skip
        t = await new_ticket(db, company)
        note = "Клиент ошибся в пароле трижды — проверить логи"
        # a form that asks for a public reply is not listened to
        r = await apply(lena, t.id, m, text=note, visibility="public")
        assert r.status_code == 303, r.text
        [_, added] = await messages(db, t.id)
        assert (added.body_text, added.visibility) == (note, "internal")
        assert [x.visibility for x in await messages(db, t.id)].count("public") == 1
        assert await jobs_named(db, "channels.email.send") == []  # nothing mailed
        page = (await lena.get(f"/tickets/{t.id}")).text
        assert re.search(rf'<li class="entry message message-internal"\s+id="message-{added.id}"',
                         page)  # fmt: skip
        # the customer's rendering: the agent's preview and the customer's own link
        view = await lena.get(f"/tickets/{t.id}/customer-view")
        assert view.status_code == 200 and "Пишет «неверный пароль»" in view.text
        assert "ошибся в пароле" not in view.text
        token = rules.request_token(load_secret_key(settings), t.id, t.requester_id)
        lena.cookies.clear()
        own = await lena.get(f"/requests/{t.id}/{token}")
        assert own.status_code == 200 and "Пишет «неверный пароль»" in own.text
        assert "ошибся в пароле" not in own.text

    async def test_a_turned_off_macro_changes_nothing_and_keeps_the_text(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await add_macro(db, actions=[{"action": "set_status", "status": "pending"}])
        t = await new_ticket(db, company)
        await turn_off(db, m)  # after the agent opened the preview
        r = await apply(lena, t.id, m, text=EDITED)
        assert r.status_code == 400
        area = preview_area(r.text)
        assert re.search(r'id="macro-error">This macro is turned off; it cannot be applied\. '
                         r"Nothing was changed; your text is kept below\.<", area)  # fmt: skip
        assert textarea(area) == EDITED
        assert 'id="macro-apply"' not in area
        await unchanged(db, t)

    async def test_another_agents_macro_is_not_found_and_changes_nothing(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await add_macro(db, company.l2_agent.id, name="Igor's")
        t = await new_ticket(db, company)
        r = await apply(lena, t.id, m, text=EDITED)
        assert r.status_code == 404
        area = preview_area(r.text)
        assert 'id="macro-error"' in area and "another agent" in area
        assert textarea(area) == EDITED and 'id="macro-form"' not in area
        await unchanged(db, t)

    async def test_a_closed_ticket_is_refused_with_the_text_kept(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await add_macro(db)
        t = await new_ticket(db, company)
        async with db.unit_of_work() as s:
            await tickets_service.update_ticket(
                s, actor=ADMIN, ticket_id=t.id, data=TicketUpdate(status="closed")
            )
        closed = await load(db, t.id)
        r = await apply(lena, t.id, m, text=EDITED)
        assert r.status_code == 400
        area = preview_area(r.text)
        assert "The ticket is closed; it cannot be changed." in area
        assert textarea(area) == EDITED
        await unchanged(db, closed)

    async def test_a_refused_action_takes_the_reply_back_too(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await add_macro(db, actions=[{"action": "assign", "user_id": company.l2_agent.id}])
        t = await new_ticket(db, company)
        r = await apply(lena, t.id, m, text=EDITED)  # Igor is not in L1
        assert r.status_code == 400
        area = preview_area(r.text)
        assert re.search(r'id="macro-error">This agent is not a member of the ticket.s group\.'
                         r".* Nothing was changed; your text is kept below\.<", area)  # fmt: skip
        assert textarea(area) == EDITED and 'id="macro-apply"' in area
        await unchanged(db, t)

    async def test_a_text_over_the_limit_is_refused(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await add_macro(db)
        t = await new_ticket(db, company)
        r = await apply(lena, t.id, m, text="x" * 200_001)
        assert r.status_code == 400
        assert "The text is too long. Nothing was changed" in preview_area(r.text)
        await unchanged(db, t)

    async def test_without_the_csrf_token_nothing_changes_and_the_text_comes_back(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await add_macro(db, actions=[{"action": "set_status", "status": "pending"}])
        t = await new_ticket(db, company)
        r = await apply(lena, t.id, m, text=EDITED, csrf_token="")
        assert r.status_code == 403
        assert "This page has expired" in r.text
        assert f'name="text" rows="6" class="kept-text">{EDITED}</textarea>' in r.text
        await unchanged(db, t)
