"""Company size (employee counts as people write them, size bands) and industry from free text."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from types import MappingProxyType

from shared.normalise._data import load_yaml, mapping, string, strings
from shared.normalise._text import as_text, clean, simplified

DEFAULT_SIZE_BANDS: tuple[tuple[int, str], ...] = (
    (1, "micro"),
    (10, "small"),
    (50, "medium"),
    (250, "large"),
    (1000, "enterprise"),
)
_MAX_EMPLOYEES = 10_000_000  # above any employer: a bigger figure is a typo, a phone number or revenue
_UNITS = {"万": 10_000, "千": 1_000, "百": 100, "k": 1_000, "thousand": 1_000, "m": 1_000_000, "million": 1_000_000}
_COUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(万|千|百|thousand|million|k|m)?(?![a-z])", re.IGNORECASE)
_THOUSANDS = re.compile(r"(?<=\d)[,' ](?=\d{3}(?!\d))")
# "<50", "fewer than 50", "少于50人": at most 49, which is the band the writer meant.
_BELOW = re.compile(r"^(?:<|less than|fewer than|under|below|少于|小于|不到|不足)", re.IGNORECASE)
_FOLD = re.compile(r"[\W_]+")
_RUN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]+")  # English words, and runs of anything else (Chinese)
_INFLECTION = ("s", "es", "ing", "er", "ers")


@dataclass(frozen=True, slots=True)
class IndustryInfo:
    code: str
    label: str
    raw: str


def size_band(employees: int | None, bands: Sequence[tuple[int, str]] = DEFAULT_SIZE_BANDS) -> str | None:
    """The band whose (inclusive) lower bound is the highest one not above `employees`; None for 0 or None."""
    if not employees or employees < 0:
        return None
    found = None
    for lower, label in sorted(bands):
        if employees >= lower:
            found = label
    return found


@lru_cache(maxsize=4096)
def _parse_count(text: str) -> int | None:
    text = _THOUSANDS.sub("", clean(text))
    found = _COUNT.search(text)
    if found is None:
        return None
    value = float(found.group(1)) * _UNITS.get((found.group(2) or "").lower(), 1)
    if _BELOW.match(text):
        value -= 1
    return int(value) if 0 <= value <= _MAX_EMPLOYEES else None


def parse_employees(raw: str | float | None) -> int | None:
    """Employees from "1,200", "50-99" (50), "500+", "100人以上", "1万人", "约300人"; None for garbage."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        if not math.isfinite(raw) or not 0 <= raw <= _MAX_EMPLOYEES:
            return None
        return int(raw)
    return _parse_count(as_text(raw))


@dataclass(frozen=True, slots=True)
class _Taxonomy:
    labels: Mapping[str, str]  # code -> label
    keywords: Mapping[str, tuple[int, str]]  # folded keyword or inflection -> (rank: table order, code)
    longest: int


def _fold(text: str) -> str:
    return _FOLD.sub(" ", simplified(clean(text)).lower()).strip()


def _inflected(keyword: str) -> list[str]:
    """An English keyword and the forms it also matches: bank, banks, banking, banker, bankers."""
    if not keyword[-1].isascii():
        return [keyword]
    return [keyword, *(keyword + ending for ending in _INFLECTION)]


@cache
def _taxonomy() -> _Taxonomy:
    doc = mapping(mapping(load_yaml("industries.yaml"), "industries.yaml").get("industries"), "industries")
    labels: dict[str, str] = {}
    keywords: dict[str, tuple[int, str]] = {}
    for rank, (code, body) in enumerate(doc.items()):
        entry = mapping(body, f"industries.{code}")
        labels[code] = string(entry.get("label"), f"industries.{code}.label")
        for keyword in [code, labels[code], *strings(entry.get("keywords"), f"industries.{code}.keywords")]:
            folded = _fold(keyword)
            if not (folded.isascii() or _RUN.fullmatch(folded)):
                raise ValueError(f"industries.{code}: {keyword!r} mixes English and Chinese words")
            for form in _inflected(folded) if folded else []:
                keywords.setdefault(form, (rank, code))  # an exact keyword wins over another's inflection
    if "other" not in labels:
        raise ValueError("industries: an 'other' entry is required")
    return _Taxonomy(MappingProxyType(labels), MappingProxyType(keywords), max(map(len, keywords)))


def _candidates(folded: str, longest: int) -> Iterator[str]:
    """Every phrase in the text a keyword could be: runs of English words, and pieces of Chinese runs."""
    runs = _RUN.findall(folded)
    for index, run in enumerate(runs):
        if run.isascii():
            phrase = run
            yield phrase
            for following in runs[index + 1 :]:
                if not following.isascii() or len(phrase) + len(following) >= longest:
                    break
                phrase = f"{phrase} {following}"
                yield phrase
        else:
            for start in range(len(run)):
                yield from (run[start:end] for end in range(start + 1, min(len(run), start + longest) + 1))


@lru_cache(maxsize=4096)
def _classify(raw: str) -> IndustryInfo | None:
    folded = _fold(raw)
    if not folded:
        return None
    taxonomy = _taxonomy()
    # The longest keyword found wins; between equally long ones, the industry listed first.
    found = [
        (-len(phrase), *hit)
        for phrase in _candidates(folded, taxonomy.longest)
        if (hit := taxonomy.keywords.get(phrase))
    ]
    code = min(found)[2] if found else "other"
    return IndustryInfo(code=code, label=taxonomy.labels[code], raw=raw)


def classify_industry(raw: str | None) -> IndustryInfo | None:
    """The industry free text describes ("SaaS", "互联网金融", "Banking"); "other" when nothing matches."""
    return _classify(as_text(raw).strip())
