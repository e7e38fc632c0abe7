"""normalise_company: display form and match key of Chinese and international company names."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.normalise.companies import normalise_company

pytestmark = pytest.mark.unit

PARENS = "\uff08", "\uff09"  # full-width, as Chinese keyboards type them
# Written out here rather than taken from the module, so a suffix the module forgets fails the test.
CHINESE_SUFFIXES = ("有限公司", "股份有限公司", "有限责任公司", "集团", "公司", "分公司", "总公司", "厂", "株式会社")
LATIN_SUFFIXES = {"co", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "llc", "llp", "plc", "gmbh",
                  "ag", "kg", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "oy", "ab", "as", "kk", "bhd"}  # fmt: skip

name_parts = st.sampled_from(
    ["Acme", "Siemens", "Co.", "Ltd", "Ltd.", "Inc", ",", "&", "GmbH", "KG", "S.A.", "AG", "L.L.C.", "(China)",
     "腾讯", "云帆", "信息技术", "深圳市", "上海", "(北京)", "有限公司", "股份", "集团", "公司", "厂", " ", "-", "x"]
)  # fmt: skip
company_names = st.one_of(st.text(), st.lists(name_parts, max_size=8).map(" ".join), st.lists(name_parts).map("".join))


@pytest.mark.parametrize(
    ("raw", "normalised", "core", "legal_form"),
    [
        ("深圳市腾讯计算机系统有限公司", "深圳市腾讯计算机系统有限公司", "腾讯计算机系统", "有限公司"),
        ("上海云帆信息技术有限公司", "上海云帆信息技术有限公司", "云帆信息技术", "有限公司"),
        ("廣東省深圳市華為技術有限公司", "广东省深圳市华为技术有限公司", "华为技术", "有限公司"),
        (
            f"阿里巴巴{PARENS[0]}中国{PARENS[1]}网络技术有限公司",
            "阿里巴巴(中国)网络技术有限公司",
            "阿里巴巴网络技术",
            "有限公司",
        ),
        ("中国平安保险(集团)股份有限公司", "中国平安保险(集团)股份有限公司", "中国平安保险", "股份有限公司"),
        ("美的集团股份有限公司", "美的集团股份有限公司", "美的", "股份有限公司"),
        ("北京字节跳动科技有限责任公司", "北京字节跳动科技有限责任公司", "字节跳动科技", "有限责任公司"),
        ("阿里巴巴(中国)有限公司杭州分公司", "阿里巴巴(中国)有限公司杭州分公司", "阿里巴巴", "分公司"),
        ("腾讯  (深圳)  有限公司", "腾讯 (深圳) 有限公司", "腾讯", "有限公司"),
        ("东莞市长安精密电子厂", "东莞市长安精密电子厂", "长安精密电子", "厂"),
        ("トヨタ自動車株式会社", "トヨタ自动车株式会社", "トヨタ自动车", "株式会社"),  # t2s reaches kanji too
        ("ACME, Inc.", "ACME, Inc.", "acme", "Inc"),
        ("Siemens (China) Co., Ltd.", "Siemens (China) Co., Ltd.", "siemens", "Co., Ltd."),
        ("Foo Company Limited", "Foo Company Limited", "foo", "Ltd"),
        ("Müller GmbH & Co. KG", "Müller GmbH & Co. KG", "müller", "GmbH & Co. KG"),
        ("Volkswagen AG", "Volkswagen AG", "volkswagen", "AG"),
        ("Banco Santander, S.A.", "Banco Santander, S.A.", "banco santander", "SA"),
        ("Atlas Copco AB (publ)", "Atlas Copco AB (publ)", "atlas copco", "AB"),
        ("Maersk A/S", "Maersk A/S", "maersk", "A/S"),
        ("DBS Bank Pte. Ltd.", "DBS Bank Pte. Ltd.", "dbs bank", "Pte Ltd"),
        ("Petronas Sdn Bhd", "Petronas Sdn Bhd", "petronas", "Sdn Bhd"),
        ("AT&T Inc.", "AT&T Inc.", "att", "Inc"),
        ("Procter & Gamble", "Procter & Gamble", "procter gamble", None),
        ("Toyota Motor Corporation", "Toyota Motor Corporation", "toyota motor", "Corp"),
        ("Ｙｕｎｆａｎ  Ｔｅｃｈ  Ｌｔｄ", "Yunfan Tech Ltd", "yunfan tech", "Ltd"),
    ],
)
def test_display_form_and_match_key(raw: str, normalised: str, core: str, legal_form: str | None) -> None:
    company = normalise_company(raw)
    assert company is not None
    assert (company.original, company.normalised, company.core, company.legal_form) == (
        raw,
        normalised,
        core,
        legal_form,
    )


def test_the_same_company_written_differently_has_one_key() -> None:
    spellings = [
        "深圳市腾讯计算机系统有限公司",
        "腾讯计算机系统有限公司",
        "深圳騰訊計算機系統有限公司",
        "腾讯计算机系统(深圳)有限公司",
    ]
    assert {company.core for raw in spellings if (company := normalise_company(raw))} == {"腾讯计算机系统"}
    latin = ["Acme Inc.", "ACME, Inc", "Acme Incorporated", "acme inc"]
    assert {company.core for raw in latin if (company := normalise_company(raw))} == {"acme"}


def test_a_place_that_is_the_name_stays() -> None:
    # 北京银行 is a bank called Beijing, not a bank in Beijing; too little would be left of 上海大学 too.
    assert [c.core for raw in ("北京银行股份有限公司", "上海大学") if (c := normalise_company(raw))] == [
        "北京银行",
        "上海大学",
    ]


def test_only_a_legal_form_is_kept_as_the_key() -> None:
    company = normalise_company("有限公司")
    assert company is not None
    assert (company.core, company.legal_form) == ("有限公司", "有限公司")
    latin = normalise_company("Ltd.")
    assert latin is not None
    assert (latin.core, latin.legal_form) == ("ltd", "Ltd")


@pytest.mark.parametrize("raw", [None, "", "   ", "---", "\U0001f600", "N/A", "none", "Unknown", "无", "暂无", "个人"])
def test_nothing_to_match_on_is_none(raw: str | None) -> None:
    assert normalise_company(raw) is None


# --- properties ------------------------------------------------------------------------------------


def _ends_with_legal_suffix(core: str) -> bool:
    words = core.split()
    return core.endswith(CHINESE_SUFFIXES) or bool(words and words[-1] in LATIN_SUFFIXES)


@settings(max_examples=200, deadline=None, database=None)
@given(company_names)
def test_normalising_the_normalised_name_changes_nothing(raw: str) -> None:
    company = normalise_company(raw)
    if company is None:
        return
    again = normalise_company(company.normalised)
    assert again is not None
    assert (again.normalised, again.core) == (company.normalised, company.core)


@settings(max_examples=200, deadline=None, database=None)
@given(company_names)
def test_the_key_never_ends_in_a_legal_form_unless_that_is_all_there_is(raw: str) -> None:
    company = normalise_company(raw)
    if company is None:
        return
    whole = company.normalised.lower()
    fallbacks = {re.sub(r"[\W_]+", "", whole), " ".join(re.sub(r"[^\w\s]|_", "", whole).split())}
    assert company.core in fallbacks or not _ends_with_legal_suffix(company.core), company
    assert company.core
    assert company.core == company.core.lower()
