"""normalise_phone: Chinese and international numbers as leads type them, and its promises on any input."""

from __future__ import annotations

import dataclasses

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.normalise.phones import PhoneInfo, normalise_phone

pytestmark = pytest.mark.unit

KINDS = {"mobile", "landline", "mobile_or_landline", "toll_free", "voip", "other", "unknown"}
ERRORS = {None, "phone_unparseable", "phone_too_short", "phone_too_long", "phone_invalid"}
FULL_WIDTH_MOBILE = "\uff11\uff13\uff18\uff10\uff10\uff11\uff13\uff18\uff10\uff10\uff10"  # 13800138000
FULL_WIDTH_COLON, FULL_WIDTH_PARENS = "\uff1a", ("\uff08", "\uff09")

# What channels send: one digit string for what humans write in a dozen ways.
phone_texts = st.one_of(
    st.text(),
    st.lists(st.sampled_from([*"0123456789+-() .x#", "ext. ", "转", "\uff18", "\u200b", "0086", "+86"])).map("".join),
)


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        FULL_WIDTH_MOBILE,
        "+86 138-0013-8000",
        "0086 13800138000",
        "8613800138000",
        "138 0013 8000",
        "138.0013.8000",
        f"手机{FULL_WIDTH_COLON}13800138000",
        f"13800138000{FULL_WIDTH_PARENS[0]}王先生{FULL_WIDTH_PARENS[1]}",
        "Tel: +86 (138) 0013-8000",
    ],
)
def test_chinese_mobiles_in_any_format_become_one_e164(raw: str) -> None:
    info = normalise_phone(raw)
    assert info is not None
    assert (info.e164, info.valid, info.kind, info.country, info.error) == (
        "+8613800138000",
        True,
        "mobile",
        "CN",
        None,
    )
    assert info.raw == raw


def test_a_chinese_mobile_is_located_in_its_province_and_city() -> None:
    info = normalise_phone("+86 138 1234 5678")
    assert info is not None
    assert (info.location, info.province, info.city) == ("江苏省连云港市", "江苏", "连云港")


def test_a_landline_needs_its_region_and_is_located_by_area_code() -> None:
    info = normalise_phone("(010) 6552 9988", "CN")
    assert info is not None
    assert (info.e164, info.kind, info.province, info.city) == ("+861065529988", "landline", "北京", "北京")
    guangdong = normalise_phone("0755-8765 4321", "cn")
    assert guangdong is not None
    assert (guangdong.e164, guangdong.province, guangdong.city) == ("+8675587654321", "广东", "深圳")


def test_a_chinese_extension_is_read_and_kept_out_of_the_e164() -> None:
    info = normalise_phone("010-65529988转123", "CN")
    assert info is not None
    assert (info.e164, info.digits) == ("+861065529988", "01065529988123")


def test_international_numbers_are_located_in_english() -> None:
    us = normalise_phone("+1 (415) 555-2671 ext. 12")
    assert us is not None
    assert (us.e164, us.country, us.kind, us.location) == (
        "+14155552671",
        "US",
        "mobile_or_landline",
        "San Francisco, CA",
    )
    assert (us.province, us.city) == (None, None)  # split only for Chinese numbers
    london = normalise_phone("+44 20 7946 0958")
    assert london is not None
    assert (london.e164, london.country, london.kind, london.location) == ("+442079460958", "GB", "landline", "London")


def test_a_national_number_is_read_in_the_default_region() -> None:
    info = normalise_phone("(415) 555-2671", "US")
    assert info is not None
    assert (info.e164, info.country) == ("+14155552671", "US")


def test_hong_kong_and_taiwan_numbers_keep_their_own_country() -> None:
    hong_kong, taiwan = normalise_phone("+852 9123 4567"), normalise_phone("+886 912 345 678")
    assert hong_kong is not None
    assert taiwan is not None
    assert (hong_kong.country, hong_kong.kind, taiwan.country) == ("HK", "mobile", "TW")


def test_service_numbers_have_their_kind_and_no_province() -> None:
    hotline = normalise_phone("400-800-1234", "CN")
    assert hotline is not None
    assert (hotline.valid, hotline.kind, hotline.location, hotline.province) == (True, "other", "中国", None)
    freephone = normalise_phone("+800 1234 5678")
    assert freephone is not None
    assert (freephone.kind, freephone.country) == ("toll_free", None)  # non-geographic: no ISO country


def test_without_a_region_only_a_chinese_mobile_can_be_placed() -> None:
    landline = normalise_phone("(010) 6552 9988")
    assert landline is not None
    assert (landline.valid, landline.kind, landline.error, landline.digits) == (
        False,
        "unknown",
        "phone_unparseable",
        "01065529988",
    )


@pytest.mark.parametrize(
    ("raw", "region", "error"),
    [
        ("12345", "CN", "phone_too_short"),
        ("+86 12", None, "phone_too_short"),
        ("1380013800012345", "CN", "phone_too_long"),
        ("138001380", "CN", "phone_invalid"),
        ("+999 123456", None, "phone_unparseable"),
        ("call me", None, "phone_unparseable"),
    ],
)
def test_invalid_numbers_say_why_and_keep_their_digits(raw: str, region: str | None, error: str) -> None:
    info = normalise_phone(raw, region)
    assert info is not None
    assert (info.valid, info.e164, info.kind, info.error) == (False, None, "unknown", error)
    assert info.digits == "".join(ch for ch in raw if ch.isdigit())


def test_an_unknown_default_region_counts_as_none() -> None:
    mobile, landline = normalise_phone("13800138000", "ZZ"), normalise_phone("010 6552 9988", "ZZ")
    assert mobile is not None
    assert landline is not None
    assert (mobile.e164, landline.error) == ("+8613800138000", "phone_unparseable")


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000", "\u200b"])
def test_nothing_is_none(raw: str | None) -> None:
    assert normalise_phone(raw) is None


def test_a_number_that_is_not_a_string_is_read_as_one() -> None:
    info = normalise_phone(13800138000)  # type: ignore[arg-type]  # spreadsheets send numbers
    assert info is not None
    assert info.e164 == "+8613800138000"


def test_the_result_is_frozen() -> None:
    info = normalise_phone("13800138000")
    assert isinstance(info, PhoneInfo)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.e164 = None  # type: ignore[misc]  # the point of the test


# --- properties ------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, database=None)
@given(phone_texts, st.sampled_from([None, "CN", "US", "GB", "DE", "cn", "ZZ"]))
def test_never_raises_and_keeps_its_promises(raw: str, region: str | None) -> None:
    info = normalise_phone(raw, region)
    if info is None:  # only for nothing: whitespace and invisible characters
        assert not "".join(ch for ch in raw if ch.isprintable()).strip()
        return
    assert info.kind in KINDS
    assert info.error in ERRORS
    assert info.valid == (info.error is None) == (info.e164 is not None)
    assert set(info.digits) <= set("0123456789")
    assert info.valid or info.kind == "unknown"


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.one_of(
        st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
        st.from_regex(r"\+(1|44|49|65|81|86|852)[0-9]{6,11}", fullmatch=True),
        st.from_regex(r"0(10|21|571|755)[0-9]{8}", fullmatch=True),
    ),
    st.sampled_from([None, "CN"]),
)
def test_e164_parses_back_to_itself_and_normalising_it_changes_nothing(raw: str, region: str | None) -> None:
    info = normalise_phone(raw, region)
    assert info is not None
    if info.e164 is None:
        return
    assert phonenumbers.format_number(phonenumbers.parse(info.e164), phonenumbers.PhoneNumberFormat.E164) == info.e164
    again = normalise_phone(info.e164)
    assert again is not None
    assert dataclasses.replace(again, raw=info.raw, digits=info.digits) == info


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.sampled_from(["", "0", "1", "13", "138", "179", "17951", "010", "0571", "400", "95", "+86", "+86 0", "+86 1"]),
    st.text(alphabet="0123456789", min_size=1, max_size=14),
    st.sampled_from(["CN", None]),
)
def test_chinese_numbers_built_directly_are_what_the_parser_makes(prefix: str, rest: str, region: str | None) -> None:
    text = prefix + rest
    if region is None and not text.startswith("+"):
        return
    try:
        expected = phonenumbers.format_number(phonenumbers.parse(text, region), phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        expected = None
    info = normalise_phone(text, region)
    assert info is not None
    assert info.e164 in {expected, None}
    assert (info.e164 is not None) == (
        expected is not None and phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    )
