"""The region table (data/regions.yaml) loaded into lookup maps, and the lookups on it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

import phonenumbers

from shared.normalise._data import load_yaml, mapping, string, strings
from shared.normalise._text import lookup_key

CN_OTHER = "cn-other"
OTHER = "other"
FALLBACK_LABELS = MappingProxyType({CN_OTHER: "中国其他地区", OTHER: "Other"})

# Tried only when the name as given is unknown: "浙江省" and "Hangzhou City" are their short names.
_SUFFIX = re.compile(
    "(?:特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|省|市|地区"
    "|province|municipality|city|autonomousregion|specialadministrativeregion|sar|sheng|shi)$"
)
_ISO2 = frozenset(phonenumbers.SUPPORTED_REGIONS)
_V = TypeVar("_V")


@dataclass(frozen=True, slots=True, eq=False)  # eq=False: hashed by identity, so lookups can cache per table
class RegionTables:
    region_labels: Mapping[str, str]  # sales-region code -> label
    province_regions: Mapping[str, str]  # canonical province -> sales-region code
    province_aliases: Mapping[str, str]  # lookup key -> canonical province
    city_aliases: Mapping[str, tuple[str, str]]  # lookup key -> (canonical city, canonical province)
    country_aliases: Mapping[str, str]  # lookup key -> ISO alpha-2
    country_regions: Mapping[str, str]  # ISO alpha-2 -> international sales-region code
    country_provinces: Mapping[str, str]  # HK/MO/TW -> the province whose sales region they take
    province_countries: Mapping[str, str]  # the reverse: 香港 -> HK
    china_countries: frozenset[str]  # countries routed through the Chinese table

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self.region_labels)


def _add(table: dict[str, str], alias: str, target: str, where: str) -> None:
    key = lookup_key(alias)
    if not key:
        raise ValueError(f"{where}: {alias!r} has no letters to match on")
    if table.setdefault(key, target) != target:
        raise ValueError(f"{where}: {alias!r} already names {table[key]!r}")


def _china(doc: dict[str, object], labels: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    regions: dict[str, str] = {}
    for code, body in mapping(doc.get("china"), "china").items():
        entry = mapping(body, f"china.{code}")
        labels[code] = string(entry.get("label"), f"china.{code}.label")
        for province in strings(entry.get("provinces"), f"china.{code}.provinces"):
            if regions.setdefault(province, code) != code:
                raise ValueError(f"china: {province} is in both {regions[province]} and {code}")
    aliases: dict[str, str] = {}
    for province, names in mapping(doc.get("provinces"), "provinces").items():
        if province not in regions:
            raise ValueError(f"provinces: {province} is in no sales region under china:")
        for alias in [province, *strings(names, f"provinces.{province}")]:
            _add(aliases, alias, province, "provinces")
    if missing := sorted(set(regions) - set(aliases.values())):
        raise ValueError(f"china: {', '.join(missing)} missing under provinces:")
    return regions, aliases


def _cities(doc: dict[str, object], regions: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    cities: dict[str, tuple[str, str]] = {}
    for province, body in mapping(doc.get("cities"), "cities").items():
        if province not in regions:
            raise ValueError(f"cities: {province} is not a province")
        for city, names in mapping(body, f"cities.{province}").items():
            for alias in [city, *strings(names, f"cities.{province}.{city}")]:
                key = lookup_key(alias)
                if cities.setdefault(key, (city, province)) != (city, province):
                    raise ValueError(f"cities: {alias!r} already names {cities[key][0]}")
    return cities


def _countries(doc: dict[str, object], labels: dict[str, str], tables: dict[str, dict[str, str]]) -> None:
    aliases, regions, linked = tables["aliases"], tables["regions"], tables["linked"]
    for code, body in mapping(doc.get("china_countries"), "china_countries").items():
        entry = mapping(body, f"china_countries.{code}")
        if (province := entry.get("province")) is not None:
            linked[code] = string(province, f"china_countries.{code}.province")
        for alias in [code, *strings(entry.get("aliases"), f"china_countries.{code}.aliases")]:
            _add(aliases, alias, code, "china_countries")
    for region, body in mapping(doc.get("world"), "world").items():
        entry = mapping(body, f"world.{region}")
        labels[region] = string(entry.get("label"), f"world.{region}.label")
        for code, names in mapping(entry.get("countries"), f"world.{region}.countries").items():
            regions[code] = region
            for alias in [code, *strings(names, f"world.{region}.{code}")]:
                _add(aliases, alias, code, "world")


def load_tables(path: Path | None = None) -> RegionTables:
    """The region table at `path`; None is the packaged one, read once per process."""
    return _default_tables() if path is None else _build(load_yaml(Path(path)))  # a str from a config file too


@lru_cache(maxsize=1)
def _default_tables() -> RegionTables:
    return _build(load_yaml("regions.yaml"))


def _build(raw: object) -> RegionTables:
    doc = mapping(raw, "regions.yaml")
    labels: dict[str, str] = {}
    province_regions, province_aliases = _china(doc, labels)
    countries: dict[str, dict[str, str]] = {"aliases": {}, "regions": {}, "linked": {}}
    _countries(doc, labels, countries)
    linked = countries["linked"]
    if unknown := sorted(set(linked.values()) - set(province_regions)):
        raise ValueError(f"china_countries: {', '.join(unknown)} is not a province")
    if clash := sorted({CN_OTHER, OTHER} & set(labels)):
        raise ValueError(f"{', '.join(clash)} is reserved for leads no region matches")
    return RegionTables(
        region_labels=MappingProxyType(labels | dict(FALLBACK_LABELS)),
        province_regions=MappingProxyType(province_regions),
        province_aliases=MappingProxyType(province_aliases),
        city_aliases=MappingProxyType(_cities(doc, province_regions)),
        country_aliases=MappingProxyType(countries["aliases"]),
        country_regions=MappingProxyType(countries["regions"]),
        country_provinces=MappingProxyType(linked),
        province_countries=MappingProxyType({province: code for code, province in linked.items()}),
        china_countries=frozenset(set(countries["aliases"].values()) - set(countries["regions"])),
    )


def _find(table: Mapping[str, _V], raw: str) -> _V | None:
    key = lookup_key(raw)
    found = table.get(key)
    if found is None and (short := _SUFFIX.sub("", key)) != key:
        found = table.get(short)
    return found


@lru_cache(maxsize=4096)
def find_province(tables: RegionTables, raw: str) -> str | None:
    """The canonical Chinese province a name stands for ("浙江省", "Zhejiang" -> "浙江"), or None."""
    return _find(tables.province_aliases, raw)


@lru_cache(maxsize=4096)
def find_city(tables: RegionTables, raw: str) -> tuple[str, str] | None:
    """(canonical city, its province) for a Chinese city name ("杭州市", "Hangzhou"), or None."""
    return _find(tables.city_aliases, raw)


@lru_cache(maxsize=4096)
def find_country(tables: RegionTables, raw: str) -> str | None:
    """ISO alpha-2 for a country name, code or alias; any ISO code phonenumbers knows also passes."""
    found = _find(tables.country_aliases, raw)
    if found is None:
        code = raw.strip().upper()
        found = code if len(code) == 2 and code in _ISO2 else None
    return found


@lru_cache(maxsize=1024)
def split_cn_place(tables: RegionTables, place: str) -> tuple[str | None, str | None]:
    """(province, city) of a Chinese place such as "江苏省连云港市", "广西南宁市" or "北京市"."""
    for end in range(min(len(place), 9), 1, -1):
        province = tables.province_aliases.get(lookup_key(place[:end]))
        if province is not None:
            break
    else:
        return None, None
    # The geocoder lists merged areas as "四川省成都市、资阳市、眉山市": the first one is the city.
    rest = _SUFFIX.sub("", place[end:].split("\u3001", maxsplit=1)[0])
    if not rest:
        # A municipality (北京市) is its own city.
        own = find_city(tables, province)
        return province, own[0] if own is not None and own[1] == province else None
    city = find_city(tables, rest)
    return province, city[0] if city is not None else rest
