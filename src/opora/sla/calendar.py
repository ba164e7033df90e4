"""Business-time arithmetic over working calendars: pure functions, no I/O.

Clock changes (DST): working hours are wall-clock times in the calendar's zone, measured in
real elapsed time. An instant is working time when its local date is a working day and its local
time lies in one of that day's [start, end) intervals. So on a spring-forward day the skipped
wall times never happen: 01:00-05:00 in America/New_York on 2027-03-14 holds 3 hours, and an
interval that starts (or ends) inside the skipped hour opens (or closes) when the clocks jump.
On a fall-back day a repeated wall time is working time both times it occurs: 01:00-05:00 on
2027-11-07 holds 5 hours, and 00:00-01:30 holds 2 (its 01:00-01:30 happens twice).

A day's intervals belong to its local date, and touching intervals are one stretch: Mon
22:00-24:00 followed by Tue 00:00-06:00 is an unbroken night shift. Arithmetic steps interval by
interval, one local day at a time, never minute by minute; offset changes are found by sampling
every 6 hours and bisecting to the second (no zone changes offset twice within 6 hours).
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from types import MappingProxyType
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
END_OF_DAY = time.max
"""An interval end of 24:00 (the midnight after the day) is written ``time.max``."""
SEARCH_LIMIT_DAYS = 5 * 366
"""Days without any working time after which a search gives up (about five years)."""

Interval = tuple[time, time]
Span = tuple[datetime, datetime]

_DAY = timedelta(days=1)
_WINDOW = timedelta(hours=24)  # |UTC offset| < 24 h: a local date's instants lie within it
_SAMPLE = timedelta(hours=6)  # zones never change offset twice within this
_SECOND = timedelta(seconds=1)
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)

_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", re.ASCII)
_ISO_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_RU_DATE_RE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", re.ASCII)
_CSV_SEPARATOR_RE = re.compile(r"[,;\t]")


class CalendarError(ValueError):
    """An invalid calendar or holiday list; ``field`` names the input at fault."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclasses.dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Working hours in one IANA time zone.

    ``hours`` maps a weekday (0=Monday..6=Sunday) to local [start, end) intervals in whole
    seconds; an end of ``END_OF_DAY`` (``time.max``) means 24:00. The constructor validates,
    sorts each day's intervals, drops empty days and makes ``hours`` read-only. Without any
    hours the calendar is open 24/7 and its holidays are ignored.
    """

    timezone: str
    hours: Mapping[int, tuple[Interval, ...]] = dataclasses.field(hash=False)
    holidays: frozenset[date] = frozenset()
    zone: ZoneInfo = dataclasses.field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", _load_zone(self.timezone))
        if not isinstance(self.hours, Mapping):
            raise CalendarError("hours must map weekdays to intervals", field="hours")
        hours: dict[int, tuple[Interval, ...]] = {}
        for weekday, intervals in self.hours.items():
            if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
                raise CalendarError(
                    f"weekday {weekday!r} is not 0 (Monday) to 6 (Sunday)", field=f"hours.{weekday}"
                )
            if day := _normalize_day(DAY_KEYS[weekday], intervals):
                hours[weekday] = day
        object.__setattr__(self, "hours", MappingProxyType(dict(sorted(hours.items()))))
        holidays = frozenset(self.holidays)
        for holiday in holidays:
            if not isinstance(holiday, date) or isinstance(holiday, datetime):
                raise CalendarError(f"holiday {holiday!r} is not a date", field="holidays")
        object.__setattr__(self, "holidays", holidays)

    @property
    def always_open(self) -> bool:
        """No hours on any day: open 24/7, holidays ignored."""
        return not self.hours


def calendar_from_spec(
    *,
    timezone: str,
    hours: Mapping[str, Sequence[Sequence[str]]] | None,
    holidays: Iterable[str] = (),
) -> BusinessCalendar:
    """Build a calendar from its REST shape; raise CalendarError naming the field at fault.

    ``hours`` is ``{"mon": [["09:00", "18:00"]], ...}`` with keys mon..sun and "HH:MM" times
    ("HH:MM:SS" also accepted, "24:00" as an end); empty or missing hours mean 24/7.
    ``holidays`` are "YYYY-MM-DD" dates; duplicates are dropped.
    """
    _load_zone(timezone)
    parsed: dict[int, list[Interval]] = {}
    if hours is not None:
        if not isinstance(hours, Mapping):
            raise CalendarError('hours must be an object such as {"mon": [...]}', field="hours")
        for key, intervals in hours.items():
            if key not in DAY_KEYS:
                raise CalendarError(
                    f"unknown day {key!r}; use {', '.join(DAY_KEYS)}", field=f"hours.{key}"
                )
            if isinstance(intervals, str) or not isinstance(intervals, Sequence):
                raise CalendarError(
                    'a day\'s hours must be a list such as [["09:00", "18:00"]]',
                    field=f"hours.{key}",
                )
            parsed[DAY_KEYS.index(key)] = [
                _parse_interval(pair, where=f"hours.{key}.{index}")
                for index, pair in enumerate(intervals)
            ]
    if isinstance(holidays, str | bytes):
        raise CalendarError("holidays must be a list of YYYY-MM-DD dates", field="holidays")
    days = frozenset(
        _parse_iso_date(text, where=f"holidays.{index}") for index, text in enumerate(holidays)
    )
    return BusinessCalendar(
        timezone=timezone,
        hours={weekday: tuple(intervals) for weekday, intervals in parsed.items()},
        holidays=days,
    )


def calendar_to_spec(cal: BusinessCalendar) -> dict[str, Any]:
    """The REST shape of ``cal``: days mon..sun (empty days left out), holidays sorted."""
    return {
        "timezone": cal.timezone,
        "hours": {
            DAY_KEYS[weekday]: [[_format_time(s), _format_time(e)] for s, e in intervals]
            for weekday, intervals in cal.hours.items()
        },
        "holidays": [day.isoformat() for day in sorted(cal.holidays)],
    }


def add_business_time(start: datetime, duration: timedelta, cal: BusinessCalendar) -> datetime:
    """The UTC instant when ``duration`` of working time after ``start`` has passed.

    Counting begins at the next opening when ``start`` is closed; a zero duration gives the
    next working instant at or after ``start``.
    """
    begin = _as_utc(start, "start")
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    remaining = duration
    for span_start, span_end in _spans(cal, begin):
        opened = max(span_start, begin)
        if remaining <= span_end - opened:
            return opened + remaining
        remaining -= span_end - opened
    raise AssertionError("unreachable: the span search without a bound never ends")


def add_business_minutes(start: datetime, minutes: int, cal: BusinessCalendar) -> datetime:
    """The UTC instant when ``minutes`` of working time after ``start`` have passed."""
    if minutes < 0:
        raise ValueError(f"minutes must not be negative, got {minutes}")
    return add_business_time(start, timedelta(minutes=minutes), cal)


def business_time_between(start: datetime, end: datetime, cal: BusinessCalendar) -> timedelta:
    """Working time in [start, end), exact; zero when ``end <= start``."""
    begin, finish = _as_utc(start, "start"), _as_utc(end, "end")
    total = timedelta(0)
    if finish <= begin:
        return total
    for span_start, span_end in _spans(cal, begin, until=finish):
        if span_start >= finish:
            break
        total += min(span_end, finish) - max(span_start, begin)
    return total


def business_minutes_between(start: datetime, end: datetime, cal: BusinessCalendar) -> float:
    """Working minutes in [start, end) (fractions for seconds); 0 when ``end <= start``."""
    return business_time_between(start, end, cal) / timedelta(minutes=1)


def is_open(at: datetime, cal: BusinessCalendar) -> bool:
    """Whether ``at`` is working time."""
    instant = _as_utc(at, "at")
    span = next(_spans(cal, instant, until=instant), None)
    return span is not None and span[0] <= instant


def next_open(at: datetime, cal: BusinessCalendar) -> datetime:
    """The first working instant at or after ``at``, in UTC (the same instant when open)."""
    instant = _as_utc(at, "at")
    span_start, _ = next(_spans(cal, instant))
    return max(span_start, instant)


def parse_holidays_csv(text: str | bytes) -> list[date]:
    """Holidays from a spreadsheet export, in file order without duplicates.

    One holiday a line: the date first (YYYY-MM-DD or DD.MM.YYYY), then optionally a name after
    a comma, semicolon or tab. A header as the first line ("date,name", "дата;название"), blank
    lines, empty rows (";;") and "#" comments are skipped; a UTF-8 byte-order mark is dropped;
    bytes are read as UTF-8. A bad line raises CalendarError with ``field=f"holidays.line{n}"``
    and a message naming the line number.
    """
    if isinstance(text, bytes):
        data = text
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            number = data.count(b"\n", 0, exc.start) + 1
            raise CalendarError(
                f"line {number}: the file is not UTF-8 text", field=f"holidays.line{number}"
            ) from None
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    days: dict[date, None] = {}
    header_possible = True
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line.strip(',;\t "') or line.startswith("#"):
            continue  # blank, a spreadsheet's empty row (";;"), or a comment
        cell = _CSV_SEPARATOR_RE.split(line, maxsplit=1)[0].strip().strip('"').strip()
        if header_possible and not any(char.isdigit() for char in cell):
            header_possible = False
            continue
        header_possible = False
        days.setdefault(_parse_csv_date(cell, number), None)
    return list(days)


# --- the span search ---------------------------------------------------------------------


def _spans(cal: BusinessCalendar, start: datetime, until: datetime | None = None) -> Iterator[Span]:
    """Working time from ``start`` on as sorted, disjoint UTC spans that end after it.

    Spans may touch (22:00-24:00 then 00:00-06:00); callers treat touching spans as one. With
    ``until`` the search stops once no later span can start at or before it; without, it raises
    CalendarError after SEARCH_LIMIT_DAYS local days without working time.
    """
    if cal.always_open:
        yield start, _FAR_FUTURE
        return
    day = start.astimezone(cal.zone).date() - _DAY
    pending: list[Span] = []  # a heap: a fall-back day's spans, or a zone's odd day, interleave
    idle_days, idle_since = 0, day
    while True:
        floor = datetime.combine(day, time(), UTC) - _WINDOW  # instants of `day` on are later
        done = until is not None and floor > until
        while pending and (done or pending[0][0] <= floor):
            span = heapq.heappop(pending)
            if span[1] > start:
                yield span
        if done:
            return
        if day_spans := _day_spans(cal, day):
            for span in day_spans:
                heapq.heappush(pending, span)
            idle_days, idle_since = 0, day + _DAY
        elif until is None:
            idle_days += 1
            if idle_days > SEARCH_LIMIT_DAYS:
                raise CalendarError(
                    f"the calendar has no working time within {SEARCH_LIMIT_DAYS} days "
                    f"(about five years) from {idle_since.isoformat()}",
                    field="hours",
                )
        day += _DAY


def _day_spans(cal: BusinessCalendar, day: date) -> list[Span]:
    """The UTC spans whose local date is ``day`` and local time inside its intervals."""
    if day in cal.holidays:
        return []
    intervals = cal.hours.get(day.weekday())
    if not intervals:
        return []
    midnight = datetime.combine(day, time(), UTC)  # the wall clock, labelled UTC
    segments = _offset_segments(cal.zone, day)
    spans: list[Span] = []
    for start, end in intervals:
        wall_start = midnight + _since_midnight(start)
        wall_end = midnight + (_DAY if end == END_OF_DAY else _since_midnight(end))
        for segment_start, segment_end, offset in segments:
            span_start = max(segment_start, wall_start - offset)
            span_end = min(segment_end, wall_end - offset)
            if span_start < span_end:
                spans.append((span_start, span_end))
    return spans


@functools.lru_cache(maxsize=4096)
def _offset_segments(zone: ZoneInfo, day: date) -> tuple[tuple[datetime, datetime, timedelta], ...]:
    """Constant-offset pieces (start, end, offset) of the UTC range holding ``day``'s instants."""
    low = datetime.combine(day, time(), UTC) - _WINDOW
    high = low + _DAY + 2 * _WINDOW
    segments: list[tuple[datetime, datetime, timedelta]] = []
    segment_start, segment_offset = low, _offset(zone, low)
    previous = low
    while previous < high:
        point = min(previous + _SAMPLE, high)
        point_offset = _offset(zone, point)
        while segment_offset != point_offset:
            change = _first_change(zone, max(previous, segment_start), point, segment_offset)
            segments.append((segment_start, change, segment_offset))
            segment_start, segment_offset = change, _offset(zone, change)
        previous = point
    segments.append((segment_start, high, segment_offset))
    return tuple(segments)


def _first_change(zone: ZoneInfo, low: datetime, high: datetime, offset: timedelta) -> datetime:
    """The first whole second in (low, high] whose offset differs from ``offset`` (low's)."""
    below, above = 0, (high - low) // _SECOND
    while above - below > 1:
        middle = (below + above) // 2
        if _offset(zone, low + middle * _SECOND) == offset:
            below = middle
        else:
            above = middle
    return low + above * _SECOND


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    return cast(timedelta, instant.astimezone(zone).utcoffset())


# --- validation and formats --------------------------------------------------------------


def _load_zone(name: object) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise CalendarError(
            "timezone must be an IANA time zone name such as Europe/Moscow", field="timezone"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CalendarError(f"unknown time zone {name!r}", field="timezone") from None


def _normalize_day(label: str, intervals: object) -> tuple[Interval, ...]:
    """Validate one day's intervals and sort them; errors name ``hours.<day>.<index>``."""
    if isinstance(intervals, str) or not isinstance(intervals, Sequence):
        raise CalendarError("a day's hours must be a sequence of intervals", field=f"hours.{label}")
    indexed: list[tuple[time, time, int]] = []
    for index, interval in enumerate(intervals):
        where = f"hours.{label}.{index}"
        if not isinstance(interval, tuple | list) or len(interval) != 2:
            raise CalendarError("an interval must be a (start, end) pair", field=where)
        start, end = interval
        if not isinstance(start, time) or not isinstance(end, time):
            raise CalendarError("an interval's start and end must be times", field=where)
        if start.tzinfo is not None or end.tzinfo is not None:
            raise CalendarError("interval times are local: no tzinfo", field=where)
        if start == END_OF_DAY:
            raise CalendarError("24:00 can only end an interval", field=where)
        if start.microsecond or (end.microsecond and end != END_OF_DAY):
            raise CalendarError("interval times are whole seconds", field=where)
        if start == end:
            raise CalendarError(f"{_format_time(start)}-{_format_time(end)} is empty", field=where)
        if start > end:
            raise CalendarError(
                f"{_format_time(start)}-{_format_time(end)} ends before it starts; write overnight"
                " hours as two intervals, e.g. 22:00-24:00 and 00:00-06:00 the next day",
                field=where,
            )
        indexed.append((start, end, index))
    indexed.sort()
    for (start0, end0, _), (start1, end1, index1) in pairwise(indexed):
        if start1 < end0:
            raise CalendarError(
                f"{_format_time(start1)}-{_format_time(end1)} overlaps "
                f"{_format_time(start0)}-{_format_time(end0)}",
                field=f"hours.{label}.{index1}",
            )
    return tuple((start, end) for start, end, _ in indexed)


def _parse_interval(pair: object, *, where: str) -> Interval:
    if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
        raise CalendarError('an interval must be a pair such as ["09:00", "18:00"]', field=where)
    return _parse_time(pair[0], end=False, where=where), _parse_time(pair[1], end=True, where=where)


def _parse_time(text: object, *, end: bool, where: str) -> time:
    match = _TIME_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise CalendarError(f"{text!r} is not a time in HH:MM form", field=where)
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if (hour, minute, second) == (24, 0, 0):
        if end:
            return END_OF_DAY
        raise CalendarError("24:00 can only end an interval", field=where)
    if hour > 23 or minute > 59 or second > 59:
        raise CalendarError(f"{text!r} is not a time of day", field=where)
    return time(hour, minute, second)


def _format_time(value: time) -> str:
    if value == END_OF_DAY:
        return "24:00"
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _since_midnight(value: time) -> timedelta:
    return timedelta(hours=value.hour, minutes=value.minute, seconds=value.second)


def _parse_iso_date(text: object, *, where: str) -> date:
    match = _ISO_DATE_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise CalendarError(f"{text!r} is not a date in YYYY-MM-DD form", field=where)
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise CalendarError(f"{text!r} is not a real date", field=where) from None


def _parse_csv_date(cell: str, number: int) -> date:
    where = f"holidays.line{number}"
    if not cell:
        raise CalendarError(f"line {number}: the date is missing", field=where)
    if match := _ISO_DATE_RE.fullmatch(cell):
        year, month, day = match[1], match[2], match[3]
    elif match := _RU_DATE_RE.fullmatch(cell):
        day, month, year = match[1], match[2], match[3]
    else:
        raise CalendarError(
            f"line {number}: {cell!r} is not a date; write YYYY-MM-DD or DD.MM.YYYY", field=where
        )
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise CalendarError(f"line {number}: {cell!r} is not a real date", field=where) from None


def _as_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value.isoformat()}")
    return value.astimezone(UTC)
