"""The v1 payload of every public topic (ARCHITECTURE.md §4), and the topic → model map."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.schemas import topics as t

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


class Evidence(_Model):
    rule: str
    keys: list[str] = Field(default_factory=list, description="key kinds that matched, e.g. email")
    score: float = 1.0


class Factor(_Model):
    name: str
    contribution: float
    detail: str | None = None


class CandidateRep(_Model):
    rep_id: str
    selected: bool = False
    reason: str


class Decision(_Model):
    rule_id: str
    rule_set_version: str
    matched: dict[str, Any] = Field(default_factory=dict, description="the conditions that matched")
    candidates: list[CandidateRep] = Field(default_factory=list)
    explanation: str


# --- lead events -------------------------------------------------------------------------------


class LeadCaptured(_Model):
    """`leads.captured.v1` — what channels send."""

    source: str = Field(min_length=1, description="channel id")
    external_id: str | None = None
    captured_at: AwareDatetime | None = None
    campaign: str | None = None
    utm: Utm | None = None
    person: Person = Field(default_factory=Person)
    company: Company = Field(default_factory=Company)
    product_interest: list[str] = Field(default_factory=list)
    message: str | None = None
    consent: Consent | None = None
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)


class LeadIngested(LeadCaptured):
    """`leads.ingested.v1` — the normalised lead."""

    location: Location = Field(default_factory=Location)
    quality: Quality
    original: dict[str, Any] = Field(description="the submission as captured, for audit")
    normalised: Normalised = Field(default_factory=Normalised, description="what ingest derived from the raw fields")
    may_email: bool = Field(default=False, description="marketing consent was given: nurture may email")


class LeadResubmitted(_Model):
    """`leads.resubmitted.v1` — a channel sent (source, external_id) again: no second lead, a sign of interest."""

    source: str
    external_id: str
    times_seen: int = Field(ge=2, description="submissions of this key so far, this one included")
    first_seen_at: AwareDatetime
    campaign: str | None = None
    product_interest: list[str] = Field(default_factory=list)
    original: dict[str, Any] = Field(description="the repeated submission as captured")


class LeadRejected(_Model):
    """`leads.rejected.v1` — nothing a channel sends is silently dropped."""

    source: str | None = None
    external_id: str | None = None
    errors: list[FieldError] = Field(min_length=1)
    original: dict[str, Any]


class DedupVerdict(_Model):
    verdict: Literal["new", "possible_duplicate"]
    possible_duplicate_of: uuid.UUID | None = None
    candidates: list[Candidate] = Field(default_factory=list, description="best candidates below threshold")


class LeadDeduplicated(LeadIngested):
    """`leads.deduplicated.v1` — a new, unique lead."""

    dedup: DedupVerdict


class LeadMerged(_Model):
    """`leads.merged.v1` — a submission folded into an existing lead."""

    lead_id: uuid.UUID = Field(description="the submission's lead id")
    surviving_lead_id: uuid.UUID
    source: str | None = None
    evidence: list[Evidence] = Field(min_length=1)
    changed_fields: dict[str, Any] = Field(default_factory=dict)


class LeadScored(LeadDeduplicated):
    """`leads.scored.v1`."""

    enrichment: dict[str, Any] = Field(default_factory=dict)
    score: int = Field(ge=0, le=100)
    grade: Literal["A", "B", "C", "D"]
    temperature: Literal["hot", "warm", "cold"]
    factors: list[Factor] = Field(default_factory=list)
    model_version: str
    reason: Literal["new_lead", "reengaged", "model_update"] = "new_lead"


Strategy = Literal["round_robin", "weighted", "least_loaded", "claim", "manager", "owner_stickiness"]


class LeadAssigned(_Model):
    """`leads.assigned.v1`."""

    assignment_id: uuid.UUID
    lead_id: uuid.UUID
    rep_id: str
    team_id: str
    rule_id: str
    rule_set_version: str
    strategy: Strategy
    attempt: int = Field(ge=1)
    follow_up_due_at: AwareDatetime | None = None
    grade: Literal["A", "B", "C", "D"] | None = None
    reason: str = Field(default="new_lead", description="new_lead, recycled, rejected, claim, manager")
    decision: Decision


class LeadPooled(_Model):
    """`leads.pooled.v1` — the lead went to the shared pool (公海)."""

    lead_id: uuid.UUID
    reason: str
    rule_id: str | None = None
    rule_set_version: str | None = None
    grade: Literal["A", "B", "C", "D"] | None = None
    previous_rep_id: str | None = None


class LeadDeferred(_Model):
    """`leads.deferred.v1` — not sales-ready; nurture takes it."""

    lead_id: uuid.UUID
    track: str
    reason: str
    rule_id: str | None = None
    rule_set_version: str | None = None


# --- from sales and marketing ------------------------------------------------------------------

ActivityKind = Literal[
    "accepted", "rejected", "contacted", "follow_up", "qualified", "disqualified", "converted", "lost"
]


class SalesActivity(_Model):
    """`sales.activity.v1`."""

    lead_id: uuid.UUID
    assignment_id: uuid.UUID | None = None
    rep_id: str | None = None
    kind: ActivityKind
    reason: str | None = None
    at: AwareDatetime
    deal_value: float | None = Field(default=None, ge=0)


class RepStatus(_Model):
    """`sales.rep_status.v1`."""

    rep_id: str
    status: Literal["online", "offline", "vacation"]
    until: AwareDatetime | None = None
    reason: str | None = None


class PoolCommand(_Model):
    """`pool.commands.v1`."""

    command: Literal["claim", "release", "assign"]
    lead_id: uuid.UUID
    rep_id: str
    by: str | None = Field(default=None, description="the manager, for assign")
    reason: str | None = None


class PoolCommandRejected(_Model):
    """`pool.command_rejected.v1`."""

    command: PoolCommand
    code: str
    message: str


class MarketingEngagement(_Model):
    """`marketing.engagement.v1`."""

    lead_id: uuid.UUID
    kind: Literal["email_open", "email_click", "web_visit", "form_submit", "reply", "unsubscribe"]
    at: AwareDatetime
    campaign: str | None = None
    details: dict[str, AttributeValue] = Field(default_factory=dict)


# --- from nurture ------------------------------------------------------------------------------


class TouchRequested(_Model):
    """`nurture.touch_requested.v1`."""

    lead_id: uuid.UUID
    track: str
    step: int = Field(ge=1)
    channel: Literal["email", "sms", "call", "wechat"]
    template_id: str


class SlaWarned(_Model):
    """`leads.sla_warned.v1`."""

    lead_id: uuid.UUID
    assignment_id: uuid.UUID
    rep_id: str
    team_id: str | None = None
    recycle_at: AwareDatetime
    level: int = Field(default=1, ge=1)


class LeadRecycled(_Model):
    """`leads.recycled.v1` — the follow-up deadline passed; back to routing."""

    lead_id: uuid.UUID
    assignment_id: uuid.UUID
    previous_rep_id: str
    team_id: str | None = None
    reason: str
    exclude_rep_ids: list[str] = Field(default_factory=list)


class LeadReengaged(_Model):
    """`leads.reengaged.v1`."""

    lead_id: uuid.UUID
    reason: str
    engagement_score: float = 0.0


class LeadArchived(_Model):
    """`leads.archived.v1`."""

    lead_id: uuid.UUID
    track: str | None = None
    reason: str


# --- privacy -----------------------------------------------------------------------------------


class ErasureSubject(_Model):
    lead_id: uuid.UUID | None = None
    email: str | None = None
    phone: str | None = None


class ErasureRequested(_Model):
    """`privacy.erasure_requested.v1` (PIPL art. 47, GDPR art. 17)."""

    request_id: uuid.UUID
    subject: ErasureSubject
    reason: str | None = None


class ErasureCompleted(_Model):
    """`privacy.erasure_completed.v1`."""

    request_id: uuid.UUID
    service: str
    lead_ids: list[uuid.UUID] = Field(default_factory=list)
    records_removed: int = Field(ge=0)


PAYLOADS: dict[str, type[BaseModel]] = {
    t.LEADS_CAPTURED: LeadCaptured,
    t.LEADS_INGESTED: LeadIngested,
    t.LEADS_REJECTED: LeadRejected,
    t.LEADS_RESUBMITTED: LeadResubmitted,
    t.LEADS_DEDUPLICATED: LeadDeduplicated,
    t.LEADS_MERGED: LeadMerged,
    t.LEADS_SCORED: LeadScored,
    t.LEADS_ASSIGNED: LeadAssigned,
    t.LEADS_POOLED: LeadPooled,
    t.LEADS_DEFERRED: LeadDeferred,
    t.SALES_ACTIVITY: SalesActivity,
    t.SALES_REP_STATUS: RepStatus,
    t.POOL_COMMANDS: PoolCommand,
    t.POOL_COMMAND_REJECTED: PoolCommandRejected,
    t.MARKETING_ENGAGEMENT: MarketingEngagement,
    t.NURTURE_TOUCH_REQUESTED: TouchRequested,
    t.LEADS_SLA_WARNED: SlaWarned,
    t.LEADS_RECYCLED: LeadRecycled,
    t.LEADS_REENGAGED: LeadReengaged,
    t.LEADS_ARCHIVED: LeadArchived,
    t.PRIVACY_ERASURE_REQUESTED: ErasureRequested,
    t.PRIVACY_ERASURE_COMPLETED: ErasureCompleted,
}
