"""Working-time calendars: weekly hours in a zone, public holidays, make-up workdays, deadlines in working time."""

from __future__ import annotations

import timeit
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.worktime import WorkCalendar, parse_hours

pytestmark = pytest.mark.unit

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")
OFFICE = WorkCalendar("Asia/Shanghai", {"mon-fri": ["09:00-12:00", "13:00-18:00"]}, holidays="CN")


def sh(*fields: int) -> datetime:
    """A Shanghai wall time from (year, month, day, hour[, minute[, second]])."""
    year, month, day, hour, minute, second = (*fields, 0, 0)[:6]
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


# --- weekly hours -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "working"),
    [
        (sh(2026, 11, 23, 9, 0), True),  # Monday, opening minute
        (sh(2026, 11, 23, 8, 59), False),
        (sh(2026, 11, 23, 11, 59), True),
        (sh(2026, 11, 23, 12, 30), False),  # lunch
        (sh(2026, 11, 23, 13, 0), True),
        (sh(2026, 11, 23, 17, 59, 59), True),
        (sh(2026, 11, 23, 18, 0), False),  # intervals end exclusive
        (sh(2026, 11, 27, 10, 0), True),  # Friday
        (sh(2026, 11, 28, 10, 0), False),  # Saturday
        (sh(2026, 11, 29, 10, 0), False),  # Sunday
    ],
)
def test_weekdays_and_lunch_break(at: datetime, *, working: bool) -> None:
    assert OFFICE.is_working(at) is working


def test_a_utc_instant_is_read_in_the_calendars_zone() -> None:
    monday_0930_shanghai = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    assert OFFICE.is_working(monday_0930_shanghai)
    assert not OFFICE.is_working(datetime(2026, 11, 23, 10, 30, tzinfo=UTC))  # 18:30 in Shanghai
    assert OFFICE.local_day(datetime(2026, 11, 22, 17, 0, tzinfo=UTC)) == date(2026, 11, 23)  # already Monday there


def test_london_hours_follow_summer_time() -> None:
    london = WorkCalendar("Europe/London", {"mon-fri": "08:00-17:00"})
    assert london.is_working(datetime(2026, 7, 6, 7, 30, tzinfo=UTC))  # 08:30 BST
    assert not london.is_working(datetime(2026, 12, 7, 7, 30, tzinfo=UTC))  # 07:30 GMT


def test_days_as_ranges_and_lists_with_several_intervals() -> None:
    week = parse_hours({"mon,wed": "09:00-12:00, 14:00-17:00", "fri-sat": ["10:00-11:00"], "sun": "24h"})
    assert week[0] == week[2] == ((9 * 3600, 12 * 3600), (14 * 3600, 17 * 3600))
    assert week[1] == week[3] == ()
    assert week[4] == week[5] == ((10 * 3600, 11 * 3600),)
    assert week[6] == ((0, 86_400),)
    assert parse_hours({"MON": ["09:00-12:00", "12:00-18:00"]})[0] == ((9 * 3600, 18 * 3600),)  # touching: one


def test_round_the_clock() -> None:
    always = WorkCalendar.always()
    assert always.is_working(datetime(2026, 10, 1, 3, 0, tzinfo=UTC))
    assert always.add_working(datetime(2026, 11, 28, 23, 0, tzinfo=UTC), timedelta(hours=3)) == datetime(
        2026, 11, 29, 2, 0, tzinfo=UTC
    )
    assert WorkCalendar("UTC", {"mon-sun": "00:00-24:00"}) == always


# --- holidays and make-up workdays ------------------------------------------------------------------------------


@pytest.mark.parametrize("day", range(1, 8))
def test_chinese_national_day_week_is_off(day: int) -> None:
    assert not OFFICE.is_working(sh(2026, 10, day, 10, 0))


def test_the_official_make_up_workdays_are_worked() -> None:
    # 2026 National Day: Sunday 20 September and Saturday 10 October are worked instead (调休).
    assert OFFICE.is_working(sh(2026, 9, 20, 10, 0))
    assert OFFICE.is_working(sh(2026, 10, 10, 10, 0))
    assert not OFFICE.is_working(sh(2026, 10, 10, 12, 30))  # with Monday's hours, lunch included
    assert not OFFICE.is_working(sh(2026, 10, 11, 10, 0))  # the Sunday after is not


def test_configured_workdays_and_days_off() -> None:
    calendar = WorkCalendar(
        "Asia/Shanghai",
        {"mon-fri": "09:00-18:00", "sat": "09:00-12:00"},
        holidays="CN",
        workdays=[date(2026, 11, 29), date(2026, 10, 1)],  # a Sunday push; working on a public holiday
        days_off=[date(2026, 12, 31), date(2026, 9, 20)],  # a company holiday; skipping an official make-up day
    )
    assert calendar.is_working(sh(2026, 11, 29, 17, 0))  # Sunday with Monday's hours, not Saturday's
    assert calendar.is_working(sh(2026, 10, 1, 10, 0))
    assert calendar.is_working(sh(2026, 10, 10, 15, 0))  # an official make-up Saturday: a full day, not 09-12
    assert not calendar.is_working(sh(2026, 12, 31, 10, 0))
    assert not calendar.is_working(sh(2026, 9, 20, 10, 0))


def test_british_bank_holidays() -> None:
    london = WorkCalendar("Europe/London", {"mon-fri": "08:00-17:00"}, holidays="GB")
    assert not london.is_working(datetime(2026, 12, 28, 10, 0, tzinfo=LONDON))  # Boxing Day (observed)
    assert london.is_working(datetime(2026, 12, 29, 10, 0, tzinfo=LONDON))


# --- deadlines in working time ----------------------------------------------------------------------------------


def test_add_working_across_a_weekend() -> None:
    calendar = WorkCalendar("Asia/Shanghai", {"mon-fri": "09:00-18:00"}, holidays="CN")
    assert calendar.add_working(sh(2026, 11, 27, 17, 0), timedelta(hours=2)) == sh(2026, 11, 30, 10, 0)
    assert calendar.add_working(sh(2026, 11, 27, 17, 0), timedelta(hours=1)) == sh(2026, 11, 27, 18, 0)
    assert calendar.add_working(sh(2026, 11, 28, 3, 0), timedelta(minutes=30)) == sh(2026, 11, 30, 9, 30)


def test_add_working_across_the_lunch_break_and_a_holiday() -> None:
    assert OFFICE.add_working(sh(2026, 11, 23, 11, 0), timedelta(hours=2)) == sh(2026, 11, 23, 14, 0)
    # Wednesday 30 September 17:00: one hour that day, then National Day until Thursday 8 October.
    assert OFFICE.add_working(sh(2026, 9, 30, 17, 0), timedelta(hours=2)) == sh(2026, 10, 8, 10, 0)
    assert OFFICE.add_working(sh(2026, 9, 30, 17, 0), timedelta(hours=3)) == sh(2026, 10, 8, 11, 0)


def test_add_working_keeps_the_zone_and_accepts_any_aware_start() -> None:
    deadline = OFFICE.add_working(datetime(2026, 11, 27, 9, 0, tzinfo=UTC), timedelta(hours=2))  # Fri 17:00 there
    assert deadline == sh(2026, 11, 30, 10, 0)
    assert deadline.utcoffset() == timedelta(hours=8)


def test_add_working_of_nothing_is_the_next_working_moment() -> None:
    assert OFFICE.add_working(sh(2026, 11, 23, 12, 15), timedelta(0)) == sh(2026, 11, 23, 13, 0)


def test_next_working() -> None:
    working = sh(2026, 11, 23, 10, 0)
    assert OFFICE.next_working(working) is working
    assert OFFICE.next_working(sh(2026, 11, 23, 12, 15)) == sh(2026, 11, 23, 13, 0)
    assert OFFICE.next_working(sh(2026, 11, 27, 18, 0)) == sh(2026, 11, 30, 9, 0)
    assert OFFICE.next_working(sh(2026, 9, 30, 19, 0)) == sh(2026, 10, 8, 9, 0)
    assert OFFICE.next_working(sh(2026, 9, 19, 8, 0)) == sh(2026, 9, 20, 9, 0)  # the make-up Sunday


def test_local_day_and_week_start() -> None:
    sunday_night = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)  # Monday 01:00 in Shanghai
    assert OFFICE.local_day(sunday_night) == date(2026, 11, 30)
    assert OFFICE.week_start(sunday_night) == date(2026, 11, 30)
    assert OFFICE.week_start(sh(2026, 11, 29, 23, 0)) == date(2026, 11, 23)


def test_naive_datetimes_and_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        OFFICE.is_working(datetime(2026, 11, 23, 10, 0))  # noqa: DTZ001 -- the point of the test
    with pytest.raises(ValueError, match="negative"):
        OFFICE.add_working(sh(2026, 11, 23, 10, 0), timedelta(hours=-1))


def test_is_working_is_fast() -> None:
    at = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    OFFICE.is_working(at)  # the year's holidays are loaded once
    seconds = min(timeit.repeat(lambda: OFFICE.is_working(at), number=2_000, repeat=3)) / 2_000
    assert seconds < 20e-6  # about 1 µs on a laptop; generous for a busy CI machine


# --- invalid specs ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"hours": {"mnn-fri": "09:00-18:00"}}, "unknown day 'mnn'"),
        ({"hours": {"fri-mon": "09:00-18:00"}}, "runs backwards"),
        ({"hours": {"mon": "09:00-25:00"}}, "bad time '25:00'"),
        ({"hours": {"mon": "9-18"}}, "bad time '9'"),
        ({"hours": {"mon": "09:60-18:00"}}, "bad time '09:60'"),
        ({"hours": {"mon": "18:00-09:00"}}, "ends before it starts"),
        ({"hours": {"mon": "09:00-09:00"}}, "ends before it starts"),
        ({"hours": {"mon": "09:00"}}, "not an interval"),
        ({"hours": {"mon": ["09:00-12:00", "11:00-13:00"]}}, "overlap"),
        ({"hours": {"mon-fri": "09:00-18:00", "fri": "09:00-12:00"}}, "fri is given twice"),
        ({"hours": {}}, "no working hours"),
        ({"hours": {"mon": 9}}, "not working hours"),
        ({"timezone": "Asia/Shangai"}, "unknown timezone 'Asia/Shangai'"),
        ({"holidays": "XX"}, "unknown holidays country code 'XX'"),
        ({"holidays": "GB-XYZ"}, "unknown subdivision 'XYZ'"),
        ({"workdays": [date(2026, 12, 31)], "days_off": [date(2026, 12, 31)]}, "both a make-up workday and a day off"),
    ],
)
def test_invalid_specs_are_refused_with_a_clear_message(kwargs: dict[str, object], says: str) -> None:
    spec: dict[str, object] = {"timezone": "Asia/Shanghai", "hours": {"mon-fri": "09:00-18:00"}} | kwargs
    with pytest.raises(ValueError, match=says):
        WorkCalendar(**spec)  # type: ignore[arg-type]  # deliberately loose input
