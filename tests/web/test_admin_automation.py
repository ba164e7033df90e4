"""The automation pages (src/opora/admin/automation.py) on both backends: triggers and
time rules made, changed, reordered, turned off and deleted through their forms (what is
stored is read back through the service), bad conditions and actions shown again with
the input marked and the text kept and nothing stored, "run the time rules now", and
macros: any agent's own, shared ones for admins only, another agent's out of sight."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from opora.admin import automation as pages
from opora.auth.actor import system_actor
from opora.automation import service
from opora.automation.actions import KINDS
from opora.automation.models import Macro, TimeRule, Trigger
from opora.automation.schemas import MacroCreate
from opora.db import Database
from opora.fields import service as fields_service
from opora.fields.schemas import CustomFieldCreate
from opora.kit.time import utcnow
from tests.automation.test_time_rules import backdate
from tests.automation.test_triggers import (
    add_time_rule,
    add_trigger,
    load,
    new_ticket,
    timeline,
    update,
)
from tests.conftest import Company
from tests.web.helpers import csrf_of, page_csrf, set_password, sign_in
from tests.web.test_admin_sla import marked, service_calendar, value_of

ALICE = ("alice@opora.dev", "alice-secret")
LENA = ("lena@opora.dev", "lena-secret")
IGOR = ("igor@opora.dev", "igor-secret")
ADMIN = system_actor("tests")


@pytest.fixture
async def alice(client: httpx.AsyncClient, company: Company) -> httpx.AsyncClient:
    assert (await sign_in(client, *ALICE)).status_code == 303
    return client


@pytest.fixture
async def lena(client: httpx.AsyncClient, db: Database, company: Company) -> httpx.AsyncClient:
    await set_password(db, company.l1_agent.id, LENA[1])
    assert (await sign_in(client, *LENA)).status_code == 303
    return client


def action_row(index: int, kind: str = "", **inputs: str) -> dict[str, str]:
    """One action row as the browser sends it: every input, the kind's filled in."""
    row = {f"actions.{index}.{name}": "" for name in pages.INPUTS}
    row |= {f"actions.{index}.to": "requester", f"actions.{index}.method": "POST"}
    row[f"actions.{index}.action"] = kind
    row |= {f"actions.{index}.{name}": value for name, value in inputs.items()}
    return row


def condition(
    group: str, index: int, field: str = "", op: str = "is", value: str = ""
) -> dict[str, str]:
    name = f"conditions.{group}.{index}"
    return {f"{name}.field": field, f"{name}.op": op, f"{name}.value": value}


def trigger_form(csrf: str, **changes: Any) -> dict[str, Any]:
    """The trigger form: urgent tickets created get two tags; an empty spare row in each
    list, as the page without JavaScript sends them."""
    data: dict[str, Any] = {
        "csrf_token": csrf, "name": "Urgent first", "description": "Tag what burns",
        "position": "", "is_active": "on", "events": ["ticket.created"],
        **condition("all", 0, "priority", "is", "Urgent"), **condition("all", 1),
        **condition("any", 0),
        **action_row(0, "add_tags", tags="burning, Needs Care"), **action_row(1),
    }  # fmt: skip
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def time_rule_form(csrf: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf_token": csrf, "name": "Close solved after 4 days", "description": "",
        "position": "", "is_active": "on", "calendar_id": "",
        **condition("all", 0, "status", "is", "solved"),
        **condition("all", 1, "hours_since_status_change", "gte", "96"),
        **condition("any", 0),
        **action_row(0, "set_status", status="closed"), **action_row(1),
    }  # fmt: skip
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def macro_form(csrf: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf_token": csrf, "name": "Password reset", "is_active": "on",
        "visibility": "public",
        "body": "Hello {{contact.first_name}}, your password is reset. #{{ticket.number}}",
        **action_row(0, "set_status", status="pending"), **action_row(1),
    }  # fmt: skip
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


async def triggers(db: Database) -> list[Trigger]:
    async with db.unit_of_work(write=False) as s:
        return await service.list_triggers(s, actor=ADMIN)


async def time_rules(db: Database) -> list[TimeRule]:
    async with db.unit_of_work(write=False) as s:
        return await service.list_time_rules(s, actor=ADMIN)


async def macros(db: Database) -> list[Macro]:
    async with db.unit_of_work(write=False) as s:
        return list((await s.execute(select(Macro).order_by(Macro.id))).scalars())


async def shared_macro(db: Database, **fields: Any) -> int:
    data: dict[str, Any] = {"name": "Welcome", "body": "Welcome!", "shared": True}
    data.update(fields)
    async with db.unit_of_work() as s:
        return (await service.create_macro(s, actor=ADMIN, data=MacroCreate(**data))).id


async def create(client: httpx.AsyncClient, path: str, form: dict[str, Any]) -> httpx.Response:
    csrf = await page_csrf(client, f"{path}/new")
    return await client.post(f"{path}/new", data={**form, "csrf_token": csrf})


def row_of(html: str, rule_id: int) -> str:
    match = re.search(rf'<tr id="rule-{rule_id}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"no row of rule {rule_id}"
    return re.sub(r"\s+", " ", match.group(1))


def listed_names(html: str) -> list[str]:
    return re.findall(r'<td class="rule-name">\s*<a href="[^"]+">([^<]+)</a>', html)


def test_every_action_kind_has_its_inputs() -> None:
    assert set(pages.FORM_INPUTS) == set(KINDS)


class TestAccess:
    async def test_an_agent_gets_403_on_the_rule_pages_and_changes_nothing(
        self, lena: httpx.AsyncClient, db: Database
    ) -> None:
        trigger = await add_trigger(
            db, "Kept", events=["ticket.created"], actions=[{"action": "add_tags", "tags": ["a"]}]
        )
        rule = await add_time_rule(
            db, "Kept too", conditions={"all": [{"field": "hours_since_created", "op": "gte",
                                                  "value": 1}]},
            actions=[{"action": "add_tags", "tags": ["b"]}],
        )  # fmt: skip
        csrf = ""
        for path in (
            "/admin/triggers", "/admin/triggers/new", f"/admin/triggers/{trigger}",
            f"/admin/triggers/{trigger}/delete", "/admin/time-rules", "/admin/time-rules/new",
            f"/admin/time-rules/{rule}", f"/admin/time-rules/{rule}/delete",
        ):  # fmt: skip
            r = await lena.get(path)
            assert (path, r.status_code) == (path, 403)
            assert 'id="admin-forbidden"' in r.text
            csrf = csrf_of(r.text)
        posts = {
            "/admin/triggers/new": trigger_form(csrf, name="Sneaky"),
            f"/admin/triggers/{trigger}": trigger_form(csrf, name="Renamed"),
            f"/admin/triggers/{trigger}/move": {"csrf_token": csrf, "direction": "up"},
            f"/admin/triggers/{trigger}/active": {"csrf_token": csrf},
            f"/admin/triggers/{trigger}/delete": {"csrf_token": csrf},
            "/admin/time-rules/new": time_rule_form(csrf, name="Sneaky"),
            f"/admin/time-rules/{rule}": time_rule_form(csrf, name="Renamed"),
            f"/admin/time-rules/{rule}/delete": {"csrf_token": csrf},
            "/admin/time-rules/run": {"csrf_token": csrf},
        }
        for path, data in posts.items():
            r = await lena.post(path, data=data)
            assert (path, r.status_code) == (path, 403)
        assert [(t.name, t.is_active) for t in await triggers(db)] == [("Kept", True)]
        assert [r.name for r in await time_rules(db)] == ["Kept too"]

    async def test_anonymous_goes_to_login(self, client: httpx.AsyncClient) -> None:
        for path in ("/admin/triggers", "/admin/time-rules/new", "/macros", "/macros/new"):
            r = await client.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/login")

    async def test_the_admin_nav_links_the_pages(self, alice: httpx.AsyncClient) -> None:
        users = (await alice.get("/admin/users")).text
        for href in ('href="/admin/triggers"', 'href="/admin/time-rules"', 'href="/macros"'):
            assert href in users
        here = (await alice.get("/admin/time-rules/new")).text
        assert 'href="/admin/time-rules" aria-current="page"' in here
        assert 'href="/macros" aria-current="page"' in (await alice.get("/macros")).text

    async def test_an_unknown_rule_is_404(self, alice: httpx.AsyncClient) -> None:
        for base in ("/admin/triggers", "/admin/time-rules"):
            for path in (f"{base}/999", f"{base}/999/delete"):
                assert (await alice.get(path)).status_code == 404, path
        csrf = await page_csrf(alice, "/admin/triggers")
        for path, data in (
            ("/admin/triggers/999", trigger_form(csrf)),
            ("/admin/triggers/999/move", {"csrf_token": csrf, "direction": "up"}),
            ("/admin/triggers/999/active", {"csrf_token": csrf, "is_active": "on"}),
            ("/admin/triggers/999/delete", {"csrf_token": csrf}),
            ("/admin/time-rules/999", time_rule_form(csrf)),
        ):
            assert (await alice.post(path, data=data)).status_code == 404, path

    async def test_a_post_without_the_csrf_token_is_refused(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        for path, form in (
            ("/admin/triggers/new", trigger_form("")),
            ("/admin/time-rules/new", time_rule_form("")),
            ("/macros/new", macro_form("")),
            ("/admin/time-rules/run", {}),
        ):
            data = {k: v for k, v in form.items() if k != "csrf_token"}
            r = await alice.post(path, data=data)
            assert (path, r.status_code) == (path, 403)
        assert await triggers(db) == [] and await time_rules(db) == []
        assert await macros(db) == []


class TestTriggerList:
    async def test_empty_says_so(self, alice: httpx.AsyncClient) -> None:
        page = (await alice.get("/admin/triggers")).text
        assert 'id="no-rules"' in page and 'href="/admin/triggers/new"' in page

    async def test_lists_in_order_with_events_conditions_and_actions_in_words(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        later = await add_trigger(
            db, "Later", position=20, is_active=False, events=["message.created"],
            actions=[{"action": "add_note", "text": "Look"}],
        )  # fmt: skip
        first = await add_trigger(
            db, "VIP to L2", position=5, events=["ticket.created", "ticket.updated"],
            conditions={"all": [{"field": "priority", "op": "in", "value": ["urgent", "high"]}],
                        "any": [{"field": "group_id", "op": "is", "value": company.l1_group_id}]},
            actions=[{"action": "set_group", "group_id": company.l2_group_id},
                     {"action": "set_priority", "priority": "urgent"}],
        )  # fmt: skip
        page = (await alice.get("/admin/triggers")).text
        assert listed_names(page) == ["VIP to L2", "Later"]
        row = row_of(page, first)
        assert "Ticket created" in row and "Ticket changed" in row
        assert "Priority is one of <strong>High, Urgent</strong>" in row
        assert "Group is <strong>L1 Support</strong>" in row
        assert "Move to group L2 Specialists" in row and "Set priority to Urgent" in row
        assert "Turn off" in row
        other = row_of(page, later)
        assert "Every ticket" in other and "Message added" in other and "Turn on" in other

    async def test_move_up_and_down_renumbers_the_order(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        tags = [{"action": "add_tags", "tags": ["x"]}]
        ids = [
            await add_trigger(db, name, position=0, events=["ticket.created"], actions=tags)
            for name in ("A", "B", "C")
        ]
        csrf = await page_csrf(alice, "/admin/triggers")
        r = await alice.post(f"/admin/triggers/{ids[2]}/move",
                             data={"csrf_token": csrf, "direction": "up"})  # fmt: skip
        assert r.status_code == 303
        assert r.headers["location"] == f"/admin/triggers?saved=moved#rule-{ids[2]}"
        assert [(t.name, t.position) for t in await triggers(db)] == [
            ("A", 10), ("C", 20), ("B", 30)
        ]  # fmt: skip
        await alice.post(f"/admin/triggers/{ids[0]}/move",
                         data={"csrf_token": csrf, "direction": "down"})  # fmt: skip
        await alice.post(f"/admin/triggers/{ids[2]}/move",
                         data={"csrf_token": csrf, "direction": "up"})  # fmt: skip
        assert [t.name for t in await triggers(db)] == ["C", "A", "B"]
        await alice.post(
            f"/admin/triggers/{ids[2]}/move", data={"csrf_token": csrf, "direction": "up"}
        )  # the first stays
        assert [t.name for t in await triggers(db)] == ["C", "A", "B"]
        page = (await alice.get("/admin/triggers?saved=moved")).text
        assert listed_names(page) == ["C", "A", "B"] and "The order is saved." in page

    async def test_turn_off_and_on(self, alice: httpx.AsyncClient, db: Database) -> None:
        rid = await add_trigger(db, "Tagger", events=["ticket.created"],
                                actions=[{"action": "add_tags", "tags": ["x"]}])  # fmt: skip
        csrf = await page_csrf(alice, "/admin/triggers")
        r = await alice.post(f"/admin/triggers/{rid}/active", data={"csrf_token": csrf})
        assert r.headers["location"] == f"/admin/triggers?saved=off#rule-{rid}"
        assert [t.is_active for t in await triggers(db)] == [False]
        await alice.post(f"/admin/triggers/{rid}/active",
                         data={"csrf_token": csrf, "is_active": "on"})  # fmt: skip
        assert [t.is_active for t in await triggers(db)] == [True]


class TestTriggerForm:
    async def test_a_trigger_made_through_the_form_is_stored_and_fires(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        form = trigger_form(
            "", events=["ticket.created", "message.created"],
            **condition("all", 1, "group_id", "is", "L1 Support"),
            **condition("any", 0, "subject", "matches_any_word", "войти, login"),
            **condition("any", 1, "assignee_id", "is", "none"),
            **action_row(1, "notify_email", to="address", address="boss@acme.ru",
                         subject="Urgent #{{ticket.number}}", body="See {{ticket.url}}"),
            **action_row(2, "webhook", method="PUT", url="https://hooks.example.com/x",
                         headers="X-Token: abc\r\nX-Kind: urgent", payload='{"n": 1}'),
            **action_row(3, "assign", user_id=str(company.l1_agent.id)),
            **action_row(4, "assign", user_id="none"),
            **action_row(5),
        )  # fmt: skip
        r = await create(alice, "/admin/triggers", form)
        assert (r.status_code, r.headers["location"]) == (303, "/admin/triggers?saved=created")
        (t,) = await triggers(db)
        assert (t.name, t.description, t.is_active) == ("Urgent first", "Tag what burns", True)
        assert t.events == ["ticket.created", "message.created"]
        assert t.conditions == {
            "all": [{"field": "priority", "op": "is", "value": "urgent"},
                    {"field": "group_id", "op": "is", "value": company.l1_group_id}],
            "any": [{"field": "subject", "op": "matches_any_word", "value": ["войти", "login"]},
                    {"field": "assignee_id", "op": "is", "value": None}],
        }  # fmt: skip
        assert t.actions == [
            {"action": "add_tags", "tags": ["burning", "needs-care"]},
            {"action": "notify_email", "to": "boss@acme.ru",
             "subject": "Urgent #{{ticket.number}}", "body": "See {{ticket.url}}"},
            {"action": "webhook", "url": "https://hooks.example.com/x", "method": "PUT",
             "headers": {"X-Token": "abc", "X-Kind": "urgent"}, "body": '{"n": 1}'},
            {"action": "assign", "user_id": company.l1_agent.id},
            {"action": "assign", "user_id": None},
        ]  # fmt: skip
        assert "The trigger is created." in (await alice.get(r.headers["location"])).text
        ticket = await new_ticket(db, company, subject="Не могу войти", priority="urgent")
        [applied] = await timeline(db, ticket.id, "rule_applied")
        assert applied.new_value["rule"] == "Trigger: Urgent first"
        tags = [e.new_value for e in await timeline(db, ticket.id, "field_changed")
                if e.field == "tags"]  # fmt: skip
        assert tags == [["burning", "needs-care"]]

    async def test_the_edit_form_shows_what_is_stored_and_saves_a_change(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await create(alice, "/admin/triggers", trigger_form(
            "", **action_row(1, "assign", user_id="none")
        ))  # fmt: skip
        (t,) = await triggers(db)
        path = f"/admin/triggers/{t.id}"
        page = (await alice.get(path)).text
        assert value_of(page, "name") == "Urgent first"
        assert re.search(r'id="event-ticket-created"[^>]* checked', page)
        assert not re.search(r'id="event-ticket-updated"[^>]* checked', page)
        assert value_of(page, "conditions-all-0-value") == "Urgent"
        assert re.search(r'<option value="add_tags" selected>Add tags</option>', page)
        assert value_of(page, "actions-0-tags") == "burning, needs-care"
        assert re.search(r'<option value="none" selected>Nobody \(unassign\)</option>', page)
        data = trigger_form(
            await page_csrf(alice, path), name="Urgent, now", is_active=None,
            events=["ticket.updated"], **condition("all", 0, "priority", "changed_to", "urgent"),
            **action_row(0, "escalate", reason="Urgent needs L2"),
        )  # fmt: skip
        r = await alice.post(path, data=data)
        assert (r.status_code, r.headers["location"]) == (303, "/admin/triggers?saved=saved")
        (t,) = await triggers(db)
        assert (t.name, t.is_active, t.events) == ("Urgent, now", False, ["ticket.updated"])
        assert t.conditions["all"] == [{"field": "priority", "op": "changed_to", "value": "urgent"}]
        assert t.actions == [{"action": "escalate", "reason": "Urgent needs L2"}]

    @pytest.mark.parametrize(
        ("changes", "input_id", "message"),
        [
            (condition("all", 0, "priority", "is", "burning"), "conditions-all-0-value",
             "Choose a value from the list"),
            (condition("all", 0, "line", "contains", "2"), "conditions-all-0-op",
             "This field does not take this operator"),
            (condition("any", 0, "assignee_id", "is", "Nobody Known"), "conditions-any-0-value",
             "Enter an agent's name from the list"),
            (action_row(0, "add_tags", tags=" , "), "actions-0-tags", "Enter 1 to 50 tags"),
            (action_row(1, "notify_email", to="address", address="not an address",
                        subject="Hi", body="Hello"), "actions-1-address", "Enter an email address"),
            (action_row(1, "notify_email", subject="Hi {{ticket.secret}}", body="Hello"),
             "actions-1-subject", "with placeholders from the list only"),
            (action_row(1, "webhook", url="ftp://example.com/x"), "actions-1-url",
             "starting with http:// or https://"),
            (action_row(1, "webhook", url="https://example.com/x", headers="Host: evil"),
             "actions-1-headers", "each name once"),
            (action_row(1, "webhook", url="https://example.com/x", headers="no colon here"),
             "actions-1-headers", "each name once"),
            (action_row(1, "set_custom_field", key="nope", value="1"), "actions-1-key",
             "Choose a ticket field"),
            (action_row(1, "reply", text="Hello"), "actions-1-action",
             "Choose an action from the list"),
            (action_row(1, "set_priority"), "actions-1-priority", "Choose a value from the list"),
            (action_row(1, "assign"), "actions-1-user_id", "Choose an active agent."),
            (action_row(1, "escalate", reason="Refund", line_group="999"),
             "actions-1-line_group", "Choose an active group on a higher line"),
            ({"name": ""}, "name", "Enter a name of up to 200 characters."),
        ],
    )  # fmt: skip
    async def test_bad_input_is_400_with_the_input_marked_and_nothing_stored(
        self, alice: httpx.AsyncClient, db: Database, changes: dict[str, str], input_id: str,
        message: str,
    ) -> None:  # fmt: skip
        r = await create(alice, "/admin/triggers", trigger_form("", description="Keep me",
                                                               **changes))  # fmt: skip
        assert r.status_code == 400, r.text
        assert marked(r.text, input_id), input_id
        assert message in r.text
        assert 'id="rule-errors"' in r.text
        assert "Keep me</textarea>" in r.text  # what was typed is kept
        for key, value in changes.items():
            shown = value_of(r.text, key.replace(".", "-"))
            if shown is not None:
                assert shown == value, key
        assert await triggers(db) == []

    async def test_an_escalation_may_name_its_group(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        form = trigger_form("", **action_row(1, "escalate", reason="Refunds",
                                             line_group=str(company.l3_group_id)))  # fmt: skip
        assert (await create(alice, "/admin/triggers", form)).status_code == 303
        (t,) = await triggers(db)
        assert t.actions[1] == {
            "action": "escalate",
            "reason": "Refunds",
            "group_id": company.l3_group_id,
        }
        page = (await alice.get(f"/admin/triggers/{t.id}")).text
        assert re.search(
            rf'id="actions-1-line_group".*?<option value="{company.l3_group_id}" selected>',
            page, re.S,
        )  # fmt: skip

    async def test_no_event_is_refused(self, alice: httpx.AsyncClient, db: Database) -> None:
        r = await create(alice, "/admin/triggers", trigger_form("", events=[]))
        assert r.status_code == 400
        assert 'id="events-error"' in r.text and "Choose at least one event" in r.text
        assert await triggers(db) == []
        # an event condition is enough
        r = await create(alice, "/admin/triggers", trigger_form(
            "", events=[], **condition("all", 1, "event", "is", "message.created")
        ))  # fmt: skip
        assert r.status_code == 303
        assert [t.events for t in await triggers(db)] == [[]]

    async def test_a_custom_field_value_is_typed_as_the_field_wants(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        async with db.unit_of_work() as s:
            for key, kind in (("seats", "number"), ("vip_deal", "checkbox")):
                await fields_service.create_field(
                    s, actor=ADMIN, data=CustomFieldCreate(key=key, label=key, type=kind)
                )
        form = trigger_form(
            "", **action_row(1, "set_custom_field", key="seats", value="12"),
            **action_row(2, "set_custom_field", key="vip_deal", value="yes"),
        )  # fmt: skip
        assert (await create(alice, "/admin/triggers", form)).status_code == 303
        (t,) = await triggers(db)
        assert t.actions[1:] == [
            {"action": "set_custom_field", "key": "seats", "value": 12},
            {"action": "set_custom_field", "key": "vip_deal", "value": True},
        ]
        r = await create(alice, "/admin/triggers", trigger_form(
            "", name="Other", **action_row(1, "set_custom_field", key="seats", value="many")
        ))  # fmt: skip
        assert r.status_code == 400 and marked(r.text, "actions-1-value")

    async def test_a_taken_name_is_refused(self, alice: httpx.AsyncClient, db: Database) -> None:
        await add_trigger(db, "Urgent first", events=["ticket.created"],
                          actions=[{"action": "add_tags", "tags": ["x"]}])  # fmt: skip
        r = await create(alice, "/admin/triggers", trigger_form(""))
        assert r.status_code == 400
        assert marked(r.text, "name") and "Another trigger has this name." in r.text
        assert len(await triggers(db)) == 1

    async def test_a_bad_change_keeps_the_trigger_as_it_was(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        assert (await create(alice, "/admin/triggers", trigger_form(""))).status_code == 303
        (t,) = await triggers(db)
        path = f"/admin/triggers/{t.id}"
        data = trigger_form(await page_csrf(alice, path), name="Changed",
                            **action_row(0, "set_group", group_id="999999"))  # fmt: skip
        r = await alice.post(path, data=data)
        assert r.status_code == 400 and marked(r.text, "actions-0-group_id")
        assert value_of(r.text, "name") == "Changed"
        assert "<h1>Urgent first</h1>" in r.text
        (t,) = await triggers(db)
        assert t.name == "Urgent first" and t.actions[0]["action"] == "add_tags"

    async def test_delete_asks_first_then_deletes(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        rid = await add_trigger(db, "Gone soon", events=["ticket.created"],
                                actions=[{"action": "add_tags", "tags": ["x"]}])  # fmt: skip
        confirm = await alice.get(f"/admin/triggers/{rid}/delete")
        assert confirm.status_code == 200 and "Delete the trigger “Gone soon”?" in confirm.text
        assert len(await triggers(db)) == 1
        r = await alice.post(f"/admin/triggers/{rid}/delete",
                             data={"csrf_token": csrf_of(confirm.text)})  # fmt: skip
        assert (r.status_code, r.headers["location"]) == (303, "/admin/triggers?saved=deleted")
        assert await triggers(db) == []
        assert "The trigger is deleted." in (await alice.get(r.headers["location"])).text


class TestTimeRules:
    async def test_a_time_rule_made_through_the_form_is_stored(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        cal = await service_calendar(db)
        page = (await alice.get("/admin/time-rules/new")).text
        assert 'id="calendar_id"' in page and 'name="events"' not in page
        assert '<option value="event"' not in page  # a time rule reads no event
        r = await create(alice, "/admin/time-rules", time_rule_form(
            "", calendar_id=str(cal), **condition("all", 1, "business_hours_since_status_change",
                                                  "gte", "27"),
        ))  # fmt: skip
        assert (r.status_code, r.headers["location"]) == (303, "/admin/time-rules?saved=created")
        (rule,) = await time_rules(db)
        assert (rule.name, rule.calendar_id, rule.is_active) == (
            "Close solved after 4 days",
            cal,
            True,
        )
        assert rule.conditions == {"all": [
            {"field": "status", "op": "is", "value": "solved"},
            {"field": "business_hours_since_status_change", "op": "gte", "value": 27},
        ], "any": []}  # fmt: skip
        assert rule.actions == [{"action": "set_status", "status": "closed"}]
        listed = (await alice.get("/admin/time-rules")).text
        row = row_of(listed, rule.id)
        assert "Set status to Closed" in row and "Office" in row
        edit = (await alice.get(f"/admin/time-rules/{rule.id}")).text
        assert re.search(rf'<option value="{cal}" selected>', edit)

    async def test_a_rule_without_a_time_condition_is_refused(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        r = await create(alice, "/admin/time-rules", time_rule_form(
            "", **condition("all", 1, "priority", "is", "high")
        ))  # fmt: skip
        assert r.status_code == 400
        assert 'id="conditions-all-error"' in r.text and "Add a time condition here" in r.text
        assert value_of(r.text, "conditions-all-1-value") == "high"
        assert await time_rules(db) == []

    async def test_run_now_says_how_many_tickets_changed(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        page = (await alice.get("/admin/time-rules")).text
        r = await alice.post("/admin/time-rules/run", data={"csrf_token": csrf_of(page)})
        assert r.status_code == 303
        assert "There are no active time rules" in (await alice.get(r.headers["location"])).text
        await add_time_rule(
            db, "Solve after 7 days pending",
            conditions={"all": [{"field": "status", "op": "is", "value": "pending"},
                                {"field": "hours_since_status_change", "op": "gte",
                                 "value": 168}]},
            actions=[{"action": "set_status", "status": "solved"}],
        )  # fmt: skip
        stale, fresh = await new_ticket(db, company), await new_ticket(db, company)
        for t in (stale, fresh):
            await update(db, company, t.id, status="pending")
        await backdate(db, stale.id, status_changed_at=utcnow() - timedelta(days=8))
        r = await alice.post("/admin/time-rules/run", data={"csrf_token": csrf_of(page)})
        assert r.headers["location"] == "/admin/time-rules?ran=1&rules=1&changed=1&failed=0"
        shown = (await alice.get(r.headers["location"])).text
        assert re.search(r'id="ran">\s*The time rules changed 1 ticket.', shown)
        assert (await load(db, stale.id)).status == "solved"
        assert (await load(db, fresh.id)).status == "pending"

    async def test_reorder_turn_off_and_delete(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        spec: dict[str, Any] = {
            "conditions": {"all": [{"field": "hours_since_created", "op": "gte", "value": 1}]},
            "actions": [{"action": "add_tags", "tags": ["old"]}],
        }
        first = await add_time_rule(db, "First", **spec)
        second = await add_time_rule(db, "Second", **spec)
        csrf = await page_csrf(alice, "/admin/time-rules")
        await alice.post(f"/admin/time-rules/{second}/move",
                         data={"csrf_token": csrf, "direction": "up"})  # fmt: skip
        assert [r.name for r in await time_rules(db)] == ["Second", "First"]
        await alice.post(f"/admin/time-rules/{first}/active", data={"csrf_token": csrf})
        assert [r.is_active for r in await time_rules(db)] == [True, False]
        r = await alice.post(f"/admin/time-rules/{first}/delete", data={"csrf_token": csrf})
        assert r.headers["location"] == "/admin/time-rules?saved=deleted"
        assert [r.name for r in await time_rules(db)] == ["Second"]


class TestMacros:
    async def test_an_agent_manages_a_personal_macro(
        self, lena: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        page = (await lena.get("/macros/new")).text
        assert 'name="shared"' not in page  # not an admin: no shared macros
        assert "{{contact.first_name}}" in page  # the placeholders are listed
        r = await create(lena, "/macros", macro_form(""))
        assert (r.status_code, r.headers["location"]) == (303, "/macros?saved=created")
        (m,) = await macros(db)
        assert (m.name, m.owner_id, m.visibility, m.is_active) == (
            "Password reset",
            company.l1_agent.id,
            "public",
            True,
        )
        assert m.body.startswith("Hello {{contact.first_name}}")
        assert m.actions == [{"action": "set_status", "status": "pending"}]
        listed = (await lena.get("/macros")).text
        assert 'id="own-macros"' in listed and "Password reset" in listed
        assert "Set status to Pending" in listed

        path = f"/macros/{m.id}"
        assert value_of((await lena.get(path)).text, "name") == "Password reset"
        data = macro_form(await page_csrf(lena, path), name="Reset, internal",
                          visibility="internal", body="Reset done", **action_row(0))  # fmt: skip
        r = await lena.post(path, data=data)
        assert (r.status_code, r.headers["location"]) == (303, "/macros?saved=saved")
        (m,) = await macros(db)
        assert (m.name, m.visibility, m.body, m.actions) == (
            "Reset, internal",
            "internal",
            "Reset done",
            [],
        )
        confirm = await lena.get(f"{path}/delete")
        assert "Delete the macro “Reset, internal”?" in confirm.text
        r = await lena.post(f"{path}/delete", data={"csrf_token": csrf_of(confirm.text)})
        assert (r.status_code, r.headers["location"]) == (303, "/macros?saved=deleted")
        assert await macros(db) == []

    async def test_an_agent_cannot_make_or_change_a_shared_macro(
        self, lena: httpx.AsyncClient, db: Database
    ) -> None:
        mid = await shared_macro(db)
        r = await create(lena, "/macros", macro_form("", shared="on"))
        assert r.status_code == 403 and 'id="macro-forbidden"' in r.text
        listed = (await lena.get("/macros")).text
        assert 'id="shared-macros"' in listed and "Welcome" in listed
        view = await lena.get(f"/macros/{mid}")
        assert view.status_code == 200 and 'id="macro-read-only"' in view.text
        assert 'id="macro-form"' not in view.text
        csrf = csrf_of(view.text)
        for path, data in (
            (f"/macros/{mid}", macro_form(csrf, name="Mine now")),
            (f"/macros/{mid}/delete", {"csrf_token": csrf}),
        ):
            r = await lena.post(path, data=data)
            assert (path, r.status_code) == (path, 403)
            assert "Only an admin may create, change or delete a shared macro" in r.text
        assert (await lena.get(f"/macros/{mid}/delete")).status_code == 403
        assert [(m.name, m.owner_id) for m in await macros(db)] == [("Welcome", None)]

    async def test_an_admin_makes_and_changes_a_shared_macro(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        assert 'name="shared"' in (await alice.get("/macros/new")).text
        r = await create(alice, "/macros", macro_form("", shared="on"))
        assert r.status_code == 303
        (m,) = await macros(db)
        assert m.owner_id is None
        path = f"/macros/{m.id}"
        r = await alice.post(path, data=macro_form(await page_csrf(alice, path), name="Reset"))
        assert r.status_code == 303
        assert [(m.name, m.owner_id) for m in await macros(db)] == [("Reset", None)]

    async def test_another_agents_macro_is_404(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await set_password(db, company.l2_agent.id, IGOR[1])
        await set_password(db, company.l1_agent.id, LENA[1])
        assert (await sign_in(client, *LENA)).status_code == 303
        assert (await create(client, "/macros", macro_form(""))).status_code == 303
        (m,) = await macros(db)
        await client.post("/logout", data={"csrf_token": await page_csrf(client, "/macros")})
        assert (await sign_in(client, *IGOR)).status_code == 303
        listed = (await client.get("/macros")).text
        assert "Password reset" not in listed
        for path in (f"/macros/{m.id}", f"/macros/{m.id}/delete"):
            assert (await client.get(path)).status_code == 404, path
        csrf = await page_csrf(client, "/macros")
        for path, data in (
            (f"/macros/{m.id}", macro_form(csrf, name="Taken over")),
            (f"/macros/{m.id}/delete", {"csrf_token": csrf}),
        ):
            assert (await client.post(path, data=data)).status_code == 404, path
        assert [(m.name, m.owner_id) for m in await macros(db)] == [
            ("Password reset", company.l1_agent.id)
        ]

    @pytest.mark.parametrize(
        ("changes", "input_id", "message"),
        [
            ({"body": "Hi {{contact.nickname}}"}, "body", "placeholders from the list only"),
            ({"body": "  ", **action_row(0)}, "body", "Write a text, or add an action."),
            ({"visibility": "internal",
              **action_row(0, "notify_email", to="requester", subject="Hi", body="Hello")},
             "actions-0-to", "An internal macro cannot write to the customer"),
            (action_row(0, "add_note", text="{{oops"), "actions-0-text",
             "placeholders from the list only"),
        ],
    )  # fmt: skip
    async def test_bad_input_is_400_with_the_input_marked_and_nothing_stored(
        self, lena: httpx.AsyncClient, db: Database, changes: dict[str, str], input_id: str,
        message: str,
    ) -> None:  # fmt: skip
        r = await create(lena, "/macros", macro_form("", name="Kept name", **changes))
        assert r.status_code == 400, r.text
        assert marked(r.text, input_id), input_id
        assert message in r.text and 'id="macro-errors"' in r.text
        assert value_of(r.text, "name") == "Kept name"
        if changes.get("body", "").strip():
            assert f">{changes['body']}</textarea>" in r.text
        assert await macros(db) == []
