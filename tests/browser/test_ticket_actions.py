"""Ticket page actions in a browser: merge two tickets, solve with a resolution summary."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import Page, expect

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.schemas import GroupCreate
from opora.db import Database
from opora.tickets import service as tickets_service
from opora.tickets.schemas import RequesterIn, TicketCreate
from tests.browser.conftest import LiveServer, Screenshot

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


async def agent_and_tickets(live_server: LiveServer) -> tuple[str, list[tuple[int, int]]]:
    """A new agent and two of Carol's tickets in a line-1 group: (id, number) each."""
    suffix = uuid.uuid4().hex[:8]
    email = f"actions-{suffix}@opora.dev"
    await live_server.create_user(email=email, password=PASSWORD, name="Actions Agent")
    db = Database(live_server.database_url)
    actor = system_actor("browser tests")
    try:
        async with db.unit_of_work() as s:
            l1 = await auth_service.create_group(
                s, actor=actor, data=GroupCreate(name=f"First line {suffix}", line=1)
            )
            made = []
            for subject, body in (
                ("Scanner jams", "The scanner jams on page three."),
                ("Scanner broken", "Our scanner does not work."),
            ):
                ticket = await tickets_service.create_ticket(
                    s,
                    actor=actor,
                    data=TicketCreate(
                        subject=subject,
                        body=body,
                        requester=RequesterIn(email="carol@acme.ru", name="Carol Customer"),
                        group_id=l1.id,
                    ),
                )
                made.append((ticket.id, ticket.number))
            return email, made
    finally:
        await db.dispose()


async def sign_in(page: Page, email: str) -> None:
    await page.goto("/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button#sign-in")
    await expect(page.locator("#sign-out")).to_be_visible()


class TestTicketActions:
    async def test_merge_two_tickets(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, [(source_id, source_number), (target_id, target_number)] = await agent_and_tickets(
            live_server
        )
        await sign_in(page, email)
        await page.goto(f"/tickets/{source_id}")

        await page.fill("#merge-number", str(source_number))
        await page.click("#merge-button")
        await expect(page.locator("#merge-number-error")).to_contain_text("into itself")

        await page.fill("#merge-number", str(target_number))
        await page.click("#merge-button")
        confirm = page.locator("#merge-confirm")
        await expect(confirm).to_contain_text("Scanner jams")
        await expect(confirm).to_contain_text("Scanner broken")
        await screenshot(page, "merge-confirm")

        await page.click("#merge-confirm-button")
        await expect(page).to_have_url(
            f"{live_server.url}/tickets/{target_id}?merged={source_number}#merged-notice"
        )
        await expect(page.locator("#merged-notice")).to_be_visible()
        await expect(page.locator("#timeline")).to_contain_text("The scanner jams on page three.")
        await screenshot(page, "merged")

    async def test_solve_with_a_resolution(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        email, [(ticket_id, _), _] = await agent_and_tickets(live_server)
        await sign_in(page, email)
        await page.goto(f"/tickets/{ticket_id}")
        solution = page.locator("#edit-resolution-solution")
        await expect(solution).to_be_hidden()

        await page.select_option("#edit-status", "solved")
        await expect(solution).to_be_visible()
        await page.fill("#edit-resolution-problem", "The feed roller is worn")
        await page.click("#save-ticket")
        await expect(page.locator("#edit-resolution_solution-error")).to_be_visible()
        await expect(page.locator("#edit-resolution-problem")).to_have_value(
            "The feed roller is worn"
        )
        await screenshot(page, "resolution-required")

        await page.fill("#edit-resolution-solution", "Replaced the feed roller")
        await page.fill("#edit-resolution-outcome", "Scans without jams")
        await page.click("#save-ticket")
        await expect(page.locator("#resolution-solution")).to_have_text("Replaced the feed roller")
        await expect(page.locator("#edit-status")).to_have_value("solved")
        await screenshot(page, "solved")
