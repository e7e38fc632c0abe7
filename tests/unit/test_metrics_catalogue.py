"""docs/metrics.md lists exactly the metrics the services register, with their labels."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry

from services.dedup.metrics import dedup_metrics
from services.ingest.api import HttpMetrics
from services.ingest.metrics import ingest_metrics
from services.nurture.metrics import NurtureMetrics
from services.router.metrics import RouterMetrics, pool_reason
from services.scoring.metrics import scoring_metrics
from shared.runtime.metrics import BoundedLabel, RuntimeMetrics

pytestmark = pytest.mark.unit
CATALOGUE = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
SERVICES = ("ingest", "dedup", "scoring", "router", "nurture")
_ROW = re.compile(r"^\| `(leadflow_[a-z<>_]+)` \| (\w+) \|([^|]*)\|")


def catalogue() -> dict[str, tuple[str, set[str]]]:
    """metric name → (type, labels), with `<service>` rows expanded to every service."""
    found: dict[str, tuple[str, set[str]]] = {}
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        if (match := _ROW.match(line)) is None:
            continue
        name, kind, labels = match.groups()
        labels = re.sub(r"\([^)]*\)", "", labels)  # "outcome (`assigned`, `pooled`)": the values are notes
        label_set = {label.strip() for label in labels.split(",") if label.strip()}
        for service in SERVICES if "<service>" in name else ("",):
            found[name.replace("<service>", service)] = (kind, label_set)
    return found


def registered() -> dict[str, tuple[str, set[str]]]:
    """metric name → (type, labels) as the services register them."""
    found: dict[str, tuple[str, set[str]]] = {}
    factories = {
        "ingest": ingest_metrics,
        "dedup": dedup_metrics,
        "scoring": scoring_metrics,
        "router": RouterMetrics,
        "nurture": NurtureMetrics,
    }
    for service, factory in factories.items():
        registry = CollectorRegistry()
        RuntimeMetrics.create(service, registry)
        factory(registry)
        if service == "ingest":
            HttpMetrics.create(SimpleNamespace(metrics=SimpleNamespace(registry=registry)))  # type: ignore[arg-type]  # only .metrics.registry is read
        for collector in list(registry._collector_to_names):
            name = collector._name  # type: ignore[attr-defined]
            kind = collector._type  # type: ignore[attr-defined]
            if kind == "counter":
                name += "_total"
            found[name] = (kind, set(collector._labelnames))  # type: ignore[attr-defined]
    return found


def test_every_registered_metric_is_in_the_catalogue_and_back() -> None:
    documented, actual = catalogue(), registered()
    assert len(documented) > 60, "the catalogue parser found too few rows: the check would prove nothing"
    assert sorted(set(actual) - set(documented)) == [], "registered but not in docs/metrics.md"
    assert sorted(set(documented) - set(actual)) == [], "in docs/metrics.md but not registered"
    wrong = {name: (documented[name], actual[name]) for name in actual if documented[name] != actual[name]}
    assert wrong == {}, "type or labels differ between docs/metrics.md and the code"


def test_names_follow_the_house_style() -> None:
    for name, (kind, labels) in registered().items():
        assert re.fullmatch(r"leadflow_(ingest|dedup|scoring|router|nurture)_[a-z_]+", name), name
        assert (kind == "counter") == name.endswith("_total"), name
        assert not labels & {"lead_id", "event_id", "email", "phone", "name"}, f"{name}: a per-lead or PII label"


def test_source_labels_are_bounded() -> None:
    bounded = BoundedLabel(limit=3)
    assert [bounded(s) for s in ("web", "ads", None, "fair", "web", "expo")] == [
        "web", "ads", "unknown", "other", "web", "other",
    ]  # fmt: skip


def test_pool_reasons_are_a_small_set() -> None:
    reasons = [
        "recycled: no follow-up before the deadline", "released: not my region", "rejected by 3 reps",
        "no rule of stage intake matched", "rule pool-c-d", "no eligible rep in sme → overflow", "r7 is offline",
    ]  # fmt: skip
    assert [pool_reason(r) for r in reasons] == [
        "recycled", "released", "rejected", "no_rule", "rule", "no_capacity", "rep_unavailable",
    ]  # fmt: skip
