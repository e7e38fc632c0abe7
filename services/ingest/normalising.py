"""A validated submission → normalised person, company, location and the data-quality record."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from shared.normalise import (
    DEFAULT_SIZE_BANDS,
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
    Firmographics,
    LeadCaptured,
    Location,
    NameDetail,
    Normalised,
    Person,
    PhoneDetail,
    Quality,
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
_DOMAIN = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:www\.)?([^/?#:\s]+)")
_WECHAT = re.compile(r"^[A-Za-z][-_A-Za-z0-9]{5,19}$|^\+?\d{6,15}$")


@dataclass(frozen=True)
class Normalisation:
    person: Person
    company: Company
    location: Location
    details: Normalised
    present: tuple[str, ...]
    invalid: tuple[str, ...]
    inferred: tuple[str, ...]
    flags: tuple[str, ...]
    wechat: str | None

    def quality(self, *, inferred: list[str], flags: list[str]) -> Quality:
        good = [f for f in self.present if f not in self.invalid]
        return Quality(
            present=list(self.present),
            invalid=list(self.invalid),
            inferred=inferred,
            flags=flags,
            score=round(len(good) / len(QUALITY_FIELDS), 3),
        )


def normalise_lead(captured: LeadCaptured, *, default_country: str | None, rules: IngestRules) -> Normalisation:
    """Every field through the shared normalisers; the raw values stay in the lead's `original`."""
    p, c = captured.person, captured.company
    phone = normalise_phone(p.phone, country_code(c.country, rules.tables) or default_country)
    email = normalise_email(p.email)
    name = normalise_person_name(p.name, p.given_name, p.family_name)
    company_name = normalise_company(c.name)
    location = resolve_location(
        c.country, c.region, c.city, phone=phone if phone and phone.valid else None, tables=rules.tables
    )
    industry = classify_industry(c.industry)
    domain, domain_inferred = _company_domain(c.domain, email)
    details = Normalised(
        phone=PhoneDetail(**_fields(phone, drop=("raw", "digits"))) if phone else None,
        email=EmailDetail(**_fields(email, drop=("raw", "local"))) if email else None,
        name=NameDetail(**_fields(name)) if name else None,
        company=CompanyDetail(**_fields(company_name)) if company_name else None,
        firmographics=Firmographics(
            size_band=size_band(c.employees, rules.size_bands or DEFAULT_SIZE_BANDS),
            industry=industry.code if industry else None,
            industry_label=industry.label if industry else None,
        ),
    )
    person = p.model_copy(
        update={
            "name": name.full if name else None,
            "given_name": name.given if name else p.given_name,
            "family_name": name.family if name else p.family_name,
            "phone": phone.e164 if phone and phone.valid else p.phone,
            "email": email.normalised if email and email.valid else p.email,
        }
    )
    company = c.model_copy(
        update={
            "name": company_name.normalised if company_name else None,
            "domain": domain,
            "country": location.country,
            "region": location.province,
            "city": location.city,
        }
    )
    loc = Location(
        country=location.country, province=location.province, city=location.city, sales_region=location.sales_region
    )
    invalid = tuple(
        f
        for f, bad in (
            ("person.phone", phone is not None and not phone.valid),
            ("person.email", email is not None and not email.valid),
            ("person.wechat", p.wechat is not None and not _WECHAT.match(p.wechat)),
        )
        if bad
    )
    inferred = tuple(f"location.{f}" for f in location.inferred) + (("company.domain",) if domain_inferred else ())
    values = {"person": person, "company": company, "location": loc}
    present = tuple(f for f in QUALITY_FIELDS if _present(values, captured, f))
    flags = tuple(f"{f.replace('.', '_')}_invalid" for f in invalid)
    return Normalisation(person, company, loc, details, present, invalid, inferred, flags, p.wechat)


def contact_errors(n: Normalisation) -> list[FieldError]:
    """A lead needs one way to reach the person; invalid contacts alone are no way."""
    d = n.details
    phone_ok = d.phone is not None and d.phone.valid
    email_ok = d.email is not None and d.email.valid
    if phone_ok or email_ok or n.wechat:
        return []
    errors = []
    if d.phone is not None:
        errors.append(
            FieldError(field="person.phone", code=d.phone.error or "phone_invalid", message="not a valid phone number")
        )
    if d.email is not None:
        errors.append(
            FieldError(field="person.email", code=d.email.error or "email_invalid", message="not a valid email address")
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


def _fields(result: Any, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: v for k, v in asdict(result).items() if k not in drop}


def _present(values: dict[str, Any], captured: LeadCaptured, dotted: str) -> bool:
    if dotted == "product_interest":
        return bool(captured.product_interest)
    head, _, tail = dotted.partition(".")
    return getattr(values[head], tail, None) not in (None, "")
