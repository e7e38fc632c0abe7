"""Employee counts as people write them, size bands, and the industry taxonomy."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.normalise.firmographics import (
    DEFAULT_SIZE_BANDS,
    IndustryInfo,
    classify_industry,
    parse_employees,
    size_band,
)

pytestmark = pytest.mark.unit

CODES = {"software", "it_services", "telecom", "finance", "insurance", "manufacturing", "automotive",
         "retail_ecommerce", "consumer_goods", "healthcare", "pharma_biotech", "education", "government",
         "energy_utilities", "logistics", "real_estate_construction", "media_marketing", "professional_services",
         "hospitality_travel", "agriculture", "nonprofit", "other"}  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "employees"),
    [
        ("1,200", 1200),
        ("1 200", 1200),
        ("\uff11\uff0c\uff12\uff10\uff10\u4eba", 1200),  # full-width 1,200人
        ("50-99", 50),
        ("50 - 99 employees", 50),
        ("500+", 500),
        ("100人以上", 100),
        ("1万", 10000),
        ("1万人", 10000),
        ("1.5万", 15000),
        ("约300人", 300),
        ("10K+", 10000),
        ("2.5k", 2500),
        ("<50", 49),
        ("少于10人", 9),
        ("fewer than 10", 9),
        ("12", 12),
        (250, 250),
        (3000.0, 3000),
        (0, 0),
        ("garbage", None),
        ("N/A", None),
        ("", None),
        (None, None),
        (True, None),
        (-3, None),
        (math.nan, None),
        (math.inf, None),
        ("13800138000", None),  # a phone number in the wrong field
    ],
)
def test_parse_employees(raw: str | float | None, employees: int | None) -> None:
    assert parse_employees(raw) == employees


@pytest.mark.parametrize(
    ("employees", "band"),
    [(None, None), (0, None), (1, "micro"), (9, "micro"), (10, "small"), (49, "small"), (50, "medium"),
     (249, "medium"), (250, "large"), (999, "large"), (1000, "enterprise"), (200_000, "enterprise")],
)  # fmt: skip
def test_size_bands_have_inclusive_lower_bounds(employees: int | None, band: str | None) -> None:
    assert size_band(employees) == band


def test_size_bands_can_be_replaced() -> None:
    bands = ((1, "smb"), (500, "enterprise"))
    assert [size_band(n, bands) for n in (0, 1, 499, 500)] == [None, "smb", "smb", "enterprise"]
    assert DEFAULT_SIZE_BANDS == ((1, "micro"), (10, "small"), (50, "medium"), (250, "large"), (1000, "enterprise"))


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("SaaS", "software"),
        ("软件", "software"),
        ("互联网", "software"),
        ("Computer Software", "software"),
        ("Information Technology & Services", "it_services"),
        ("IT服务", "it_services"),
        ("银行", "finance"),
        ("Banking", "finance"),
        ("bank", "finance"),
        ("fintech", "finance"),
        ("金融", "finance"),
        ("互联网金融", "finance"),
        ("Retail Banking", "finance"),
        ("保险", "insurance"),
        ("health insurance", "insurance"),
        ("制造", "manufacturing"),
        ("manufacturing", "manufacturing"),
        ("工厂", "manufacturing"),
        ("汽车", "automotive"),
        ("汽车制造", "automotive"),
        ("医药制造", "pharma_biotech"),
        ("電商", "retail_ecommerce"),
        ("零售", "retail_ecommerce"),
        ("E-commerce", "retail_ecommerce"),
        ("医疗", "healthcare"),
        ("医院", "healthcare"),
        ("Hospital & Health Care", "healthcare"),
        ("教育", "education"),
        ("培训", "education"),
        ("学校", "education"),
        ("基金会", "nonprofit"),
        ("Oil & Energy", "energy_utilities"),
        ("物流", "logistics"),
        ("房地产开发", "real_estate_construction"),
        ("广告", "media_marketing"),
        ("管理咨询", "professional_services"),
        ("酒店", "hospitality_travel"),
        ("农业", "agriculture"),
        ("政府", "government"),
        ("电信", "telecom"),
    ],
)
def test_industries_in_english_and_chinese(raw: str, code: str) -> None:
    industry = classify_industry(raw)
    assert industry is not None
    assert (industry.code, industry.raw) == (code, raw)


def test_whole_words_only_for_english_keywords() -> None:
    assert [i.code for raw in ("Italy", "powerful tools", "bankrupt") if (i := classify_industry(raw))] == [
        "other",
        "other",
        "other",
    ]


def test_unknown_text_is_other_and_keeps_the_text() -> None:
    assert classify_industry("Widgets & Sprockets") == IndustryInfo("other", "Other", "Widgets & Sprockets")


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_nothing_is_none(raw: str | None) -> None:
    assert classify_industry(raw) is None


@pytest.mark.parametrize("code", sorted(CODES))
def test_a_code_or_its_label_classifies_as_itself(code: str) -> None:
    industry = classify_industry(code)
    assert industry is not None
    assert industry.code == code
    by_label = classify_industry(industry.label)
    assert by_label is not None
    assert by_label.code == code


# --- properties ------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, database=None)
@given(st.one_of(st.text(), st.integers(), st.floats(), st.none(), st.from_regex(r"[<约]?[0-9,]{1,9}[万kK+人]*")))
def test_employees_never_raise_and_are_a_count(raw: str | float | None) -> None:
    employees = parse_employees(raw)
    assert employees is None or (isinstance(employees, int) and 0 <= employees <= 10_000_000)
    assert size_band(employees) in {None, *(label for _, label in DEFAULT_SIZE_BANDS)}


@settings(max_examples=200, deadline=None, database=None)
@given(st.text())
def test_industry_never_raises_and_is_a_known_code(raw: str) -> None:
    industry = classify_industry(raw)
    assert industry is None or industry.code in CODES
