"""One row's cells -> one `leads.captured.v1` submission (a JSON-ready dict), without sending it."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from cli.imports.mapping import ColumnMap
from cli.imports.values import parse_amount, parse_bool, parse_datetime, parse_int, split_products

Converter = Callable[[str, dt.tzinfo], Any]  # None when the text is not a valid value for the field


def _datetime(text: str, tz: dt.tzinfo) -> str | None:
    value = parse_datetime(text, tz)
    return None if value is None else value.isoformat()


CONVERTERS: dict[str, Converter] = {
    "captured_at": _datetime,
    "consent.captured_at": _datetime,
    "consent.marketing": lambda text, _tz: parse_bool(text),
    "company.employees": lambda text, _tz: parse_int(text),
    "company.annual_revenue": lambda text, _tz: parse_amount(text),
}


def attribute_name(path: str) -> str:
    """Where an unparseable typed value goes: `company.employees` -> attributes["employees"]."""
    return path.removeprefix("company.")


def stable_external_id(submission: Mapping[str, Any]) -> str:
    """`row-` + 16 hex of the SHA-1 of the mapped values: the same row re-imported gets the same id."""
    content = {key: value for key, value in submission.items() if key not in {"source", "external_id"}}
    digest = hashlib.sha1(orjson.dumps(content, option=orjson.OPT_SORT_KEYS), usedforsecurity=False)
    return "row-" + digest.hexdigest()[:16]


class _Builder:
    """Collects one row's fields; the first non-empty column for a field wins, later ones become attributes."""

    def __init__(self, tz: dt.tzinfo) -> None:
        self.tz = tz
        self.fields: dict[str, Any] = {}
        self.attributes: dict[str, str] = {}

    def put_field(self, header: str, path: str, text: str) -> None:
        if path == "product_interest":  # several product columns add up
            self.fields.setdefault(path, []).extend(split_products(text))
            return
        if path in self.fields:
            self.attributes.setdefault(header, text)
            return
        converter = CONVERTERS.get(path)
        value = text if converter is None else converter(text, self.tz)
        if value is None:
            self.attributes.setdefault(attribute_name(path), text)
        else:
            self.fields[path] = value

    def submission(self, source: str) -> dict[str, Any]:
        """Nest the dotted paths; empty sections and lists are left out, never sent empty."""
        nested: dict[str, Any] = {}
        for path, value in self.fields.items():
            if value == []:
                continue
            section, _, name = path.rpartition(".")
            (nested.setdefault(section, {}) if section else nested)[name] = value
        if self.attributes:
            nested["attributes"] = self.attributes
        external_id = nested.pop("external_id", None) or stable_external_id(nested)
        return {"source": source, "external_id": external_id, **nested}


def to_submission(cells: Mapping[str, str], columns: ColumnMap, source: str, tz: dt.tzinfo) -> dict[str, Any]:
    """Map one row: known columns fill fields, the others become string attributes, empty cells are omitted."""
    builder = _Builder(tz)
    for header, raw in cells.items():
        text = raw.strip()
        if not text:
            continue
        target = columns.resolve(header)
        if target.kind == "field":
            builder.put_field(header, target.name, text)
        elif target.kind == "attribute" and target.name:
            builder.attributes.setdefault(target.name, text)
    return builder.submission(source)
