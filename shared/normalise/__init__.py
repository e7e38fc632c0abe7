"""Normalisation of lead data (phones, emails, companies, names, locations, firmographics), pure and total."""

from __future__ import annotations

from shared.normalise._text import remove_invisible
from shared.normalise.companies import CompanyName, normalise_company
from shared.normalise.emails import EmailInfo, normalise_email
from shared.normalise.firmographics import (
    DEFAULT_SIZE_BANDS,
    IndustryInfo,
    classify_industry,
    parse_employees,
    size_band,
)
from shared.normalise.locations import LocationInfo, RegionTables, country_code, load_tables, resolve_location
from shared.normalise.names import PersonName, normalise_person_name
from shared.normalise.phones import PhoneInfo, normalise_phone

__all__ = [
    "DEFAULT_SIZE_BANDS",
    "CompanyName",
    "EmailInfo",
    "IndustryInfo",
    "LocationInfo",
    "PersonName",
    "PhoneInfo",
    "RegionTables",
    "classify_industry",
    "country_code",
    "load_tables",
    "normalise_company",
    "normalise_email",
    "normalise_person_name",
    "normalise_phone",
    "parse_employees",
    "remove_invisible",
    "resolve_location",
    "size_band",
]
