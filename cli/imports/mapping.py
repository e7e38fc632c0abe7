"""Which submission field each column fills: the default headers, a `--mapping` file and `--map` options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from cli.imports.fields import ATTRIBUTES_PREFIX, DEFAULT_HEADERS, TOOL_COLUMNS, field_for, header_key


class MappingError(ValueError):
    """A `--mapping` file or `--map` option that cannot be used (a usage error)."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where a column goes: a field path, an attribute (named after the header), or nowhere."""

    kind: Literal["field", "attribute", "ignore"]
    name: str = ""


IGNORE = Target("ignore")


@dataclass
class ColumnMap:
    """Header -> target; user entries (keyed like the defaults) win over the default headers."""

    overrides: dict[str, str | None] = field(default_factory=dict)
    _cache: dict[str, Target] = field(default_factory=dict, repr=False)

    def resolve(self, header: str) -> Target:
        """The target of a column; computed once per header, since every row asks again."""
        target = self._cache.get(header)
        if target is None:
            target = self._cache[header] = self._resolve(header)
        return target

    def _resolve(self, header: str) -> Target:
        stripped = header.strip()
        key = header_key(stripped)
        if key in self.overrides:
            path = self.overrides[key]
            return IGNORE if path is None else _field_or_attribute(path)
        if stripped in TOOL_COLUMNS:
            return IGNORE
        if stripped.lower().startswith(ATTRIBUTES_PREFIX):  # a flattened nested JSONL submission
            return Target("attribute", stripped[len(ATTRIBUTES_PREFIX) :])
        if key in DEFAULT_HEADERS:
            return Target("field", DEFAULT_HEADERS[key])
        return Target("attribute", stripped)


def _field_or_attribute(path: str) -> Target:
    """A validated override: `attributes.X` is an attribute named X, anything else a field path."""
    if path.startswith(ATTRIBUTES_PREFIX):
        return Target("attribute", path[len(ATTRIBUTES_PREFIX) :])
    return Target("field", path)


def _target(header: str, raw: object) -> str | None:
    """Check one user entry's target: a field path, an alias (`email`), `attributes.X`, or null to ignore."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise MappingError(f"column {header!r}: the target must be a field path or null, not {raw!r}")
    if not raw.strip():
        return None
    path = field_for(raw.strip())
    if path is None or path == ATTRIBUTES_PREFIX:
        raise MappingError(f"column {header!r}: unknown field {raw!r} (e.g. person.email, company.name, attributes.X)")
    return path


def load_mapping_file(path: Path) -> dict[str, str | None]:
    """Read a YAML dict header -> field path (or null to ignore the column)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MappingError(f"cannot read mapping file {path}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MappingError(f"mapping file {path} must be a YAML dict of header: field path")
    return {header_key(str(header)): _target(str(header), raw) for header, raw in data.items()}


def parse_map_options(options: list[str]) -> dict[str, str | None]:
    """`--map "手机号=person.phone"` (or `--map "备用=" to ignore a column) -> overrides."""
    overrides: dict[str, str | None] = {}
    for option in options:
        header, sep, raw = option.rpartition("=")
        if not sep or not header.strip():
            raise MappingError(f"--map {option!r}: expected HEADER=field")
        overrides[header_key(header)] = _target(header, raw)
    return overrides


def build_column_map(mapping_file: Path | None, map_options: list[str]) -> ColumnMap:
    """Defaults, then the mapping file, then --map options: the later one wins for a header."""
    overrides = load_mapping_file(mapping_file) if mapping_file is not None else {}
    overrides.update(parse_map_options(map_options))
    return ColumnMap(overrides)
