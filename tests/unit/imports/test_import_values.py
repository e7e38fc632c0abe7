"""Cell parsing of `leadflow import`: spreadsheet values, numbers, booleans, times, product lists."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from cli.imports.values import cell_text, parse_amount, parse_bool, parse_datetime, parse_int, split_products

pytestmark = pytest.mark.unit

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (13800138000.0, "13800138000"),
        (13800138000, "13800138000"),
        (50.0, "50"),
        (2.5, "2.5"),
        (True, "true"),
        (None, ""),
        (dt.datetime(2024, 5, 1), "2024-05-01"),  # noqa: DTZ001 - Excel datetimes are naive
        (dt.datetime(2024, 5, 1, 10, 30), "2024-05-01T10:30:00"),  # noqa: DTZ001 - same
        (dt.date(2024, 5, 1), "2024-05-01"),
        ("  王伟 ", "  王伟 "),
    ],
)
def test_cell_text_turns_spreadsheet_values_into_what_was_typed(value: object, text: str) -> None:
    assert cell_text(value) == text


@pytest.mark.parametrize(
    ("text", "number"),
    [("250", 250), ("1,200", 1200), ("50.0", 50), (" 7 ", 7), ("50-200", None), ("约500人", None), ("-3", None)],
)
def test_parse_int_takes_integer_like_text_only(text: str, number: int | None) -> None:
    assert parse_int(text) == number


def test_parse_amount() -> None:
    assert parse_amount("1,500,000") == 1_500_000.0
    assert parse_amount("2.5") == 2.5
    assert parse_amount("about 2m") is None


@pytest.mark.parametrize("text", ["yes", "Y", "TRUE", "1", "是", "同意"])
def test_parse_bool_true(text: str) -> None:
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["no", "n", "false", "0", "否", "不同意"])
def test_parse_bool_false(text: str) -> None:
    assert parse_bool(text) is False


def test_parse_bool_unknown_is_none() -> None:
    assert parse_bool("maybe") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00+08:00", dt.datetime(2024, 5, 1, 2, 0, tzinfo=dt.UTC)),
        ("2024-05-01T02:00:00Z", dt.datetime(2024, 5, 1, 2, 0, tzinfo=dt.UTC)),
        ("2024-05-01 10:00", dt.datetime(2024, 5, 1, 10, 0, tzinfo=SHANGHAI)),
        ("2024-05-01 10:00:30", dt.datetime(2024, 5, 1, 10, 0, 30, tzinfo=SHANGHAI)),
        ("2024/5/1", dt.datetime(2024, 5, 1, tzinfo=SHANGHAI)),
        ("2024/5/1 9:05", dt.datetime(2024, 5, 1, 9, 5, tzinfo=SHANGHAI)),
        ("2024-05-01", dt.datetime(2024, 5, 1, tzinfo=SHANGHAI)),
        ("2024年5月1日", dt.datetime(2024, 5, 1, tzinfo=SHANGHAI)),
    ],
)
def test_parse_datetime_forms_and_zone(text: str, expected: dt.datetime) -> None:
    parsed = parse_datetime(text, SHANGHAI)
    assert parsed == expected
    assert parsed is not None
    assert parsed.tzinfo is not None


@pytest.mark.parametrize("text", ["yesterday", "2024/2/30", "5/1", "13800138000"])
def test_parse_datetime_unparseable_is_none(text: str) -> None:
    assert parse_datetime(text, dt.UTC) is None


def test_split_products_on_ascii_and_full_width_separators() -> None:
    assert split_products("crm; erp\uff0ccloud\u3001ai/bi|iot\uff1bx") == [
        "crm",
        "erp",
        "cloud",
        "ai",
        "bi",
        "iot",
        "x",
    ]
    assert split_products(" , ;") == []
