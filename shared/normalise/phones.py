"""Phone numbers: E.164, kind, and where a number is registered, for Chinese and international leads."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, NumberParseException, PhoneNumberType, ValidationResult, geocoder

from shared.normalise._text import as_text, clean
from shared.normalise.region_tables import load_tables, split_cn_place

_KINDS = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "mobile_or_landline",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.VOIP: "voip",
}
_PARSE_ERRORS = {
    NumberParseException.TOO_SHORT_AFTER_IDD: "phone_too_short",
    NumberParseException.TOO_SHORT_NSN: "phone_too_short",
    NumberParseException.TOO_LONG: "phone_too_long",
}
_LENGTH_ERRORS = {
    ValidationResult.TOO_SHORT: "phone_too_short",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "phone_too_short",
    ValidationResult.TOO_LONG: "phone_too_long",
    ValidationResult.INVALID_COUNTRY_CODE: "phone_unparseable",
}
_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)
# The first run that looks like a number, so that "手机:13800138000(王先生)" or a second number after a
# slash do not reach the parser; an extension may follow as ext./x/#/转/分机.
_NUMBER = re.compile(
    r"(\+?[\s(]*\d(?:[\d\s().\-]*\d)?)(?:\s*(?:ext\.?|extension|x|#|转|分机)\s*(\d{1,7}))?", re.IGNORECASE
)
_NON_DIGIT = re.compile(r"[^0-9]+")
_CN_MOBILE = re.compile(r"1[3-9]\d{9}")
_SCAN_LIMIT = 256  # a phone field longer than this is prose; the number is near its start if anywhere


@dataclass(frozen=True, slots=True)
class PhoneInfo:
    raw: str
    e164: str | None
    valid: bool
    kind: str  # mobile | landline | mobile_or_landline | toll_free | voip | other | unknown
    country: str | None  # ISO alpha-2 of the number's region
    province: str | None  # Chinese numbers only, canonical short name (江苏)
    city: str | None  # Chinese numbers only, without 市 (连云港)
    location: str | None  # the geocoder's description: Chinese for +86, English otherwise
    digits: str  # every digit the input had, so an invalid number is never lost
    error: str | None  # phone_unparseable | phone_too_short | phone_too_long | phone_invalid


def _ascii_digits(text: str) -> str:
    # NFKC folds full-width digits but not other scripts' ones (Arabic-Indic, Devanagari...).
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def _failed(raw: str, digits: str, error: str) -> PhoneInfo:
    return PhoneInfo(raw, None, valid=False, kind="unknown", country=None, province=None, city=None,
                     location=None, digits=digits, error=error)  # fmt: skip


def _dialable(text: str, region: str | None) -> tuple[str, str | None] | None:
    """What to hand the parser, and the region to parse it in; None if it cannot be placed at all."""
    found = _NUMBER.search(text[:_SCAN_LIMIT])
    if found is None:
        return None
    number, extension = found.group(1).strip(), found.group(2)
    digits = _NON_DIGIT.sub("", number)
    if not number.startswith("+"):
        if region in {None, "CN"} and digits.startswith("86") and _CN_MOBILE.fullmatch(digits[2:]):
            number = "+" + digits  # a Chinese mobile written with its country code but no plus
        elif region is None and digits.startswith("00"):
            number = "+" + digits[2:]
        elif region is None:
            if not _CN_MOBILE.fullmatch(digits):
                return None  # no region to read a national number in
            region = "CN"
    return (f"{number} ext. {extension}" if extension else number), region


def _chinese_national(number: str, region: str | None) -> str:
    """The national significant number of a plain Chinese number ("+86 138...", "010-6552 9988"), else ""."""
    if "e" in number:  # an extension: leave it to the parser
        return ""
    digits = _NON_DIGIT.sub("", number)
    if number.startswith("+86"):
        national = digits[2:]
    elif region == "CN" and number[0] != "+" and not digits.startswith("00"):
        national = digits.removeprefix("0")  # the trunk prefix
    else:
        return ""
    return national if national[:1].isdigit() and national[0] != "0" else ""


def _parse(number: str, region: str | None) -> tuple[phonenumbers.PhoneNumber, int]:
    """The number and its type (UNKNOWN when invalid)."""
    # Most leads carry a Chinese number. Building it directly costs a fraction of the parser; when the
    # result is not a valid number the parser has the last word, so the outcome is the parser's.
    if national := _chinese_national(number, region):
        built = phonenumbers.PhoneNumber(country_code=86, national_number=int(national))
        if (kind := phonenumbers.number_type(built)) != PhoneNumberType.UNKNOWN:
            return built, kind
    parsed = phonenumbers.parse(number, region)
    return parsed, phonenumbers.number_type(parsed)


def _region_of(number: phonenumbers.PhoneNumber) -> str | None:
    # A country code with one region (86 → CN) needs no pattern matching; +1 and +44 etc. do.
    regions = COUNTRY_CODE_TO_REGION_CODE.get(number.country_code or 0, ())
    if len(regions) == 1:
        return regions[0]
    return phonenumbers.region_code_for_number(number)


def _describe(number: phonenumbers.PhoneNumber, kind: int) -> str | None:
    lang = "zh" if number.country_code == 86 else "en"
    if phonenumbers.is_number_type_geographical(kind, number.country_code or 0):
        description = geocoder.description_for_valid_number(number, lang)
    else:
        description = geocoder.country_name_for_number(number, lang)
    return description or None


def _invalid_error(number: phonenumbers.PhoneNumber) -> str:
    return _LENGTH_ERRORS.get(phonenumbers.is_possible_number_with_reason(number), "phone_invalid")


def normalise_phone(raw: str | None, default_region: str | None = None) -> PhoneInfo | None:
    """The phone number in `raw`, read as a national number of `default_region` when it has no +."""
    source = as_text(raw)
    text = _ascii_digits(clean(source))
    if not text:
        return None
    digits = _NON_DIGIT.sub("", text)
    region = default_region.strip().upper() if isinstance(default_region, str) else None
    prepared = _dialable(text, region if region in _REGIONS else None)
    if prepared is None:
        return _failed(source, digits, "phone_unparseable")
    try:
        number, kind = _parse(*prepared)
    except NumberParseException as exc:
        return _failed(source, digits, _PARSE_ERRORS.get(exc.error_type, "phone_unparseable"))
    if kind == PhoneNumberType.UNKNOWN:  # exactly the numbers is_valid_number refuses
        return _failed(source, digits, _invalid_error(number))
    country = _region_of(number)
    location = _describe(number, kind)
    province, city = split_cn_place(load_tables(), location) if country == "CN" and location else (None, None)
    return PhoneInfo(
        raw=source,
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        valid=True,
        kind=_KINDS.get(kind, "other"),
        country=country if country in _REGIONS else None,  # "001" is a non-geographic number
        province=province,
        city=city,
        location=location,
        digits=digits,
        error=None,
    )
