"""The YAML points model: exact points and factors, decay and cap, validation with line numbers, hot reload."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.scoring import rules
from services.scoring.rules import (
    PointsModel,
    RuleFactor,
    RulesError,
    RulesFile,
    load_points_model,
    parse_points_model,
)
from tests.watched_files import RecordingLog, write

pytestmark = pytest.mark.unit

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "deploy" / "scoring" / "rules.yaml"
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

MODEL = """\
version: "t.1"
base: 10
fit:
  industry: {software: 12, government: -5}
  size_band: {enterprise: 15, micro: -5}
  region: {上海: 5}
  seniority: {director: 10}
  function: {it: 6}
  product_interest:
    combine: max
    points: {erp: 12, crm: 10}
channel:
  default: 2
  points: {web-form: 10, csv-import: 0}
engagement:
  half_life_days: 10
  max: 20
  points: {form_submit: 16, web_visit: 2, unsubscribe: -10}
negative:
  free_mail: -8
  email_invalid: -10
  phone_invalid: -6
  competitor:
    points: -40
    domains:
      - rival.cn
      - other-vendor.com
attributes:
  budget: {approved: 7}
  demo_requested: {true: 3}
grades: {A: 75, B: 55, C: 35}
temperature:
  hot: 70
  warm: 45
"""


@pytest.fixture(scope="module")
def model() -> PointsModel:
    return parse_points_model(MODEL)


def factors(model: PointsModel, features: dict[str, Any]) -> list[tuple[str, float, str | None]]:
    return [(f.name, f.contribution, f.detail) for f in model.score(features, NOW).factors]


def engaged(*entries: tuple[str, float]) -> dict[str, Any]:
    """Features with only engagement: (kind, age in days) pairs."""
    return {"engagement": [{"kind": kind, "at": NOW - timedelta(days=age)} for kind, age in entries]}


# --- the shipped file ---------------------------------------------------------------------------------------------


def test_default_file_loads_with_a_versioned_hash() -> None:
    model = load_points_model(DEFAULT_FILE)
    assert re.fullmatch(r"2026-11-22\.1\+[0-9a-f]{8}", model.version)
    assert model.version == load_points_model(DEFAULT_FILE).version  # same text, same version


def test_default_file_grades_an_ideal_lead_a_and_a_competitor_d() -> None:
    model = load_points_model(DEFAULT_FILE)
    ideal = {
        "source": "web-form",
        "industry": "software",
        "size_band": "enterprise",
        "region": "上海",
        "seniority": "c_level",
        "product_interest": ["erp"],
        "engagement": [{"kind": "form_submit", "at": NOW}],
    }
    best = model.score(ideal, NOW)
    assert (best.points, model.grade(best.points), model.temperature(best.points)) == (91.0, "A", "hot")
    rival = {"source": "web-form", "email_domain": "mail.yonyou.com", "free_mail": False}
    worst = model.score(rival, NOW)
    assert worst.points == 0.0
    assert model.grade(worst.points) == "D"
    assert ("competitor_domain", -40.0, "yonyou.com") in [(f.name, f.contribution, f.detail) for f in worst.factors]


# --- points and factors -------------------------------------------------------------------------------------------


def test_fit_and_channel_points_sum_with_base_and_factors_come_largest_first(model: PointsModel) -> None:
    lead = {
        "source": "web-form",
        "industry": "software",
        "size_band": "enterprise",
        "region": "上海",
        "seniority": "director",
        "product_interest": ["crm", "erp"],
        "email_domain": "acme.cn",
        "free_mail": False,
        "phone_invalid": False,
    }
    score = model.score(lead, NOW)
    assert score.points == 74.0  # 10 + 15 + 12 + 12 + 10 + 10 + 5
    assert [(f.name, f.contribution, f.detail) for f in score.factors] == [
        ("size_band", 15.0, "enterprise"),
        ("industry", 12.0, "software"),
        ("product_interest", 12.0, "erp"),  # combine: max keeps only the best product
        ("seniority", 10.0, "director"),
        ("channel", 10.0, "web-form"),
        ("region", 5.0, "上海"),
    ]
    assert model.grade(score.points) == "B"
    assert model.temperature(score.points) == "hot"


def test_unknown_features_earn_nothing_and_the_base_remains(model: PointsModel) -> None:
    score = model.score({"industry": "mining", "seniority": None, "source": "csv-import"}, NOW)
    assert (score.points, score.factors) == (10.0, [])  # csv-import is listed at 0: no fallback to the default


def test_values_match_without_regard_to_case(model: PointsModel) -> None:
    assert factors(model, {"industry": "SOFTWARE", "product_interest": ["CRM"], "source": "Web-Form"}) == [
        ("industry", 12.0, "software"),
        ("product_interest", 10.0, "crm"),
        ("channel", 10.0, "web-form"),  # ties keep the model's order: fit, products, channel, engagement, negative
    ]


def test_a_single_product_sent_as_text_counts(model: PointsModel) -> None:
    assert factors(model, {"product_interest": "ERP", "source": "csv-import"}) == [("product_interest", 12.0, "erp")]


def test_an_unlisted_channel_and_a_missing_one_earn_the_default(model: PointsModel) -> None:
    assert factors(model, {"source": "wechat"}) == [("channel", 2.0, "wechat")]
    assert factors(model, {}) == [("channel", 2.0, None)]


def test_product_interest_sum_adds_every_listed_product() -> None:
    summing = parse_points_model(MODEL.replace("combine: max", "combine: sum"))
    score = summing.score({"product_interest": ["crm", "erp", "cloud"], "source": "csv-import"}, NOW)
    assert score.points == 32.0
    assert [(f.detail, f.contribution) for f in score.factors] == [("erp", 12.0), ("crm", 10.0)]


def test_negative_points_and_the_free_mail_domain_as_detail(model: PointsModel) -> None:
    lead = {"source": "csv-import", "free_mail": True, "email_invalid": True, "phone_invalid": True}
    lead["email_domain"] = "qq.com"
    assert factors(model, lead) == [
        ("email_invalid", -10.0, None),
        ("free_mail", -8.0, "qq.com"),
        ("phone_invalid", -6.0, None),
    ]
    assert model.score(lead, NOW).points == 0.0  # 10 - 24 clamps to 0


@pytest.mark.parametrize(
    ("domain", "matched"),
    [
        ("rival.cn", "rival.cn"),
        ("mail.rival.cn", "rival.cn"),
        ("a.b.Other-Vendor.com", "other-vendor.com"),
        ("notrival.cn", None),
        ("rival.cn.example.com", None),
        ("cn", None),
    ],
)
def test_competitor_domains_match_the_domain_or_a_parent(model: PointsModel, domain: str, matched: str | None) -> None:
    found = model.score({"email_domain": domain, "source": "csv-import"}, NOW).factors
    assert found == ([RuleFactor("competitor_domain", -40.0, matched)] if matched else [])


def test_attribute_points_match_the_value_as_text(model: PointsModel) -> None:
    lead = {"source": "csv-import", "attributes": {"budget": "Approved", "demo_requested": True, "booth": "B-07"}}
    assert factors(model, lead) == [("attributes.budget", 7.0, "approved"), ("attributes.demo_requested", 3.0, "true")]
    assert factors(model, {"source": "csv-import", "attributes": {"demo_requested": False}}) == []


def test_points_clamp_at_100(model: PointsModel) -> None:
    lead = {
        "industry": "software",
        "size_band": "enterprise",
        "region": "上海",
        "seniority": "director",
        "function": "it",
        "product_interest": ["erp"],
        "source": "web-form",
        "attributes": {"budget": "approved"},
        **engaged(("form_submit", 0), ("form_submit", 0)),
    }
    assert model.score(lead, NOW).points == 100.0  # 10 + 77 + 20 (capped) = 107


# --- engagement decay and cap -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("age", "points"), [(0, 16.0), (10, 8.0), (20, 4.0), (5, 11.31), (-3, 16.0)])
def test_engagement_halves_every_half_life(model: PointsModel, age: float, points: float) -> None:
    assert factors(model, {"source": "csv-import", **engaged(("form_submit", age))}) == [
        ("engagement", points, "form_submit")
    ]


def test_engagement_of_one_kind_adds_up_per_kind(model: PointsModel) -> None:
    lead = {"source": "csv-import", **engaged(("web_visit", 0), ("web_visit", 10), ("email_open", 0))}
    assert factors(model, lead) == [("engagement", 3.0, "web_visit")]  # 2 + 1; email_open is not listed


def test_positive_engagement_is_capped_and_shared_in_proportion(model: PointsModel) -> None:
    lead = {"source": "csv-import", **engaged(("form_submit", 0), ("form_submit", 0), ("web_visit", 0))}
    score = model.score(lead, NOW)
    assert [(f.detail, f.contribution) for f in score.factors] == [("form_submit", 18.82), ("web_visit", 1.18)]
    assert score.points == 30.0  # 10 + 20: 34 points of engagement capped at max 20


def test_negative_engagement_is_not_capped(model: PointsModel) -> None:
    lead = {"source": "csv-import", **engaged(("form_submit", 0), ("form_submit", 0), ("unsubscribe", 10))}
    assert factors(model, lead) == [("engagement", 20.0, "form_submit"), ("engagement", -5.0, "unsubscribe")]
    assert model.score(lead, NOW).points == 25.0


def test_engagement_times_may_be_naive_utc_or_iso_text(model: PointsModel) -> None:
    naive = (NOW - timedelta(days=10)).replace(tzinfo=None)
    lead = {"source": "csv-import", "engagement": [{"kind": "form_submit", "at": naive}]}
    assert model.score(lead, NOW).points == 18.0
    lead = {"source": "csv-import", "engagement": [{"kind": "form_submit", "at": "2026-11-12T09:00:00+00:00"}]}
    assert model.score(lead, NOW).points == 18.0
    lead = {"source": "csv-import", "engagement": [{"kind": "form_submit", "at": "yesterday"}, {"kind": "reply"}]}
    assert model.score(lead, NOW).points == 10.0


# --- grades and temperature ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "grade", "temperature"),
    [
        (100, "A", "hot"),
        (75, "A", "hot"),
        (74.99, "B", "hot"),
        (70, "B", "hot"),
        (69.99, "B", "warm"),
        (55, "B", "warm"),
        (54.99, "C", "warm"),
        (45, "C", "warm"),
        (44.99, "C", "cold"),
        (35, "C", "cold"),
        (34.99, "D", "cold"),
        (0, "D", "cold"),
    ],
)
def test_grade_and_temperature_boundaries(model: PointsModel, points: float, grade: str, temperature: str) -> None:
    assert (model.grade(points), model.temperature(points)) == (grade, temperature)


# --- validation: each error names the line and the field ----------------------------------------------------------


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "needle", "field", "says"),
    [
        ("  function: {it: 6}", "  functoin: {it: 6}", "functoin", "fit.functoin", "Extra inputs are not permitted"),
        ("base: 10", "base: ten", "base:", "base", "valid number"),
        ("base: 10", "base: '10'", "base:", "base", "valid number"),
        ("grades: {A: 75, B: 55, C: 35}", "grades:\n  A: 75\n  B: 80\n  C: 35", "B: 80", "grades.B", "below A"),
        ("grades: {A: 75, B: 55, C: 35}", "grades:\n  A: 75\n  B: 55\n  C: 55", "C: 55", "grades.C", "below B"),
        ("  warm: 45", "  warm: 70", "warm: 70", "temperature.warm", "below hot"),
        (
            "  half_life_days: 10",
            "  half_life_days: 0",
            "half_life_days",
            "engagement.half_life_days",
            "greater than 0",
        ),
        ("  max: 20", "  max: -1", "max: -1", "engagement.max", "greater than 0"),
        ("  free_mail: -8", "  free_mail: 8", "free_mail", "negative.free_mail", "less than or equal to 0"),
        ("      - rival.cn", "      - Rival CN", "Rival CN", "negative.competitor.domains[0]", "pattern"),
        ("    combine: max", "    combine: average", "combine", "fit.product_interest.combine", "'max' or 'sum'"),
        (
            "    points: {erp: 12, crm: 10}",
            "    points: {erp: 12, CRM: 10, crm: 9}",
            "CRM",
            "product_interest.points",
            "case",
        ),
        ("  region: {上海: 5}", "  region: {上海: 500}", "region", "fit.region.上海", "less than or equal to 100"),
        ("  budget: {approved: 7}", "  budget: [approved]", "budget", "attributes.budget", "valid dictionary"),
        ('version: "t.1"\n', "", "base: 10", "version", "Field required"),
    ],
)
def test_an_invalid_file_is_refused_at_the_line_of_the_problem(
    old: str, new: str, needle: str, field: str, says: str
) -> None:
    assert old in MODEL
    text = MODEL.replace(old, new)
    with pytest.raises(RulesError) as caught:
        parse_points_model(text, "rules.yaml")
    line = line_of(text, needle)
    assert caught.value.line == line
    assert f"rules.yaml:{line}: " in str(caught.value)
    assert field in str(caught.value)
    assert says in str(caught.value)


def test_a_duplicate_key_is_refused_at_its_second_line() -> None:
    text = MODEL.replace("base: 10\n", "base: 10\nbase: 20\n")
    with pytest.raises(RulesError, match=r"^<string>:3: base: duplicate key"):
        parse_points_model(text)


def test_broken_yaml_is_refused_with_its_line() -> None:
    text = MODEL.replace("  hot: 70", "  hot: [70")
    with pytest.raises(RulesError, match="not valid YAML") as caught:
        parse_points_model(text, "rules.yaml")
    assert caught.value.line == line_of(text, "warm: 45")  # where the parser noticed the unclosed list


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a list\n"])
def test_an_empty_or_non_mapping_file_is_refused(text: str) -> None:
    with pytest.raises(RulesError, match=r"^<string>:1: "):
        parse_points_model(text)


def test_loading_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    with pytest.raises(RulesError, match="cannot read"):
        load_points_model(path)
    path.write_text(MODEL.replace("base: 10", "bsae: 10"), encoding="utf-8")
    with pytest.raises(RulesError, match=re.escape(f"{path}:2: bsae: Extra inputs are not permitted")):
        load_points_model(path)


# --- hot reload ---------------------------------------------------------------------------------------------------


def test_rules_file_swaps_in_a_changed_valid_file_and_keeps_the_model_on_a_broken_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = RecordingLog()
    monkeypatch.setattr(rules, "_log", log)
    path = tmp_path / "rules.yaml"
    write(path, MODEL, 1)
    rules_file = RulesFile(path)
    first = rules_file.current
    assert first.version.startswith("t.1+")
    assert rules_file.refresh() is False  # unchanged
    write(path, MODEL, 2)
    assert rules_file.refresh() is False  # touched, same content
    assert rules_file.current is first

    write(path, MODEL.replace('"t.1"', '"t.2"').replace("base: 10", "base: 20"), 3)
    assert rules_file.refresh() is True
    second = rules_file.current
    assert second.version.startswith("t.2+")
    assert second.score({"source": "csv-import"}, NOW).points == 20.0
    assert log.events[-1][:2] == ("info", "scoring_rules_reloaded")

    write(path, MODEL.replace('"t.1"', '"t.3"').replace("base: 10", "base: 200"), 4)
    assert rules_file.refresh() is False
    assert rules_file.current is second
    level, event, fields = log.events[-1]
    assert (level, event) == ("warning", "scoring_rules_rejected")
    assert f"{path}:2: base: Input should be less than or equal to 100" in fields["error"]
    write(path, MODEL.replace('"t.1"', '"t.3"').replace("base: 10", "base: 200"), 5)
    assert rules_file.refresh() is False
    assert len(log.events) == 2  # a file that stays broken is reported once

    path.unlink()
    assert rules_file.refresh() is False
    assert rules_file.current is second
    assert "cannot read" in log.events[-1][2]["error"]
    assert rules_file.refresh() is False
    assert len(log.events) == 3

    write(path, MODEL.replace('"t.1"', '"t.2"').replace("base: 10", "base: 20"), 6)  # put back: nothing to swap
    assert rules_file.refresh() is False
    assert rules_file.current is second
    write(path, MODEL.replace('"t.1"', '"t.3"').replace("base: 10", "base: 200"), 7)
    assert rules_file.refresh() is False
    assert log.events[-1][1] == "scoring_rules_rejected"  # broken again after a good file: reported again
    assert len(log.events) == 4


def test_rules_file_refuses_a_broken_first_load(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("version: x\n", encoding="utf-8")
    with pytest.raises(RulesError, match=r"grades: Field required"):
        RulesFile(path)


def test_contact_points_for_a_reachable_lead() -> None:
    model = parse_points_model(
        """\
version: "c1"
base: 10
contact: {phone: 10, work_email: 8, email: 2, company: 5}
negative: {free_mail: -8}
grades: {A: 75, B: 55, C: 35}
temperature: {hot: 70, warm: 45}
"""
    )
    work = {"has_phone": True, "has_email": True, "free_mail": False, "has_company": True}
    free = {"has_phone": False, "has_email": True, "free_mail": True, "email_domain": "qq.com", "has_company": False}
    assert model.score(work, NOW).points == 33
    assert [(f.detail, f.contribution) for f in model.score(work, NOW).factors] == [
        ("phone", 10),
        ("work_email", 8),
        ("company", 5),
    ]
    assert model.score(free, NOW).points == 4  # 10 + 2 (a mailbox) - 8 (free-mail)
    assert model.score({"has_phone": False, "phone_invalid": True}, NOW).points == 10
