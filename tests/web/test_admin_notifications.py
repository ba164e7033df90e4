"""The admin pages of the notification templates (src/opora/admin/notifications.py) on both
backends: the list, the editor (preview, save, a template that cannot be used), reset."""

from __future__ import annotations

import re

import httpx
import pytest

from opora.auth.actor import system_actor
from opora.db import Database
from opora.notifications import catalog, templates
from tests.conftest import Company
from tests.web.helpers import csrf_of, page_csrf, set_password, sign_in

ALICE = ("alice@opora.dev", "alice-secret")
LENA = ("lena@opora.dev", "lena-secret")
EDIT = "/admin/notifications/ticket_received/ru"


@pytest.fixture
async def alice(client: httpx.AsyncClient, company: Company) -> httpx.AsyncClient:
    assert (await sign_in(client, *ALICE)).status_code == 303
    return client


async def stored(
    db: Database, key: str = "ticket_received", language: str = "ru"
) -> templates.TemplateView:
    async with db.unit_of_work(write=False) as s:
        return await templates.get_template(
            s, actor=system_actor("tests"), key=key, language=language
        )


def row_state(html: str, key: str, language: str) -> str:
    match = re.search(rf'data-template="{key}-{language}" data-customized="(\w+)"', html)
    assert match, f"no row for {key}/{language}"
    return match.group(1)


class TestAccess:
    async def test_an_agent_gets_403_everywhere_and_changes_nothing(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await set_password(db, company.l1_agent.id, LENA[1])
        assert (await sign_in(client, *LENA)).status_code == 303
        csrf = ""
        for path in ("/admin/notifications", EDIT, f"{EDIT}/reset"):
            r = await client.get(path)
            assert (path, r.status_code) == (path, 403)
            assert 'id="admin-forbidden"' in r.text
            csrf = csrf_of(r.text)
        for action in ("preview", "save"):
            r = await client.post(
                EDIT, data={"csrf_token": csrf, "action": action, "subject": "Hi", "body": "Hi"}
            )
            assert (action, r.status_code) == (action, 403)
            assert 'id="template-preview"' not in r.text
        r = await client.post(f"{EDIT}/reset", data={"csrf_token": csrf})
        assert r.status_code == 403
        assert (await stored(db)).customized is False

    async def test_an_unknown_template_or_language_is_404(self, alice: httpx.AsyncClient) -> None:
        assert (await alice.get("/admin/notifications/no_such/ru")).status_code == 404
        assert (await alice.get("/admin/notifications/ticket_received/de")).status_code == 404
        csrf = await page_csrf(alice, EDIT)
        data = {"csrf_token": csrf, "action": "preview", "subject": "x", "body": "y"}
        assert (await alice.post("/admin/notifications/no_such/ru", data=data)).status_code == 404


class TestList:
    async def test_lists_every_template_in_both_languages_as_default(
        self, alice: httpx.AsyncClient
    ) -> None:
        r = await alice.get("/admin/notifications")
        assert r.status_code == 200
        rows = re.findall(r'<tr data-template="([\w-]+)" data-customized="(\w+)"', r.text)
        assert len(rows) == len(catalog.SPECS) * len(catalog.LANGUAGES) == 16
        assert {state for _, state in rows} == {"no"}
        assert 'href="/admin/notifications/agent_mentioned/en"' in r.text
        assert "Request received" in r.text and "Customer" in r.text and "Agents" in r.text


class TestEditor:
    async def test_shows_the_default_text_and_the_variables_with_examples(
        self, alice: httpx.AsyncClient
    ) -> None:
        r = await alice.get(EDIT)
        assert r.status_code == 200
        subject, _ = templates.default_source("ticket_received", "ru")
        assert f'value="{subject}"' in r.text
        variables = dict(re.findall(r"<dt><code>([\w.]+)</code></dt><dd>([^<]*)</dd>", r.text))
        assert variables["ticket.number"] == "1042"
        assert variables["contact.name"] == "Анна Смирнова"
        assert "expected.within" in variables and "company" in variables
        assert 'id="reset-template"' not in r.text  # nothing to restore yet

    async def test_a_template_that_cannot_render_is_400_with_the_reason_and_the_text_kept(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        csrf = await page_csrf(alice, EDIT)
        data = {
            "csrf_token": csrf,
            "action": "save",
            "subject": "Обращение #{{ ticket.nubmer }}",
            "body": "Здравствуйте, {{ contact.name }}!",
        }
        r = await alice.post(EDIT, data=data)
        assert r.status_code == 400
        assert re.search(
            r'id="subject"[^>]*aria-invalid="true" aria-describedby="subject-error"', r.text
        )
        error = re.search(r'id="subject-error">([^<]*)<', r.text)
        assert error is not None and "nubmer" in error.group(1)
        assert "{{ ticket.nubmer }}" in r.text and "Здравствуйте, {{ contact.name }}!" in r.text
        assert 'id="body-error"' not in r.text
        assert (await stored(db)).customized is False

    async def test_an_empty_text_is_marked(self, alice: httpx.AsyncClient) -> None:
        csrf = await page_csrf(alice, EDIT)
        data = {"csrf_token": csrf, "action": "preview", "subject": "Hi", "body": "  "}
        r = await alice.post(EDIT, data=data)
        assert r.status_code == 400
        assert re.search(r'id="body"[^>]*aria-invalid="true"', r.text)
        assert 'id="template-preview"' not in r.text

    async def test_preview_renders_the_sample_and_saves_nothing(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        csrf = await page_csrf(alice, EDIT)
        data = {
            "csrf_token": csrf,
            "action": "preview",
            "subject": "Обращение #{{ ticket.number }}",
            "body": "Здравствуйте, {{ contact.name }}!\r\nОтветим за {{ expected.within }}.",
        }
        r = await alice.post(EDIT, data=data)
        assert r.status_code == 200
        subject = re.search(r'id="preview-subject">([^<]*)<', r.text)
        text = re.search(r'id="preview-text">([^<]*)<', r.text)
        assert subject is not None and subject.group(1) == "Обращение #1042"
        assert text is not None
        assert text.group(1) == "Здравствуйте, Анна Смирнова!\nОтветим за 12 часов.\n"
        assert 'value="Обращение #{{ ticket.number }}"' in r.text  # the source stays editable
        assert (await stored(db)).customized is False

    async def test_save_then_reset(self, alice: httpx.AsyncClient, db: Database) -> None:
        csrf = await page_csrf(alice, EDIT)
        data = {
            "csrf_token": csrf,
            "action": "save",
            "subject": "Получили: #{{ ticket.number }}",
            "body": "Спасибо, {{ contact.name }}.\r\nМы скоро ответим.",
        }
        r = await alice.post(EDIT, data=data)
        assert (r.status_code, r.headers["location"]) == (303, f"{EDIT}?saved=saved")
        view = await stored(db)
        assert view.customized is True
        assert (view.subject, view.body) == (
            "Получили: #{{ ticket.number }}",
            "Спасибо, {{ contact.name }}.\nМы скоро ответим.",
        )
        page = await alice.get(r.headers["location"])
        assert "Saved." in page.text and 'id="reset-template"' in page.text
        listed = (await alice.get("/admin/notifications")).text
        assert row_state(listed, "ticket_received", "ru") == "yes"
        assert row_state(listed, "ticket_received", "en") == "no"

        confirm = await alice.get(f"{EDIT}/reset")
        assert confirm.status_code == 200 and 'id="confirm-reset"' in confirm.text
        assert (await stored(db)).customized is True  # asking changes nothing
        r = await alice.post(f"{EDIT}/reset", data={"csrf_token": csrf_of(confirm.text)})
        assert (r.status_code, r.headers["location"]) == (303, f"{EDIT}?saved=reset")
        assert (await stored(db)).customized is False
        assert "The default text is restored." in (await alice.get(r.headers["location"])).text
        listed = (await alice.get("/admin/notifications")).text
        assert row_state(listed, "ticket_received", "ru") == "no"
