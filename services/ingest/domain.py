"""Pure ingest logic: validate a captured submission, normalise it, derive its lead id."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from services.ingest.normalising import Normalisation, contact_errors, normalise_lead
from services.ingest.sanitise import clean_strings, oversized
from shared.normalise import RegionTables, load_tables
from shared.schemas.envelope import LEADFLOW_NS
from shared.schemas.events import FieldError, LeadCaptured, LeadIngested, LeadRejected, LeadResubmitted

CLOCK_SKEW = timedelta(minutes=5)
# Fields ingest sets itself: a channel's own keys of these names stay in `original` only.
_OURS = (set(LeadIngested.model_fields) - set(LeadCaptured.model_fields)) | {"person", "company", "captured_at"}
_CARRIED = tuple(name for name in LeadCaptured.model_fields if name not in _OURS)


@dataclass(frozen=True)
class IngestRules:
    """What normalisation depends on besides the submission: region table, default phone region per channel."""

    tables: RegionTables = field(default_factory=load_tables)
    default_country: str | None = "CN"
    channel_countries: Mapping[str, str] = field(default_factory=dict)
    size_bands: tuple[tuple[int, str], ...] | None = None

    def country_for(self, source: str | None) -> str | None:
        return self.channel_countries.get(source or "") or self.default_country


@dataclass(frozen=True)
class Accepted:
    lead_id: uuid.UUID
    payload: dict[str, Any]  # the leads.ingested.v1 payload, JSON-ready

    @property
    def lead(self) -> LeadIngested:
        """The payload as the model (validates: for tests and callers that want attributes)."""
        return LeadIngested.model_validate(self.payload)


@dataclass(frozen=True)
class Rejected:
    rejection: LeadRejected


def lead_id_for(source: str, external_id: str | None, event_id: uuid.UUID) -> uuid.UUID:
    """Deterministic: a re-sent (source, external_id) gets the same id; without one, the event's own."""
    if external_id:
        return uuid.uuid5(LEADFLOW_NS, f"lead/{source}/{external_id}")
    return uuid.uuid5(LEADFLOW_NS, f"lead-event/{event_id}")


DEFAULT_RULES: IngestRules | None = None


def default_rules() -> IngestRules:
    global DEFAULT_RULES  # noqa: PLW0603 -- the packaged tables load once, on first use
    if DEFAULT_RULES is None:
        DEFAULT_RULES = IngestRules()
    return DEFAULT_RULES


def ingest(
    raw: Any, event_id: uuid.UUID, *, now: datetime, rules: IngestRules | None = None, require_contact: bool = True
) -> Accepted | Rejected:
    """Validate and normalise one submission; never raises on bad input.

    `require_contact=False` is for offline evaluation (`leadflow dedup-eval` on data sets without a
    phone or email): the service always requires a way to reach the person.
    """
    rules = rules or default_rules()
    if not isinstance(raw, dict):
        error = FieldError(field="<root>", code="not_an_object", message="a submission is a JSON object")
        return Rejected(_rejection({"value": raw}, [error]))
    if errors := oversized(raw):
        return Rejected(_rejection(raw, errors))
    cleaned, had_controls = clean_strings(raw)
    try:
        captured = LeadCaptured.model_validate(cleaned)
    except ValidationError as exc:
        return Rejected(_rejection(raw, _field_errors(exc)))
    result = normalise_lead(captured, default_country=rules.country_for(captured.source), rules=rules)
    if require_contact and (errors := contact_errors(result)):
        return Rejected(_rejection(raw, errors))
    flags = ["control_characters_removed"] if had_controls else []
    lead = _lead(captured, result, raw, now=now, flags=flags)
    return Accepted(lead_id_for(captured.source, captured.external_id, event_id), lead)


def _lead(
    captured: LeadCaptured, n: Normalisation, raw: dict[str, Any], *, now: datetime, flags: list[str]
) -> dict[str, Any]:
    """The `leads.ingested.v1` payload as a JSON-ready dict (the unit tests validate it against the model)."""
    captured_at = captured.captured_at
    inferred = list(n.inferred)
    if captured_at is None:
        captured_at, inferred = now, [*inferred, "captured_at"]
    elif captured_at > now + CLOCK_SKEW:
        captured_at, flags = now, [*flags, "captured_at_in_future"]
    may_email = bool(captured.consent and captured.consent.marketing)
    if not may_email:
        flags = [*flags, "no_marketing_consent"]
    lead = {name: _plain(getattr(captured, name)) for name in _CARRIED}
    # A channel's own keys named like ours stay in `original` only.
    lead.update((k, v) for k, v in (captured.model_extra or {}).items() if k not in _OURS)
    lead.update(
        captured_at=captured_at,
        person=n.person,
        company=n.company,
        location=n.location,
        quality=n.quality(inferred=inferred, flags=[*n.flags, *flags]),
        original=raw,
        normalised=n.details,
        may_email=may_email,
    )
    return {k: v for k, v in lead.items() if v is not None}


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json", exclude_none=True) if isinstance(value, BaseModel) else value


def resubmission(lead: dict[str, Any], *, times_seen: int, first_seen_at: datetime) -> LeadResubmitted:
    return LeadResubmitted(
        source=lead["source"],
        external_id=lead.get("external_id") or "",
        times_seen=times_seen,
        first_seen_at=first_seen_at,
        campaign=lead.get("campaign"),
        product_interest=lead.get("product_interest", []),
        original=lead["original"],
    )


_ATTRIBUTE_TYPES = {"str", "int", "float", "bool"}


def _field_errors(exc: ValidationError) -> list[FieldError]:
    """One error per field; an attribute of the wrong type is one error, not one per union member."""
    errors: dict[str, FieldError] = {}
    for e in exc.errors(include_input=False):
        loc = [str(p) for p in e["loc"]]
        if loc[:1] == ["attributes"] and len(loc) == 3 and loc[-1] in _ATTRIBUTE_TYPES:
            field = ".".join(loc[:2])
            errors[field] = FieldError(
                field=field, code="attribute_type", message="an attribute is a string, a number or a boolean"
            )
            continue
        field = ".".join(loc) or "<root>"
        errors.setdefault(field, FieldError(field=field, code=e["type"], message=e["msg"]))
    return list(errors.values())


def _rejection(raw: dict[str, Any], errors: list[FieldError]) -> LeadRejected:
    source = raw.get("source") if isinstance(raw.get("source"), str) else None
    external_id = raw.get("external_id") if isinstance(raw.get("external_id"), str) else None
    return LeadRejected(source=source, external_id=external_id, errors=errors, original=raw)
