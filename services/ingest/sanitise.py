"""Hostile-input hygiene before normalisation: control characters out, oversized text refused."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from shared.normalise import remove_invisible
from shared.schemas.events import FieldError

_LINE_BREAKS = re.compile(r"[\t\r\n]+")

MAX_LENGTHS = {"message": 10_000, "attributes": 2_000}
MAX_DEFAULT = 500
MAX_LIST_ITEMS = 50
MAX_ATTRIBUTES = 200


def oversized(raw: dict[str, Any]) -> list[FieldError]:
    """Fields longer than a lead field can sensibly be: refused with the field named, never truncated silently."""
    errors = []
    for key, value in raw.items():
        limit = MAX_LENGTHS.get(key, MAX_DEFAULT)
        if isinstance(value, str):
            if len(value) > limit:
                errors.append(_too_long(key, value, limit))
        elif isinstance(value, dict | list):
            errors.extend(_long_strings(value, key, limit))
    interests = raw.get("product_interest")
    if isinstance(interests, list) and len(interests) > MAX_LIST_ITEMS:
        errors.append(FieldError(field="product_interest", code="too_many", message=f"at most {MAX_LIST_ITEMS}"))
    attributes = raw.get("attributes")
    if isinstance(attributes, dict) and len(attributes) > MAX_ATTRIBUTES:
        errors.append(FieldError(field="attributes", code="too_many", message=f"at most {MAX_ATTRIBUTES} attributes"))
    return errors


def _too_long(path: str, value: str, limit: int) -> FieldError:
    return FieldError(field=path, code="too_long", message=f"{len(value)} characters; at most {limit}")


def _long_strings(value: Any, path: str, limit: int) -> Iterator[FieldError]:
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(item, str):
            if len(item) > limit:  # the path is only built for the rare offender
                yield _too_long(f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]", item, limit)
        elif isinstance(item, dict | list):
            yield from _long_strings(item, f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]", limit)


def clean_text(value: str | None, *, multiline: bool = False) -> tuple[str | None, bool]:
    """NFC, controls removed, whitespace collapsed (kept as line breaks in free text); (text, changed)."""
    if value is None:
        return None, False
    if value.isprintable():  # the common case: no controls, no format characters, no odd spaces
        text = value.strip()
        if "  " in text:
            text = " ".join(text.split())
        return (text or None), False
    text, changed = remove_invisible(unicodedata.normalize("NFC", value))
    text = text.strip() if multiline else " ".join(_LINE_BREAKS.sub(" ", text).split())
    return (text or None), changed


def clean_strings(raw: Any, *, multiline_keys: frozenset[str] = frozenset({"message"})) -> tuple[Any, bool]:
    """The submission with every string cleaned; whether any control character was removed."""
    if isinstance(raw, str):
        return clean_text(raw)
    if isinstance(raw, dict):
        changed = False
        out: dict[str, Any] = {}
        for key, item in raw.items():
            if isinstance(item, str):
                text, was = clean_text(item, multiline=key in multiline_keys)
            else:
                text, was = clean_strings(item, multiline_keys=multiline_keys)
            out[key] = text
            changed |= was
        return out, changed
    if isinstance(raw, list):
        items = [clean_strings(item, multiline_keys=multiline_keys) for item in raw]
        return [text for text, _ in items if text is not None], any(was for _, was in items)
    return raw, False
