"""YAML config files: plain values with the line of every key, pydantic validation naming lines, hot reload."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from shared.runtime.logging import get_logger

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover -- PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]  # same interface, slower

_log = get_logger(__name__)
Loc = tuple[str | int, ...]
Lines = dict[Loc, int]
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file, the line and the field."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


# --- YAML nodes → values with the line of every key ---------------------------------------------------------------


def compose(text: str, source: str) -> tuple[Any, Lines]:
    """The document as plain Python values, and the line of every mapping key and list item by its path.

    Tags (`!!python/...`, `!custom`) and duplicate keys are refused: both hide what a reader sees.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError(f"{source}:1: the file is empty", 1)
        lines: Lines = {(): node.start_mark.line + 1}
        return _value(loader, node, (), lines, source), lines
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"{source}:{line or '?'}: not valid YAML: {exc}", line) from None
    finally:
        loader.dispose()


def _value(loader: Any, node: yaml.Node, loc: Loc, lines: Lines, source: str) -> Any:
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_TAGS:
        line = node.start_mark.line + 1
        raise ConfigError(f"{source}:{line}: {dotted(loc)}: tag {node.tag} is not allowed here", line)
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(f"{source}:{line}: {dotted(loc)}: a key must be a plain value", line)
            key = key_node.value  # as written: `true:` and `100:` stay the text that lead values fold to
            if key in mapping:
                raise ConfigError(f"{source}:{line}: {dotted((*loc, key))}: duplicate key", line)
            lines[(*loc, key)] = line
            mapping[key] = _value(loader, value_node, (*loc, key), lines, source)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            items.append(_value(loader, item, (*loc, index), lines, source))
        return items
    return loader.construct_object(node)


_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


# --- validation and errors that name a line -----------------------------------------------------------------------


def validate(model_cls: type[M], raw: Any, lines: Lines, source: str) -> M:
    """`raw` as `model_cls`; every pydantic error becomes `source:line: dotted.path: msg`, joined by `; `."""
    try:
        return model_cls.model_validate(raw)
    except ValidationError as exc:
        problems = [(line_of(lines, tuple(e["loc"])), dotted(tuple(e["loc"])), _hint(e)) for e in exc.errors()]
        message = "; ".join(f"{source}:{line}: {path}: {msg}" for line, path, msg in problems)
        raise ConfigError(message, problems[0][0]) from None


def error_at(lines: Lines, loc: Loc, source: str, msg: str) -> ConfigError:
    """A problem found after validation (an unknown reference, a cycle), at the line of `loc`."""
    line = line_of(lines, loc)
    return ConfigError(f"{source}:{line}: {dotted(loc)}: {msg}", line)


def combine(errors: Iterable[ConfigError]) -> ConfigError:
    """Several problems as one error, in file order, so one edit can fix them all."""
    ordered = sorted(errors, key=lambda e: e.line or 0)
    return ConfigError("; ".join(str(e) for e in ordered), ordered[0].line if ordered else None)


def line_of(lines: Lines, loc: Loc) -> int:
    """The line of the deepest key on the path that the file has (a missing field points at its parent)."""
    while loc not in lines:
        loc = loc[:-1]
    return lines[loc]


def dotted(loc: Loc) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "(top level)"


def _hint(error: ErrorDetails) -> str:
    if error["type"] == "string_type" and error["input"] is not None:  # e.g. `version: 2026-11-22` reads as a date
        return f"{error['msg']} (put it in quotes)"
    if error["type"] == "value_error" and "error" in error.get("ctx", {}):  # our own validators: their words only
        return str(error["ctx"]["error"])
    return error["msg"]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc}") from exc


# --- hot reload --------------------------------------------------------------------------------------------------


class WatchedFile(Generic[T]):
    """A config file on disk and the value in force: `refresh` swaps in a changed, valid file.

    `parse(text, source)` raises ConfigError for a file that cannot be used; the first load lets it
    through (nothing should start on a broken file), later ones log `<name>_rejected` once per
    distinct problem and keep the value in force. A swap logs `<name>_reloaded`.
    """

    def __init__(
        self, path: Path, parse: Callable[[str, str], T], name: str, *, what: str = "file", log: Any = None
    ) -> None:
        self.path = path
        self.name = name
        self._parse = parse
        self._what = what
        self._log = log if log is not None else _log
        self._stat = _stat(path)
        text = read_text(path, what)
        self._value = parse(text, str(path))
        self._text = text
        self._running = self._seen = digest(text)
        self._last_error: str | None = None

    @property
    def current(self) -> T:
        return self._value

    @property
    def text(self) -> str:
        """The text of the value in force (not of a rejected file now on disk)."""
        return self._text

    def refresh(self) -> bool:
        """Swap in the file if it changed and is valid; an invalid file is logged and the old value kept."""
        stat = _stat(self.path)
        if stat == self._stat:
            return False
        self._stat = stat
        try:
            text = read_text(self.path, self._what)
        except ConfigError as exc:
            self._reject(exc)
            return False
        new, seen = digest(text), self._seen
        self._seen = new
        if new == self._running:  # touched, or put back as it was: the value in force is this file
            self._last_error = None
            return False
        if new == seen:  # touched while broken: reported already
            return False
        try:
            value = self._parse(text, str(self.path))
        except ConfigError as exc:
            self._reject(exc)
            return False
        self._value, self._text, self._running, self._last_error = value, text, new, None
        self._log.info(f"{self.name}_reloaded", path=str(self.path), version=_version(value))
        return True

    def _reject(self, exc: ConfigError) -> None:
        if str(exc) != self._last_error:  # a file that stays broken is reported once, not on every poll
            self._last_error = str(exc)
            self._log.warning(
                f"{self.name}_rejected", path=str(self.path), error=str(exc), version=_version(self._value)
            )


def _version(value: object) -> str | None:
    version = getattr(value, "version", None)
    return version if isinstance(version, str) else None


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size
