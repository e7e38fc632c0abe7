"""Reading the packaged YAML tables, with errors that name the offending entry."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover -- PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]  # same interface, slower


def load_yaml(source: str | Path) -> object:
    """A packaged table by file name (`regions.yaml`), or any YAML file by path."""
    if isinstance(source, Path):
        text = source.read_text(encoding="utf-8")
    else:
        text = resources.files("shared.normalise.data").joinpath(source).read_text(encoding="utf-8")
    return yaml.load(text, Loader=_Loader)


def mapping(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise TypeError(f"{where}: expected a mapping, got {type(value).__name__}")
    for key in value:
        # An unquoted NO (Norway) or ON is a YAML 1.1 boolean: refuse it rather than key the table by False.
        if not isinstance(key, str):
            raise TypeError(f"{where}: key {key!r} is not a string (quote it in the YAML)")
    return dict(value)


def strings(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str | int) for item in value):
        raise TypeError(f"{where}: expected a list of names")
    return [str(item) for item in value]


def string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{where}: expected a non-empty string")
    return value.strip()
