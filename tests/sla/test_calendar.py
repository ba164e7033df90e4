"""Business-time arithmetic: table-driven, instants written in the calendar's local time.

A row's instant without an offset is local wall time in its calendar's zone; one with an offset
("2027-11-07 01:30-05:00") pins the occurrence of a repeated hour. Checkable by hand.
"""

from __future__ import annotations

import random
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from opora.sla.calendar import (
    END_OF_DAY,
    BusinessCalendar,
    CalendarError,
    add_business_minutes,
    add_business_time,
    business_minutes_between,
    business_time_between,
    calendar_from_spec,
    calendar_to_spec,
    is_open,
    next_open,
    parse_holidays_csv,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def office(
    timezone: str, *intervals: tuple[str, str], holidays: tuple[str, ...] = ()
) -> BusinessCalendar:
    """Mon-Fri with the same intervals every day."""
    return calendar_from_spec(
        timezone=timezone,
        hours={day: [list(pair) for pair in intervals] for day in WEEKDAYS},
        holidays=holidays,
    )


RU_2027_NEW_YEAR = tuple(f"2027-01-0{day}" for day in range(1, 9))

MSK = office("Europe/Moscow", ("09:00", "18:00"))
MSK_RU = office("Europe/Moscow", ("09:00", "18:00"), holidays=RU_2027_NEW_YEAR)
LUNCH = office("Europe/Moscow", ("09:00", "13:00"), ("14:00", "18:00"))
UTC_OFFICE = office("UTC", ("09:00", "18:00"))
VVO = office("Asia/Vladivostok", ("09:00", "18:00"))
LA = office("America/Los_Angeles", ("09:00", "18:00"))
NY = office("America/New_York", ("09:00", "18:00"))
BERLIN = office("Europe/Berlin", ("09:00", "18:00"))
ALWAYS = calendar_from_spec(timezone="UTC", hours=None)
ALWAYS_BER = calendar_from_spec(timezone="Europe/Berlin", hours={}, holidays=["2027-03-28"])
# Night shift Monday night to Friday night, written as two intervals per night.
NIGHT = calendar_from_spec(
    timezone="Europe/Moscow",
    hours={
        "mon": [["22:00", "24:00"]],
        "tue": [["00:00", "06:00"], ["22:00", "24:00"]],
        "wed": [["00:00", "06:00"], ["22:00", "24:00"]],
        "thu": [["00:00", "06:00"], ["22:00", "24:00"]],
        "fri": [["00:00", "06:00"], ["22:00", "24:00"]],
        "sat": [["00:00", "06:00"]],
    },
)
# Every day 00:00-24:00: hours on every day, yet the same as 24/7.
ALL_DAY = calendar_from_spec(
    timezone="Europe/Moscow",
    hours={day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
)
# DST: New York springs forward 2027-03-14 02:00 -> 03:00 and falls back 2027-11-07
# 02:00 -> 01:00; Berlin 2027-03-28 02:00 -> 03:00 and 2027-10-31 03:00 -> 02:00 (all Sundays).
NY_SUN = calendar_from_spec(timezone="America/New_York", hours={"sun": [["01:00", "05:00"]]})
NY_GAP = calendar_from_spec(timezone="America/New_York", hours={"sun": [["02:30", "05:00"]]})
NY_REP = calendar_from_spec(timezone="America/New_York", hours={"sun": [["00:00", "01:30"]]})
BER_SUN = calendar_from_spec(timezone="Europe/Berlin", hours={"sun": [["01:00", "05:00"]]})
BER_NIGHT = calendar_from_spec(
    timezone="Europe/Berlin", hours={"sat": [["22:00", "24:00"]], "sun": [["00:00", "06:00"]]}
)


def at(text: str, cal: BusinessCalendar) -> datetime:
    """``text`` as an aware instant: local wall time in ``cal``'s zone unless it has an offset."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(cal.timezone))


ADD_CASES = [
    # id, calendar, start, minutes, expected
    ("friday 17:00 + 2h is monday 10:00", MSK, "2027-01-15 17:00", 120, "2027-01-18 10:00"),
    ("inside one day", MSK, "2027-01-13 10:00", 90, "2027-01-13 11:30"),
    ("ending at closing stays that day", MSK, "2027-01-15 16:00", 120, "2027-01-15 18:00"),
    ("before opening counts from opening", MSK, "2027-01-13 07:00", 30, "2027-01-13 09:30"),
    ("after closing counts from next day", MSK, "2027-01-13 19:00", 30, "2027-01-14 09:30"),
    ("saturday counts from monday", MSK, "2027-01-16 12:00", 60, "2027-01-18 10:00"),
    ("zero while open is start", MSK, "2027-01-13 10:17:42", 0, "2027-01-13 10:17:42"),
    ("zero while closed is next opening", MSK, "2027-01-16 12:00", 0, "2027-01-18 09:00"),
    ("zero at closing is next opening", MSK, "2027-01-13 18:00", 0, "2027-01-14 09:00"),
    ("five full days", MSK, "2027-01-11 09:00", 5 * 540, "2027-01-15 18:00"),
    ("three weeks and an hour", MSK, "2027-01-11 09:00", 15 * 540 + 60, "2027-02-01 10:00"),
    ("new year holidays", MSK_RU, "2026-12-31 17:00", 120, "2027-01-11 10:00"),
    ("ticket during holidays", MSK_RU, "2027-01-05 12:00", 60, "2027-01-11 10:00"),
    ("lunch is skipped", LUNCH, "2027-01-13 12:30", 60, "2027-01-13 14:30"),
    ("during lunch counts from 14:00", LUNCH, "2027-01-13 13:15", 30, "2027-01-13 14:30"),
    ("ending at lunch", LUNCH, "2027-01-13 12:00", 60, "2027-01-13 13:00"),
    ("24/7", ALWAYS, "2027-01-16 23:30", 90, "2027-01-17 01:00"),
    ("24/7 ignores holidays", ALWAYS_BER, "2027-03-27 23:30", 30, "2027-03-28 00:00"),
    ("24/7 is real time over DST", ALWAYS_BER, "2027-03-28 01:30", 60, "2027-03-28 03:30"),
    ("00:00-24:00 every day", ALL_DAY, "2027-01-15 17:00", 3 * 1440, "2027-01-18 17:00"),
    ("00:00-24:00, zero minutes", ALL_DAY, "2027-01-15 17:00", 0, "2027-01-15 17:00"),
    ("overnight runs through midnight", NIGHT, "2027-01-11 23:00", 120, "2027-01-12 01:00"),
    ("overnight reaching midnight", NIGHT, "2027-01-11 22:00", 120, "2027-01-12 00:00"),
    ("overnight to the next night", NIGHT, "2027-01-12 05:00", 120, "2027-01-12 23:00"),
    ("overnight friday to monday", NIGHT, "2027-01-16 05:00", 120, "2027-01-18 23:00"),
    ("utc office", UTC_OFFICE, "2027-01-15 17:00", 120, "2027-01-18 10:00"),
    # Monday 09:30 in Vladivostok (UTC+10) is Sunday 23:30 UTC.
    ("vladivostok monday is sunday in utc", VVO, "2027-01-17 23:30+00:00", 30, "2027-01-18 10:00"),
    ("vladivostok friday evening", VVO, "2027-01-15 17:30", 60, "2027-01-18 09:30"),
    # Friday 17:00 in Los Angeles (UTC-8) is Saturday 01:00 UTC.
    ("los angeles friday is utc saturday", LA, "2027-01-16 01:00+00:00", 120, "2027-01-18 10:00"),
    ("new york office over spring forward", NY, "2027-03-12 17:00", 120, "2027-03-15 10:00"),
    ("new york office over fall back", NY, "2027-11-05 17:00", 120, "2027-11-08 10:00"),
    ("berlin office over spring forward", BERLIN, "2027-03-26 17:00", 120, "2027-03-29 10:00"),
    ("berlin office over fall back", BERLIN, "2027-10-29 17:00", 120, "2027-11-01 10:00"),
    # 01:00-05:00 on spring-forward day: 3 real hours.
    ("ny spring: whole interval is 3h", NY_SUN, "2027-03-14 01:00", 180, "2027-03-14 05:00"),
    ("ny spring: 01:30 + 1h is 03:30", NY_SUN, "2027-03-14 01:30", 60, "2027-03-14 03:30"),
    ("ny spring: 181 min is next sunday", NY_SUN, "2027-03-14 01:00", 181, "2027-03-21 01:01"),
    ("ny spring: start in gap opens at jump", NY_GAP, "2027-03-14 00:00", 0, "2027-03-14 03:00"),
    ("ny spring: gap start holds 2h", NY_GAP, "2027-03-14 00:00", 120, "2027-03-14 05:00"),
    # 01:00-05:00 on fall-back day: 5 real hours, 01:xx counted twice.
    ("ny fall: 01:xx twice", NY_SUN, "2027-11-07 01:00-04:00", 90, "2027-11-07 01:30-05:00"),
    ("ny fall: 5h", NY_SUN, "2027-11-07 01:00-04:00", 300, "2027-11-07 05:00-05:00"),
    ("ny fall: ends in repeat", NY_REP, "2027-11-07 01:15-04:00", 30, "2027-11-07 01:15-05:00"),
    ("berlin spring: 01:00 + 2h is 04:00", BER_SUN, "2027-03-28 01:00", 120, "2027-03-28 04:00"),
    ("berlin fall: 02:30 twice", BER_SUN, "2027-10-31 02:30+02:00", 60, "2027-10-31 02:30+01:00"),
    ("berlin night over spring forward", BER_NIGHT, "2027-03-27 22:00", 7 * 60, "2027-03-28 06:00"),
    ("berlin night over fall back", BER_NIGHT, "2027-10-30 22:00", 9 * 60, "2027-10-31 06:00"),
]


class TestAddBusinessMinutes:
    @pytest.mark.parametrize(
        ("cal", "start", "minutes", "expected"),
        [pytest.param(*row[1:], id=row[0]) for row in ADD_CASES],
    )
    def test_returns_the_due_instant(
        self, cal: BusinessCalendar, start: str, minutes: int, expected: str
    ) -> None:
        result = add_business_minutes(at(start, cal), minutes, cal)
        assert result == at(expected, cal)
        assert result.tzinfo is UTC

    def test_a_naive_start_is_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            add_business_minutes(datetime(2027, 1, 13, 10), 30, MSK)

    def test_negative_minutes_are_refused(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            add_business_minutes(at("2027-01-13 10:00", MSK), -1, MSK)

    def test_seconds_are_exact(self) -> None:
        start = at("2027-01-15 17:59:30", MSK)
        result = add_business_time(start, timedelta(seconds=45), MSK)
        assert result == at("2027-01-18 09:00:15", MSK)

    def test_years_ahead_step_by_day_not_by_minute(self) -> None:
        # 1,000 working days of 9 h = 200 weeks: Monday 09:00 ends on a Friday 18:00.
        started = clock.perf_counter()
        result = add_business_minutes(at("2027-01-04 09:00", UTC_OFFICE), 1000 * 540, UTC_OFFICE)
        elapsed = clock.perf_counter() - started
        assert result == at("2030-11-01 18:00", UTC_OFFICE)
        assert elapsed < 1.0  # minute by minute would take over two million steps


BETWEEN_CASES = [
    # id, calendar, start, end, minutes
    ("inside one day", MSK, "2027-01-13 10:00", "2027-01-13 12:30", 150),
    ("a whole week", MSK, "2027-01-11 00:00", "2027-01-18 00:00", 5 * 540),
    ("friday 17:00 to monday 10:00", MSK, "2027-01-15 17:00", "2027-01-18 10:00", 120),
    ("end before start", MSK, "2027-01-13 12:00", "2027-01-13 10:00", 0),
    ("empty range", MSK, "2027-01-13 12:00", "2027-01-13 12:00", 0),
    ("a weekend", MSK, "2027-01-16 00:00", "2027-01-18 00:00", 0),
    ("thirty seconds", MSK, "2027-01-13 10:00:00", "2027-01-13 10:00:30", 0.5),
    ("new year holidays", MSK_RU, "2026-12-31 00:00", "2027-01-12 00:00", 2 * 540),
    ("lunch excluded", LUNCH, "2027-01-13 08:00", "2027-01-13 20:00", 480),
    ("24/7 day", ALWAYS, "2027-01-13 00:00", "2027-01-14 00:00", 1440),
    ("24/7 spring-forward day", ALWAYS_BER, "2027-03-28 00:00", "2027-03-29 00:00", 1380),
    ("00:00-24:00 every day", ALL_DAY, "2027-01-15 17:00", "2027-02-15 17:00", 31 * 1440),
    ("overnight shift", NIGHT, "2027-01-11 22:00", "2027-01-12 06:00", 480),
    ("overnight shifts mon-fri", NIGHT, "2027-01-11 00:00", "2027-01-18 00:00", 5 * 480),
    ("vladivostok day", VVO, "2027-01-18 00:00", "2027-01-19 00:00", 540),
    ("los angeles day", LA, "2027-01-18 00:00", "2027-01-19 00:00", 540),
    ("ny ordinary sunday", NY_SUN, "2027-03-21 00:00", "2027-03-22 00:00", 240),
    ("ny spring-forward sunday", NY_SUN, "2027-03-14 00:00", "2027-03-15 00:00", 180),
    ("ny fall-back sunday", NY_SUN, "2027-11-07 00:00", "2027-11-08 00:00", 300),
    ("ny interval from the gap", NY_GAP, "2027-03-14 00:00", "2027-03-15 00:00", 120),
    ("ny interval into the repeat", NY_REP, "2027-11-07 00:00", "2027-11-08 00:00", 120),
    ("berlin spring-forward sunday", BER_SUN, "2027-03-28 00:00", "2027-03-29 00:00", 180),
    ("berlin fall-back sunday", BER_SUN, "2027-10-31 00:00", "2027-11-01 00:00", 300),
    ("berlin night spring", BER_NIGHT, "2027-03-27 12:00", "2027-03-28 12:00", 420),
    ("berlin night fall", BER_NIGHT, "2027-10-30 12:00", "2027-10-31 12:00", 540),
    ("berlin office week with dst", BERLIN, "2027-03-22 00:00", "2027-04-05 00:00", 10 * 540),
]


class TestBusinessMinutesBetween:
    @pytest.mark.parametrize(
        ("cal", "start", "end", "minutes"),
        [pytest.param(*row[1:], id=row[0]) for row in BETWEEN_CASES],
    )
    def test_counts_working_minutes(
        self, cal: BusinessCalendar, start: str, end: str, minutes: float
    ) -> None:
        assert business_minutes_between(at(start, cal), at(end, cal), cal) == minutes

    def test_the_exact_variant_keeps_seconds(self) -> None:
        start = at("2027-01-15 17:59:59", MSK)
        end = at("2027-01-18 09:00:02", MSK)
        assert business_time_between(start, end, MSK) == timedelta(seconds=3)

    def test_starts_and_ends_may_be_in_different_zones(self) -> None:
        start = datetime(2027, 1, 13, 6, 0, tzinfo=UTC)  # 09:00 Moscow
        end = datetime(2027, 1, 13, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # 12:00 Moscow
        assert business_minutes_between(start, end, MSK) == 180

    def test_a_naive_end_is_refused(self) -> None:
        with pytest.raises(ValueError, match="end must be a timezone-aware"):
            business_minutes_between(at("2027-01-13 10:00", MSK), datetime(2027, 1, 14), MSK)


OPEN_CASES = [
    # id, calendar, instant, open?
    ("opening instant is open", MSK, "2027-01-13 09:00", True),
    ("one second before closing", MSK, "2027-01-13 17:59:59", True),
    ("closing instant is closed", MSK, "2027-01-13 18:00", False),
    ("saturday", MSK, "2027-01-16 12:00", False),
    ("holiday", MSK_RU, "2027-01-05 12:00", False),
    ("same day without holidays", MSK, "2027-01-05 12:00", True),
    ("lunch", LUNCH, "2027-01-13 13:30", False),
    ("24/7 on a listed holiday", ALWAYS_BER, "2027-03-28 12:00", True),
    ("00:00-24:00 at midnight", ALL_DAY, "2027-01-16 00:00", True),
    ("overnight before midnight", NIGHT, "2027-01-11 23:59", True),
    ("overnight at midnight", NIGHT, "2027-01-12 00:00", True),
    ("no shift sunday night", NIGHT, "2027-01-17 23:00", False),
    ("no shift monday 01:00", NIGHT, "2027-01-18 01:00", False),
    ("vladivostok monday morning", VVO, "2027-01-17 23:30+00:00", True),
    ("los angeles friday 17:30", LA, "2027-01-16 01:30+00:00", True),
    ("ny before the gap", NY_GAP, "2027-03-14 01:59:59", False),
    ("ny right after the jump", NY_GAP, "2027-03-14 03:00", True),
    ("ny first 01:15", NY_REP, "2027-11-07 01:15-04:00", True),
    ("ny first 01:45", NY_REP, "2027-11-07 01:45-04:00", False),
    ("ny second 01:15", NY_REP, "2027-11-07 01:15-05:00", True),
    ("ny second 01:45", NY_REP, "2027-11-07 01:45-05:00", False),
]


class TestIsOpen:
    @pytest.mark.parametrize(
        ("cal", "instant", "expected"),
        [pytest.param(*row[1:], id=row[0]) for row in OPEN_CASES],
    )
    def test_tells_working_time(self, cal: BusinessCalendar, instant: str, expected: bool) -> None:
        assert is_open(at(instant, cal), cal) is expected

    def test_a_naive_instant_is_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            is_open(datetime(2027, 1, 13, 10), MSK)


NEXT_OPEN_CASES = [
    # id, calendar, instant, next working instant
    ("open is itself", MSK, "2027-01-13 10:17", "2027-01-13 10:17"),
    ("early morning", MSK, "2027-01-13 07:00", "2027-01-13 09:00"),
    ("at closing", MSK, "2027-01-15 18:00", "2027-01-18 09:00"),
    ("during holidays", MSK_RU, "2027-01-01 00:00", "2027-01-11 09:00"),
    ("during lunch", LUNCH, "2027-01-13 13:00", "2027-01-13 14:00"),
    ("24/7", ALWAYS, "2027-01-16 03:04:05", "2027-01-16 03:04:05"),
    ("night shift", NIGHT, "2027-01-12 06:00", "2027-01-12 22:00"),
    ("interval from the gap", NY_GAP, "2027-03-14 00:00", "2027-03-14 03:00"),
    ("second pass of the repeat", NY_REP, "2027-11-07 01:40-04:00", "2027-11-07 01:00-05:00"),
]


class TestNextOpen:
    @pytest.mark.parametrize(
        ("cal", "instant", "expected"),
        [pytest.param(*row[1:], id=row[0]) for row in NEXT_OPEN_CASES],
    )
    def test_finds_the_next_working_instant(
        self, cal: BusinessCalendar, instant: str, expected: str
    ) -> None:
        result = next_open(at(instant, cal), cal)
        assert result == at(expected, cal)
        assert result.tzinfo is UTC


PROPERTY_CALENDARS = [
    pytest.param(ALL_DAY, id="all_day"),
    pytest.param(MSK_RU, id="msk_ru"),
    pytest.param(LUNCH, id="lunch"),
    pytest.param(NIGHT, id="night"),
    pytest.param(VVO, id="vvo"),
    pytest.param(LA, id="la"),
    pytest.param(NY_SUN, id="ny_sun"),
    pytest.param(NY_REP, id="ny_rep"),
    pytest.param(BER_NIGHT, id="ber_night"),
    pytest.param(ALWAYS_BER, id="always_ber"),
]


class TestBetweenInvertsAdd:
    @pytest.mark.parametrize("cal", PROPERTY_CALENDARS)
    def test_between_of_add_gives_back_the_minutes(self, cal: BusinessCalendar) -> None:
        rng = random.Random(20270101)
        year_start = datetime(2026, 12, 1, tzinfo=UTC)
        for _ in range(120):
            anywhere = year_start + timedelta(seconds=rng.randrange(400 * 86400))
            start = next_open(anywhere, cal) if rng.random() < 0.7 else anywhere
            minutes = rng.choice([0, 1, rng.randrange(600), rng.randrange(6 * 7 * 1440)])
            due = add_business_minutes(start, minutes, cal)
            assert business_minutes_between(start, due, cal) == minutes, (start, minutes, due)
            assert due - start >= timedelta(minutes=minutes), (start, minutes, due)

    def test_starts_inside_working_time_stay_exact(self) -> None:
        rng = random.Random(7)
        start = at("2027-01-11 09:00", MSK)
        for _ in range(300):
            offset = rng.randrange(540 * 60)  # seconds into Monday's hours
            inside = start + timedelta(seconds=offset)
            assert is_open(inside, MSK)
            minutes = rng.randrange(3 * 7 * 540)
            due = add_business_minutes(inside, minutes, MSK)
            assert business_minutes_between(inside, due, MSK) == minutes


def every_monday(first: date, years: int) -> list[str]:
    return [(first + timedelta(weeks=week)).isoformat() for week in range(years * 53)]


class TestCalendarsWithoutWorkingTime:
    MONDAYS_CLOSED = calendar_from_spec(
        timezone="Europe/Moscow",
        hours={"mon": [["09:00", "18:00"]]},
        holidays=every_monday(date(2027, 1, 4), 6),
    )

    def test_add_gives_up_after_about_five_years(self) -> None:
        with pytest.raises(CalendarError, match="no working time within") as caught:
            start = at("2027-01-01 00:00", self.MONDAYS_CLOSED)
            add_business_minutes(start, 30, self.MONDAYS_CLOSED)
        assert caught.value.field == "hours"

    def test_next_open_gives_up_too(self) -> None:
        with pytest.raises(CalendarError) as caught:
            next_open(at("2027-01-01 00:00", self.MONDAYS_CLOSED), self.MONDAYS_CLOSED)
        assert caught.value.field == "hours"

    def test_is_open_and_between_answer_without_searching(self) -> None:
        cal = self.MONDAYS_CLOSED
        assert is_open(at("2027-01-04 10:00", cal), cal) is False
        start, end = at("2027-01-01 00:00", cal), at("2027-03-01 00:00", cal)
        assert business_minutes_between(start, end, cal) == 0

    def test_a_gap_shorter_than_the_limit_is_crossed(self) -> None:
        cal = calendar_from_spec(
            timezone="Europe/Moscow",
            hours={"mon": [["09:00", "18:00"]]},
            holidays=every_monday(date(2027, 1, 4), 4)[: 4 * 52],  # 2027-01-04 .. 2030-12-23
        )
        due = add_business_minutes(at("2027-01-01 00:00", cal), 30, cal)
        assert due == at("2030-12-30 09:30", cal)

    def test_working_time_right_before_a_long_closure_is_still_found(self) -> None:
        cal = calendar_from_spec(
            timezone="Europe/Moscow",
            hours={"mon": [["09:00", "18:00"]]},
            holidays=every_monday(date(2027, 1, 11), 6),
        )
        due = add_business_minutes(at("2027-01-04 17:00", cal), 30, cal)
        assert due == at("2027-01-04 17:30", cal)


class TestCalendarFromSpec:
    def test_builds_weekday_intervals(self) -> None:
        cal = calendar_from_spec(
            timezone="Europe/Moscow",
            hours={"tue": [["14:00", "18:00"], ["09:00", "13:00"]], "sun": [["22:00", "24:00"]]},
            holidays=["2027-01-07", "2027-01-01", "2027-01-07"],
        )
        assert dict(cal.hours) == {
            1: ((time(9), time(13)), (time(14), time(18))),
            6: ((time(22), END_OF_DAY),),
        }
        assert cal.holidays == frozenset({date(2027, 1, 1), date(2027, 1, 7)})
        assert cal.always_open is False

    @pytest.mark.parametrize(
        "hours",
        [None, {}, {day: [] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}],
        ids=["none", "empty", "all days empty"],
    )
    def test_no_hours_is_24_7(self, hours: dict[str, list[list[str]]] | None) -> None:
        cal = calendar_from_spec(timezone="UTC", hours=hours, holidays=["2027-01-01"])
        assert cal.always_open is True
        assert is_open(datetime(2027, 1, 1, 3, tzinfo=UTC), cal) is True

    def test_adjacent_intervals_and_seconds_are_allowed(self) -> None:
        cal = calendar_from_spec(
            timezone="UTC", hours={"mon": [["09:00", "12:00"], ["12:00", "17:30:30"]]}
        )
        assert cal.hours[0] == ((time(9), time(12)), (time(12), time(17, 30, 30)))

    def test_equal_specs_give_equal_hashable_calendars(self) -> None:
        assert office("Europe/Moscow", ("09:00", "18:00")) == MSK
        assert len({office("Europe/Moscow", ("09:00", "18:00")), MSK}) == 1
        assert MSK != MSK_RU

    def test_to_spec_is_the_inverse(self) -> None:
        spec: dict[str, Any] = {
            "timezone": "Europe/Berlin",
            "hours": {
                "mon": [["09:00", "13:00"], ["14:00", "18:00"]],
                "fri": [["22:00", "24:00"]],
                "sat": [["00:00", "06:00:30"]],
            },
            "holidays": ["2027-01-01", "2027-12-25"],
        }
        cal = calendar_from_spec(**spec)
        assert calendar_to_spec(cal) == spec
        assert list(calendar_to_spec(cal)["hours"]) == ["mon", "fri", "sat"]
        assert calendar_from_spec(**calendar_to_spec(cal)) == cal

    def test_to_spec_orders_days_and_holidays(self) -> None:
        cal = calendar_from_spec(
            timezone="UTC",
            hours={"sun": [["10:00", "11:00"]], "mon": [["10:00", "11:00"]]},
            holidays=["2027-05-09", "2027-01-01"],
        )
        spec = calendar_to_spec(cal)
        assert list(spec["hours"]) == ["mon", "sun"]
        assert spec["holidays"] == ["2027-01-01", "2027-05-09"]
        assert calendar_to_spec(ALWAYS) == {"timezone": "UTC", "hours": {}, "holidays": []}


DAY = [["09:00", "18:00"]]
MON = {"mon": DAY}
INVALID_SPECS = [
    # id, timezone, hours, holidays, field at fault
    ("unknown zone", "Mars/Olympus", MON, (), "timezone"),
    ("empty zone", "", MON, (), "timezone"),
    ("zone directory", "Europe", MON, (), "timezone"),
    ("zone path", "../etc/passwd", MON, (), "timezone"),
    ("hours not an object", "UTC", [["09:00", "18:00"]], (), "hours"),
    ("unknown day key", "UTC", {"mon": DAY, "xyz": DAY}, (), "hours.xyz"),
    ("long day name", "UTC", {"monday": DAY}, (), "hours.monday"),
    ("day not a list", "UTC", {"sun": "09:00-18:00"}, (), "hours.sun"),
    ("interval not a pair", "UTC", {"sat": [["09:00"]]}, (), "hours.sat.0"),
    ("interval as text", "UTC", {"sat": ["09:00-18:00"]}, (), "hours.sat.0"),
    ("bad time", "UTC", {"mon": [["9am", "18:00"]]}, (), "hours.mon.0"),
    ("hour 25", "UTC", {"mon": [["09:00", "25:00"]]}, (), "hours.mon.0"),
    ("minute 60", "UTC", {"tue": [["09:00", "13:00"], ["14:00", "18:60"]]}, (), "hours.tue.1"),
    ("time not text", "UTC", {"mon": [[9, 18]]}, (), "hours.mon.0"),
    ("24:00 as start", "UTC", {"thu": [["24:00", "24:00"]]}, (), "hours.thu.0"),
    ("24:30", "UTC", {"thu": [["22:00", "24:30"]]}, (), "hours.thu.0"),
    ("start after end", "UTC", {"wed": [["18:00", "09:00"]]}, (), "hours.wed.0"),
    ("start equals end", "UTC", {"wed": [["09:00", "09:00"]]}, (), "hours.wed.0"),
    ("overlap", "UTC", {"fri": [["09:00", "13:00"], ["12:00", "18:00"]]}, (), "hours.fri.1"),
    ("unsorted", "UTC", {"fri": [["12:00", "18:00"], ["09:00", "13:00"]]}, (), "hours.fri.0"),
    ("contained", "UTC", {"fri": [["09:00", "18:00"], ["10:00", "11:00"]]}, (), "hours.fri.1"),
    ("bad month", "UTC", MON, ["2027-01-01", "2027-13-01"], "holidays.1"),
    ("russian date in spec", "UTC", MON, ["01.01.2027"], "holidays.0"),
    ("no such day", "UTC", MON, ["2027-01-01", "2027-01-02", "2027-02-30"], "holidays.2"),
    ("holiday not text", "UTC", MON, [20270101], "holidays.0"),
    ("holidays as one string", "UTC", MON, "2027-01-01", "holidays"),
]


class TestInvalidSpecs:
    def test_an_overnight_interval_is_explained(self) -> None:
        with pytest.raises(CalendarError, match="two intervals") as caught:
            calendar_from_spec(timezone="UTC", hours={"mon": [["22:00", "06:00"]]})
        assert caught.value.field == "hours.mon.0"

    @pytest.mark.parametrize(
        ("timezone", "hours", "holidays", "field"),
        [pytest.param(*row[1:], id=row[0]) for row in INVALID_SPECS],
    )
    def test_names_the_field_at_fault(
        self, timezone: str, hours: object, holidays: object, field: str
    ) -> None:
        with pytest.raises(CalendarError) as caught:
            calendar_from_spec(timezone=timezone, hours=hours, holidays=holidays)  # type: ignore[arg-type]
        assert caught.value.field == field
        assert caught.value.message
        assert isinstance(caught.value, ValueError)


INVALID_CALENDARS = [
    # id, keyword arguments, field at fault
    ("weekday 7", {"hours": {7: ((time(9), time(18)),)}}, "hours.7"),
    ("weekday as text", {"hours": {"mon": ((time(9), time(18)),)}}, "hours.mon"),
    ("end None", {"hours": {0: ((time(9), None),)}}, "hours.mon.0"),
    ("sub-second time", {"hours": {1: ((time(9), time(18, 0, 0, 5)),)}}, "hours.tue.0"),
    ("aware time", {"hours": {2: ((time(9, tzinfo=UTC), time(18)),)}}, "hours.wed.0"),
    ("overlap", {"hours": {3: ((time(9), time(12)), (time(11), time(18)))}}, "hours.thu.1"),
    ("start at end of day", {"hours": {4: ((END_OF_DAY, END_OF_DAY),)}}, "hours.fri.0"),
    ("datetime holiday", {"hours": {}, "holidays": frozenset({datetime(2027, 1, 1)})}, "holidays"),
    ("bad zone", {"timezone": "Moscow", "hours": {}}, "timezone"),
]


class TestBusinessCalendar:
    @pytest.mark.parametrize(
        ("kwargs", "field"), [pytest.param(*row[1:], id=row[0]) for row in INVALID_CALENDARS]
    )
    def test_the_constructor_validates(self, kwargs: dict[str, object], field: str) -> None:
        with pytest.raises(CalendarError) as caught:
            BusinessCalendar(**{"timezone": "UTC", **kwargs})  # type: ignore[arg-type]
        assert caught.value.field == field

    def test_time_max_ends_at_midnight(self) -> None:
        cal = BusinessCalendar("Asia/Vladivostok", {0: ((time(22), END_OF_DAY),)})
        assert is_open(at("2027-01-11 23:59:59", cal), cal) is True
        start, end = at("2027-01-11 00:00", cal), at("2027-01-12 00:00", cal)
        assert business_minutes_between(start, end, cal) == 120

    def test_hours_are_sorted_and_read_only(self) -> None:
        hours = {4: ((time(14), time(18)), (time(9), time(13))), 5: ()}
        cal = BusinessCalendar("UTC", hours)
        assert dict(cal.hours) == {4: ((time(9), time(13)), (time(14), time(18)))}
        with pytest.raises(TypeError):
            cal.hours[0] = ()  # type: ignore[index]

    def test_holidays_on_a_24_7_calendar_are_ignored(self) -> None:
        cal = BusinessCalendar("UTC", {}, frozenset({date(2027, 1, 1)}))
        assert cal.always_open is True
        assert is_open(datetime(2027, 1, 1, 12, tzinfo=UTC), cal) is True


class TestParseHolidaysCsv:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            pytest.param(
                "2027-01-01\n2027-01-07\n", [date(2027, 1, 1), date(2027, 1, 7)], id="iso"
            ),
            pytest.param(
                "\ufeffdate,name\r\n2027-01-01,New Year\r\n2027-01-07,Christmas\r\n",
                [date(2027, 1, 1), date(2027, 1, 7)],
                id="bom header crlf",
            ),
            pytest.param(
                "дата;название\n01.01.2027;Новый год\n23.02.2027;День защитника Отечества\n",
                [date(2027, 1, 1), date(2027, 2, 23)],
                id="russian header semicolons",
            ),
            pytest.param("7.1.2027;Рождество\n", [date(2027, 1, 7)], id="short day and month"),
            pytest.param(
                "# праздники 2027\n\n2027-05-01\n  # снова комментарий\n\n2027-05-09\n",
                [date(2027, 5, 1), date(2027, 5, 9)],
                id="comments and blank lines",
            ),
            pytest.param(
                '"2027-06-12","День России, выходной"\n', [date(2027, 6, 12)], id="quoted cells"
            ),
            pytest.param("2027-11-04\tДень народного единства\n", [date(2027, 11, 4)], id="tab"),
            pytest.param(
                "2027-05-09\n2027-01-01\n09.05.2027\n",
                [date(2027, 5, 9), date(2027, 1, 1)],
                id="duplicates dropped in file order",
            ),
            pytest.param(
                "\ufeffДата;Название\n31.12.2027;Канун".encode(),
                [date(2027, 12, 31)],
                id="utf-8 bytes with bom",
            ),
            pytest.param(
                "Дата;Название;;\n;;;\n04.11.2027;День народного единства;;\n;;;\n",
                [date(2027, 11, 4)],
                id="spreadsheet empty rows",
            ),
            pytest.param("", [], id="empty"),
            pytest.param("date,name\n", [], id="header only"),
        ],
    )
    def test_reads_dates(self, text: str | bytes, expected: list[date]) -> None:
        assert parse_holidays_csv(text) == expected

    @pytest.mark.parametrize(
        ("text", "line", "fragment"),
        [
            pytest.param("2027-01-01\nnot a date,x\n", 2, "is not a date", id="words"),
            pytest.param("date,name\n2027-02-30,x\n", 2, "is not a real date", id="no such day"),
            pytest.param("# c\n\n2027-01-01\n01/07/2027\n", 4, "DD.MM.YYYY", id="slashes"),
            pytest.param("date,name\ndate,name\n", 2, "is not a date", id="second header"),
            pytest.param("2027-01-01\n,Новый год\n", 2, "missing", id="empty date"),
            pytest.param("2027-01-01 Новый год\n", 1, "is not a date", id="no separator"),
            pytest.param("01.01.27;Новый год\n", 1, "is not a date", id="two-digit year"),
            pytest.param("32.01.2027\n", 1, "is not a real date", id="day 32"),
            pytest.param(b"2027-01-01\n2027-01-02\n\xc3(\n", 3, "not UTF-8", id="not utf-8"),
        ],
    )
    def test_a_bad_line_names_its_number(self, text: str | bytes, line: int, fragment: str) -> None:
        with pytest.raises(CalendarError) as caught:
            parse_holidays_csv(text)
        assert caught.value.field == f"holidays.line{line}"
        assert f"line {line}" in caught.value.message
        assert fragment in caught.value.message
