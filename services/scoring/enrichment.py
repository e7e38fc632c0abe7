"""Enrichment: offline providers add firmographics, phone regions and title facts, each field with its provenance.

Providers answer a whole batch in a worker thread under a time limit; one that is slow or fails leaves its
fields out, and the leads go on flagged with its name in `failed`. A provider never overwrites a field an
earlier one set. The firmographic reference table's `annual_revenue` is in US dollars.
"""

from __future__ import annotations

import asyncio
import csv
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import phonenumbers
from phonenumbers import geocoder

from services.scoring.titles import parse_title
from shared.normalise import classify_industry, country_code, normalise_company, normalise_email, normalise_phone
from shared.normalise.region_tables import find_province, load_tables, split_cn_place
from shared.runtime.clock import Clock
from shared.runtime.logging import get_logger

_log = get_logger(__name__)

COLUMNS = ("name", "domain", "industry", "employees", "annual_revenue", "hq_country", "hq_region")
_NUMBER = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[+-]?\d+)?", re.IGNORECASE)
_NANP = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1])  # the regions of +1
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://")


@dataclass(frozen=True, slots=True)
class Enrichment:
    values: dict[str, Any]  # enriched field -> value
    # field -> {"provider": name, "at": ISO-8601 UTC}; one provider's dict is shared by its batch: read only
    provenance: dict[str, dict[str, str]]
    failed: list[str]  # providers that timed out or raised for this lead's batch

    def as_event(self) -> dict[str, Any]:
        """The JSON-ready form: {"fields": {field: {"value", "provider", "at"}}, "failed": [...] if any}.

        A value without provenance (carried over from before, say) has "value" alone.
        """
        provenance = self.provenance
        event: dict[str, Any] = {
            "fields": {field: {"value": value, **provenance.get(field, {})} for field, value in self.values.items()}
        }
        if self.failed:
            event["failed"] = list(self.failed)
        return event

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Enrichment:
        """The enrichment `as_event` wrote (as stored with a lead), provenance included."""
        fields: Mapping[str, Mapping[str, Any]] = event.get("fields") or {}
        values = {field: entry["value"] for field, entry in fields.items()}
        provenance = {
            field: {key: str(entry[key]) for key in ("provider", "at") if key in entry}
            for field, entry in fields.items()
        }
        return cls(values, {field: p for field, p in provenance.items() if p}, list(event.get("failed") or ()))


class Provider(Protocol):
    name: str

    def enrich_batch(self, leads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """One field -> value dict per lead, in order (called in a worker thread: read the leads only)."""
        ...


class Enricher:
    """Runs the providers on a batch concurrently, each in its own worker thread under `timeout_s`."""

    def __init__(self, providers: Sequence[Provider], *, timeout_s: float, clock: Clock) -> None:
        names = [provider.name for provider in providers]
        if len(set(names)) != len(names):
            raise ValueError(f"enrichment providers need distinct names, got {names}")
        self._providers = tuple(providers)
        self._timeout_s = timeout_s
        self._clock = clock
        # A timed-out call cannot be stopped, only left: one worker per provider, and no second call
        # while the first still runs, so a hung provider holds one thread rather than a growing queue.
        self._executor = ThreadPoolExecutor(max_workers=max(1, len(providers)), thread_name_prefix="enrichment")
        self._running: dict[str, Future[list[dict[str, Any]]]] = {}

    async def enrich_batch(self, leads: Sequence[Mapping[str, Any]]) -> list[Enrichment]:
        """One Enrichment per lead, in order; never raises for a provider's failure."""
        if not leads:
            return []
        answers = await asyncio.gather(*(self._ask(provider, leads) for provider in self._providers))
        failed = [provider.name for provider, answer in zip(self._providers, answers, strict=True) if answer is None]
        answered = [answer for answer in answers if answer is not None]
        return [_merge(index, answered, failed) for index in range(len(leads))]

    def close(self) -> None:
        """Let go of the worker threads (a call still running is left to finish on its own)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _ask(
        self, provider: Provider, leads: Sequence[Mapping[str, Any]]
    ) -> tuple[dict[str, str], list[dict[str, Any]]] | None:
        previous = self._running.get(provider.name)
        if previous is not None and not previous.done():
            _warn(provider.name, "ProviderStillRunning", len(leads))
            return None
        future = self._executor.submit(provider.enrich_batch, leads)
        self._running[provider.name] = future
        try:
            rows = await asyncio.wait_for(asyncio.wrap_future(future), self._timeout_s)
            if len(rows) != len(leads):
                raise ValueError(f"{len(rows)} answers for {len(leads)} leads")  # noqa: TRY301 - one failure path
        except Exception as exc:  # noqa: BLE001 - whatever a provider does, the leads go on without it
            _warn(provider.name, type(exc).__name__, len(leads))
            return None
        return {"provider": provider.name, "at": self._clock.now().astimezone(UTC).isoformat()}, rows


def _warn(provider: str, error: str, leads: int) -> None:
    # The error's class only: a provider's message may quote the lead it choked on.
    _log.warning("enrichment_provider_failed", provider=provider, error=error, leads=leads)


def _merge(index: int, answered: list[tuple[dict[str, str], list[dict[str, Any]]]], failed: list[str]) -> Enrichment:
    values: dict[str, Any] = {}
    provenance: dict[str, dict[str, str]] = {}
    for stamp, rows in answered:
        for field, value in rows[index].items():
            if value is not None and field not in values:
                values[field] = value
                provenance[field] = stamp
    return Enrichment(values, provenance, list(failed))


def _part(lead: Mapping[str, Any], *path: str) -> Mapping[str, Any]:
    """The nested mapping at `path`, or an empty one where a level is missing or None."""
    part: Any = lead
    for key in path:
        part = part.get(key) or {}
    return part if isinstance(part, Mapping) else {}


# --- firmographics ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Firm:
    name: str | None
    region: str | None  # hq_region: tells apart two firms whose names meet on the same match key
    values: Mapping[str, Any]  # company.* fields, absent where the table has no value


@dataclass(frozen=True, slots=True)
class FirmographicTable:
    """The reference table, indexed by company match key and by web domain."""

    by_key: Mapping[str, tuple[Firm, ...]]
    by_domain: Mapping[str, Firm]

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> FirmographicTable:
        """Index rows (CSV or database); a row with neither name nor domain cannot be found and is skipped."""
        by_key: dict[str, list[Firm]] = {}
        by_domain: dict[str, Firm] = {}
        for number, raw in enumerate(rows, start=1):
            try:
                row = _typed(raw)
            except ValueError as exc:
                raise ValueError(f"firmographics row {number}: {exc}") from exc
            firm = _firm(row)
            company = normalise_company(row["name"])
            if company is not None:
                by_key.setdefault(company.core, []).append(firm)
            if domain := domain_key(row["domain"]):
                by_domain.setdefault(domain, firm)
        keys = {key: tuple(firms) for key, firms in by_key.items()}
        return cls(MappingProxyType(keys), MappingProxyType(by_domain))

    def find_name(self, key: str | None, region: str | None = None) -> Firm | None:
        """The firm with this match key; of several (北京数达, 武汉数达: both 数达网络科技), the one in `region`."""
        firms = self.by_key.get(key or "", ())
        if len(firms) == 1:
            return firms[0]
        return next((firm for firm in firms if region and firm.region == region), None)

    def find_domain(self, domain: str | None) -> Firm | None:
        """The firm with this domain or a parent of it (mail.example.cn → example.cn)."""
        key = domain_key(domain)
        while key and "." in key:
            if (firm := self.by_domain.get(key)) is not None:
                return firm
            key = key.split(".", 1)[1]
        return None


@lru_cache(maxsize=16384)
def domain_key(raw: str | None) -> str | None:
    """A web domain as the table keys it: "https://www.Example.cn/about" → "example.cn"."""
    text = _SCHEME.sub("", (raw or "").strip().lower())
    text = text.split("/", 1)[0].split(":", 1)[0].rstrip(".").removeprefix("www.")
    return text if "." in text else None


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _number(value: Any, column: str, *, whole: bool) -> Any:
    """A count or an amount from a CSV cell ("1,200", "1.5e9") or a database value (int, float, Decimal)."""
    number = math.nan
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and _NUMBER.fullmatch(text := value.strip()):
        number = float(text.replace(",", ""))
    if not math.isfinite(number) or number < 0 or (whole and not number.is_integer()):
        raise ValueError(f"{column}: {value!r} is not a {'whole number' if whole else 'number'} of 0 or more")
    return int(number) if whole else number


def _typed(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row's columns, blanks as None and numbers checked; ValueError names the column at fault."""
    typed: dict[str, Any] = {column: _text(row.get(column)) for column in COLUMNS}
    employees, revenue = row.get("employees"), row.get("annual_revenue")
    typed["employees"] = _number(employees, "employees", whole=True) if _text(employees) else None
    typed["annual_revenue"] = _number(revenue, "annual_revenue", whole=False) if _text(revenue) else None
    return typed


def _firm(row: Mapping[str, Any]) -> Firm:
    country = country_code(row["hq_country"]) or row["hq_country"]
    region = row["hq_region"]
    if region and country == "CN":
        region = find_province(load_tables(), region) or region  # as leads' location.province has it: 广东
    industry = classify_industry(row["industry"])
    values = {
        "company.industry": industry.code if industry is not None else None,
        "company.employees": row["employees"],
        "company.annual_revenue": row["annual_revenue"],
        "company.hq_country": country,
        "company.hq_region": region,
    }
    present = {field: value for field, value in values.items() if value is not None}
    return Firm(row["name"], region, MappingProxyType(present))


def read_firmographics_csv(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a reference CSV (header: the COLUMNS, any order, any missing); ValueError names a bad line."""
    with Path(path).open(encoding="utf-8-sig", newline="") as file:
        reader = csv.DictReader(file)
        header = {(column or "").strip().lower() for column in reader.fieldnames or ()}
        if not header & {"name", "domain"}:
            raise ValueError(f"{path}: the header needs a name or a domain column")
        rows = []
        for raw in reader:
            row = {(column or "").strip().lower(): value for column, value in raw.items()}
            try:
                rows.append(_typed(row))
            except ValueError as exc:
                raise ValueError(f"{path}, line {reader.line_num}: {exc}") from exc
    return rows


class FirmographicProvider:
    """By company match key, else company domain, else a company email's domain (which also names the firm).

    `table` may be replaced while the service runs (a reload): each batch reads it once.
    """

    name = "firmographics"

    def __init__(self, table: FirmographicTable) -> None:
        self.table = table

    def enrich_batch(self, leads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        table = self.table
        return [_firmographics(table, lead) for lead in leads]


def _firmographics(table: FirmographicTable, lead: Mapping[str, Any]) -> dict[str, Any]:
    key = _part(lead, "normalised", "company").get("core")
    if key is None and (company := normalise_company(_part(lead, "company").get("name"))) is not None:
        key = company.core
    if key and (firm := table.find_name(key, _province(lead))) is not None:
        return dict(firm.values)
    domain, free_mail = _email_domain(lead)
    if (firm := table.find_domain(_website(lead, domain, free_mail=free_mail))) is not None:
        return dict(firm.values)
    if domain and not free_mail and (firm := table.find_domain(domain)) is not None:
        return {**firm.values, "company.name": firm.name}
    return {}


def _website(lead: Mapping[str, Any], email_domain: str | None, *, free_mail: bool) -> str | None:
    website = _part(lead, "company").get("domain")
    # A free-mail domain typed as the company's website names no company either.
    return None if free_mail and domain_key(website) == email_domain else website


def _province(lead: Mapping[str, Any]) -> str | None:
    return _part(lead, "location").get("province") or _part(lead, "company").get("region")


def _email_domain(lead: Mapping[str, Any]) -> tuple[str | None, bool]:
    """The email's domain and whether it is free mail (ingest's detail, else the raw address read again)."""
    detail = _part(lead, "normalised", "email")
    if not detail and (raw := _part(lead, "person").get("email")):
        info = normalise_email(raw)
        return (info.domain, info.free_mail) if info is not None else (None, False)
    return detail.get("domain"), bool(detail.get("free_mail"))


# --- phone region ----------------------------------------------------------------------------------


class PhoneRegionProvider:
    """Province or state and city of a valid phone number, from ingest's detail or the offline geocoder."""

    name = "phone_region"

    def enrich_batch(self, leads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [self._one(lead) for lead in leads]

    @staticmethod
    def _one(lead: Mapping[str, Any]) -> dict[str, Any]:
        detail: Mapping[str, Any] = _part(lead, "normalised", "phone")
        if not detail and (raw := _part(lead, "person").get("phone")):
            info = normalise_phone(raw, _part(lead, "location").get("country"))
            detail = {"valid": info.valid, "e164": info.e164, "province": info.province, "city": info.city,
                      "country": info.country, "location": info.location} if info else {}  # fmt: skip
        if not detail.get("valid"):
            return {}
        region, city = detail.get("province"), detail.get("city")
        if not (region or city) and detail.get("country") != "CN":
            if detail.get("location") and detail.get("country"):
                region, city = _foreign_place(detail["location"], detail["country"])
            elif detail.get("e164"):
                region, city = _geocoded(detail["e164"])
        return {field: value for field, value in (("phone.region", region), ("phone.city", city)) if value}


@cache
def _country_name(region: str) -> str | None:
    example = phonenumbers.example_number(region)
    return geocoder.country_name_for_number(example, "en") if example is not None else None


@lru_cache(maxsize=4096)
def _foreign_place(location: str, country: str) -> tuple[str | None, str | None]:
    """(region, city) in the geocoder's English: "San Francisco, CA", "London"; nothing for a country's name."""
    if location == _country_name(country):
        return None, None
    place, comma, region = location.rpartition(", ")
    if comma:
        return region.strip() or None, place.strip() or None
    # A lone name is a city, except in the North American plan, where it names a state ("California").
    return (location.removesuffix(" State"), None) if country in _NANP else (None, location)


@lru_cache(maxsize=65536)
def _geocoded(e164: str) -> tuple[str | None, str | None]:
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None, None
    chinese = number.country_code == 86
    description = geocoder.description_for_number(number, "zh" if chinese else "en")
    if not description:
        return None, None
    if chinese:
        return split_cn_place(load_tables(), description)
    region = phonenumbers.region_code_for_number(number)
    return _foreign_place(description, region) if region else (None, None)


# --- title -------------------------------------------------------------------------------------------


class TitleProvider:
    """Seniority and function from the job title (services.scoring.titles)."""

    name = "title"

    def enrich_batch(self, leads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [self._one(lead) for lead in leads]

    @staticmethod
    def _one(lead: Mapping[str, Any]) -> dict[str, Any]:
        title = _part(lead, "person").get("title")
        if not title:
            return {}
        info = parse_title(title)
        fields = (("person.seniority", info.seniority), ("person.function", info.function))
        return {field: value for field, value in fields if value is not None}


def default_providers(table: FirmographicTable) -> list[Provider]:
    """The offline providers in precedence order: the reference table first, then phone and title."""
    return [FirmographicProvider(table), PhoneRegionProvider(), TitleProvider()]
