"""Survivorship: what the surviving lead looks like after a merge, and what the merge changed.

The existing lead keeps its id and its values. An empty field is filled from the newcomer; a
conflicting value is not overwritten but kept as history; product interests add up; every
channel the person came through is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The fields a lead record carries, as (section, name); "" is the payload's top level.
RECORD_FIELDS: tuple[tuple[str, str], ...] = (
    ("person", "name"),
    ("person", "given_name"),
    ("person", "family_name"),
    ("person", "title"),
    ("person", "phone"),
    ("person", "email"),
    ("person", "wechat"),
    ("company", "name"),
    ("company", "domain"),
    ("company", "industry"),
    ("company", "employees"),
    ("company", "annual_revenue"),
    ("company", "country"),
    ("company", "region"),
    ("company", "city"),
    ("company", "address"),
    ("company", "postcode"),
    ("", "campaign"),
)
LIST_FIELDS = ("product_interest",)


def record_of(payload: dict[str, Any]) -> dict[str, Any]:
    """A lead's record: the flat `section.name` values an ingested payload carries."""
    record: dict[str, Any] = {}
    for section, name in RECORD_FIELDS:
        holder = payload.get(section) if section else payload
        value = holder.get(name) if isinstance(holder, dict) else None
        if value not in (None, ""):
            record[f"{section}.{name}" if section else name] = value
    for name in LIST_FIELDS:
        if values := payload.get(name):
            record[name] = list(values)
    return record


@dataclass
class Merged:
    """The survivor's record after the merge and what it took from the newcomer."""

    record: dict[str, Any]
    filled: dict[str, Any] = field(default_factory=dict)  # field -> the newcomer's value, was empty
    conflicts: dict[str, Any] = field(default_factory=dict)  # field -> the newcomer's differing value


def merge_records(survivor: dict[str, Any], newcomer: dict[str, Any]) -> Merged:
    """Fill the survivor's empty fields from the newcomer; keep differing values aside, not overwriting."""
    result = Merged(dict(survivor))
    for name, value in newcomer.items():
        current = survivor.get(name)
        if name in LIST_FIELDS:
            added = [v for v in value if v not in (current or [])]
            if added:
                result.record[name] = [*(current or []), *added]
                result.filled[name] = added
        elif current in (None, ""):
            result.record[name] = value
            result.filled[name] = value
        elif not _same(current, value):
            result.conflicts[name] = value
    return result


def unfill(record: dict[str, Any], filled: dict[str, Any]) -> dict[str, Any]:
    """Undo what a merge filled in, where the survivor still has exactly that value."""
    restored = dict(record)
    for name, value in filled.items():
        if name in LIST_FIELDS:
            restored[name] = [v for v in restored.get(name, []) if v not in value]
            if not restored[name]:
                del restored[name]
        elif restored.get(name) == value:
            del restored[name]
    return restored


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold().strip() == b.casefold().strip()
    return bool(a == b)
