"""Person names: Chinese (family/given split, pinyin) and Latin-script, with a key to match them on."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from types import MappingProxyType

from pypinyin import lazy_pinyin
from pypinyin.constants import PHRASES_DICT

from shared.normalise._data import load_yaml, mapping, string
from shared.normalise._text import HAN, as_text, clean, simplified
from shared.normalise.latin_names import latin_key, latin_name

# Longest first, so that 王总经理 loses 总经理 rather than 经理.
_HAN_TITLES = ("总经理", "先生", "女士", "小姐", "老师", "总监", "经理", "博士", "教授", "总")
_DOT = "·"
# Transliterated names separate their parts with one of these middle dots (阿卜杜·热合曼).
_DOTS = re.compile("[\u00b7\u2022\u2027\u30fb\u2219.]+")
_SPACES = re.compile(r"\s+")
_HAN_NOISE = re.compile(r"[\s,'\-]+")
_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_ASCII_NOISE = re.compile(r"[^A-Za-z0-9\s'.,\-]+")
_KEEP_PUNCTUATION = frozenset("'.,-\u00b7\u2022\u2027\u30fb\u2219")
_EDGES = " ,.-'\u00b7\u2022\u2027\u30fb\u2219"
_HAN_CHAR = re.compile(f"[{HAN}]")
_LATIN_LETTERS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_LATIN = re.compile(f"[{_LATIN_LETTERS}]")
_OTHER = re.compile(rf"[^\W\d_{_LATIN_LETTERS}{HAN}]")  # letters of any other script: Cyrillic, kana...


@dataclass(frozen=True, slots=True)
class PersonName:
    full: str
    family: str | None
    given: str | None
    script: str  # han | latin | mixed | other
    pinyin: str | None  # Han names only: "ouyang xiu"
    key: str  # what to match on: 欧阳修 / "john smith"
    honorific: str | None  # 总, 先生, Dr, Mme...


@dataclass(frozen=True, slots=True)
class _Surnames:
    compound: Mapping[str, str]  # surname (2 to 4 characters) -> reading
    readings: Mapping[str, str]


@cache
def _surnames() -> _Surnames:
    doc = mapping(load_yaml("surnames.yaml"), "surnames.yaml")
    compound = {k: string(v, f"compound.{k}") for k, v in mapping(doc.get("compound"), "compound").items()}
    readings = {k: string(v, f"readings.{k}") for k, v in mapping(doc.get("readings"), "readings").items()}
    if any(not 2 <= len(surname) <= 4 for surname in compound):
        raise ValueError("surnames.yaml: compound surnames have 2 to 4 characters")
    return _Surnames(MappingProxyType(compound), MappingProxyType(readings | compound))


def _name_text(raw: object) -> str:
    """Letters, digits, spaces and the punctuation names use; remarks in brackets and emoji dropped."""
    if not raw:
        return ""
    text = _BRACKETED.sub(" ", clean(as_text(raw)))
    if text.isascii():
        text = _ASCII_NOISE.sub(" ", text)
    else:
        text = "".join(
            ch if ch.isspace() or ch in _KEEP_PUNCTUATION or unicodedata.category(ch)[0] in "LMN" else " "
            for ch in simplified(text)
        )
    return _SPACES.sub(" ", text).strip(_EDGES)


def _script(text: str) -> str:
    scripts = [
        name for name, letters in (("han", _HAN_CHAR), ("latin", _LATIN), ("other", _OTHER)) if letters.search(text)
    ]
    if len(scripts) == 1:
        return scripts[0]
    return "mixed" if scripts else "other"


@lru_cache(maxsize=65536)
def _phrase_pinyin(text: str) -> str:
    return "".join(lazy_pinyin(text)).lower()


@lru_cache(maxsize=16384)
def _char_pinyin(char: str) -> str:
    return "".join(lazy_pinyin(char)).lower()


def _pinyin(text: str) -> str:
    # pypinyin reads a name that is not a dictionary phrase character by character, so that is what we do
    # for them, from a small cache; phrases (长江 is chang jiang, 长 alone zhang) and longer names go whole.
    if len(text) <= 2 and text not in PHRASES_DICT:
        return "".join(map(_char_pinyin, text))
    return _phrase_pinyin(text)


def _surname_pinyin(family: str) -> str:
    return _surnames().readings.get(family) or _pinyin(family)


def _take_titles(text: str) -> tuple[str, str | None]:
    """王总经理 -> (王, 总经理): trailing titles off, as long as a name is left."""
    honorific = None
    while title := next((t for t in _HAN_TITLES if text.endswith(t) and len(text) > len(t)), None):
        honorific, text = honorific or title, text[: -len(title)].rstrip(_DOT)
    return text, honorific


def _split_han(text: str) -> tuple[str, str | None]:
    """(family, given) of a name such as 欧阳修, 王伟 or 阿卜杜·热合曼."""
    if _DOT in text:  # a transliteration: the family name comes last and compound surnames do not apply
        *given, family = text.split(_DOT)
        return family, _DOT.join(given) or None
    compound = _surnames().compound
    family = next((text[:n] for n in (4, 3, 2) if text[:n] in compound), text[0])
    return family, text[len(family) :] or None


def _han_text(text: str) -> str:
    return _DOTS.sub(_DOT, _HAN_NOISE.sub("", text)).strip(_DOT)


def _given_pinyin(given: str) -> str:
    return " ".join(_pinyin(part) for part in given.split(_DOT) if part)


def _han_name(name: str, given: str, family: str) -> PersonName:
    name, honorific = _take_titles(_han_text(name))
    given, family = _han_text(given), _han_text(family)
    split_family, split_given = _split_han(name) if name else (None, None)
    family_part, given_part = family or split_family, given or split_given
    if _DOT in name + given + family:  # written given name first: 阿卜杜·热合曼
        full = _DOT.join(part for part in (given_part, family_part) if part)
    else:
        full = (family_part or "") + (given_part or "")
    readings = (family_part and _surname_pinyin(family_part), given_part and _given_pinyin(given_part))
    return PersonName(
        full=full,
        family=family_part,
        given=given_part,
        script="han",
        pinyin=" ".join(reading for reading in readings if reading) or None,
        key=full.replace(_DOT, ""),
        honorific=honorific,
    )


def _other_name(name: str, given: str, family: str) -> PersonName:
    parts = latin_name(name, given, family)
    return PersonName(
        full=parts.full,
        family=parts.family,
        given=parts.given,
        script=_script(parts.full),
        pinyin=None,
        key=latin_key(parts.full),
        honorific=parts.honorific,
    )


@lru_cache(maxsize=65536)
def _normalise(name: str, given: str, family: str) -> PersonName | None:
    script = _script(f"{name} {given} {family}")
    if script == "han":
        result = _han_name(name, given, family)
    else:
        result = _other_name(name, given, family)
        # "Mr 王伟": once the Latin title is off, what is left is a Chinese name.
        if result.script == "han":
            han = _han_name(result.full, "", "")
            result = replace(han, honorific=han.honorific or result.honorific)
    return result if result.full else None


def normalise_person_name(
    name: str | None, given_name: str | None = None, family_name: str | None = None
) -> PersonName | None:
    """A person's name from `name` and/or separate given and family names (which take precedence)."""
    parts = _name_text(name), _name_text(given_name), _name_text(family_name)
    return _normalise(*parts) if any(parts) else None
