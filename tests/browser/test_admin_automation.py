"""The trigger page in Chromium: an admin builds a trigger with the condition and action
rows (added, switched and removed by static/js/conditions.js and actions.js), saves it,
and a new ticket that matches it shows the trigger's work. Screenshots of the filled
form, the list and the ticket (test-artifacts/screenshots/<test name>-<step>.png), and
the page checks every admin page passes (nothing scrolls sideways, every control named).

The live server is shared by the package: the trigger matches only this test's subject."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Page, expect

from opora.auth.models import Role
from tests.browser.conftest import LiveServer, Screenshot
from tests.browser.test_screenshots import PASSWORD, check_page, sign_in

pytestmark = pytest.mark.browser


class TestTriggerBuilder:
    async def test_an_admin_builds_a_trigger_that_acts_on_a_new_ticket(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        suffix = uuid.uuid4().hex[:8]
        email = f"triggers-{suffix}@opora.dev"
        await live_server.create_user(
            email=email, password=PASSWORD, name="Alice Rules", role=Role.ADMIN
        )
        name = f"Printers {suffix} are urgent"
        await sign_in(page, email)
        await page.goto("/admin/users")
        await page.click(".admin-nav >> text=Triggers")
        await page.click("#new-rule")
        await expect(page).to_have_url(f"{live_server.url}/admin/triggers/new")
        await page.fill("#name", name)
        await expect(page.locator("#event-ticket-created")).to_be_checked()

        # a condition row, added by the script; the operators follow the field
        await expect(page.locator("#conditions-all-0-field")).to_have_count(0)  # spare row gone
        await page.click("#conditions-all-add")
        await page.select_option("#conditions-all-0-field", "subject")
        contains_ops = page.locator("#conditions-all-0-op option:not([hidden])")
        await expect(contains_ops).to_have_count(3)  # contains, does not contain, any words
        await page.select_option("#conditions-all-0-op", "contains")
        await page.fill("#conditions-all-0-value", f"printer-{suffix}")

        # action rows: each shows the inputs of its kind
        await expect(page.locator("#actions-0-action")).to_have_count(0)
        await page.click("#actions-add")
        await page.select_option("#actions-0-action", "set_priority")
        await expect(page.locator("#actions-0-priority")).to_be_visible()
        await expect(page.locator("#actions-0-tags")).to_be_hidden()
        await page.select_option("#actions-0-priority", "urgent")
        await page.click("#actions-add")
        await page.select_option("#actions-1-action", "add_tags")
        await expect(page.locator("#actions-1-tags")).to_be_visible()
        await expect(page.locator("#actions-1-priority")).to_be_hidden()
        await page.fill("#actions-1-tags", f"printer-{suffix}, hardware")
        await page.click("#actions-add")
        await page.select_option("#actions-2-action", "notify_email")
        await expect(page.locator("#actions-2-subject")).to_be_visible()
        await expect(page.locator("#actions-2-address")).to_be_hidden()
        await page.select_option("#actions-2-to", "address")
        await expect(page.locator("#actions-2-address")).to_be_visible()
        await page.fill("#actions-2-address", "not an address")
        await page.fill("#actions-2-subject", "Printer down: #{{ticket.number}}")
        await page.fill("#actions-2-body", "{{ticket.url}}")
        await screenshot(page, "filled")

        # a mistake comes back marked, with the rows as they were
        await page.click("#save-rule")
        await expect(page.locator("#rule-errors")).to_be_visible()
        await expect(page.locator("#actions-2-address")).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#actions-2-address-error")).to_be_visible()
        await expect(page.locator("#conditions-all-0-value")).to_have_value(f"printer-{suffix}")
        await expect(page.locator("#actions-1-tags")).to_have_value(f"printer-{suffix}, hardware")
        await screenshot(page, "marked")
        await (
            page.locator("#actions-2-action")
            .locator("xpath=ancestor::li[1]")
            .locator("[data-act-remove]")
            .click()
        )
        await expect(page.locator("#actions-2-action")).to_have_count(0)
        await page.click("#save-rule")

        await expect(page).to_have_url(f"{live_server.url}/admin/triggers?saved=created")
        row = page.locator("#rules-table tr", has_text=name)
        await expect(row).to_contain_text(f"Subject contains printer-{suffix}")
        await expect(row).to_contain_text("Set priority to Urgent")
        await expect(row).to_contain_text(f"Add tags: printer-{suffix}, hardware")
        problems = await check_page(page, "admin-triggers", "desktop")
        await screenshot(page, "list")

        await page.goto("/tickets/new")
        await page.fill("#new-requester_email", f"office-{suffix}@example.org")
        await page.fill("#new-subject", f"The printer-{suffix} jams on every page")
        await page.fill("#new-body", "Paper jam again, third floor.")
        await page.click("#create-ticket")
        await expect(page).to_have_url(re.compile(rf"{live_server.url}/tickets/\d+$"))
        await expect(page.locator("#edit-priority")).to_have_value("urgent")
        await expect(page.locator("#edit-tags")).to_have_value(
            re.compile(rf"\bprinter-{suffix}\b.*\bhardware\b|\bhardware\b.*\bprinter-{suffix}\b")
        )
        await expect(page.locator(".event-rule_applied")).to_contain_text(f"Trigger: {name}")
        await screenshot(page, "ticket")
        assert not problems, "\n".join(problems)


class TestMacroAndRulePages:
    async def test_an_agent_makes_a_macro_and_the_pages_fit_a_phone(
        self, page: Page, phone_page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        suffix = uuid.uuid4().hex[:8]
        agent = f"macros-{suffix}@opora.dev"
        await live_server.create_user(email=agent, password=PASSWORD, name="Lena Macros")
        await sign_in(page, agent)
        await page.click("#nav-macros")
        await expect(page).to_have_url(f"{live_server.url}/macros")
        await page.click("#new-macro")
        await expect(page.locator("#shared")).to_have_count(0)  # agents: personal only
        name = f"Waiting for logs {suffix}"
        await page.fill("#name", name)
        await page.fill("#body", "{{contact.first_name}}, please send us the logs.")
        await expect(page.locator("#placeholder-list")).to_contain_text("{{ticket.number}}")
        await page.click("#actions-add")
        await page.select_option("#actions-0-action", "set_status")
        await page.select_option("#actions-0-status", "pending")
        await screenshot(page, "macro-filled")
        await page.click("#save-macro")
        await expect(page).to_have_url(f"{live_server.url}/macros?saved=created")
        row = page.locator("#own-macros tr", has_text=name)
        await expect(row).to_contain_text("Set status to Pending")
        problems = await check_page(page, "macros", "desktop")

        admin = f"rules-ru-{suffix}@opora.dev"
        await live_server.create_user(
            email=admin, password=PASSWORD, name="Алиса Правила", role=Role.ADMIN, language="ru"
        )
        await sign_in(phone_page, admin)
        for shot, path in (
            ("admin-triggers", "/admin/triggers"),
            ("admin-trigger-new", "/admin/triggers/new"),
            ("admin-time-rules", "/admin/time-rules"),
            ("admin-time-rule-new", "/admin/time-rules/new"),
            ("macros", "/macros"),
            ("macro-new", "/macros/new"),
        ):
            response = await phone_page.goto(path)
            assert response is not None and response.status == 200, path
            if path.endswith("/new"):
                await phone_page.click("#actions-add")
                await phone_page.select_option("#actions-0-action", "webhook")
            problems += await check_page(phone_page, shot, "phone-ru")
        await phone_page.goto("/admin/time-rules")
        await phone_page.click("#run-time-rules")
        await expect(phone_page.locator("#ran")).to_be_visible()
        assert not problems, "\n".join(problems)
