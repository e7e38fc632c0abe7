"""Working-time calendars: weekly hours in a time zone, public holidays, make-up workdays and company days off."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_data

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_SECONDS = 86_400
_SEARCH_DAYS = 400  # more than a year without one working minute is a broken calendar, not a long holiday
_TIME = re.compile(r"(\d{1,2}):(\d{2})")

Interval = tuple[int, int]  # seconds after local midnight, [start, end)
Week = tuple[tuple[Interval, ...], ...]  # Monday first
HoursSpec = Mapping[str, str | Sequence[str]]


class WorkCalendar:
    """When someone works: `hours` per weekday in `timezone`, less holidays, plus make-up workdays.

    hours: `{"mon-fri": "09:00-18:00", "sat": ["09:00-12:00"]}`; keys are days, ranges (`mon-fri`)
    or lists (`mon,wed`); values one or more intervals (`"09:00-12:00, 13:00-18:00"` or a list),
    `"24h"` for the whole day. holidays: a country code of the `holidays` package (`CN`, `GB`, or
    `GB-SCT` with a subdivision); its make-up workdays (调休) are worked too. workdays: more
    make-up days; days_off: company holidays. A make-up day stands in for a weekday, so it has the
    hours of the first day of the week that has some (Monday's, usually), whatever day it falls on.
    """

    __slots__ = (
        "_configured",
        "_extra",
        "_loaded",
        "_makeup",
        "_subdiv",
        "_week",
        "_zone",
        "holidays",
        "key",
        "timezone",
    )

    def __init__(
        self,
        timezone: str,
        hours: HoursSpec,
        holidays: str | None = None,
        workdays: Iterable[date] = (),
        days_off: Iterable[date] = (),
    ) -> None:
        self.timezone = timezone
        self._zone = parse_timezone(timezone)
        self._week = parse_hours(hours)
        self.holidays: str | None = None
        self._subdiv: str | None = None
        if holidays:
            self.holidays, self._subdiv = check_country(holidays)
        self._makeup = next(day for day in self._week if day)
        worked, off = frozenset(workdays), frozenset(days_off)
        if both := sorted(worked & off):
            raise ValueError(f"{', '.join(map(str, both))} cannot be both a make-up workday and a day off")
        self._extra: dict[date, tuple[Interval, ...]] = dict.fromkeys(worked, self._makeup)
        self._extra.update(dict.fromkeys(off, ()))
        self._loaded: set[int] = set()  # years whose public holidays are in `_extra`
        self.key = (timezone, self._week, self.holidays, self._subdiv, tuple(sorted(worked)), tuple(sorted(off)))
        self._configured = frozenset(self._extra)

    @classmethod
    def always(cls, timezone: str = "UTC") -> WorkCalendar:
        """Round the clock, every day."""
        return cls(timezone, {"mon-sun": "24h"})

    def __repr__(self) -> str:
        return f"WorkCalendar(timezone={self.timezone!r}, holidays={self.holidays!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WorkCalendar) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    # --- queries ---------------------------------------------------------------------------------------------

    def is_working(self, at: datetime) -> bool:
        """Whether the aware instant `at` falls in working time (in this calendar's zone)."""
        if at.tzinfo is None:
            raise ValueError("a working-time question needs an aware datetime")
        local = at.astimezone(self._zone)
        second = local.hour * 3600 + local.minute * 60 + local.second
        for start, end in self._day(local.date()):  # noqa: SIM110 -- a plain loop: any() costs a generator per call
            if start <= second < end:
                return True
        return False

    def next_working(self, at: datetime) -> datetime:
        """`at` if it is working time, else the start of the next working interval (in this zone)."""
        if at.tzinfo is None:
            raise ValueError("a working-time question needs an aware datetime")
        local = at.astimezone(self._zone)
        day, second = local.date(), local.hour * 3600 + local.minute * 60 + local.second
        for start, end in self._day(day):
            if second < end:
                return at if second >= start else self._instant(day, start)
        for _ in range(_SEARCH_DAYS):
            day += timedelta(days=1)
            if intervals := self._day(day):
                return self._instant(day, intervals[0][0])
        raise ValueError(f"no working time within {_SEARCH_DAYS} days after {at.isoformat()}")

    def add_working(self, at: datetime, duration: timedelta) -> datetime:
        """The instant `duration` of working time after `at` (2 working hours from Friday 17:00: Monday 10:00)."""
        if at.tzinfo is None:
            raise ValueError("a working-time question needs an aware datetime")
        if duration < timedelta(0):
            raise ValueError(f"cannot count a negative working time ({duration})")
        remaining, cursor = duration, at.astimezone(UTC)
        day, idle = cursor.astimezone(self._zone).date(), 0
        while idle <= _SEARCH_DAYS:
            intervals = self._day(day)
            idle = idle + 1 if not intervals else 0
            for start, end in intervals:
                begin, finish = self._instant(day, start).astimezone(UTC), self._instant(day, end).astimezone(UTC)
                if finish <= cursor:
                    continue
                begin = max(begin, cursor)
                if finish - begin >= remaining:
                    return (begin + remaining).astimezone(self._zone)
                remaining -= finish - begin
                cursor = finish
            day += timedelta(days=1)
        raise ValueError(f"no working time within {_SEARCH_DAYS} days after {cursor.isoformat()}")

    def local_day(self, at: datetime) -> date:
        return at.astimezone(self._zone).date()

    def week_start(self, at: datetime) -> date:
        """The local Monday of `at`'s week."""
        day = self.local_day(at)
        return day - timedelta(days=day.weekday())

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """The working intervals of a local day, as seconds after midnight (empty on a day off)."""
        return self._day(day)

    # --- internals -------------------------------------------------------------------------------------------

    def _day(self, day: date) -> tuple[Interval, ...]:
        if day.year not in self._loaded:
            self._load(day.year)
        special = self._extra.get(day)
        return self._week[day.weekday()] if special is None else special

    def _load(self, year: int) -> None:
        """Add a year's public holidays and official make-up days; configured days win over both."""
        if self.holidays is not None:
            off, worked = _public_days(self.holidays, self._subdiv, year)
            for day in off - self._configured:
                self._extra[day] = ()
            for day in worked - self._configured:
                self._extra[day] = self._makeup
        self._loaded.add(year)

    def _instant(self, day: date, second: int) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self._zone) + timedelta(seconds=second)


@lru_cache(maxsize=256)
def _public_days(country: str, subdiv: str | None, year: int) -> tuple[frozenset[date], frozenset[date]]:
    """A year's public holidays and weekend days worked instead (China's 调休), shared by every calendar."""
    # The next year too: a make-up day can fall in the year before the holiday it pays for (2001-12-29).
    table = holiday_data.country_holidays(country, subdiv=subdiv, years=(year, year + 1))
    off = frozenset(d for d in table if d.year == year)
    worked = frozenset(d for d in getattr(table, "weekend_workdays", ()) if d.year == year)
    return off, worked


# --- parsing ---------------------------------------------------------------------------------------------------


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown timezone {name!r}: use an IANA name such as Asia/Shanghai or UTC") from None


def check_country(code: str) -> tuple[str, str | None]:
    """`CN` → (CN, None), `GB-SCT` → (GB, SCT); ValueError for a code the holidays package does not know."""
    country, _, subdiv = code.strip().upper().partition("-")
    supported = _supported_countries()
    if country not in supported:
        raise ValueError(f"unknown holidays country code {code!r}: use an ISO 3166 code such as CN or GB")
    if subdiv and subdiv not in supported[country]:
        known = ", ".join(supported[country]) or "none"
        raise ValueError(f"unknown subdivision {subdiv!r} of holidays country {country} (known: {known})")
    return country, subdiv or None


@lru_cache(maxsize=1)
def _supported_countries() -> dict[str, list[str]]:
    return dict(holiday_data.list_supported_countries())


def parse_hours(hours: HoursSpec) -> Week:
    """Weekly hours as seven sorted tuples of [start, end) seconds; ValueError says what cannot be read."""
    if not isinstance(hours, Mapping):  # ValueError, not TypeError: pydantic reports only the former with its line
        raise ValueError('hours must map days to intervals, e.g. {mon-fri: "09:00-18:00"}')  # noqa: TRY004 -- above
    week: list[tuple[Interval, ...] | None] = [None] * 7
    named_in: dict[int, str] = {}
    for days, spec in hours.items():
        intervals = _intervals(spec)
        for index in _days(str(days)):
            if index in named_in:
                raise ValueError(f"{DAYS[index]} is given twice (in {named_in[index]!r} and {days!r})")
            named_in[index] = str(days)
            week[index] = intervals
    result = tuple(day or () for day in week)
    if not any(result):
        raise ValueError("no working hours in the week")
    return result


def _days(spec: str) -> list[int]:
    found: list[int] = []
    for part in spec.lower().replace(" ", "").split(","):
        first, dash, last = part.partition("-")
        start, end = _day_index(first, spec), _day_index(last, spec) if dash else None
        if end is None:
            found.append(start)
        elif end < start:
            raise ValueError(f"day range {part!r} runs backwards: write it Monday first, e.g. sat-sun,mon")
        else:
            found.extend(range(start, end + 1))
    return found


def _day_index(name: str, spec: str) -> int:
    if name not in DAYS:
        raise ValueError(f"unknown day {name!r} in {spec!r}: use {', '.join(DAYS)}, ranges like mon-fri or lists")
    return DAYS.index(name)


def _intervals(spec: object) -> tuple[Interval, ...]:
    if isinstance(spec, str):
        parts = spec.split(",")
    elif isinstance(spec, Sequence) and all(isinstance(p, str) for p in spec):
        parts = [p for item in spec for p in item.split(",")]
    else:
        raise ValueError(f'{spec!r} is not working hours: write e.g. "09:00-18:00" or ["09:00-12:00", "13:00-18:00"]')
    intervals = sorted(_interval(p.strip()) for p in parts)
    if not intervals:
        raise ValueError("a day needs at least one interval (leave the day out for a day off)")
    merged = [intervals[0]]
    for start, end in intervals[1:]:
        if start < merged[-1][1]:
            raise ValueError(f"intervals {_text(merged[-1])} and {_text((start, end))} overlap")
        if start == merged[-1][1]:  # 09:00-12:00 and 12:00-18:00 are one stretch
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _interval(text: str) -> Interval:
    if text.lower() == "24h":
        return 0, _DAY_SECONDS
    first, dash, last = text.partition("-")
    if not dash:
        raise ValueError(f'{text!r} is not an interval: write e.g. "09:00-18:00" or "24h"')
    start, end = _second(first.strip(), text), _second(last.strip(), text)
    if start == _DAY_SECONDS:
        raise ValueError(f"{text!r} starts at 24:00: a day's intervals start at 00:00 to 23:59")
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts: split a shift past midnight at 24:00")
    return start, end


def _second(text: str, interval: str) -> int:
    match = _TIME.fullmatch(text)
    hour, minute = (int(match[1]), int(match[2])) if match else (-1, -1)
    if not (0 <= hour <= 23 and 0 <= minute <= 59) and (hour, minute) != (24, 0):
        raise ValueError(f"bad time {text!r} in {interval!r}: use HH:MM from 00:00 to 24:00")
    return hour * 3600 + minute * 60


def _text(interval: Interval) -> str:
    return "-".join(f"{s // 3600:02d}:{s % 3600 // 60:02d}" for s in interval)
