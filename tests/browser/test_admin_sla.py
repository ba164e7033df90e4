"""The SLA admin pages in Chromium (src/opora/admin/sla.py). An admin makes a business
calendar through the form: the week's grid (two intervals a day: a lunch break; "Open
24/7" turns the grid off, static/js/sla.js), holidays typed, then more imported from a
CSV file, and a bad file refused naming its line. An admin makes an SLA policy with the
condition rows (added and removed by static/js/conditions.js) and targets per priority,
sees it in its place in the list, applies the policies to the open tickets, and a ticket
made afterwards (through the API) shows the SLA box with the policy and each target's due
time and time left. What is stored is read back through the services. Screenshots of the
list, the calendar form and the policy form (test-artifacts/screenshots/), at desktop and
phone size, with the checks every admin page passes (nothing scrolls sideways, every
control named).

The live server is shared by the package: names carry the test's suffix, and the policy
matches only tickets of this test's organization."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.models import Role
from opora.auth.schemas import UserUpdate
from opora.contacts import service as contacts_service
from opora.contacts.schemas import OrganizationCreate
from opora.db import Database
from opora.sla import service as sla_service
from opora.sla.calendar import add_business_minutes
from opora.sla.schemas import CalendarCreate, PolicyCreate
from opora.tickets.models import Ticket, TicketStatus
from tests.browser.conftest import LiveServer, Screenshot
from tests.browser.test_screenshots import PASSWORD, check_page, sign_in

pytestmark = pytest.mark.browser

ACTOR = system_actor("browser tests")
LUNCH_DAYS = ("mon", "tue", "wed", "thu")
OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD)


@asynccontextmanager
async def unit_of_work(live_server: LiveServer) -> AsyncIterator[AsyncSession]:
    """A transaction on the live server's database, from the test's process."""
    db = Database(live_server.database_url)
    try:
        async with db.unit_of_work() as session:
            yield session
    finally:
        await db.dispose()


def utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def calendar_id_of(page: Page, live_server: LiveServer) -> int:
    match = re.fullmatch(rf"{re.escape(live_server.url)}/admin/sla/calendars/(\d+)\?.*", page.url)
    assert match, page.url
    return int(match.group(1))


async def urgent_ticket(live_server: LiveServer, token: str, subject: str, email: str) -> int:
    """An urgent ticket made through the JSON API, in the live server's process."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as client:
        r = await client.post(
            "/api/v1/tickets",
            headers={"Authorization": f"Bearer {token}"},
            json={"subject": subject, "body": "Nothing prints.", "priority": "urgent",
                  "requester": {"email": email, "name": "Carol Customer"}},
        )  # fmt: skip
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


class TestBusinessCalendar:
    async def test_an_admin_makes_a_calendar_and_imports_holidays_from_a_file(
        self,
        page: Page,
        phone_page: Page,
        live_server: LiveServer,
        screenshot: Screenshot,
        tmp_path: Path,
    ) -> None:
        suffix = uuid.uuid4().hex[:8]
        email = f"sla-calendar-{suffix}@opora.dev"
        await live_server.create_user(
            email=email, password=PASSWORD, name="Alice Calendars", role=Role.ADMIN
        )
        name = f"Novosibirsk office {suffix}"
        await sign_in(page, email)
        await page.goto("/admin/users")
        await page.click(".admin-nav >> text=SLA")
        await expect(page).to_have_url(f"{live_server.url}/admin/sla")
        await page.click("#new-calendar")
        await expect(page).to_have_url(f"{live_server.url}/admin/sla/calendars/new")
        await page.fill("#name", name)
        await page.fill("#timezone", "Asia/Novosibirsk")

        # a new calendar starts as Mon–Fri 09:00–18:00; "Open 24/7" turns the grid off
        await expect(page.locator("#hours-fri-0-from")).to_have_value("09:00")
        await expect(page.locator("#hours-sat-0-from")).to_have_value("")
        await page.check("#always_open")
        await expect(page.locator("#hours-grid")).to_have_js_property("disabled", True)
        await expect(page.locator("#hours-mon-1-from")).to_be_disabled()
        await page.uncheck("#always_open")
        await expect(page.locator("#hours-mon-1-from")).to_be_enabled()

        # a lunch break Mon–Thu in the second interval; Tuesday's first try overlaps
        for day in LUNCH_DAYS:
            await page.fill(f"#hours-{day}-0-to", "13:00")
            await page.fill(f"#hours-{day}-1-from", "12:00" if day == "tue" else "14:00")
            await page.fill(f"#hours-{day}-1-to", "18:00")
        await page.fill("#hours-fri-0-to", "16:00")
        # Saturday typed, then emptied again: a closed day
        await page.fill("#hours-sat-0-from", "10:00")
        await page.fill("#hours-sat-0-to", "14:00")
        await page.fill("#hours-sat-0-from", "")
        await page.fill("#hours-sat-0-to", "")
        await page.fill("#holidays", "2031-01-01\n2031-01-07")
        await screenshot(page, "calendar-form")

        await page.click("#save-calendar")
        await expect(page.locator("#calendar-errors")).to_be_visible()
        await expect(page.locator("#hours-tue-1-from")).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#hours-tue-1-error")).to_have_text(
            "This interval overlaps the day's other one."
        )
        await expect(page.locator("#name")).to_have_value(name)  # what was typed is kept
        await expect(page.locator("#hours-wed-1-from")).to_have_value("14:00")
        async with unit_of_work(live_server) as s:
            stored = await sla_service.list_calendars(s, actor=ACTOR)
            assert name not in {c.name for c in stored}
        await page.fill("#hours-tue-1-from", "14:00")
        await page.click("#save-calendar")

        await expect(page).to_have_url(re.compile(r"/admin/sla/calendars/\d+\?saved=created$"))
        await expect(page.get_by_role("status")).to_contain_text("The calendar is created.")
        cal_id = calendar_id_of(page, live_server)
        lunch = [["09:00", "13:00"], ["14:00", "18:00"]]
        async with unit_of_work(live_server) as s:
            cal = await sla_service.get_calendar(s, actor=ACTOR, calendar_id=cal_id)
            assert (cal.name, cal.timezone) == (name, "Asia/Novosibirsk")
            assert cal.hours == {**dict.fromkeys(LUNCH_DAYS, lunch), "fri": [["09:00", "16:00"]]}
            assert cal.holidays == ["2031-01-01", "2031-01-07"]
        # the form shows what is stored
        await expect(page.locator("#hours-thu-1-from")).to_have_value("14:00")
        await expect(page.locator("#hours-sat-0-from")).to_have_value("")
        problems = await check_page(page, "admin-sla-calendar", "desktop")

        await page.click(".back-link a")
        await expect(page).to_have_url(f"{live_server.url}/admin/sla")
        row = page.locator(f'#calendars-table tr[data-calendar-id="{cal_id}"]')
        await expect(row.locator("td").nth(0)).to_have_text(name)
        await expect(row.locator("td").nth(1)).to_have_text("Asia/Novosibirsk")
        await expect(row.locator("td").nth(2)).to_have_text(
            "Mon–Thu 09:00–13:00, 14:00–18:00; Fri 09:00–16:00"
        )
        await expect(row.locator("td").nth(3)).to_have_text("2")
        await screenshot(page, "list")

        # holidays from a spreadsheet's CSV: a header line, DD.MM.YYYY, names after ";"
        await row.get_by_role("link", name=name).click()
        good = tmp_path / "holidays.csv"
        good.write_text(
            "Дата;Праздник\n23.02.2031;День защитника Отечества\n08.03.2031;8 Марта\n",
            encoding="utf-8",
        )
        await expect(page.locator("#mode-add")).to_be_checked()
        await page.set_input_files("#holiday-file", good)
        await page.click("#import-holidays")
        await expect(page).to_have_url(
            f"{live_server.url}/admin/sla/calendars/{cal_id}?saved=imported"
        )
        await expect(page.locator("#imported")).to_have_text(
            "Holidays imported: the calendar has 4 holidays."
        )
        four = ["2031-01-01", "2031-01-07", "2031-02-23", "2031-03-08"]
        await expect(page.locator("#holidays")).to_have_value("\n".join(four))
        async with unit_of_work(live_server) as s:
            cal = await sla_service.get_calendar(s, actor=ACTOR, calendar_id=cal_id)
            assert cal.holidays == four

        # a line that is no date: named, and nothing imported (not even with "replace")
        bad = tmp_path / "bad.csv"
        bad.write_text("date,name\n2031-05-01,May Day\nsoon,Party\n", encoding="utf-8")
        await page.check("#mode-replace")
        await page.set_input_files("#holiday-file", bad)
        await page.click("#import-holidays")
        error = page.locator("#import-error")
        await expect(error).to_be_visible()
        await expect(error).to_contain_text("Line 3 of the file is not a date")
        await expect(error).to_contain_text("Nothing was imported.")
        await expect(page.locator("#holiday-file")).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#mode-replace")).to_be_checked()  # the choice is kept
        await expect(page.locator("#holidays")).to_have_value("\n".join(four))
        await screenshot(page, "import-error")
        async with unit_of_work(live_server) as s:
            cal = await sla_service.get_calendar(s, actor=ACTOR, calendar_id=cal_id)
            assert cal.holidays == four

        # the pages fit a phone: the week's grid wraps, nothing scrolls sideways
        await sign_in(phone_page, email)
        for shot, path in (
            ("admin-sla", "/admin/sla"),
            ("admin-sla-calendar", f"/admin/sla/calendars/{cal_id}"),
            ("admin-sla-policy", "/admin/sla/policies/new"),
        ):
            response = await phone_page.goto(path)
            assert response is not None and response.status == 200, path
            problems += await check_page(phone_page, shot, "phone")
        assert not problems, "\n".join(problems)


class TestSlaPolicy:
    async def test_an_admin_makes_a_policy_applies_it_and_a_new_ticket_shows_its_sla(
        self, page: Page, live_server: LiveServer, screenshot: Screenshot
    ) -> None:
        suffix = uuid.uuid4().hex[:8]
        email = f"sla-policy-{suffix}@opora.dev"
        admin_id = await live_server.create_user(
            email=email, password=PASSWORD, name="Alice Policies", role=Role.ADMIN
        )
        org_name = f"Acme {suffix}"
        domain = f"acme-{suffix}.ru"
        cal_name = f"Moscow office {suffix}"
        name = f"VIP urgent {suffix}"
        async with unit_of_work(live_server) as s:
            # due times shown in the agent's zone, counted in the calendar's
            await auth_service.update_user(
                s, actor=ACTOR, user_id=admin_id, data=UserUpdate(timezone="Asia/Yekaterinburg")
            )
            org = await contacts_service.create_organization(
                s, actor=ACTOR, data=OrganizationCreate(name=org_name, domains=[domain], vip=True)
            )
            org_id = org.id
            cal = await sla_service.create_calendar(
                s,
                actor=ACTOR,
                data=CalendarCreate(
                    name=cal_name, timezone="Europe/Moscow",
                    hours={d: [["09:00", "13:00"], ["14:00", "18:00"]]
                           for d in ("mon", "tue", "wed", "thu", "fri")},
                ),
            )  # fmt: skip
            cal_id = cal.id
            # one policy before the new one (matching nothing here), one after (inactive)
            first = await sla_service.create_policy(
                s,
                actor=ACTOR,
                data=PolicyCreate(
                    name=f"First {suffix}", position=10,
                    targets={"urgent": {"first_response": 5}},
                    conditions={"all": [{"field": "requester.email_domain", "op": "is",
                                         "value": f"nowhere-{suffix}.ru"}]},
                ),
            )  # fmt: skip
            last = await sla_service.create_policy(
                s,
                actor=ACTOR,
                data=PolicyCreate(
                    name=f"Dormant {suffix}", position=30, is_active=False,
                    targets={"normal": {"resolution": 600}},
                ),
            )  # fmt: skip
            first_id, last_id = first.id, last.id
            _, token = await auth_service.create_token(s, user_id=admin_id)
        # a ticket from before the policy: only "apply to open tickets" gives it one
        old_id = await urgent_ticket(live_server, token, f"Old printer {suffix}", f"bob@{domain}")

        await sign_in(page, email)
        await page.goto("/admin/users")
        await page.click(".admin-nav >> text=SLA")
        await page.click("#new-policy")
        await expect(page).to_have_url(f"{live_server.url}/admin/sla/policies/new")
        await page.fill("#name", name)
        await page.fill("#position", "20")
        await page.select_option("#calendar_id", label=f"{cal_name} (Europe/Moscow)")

        # targets in hours and minutes
        await page.fill("#targets-urgent-first_response-minutes", "30")
        await page.fill("#targets-urgent-next_response-hours", "1")
        await page.fill("#targets-urgent-resolution-hours", "4")
        await page.fill("#targets-high-first_response-hours", "2")
        await page.fill("#targets-high-resolution-hours", "8")
        await page.fill("#targets-high-resolution-minutes", "30")

        # condition rows: the script removes the spare rows and adds rows on demand
        await expect(page.locator("#conditions-all-0-field")).to_have_count(0)
        await expect(page.locator("#conditions-any-0-field")).to_have_count(0)
        await page.click("#conditions-all-add")
        await page.select_option("#conditions-all-0-field", "priority")
        ops = page.locator("#conditions-all-0-op option:not([hidden])")
        await expect(ops).to_have_text(["is", "is not", "is one of", "is none of"])
        await expect(page.locator("#conditions-all-0-value")).to_have_attribute(
            "list", "conditions-choices-priority"
        )
        await page.fill("#conditions-all-0-value", "Urgent")
        # a row added by mistake, then removed
        await page.click("#conditions-all-add")
        await page.select_option("#conditions-all-1-field", "tags")
        await expect(page.locator("#conditions-all-1-op")).to_have_value("contains")
        await page.fill("#conditions-all-1-value", "printer")
        await (
            page.locator("#conditions-all-1-field")
            .locator("xpath=ancestor::li[1]")
            .get_by_role("button", name="Remove this condition")
            .click()
        )
        await expect(page.locator("#conditions-all-1-field")).to_have_count(0)
        await page.click("#conditions-all-add")
        await page.select_option("#conditions-all-1-field", "organization_id")
        await page.fill("#conditions-all-1-value", org_name)
        await page.click("#conditions-any-add")
        await page.select_option("#conditions-any-0-field", "organization.vip")
        await expect(page.locator("#conditions-any-0-op option:not([hidden])")).to_have_text(["is"])
        await page.fill("#conditions-any-0-value", "yes")
        problems = await check_page(page, "admin-sla-policy", "desktop")
        await screenshot(page, "policy-form")

        await page.click("#save-policy")
        await expect(page).to_have_url(f"{live_server.url}/admin/sla?saved=policy-created")
        await expect(page.get_by_role("status")).to_contain_text("The policy is created.")
        async with unit_of_work(live_server) as s:
            stored = {p.name: p for p in await sla_service.list_policies(s, actor=ACTOR)}
            policy = stored[name]
            policy_id = policy.id
            assert (policy.position, policy.calendar_id, policy.is_active) == (20, cal_id, True)
            assert policy.targets == {
                "urgent": {"first_response": 30, "next_response": 60, "resolution": 240},
                "high": {"first_response": 120, "resolution": 510},
            }
            assert policy.conditions == {
                "all": [
                    {"field": "priority", "op": "is", "value": "urgent"},
                    {"field": "organization_id", "op": "is", "value": org_id},
                ],
                "any": [{"field": "organization.vip", "op": "is", "value": True}],
            }

        # in the list between the policies before and after it
        rows = page.locator("#policies-table tbody tr")
        ids = [await r.get_attribute("data-policy-id") for r in await rows.all()]
        mine = [i for i in ids if i in {str(first_id), str(policy_id), str(last_id)}]
        assert mine == [str(first_id), str(policy_id), str(last_id)], ids
        row = page.locator(f'#policies-table tr[data-policy-id="{policy_id}"]')
        cells = row.locator("td")
        await expect(cells.nth(0)).to_have_text("20")
        await expect(cells.nth(1)).to_have_text(name)
        await expect(cells.nth(2)).to_contain_text("Priority is Urgent")
        await expect(cells.nth(2)).to_contain_text(f"Organization is {org_name}")
        await expect(cells.nth(2)).to_contain_text("at least one of: VIP organization is yes")
        await expect(cells.nth(3)).to_contain_text(
            "Urgent: first response 30 min · next response 1 h · resolution 4 h"
        )
        await expect(cells.nth(3)).to_contain_text(
            "High: first response 2 h · resolution 8 h 30 min"
        )
        await expect(cells.nth(4)).to_have_text(cal_name)
        await expect(cells.nth(5)).to_have_text("Yes")
        await expect(page.locator(f'tr[data-policy-id="{last_id}"] td').nth(5)).to_have_text("No")
        problems += await check_page(page, "admin-sla", "desktop")
        await screenshot(page, "list")

        # apply to the open tickets: the old ticket gets the policy
        async with unit_of_work(live_server) as s:
            old = await s.get(Ticket, old_id)
            assert old is not None and old.sla_policy_id is None and old.due_at is None
            open_count = await s.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.status.in_(OPEN_STATUSES))
            )
        assert open_count
        await page.click("#apply-policies")
        await expect(page).to_have_url(f"{live_server.url}/admin/sla?applied={open_count}")
        tickets = "ticket" if open_count == 1 else "tickets"
        await expect(page.locator("#applied")).to_have_text(
            f"The policies were applied to {open_count} open {tickets}."
        )
        async with unit_of_work(live_server) as s:
            old = await s.get(Ticket, old_id)
            assert old is not None and old.sla_policy_id == policy_id
            assert old.first_response_due_at is not None and old.resolution_due_at is not None

        # a ticket made now gets the policy, counted in the calendar's business hours
        new_id = await urgent_ticket(
            live_server, token, f"Printer {suffix} is on fire", f"carol@{domain}"
        )
        async with unit_of_work(live_server) as s:
            ticket = await s.get(Ticket, new_id)
            assert ticket is not None and ticket.sla_policy_id == policy_id
            calendar = sla_service.calendar_of(
                await sla_service.get_calendar(s, actor=ACTOR, calendar_id=cal_id)
            )
            created = utc(ticket.created_at)
            assert ticket.first_response_due_at is not None
            assert ticket.resolution_due_at is not None
            due = {
                "first_response": utc(ticket.first_response_due_at),
                "resolution": utc(ticket.resolution_due_at),
            }
            assert due["first_response"] == add_business_minutes(created, 30, calendar)
            assert due["resolution"] == add_business_minutes(created, 240, calendar)
            assert ticket.next_response_due_at is None  # starts with the customer's next message

        await page.goto(f"/tickets/{new_id}")
        box = page.locator("#sla-box")
        await expect(box).to_be_visible()
        await expect(box.locator("#sla-policy")).to_have_text(name)
        await expect(box.locator("#sla-calendar")).to_have_text(f"Business hours: {cal_name}")
        await expect(box.locator("[data-target]")).to_have_count(2)
        zone = ZoneInfo("Asia/Yekaterinburg")
        for target, label, left in (
            ("first_response", "First response", "30 min left"),
            ("resolution", "Resolution", "4 h left"),
        ):
            item = box.locator(f'[data-target="{target}"]')
            await expect(item).to_have_attribute("data-state", "running")
            await expect(item.locator(".sla-target-name")).to_have_text(label)
            await expect(item.locator(".sla-state")).to_have_text("On track")
            shown = due[target].astimezone(zone).strftime("%Y-%m-%d %H:%M")
            await expect(item.locator(".sla-when")).to_contain_text(f"due {shown}")
            when = await item.locator("time").get_attribute("datetime")
            assert when is not None and datetime.fromisoformat(when) == due[target]
            await expect(item.locator(".sla-left")).to_have_text(left)
        await screenshot(page, "ticket")
        assert not problems, "\n".join(problems)
