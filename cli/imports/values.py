"""Cell parsing for `leadflow import`: spreadsheet values to text, text to ints, booleans and times."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

PRODUCT_SEPARATORS = re.compile(r"[,;\uff1b\uff0c\u3001/|]")  # full-width forms too: Chinese IMEs type them
THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")
WHOLE = re.compile(r"[0-9]+(?:\.0*)?")
NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# 2024/5/1, 2024.5.1, 2024年5月1日, each optionally followed by a time of day.
LOOSE_DATE = re.compile(
    r"(\d{4})[/.年-](\d{1,2})[/.月-](\d{1,2})日?"
    r"(?:[ T]+(\d{1,2})[:\uff1a](\d{2})(?:[:\uff1a](\d{2})(?:\.(\d{1,6}))?)?)?"
)
TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1", "是", "同意", "已同意"})
FALSE_WORDS = frozenset({"no", "n", "false", "f", "0", "否", "不同意", "未同意"})
EXACT_FLOAT_LIMIT = 2**53  # beyond this a float no longer holds every integer exactly


def cell_text(value: Any) -> str:
    """A spreadsheet or JSON scalar as the text a person would type: 13800138000.0 -> "13800138000"."""
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dt.datetime):
        # Excel stores dates as datetimes at midnight; "2024-05-01" is what the user typed.
        return value.date().isoformat() if value.time() == dt.time() and value.tzinfo is None else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _float_text(value: float) -> str:
    """Whole floats (Excel keeps every number as one) lose their ".0": phone numbers and ids are whole."""
    if math.isfinite(value) and value.is_integer() and abs(value) < EXACT_FLOAT_LIMIT:
        return str(int(value))
    return repr(value)


def parse_int(text: str) -> int | None:
    """`250`, `1,200` or `50.0` -> int; anything else (`50-200`, `约500人`, `-3`) -> None."""
    compact = text.strip()
    if THOUSANDS.fullmatch(compact):
        compact = compact.replace(",", "")
    return int(compact.split(".")[0]) if WHOLE.fullmatch(compact) else None


def parse_amount(text: str) -> float | None:
    """`1,500,000` or `2.5` -> float; a negative or worded amount -> None."""
    compact = text.strip().replace(",", "")
    return float(compact) if NUMBER.fullmatch(compact) else None


def parse_bool(text: str) -> bool | None:
    """yes/no, true/false, 1/0, Y/N, 是/否, 同意/不同意 -> bool; anything else -> None."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    return False if word in FALSE_WORDS else None


def split_products(text: str) -> list[str]:
    """`crm; erp/cloud` -> [crm, erp, cloud] (full-width separators too); order kept, blanks dropped."""
    return [part.strip() for part in PRODUCT_SEPARATORS.split(text) if part.strip()]


def parse_datetime(text: str, tz: dt.tzinfo) -> dt.datetime | None:
    """ISO-8601, `2024-05-01 10:00`, `2024/5/1`, `2024年5月1日` -> aware datetime; naive ones get `tz`."""
    value = _parse_naive_or_aware(text.strip())
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def _parse_naive_or_aware(text: str) -> dt.datetime | None:
    """Try ISO-8601 first (it carries offsets), then the loose date forms spreadsheets hold."""
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    match = LOOSE_DATE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    micro = int((fraction or "0").ljust(6, "0"))
    try:
        return dt.datetime(  # noqa: DTZ001 - naive on purpose: the caller applies --tz
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro
        )
    except ValueError:  # 2024/2/30 and the like
        return None
