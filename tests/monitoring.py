"""The PromQL of the monitoring assets (deploy/prometheus rules, deploy/grafana dashboards), ready to run."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULES_DIR = PROMETHEUS_DIR / "rules"
RULE_TESTS_DIR = PROMETHEUS_DIR / "tests"
DASHBOARDS_DIR = ROOT / "deploy" / "grafana" / "dashboards"
RATE_INTERVAL = "1m"  # what Grafana's $__rate_interval becomes: four 15 s scrapes, like Grafana's own minimum

_OPENING, _CLOSING = "([{", ")]}"
_WORD = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_WORD_CHARS = re.compile(r"[A-Za-z0-9_:.]")
_SET_OPERATORS = {"and", "or", "unless"}
_MATCHING = re.compile(r"\s*(?:on|ignoring)\s*\([^)]*\)", re.IGNORECASE)  # `and on (x)`: belongs to the operator
_COMPARISON = re.compile(
    r"^(?P<value>.*?)\s*(?:==|!=|>=|<=|>|<)\s*(?P<number>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$",
    re.DOTALL,
)
_VARIABLE_MATCHER = re.compile(r'=~\s*"\$\w+"')


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yml"))


def rule_test_files() -> list[Path]:
    return sorted(RULE_TESTS_DIR.glob("*.yml"))


def rules() -> Iterator[dict[str, Any]]:
    """Every rule of every group of every rules file, in file order."""
    for path in rule_files():
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            yield from group["rules"]


def recording_rules() -> list[tuple[str, str]]:
    """(recorded name, expr) of every recording rule."""
    return [(rule["record"], rule["expr"].strip()) for rule in rules() if "record" in rule]


def alert_rules() -> list[tuple[str, str, bool]]:
    """(alert name, expr, expect_empty) of every alert rule."""
    return [
        (rule["alert"], rule["expr"].strip(), rule.get("labels", {}).get("expect_empty") == "true")
        for rule in rules()
        if "alert" in rule
    ]


def alert_value_expressions() -> list[tuple[str, str, bool]]:
    """(alert name, value expression, expect_empty): each part of each alert, its threshold stripped.

    Every part must return data from a Prometheus scraping a healthy pipeline, unless expect_empty.
    """
    return [(name, value, empty) for name, expr, empty in alert_rules() for value in split_alert(expr)]


def split_alert(expr: str) -> list[str]:
    """An alert's value expressions: its top-level and/unless/or parts without their `<cmp> <number>`."""
    return [strip_comparison(part) for part in split_top_level(expr)]


def split_top_level(expr: str) -> list[str]:
    """The parts of `expr` joined by `and` / `unless` / `or` outside any brackets and strings."""
    top = {i for i, depth in _scan(expr) if depth == 0}
    parts: list[str] = []
    start = i = 0
    while i < len(expr):
        word = _WORD.match(expr, i) if i in top and (i == 0 or not _WORD_CHARS.match(expr[i - 1])) else None
        if word is None:
            i += 1
            continue
        if word.group().lower() in _SET_OPERATORS:
            parts.append(expr[start:i])
            matching = _MATCHING.match(expr, word.end())
            start = matching.end() if matching else word.end()
        i = word.end()
    parts.append(expr[start:])
    stripped = [part.strip() for part in parts]
    if not all(stripped):
        raise ValueError(f"an and/unless/or without an operand on each side: {expr!r}")
    return stripped


def strip_comparison(part: str) -> str:
    """`value <cmp> <number>` → `value`; a part without a trailing comparison is returned as it is."""
    found = _COMPARISON.match(part)
    return found.group("value").strip() if found else part.strip()


def top_level_comparison(expr: str) -> bool:
    """True when a comparison operator filters `expr` outside brackets (the part would not be a value)."""
    top = [i for i, depth in _scan(expr) if depth == 0]
    return any(expr[i] in "<>" or expr[i : i + 2] in {"==", "!="} for i in top)


def _scan(expr: str) -> Iterator[tuple[int, int]]:
    """(index, bracket depth) of every character outside string literals and comments."""
    depth = i = 0
    while i < len(expr):
        char = expr[i]
        if char in "\"'`":
            i = _string_end(expr, i)
            continue
        if char == "#":
            end = expr.find("\n", i)
            i = len(expr) if end < 0 else end
            continue
        if char in _CLOSING:
            depth -= 1
        yield i, depth
        if char in _OPENING:
            depth += 1
        i += 1


def _string_end(expr: str, start: int) -> int:
    """The index after the string literal opening at `start` (backticks are raw: no escapes)."""
    quote, i = expr[start], start + 1
    while i < len(expr):
        if expr[i] == "\\" and quote != "`":
            i += 2
            continue
        if expr[i] == quote:
            return i + 1
        i += 1
    raise ValueError(f"unterminated string literal in {expr!r}")


def dashboards() -> dict[str, dict[str, Any]]:
    """Each dashboard's JSON by file stem."""
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(DASHBOARDS_DIR.glob("*.json"))}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def substitute_variables(expr: str) -> str:
    """A panel's PromQL as Prometheus can run it: [$__rate_interval] → [1m], label=~"$var" → label=~".*"."""
    result = _VARIABLE_MATCHER.sub('=~".*"', expr.replace("[$__rate_interval]", f"[{RATE_INTERVAL}]"))
    if "$" in result:
        raise ValueError(f'a template variable other than [$__rate_interval] or label=~"$var": {expr!r}')
    return result


def dashboard_expressions() -> list[tuple[str, str]]:
    """(where: "dashboard / panel / refId", runnable expr) of every panel target of every dashboard."""
    return [
        (f"{stem} / {panel['title']} / {target['refId']}", substitute_variables(target["expr"]))
        for stem, dashboard in dashboards().items()
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
    ]
