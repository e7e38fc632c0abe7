"""shared.normalise as the ingest service uses it: the public names, the result shapes, and a whole lead."""

from __future__ import annotations

import dataclasses

import pytest

from shared import normalise

pytestmark = pytest.mark.unit

# The pydantic models are mapped onto these 1:1: a renamed field must fail here, not in production.
FIELDS = {
    normalise.PhoneInfo: "raw e164 valid kind country province city location digits error",
    normalise.EmailInfo: "raw normalised canonical local domain free_mail valid error",
    normalise.CompanyName: "original normalised core legal_form",
    normalise.PersonName: "full family given script pinyin key honorific",
    normalise.LocationInfo: "country province city sales_region sales_region_label inferred",
    normalise.IndustryInfo: "code label raw",
}


def test_every_public_name_is_there() -> None:
    assert all(hasattr(normalise, name) for name in normalise.__all__)


@pytest.mark.parametrize(("result", "fields"), FIELDS.items())
def test_results_are_frozen_slotted_dataclasses_with_exactly_these_fields(result: type, fields: str) -> None:
    assert [field.name for field in dataclasses.fields(result)] == fields.split()
    assert result.__dataclass_params__.frozen  # type: ignore[attr-defined]  # set by @dataclass
    assert "__slots__" in vars(result)


def test_a_chinese_lead() -> None:
    phone = normalise.normalise_phone("+86 138-1234-5678")
    location = normalise.resolve_location(None, None, None, phone)
    company = normalise.normalise_company("深圳市騰訊計算機系統有限公司")
    person = normalise.normalise_person_name("歐陽修先生")
    industry = normalise.classify_industry("互联网")
    assert phone is not None
    assert company is not None
    assert person is not None
    assert industry is not None
    assert (phone.e164, location.sales_region, location.city) == ("+8613812345678", "cn-east", "连云港")
    assert (company.core, person.key, person.honorific, industry.code) == (
        "腾讯计算机系统",
        "欧阳修",
        "先生",
        "software",
    )
    assert normalise.size_band(normalise.parse_employees("1万人")) == "enterprise"


def test_an_international_lead() -> None:
    email = normalise.normalise_email("Jane Doe <Jane.Doe+crm@GMAIL.com>")
    person = normalise.normalise_person_name(None, given_name="jane", family_name="DOE")
    location = normalise.resolve_location("Deutschland", "Bayern", "München")
    assert email is not None
    assert person is not None
    assert (email.normalised, email.canonical, email.free_mail) == ("jane.doe+crm@gmail.com", "janedoe@gmail.com", True)
    assert (person.full, person.key) == ("Jane Doe", "doe jane")
    assert (location.country, location.sales_region, normalise.country_code("德国")) == ("DE", "europe", "DE")
