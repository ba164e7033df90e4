"""The SLA admin pages (src/opora/admin/sla.py) on both backends: business calendars and
SLA policies made and changed through their forms (what is stored is read back through
the JSON API), each kind of bad input shown again with the input marked and the text
kept, the holiday import, deleting with a confirmation, and applying the policies to the
open tickets."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.auth.schemas import UserUpdate
from opora.db import Database
from opora.sla import service as sla_service
from opora.sla.schemas import CalendarCreate, PolicyCreate
from opora.tickets import service as tickets_service
from opora.tickets.models import Ticket
from opora.tickets.schemas import RequesterIn, TicketCreate
from tests.conftest import Company
from tests.web.helpers import csrf_of, page_csrf, set_password, sign_in

ALICE = ("alice@opora.dev", "alice-secret")
LENA = ("lena@opora.dev", "lena-secret")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
TARGETS_30_60_240 = {"first_response": 30, "next_response": 60, "resolution": 240}


@pytest.fixture
async def alice(client: httpx.AsyncClient, company: Company) -> httpx.AsyncClient:
    assert (await sign_in(client, *ALICE)).status_code == 303
    return client


async def api(client: httpx.AsyncClient, company: Company, path: str) -> Any:
    r = await client.get(f"/api/v1/sla/{path}", headers=company.admin.headers)
    assert r.status_code == 200, r.text
    return r.json()


def calendar_form(csrf: str, **changes: Any) -> dict[str, Any]:
    """The calendar form as a browser sends it: Mon-Fri 09:00-18:00, the rest empty."""
    data: dict[str, Any] = {"csrf_token": csrf, "name": "Office", "timezone": "Europe/Moscow",
                            "holidays": "2027-01-01\r\n2027-01-07\r\n"}  # fmt: skip
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        for i in (0, 1):
            workday = day in WEEKDAYS and i == 0
            data[f"hours.{day}.{i}.from"] = "09:00" if workday else ""
            data[f"hours.{day}.{i}.to"] = "18:00" if workday else ""
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def policy_form(csrf: str, **changes: Any) -> dict[str, Any]:
    """The policy form: urgent and high targets, no conditions, an empty spare row each."""
    data: dict[str, Any] = {
        "csrf_token": csrf, "name": "Standard", "position": "10", "is_active": "on",
        "calendar_id": "", "warning_percent": "75", "delay_notice": "on",
        "conditions.all.0.field": "", "conditions.all.0.op": "is",
        "conditions.all.0.value": "", "conditions.any.0.field": "",
        "conditions.any.0.op": "is", "conditions.any.0.value": "",
    }  # fmt: skip
    for priority in ("low", "normal", "high", "urgent"):
        for target in ("first_response", "next_response", "resolution"):
            data[f"targets.{priority}.{target}.hours"] = ""
            data[f"targets.{priority}.{target}.minutes"] = ""
    data.update({
        "targets.urgent.first_response.minutes": "30",
        "targets.urgent.next_response.hours": "1",
        "targets.urgent.resolution.hours": "4",
        "targets.high.first_response.hours": "2",
        "targets.high.resolution.hours": "8", "targets.high.resolution.minutes": "30",
    })  # fmt: skip
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


async def create_calendar(client: httpx.AsyncClient, **changes: Any) -> int:
    csrf = await page_csrf(client, "/admin/sla/calendars/new")
    r = await client.post("/admin/sla/calendars/new", data=calendar_form(csrf, **changes))
    assert r.status_code == 303, r.text
    match = re.fullmatch(r"/admin/sla/calendars/(\d+)\?saved=created", r.headers["location"])
    assert match, r.headers["location"]
    return int(match.group(1))


async def create_policy(client: httpx.AsyncClient, **changes: Any) -> None:
    csrf = await page_csrf(client, "/admin/sla/policies/new")
    r = await client.post("/admin/sla/policies/new", data=policy_form(csrf, **changes))
    assert (r.status_code, r.headers.get("location")) == (303, "/admin/sla?saved=policy-created")


async def service_calendar(db: Database, **fields: Any) -> int:
    data: dict[str, Any] = {"name": "Office", "timezone": "Europe/Moscow",
                            "hours": {d: [["09:00", "18:00"]] for d in WEEKDAYS}}  # fmt: skip
    data.update(fields)
    async with db.unit_of_work() as s:
        row = await sla_service.create_calendar(
            s, actor=system_actor("tests"), data=CalendarCreate(**data)
        )
        return row.id


async def service_policy(db: Database, **fields: Any) -> int:
    data: dict[str, Any] = {"name": "Standard", "targets": {"urgent": TARGETS_30_60_240}}
    data.update(fields)
    async with db.unit_of_work() as s:
        row = await sla_service.create_policy(
            s, actor=system_actor("tests"), data=PolicyCreate(**data)
        )
        return row.id


def marked(html: str, input_id: str) -> bool:
    """Whether the input is marked invalid and described by its error."""
    tag = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{re.escape(input_id)}"[^>]*>', html)
    return (
        bool(tag)
        and 'aria-invalid="true"' in tag.group(0)
        and "aria-describedby=" in (tag.group(0))
    )


def value_of(html: str, input_id: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bid="{re.escape(input_id)}"[^>]*>', html)
    if tag is None:
        return None
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


class TestAccess:
    async def test_an_agent_gets_403_everywhere_and_changes_nothing(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        cal = await service_calendar(db)
        pol = await service_policy(db)
        await set_password(db, company.l1_agent.id, LENA[1])
        assert (await sign_in(client, *LENA)).status_code == 303
        csrf = ""
        for path in (
            "/admin/sla", "/admin/sla/calendars/new", f"/admin/sla/calendars/{cal}",
            f"/admin/sla/calendars/{cal}/delete", "/admin/sla/policies/new",
            f"/admin/sla/policies/{pol}", f"/admin/sla/policies/{pol}/delete",
        ):  # fmt: skip
            r = await client.get(path)
            assert (path, r.status_code) == (path, 403)
            assert 'id="admin-forbidden"' in r.text
            csrf = csrf_of(r.text)
        posts = {
            "/admin/sla/calendars/new": calendar_form(csrf, name="Sneaky"),
            f"/admin/sla/calendars/{cal}": calendar_form(csrf, name="Renamed"),
            f"/admin/sla/calendars/{cal}/holidays": {"csrf_token": csrf, "mode": "replace"},
            f"/admin/sla/calendars/{cal}/delete": {"csrf_token": csrf},
            "/admin/sla/policies/new": policy_form(csrf, name="Sneaky"),
            f"/admin/sla/policies/{pol}": policy_form(csrf, name="Renamed"),
            f"/admin/sla/policies/{pol}/delete": {"csrf_token": csrf},
            "/admin/sla/apply": {"csrf_token": csrf},
        }
        for path, data in posts.items():
            r = await client.post(path, data=data)
            assert (path, r.status_code) == (path, 403)
        assert [c["name"] for c in await api(client, company, "calendars")] == ["Office"]
        assert [p["name"] for p in await api(client, company, "policies")] == ["Standard"]

    async def test_anonymous_goes_to_login(self, client: httpx.AsyncClient) -> None:
        for path in ("/admin/sla", "/admin/sla/policies/new", "/admin/sla/calendars/new"):
            r = await client.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/login")

    async def test_the_admin_nav_links_the_sla_page(self, alice: httpx.AsyncClient) -> None:
        assert 'href="/admin/sla"' in (await alice.get("/admin/users")).text
        here = (await alice.get("/admin/sla/policies/new")).text
        assert 'href="/admin/sla" aria-current="page"' in here

    async def test_an_unknown_calendar_or_policy_is_404(self, alice: httpx.AsyncClient) -> None:
        paths = (
            "/admin/sla/calendars/999",
            "/admin/sla/policies/999",
            "/admin/sla/calendars/999/delete",
            "/admin/sla/policies/999/delete",
        )
        for path in paths:
            assert (await alice.get(path)).status_code == 404, path
        csrf = await page_csrf(alice, "/admin/sla")
        r = await alice.post("/admin/sla/policies/999", data=policy_form(csrf))
        assert r.status_code == 404
        r = await alice.post("/admin/sla/calendars/999", data=calendar_form(csrf))
        assert r.status_code == 404


class TestList:
    async def test_empty_says_so_and_offers_both_forms(self, alice: httpx.AsyncClient) -> None:
        page = (await alice.get("/admin/sla")).text
        assert 'id="no-policies"' in page and 'id="no-calendars"' in page
        assert (
            'href="/admin/sla/policies/new"' in page and 'href="/admin/sla/calendars/new"' in page
        )
        assert 'id="apply-policies"' not in page  # nothing to apply

    async def test_lists_policies_in_order_and_calendars_in_words(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        cal = await service_calendar(
            db, hours={**{d: [["09:00", "18:00"]] for d in WEEKDAYS}, "sat": [["10:00", "14:00"]]},
            holidays=["2027-01-01", "2027-01-07", "2027-03-08"],
        )  # fmt: skip
        await service_policy(
            db, name="VIP", position=5, calendar_id=cal,
            conditions={"all": [{"field": "priority", "op": "in", "value": ["urgent", "high"]},
                                {"field": "group_id", "op": "is", "value": company.l2_group_id}],
                        "any": [{"field": "organization.vip", "op": "is", "value": True}]},
            targets={"urgent": {"first_response": 90, "resolution": 240}},
        )  # fmt: skip
        await service_policy(db, name="Everyone else", position=50, is_active=False)
        page = (await alice.get("/admin/sla")).text
        names = re.findall(r'<tr data-policy-id="\d+">\s*<td>\d+</td>\s*<td><a [^>]*>([^<]+)', page)
        assert names == ["VIP", "Everyone else"]
        vip = re.search(r'<tr data-policy-id="\d+">(.*?)</tr>', page, re.S)
        assert vip is not None
        row = re.sub(r"\s+", " ", vip.group(1))
        assert "Priority is one of <strong>High, Urgent</strong>" in row
        assert "Group is <strong>L2 Specialists</strong>" in row
        assert "at least one of:" in row and "VIP organization is <strong>yes</strong>" in row
        assert "<strong>Urgent:</strong> first response 1 h 30 min · resolution 4 h" in row
        assert "Office" in row and "<td>Yes</td>" in row
        other = re.findall(r'<tr data-policy-id="\d+">(.*?)</tr>', page, re.S)[1]
        assert "Every ticket" in other and "Around the clock" in other and "<td>No</td>" in other
        calendar = re.search(rf'<tr data-calendar-id="{cal}">(.*?)</tr>', page, re.S)
        assert calendar is not None
        cells = re.sub(r"\s+", " ", calendar.group(1))
        assert "Europe/Moscow" in cells and "Mon–Fri 09:00–18:00; Sat 10:00–14:00" in cells
        assert "<td>3</td>" in cells

    async def test_a_russian_admin_reads_it_in_russian(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            await auth_service.update_user(
                s, actor=system_actor("tests"), user_id=company.admin.id,
                data=UserUpdate(language="ru"),
            )  # fmt: skip
        await service_policy(
            db, conditions={"all": [{"field": "priority", "op": "is", "value": "urgent"}]}
        )
        for path, words in (
            ("/admin/sla", ["Политики", "Рабочие календари", "Приоритет"]),
            ("/admin/sla/calendars/new", ["Новый календарь", "Рабочие часы", "Понедельник"]),
            ("/admin/sla/policies/new", ["Новая политика SLA", "Первый ответ", "Условия"]),
        ):
            page = (await alice.get(path)).text
            assert [w for w in words if w not in page] == [], path
        listed = (await alice.get("/admin/sla")).text
        assert "Срочный" in listed  # the value in words, in Russian


class TestCalendarForm:
    async def test_a_calendar_made_through_the_form_is_stored(
        self, alice: httpx.AsyncClient, company: Company
    ) -> None:
        cal_id = await create_calendar(
            alice, **{"hours.sat.0.from": "10:00", "hours.sat.0.to": "14:00",
                      "hours.fri.1.from": "20:00", "hours.fri.1.to": "00:00"},
        )  # fmt: skip
        (cal,) = await api(alice, company, "calendars")
        assert cal["id"] == cal_id and cal["name"] == "Office"
        assert cal["timezone"] == "Europe/Moscow" and cal["always_open"] is False
        assert cal["hours"] == {
            **{d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu")},
            "fri": [["09:00", "18:00"], ["20:00", "24:00"]],  # an end of 00:00 is midnight
            "sat": [["10:00", "14:00"]],
        }
        assert cal["holidays"] == ["2027-01-01", "2027-01-07"]
        page = (await alice.get(f"/admin/sla/calendars/{cal_id}?saved=created")).text
        assert "The calendar is created." in page
        assert value_of(page, "hours-fri-1-to") == "00:00"
        assert value_of(page, "hours-sat-0-from") == "10:00"
        assert value_of(page, "hours-sun-0-from") == ""
        assert "2027-01-01\n2027-01-07</textarea>" in page

    async def test_open_24_7_stores_no_hours(
        self, alice: httpx.AsyncClient, company: Company
    ) -> None:
        cal_id = await create_calendar(alice, name="Round the clock", always_open="on")
        (cal,) = await api(alice, company, "calendars")
        assert (cal["hours"], cal["always_open"]) == ({}, True)
        page = (await alice.get(f"/admin/sla/calendars/{cal_id}")).text
        assert re.search(r'id="always_open" name="always_open"[^>]* checked', page)
        assert "24/7" in (await alice.get("/admin/sla")).text

    async def test_an_edit_is_saved(self, alice: httpx.AsyncClient, company: Company) -> None:
        cal_id = await create_calendar(alice)
        path = f"/admin/sla/calendars/{cal_id}"
        data = calendar_form(
            await page_csrf(alice, path), name="Office (winter)", timezone="Asia/Yekaterinburg",
            holidays="2027-02-23",
            **{"hours.mon.0.from": "", "hours.mon.0.to": "", "hours.tue.1.from": "19:00",
               "hours.tue.1.to": "21:00"},
        )  # fmt: skip
        r = await alice.post(path, data=data)
        assert (r.status_code, r.headers["location"]) == (303, f"{path}?saved=saved")
        (cal,) = await api(alice, company, "calendars")
        assert (cal["name"], cal["timezone"]) == ("Office (winter)", "Asia/Yekaterinburg")
        assert "mon" not in cal["hours"]  # an emptied day is closed
        assert cal["hours"]["tue"] == [["09:00", "18:00"], ["19:00", "21:00"]]
        assert cal["holidays"] == ["2027-02-23"]

    @pytest.mark.parametrize(
        ("changes", "input_id", "message"),
        [
            ({"hours.wed.0.from": "9am"}, "hours-wed-0-from", "Enter times such as 09:00."),
            ({"hours.wed.0.from": "18:00", "hours.wed.0.to": "09:00"}, "hours-wed-0-to",
             "The end must come after the start."),
            ({"hours.thu.1.from": "17:00", "hours.thu.1.to": "19:00"}, "hours-thu-1-from",
             "overlaps the day"),
            ({"hours.tue.0.to": ""}, "hours-tue-0-from", "Enter both the start and the end"),
            ({"timezone": "Mars/Olympus"}, "timezone", "Enter a time zone from the list"),
            ({"holidays": "2027-01-01\r\n\r\n2027-02-30\r\n"}, "holidays",
             "Line 3: “2027-02-30” is not a date."),
            ({"name": ""}, "name", "Enter a name of up to 200 characters."),
        ],
    )  # fmt: skip
    async def test_bad_input_is_400_with_the_input_marked_and_nothing_stored(
        self, alice: httpx.AsyncClient, company: Company, changes: dict[str, str],
        input_id: str, message: str,
    ) -> None:  # fmt: skip
        csrf = await page_csrf(alice, "/admin/sla/calendars/new")
        data = calendar_form(csrf, **{"name": "Support desk", **changes})
        r = await alice.post("/admin/sla/calendars/new", data=data)
        assert r.status_code == 400
        assert marked(r.text, input_id), input_id
        assert message in r.text
        assert 'id="calendar-errors"' in r.text
        if input_id != "name":
            assert value_of(r.text, "name") == "Support desk"  # the text is kept
        for key, value in changes.items():
            if key.startswith("hours."):
                shown = value_of(r.text, key.replace(".", "-"))
                assert shown == value, key
        assert await api(alice, company, "calendars") == []

    async def test_a_second_interval_alone_is_marked_where_it_was_typed(
        self, alice: httpx.AsyncClient, company: Company
    ) -> None:
        """Monday's first interval empty, the second ends before it starts: the service
        sees one interval, the page marks the second."""
        csrf = await page_csrf(alice, "/admin/sla/calendars/new")
        hours = {"hours.mon.0.from": "", "hours.mon.0.to": ""}
        hours |= {"hours.mon.1.from": "15:00", "hours.mon.1.to": "14:00"}
        data = calendar_form(csrf, **hours)
        r = await alice.post("/admin/sla/calendars/new", data=data)
        assert r.status_code == 400
        assert marked(r.text, "hours-mon-1-from") and not marked(r.text, "hours-mon-0-from")
        assert await api(alice, company, "calendars") == []

    async def test_no_hours_without_24_7_is_refused(
        self, alice: httpx.AsyncClient, company: Company
    ) -> None:
        csrf = await page_csrf(alice, "/admin/sla/calendars/new")
        empty = {f"hours.{d}.0.{end}": "" for d in WEEKDAYS for end in ("from", "to")}
        r = await alice.post("/admin/sla/calendars/new", data=calendar_form(csrf, **empty))
        assert r.status_code == 400
        assert 'id="hours-error"' in r.text and "or choose “Open 24/7”" in r.text
        assert await api(alice, company, "calendars") == []

    async def test_a_taken_name_is_refused_and_an_edit_changes_nothing(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await service_calendar(db, name="Night shift")
        cal_id = await create_calendar(alice)
        path = f"/admin/sla/calendars/{cal_id}"
        data = calendar_form(await page_csrf(alice, path), name="Night shift",
                             **{"hours.mon.0.from": "08:00"})  # fmt: skip
        r = await alice.post(path, data=data)
        assert r.status_code == 400
        assert marked(r.text, "name") and "Another calendar has this name." in r.text
        assert value_of(r.text, "hours-mon-0-from") == "08:00"
        assert "<h1>Office</h1>" in r.text  # the heading shows the calendar as stored
        stored = {c["name"]: c for c in await api(alice, company, "calendars")}
        assert stored["Office"]["hours"]["mon"] == [["09:00", "18:00"]]


class TestHolidayImport:
    async def upload(
        self, client: httpx.AsyncClient, cal_id: int, content: bytes, mode: str = "add"
    ) -> httpx.Response:
        path = f"/admin/sla/calendars/{cal_id}"
        return await client.post(
            f"{path}/holidays",
            data={"csrf_token": await page_csrf(client, path), "mode": mode},
            files={"file": ("holidays.csv", content, "text/csv")},
        )

    async def test_a_file_adds_to_the_holidays(
        self, alice: httpx.AsyncClient, company: Company
    ) -> None:
        cal_id = await create_calendar(alice)
        csv = "\ufeffдата;название\n23.02.2027;День защитника\n2027-03-08,8 марта\n"
        r = await self.upload(alice, cal_id, csv.encode())
        path = f"/admin/sla/calendars/{cal_id}"
        assert (r.status_code, r.headers["location"]) == (303, f"{path}?saved=imported")
        (cal,) = await api(alice, company, "calendars")
        assert cal["holidays"] == ["2027-01-01", "2027-01-07", "2027-02-23", "2027-03-08"]
        page = (await alice.get(r.headers["location"])).text
        assert "Holidays imported: the calendar has 4 holidays." in page

    async def test_replace_drops_the_old_holidays(
        self, alice: httpx.AsyncClient, company: Company
    ) -> None:
        cal_id = await create_calendar(alice)
        r = await self.upload(alice, cal_id, b"2027-05-01\n2027-05-09\n", mode="replace")
        assert r.status_code == 303
        (cal,) = await api(alice, company, "calendars")
        assert cal["holidays"] == ["2027-05-01", "2027-05-09"]

    async def test_a_bad_line_is_named_and_nothing_is_imported(
        self, alice: httpx.AsyncClient, company: Company
    ) -> None:
        cal_id = await create_calendar(alice)
        r = await self.upload(alice, cal_id, b"date,name\n2027-05-01,May Day\nsoon,Party\n",
                              mode="replace")  # fmt: skip
        assert r.status_code == 400
        error = re.search(r'id="import-error">(.*?)</div>', r.text, re.S)
        assert error is not None and "Line 3 of the file is not a date" in error.group(1)
        assert marked(r.text, "holiday-file")
        assert re.search(r'id="mode-replace"[^>]* checked', r.text)  # the choice is kept
        (cal,) = await api(alice, company, "calendars")
        assert cal["holidays"] == ["2027-01-01", "2027-01-07"]

    async def test_no_file_or_not_utf8_is_refused(
        self, alice: httpx.AsyncClient, company: Company
    ) -> None:
        cal_id = await create_calendar(alice)
        empty = await self.upload(alice, cal_id, b"")
        assert empty.status_code == 400 and "Choose a CSV file" in empty.text
        latin = await self.upload(
            alice, cal_id, "2027-05-01\n01.05.2027;Fête\xe9\n".encode("latin-1")
        )
        assert latin.status_code == 400 and "Line 2 of the file is not UTF-8 text" in latin.text
        (cal,) = await api(alice, company, "calendars")
        assert cal["holidays"] == ["2027-01-01", "2027-01-07"]


class TestCalendarDelete:
    async def test_delete_asks_first_then_deletes(
        self, alice: httpx.AsyncClient, company: Company
    ) -> None:
        cal_id = await create_calendar(alice)
        confirm = await alice.get(f"/admin/sla/calendars/{cal_id}/delete")
        assert confirm.status_code == 200 and 'id="confirm-delete"' in confirm.text
        assert "Delete the calendar “Office”?" in confirm.text
        assert len(await api(alice, company, "calendars")) == 1  # asking deletes nothing
        r = await alice.post(f"/admin/sla/calendars/{cal_id}/delete",
                             data={"csrf_token": csrf_of(confirm.text)})  # fmt: skip
        assert (r.status_code, r.headers["location"]) == (303, "/admin/sla?saved=calendar-deleted")
        assert await api(alice, company, "calendars") == []
        assert "The calendar is deleted." in (await alice.get(r.headers["location"])).text

    async def test_a_calendar_a_policy_uses_is_kept_and_the_page_says_which(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        cal_id = await create_calendar(alice)
        await service_policy(db, name="Gold support", calendar_id=cal_id)
        confirm = await alice.get(f"/admin/sla/calendars/{cal_id}/delete")
        assert "The SLA policy “Gold support” uses this calendar." in confirm.text
        assert 'id="confirm-delete"' not in confirm.text
        r = await alice.post(f"/admin/sla/calendars/{cal_id}/delete",
                             data={"csrf_token": csrf_of(confirm.text)})  # fmt: skip
        assert r.status_code == 409
        assert re.search(r'id="delete-refused">[^<]*“Gold support”', r.text)
        assert len(await api(alice, company, "calendars")) == 1


class TestPolicyForm:
    async def test_a_policy_with_targets_and_condition_rows_is_stored(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        cal_id = await service_calendar(db)
        await create_policy(
            alice, name="VIP", position="5", calendar_id=str(cal_id), pause_on_hold="on",
            warning_percent="80", delay_notice=None,
            **{
                # the rows as the script numbers them: gaps, an empty row in between
                "conditions.all.0.field": "priority", "conditions.all.0.op": "in",
                "conditions.all.0.value": "Urgent, high",
                "conditions.all.3.field": "", "conditions.all.3.op": "is",
                "conditions.all.3.value": "",
                "conditions.all.7.field": "group_id", "conditions.all.7.op": "is",
                "conditions.all.7.value": "L2 Specialists",
                "conditions.any.0.field": "organization.vip", "conditions.any.0.op": "is",
                "conditions.any.0.value": "yes",
                "conditions.any.1.field": "tags", "conditions.any.1.op": "contains_any",
                "conditions.any.1.value": "vip, Gold Client",
                "conditions.any.2.field": "organization_id", "conditions.any.2.op": "is",
                "conditions.any.2.value": "Acme",
            },
        )  # fmt: skip
        (p,) = await api(alice, company, "policies")
        assert (p["name"], p["position"], p["calendar_id"]) == ("VIP", 5, cal_id)
        assert (p["pause_on_hold"], p["warning_percent"], p["delay_notice"]) == (True, 80, False)
        assert p["is_active"] is True
        assert p["targets"] == {
            "urgent": {"first_response": 30, "next_response": 60, "resolution": 240},
            "high": {"first_response": 120, "resolution": 510},
        }
        assert p["conditions"] == {
            "all": [
                {"field": "priority", "op": "in", "value": ["high", "urgent"]},
                {"field": "group_id", "op": "is", "value": company.l2_group_id},
            ],
            "any": [
                {"field": "organization.vip", "op": "is", "value": True},
                {"field": "tags", "op": "contains_any", "value": ["gold-client", "vip"]},
                {"field": "organization_id", "op": "is", "value": company.acme_id},
            ],
        }
        page = (await alice.get(f"/admin/sla/policies/{p['id']}")).text
        # the rows come back in words, numbered from 0, with an empty spare row after them
        assert value_of(page, "conditions-all-0-value") == "High, Urgent"
        assert value_of(page, "conditions-all-1-value") == "L2 Specialists"
        assert value_of(page, "conditions-any-1-value") == "gold-client, vip"
        assert value_of(page, "conditions-any-2-value") == "Acme"
        assert value_of(page, "conditions-all-2-value") == ""
        assert value_of(page, "targets-high-resolution-hours") == "8"
        assert value_of(page, "targets-high-resolution-minutes") == "30"
        assert re.search(rf'<option value="{cal_id}" selected>Office', page)
        assert re.search(
            r'<option value="group_id" data-ops="is is_not in not_in" [^>]*selected', page
        )  # the field's ops for the script; "changed" says nothing when a policy is chosen

    async def test_an_edit_is_saved_and_a_cleared_field_removes_its_row(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        policy_id = await service_policy(
            db, conditions={"all": [{"field": "priority", "op": "is", "value": "urgent"},
                                    {"field": "line", "op": "gte", "value": 2}]},
        )  # fmt: skip
        path = f"/admin/sla/policies/{policy_id}"
        page = (await alice.get(path)).text
        assert value_of(page, "conditions-all-1-value") == "2"
        fields = {
            "conditions.all.0.field": "",
            "conditions.all.1.field": "line",
            "conditions.all.1.op": "gte",
            "conditions.all.1.value": "3",
            "targets.urgent.first_response.minutes": "",
            "targets.urgent.first_response.hours": "3",
        }
        data = policy_form(csrf_of(page), name="Standard (2027)", is_active=None, **fields)
        r = await alice.post(path, data=data)
        assert (r.status_code, r.headers["location"]) == (303, "/admin/sla?saved=policy-saved")
        (p,) = await api(alice, company, "policies")
        assert (p["name"], p["is_active"]) == ("Standard (2027)", False)
        assert p["conditions"] == {"all": [{"field": "line", "op": "gte", "value": 3}], "any": []}
        assert p["targets"]["urgent"]["first_response"] == 180
        assert "The policy is saved." in (await alice.get(r.headers["location"])).text

    @pytest.mark.parametrize(
        ("changes", "input_id", "message"),
        [
            ({"targets.urgent.resolution.hours": "0", "targets.urgent.resolution.minutes": "0"},
             "targets-urgent-resolution-hours", "Enter a time from 1 minute to 365 days"),
            ({"targets.high.first_response.minutes": "half"},
             "targets-high-first_response-minutes", "Enter whole hours and minutes"),
            ({"conditions.all.0.field": "priority", "conditions.all.0.op": "is",
              "conditions.all.0.value": "extreme"},
             "conditions-all-0-value", "Choose a value from the list"),
            ({"conditions.all.0.field": "priority", "conditions.all.0.op": "is",
              "conditions.all.0.value": "high", "conditions.all.4.field": "line",
              "conditions.all.4.op": "gte", "conditions.all.4.value": "9"},
             "conditions-all-1-value", "Enter a line from 1 to 4."),
            ({"conditions.any.0.field": "tags", "conditions.any.0.op": "is",
              "conditions.any.0.value": "vip"},
             "conditions-any-0-op", "This field does not take this operator"),
            ({"conditions.any.0.field": "subject", "conditions.any.0.op": "contains",
              "conditions.any.0.value": "refund"},
             "conditions-any-0-field", "Choose a field from the list."),
            ({"position": "first"}, "position", "Enter a whole number from 0 to 100000."),
            ({"warning_percent": "100"}, "warning_percent", "Enter a whole number from 1 to 99."),
            ({"name": ""}, "name", "Enter a name of up to 200 characters."),
        ],
    )  # fmt: skip
    async def test_bad_input_is_400_with_the_input_marked_and_nothing_stored(
        self, alice: httpx.AsyncClient, company: Company, changes: dict[str, str],
        input_id: str, message: str,
    ) -> None:  # fmt: skip
        csrf = await page_csrf(alice, "/admin/sla/policies/new")
        data = policy_form(csrf, **{"name": "Gold", **changes})
        r = await alice.post("/admin/sla/policies/new", data=data)
        assert r.status_code == 400
        assert marked(r.text, input_id), input_id
        assert message in r.text
        assert 'id="policy-errors"' in r.text
        if input_id != "name":
            assert value_of(r.text, "name") == "Gold"
        assert value_of(r.text, "targets-urgent-first_response-minutes") == "30"
        for key, value in changes.items():
            if key.endswith(".value"):  # the rows come back numbered from 0, text kept
                assert f'value="{value}"' in r.text
        assert await api(alice, company, "policies") == []

    async def test_no_targets_at_all_is_refused(
        self, alice: httpx.AsyncClient, company: Company
    ) -> None:
        csrf = await page_csrf(alice, "/admin/sla/policies/new")
        data = policy_form(csrf)
        data = {k: ("" if k.startswith("targets.") else v) for k, v in data.items()}
        r = await alice.post("/admin/sla/policies/new", data=data)
        assert r.status_code == 400
        assert 'id="targets-error"' in r.text and "Give at least one target." in r.text
        assert await api(alice, company, "policies") == []

    async def test_a_taken_name_on_edit_is_refused_and_changes_nothing(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await service_policy(db, name="Gold")
        policy_id = await service_policy(db, name="Silver")
        path = f"/admin/sla/policies/{policy_id}"
        data = policy_form(await page_csrf(alice, path), name="Gold",
                           **{"targets.low.resolution.hours": "48"})  # fmt: skip
        r = await alice.post(path, data=data)
        assert r.status_code == 400
        assert marked(r.text, "name") and "Another policy has this name." in r.text
        assert value_of(r.text, "targets-low-resolution-hours") == "48"
        assert "<h1>Silver</h1>" in r.text
        stored = {p["name"]: p for p in await api(alice, company, "policies")}
        assert stored["Silver"]["targets"] == {"urgent": TARGETS_30_60_240}

    async def test_a_new_policy_goes_after_the_others(
        self, alice: httpx.AsyncClient, db: Database
    ) -> None:
        await service_policy(db, name="First", position=40)
        page = (await alice.get("/admin/sla/policies/new")).text
        assert value_of(page, "position") == "50"
        # without JavaScript every operator shows, and one empty row takes a condition
        assert "data-cond-spare" in page and '<option value="contains_any">' in page


class TestPolicyDelete:
    async def test_delete_asks_first_then_deletes(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        policy_id = await service_policy(db, name="Gold")
        confirm = await alice.get(f"/admin/sla/policies/{policy_id}/delete")
        assert confirm.status_code == 200 and "Delete the SLA policy “Gold”?" in confirm.text
        assert len(await api(alice, company, "policies")) == 1
        r = await alice.post(f"/admin/sla/policies/{policy_id}/delete",
                             data={"csrf_token": csrf_of(confirm.text)})  # fmt: skip
        assert (r.status_code, r.headers["location"]) == (303, "/admin/sla?saved=policy-deleted")
        assert await api(alice, company, "policies") == []
        again = await alice.post(f"/admin/sla/policies/{policy_id}/delete",
                                 data={"csrf_token": csrf_of(confirm.text)})  # fmt: skip
        assert again.status_code == 404


class TestApplyToOpenTickets:
    async def test_open_tickets_get_the_policy_and_the_page_says_how_many(
        self, alice: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        async with db.unit_of_work() as s:
            ticket = await tickets_service.create_ticket(
                s, actor=system_actor("tests"),
                data=TicketCreate(subject="Printer on fire", body="Again.", priority="urgent",
                                  requester=RequesterIn(email="carol@acme.ru")),
            )  # fmt: skip
            ticket_id = ticket.id
        await create_policy(alice)
        async with db.unit_of_work(write=False) as s:
            before = (await s.execute(select(Ticket.due_at).where(Ticket.id == ticket_id))).one()
        assert before.due_at is None  # made before there was a policy
        page = (await alice.get("/admin/sla")).text
        r = await alice.post("/admin/sla/apply", data={"csrf_token": csrf_of(page)})
        assert (r.status_code, r.headers["location"]) == (303, "/admin/sla?applied=1")
        assert (
            "The policies were applied to 1 open ticket."
            in (await alice.get(r.headers["location"])).text
        )
        async with db.unit_of_work(write=False) as s:
            after = (await s.execute(select(Ticket.due_at).where(Ticket.id == ticket_id))).one()
        assert after.due_at is not None
