"""Placeholder rule scoring (issue 5 brings the YAML points model and learning): explainable factors."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from shared.schemas.events import LeadDeduplicated

MODEL_VERSION = "rules-placeholder-1"
FREE_MAIL = frozenset(
    {"gmail.com", "qq.com", "163.com", "126.com", "outlook.com", "hotmail.com", "yahoo.com", "sina.com"}
)
_SENIOR = (
    "ceo",
    "cto",
    "cfo",
    "coo",
    "founder",
    "owner",
    "president",
    "vp",
    "vice president",
    "director",
    "head",
    "总经理",
    "总裁",
    "董事",
    "总监",
    "副总",
    "创始人",
    "负责人",
)
_MANAGER = ("manager", "lead", "经理", "主管")
GRADE_THRESHOLDS: tuple[tuple[int, Literal["A", "B", "C"]], ...] = ((75, "A"), (55, "B"), (35, "C"))


def _title_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """Latin words match whole words only ("coordinator" is no COO); Chinese terms match anywhere."""
    latin = "|".join(re.escape(w) for w in words if w.isascii())
    chinese = "|".join(re.escape(w) for w in words if not w.isascii())
    return re.compile(rf"\b(?:{latin})\b|{chinese}")


_SENIOR_RE = _title_pattern(_SENIOR)
_MANAGER_RE = _title_pattern(_MANAGER)


@dataclass(frozen=True)
class Factor:
    """One explained contribution to a score (the scored event carries them as objects)."""

    name: str
    contribution: float
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Score:
    score: int
    grade: Literal["A", "B", "C", "D"]
    temperature: Literal["hot", "warm", "cold"]
    factors: list[Factor]


def score_lead(lead: LeadDeduplicated) -> Score:
    """Sum the factors, clamp to 0-100, grade and temperature by thresholds."""
    factors = [f for f in (*_contact_factors(lead), *_fit_factors(lead)) if f.contribution]
    total = max(0, min(100, 20 + int(sum(f.contribution for f in factors))))
    grade: Literal["A", "B", "C", "D"] = next((g for floor, g in GRADE_THRESHOLDS if total >= floor), "D")
    temperature: Literal["hot", "warm", "cold"] = "hot" if total >= 75 else "warm" if total >= 50 else "cold"
    return Score(total, grade, temperature, sorted(factors, key=lambda f: -abs(f.contribution)))


def _contact_factors(lead: LeadDeduplicated) -> list[Factor]:
    email = lead.person.email or ""
    domain = email.rpartition("@")[2]
    return [
        Factor("company_email", 15 if email and domain not in FREE_MAIL else 0, domain or None),
        Factor("free_mail", -5 if domain in FREE_MAIL else 0, domain or None),
        Factor("phone", 10 if lead.person.phone else 0),
        Factor("company_named", 10 if lead.company.name else 0),
    ]


def _fit_factors(lead: LeadDeduplicated) -> list[Factor]:
    title = (lead.person.title or "").lower()
    seniority = 20 if _SENIOR_RE.search(title) else 10 if _MANAGER_RE.search(title) else 0
    employees = lead.company.employees or 0
    size = 15 if employees >= 1000 else 10 if employees >= 100 else 5 if employees >= 10 else 0
    return [
        Factor("seniority", seniority, "title" if lead.person.title else None),
        Factor("company_size", size, str(employees) if employees else None),
        Factor("product_interest", 10 if lead.product_interest else 0),
    ]
