"""Prometheus config, rules and Grafana dashboards: promtool checks and unit tests, names from docs/metrics.md."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import monitoring as mon

pytestmark = pytest.mark.component

CATALOGUE = mon.ROOT / "docs" / "metrics.md"
SERVICES = {"ingest": 8081, "dedup": 8082, "scoring": 8083, "router": 8084, "nurture": 8085}
TARGET_LABELS = {"job", "instance", "service"}  # added by the scrape, on every series
DASHBOARD_UIDS = {
    "pipeline-health": "leadflow-pipeline-health",
    "funnel": "leadflow-funnel",
    "routing-sla": "leadflow-routing-sla",
}
_CATALOGUE_ROW = re.compile(r"^\|\s*`(leadflow_[a-z_<>]+)`\s*\|\s*(\w+)\s*\|([^|]*)\|", re.MULTILINE)
_NAME_REGEX = re.compile(r'__name__\s*=~\s*"((?:[^"\\]|\\.)*)"')
_NAMES = re.compile(r"\bleadflow(?:_[a-z_]+|:[a-z0-9_:]+)")
_SELECTOR = re.compile(r"(\bleadflow_[a-z_]+)?\{([^{}]*)\}")
_MATCHER_LABEL = re.compile(r'(\w+)\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"')


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed: `make test` (its `tools` target) installs Debian's prometheus package")
    return subprocess.run([path, *map(str, args)], capture_output=True, text=True, timeout=300, check=False)


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"{' '.join(result.args)}\n{result.stdout}\n{result.stderr}"


def catalogue() -> dict[str, tuple[str, frozenset[str]]]:
    """Series names a scrape can expose (histograms with their suffixes) → (type, labels), from docs/metrics.md."""
    found: dict[str, tuple[str, frozenset[str]]] = {}
    for name, kind, labels in _CATALOGUE_ROW.findall(CATALOGUE.read_text(encoding="utf-8")):
        label_names = frozenset(re.findall(r"(?:^|,)\s*([a-z_]+)", labels.strip()))
        for concrete in [name.replace("<service>", s) for s in SERVICES] if "<service>" in name else [name]:
            if kind == "histogram":
                for suffix in ("_count", "_sum"):
                    found[concrete + suffix] = (kind, label_names)
                found[concrete + "_bucket"] = (kind, label_names | {"le"})
            found[concrete] = (kind, label_names)
    return found


def every_expression() -> list[tuple[str, str]]:
    """(where, PromQL as written) of every rule, panel target and variable query."""
    found = [(f"rule {name}", expr) for name, expr in mon.recording_rules()]
    found += [(f"alert {name}", expr) for name, expr, _ in mon.alert_rules()]
    for stem, dashboard in mon.dashboards().items():
        found += [
            (f"{stem} / {panel['title']}", target.get("expr", ""))
            for panel in mon.panels(dashboard)
            for target in panel.get("targets", [])
        ]
        found += [
            (f"{stem} / ${v['name']}", v["definition"]) for v in dashboard["templating"]["list"] if "definition" in v
        ]
    return found


# --- promtool -----------------------------------------------------------------------------------------------


def test_prometheus_config_is_valid() -> None:
    assert_ok(promtool("check", "config", mon.PROMETHEUS_CONFIG))


@pytest.mark.parametrize("path", mon.rule_files(), ids=lambda p: p.name)
def test_rules_file_is_valid(path: Path) -> None:
    assert_ok(promtool("check", "rules", path))


@pytest.mark.parametrize("path", mon.rule_test_files(), ids=lambda p: p.name)
def test_rule_unit_tests_pass(path: Path) -> None:
    assert_ok(promtool("test", "rules", path))


# --- the scrape config and the rules --------------------------------------------------------------------------


def test_one_job_scrapes_each_service_on_its_port_with_its_service_label() -> None:
    config = yaml.safe_load(mon.PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    [job] = config["scrape_configs"]
    assert job["job_name"] == "leadflow"
    assert job["scrape_interval"] == "15s"
    targets = {t: group["labels"]["service"] for group in job["static_configs"] for t in group["targets"]}
    assert targets == {f"127.0.0.1:{port}": service for service, port in SERVICES.items()}
    referenced = sorted((mon.PROMETHEUS_DIR / path).resolve() for path in config["rule_files"])
    assert referenced == [path.resolve() for path in mon.rule_files()]


def test_every_alert_has_a_severity_and_its_annotations() -> None:
    for rule in mon.rules():
        if "alert" not in rule:
            continue
        labels = rule.get("labels", {})
        assert labels.get("severity") in {"page", "ticket"}, rule["alert"]
        assert labels.get("expect_empty", "true") == "true", rule["alert"]  # the only value a test reads
        assert {"summary", "description", "runbook"} <= set(rule.get("annotations", {})), rule["alert"]


def test_the_required_alerts_exist() -> None:
    names = {name for name, _, _ in mon.alert_rules()}
    assert names >= {
        "LeadflowServiceDown",
        "LeadflowTargetMissing",
        "LeadflowConsumerLagGrowing",
        "LeadflowDeadLetters",
        "LeadflowOutboxStuck",
        "LeadflowChannelSilent",
        "LeadflowSLABreachRateHigh",
        "LeadflowLatencyBudgetBurnFast",
        "LeadflowLatencyBudgetBurnSlow",
    }


def test_every_alert_is_unit_tested_firing_and_not_firing() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in mon.rule_test_files():
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {name for name, _, _ in mon.alert_rules()}
    assert names - firing == set(), "never tested firing"
    assert names - quiet == set(), "never tested staying quiet"


def test_every_alert_part_is_a_value_or_a_value_compared_with_a_number() -> None:
    values = mon.alert_value_expressions()
    assert {name for name, _, _ in values} == {name for name, _, _ in mon.alert_rules()}
    for name, value, _ in values:
        assert not mon.top_level_comparison(value), f"{name}: {value!r} still compares (the number must be last)"
    absent = [name for name, value, empty in values if "absent(" in value and not empty]
    assert absent == [], 'absent() returns nothing when healthy: label the alert expect_empty: "true"'


# --- dashboards ---------------------------------------------------------------------------------------------


def test_dashboards_have_stable_uids_unique_panel_ids_and_an_expr_in_every_target() -> None:
    boards = mon.dashboards()
    assert {stem: board["uid"] for stem, board in boards.items()} == DASHBOARD_UIDS
    for stem, board in boards.items():
        assert board["id"] is None, stem  # an id is per Grafana instance: provisioning assigns one
        ids = [panel["id"] for panel in mon.panels(board)]
        assert len(ids) == len(set(ids)), f"{stem}: duplicate panel ids"
        for panel in mon.panels(board):
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, panel["title"]
            assert panel.get("targets"), f"{stem} / {panel['title']}: no targets"
            for target in panel["targets"]:
                assert target.get("expr", "").strip(), f"{stem} / {panel['title']} / {target.get('refId')}: no expr"
                assert target["datasource"] == panel["datasource"]


def test_dashboards_use_only_their_own_variables_in_the_allowed_forms() -> None:
    assert mon.dashboard_expressions()  # substitute_variables raises on any other use of a variable
    for stem, board in mon.dashboards().items():
        variables = {v["name"] for v in board["templating"]["list"]}
        assert "DS_PROMETHEUS" in variables, stem
        for panel in mon.panels(board):
            for target in panel.get("targets", []):
                used = set(re.findall(r'=~\s*"\$(\w+)"', target["expr"]))
                assert used <= variables, f"{stem} / {panel['title']}: undefined {used - variables}"


# --- names and labels against the catalogue -----------------------------------------------------------------


def test_every_metric_used_is_in_the_catalogue_or_recorded_by_a_rule() -> None:
    known = catalogue()
    recorded = {name for name, _ in mon.recording_rules()}
    assert len(known) > 100  # the five services' runtime metrics and every domain table were read
    for where, expr in every_expression():
        for pattern in _NAME_REGEX.findall(expr):
            regex = re.compile(re.sub(r"\\(.)", r"\1", pattern))
            assert any(regex.fullmatch(name) for name in known), f"{where}: __name__=~{pattern!r} matches nothing"
        names = set(_NAMES.findall(_NAME_REGEX.sub("", expr)))
        unknown = {name for name in names if name not in known and name not in recorded}
        assert not unknown, f"{where}: {sorted(unknown)} neither in docs/metrics.md nor recorded by a rule"


def test_every_label_matcher_is_a_label_of_the_metrics_it_selects() -> None:
    known = catalogue()
    for where, expr in every_expression():
        for name, matchers in _SELECTOR.findall(expr):
            selected = _selected(name, matchers, known)
            for label in set(_MATCHER_LABEL.findall(matchers)) - TARGET_LABELS - {"__name__"}:
                wrong = [metric for metric, (_, labels) in selected.items() if label not in labels]
                assert not wrong, f"{where}: {wrong} have no label {label!r}"


def _selected(name: str, matchers: str, known: dict[str, Any]) -> dict[str, Any]:
    if name:
        return {name: known[name]} if name in known else {}
    regexes = [re.compile(re.sub(r"\\(.)", r"\1", p)) for p in _NAME_REGEX.findall(matchers)]
    return {metric: spec for metric, spec in known.items() if any(r.fullmatch(metric) for r in regexes)}


def test_the_catalogue_reader_expands_services_and_histograms() -> None:
    known = catalogue()
    assert known["leadflow_nurture_consumer_lag_messages"] == ("gauge", frozenset({"topic", "partition"}))
    assert known["leadflow_router_lead_latency_seconds_bucket"] == ("histogram", frozenset({"outcome", "le"}))
    assert known["leadflow_dedup_merges_undone_total"] == ("counter", frozenset())
    assert "leadflow_scoring_score_sum" in known


# --- the helpers the e2e test uses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "values"),
    [
        ("up == 0", ["up"]),
        ("a > 1 and b", ["a", "b"]),
        ("a >= 1e3\n  and b <= -2\n  unless c != 0.5\n  or d == 0", ["a", "b", "c", "d"]),
        (
            'sum by (x) (rate(m{l="and or"}[5m])) > 0.5 unless on (x) c == 0',
            ['sum by (x) (rate(m{l="and or"}[5m]))', "c"],
        ),
        ("(a and b) or c > 2", ["(a and b)", "c"]),
        ("android_total > 1 or orders_unless", ["android_total", "orders_unless"]),
        ('m{l="a\\"and"} AND ignoring(z) n', ['m{l="a\\"and"}', "n"]),
        ("a - b offset 5m > 0", ["a - b offset 5m"]),
        ("x > y", ["x > y"]),  # not a number at the end: left alone (and caught by top_level_comparison)
        ("absent(up{s=\"a\"}) or absent(up{s='b'})", ['absent(up{s="a"})', "absent(up{s='b'})"]),
    ],
)
def test_an_alert_splits_into_its_value_expressions(expr: str, values: list[str]) -> None:
    assert mon.split_alert(expr) == values


@pytest.mark.parametrize("expr", ["and b", "a or", "a and and b", 'a{l="x} and b'])
def test_a_malformed_alert_is_refused(expr: str) -> None:
    with pytest.raises(ValueError, match=r"operand|unterminated"):
        mon.split_alert(expr)


def test_top_level_comparison_ignores_brackets_and_matchers() -> None:
    assert mon.top_level_comparison("a > b")
    assert mon.top_level_comparison("a != b")
    assert not mon.top_level_comparison('sum(x{a!="b"} > 0) / count(y{c=~">"})')


def test_alert_value_expressions_of_the_shipped_rules() -> None:
    values = mon.alert_value_expressions()
    assert ("LeadflowServiceDown", 'up{job="leadflow"}', False) in values
    assert ("LeadflowTargetMissing", 'absent(up{job="leadflow", service="nurture"})', True) in values
    assert [v for name, v, _ in values if name == "LeadflowConsumerLagGrowing"] == [
        "leadflow:consumer_lag_messages:sum",
        "deriv(leadflow:consumer_lag_messages:sum[15m])",
    ]
    assert len([v for name, v, _ in values if name == "LeadflowChannelSilent"]) == 3


def test_recording_rules_are_named_leadflow_colon() -> None:
    recorded = mon.recording_rules()
    assert ("leadflow:consumer_lag_messages:sum", recorded[0][1]) in recorded
    assert all(name.startswith("leadflow:") for name, _ in recorded)


def test_dashboard_variables_are_substituted() -> None:
    expr = 'sum by (source) (rate(x{source=~"$source", le=~"10(\\\\.0)?"}[$__rate_interval]))'
    assert mon.substitute_variables(expr) == 'sum by (source) (rate(x{source=~".*", le=~"10(\\\\.0)?"}[1m]))'
    for wrong in ["increase(x[$__range])", 'x{source="$source"}', 'x{s=~"${source}"}', "x / $__interval_ms"]:
        with pytest.raises(ValueError, match="template variable"):
            mon.substitute_variables(wrong)
    where, expr = mon.dashboard_expressions()[0]
    assert where.startswith("funnel / ")
    assert "$" not in expr
