"""ingest's pure logic: validation, normalisation, deterministic lead ids, quality, regions."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from services.ingest.domain import QUALITY_FIELDS, Accepted, Rejected, ingest, lead_id_for, normalise_phone
from services.ingest.regions import clean_province, country_code, sales_region
from shared.schemas.events import Location

pytestmark = pytest.mark.unit

EVENT_ID = uuid.UUID("0b7f3c2e-5d1a-4e8f-9a6b-2c4d6e8f0a1b")
OTHER_EVENT_ID = uuid.UUID("9e8d7c6b-5a49-4382-8170-6f5e4d3c2b1a")


def submission(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "source": "web-form",
        "external_id": "F-1001",
        "person": {"name": "王伟", "title": "销售总监", "phone": "+86 138-0013-8000", "email": "  Wang.Wei@YunFan.CN "},
        "company": {"name": "上海云帆信息技术有限公司", "country": "中国", "region": "浙江省", "city": "杭州"},
    }
    return raw | overrides


def accepted(raw: dict[str, Any], event_id: uuid.UUID = EVENT_ID) -> Accepted:
    result = ingest(raw, event_id)
    assert isinstance(result, Accepted), result
    return result


def rejected(raw: dict[str, Any]) -> Rejected:
    result = ingest(raw, EVENT_ID)
    assert isinstance(result, Rejected), result
    return result


# --- accepted: normalisation --------------------------------------------------------------------


def test_accepted_lead_has_lowercased_trimmed_email() -> None:
    assert accepted(submission()).lead.person.email == "wang.wei@yunfan.cn"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("+86 138-0013-8000", "+8613800138000"),
        ("138 0013 8000", "13800138000"),
        ("(010) 1234-5678", "01012345678"),
        ("  +1 (415) 555-0100 ", "+14155550100"),
        ("n/a", None),
        ("", None),
        (None, None),
    ],
)
def test_phone_keeps_only_digits_and_a_leading_plus(given: str | None, expected: str | None) -> None:
    assert normalise_phone(given) == expected


def test_accepted_lead_has_normalised_phone() -> None:
    assert accepted(submission()).lead.person.phone == "+8613800138000"


def test_accepted_lead_has_country_code_and_clean_province_on_company_and_location() -> None:
    lead = accepted(submission()).lead
    assert (lead.company.country, lead.company.region) == ("CN", "浙江")
    assert lead.location == Location(country="CN", province="浙江", city="杭州", sales_region="cn-east")


def test_accepted_lead_keeps_the_submission_as_captured() -> None:
    raw = submission()
    original = copy.deepcopy(raw)
    lead = accepted(raw).lead
    assert lead.original == original
    assert raw == original  # normalisation never edits the caller's dict


def test_accepted_lead_keeps_top_level_fields() -> None:
    lead = accepted(submission(campaign="expo-2026", product_interest=["crm", "erp"], message="请回电")).lead
    assert (lead.source, lead.external_id, lead.campaign) == ("web-form", "F-1001", "expo-2026")
    assert lead.product_interest == ["crm", "erp"]
    assert lead.message == "请回电"


def test_wechat_alone_is_enough_contact() -> None:
    lead = accepted(submission(person={"wechat": "  wangwei_88 "})).lead
    assert lead.person.wechat == "wangwei_88"


# --- rejected: field-level errors ----------------------------------------------------------------


def test_submission_without_any_contact_is_rejected_with_no_contact() -> None:
    rejection = rejected(submission(person={"name": "王伟"})).rejection
    assert [(e.field, e.code) for e in rejection.errors] == [("person", "no_contact")]
    assert (rejection.source, rejection.external_id) == ("web-form", "F-1001")


def test_contact_fields_that_normalise_to_nothing_count_as_no_contact() -> None:
    rejection = rejected(submission(person={"phone": "n/a", "email": "   ", "wechat": " "})).rejection
    assert [e.code for e in rejection.errors] == ["no_contact"]


def test_submission_without_source_is_rejected_naming_the_field() -> None:
    raw = submission()
    del raw["source"]
    rejection = rejected(raw).rejection
    assert [(e.field, e.code) for e in rejection.errors] == [("source", "missing")]
    assert rejection.source is None
    assert rejection.original == raw


def test_wrong_type_is_rejected_with_the_dotted_field_path() -> None:
    raw = submission(company={"name": "云帆", "employees": "abc"})
    [error] = rejected(raw).rejection.errors
    assert (error.field, error.code) == ("company.employees", "int_parsing")
    assert "abc" not in error.message


def test_every_invalid_field_is_reported_at_once() -> None:
    raw = submission(company={"employees": "abc"}, product_interest="crm")
    del raw["source"]
    fields = {e.field for e in rejected(raw).rejection.errors}
    assert fields == {"source", "company.employees", "product_interest"}


@pytest.mark.parametrize("extra", ["location", "quality", "original"])
def test_extra_keys_named_like_ingest_outputs_never_make_ingest_raise(extra: str) -> None:
    result = ingest(submission(**{extra: {"city": "杭州"}}), EVENT_ID)
    assert isinstance(result, Accepted | Rejected)


# --- deterministic lead ids ----------------------------------------------------------------------


def test_same_source_and_external_id_give_the_same_lead_id_across_events() -> None:
    assert lead_id_for("web-form", "F-1", EVENT_ID) == lead_id_for("web-form", "F-1", OTHER_EVENT_ID)
    assert accepted(submission(), EVENT_ID).lead_id == accepted(submission(), OTHER_EVENT_ID).lead_id


def test_same_external_id_from_another_source_is_another_lead() -> None:
    assert lead_id_for("web-form", "F-1", EVENT_ID) != lead_id_for("expo-scanner", "F-1", EVENT_ID)


def test_different_external_ids_are_different_leads() -> None:
    assert lead_id_for("web-form", "F-1", EVENT_ID) != lead_id_for("web-form", "F-2", EVENT_ID)


@pytest.mark.parametrize("external_id", [None, ""])
def test_without_external_id_the_lead_id_follows_the_event_id(external_id: str | None) -> None:
    assert lead_id_for("web-form", external_id, EVENT_ID) == lead_id_for("web-form", external_id, EVENT_ID)
    assert lead_id_for("web-form", external_id, EVENT_ID) != lead_id_for("web-form", external_id, OTHER_EVENT_ID)
    raw = submission(external_id=None)
    assert accepted(raw, EVENT_ID).lead_id != accepted(raw, OTHER_EVENT_ID).lead_id


# --- quality ---------------------------------------------------------------------------------------


def test_quality_of_a_complete_submission_is_one() -> None:
    raw = submission(
        company={
            "name": "云帆",
            "domain": "yunfan.cn",
            "industry": "软件",
            "employees": 320,
            "country": "中国",
            "region": "浙江省",
        },
        product_interest=["crm"],
    )
    quality = accepted(raw).lead.quality
    assert quality.present == list(QUALITY_FIELDS)
    assert quality.score == 1.0
    assert quality.invalid == []


def test_quality_counts_only_the_fields_present() -> None:
    quality = accepted({"source": "web-form", "person": {"email": "a@yunfan.cn"}}, EVENT_ID).lead.quality
    assert quality.present == ["person.email"]
    assert quality.score == round(1 / len(QUALITY_FIELDS), 3)


def test_quality_counts_product_interest_only_when_non_empty() -> None:
    base = {"source": "web-form", "person": {"email": "a@yunfan.cn"}}
    assert "product_interest" in accepted(base | {"product_interest": ["crm"]}).lead.quality.present
    assert "product_interest" not in accepted(base | {"product_interest": []}).lead.quality.present


# --- regions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("中国", "CN"),
        ("China", "CN"),
        (" prc ", "CN"),
        ("cn", "CN"),
        ("美国", "US"),
        ("UK", "GB"),
        ("Deutschland", "DE"),
        ("新加坡", "SG"),
        ("br", "BR"),  # unknown two-letter code: upper-cased
        ("Brazil", "Brazil"),  # unknown name: passed through
        ("  ", None),
        (None, None),
    ],
)
def test_country_code(given: str | None, expected: str | None) -> None:
    assert country_code(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("浙江省", "浙江"),
        ("上海市", "上海"),
        ("广西壮族自治区", "广西"),
        ("内蒙古自治区", "内蒙古"),
        ("新疆维吾尔自治区", "新疆"),
        ("宁夏回族自治区", "宁夏"),
        ("香港特别行政区", "香港"),
        ("浙江", "浙江"),
        (" zhejiang ", "Zhejiang"),
        ("inner mongolia", "Inner Mongolia"),
        ("", None),
        (None, None),
    ],
)
def test_clean_province(given: str | None, expected: str | None) -> None:
    assert clean_province(given) == expected


@pytest.mark.parametrize(
    ("country", "province", "expected"),
    [
        ("CN", "浙江", "cn-east"),
        ("CN", "Zhejiang", "cn-east"),
        ("CN", "北京", "cn-north"),
        ("CN", "广东", "cn-south"),
        ("CN", "湖北", "cn-central"),
        ("CN", "四川", "cn-southwest"),
        ("CN", "新疆", "cn-northwest"),
        ("CN", "黑龙江", "cn-northeast"),
        ("CN", None, "cn-other"),
        ("CN", "Atlantis", "cn-other"),
        ("US", "California", "north-america"),
        ("DE", None, "europe"),
        ("JP", None, "apac"),
        ("BR", None, "other"),
        (None, None, None),
    ],
)
def test_sales_region(country: str | None, province: str | None, expected: str | None) -> None:
    assert sales_region(country, province) == expected


@pytest.mark.parametrize(
    ("region", "expected"),
    [("浙江省", "cn-east"), ("广西壮族自治区", "cn-south"), ("内蒙古自治区", "cn-north"), ("shandong", "cn-east")],
)
def test_province_as_channels_write_it_reaches_its_sales_region(region: str, expected: str) -> None:
    assert sales_region(country_code("中国"), clean_province(region)) == expected
