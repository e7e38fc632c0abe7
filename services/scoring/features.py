"""The flat view of a lead that the points model and the learned model both read.

One dict per lead, built once from the `leads.deduplicated.v1` payload (as a dict) and what
enrichment added. Keys (absent when unknown):

- `source`, `campaign`: the channel and campaign;
- `country`, `region` (province or state), `city`, `sales_region`;
- `industry` (taxonomy code), `size_band` (micro, small, medium, large, enterprise), `employees`;
- `seniority` (c_level, vp, director, manager, staff), `function` (sales, marketing, it, finance, hr,
  operations, engineering, procurement, management, other);
- `product_interest`: a list of product ids;
- `free_mail`, `email_invalid`, `phone_invalid`, `has_phone`, `has_email`, `has_company`: booleans;
- `email_domain`: the email's domain;
- `quality`: ingest's share of fields present and valid (0 to 1);
- `engagement`: a list of {"kind": ..., "at": datetime} (re-engagement signals, most recent last);
- `attributes`: the lead's free attributes (str, int, float or bool values), as the channel sent them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.normalise import size_band

# Enrichment field names (services.scoring.enrichment) → feature names.
_ENRICHED = {
    "company.industry": "industry",
    "company.employees": "employees",
    "company.hq_region": "hq_region",
    "person.seniority": "seniority",
    "person.function": "function",
    "phone.region": "phone_region",
    "phone.city": "phone_city",
}


def features_of(
    lead: Mapping[str, Any], enriched: Mapping[str, Any] | None = None, engagement: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The feature dict of a lead payload (a dict) with the enriched values (field → value)."""
    person = lead.get("person") or {}
    company = lead.get("company") or {}
    location = lead.get("location") or {}
    normalised = lead.get("normalised") or {}
    firmographics = normalised.get("firmographics") or {}
    email = normalised.get("email") or {}
    quality = lead.get("quality") or {}
    invalid = set(quality.get("invalid") or ())
    f: dict[str, Any] = {}
    _put(f, "source", lead.get("source"))
    _put(f, "campaign", lead.get("campaign"))
    _put(f, "country", location.get("country") or company.get("country"))
    _put(f, "region", location.get("province") or company.get("region"))
    _put(f, "city", location.get("city") or company.get("city"))
    _put(f, "sales_region", location.get("sales_region"))
    _put(f, "industry", firmographics.get("industry") or company.get("industry"))
    _put(f, "employees", company.get("employees"))
    _put(f, "size_band", firmographics.get("size_band"))
    for field, name in _ENRICHED.items():
        value = (enriched or {}).get(field)
        if value is not None and name not in f:
            f[name] = value
    if "size_band" not in f and f.get("employees"):
        _put(f, "size_band", size_band(int(f["employees"])))
    if "region" not in f:
        _put(f, "region", f.get("phone_region") or f.get("hq_region"))
    if "city" not in f:
        _put(f, "city", f.get("phone_city"))
    products = [p for p in lead.get("product_interest") or () if p]
    if products:
        f["product_interest"] = products
    f["has_phone"] = bool(person.get("phone")) and "person.phone" not in invalid
    f["has_email"] = bool(person.get("email")) and "person.email" not in invalid
    f["has_company"] = bool(company.get("name"))
    f["phone_invalid"] = "person.phone" in invalid
    f["email_invalid"] = "person.email" in invalid
    f["free_mail"] = bool(email.get("free_mail"))
    _put(f, "email_domain", email.get("domain"))
    if quality.get("score") is not None:
        f["quality"] = float(quality["score"])
    if engagement:
        f["engagement"] = engagement
    attributes = lead.get("attributes") or {}
    if attributes:
        f["attributes"] = dict(attributes)
    return f


def _put(f: dict[str, Any], name: str, value: Any) -> None:
    if value is not None and value != "":
        f[name] = value


def engagement_entry(kind: str, at: datetime) -> dict[str, Any]:
    return {"kind": kind, "at": at}
