"""Where a lead is (country, province, city) and the sales region that owns it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from shared.normalise._text import as_text, clean, has_han, simplified
from shared.normalise.region_tables import (
    CN_OTHER,
    OTHER,
    RegionTables,
    find_city,
    find_country,
    find_province,
    load_tables,
)

if TYPE_CHECKING:
    from shared.normalise.phones import PhoneInfo

__all__ = ["LocationInfo", "RegionTables", "country_code", "load_tables", "resolve_location"]


@dataclass(frozen=True, slots=True)
class LocationInfo:
    country: str | None  # ISO alpha-2
    province: str | None  # China: canonical short name (浙江); elsewhere the state as given, title-cased
    city: str | None  # China: canonical, without 市 (杭州)
    sales_region: str | None  # a code from the region table, "cn-other", "other", or None with no location
    sales_region_label: str | None
    inferred: tuple[str, ...]  # which of "country", "province", "city" were not given but worked out


@dataclass(slots=True)
class _Place:
    country: str | None = None
    province: str | None = None
    city: str | None = None
    inferred: list[str] | None = None

    def infer(self, field: str, value: str | None) -> None:
        if value is not None:
            setattr(self, field, value)
            self.inferred = [*(self.inferred or []), field]


@lru_cache(maxsize=4096)
def _display(raw: str) -> str | None:
    """A place name as given, tidied: 市 dropped in Chinese, ALL-CAPS or lower-case Latin title-cased."""
    text = simplified(clean(raw))
    if has_han(text):
        return text.removesuffix("市") or text
    if len(text) <= 3 and text.isalpha():
        return text.upper()  # a state code: CA, NSW
    return text.title() if text.isupper() or text.islower() else text or None


def country_code(raw: str | None, tables: RegionTables | None = None) -> str | None:
    """ISO alpha-2 for a country name, code or alias ("Deutschland", "美国", "USA", "PRC"); None if unknown."""
    text = clean(as_text(raw))
    return find_country(tables or load_tables(), text) if text else None


def _from_phone(place: _Place, phone: PhoneInfo | None, tables: RegionTables) -> None:
    if phone is None or not phone.valid:
        return
    if place.country is None:
        place.infer("country", phone.country)
    if place.country not in tables.china_countries or phone.country != place.country:
        return
    if place.province is None:
        place.infer("province", phone.province or tables.country_provinces.get(phone.country or ""))
    # Where the number was issued is only a hint: never a city in another province than the lead's.
    if place.city is None and phone.province is not None and phone.province == place.province:
        place.infer("city", phone.city)


def _chinese(place: _Place, province: str, city: str, tables: RegionTables) -> None:
    """Canonical province and city for a lead in China, each inferred from the other where missing."""
    found_province = find_province(tables, province) if province else None
    found_city = find_city(tables, city) if city else None
    place.city = found_city[0] if found_city else _display(city) if city else None
    if found_province is not None:
        place.province = found_province
    elif found_city is not None:
        place.infer("province", found_city[1])
    elif province:
        place.province = _display(province)
    if place.province is None and place.country is not None:
        place.infer("province", tables.country_provinces.get(place.country))


def _country(place: _Place, country: str, province: str, city: str, tables: RegionTables) -> bool:
    """Sets the country, inferred from a Chinese province or city when not given; False if unresolvable."""
    if country:
        place.country = find_country(tables, country)
        return place.country is not None
    found = find_province(tables, province) if province else None
    if found is None and city and (in_city := find_city(tables, city)) is not None:
        found = in_city[1]
    if found is not None:
        place.infer("country", tables.province_countries.get(found, "CN"))
    return True


def _region(place: _Place, tables: RegionTables) -> str:
    if place.country in tables.china_countries:
        # A Hong Kong lead with a district as its "province" is still sold like Hong Kong.
        province = place.province if place.province in tables.province_regions else None
        province = province or tables.country_provinces.get(place.country or "")
        return tables.province_regions.get(province or "", CN_OTHER)
    return tables.country_regions.get(place.country or "", OTHER)


def resolve_location(
    country: str | None,
    province: str | None,
    city: str | None,
    phone: PhoneInfo | None = None,
    tables: RegionTables | None = None,
) -> LocationInfo:
    """The lead's location and sales region from what it gave, filling gaps from each other and the phone."""
    tables = tables or load_tables()
    country_text, province_text, city_text = (clean(as_text(part)) for part in (country, province, city))
    place = _Place()
    resolved = _country(place, country_text, province_text, city_text, tables)
    if resolved and place.country in {None, *tables.china_countries}:
        _chinese(place, province_text, city_text, tables)
    else:
        place.province = _display(province_text) if province_text else None
        place.city = _display(city_text) if city_text else None
    if resolved:
        _from_phone(place, phone, tables)
    located = bool(country_text or province_text or city_text) or place.country is not None
    region = (_region(place, tables) if resolved else OTHER) if located else None
    return LocationInfo(
        country=place.country,
        province=place.province,
        city=place.city,
        sales_region=region,
        sales_region_label=tables.region_labels.get(region) if region else None,
        inferred=tuple(place.inferred or ()),
    )
