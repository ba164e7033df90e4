"""Macros on both backends: placeholders, preview, applying a public reply or an internal
note with the macro's actions run as the agent, an internal macro never reaching the
customer, and who sees and changes personal and shared macros."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from opora.db import Database
from tests.automation.test_triggers import (
    jobs_named,
    load,
    messages,
    new_ticket,
    rules_applied,
    timeline,
)
from tests.conftest import Company, Persona

API = "/api/v1/automation/macros"

GREETING = (
    "Здравствуйте, {{contact.first_name}}! Заявка #{{ticket.number}} «{{ticket.subject}}» "
    "у {{agent.name}} ({{group.name}}, {{organization.name}}), тариф {{custom_fields.plan}}. "
    "{{ticket.url}}"
)


async def macro(client: httpx.AsyncClient, persona: Persona, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Password reset", "body": "Сбросьте пароль"}
    body.update(fields)
    r = await client.post(API, headers=persona.headers, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def customer_mail(db: Database) -> list[dict[str, Any]]:
    return [j.payload for j in await jobs_named(db, "channels.email.send")]


class TestPreview:
    async def test_placeholders_are_filled_in_for_the_ticket(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        r = await client.post("/api/v1/custom-fields", headers=company.admin.headers,
                              json={"key": "plan", "label": "Plan", "type": "text"})  # fmt: skip
        assert r.status_code == 201, r.text
        m = await macro(client, company.admin, shared=True, body=GREETING, actions=[
            {"action": "set_status", "status": "pending"},
            {"action": "add_tags", "tags": ["password"]},
            {"action": "assign", "user_id": company.l1_agent.id},
        ])  # fmt: skip
        t = await new_ticket(db, company, custom_fields={"plan": "Pro"})
        r = await client.get(f"{API}/{m['id']}/preview", headers=company.l1_agent.headers,
                             params={"ticket_id": t.id})  # fmt: skip
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["text"] == (
            f"Здравствуйте, Carol! Заявка #{t.number} «Не могу войти» у Lena L1 "
            f"(L1 Support, Acme), тариф Pro. http://127.0.0.1:8000/tickets/{t.id}"
        )
        assert got["visibility"] == "public"
        assert got["actions"] == ["Set status to Pending", "Add tags: password",
                                  "Assign to Lena L1"]  # fmt: skip
        # a preview changes nothing
        assert (await load(db, t.id)).status == "new"
        assert await rules_applied(db, t.id) == []

    async def test_a_ticket_the_agent_cannot_read_is_not_found(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await macro(client, company.admin, shared=True)
        r = await client.get(f"{API}/{m['id']}/preview", headers=company.l1_agent.headers,
                             params={"ticket_id": 999999})  # fmt: skip
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "ticket_not_found"


class TestApply:
    async def test_a_public_macro_replies_and_runs_its_actions_as_the_agent(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await macro(client, company.admin, shared=True,
                        body="{{contact.first_name}}, сбросьте пароль по ссылке.",
                        actions=[{"action": "set_status", "status": "pending"},
                                 {"action": "add_tags", "tags": ["password"]}])  # fmt: skip
        t = await new_ticket(db, company)
        r = await client.post(f"{API}/{m['id']}/apply", headers=company.l1_agent.headers,
                              json={"ticket_id": t.id})  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.json()["visibility"] == "public"
        [reply] = [x for x in await messages(db, t.id) if x.id == r.json()["message_id"]]
        assert (reply.visibility, reply.author_user_id) == ("public", company.l1_agent.id)
        assert reply.body_text == "Carol, сбросьте пароль по ссылке."
        assert (await load(db, t.id)).status == "pending"
        changes = [(e.field, e.actor_user_id, e.actor_label)
                   for e in await timeline(db, t.id, "field_changed")
                   if e.field in ("status", "tags")]  # fmt: skip
        assert ("tags", company.l1_agent.id, None) in changes
        assert ("status", company.l1_agent.id, None) in changes
        assert await rules_applied(db, t.id) == ["Macro: Password reset"]
        mail = await customer_mail(db)
        assert [p["kind"] for p in mail] == ["ticket_reply"]
        assert mail[0]["text"].startswith("Carol, сбросьте пароль по ссылке.\n")
        assert mail[0]["message_id"] == reply.id

    async def test_the_agent_may_edit_the_text_first(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await macro(client, company.l1_agent)
        t = await new_ticket(db, company)
        edited = {"ticket_id": t.id, "text": "Свой текст {{ticket.number}}"}
        r = await client.post(
            f"{API}/{m['id']}/apply", headers=company.l1_agent.headers, json=edited
        )
        assert r.status_code == 200, r.text
        bodies = [x.body_text for x in await messages(db, t.id)]
        assert bodies[-1] == "Свой текст {{ticket.number}}"  # as the agent wrote it

    async def test_an_internal_macro_posts_a_note_and_never_mails_the_customer(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await macro(client, company.l1_agent, name="Logs", visibility="internal",
                        body="Проверить логи по #{{ticket.number}}",
                        actions=[{"action": "escalate", "reason": "Нужны логи"}])  # fmt: skip
        t = await new_ticket(db, company)
        for text in (None, "Уважаемая Кэрол, всё исправлено"):
            r = await client.post(f"{API}/{m['id']}/apply", headers=company.l1_agent.headers,
                                  json={"ticket_id": t.id, "text": text})  # fmt: skip
            assert r.status_code == 200, r.text
            assert r.json()["visibility"] == "internal"
            if text is None:  # the first time it escalated; the second there is no line 2 → 3
                await client.patch(f"/api/v1/tickets/{t.id}", headers=company.admin.headers,
                                   json={"group_id": company.l1_group_id})  # fmt: skip
        posted = [
            x for x in await messages(db, t.id)
            if x.author_user_id == company.l1_agent.id and "escalation" not in x.extra
        ]  # fmt: skip
        assert [(x.visibility, x.body_text) for x in posted] == [
            ("internal", f"Проверить логи по #{t.number}"),
            ("internal", "Уважаемая Кэрол, всё исправлено"),
        ]
        escalated = await timeline(db, t.id, "escalated")
        assert [e.actor_user_id for e in escalated] == [company.l1_agent.id] * 2
        texts = [p["text"] for p in await customer_mail(db)]
        assert not any("логи" in x or "исправлено" in x for x in texts)

    @pytest.mark.parametrize(
        ("actions", "field"),
        [
            ([{"action": "reply", "text": "Готово"}], "actions.0.action"),
            ([{"action": "add_note", "text": "x"},
              {"action": "notify_email", "to": "requester", "subject": "s", "body": "b"}],
             "actions.1.to"),
        ],
    )  # fmt: skip
    async def test_an_internal_macro_cannot_reach_the_customer(
        self, client: httpx.AsyncClient, company: Company, actions: list[Any], field: str
    ) -> None:
        h = company.l1_agent.headers
        r = await client.post(API, headers=h, json={
            "name": "Sneaky", "visibility": "internal", "body": "note", "actions": actions,
        })  # fmt: skip
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == field
        public = await macro(client, company.l1_agent, actions=actions)
        r = await client.patch(f"{API}/{public['id']}", headers=h, json={"visibility": "internal"})
        assert r.status_code == 422 and r.json()["error"]["field"] == field
        assert (await client.get(f"{API}/{public['id']}", headers=h)).json()["visibility"] == (
            "public"
        )

    async def test_a_turned_off_macro_is_not_applied(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await macro(client, company.l1_agent, is_active=False)
        t = await new_ticket(db, company)
        r = await client.post(f"{API}/{m['id']}/apply", headers=company.l1_agent.headers,
                              json={"ticket_id": t.id})  # fmt: skip
        assert r.status_code == 409
        assert len(await messages(db, t.id)) == 1

    async def test_a_refused_action_posts_nothing(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        m = await macro(client, company.l1_agent, actions=[
            {"action": "assign", "user_id": company.l2_agent.id},  # igor is not in L1
        ])  # fmt: skip
        t = await new_ticket(db, company)
        r = await client.post(f"{API}/{m['id']}/apply", headers=company.l1_agent.headers,
                              json={"ticket_id": t.id})  # fmt: skip
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "assignee_not_in_group"
        assert len(await messages(db, t.id)) == 1  # the reply went with the refusal
        assert await customer_mail(db) == []


class TestWhoSeesWhat:
    async def test_personal_macros_are_their_owners(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        lena, igor = company.l1_agent, company.l2_agent
        mine = await macro(client, lena, name="Мой шаблон")
        shared = await macro(client, company.admin, name="Общий", shared=True)
        assert mine["shared"] is False and mine["owner_id"] == lena.id
        assert shared["shared"] is True and shared["owner_id"] is None
        listed = {m["name"] for m in (await client.get(API, headers=lena.headers)).json()}
        assert listed == {"Мой шаблон", "Общий"}
        for persona in (igor, company.admin):
            names = {m["name"] for m in (await client.get(API, headers=persona.headers)).json()}
            assert names == {"Общий"}
            r = await client.get(f"{API}/{mine['id']}", headers=persona.headers)
            assert r.status_code == 404
            r = await client.patch(f"{API}/{mine['id']}", headers=persona.headers,
                                   json={"name": "Взял себе"})  # fmt: skip
            assert r.status_code == 404
        r = await client.patch(f"{API}/{mine['id']}", headers=lena.headers,
                               json={"body": "Новый текст"})  # fmt: skip
        assert r.status_code == 200 and r.json()["body"] == "Новый текст"

    async def test_only_admins_make_and_change_shared_macros(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        lena = company.l1_agent
        r = await client.post(API, headers=lena.headers,
                              json={"name": "Для всех", "body": "x", "shared": True})  # fmt: skip
        assert r.status_code == 403
        shared = await macro(client, company.admin, name="Общий", shared=True)
        r = await client.patch(f"{API}/{shared['id']}", headers=lena.headers, json={"body": "y"})
        assert r.status_code == 403
        r = await client.delete(f"{API}/{shared['id']}", headers=lena.headers)
        assert r.status_code == 403
        r = await client.patch(f"{API}/{shared['id']}", headers=company.admin.headers,
                               json={"body": "Исправлено"})  # fmt: skip
        assert r.status_code == 200, r.text
        r = await client.delete(f"{API}/{shared['id']}", headers=company.admin.headers)
        assert r.status_code == 204
        assert (await client.get(API, headers=lena.headers)).json() == []

    async def test_names_are_unique_within_their_scope(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await macro(client, company.admin, name="Привет", shared=True)
        await macro(client, company.l1_agent, name="Привет")  # her own: another scope
        await macro(client, company.l2_agent, name="Привет")
        r = await client.post(API, headers=company.admin.headers,
                              json={"name": "Привет", "body": "x", "shared": True})  # fmt: skip
        assert r.status_code == 409 and r.json()["error"]["field"] == "name"
        r = await client.post(API, headers=company.l1_agent.headers,
                              json={"name": "Привет", "body": "x"})  # fmt: skip
        assert r.status_code == 409
