"""Text clean-up the normalisers share: control characters, width, traditional Chinese, scripts."""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import opencc

# Zero-width and bidi controls hide in copy-pasted form data; lone surrogates would make OpenCC fail.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\ud800-\udfff]"
)
_SPACES = re.compile(r"\s+")
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAN_CHAR = re.compile(f"[{HAN}]")
_KEY_DROP = re.compile(r"[\s.,'\u2019`\-_/()&]+")


def remove_invisible(text: str) -> tuple[str, bool]:
    """The text without control, zero-width and bidi characters, and whether it had any."""
    cleaned = _INVISIBLE.sub("", text)
    return cleaned, len(cleaned) != len(text)


def clean(raw: str) -> str:
    """Invisible characters removed, full-width forms folded (NFKC), whitespace collapsed and trimmed."""
    text = _INVISIBLE.sub("", raw)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _SPACES.sub(" ", text).strip()


@cache
def _converter() -> opencc.OpenCC:
    # Building the converter reads its dictionaries: once per process, and only when first needed.
    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """Traditional Chinese characters converted to simplified ones; other text unchanged."""
    if text.isascii():
        return text
    converted: str = _converter().convert(text)
    return converted


def has_han(text: str) -> bool:
    return _HAN_CHAR.search(text) is not None


def is_han(char: str) -> bool:
    return _HAN_CHAR.match(char) is not None


@lru_cache(maxsize=4096)
def lookup_key(raw: str) -> str:
    """The form table aliases are compared in: simplified, case-folded, without spaces and punctuation."""
    return _KEY_DROP.sub("", simplified(clean(raw)).casefold())


def as_text(raw: object) -> str:
    """The input as a string, "" for None: the signatures promise str, but feeds send numbers too."""
    if raw is None:
        return ""
    return raw if isinstance(raw, str) else str(raw)
