"""ingest's pure logic: validation, normalisation, deterministic lead ids, quality, consent, bad input."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from services.ingest.domain import Accepted, IngestRules, Rejected, ingest, lead_id_for, resubmission
from services.ingest.normalising import QUALITY_FIELDS
from services.ingest.settings import IngestSettings
from shared.schemas.events import LeadIngested, Location
from tests.ingest_cases import CASES, Case

pytestmark = pytest.mark.unit

EVENT_ID = uuid.UUID("0b7f3c2e-5d1a-4e8f-9a6b-2c4d6e8f0a1b")
OTHER_EVENT_ID = uuid.UUID("9e8d7c6b-5a49-4382-8170-6f5e4d3c2b1a")
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def submission(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "source": "web-form",
        "external_id": "F-1001",
        "person": {"name": "王伟", "title": "销售总监", "phone": "+86 138-0013-8000", "email": "  Wang.Wei@YunFan.CN "},
        "company": {"name": "上海云帆信息技术有限公司", "country": "中国", "region": "浙江省", "city": "杭州"},
    }
    return raw | overrides


def accepted(raw: dict[str, Any], event_id: uuid.UUID = EVENT_ID, rules: IngestRules | None = None) -> Accepted:
    result = ingest(raw, event_id, now=NOW, rules=rules)
    assert isinstance(result, Accepted), result
    return result


def rejected(raw: dict[str, Any]) -> Rejected:
    result = ingest(raw, EVENT_ID, now=NOW)
    assert isinstance(result, Rejected), result
    return result


def assert_valid_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Ingest builds its payload as plain data: it must be exactly what the published model says."""
    wire = orjson.loads(orjson.dumps(payload))
    model = LeadIngested.model_validate(wire)
    assert model.captured_at == datetime.fromisoformat(wire["captured_at"])
    assert model.model_dump(mode="json", exclude_none=True, exclude={"captured_at"}) == {
        k: v for k, v in wire.items() if k != "captured_at"
    }
    return wire


# --- the bad-input table (also run over HTTP and Kafka by the integration tests) --------------------


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_case(case: Case) -> None:
    raw = case.lead if "source" in case.lead else {"source": "fuzz", **case.lead}
    result = ingest(copy.deepcopy(raw), EVENT_ID, now=NOW)
    if not case.accepted:
        assert isinstance(result, Rejected), result
        errors = [(e.field, e.code) for e in result.rejection.errors]
        assert any(f == case.field and c.startswith(case.code or "") for f, c in errors), errors
        assert result.rejection.original == raw
        return
    assert isinstance(result, Accepted), result
    lead = assert_valid_payload(result.payload)
    assert case.check is None or case.check(lead), lead
    assert set(case.flags) <= set(lead["quality"]["flags"]), lead["quality"]


def test_the_table_has_at_least_forty_distinct_cases() -> None:
    assert len({c.name for c in CASES}) >= 40
    assert sum(not c.accepted for c in CASES) >= 20
    assert sum(c.accepted for c in CASES) >= 20


# --- accepted: normalisation --------------------------------------------------------------------


def test_contacts_are_normalised() -> None:
    lead = accepted(submission()).lead
    assert lead.person.email == "wang.wei@yunfan.cn"
    assert lead.person.phone == "+8613800138000"
    assert lead.normalised.phone is not None
    assert (lead.normalised.phone.kind, lead.normalised.phone.valid) == ("mobile", True)


def test_phone_without_country_code_takes_the_lead_country_then_the_channel_default() -> None:
    us = submission(person={"phone": "(415) 555-2671"}, company={"country": "USA"})
    assert accepted(us).lead.person.phone == "+14155552671"
    bare = {"source": "us-partner", "person": {"phone": "(415) 555-2671"}}
    assert ingest(bare, EVENT_ID, now=NOW).lead.person.phone != "+14155552671"  # type: ignore[union-attr]
    rules = IngestRules(channel_countries={"us-partner": "US"})
    assert accepted(bare, rules=rules).lead.person.phone == "+14155552671"


def test_company_and_person_names_are_normalised_and_the_original_kept() -> None:
    raw = submission(person={"name": "歐陽 修", "email": "x@y.cn"}, company={"name": "臺灣積體電路製造股份有限公司"})
    original = copy.deepcopy(raw)
    lead = accepted(raw).lead
    assert (lead.person.family_name, lead.person.given_name) == ("欧阳", "修")
    assert lead.normalised.name is not None
    assert lead.normalised.name.pinyin == "ouyang xiu"
    assert lead.company.name == "台湾积体电路制造股份有限公司"
    assert lead.normalised.company is not None
    assert lead.normalised.company.legal_form == "股份有限公司"
    assert lead.original == original
    assert raw == original  # normalisation never edits the caller's dict


def test_location_resolves_country_province_city_and_sales_region() -> None:
    lead = accepted(submission()).lead
    assert (lead.company.country, lead.company.region) == ("CN", "浙江")
    assert lead.location == Location(country="CN", province="浙江", city="杭州", sales_region="cn-east")


def test_location_is_inferred_from_the_city_or_the_phone_and_says_so() -> None:
    by_city = accepted({"source": "s", "person": {"email": "a@b.cn"}, "company": {"city": "深圳市"}}).lead
    assert (by_city.location.country, by_city.location.province, by_city.location.sales_region) == (
        "CN",
        "广东",
        "cn-south",
    )
    assert {"location.country", "location.province"} <= set(by_city.quality.inferred)
    by_phone = accepted({"source": "s", "person": {"phone": "13800138000"}}).lead
    assert by_phone.location.province is not None
    assert "location.province" in by_phone.quality.inferred


def test_firmographics_size_band_and_industry() -> None:
    lead = accepted(submission(company={"name": "云帆", "employees": 320, "industry": "企业软件"})).lead
    assert lead.normalised.firmographics.size_band == "large"
    assert lead.normalised.firmographics.industry == "software"


def test_company_domain_inferred_from_a_company_email_not_a_free_mail() -> None:
    assert accepted({"source": "s", "person": {"email": "li@yunfan.cn"}}).lead.company.domain == "yunfan.cn"
    assert accepted({"source": "s", "person": {"email": "li@qq.com"}}).lead.company.domain is None


def test_consent_is_kept_and_decides_may_email() -> None:
    given = accepted(submission(consent={"marketing": True, "basis": "checkbox"})).lead
    assert given.may_email is True
    assert given.consent is not None
    assert given.consent.basis == "checkbox"
    refused = accepted(submission(consent={"marketing": False})).lead
    assert refused.may_email is False
    assert "no_marketing_consent" in refused.quality.flags


def test_missing_captured_at_is_the_ingest_time_and_marked_inferred() -> None:
    lead = accepted(submission()).lead
    assert lead.captured_at == NOW
    assert "captured_at" in lead.quality.inferred


def test_wechat_alone_is_enough_contact() -> None:
    lead = accepted(submission(person={"wechat": "  wangwei_88 "})).lead
    assert lead.person.wechat == "wangwei_88"


# --- rejected: field-level errors ----------------------------------------------------------------


def test_submission_without_any_contact_is_rejected_with_no_contact() -> None:
    rejection = rejected(submission(person={"name": "王伟"})).rejection
    assert [(e.field, e.code) for e in rejection.errors] == [("person", "no_contact")]
    assert (rejection.source, rejection.external_id) == ("web-form", "F-1001")


def test_only_invalid_contacts_name_each_and_no_contact() -> None:
    rejection = rejected(submission(person={"phone": "12345", "email": "nope"})).rejection
    fields = [e.field for e in rejection.errors]
    assert fields == ["person.phone", "person.email", "person"]


def test_submission_without_source_is_rejected_naming_the_field() -> None:
    raw = submission()
    del raw["source"]
    rejection = rejected(raw).rejection
    assert [(e.field, e.code) for e in rejection.errors] == [("source", "missing")]
    assert rejection.source is None
    assert rejection.original == raw


def test_every_invalid_field_is_reported_at_once_without_its_value() -> None:
    raw = submission(company={"employees": "abc"}, product_interest="crm")
    del raw["source"]
    errors = rejected(raw).rejection.errors
    assert {e.field for e in errors} == {"source", "company.employees", "product_interest"}
    assert all("abc" not in e.message for e in errors)


@pytest.mark.parametrize("extra", ["location", "quality", "original", "normalised", "may_email"])
def test_extra_keys_named_like_ingest_outputs_never_make_ingest_raise(extra: str) -> None:
    result = ingest(submission(**{extra: {"city": "杭州"}}), EVENT_ID, now=NOW)
    assert isinstance(result, Accepted | Rejected)


def test_a_submission_that_is_not_an_object_is_rejected() -> None:
    result = ingest(["not", "a", "dict"], EVENT_ID, now=NOW)
    assert isinstance(result, Rejected)
    assert result.rejection.errors[0].code == "not_an_object"


# --- deterministic lead ids, resubmissions --------------------------------------------------------


def test_same_source_and_external_id_give_the_same_lead_id_across_events() -> None:
    assert lead_id_for("web-form", "F-1", EVENT_ID) == lead_id_for("web-form", "F-1", OTHER_EVENT_ID)
    assert accepted(submission(), EVENT_ID).lead_id == accepted(submission(), OTHER_EVENT_ID).lead_id


def test_same_external_id_from_another_source_is_another_lead() -> None:
    assert lead_id_for("web-form", "F-1", EVENT_ID) != lead_id_for("expo-scanner", "F-1", EVENT_ID)


@pytest.mark.parametrize("external_id", [None, ""])
def test_without_external_id_the_lead_id_follows_the_event_id(external_id: str | None) -> None:
    assert lead_id_for("web-form", external_id, EVENT_ID) != lead_id_for("web-form", external_id, OTHER_EVENT_ID)
    raw = submission(external_id=None)
    assert accepted(raw, EVENT_ID).lead_id != accepted(raw, OTHER_EVENT_ID).lead_id


def test_resubmission_event_carries_the_interest_signal() -> None:
    event = resubmission(
        accepted(submission(campaign="expo", product_interest=["crm"])).payload, times_seen=3, first_seen_at=NOW
    )
    assert (event.source, event.external_id, event.times_seen, event.campaign) == ("web-form", "F-1001", 3, "expo")
    assert event.product_interest == ["crm"]


# --- quality ---------------------------------------------------------------------------------------


def test_quality_of_a_complete_submission_is_one() -> None:
    raw = submission(
        company={
            "name": "云帆",
            "domain": "https://www.yunfan.cn/about",
            "industry": "软件",
            "employees": 320,
            "country": "中国",
            "region": "浙江省",
            "city": "杭州",
        },
        product_interest=["crm"],
    )
    lead = accepted(raw).lead
    assert lead.company.domain == "yunfan.cn"
    assert lead.quality.present == list(QUALITY_FIELDS)
    assert lead.quality.score == 1.0
    assert lead.quality.invalid == []


def test_quality_counts_only_the_fields_present_and_valid() -> None:
    quality = accepted({"source": "web-form", "person": {"email": "a@qq.com"}}).lead.quality
    assert quality.present == ["person.email"]
    assert quality.score == round(1 / len(QUALITY_FIELDS), 3)
    flagged = accepted({"source": "s", "person": {"email": "a@qq.com", "phone": "123"}}).lead.quality
    assert flagged.invalid == ["person.phone"]
    assert flagged.score == round(1 / len(QUALITY_FIELDS), 3)


def test_a_number_that_is_none_in_the_lead_country_is_read_in_the_channel_country_and_marked_inferred() -> None:
    lead = accepted({"source": "s", "person": {"phone": "138-0000-0417"}, "company": {"country": "JP"}}).lead
    assert lead.person.phone == "+8613800000417"
    assert "person.phone_region" in lead.quality.inferred
    us = accepted({"source": "s", "person": {"phone": "(415) 555-2671"}, "company": {"country": "US"}}).lead
    assert us.person.phone == "+14155552671"
    assert "person.phone_region" not in us.quality.inferred


def test_size_bands_are_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_SIZE_BANDS", '[[1, "startup"], [200, "scale-up"], [5000, "giant"]]')
    settings = IngestSettings()
    assert settings.size_bands == [(1, "startup"), (200, "scale-up"), (5000, "giant")]
    rules = IngestRules(size_bands=tuple(settings.size_bands))
    raw = submission(company={"name": "云帆", "employees": 320})
    assert accepted(raw, rules=rules).lead.normalised.firmographics.size_band == "scale-up"
    assert accepted(raw).lead.normalised.firmographics.size_band == "large"  # the default bands
