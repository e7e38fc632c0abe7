"""The v1 payload of every public topic (ARCHITECTURE.md §4), and the topic → model map."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from shared.schemas import topics as t
from shared.schemas.parts import (
    AttributeValue,
    Candidate,
    CandidateRep,
    Company,
    CompanyDetail,
    Consent,
    Decision,
    EmailDetail,
    Evidence,
    Factor,
    FieldError,
    Firmographics,
    Location,
    NameDetail,
    Normalised,
    Person,
    PhoneDetail,
    Quality,
    RuleCheck,
    Utm,
    _Model,
)

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
    received_at: AwareDatetime | None = Field(
        default=None,
        description="when the channel handed the submission in (the captured event's time): capture → outcome "
        "latency (additive in v1)",
    )


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
    score: float | None = Field(default=None, description="match score of the best candidate")
    rule: str | None = Field(default=None, description="no_candidate, below_threshold, history or the strongest rule")
    evidence: list[Evidence] = Field(default_factory=list, description="the comparison with the best candidate")
    thresholds: dict[str, float] = Field(default_factory=dict, description="merge and review thresholds used")
    history_of: uuid.UUID | None = Field(
        default=None, description="an earlier lead of this person, last seen before the merge window"
    )
    unmerged_from: uuid.UUID | None = Field(default=None, description="set when an unmerge sends the lead on")


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
    score: float | None = Field(default=None, description="match score (sum of the evidence weights)")
    rule: str | None = Field(default=None, description="the strongest agreeing rule")
    conflicts: dict[str, Any] = Field(
        default_factory=dict, description="the newcomer's values that differ from the survivor's, kept as history"
    )
    sources: list[str] = Field(default_factory=list, description="every channel the person came through so far")
    times_seen: int | None = Field(default=None, description="leads folded into the survivor, itself included")


class LeadScored(LeadDeduplicated):
    """`leads.scored.v1`."""

    enrichment: dict[str, Any] = Field(default_factory=dict)
    score: int = Field(ge=0, le=100)
    grade: Literal["A", "B", "C", "D"]
    temperature: Literal["hot", "warm", "cold"]
    factors: list[Factor] = Field(default_factory=list)
    model_version: str
    reason: Literal["new_lead", "reengaged", "model_update"] = "new_lead"
    # additive in v1 (issue 5): both parts of the blended score, and the re-engagement's own reason
    rule_points: float | None = Field(default=None, description="the YAML points model's score, 0-100")
    model_points: float | None = Field(
        default=None, description="the learned model's score, 0-100 (50 = an average lead); absent in cold start"
    )
    reason_detail: str | None = Field(default=None, description="why it was re-scored, e.g. the re-engagement reason")


Strategy = Literal[
    "round_robin", "weighted", "least_loaded", "claim", "manager", "owner_stickiness", "named_rep"  # named_rep: v1+
]


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
    stage: str | None = Field(
        default=None, description="intake, or qualified after a qualification team (additive in v1)"
    )
    previous_rep_id: str | None = Field(default=None, description="who had it before (additive in v1)")


class LeadPooled(_Model):
    """`leads.pooled.v1` — the lead went to the shared pool (公海)."""

    lead_id: uuid.UUID
    reason: str
    rule_id: str | None = None
    rule_set_version: str | None = None
    grade: Literal["A", "B", "C", "D"] | None = None
    previous_rep_id: str | None = None
    may_email: bool | None = Field(default=None, description="marketing consent, for nurture (additive in v1)")


class LeadDeferred(_Model):
    """`leads.deferred.v1` — not sales-ready; nurture takes it."""

    lead_id: uuid.UUID
    track: str
    reason: str
    rule_id: str | None = None
    rule_set_version: str | None = None
    may_email: bool | None = Field(default=None, description="marketing consent, for nurture (additive in v1)")
    grade: Literal["A", "B", "C", "D"] | None = Field(default=None, description="(additive in v1)")


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


class DedupCommand(_Model):
    """`dedup.commands.v1` — an operator's correction, e.g. undoing a wrong merge."""

    command: Literal["unmerge"]
    lead_id: uuid.UUID = Field(description="the merged lead to restore")
    by: str | None = Field(default=None, description="who asked")
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
    to: Literal["owner", "manager"] = Field(default="owner", description="who is told (additive in v1)")


class LeadRecycled(_Model):
    """`leads.recycled.v1` — the follow-up deadline passed; back to routing."""

    lead_id: uuid.UUID
    assignment_id: uuid.UUID
    previous_rep_id: str
    team_id: str | None = None
    reason: str
    exclude_rep_ids: list[str] = Field(default_factory=list)
    then: Literal["reassign", "pool"] = Field(
        default="reassign",
        description="the nurture policy: reassign (previous owner excluded) or pool (additive in v1)",
    )


class LeadReengaged(_Model):
    """`leads.reengaged.v1`."""

    lead_id: uuid.UUID
    reason: str
    engagement_score: float = 0.0
    owner_rep_id: str | None = Field(
        default=None, description="set when the lead has an active owner: a signal for them, not a re-route (v1+)"
    )


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
    t.DEDUP_COMMANDS: DedupCommand,
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

__all__ = [
    "PAYLOADS",
    "AttributeValue",
    "Candidate",
    "CandidateRep",
    "Company",
    "CompanyDetail",
    "Consent",
    "Decision",
    "DedupCommand",
    "DedupVerdict",
    "EmailDetail",
    "ErasureCompleted",
    "ErasureRequested",
    "ErasureSubject",
    "Evidence",
    "Factor",
    "FieldError",
    "Firmographics",
    "LeadArchived",
    "LeadAssigned",
    "LeadCaptured",
    "LeadDeduplicated",
    "LeadDeferred",
    "LeadIngested",
    "LeadMerged",
    "LeadPooled",
    "LeadRecycled",
    "LeadReengaged",
    "LeadRejected",
    "LeadResubmitted",
    "LeadScored",
    "Location",
    "MarketingEngagement",
    "NameDetail",
    "Normalised",
    "Person",
    "PhoneDetail",
    "PoolCommand",
    "PoolCommandRejected",
    "Quality",
    "RepStatus",
    "RuleCheck",
    "SalesActivity",
    "SlaWarned",
    "TouchRequested",
    "Utm",
]
