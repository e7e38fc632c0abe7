"""scoring's placeholder rules: factors, clamping, grades and temperatures at their thresholds."""

from __future__ import annotations

from typing import Any

import pytest

from services.scoring import domain
from services.scoring.domain import score_lead
from shared.schemas.events import Company, DedupVerdict, Factor, LeadDeduplicated, Person, Quality

pytestmark = pytest.mark.unit

BASE = 20


def lead(
    *, company: str | None = None, employees: int | None = None, interest: tuple[str, ...] = (), **person: str | None
) -> LeadDeduplicated:
    """A unique lead; `person` takes email, phone and title."""
    return LeadDeduplicated(
        source="web-form",
        person=Person(**person),
        company=Company(name=company, employees=employees),
        product_interest=list(interest),
        quality=Quality(score=0.5),
        original={},
        dedup=DedupVerdict(verdict="new"),
    )


def contributions(scored_lead: LeadDeduplicated) -> dict[str, float]:
    return {f.name: f.contribution for f in score_lead(scored_lead).factors}


# --- thresholds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "score", "grade", "temperature"),
    [
        # 20 + company email 15 + phone 10 + company 10 + senior title 20
        ({"email": "ceo@yunfan.cn", "phone": "1", "company": "云帆", "title": "CEO"}, 75, "A", "hot"),
        # 20 + 15 + 10 + 10 + manager 10 + 10..99 employees 5
        ({"email": "m@yunfan.cn", "phone": "1", "company": "云帆", "title": "经理", "employees": 10}, 70, "B", "warm"),
        ({"email": "x@yunfan.cn", "phone": "1", "company": "云帆"}, 55, "B", "warm"),
        ({"email": "x@yunfan.cn", "phone": "1", "employees": 99}, 50, "C", "warm"),
        ({"email": "x@yunfan.cn", "employees": 9}, 35, "C", "cold"),
        ({"phone": "1"}, 30, "D", "cold"),
    ],
)
def test_grade_and_temperature_at_the_thresholds(
    kwargs: dict[str, Any], score: int, grade: str, temperature: str
) -> None:
    result = score_lead(lead(**kwargs))
    assert (result.score, result.grade, result.temperature) == (score, grade, temperature)


@pytest.mark.parametrize(("employees", "points"), [(9, 0), (10, 5), (99, 5), (100, 10), (999, 10), (1000, 15)])
def test_company_size_steps(employees: int, points: int) -> None:
    assert contributions(lead(phone="1", employees=employees)).get("company_size", 0) == points


# --- contact factors -------------------------------------------------------------------------------


@pytest.mark.parametrize("free", sorted(domain.FREE_MAIL))
def test_free_mail_costs_points_instead_of_earning_them(free: str) -> None:
    factors = contributions(lead(email=f"wang@{free}"))
    assert factors == {"free_mail": -5}
    assert score_lead(lead(email=f"wang@{free}")).score == BASE - 5


def test_company_email_earns_points_and_names_its_domain() -> None:
    [factor] = score_lead(lead(email="wang@yunfan.cn")).factors
    assert (factor.name, factor.contribution, factor.detail) == ("company_email", 15, "yunfan.cn")


def test_factors_without_contribution_are_left_out() -> None:
    assert score_lead(lead()).factors == []
    assert score_lead(lead()).score == BASE


# --- seniority -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "points"),
    [
        ("CEO", 20),
        ("Co-Founder", 20),
        ("Vice President, Sales", 20),
        ("Head of Marketing", 20),
        ("IT Director", 20),
        ("销售总监", 20),
        ("总经理", 20),  # contains 经理, but the senior match wins
        ("副总裁", 20),
        ("创始人", 20),
        ("Sales Manager", 10),
        ("Team Lead", 10),
        ("销售经理", 10),
        ("市场主管", 10),
        ("Software Engineer", 0),
        ("工程师", 0),
        (None, 0),
    ],
)
def test_seniority_from_english_and_chinese_titles(title: str | None, points: int) -> None:
    assert contributions(lead(phone="1", title=title)).get("seniority", 0) == points


@pytest.mark.parametrize("title", ["Marketing Coordinator", "Doctor of Pharmacy"])
def test_junior_titles_containing_a_senior_abbreviation_earn_no_seniority(title: str) -> None:
    assert "seniority" not in contributions(lead(phone="1", title=title))


# --- clamping and order ----------------------------------------------------------------------------


def test_every_factor_at_once_reaches_exactly_100() -> None:
    best = lead(email="ceo@yunfan.cn", phone="1", company="云帆", title="CEO", employees=5000, interest=("crm",))
    assert score_lead(best).score == 100
    assert score_lead(best).grade == "A"


@pytest.mark.parametrize(("contribution", "score", "grade"), [(500, 100, "A"), (-500, 0, "D")])
def test_score_is_clamped_to_0_100(
    monkeypatch: pytest.MonkeyPatch, contribution: float, score: int, grade: str
) -> None:
    monkeypatch.setattr(domain, "_fit_factors", lambda _: [Factor(name="extreme", contribution=contribution)])
    result = score_lead(lead(phone="1"))
    assert (result.score, result.grade) == (score, grade)


def test_factors_are_sorted_by_absolute_contribution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        domain,
        "_fit_factors",
        lambda _: [Factor(name="small", contribution=3), Factor(name="penalty", contribution=-30)],
    )
    names = [f.name for f in score_lead(lead(email="wang@qq.com", phone="1")).factors]
    assert names == ["penalty", "phone", "free_mail", "small"]  # |-30| > 10 > |-5| > 3


def test_real_factors_come_largest_first() -> None:
    result = score_lead(lead(email="wang@qq.com", phone="1", title="CTO", employees=5000))
    assert [f.name for f in result.factors] == ["seniority", "company_size", "phone", "free_mail"]
