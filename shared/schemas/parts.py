"""The parts v1 payloads are made of: people, companies, locations, quality, normalised details, decisions."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

AttributeValue = str | int | float | bool


class _Model(BaseModel):
    # Unknown fields are kept, not refused: producers may add optional fields (additive changes).
    model_config = ConfigDict(extra="allow")


# --- parts -------------------------------------------------------------------------------------


class Utm(_Model):
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    term: str | None = None
    content: str | None = None


class Person(_Model):
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    title: str | None = None
    phone: str | None = None
    email: str | None = None
    wechat: str | None = None


class Company(_Model):
    name: str | None = None
    domain: str | None = None
    industry: str | None = None
    employees: int | None = Field(default=None, ge=0)
    annual_revenue: float | None = Field(default=None, ge=0)
    country: str | None = None
    region: str | None = Field(default=None, description="province or state as the channel gave it")
    city: str | None = None
    address: str | None = Field(default=None, description="street address (additive in v1, for matching)")
    postcode: str | None = Field(default=None, description="postal code (additive in v1, for matching)")


class Consent(_Model):
    marketing: bool | None = None
    basis: str | None = None
    captured_at: AwareDatetime | None = None


class Location(_Model):
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    province: str | None = None
    city: str | None = None
    sales_region: str | None = Field(default=None, description="the sales region routing rules use")


class Quality(_Model):
    present: list[str] = Field(default_factory=list)
    invalid: list[str] = Field(default_factory=list)
    score: float = Field(ge=0, le=1, description="share of the scored fields present and valid")
    inferred: list[str] = Field(default_factory=list, description="fields filled in by ingest, e.g. location.province")
    flags: list[str] = Field(
        default_factory=list, description="what ingest noticed and corrected, e.g. captured_at_in_future"
    )


class PhoneDetail(_Model):
    e164: str | None = None
    valid: bool
    kind: str = Field(description="mobile, landline, mobile_or_landline, toll_free, voip, other or unknown")
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2 of the number")
    province: str | None = None
    city: str | None = None
    location: str | None = Field(default=None, description="where the numbering plan places the number")
    error: str | None = None


class EmailDetail(_Model):
    normalised: str | None = None
    canonical: str | None = Field(default=None, description="provider folding (gmail dots, +tags) for matching")
    domain: str | None = None
    free_mail: bool = False
    valid: bool
    error: str | None = None


class NameDetail(_Model):
    full: str
    family: str | None = None
    given: str | None = None
    script: str = Field(description="han, latin, mixed or other")
    pinyin: str | None = None
    key: str = Field(description="match key: simplified characters, or folded sorted Latin tokens")
    honorific: str | None = None


class CompanyDetail(_Model):
    original: str
    normalised: str = Field(description="display form: half-width, simplified, legal form kept")
    core: str = Field(description="match key: without legal form, location prefix and punctuation")
    legal_form: str | None = None


class Firmographics(_Model):
    size_band: str | None = None
    industry: str | None = Field(default=None, description="code in the standard industry taxonomy")
    industry_label: str | None = None


class Normalised(_Model):
    phone: PhoneDetail | None = None
    email: EmailDetail | None = None
    name: NameDetail | None = None
    company: CompanyDetail | None = None
    firmographics: Firmographics = Field(default_factory=Firmographics)


class FieldError(_Model):
    field: str = Field(description="dotted path of the field, e.g. person.email")
    code: str
    message: str


class Candidate(_Model):
    lead_id: uuid.UUID
    rule: str
    score: float
    in_window: bool | None = Field(default=None, description="last seen within the merge window")


class Evidence(_Model):
    rule: str
    keys: list[str] = Field(default_factory=list, description="key kinds that matched, e.g. email")
    score: float = Field(default=1.0, description="similarity of the compared values, 0-1")
    weight: float | None = Field(
        default=None, description="what this comparison added to the match score (negative: it disagreed)"
    )


class Factor(_Model):
    name: str
    contribution: float
    detail: str | None = None


class CandidateRep(_Model):
    rep_id: str
    selected: bool = False
    reason: str
    code: str | None = Field(
        default=None,
        description="why, for machines: selected, inactive, offline, vacation, excluded, skill_mismatch, off_hours,"
        " day_cap, week_cap, open_cap, higher_pointer, more_open_leads (additive in v1)",
    )
    team_id: str | None = Field(default=None, description="the team it was considered in (additive in v1)")
    pointer: float | None = Field(default=None, description="its round-robin pointer before this lead (additive in v1)")
    open_leads: int | None = Field(default=None, description="its open leads before this lead (additive in v1)")


class RuleCheck(_Model):
    rule_id: str
    matched: bool
    why: str = Field(description="the first condition that failed, or what matched")


class Decision(_Model):
    rule_id: str
    rule_set_version: str
    matched: dict[str, Any] = Field(default_factory=dict, description="the conditions that matched")
    candidates: list[CandidateRep] = Field(default_factory=list)
    explanation: str
    stage: str | None = Field(default=None, description="the rule-set stage routed in (additive in v1)")
    rules_checked: list[RuleCheck] = Field(
        default_factory=list, description="every rule checked, in order, up to the match (additive in v1)"
    )
    path: list[str] = Field(
        default_factory=list, description="each team tried, in fallback order, and why it gave no rep (additive in v1)"
    )
