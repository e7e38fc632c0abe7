"""dedup's domain metrics (docs/metrics.md): unique leads and duplicates by the rule that caught them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry

from shared.runtime.db import Inbound
from shared.runtime.metrics import DomainMetrics, field, seconds_since
from shared.schemas import topics


def dedup_metrics(registry: CollectorRegistry) -> DomainMetrics:
    """Counters fed by the events a committed batch emitted."""
    m = DomainMetrics("dedup", registry)
    unique = m.counter("leads_unique_total", "New unique leads (leads.deduplicated.v1)", ["source"])
    merged = m.counter("leads_merged_total", "Duplicates merged, by the strongest agreeing rule", ["source", "rule"])
    undone = m.counter("merges_undone_total", "Merges reverted by an operator")
    latency = m.latency(["merged"])

    def on_unique(payload: Any, cause: Inbound | None, now: datetime) -> None:  # noqa: ARG001 -- observer signature
        if cause is not None and cause.topic == topics.DEDUP_COMMANDS:
            undone.inc()  # an undone merge gives its lead back: not a new arrival in the funnel
        else:
            m.child(unique, m.sources(field(payload, "source"))).inc()

    def on_merged(payload: Any, cause: Inbound | None, now: datetime) -> None:
        m.child(merged, m.sources(field(payload, "source")), field(payload, "rule") or "unknown").inc()
        if cause is not None and (elapsed := seconds_since(cause.raw.get("received_at"), now)) is not None:
            m.child(latency, "merged").observe(elapsed)

    m.on(topics.LEADS_DEDUPLICATED, on_unique)
    m.on(topics.LEADS_MERGED, on_merged)
    return m
