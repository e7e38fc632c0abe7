"""Company names: a display form, and a match key without legal form, location or punctuation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from shared.normalise._text import HAN, as_text, clean, has_han, is_han, lookup_key, simplified
from shared.normalise.legal_forms import strip_legal_suffix
from shared.normalise.region_tables import find_city, find_province, load_tables

_PARENTHESISED = re.compile(r"\(([^()]*)\)")
_NOT_WORD = re.compile(r"[\W_]+")
_PUNCTUATION = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")
# Spaces next to Chinese characters are noise; between Latin words they keep "Co., Ltd" a suffix.
_SPACE_BY_HAN = re.compile(rf"(?<=[{HAN}()])\s+|\s+(?=[{HAN}()])")
_ALNUM = re.compile(r"[^\W_]")
_LONGEST_PLACE = 9  # 新疆维吾尔自治区 and a spare
# After a leading place name these are the whole name, not a line of business: 北京银行 is not 银行.
_GENERIC = frozenset({
    "银行", "商业银行", "农商银行", "农村商业银行", "分行", "支行", "大学", "学院", "中学", "小学", "医院", "人民医院",
    "证券", "保险", "信托", "电视台", "广播电视台", "日报", "晚报", "机场", "地铁", "电力", "燃气", "水务", "公交",
    "港务", "图书馆", "博物馆", "酒店", "宾馆", "饭店", "政府", "海关", "研究院", "研究所", "设计院",
})  # fmt: skip


# What forms get when there is no company: matching on them would merge every lead that typed one.
_PLACEHOLDERS = frozenset(
    {"na", "none", "null", "nil", "unknown", "无", "暂无", "未知", "不详", "没有", "个人", "个体"}
)


@dataclass(frozen=True, slots=True)
class CompanyName:
    original: str
    normalised: str  # for display: half-width, simplified Chinese, single spaces, legal form kept
    core: str  # for matching: no legal form, location or punctuation; Latin lower-cased
    legal_form: str | None  # the outermost legal form found ("股份有限公司", "Ltd", "GmbH")


@cache
def _leading_places() -> frozenset[str]:
    """Chinese province and city names as they start a company name: 深圳, 深圳市, 广东省."""
    tables = load_tables()
    provinces = [key for key in tables.province_aliases if all(map(is_han, key))]
    cities = [key for key in tables.city_aliases if all(map(is_han, key))]
    return frozenset(
        [
            *provinces,
            *(p + "省" for p in provinces),
            *(p + "市" for p in provinces),
            *cities,
            *(c + "市" for c in cities),
        ]
    )


def _is_place(text: str) -> bool:
    tables = load_tables()
    # Only the table's country names: any two letters that are an ISO code would take "(AI)" and "(IT)" too.
    in_table = tables.country_aliases.get(lookup_key(text)) is not None
    return in_table or find_province(tables, text) is not None or find_city(tables, text) is not None


def _drop_place(found: re.Match[str]) -> str:
    return "" if _is_place(found.group(1)) else found.group(0)


def _drop_leading_place(text: str) -> str:
    places = _leading_places()
    for _ in range(2):  # 广东省深圳市... : the province, then the city
        for end in range(min(len(text) - 2, _LONGEST_PLACE), 1, -1):
            if text[:end] in places and text[end:] not in _GENERIC:
                text = text[end:]
                break
        else:
            break
    return text


def _drop_trailing_place(text: str) -> str:
    places = _leading_places()
    for start in range(max(len(text) - _LONGEST_PLACE, 2), len(text) - 1):
        if text[start:] in places:
            return text[:start]
    return text


def _strip_legal_forms(text: str) -> tuple[str, str | None]:
    outermost = None
    while (found := strip_legal_suffix(text)) is not None:
        text, form = found
        outermost = outermost or form
        if form == "分公司":  # 阿里巴巴(中国)有限公司杭州分公司: the branch's city goes with it
            text = _drop_trailing_place(text)
    return text, outermost


def _squash(text: str, *, han: bool) -> str:
    if han:
        return _NOT_WORD.sub("", text)
    return _SPACES.sub(" ", _PUNCTUATION.sub("", text)).strip()


def _core(normalised: str) -> tuple[str, str | None]:
    text = normalised.lower()
    han = has_han(text)
    if han:
        text = _SPACE_BY_HAN.sub("", text)
    text = _PARENTHESISED.sub(_drop_place, text)
    text, legal_form = _strip_legal_forms(text)
    if han:
        text = _drop_leading_place(text)
    # Removing punctuation can expose one more suffix ("Foo (Ltd)"): strip again after squashing.
    core, _ = _strip_legal_forms(_squash(text, han=han))
    return core or _squash(normalised.lower(), han=han), legal_form


@lru_cache(maxsize=16384)
def _normalise(raw: str) -> CompanyName | None:
    normalised = clean(simplified(clean(raw)))
    if _ALNUM.search(normalised) is None:
        return None  # nothing to match on: "-", "?", an emoji
    if _squash(normalised.lower(), han=False).replace(" ", "") in _PLACEHOLDERS:
        return None
    core, legal_form = _core(normalised)
    return CompanyName(original=raw, normalised=normalised, core=core, legal_form=legal_form)


def normalise_company(raw: str | None) -> CompanyName | None:
    """The company name in `raw`; None when it holds no letters or digits, or says there is none (N/A, 无)."""
    return _normalise(as_text(raw))
