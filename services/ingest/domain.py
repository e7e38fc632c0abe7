"""Pure ingest logic: validate a captured submission, normalise it, derive its lead id."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from services.ingest.regions import clean_province, country_code, sales_region
from shared.schemas.envelope import LEADFLOW_NS
from shared.schemas.events import FieldError, LeadCaptured, LeadIngested, LeadRejected, Location, Quality

QUALITY_FIELDS = (
    "person.name",
    "person.title",
    "person.phone",
    "person.email",
    "company.name",
    "company.domain",
    "company.industry",
    "company.employees",
    "company.country",
    "company.region",
    "product_interest",
)


@dataclass(frozen=True)
class Accepted:
    lead_id: uuid.UUID
    lead: LeadIngested


@dataclass(frozen=True)
class Rejected:
    rejection: LeadRejected


def lead_id_for(source: str, external_id: str | None, event_id: uuid.UUID) -> uuid.UUID:
    """Deterministic: a re-sent (source, external_id) gets the same id; without one, the event's own."""
    if external_id:
        return uuid.uuid5(LEADFLOW_NS, f"lead/{source}/{external_id}")
    return uuid.uuid5(LEADFLOW_NS, f"lead-event/{event_id}")


def normalise_phone(phone: str | None) -> str | None:
    """Strip to digits, keeping a leading '+' (issue 3 brings E.164 via phonenumbers)."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    if not digits:
        return None
    return ("+" if phone.strip().startswith("+") else "") + digits


def normalise_email(email: str | None) -> str | None:
    if not email or not email.strip():
        return None
    return email.strip().lower()


def ingest(raw: dict[str, Any], event_id: uuid.UUID) -> Accepted | Rejected:
    """Validate and normalise one submission; never raises on bad input."""
    try:
        captured = LeadCaptured.model_validate(raw)
    except ValidationError as exc:
        return Rejected(_rejection(raw, [_field_error(e) for e in exc.errors(include_input=False)]))
    person = captured.person.model_copy(
        update={
            "email": normalise_email(captured.person.email),
            "phone": normalise_phone(captured.person.phone),
            "wechat": (captured.person.wechat or "").strip() or None,
        }
    )
    if not (person.email or person.phone or person.wechat):
        error = FieldError(field="person", code="no_contact", message="needs a phone, an email or a wechat id")
        return Rejected(_rejection(raw, [error]))
    country = country_code(captured.company.country)
    province = clean_province(captured.company.region)
    company = captured.company.model_copy(update={"country": country, "region": province})
    location = Location(
        country=country, province=province, city=captured.company.city, sales_region=sales_region(country, province)
    )
    # `original` keeps everything the channel sent; our own field names are not taken from it.
    fields = captured.model_dump(exclude={"person", "company", "location", "quality", "original"})
    lead = LeadIngested(
        **fields,
        person=person,
        company=company,
        location=location,
        quality=_quality(person, company, captured),
        original=raw,
    )
    return Accepted(lead_id_for(captured.source, captured.external_id, event_id), lead)


def _quality(person: Any, company: Any, captured: LeadCaptured) -> Quality:
    values = {"person": person.model_dump(), "company": company.model_dump()}
    present = [
        f for f in QUALITY_FIELDS if _lookup(values, f) or (f == "product_interest" and captured.product_interest)
    ]
    return Quality(present=present, invalid=[], score=round(len(present) / len(QUALITY_FIELDS), 3))


def _lookup(values: dict[str, Any], dotted: str) -> Any:
    head, _, tail = dotted.partition(".")
    return values.get(head, {}).get(tail) if tail else None


def _field_error(error: Any) -> FieldError:
    return FieldError(
        field=".".join(str(p) for p in error["loc"]) or "<root>", code=error["type"], message=error["msg"]
    )


def _rejection(raw: dict[str, Any], errors: list[FieldError]) -> LeadRejected:
    source = raw.get("source") if isinstance(raw.get("source"), str) else None
    external_id = raw.get("external_id") if isinstance(raw.get("external_id"), str) else None
    return LeadRejected(source=source, external_id=external_id, errors=errors, original=raw)
