"""A validated submission → normalised person, company, location and the data-quality record."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.normalise import (
    DEFAULT_SIZE_BANDS,
    CompanyName,
    EmailInfo,
    PersonName,
    PhoneInfo,
    classify_industry,
    country_code,
    normalise_company,
    normalise_email,
    normalise_person_name,
    normalise_phone,
    resolve_location,
    size_band,
)
from shared.schemas.events import (
    Company,
    CompanyDetail,
    EmailDetail,
    FieldError,
    LeadCaptured,
    NameDetail,
    PhoneDetail,
)

if TYPE_CHECKING:
    from services.ingest.domain import IngestRules

QUALITY_FIELDS = (
    "person.name",
    "person.title",
    "person.phone",
    "person.email",
    "company.name",
    "company.domain",
    "company.industry",
    "company.employees",
    "location.country",
    "location.province",
    "location.city",
    "product_interest",
)
_PHONE = tuple(f for f in PhoneDetail.model_fields if f != "raw")
_EMAIL = tuple(EmailDetail.model_fields)
_NAME = tuple(NameDetail.model_fields)
_COMPANY = tuple(CompanyDetail.model_fields)
_DOMAIN = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:www\.)?([^/?#:\s]+)")
_WECHAT = re.compile(r"^[A-Za-z][-_A-Za-z0-9]{5,19}$|^\+?\d{6,15}$")


@dataclass(frozen=True)
class Normalisation:
    """The normalised parts of a lead, as JSON-ready dicts (they are serialised, not worked with)."""

    person: dict[str, Any]
    company: dict[str, Any]
    location: dict[str, Any]
    details: dict[str, Any]
    phone: PhoneInfo | None
    email: EmailInfo | None
    present: tuple[str, ...]
    invalid: tuple[str, ...]
    inferred: tuple[str, ...]
    flags: tuple[str, ...]
    wechat: str | None

    def quality(self, *, inferred: list[str], flags: list[str]) -> dict[str, Any]:
        good = [f for f in self.present if f not in self.invalid]
        return {
            "present": list(self.present),
            "invalid": list(self.invalid),
            "score": round(len(good) / len(QUALITY_FIELDS), 3),
            "inferred": inferred,
            "flags": flags,
        }


def normalise_lead(captured: LeadCaptured, *, default_country: str | None, rules: IngestRules) -> Normalisation:
    """Every field through the shared normalisers; the raw values stay in the lead's `original`."""
    p, c = captured.person, captured.company
    phone, phone_inferred = _phone(p.phone, country_code(c.country, rules.tables), default_country)
    email = normalise_email(p.email)
    name = normalise_person_name(p.name, p.given_name, p.family_name)
    company_name = normalise_company(c.name)
    location = resolve_location(
        c.country, c.region, c.city, phone=phone if phone and phone.valid else None, tables=rules.tables
    )
    domain, domain_inferred = _company_domain(c.domain, email)
    # Plain dicts, checked against the pydantic models by the unit tests: building models here (even
    # with model_construct) was a third of ingest's time, for objects that are only ever serialised.
    person = _compact(
        {
            **(p.model_extra or {}),
            "name": name.full if name else None,
            "given_name": name.given if name else p.given_name,
            "family_name": name.family if name else p.family_name,
            "title": p.title,
            "phone": phone.e164 if phone and phone.valid else p.phone,
            "email": email.normalised if email and email.valid else p.email,
            "wechat": p.wechat,
        }
    )
    company = _compact(
        {
            **(c.model_extra or {}),
            "name": company_name.normalised if company_name else None,
            "domain": domain,
            "industry": c.industry,
            "employees": c.employees,
            "annual_revenue": c.annual_revenue,
            "country": location.country,
            "region": location.province,
            "city": location.city,
            "address": _collapse(c.address),
            "postcode": _collapse(c.postcode),
        }
    )
    loc = _compact(
        {
            "country": location.country,
            "province": location.province,
            "city": location.city,
            "sales_region": location.sales_region,
        }
    )
    invalid = _invalid(phone, email, p.wechat)
    inferred = (
        tuple(f"location.{f}" for f in location.inferred)
        + (("company.domain",) if domain_inferred else ())
        + (("person.phone_region",) if phone_inferred else ())
    )
    flags = tuple(f"{f.replace('.', '_')}_invalid" for f in invalid)
    present = tuple(f for f in QUALITY_FIELDS if _is_present(f, person, company, loc, captured))
    details = _details(phone=phone, email=email, name=name, company_name=company_name, c=c, rules=rules)
    return Normalisation(person, company, loc, details, phone, email, present, invalid, inferred, flags, p.wechat)


def _phone(raw: str | None, lead_country: str | None, channel_country: str | None) -> tuple[PhoneInfo | None, bool]:
    """Read a national number in the lead's country; if it is no number there, in the channel's (inferred).

    A Chinese channel's lead for a US company often carries the contact's Chinese mobile without +86.
    """
    phone = normalise_phone(raw, lead_country or channel_country)
    if phone is None or phone.valid or not lead_country or not channel_country or lead_country == channel_country:
        return phone, False
    again = normalise_phone(raw, channel_country)
    return (again, True) if again is not None and again.valid else (phone, False)


def _details(  # noqa: PLR0913 -- one normaliser result each
    *,
    phone: PhoneInfo | None,
    email: EmailInfo | None,
    name: PersonName | None,
    company_name: CompanyName | None,
    c: Company,
    rules: IngestRules,
) -> dict[str, Any]:
    industry = classify_industry(c.industry)
    return _compact(
        {
            "phone": _fields(phone, _PHONE),
            "email": _fields(email, _EMAIL),
            "name": _fields(name, _NAME),
            "company": _fields(company_name, _COMPANY),
            "firmographics": _compact(
                {
                    "size_band": size_band(c.employees, rules.size_bands or DEFAULT_SIZE_BANDS),
                    "industry": industry.code if industry else None,
                    "industry_label": industry.label if industry else None,
                }
            ),
        }
    )


def _invalid(phone: PhoneInfo | None, email: EmailInfo | None, wechat: str | None) -> tuple[str, ...]:
    invalid = []
    if phone is not None and not phone.valid:
        invalid.append("person.phone")
    if email is not None and not email.valid:
        invalid.append("person.email")
    if wechat is not None and not _WECHAT.match(wechat):
        invalid.append("person.wechat")
    return tuple(invalid)


def contact_errors(n: Normalisation) -> list[FieldError]:
    """A lead needs one way to reach the person; invalid contacts alone are no way."""
    phone, email = n.phone, n.email
    if (phone is not None and phone.valid) or (email is not None and email.valid) or n.wechat:
        return []
    errors = []
    if phone is not None:
        errors.append(
            FieldError(field="person.phone", code=phone.error or "phone_invalid", message="not a valid phone number")
        )
    if email is not None:
        errors.append(
            FieldError(field="person.email", code=email.error or "email_invalid", message="not a valid email address")
        )
    message = "needs a valid phone, email or wechat id" if errors else "needs a phone, an email or a wechat id"
    errors.append(FieldError(field="person", code="no_contact", message=message))
    return errors


def _company_domain(raw: str | None, email: Any) -> tuple[str | None, bool]:
    if raw and (match := _DOMAIN.match(raw.strip().lower())):
        return match.group(1).rstrip("."), False
    if email is not None and email.valid and not email.free_mail and email.domain:
        return email.domain, True
    return None, False


def _fields(result: Any, names: tuple[str, ...]) -> dict[str, Any] | None:
    if result is None:
        return None
    return {name: value for name in names if (value := getattr(result, name)) is not None}


def _collapse(value: str | None) -> str | None:
    """Runs of whitespace as one space; blank as absent."""
    return " ".join(value.split()) or None if value else None


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _is_present(
    dotted: str, person: dict[str, Any], company: dict[str, Any], location: dict[str, Any], captured: LeadCaptured
) -> bool:
    if dotted == "product_interest":
        return bool(captured.product_interest)
    head, _, tail = dotted.partition(".")
    part = person if head == "person" else company if head == "company" else location
    return part.get(tail) not in (None, "")
