"""ingest's domain metrics (docs/metrics.md): what channels send, what becomes a lead, and why the rest is refused."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry

from shared.runtime.db import Inbound
from shared.runtime.metrics import DomainMetrics, field, seconds_since
from shared.schemas import topics


def ingest_metrics(registry: CollectorRegistry) -> DomainMetrics:
    """Counters fed by the events a committed batch emitted: every submission ends in exactly one of them."""
    m = DomainMetrics("ingest", registry)
    received = m.counter("leads_received_total", "Submissions received (Kafka, HTTP, file import)", ["source"])
    ingested = m.counter("leads_ingested_total", "New leads published on leads.ingested.v1", ["source"])
    rejected = m.counter(
        "leads_rejected_total", "Rejected submissions, once per distinct error code", ["source", "reason"]
    )
    resubmitted = m.counter("resubmissions_total", "A (source, external_id) sent again", ["source"])
    latency = m.latency(["rejected"])

    def on_ingested(payload: Any, cause: Inbound | None, now: datetime) -> None:  # noqa: ARG001 -- observer signature
        source = m.sources(field(payload, "source"))
        m.child(received, source).inc()
        m.child(ingested, source).inc()

    def on_rejected(payload: Any, cause: Inbound | None, now: datetime) -> None:
        source = m.sources(field(payload, "source"))
        m.child(received, source).inc()
        for code in sorted({error.code for error in field(payload, "errors", [])}):
            m.child(rejected, source, code).inc()
        if cause is not None and (elapsed := seconds_since(cause.envelope.occurred_at, now)) is not None:
            m.child(latency, "rejected").observe(elapsed)

    def on_resubmitted(payload: Any, cause: Inbound | None, now: datetime) -> None:  # noqa: ARG001 -- observer signature
        source = m.sources(field(payload, "source"))
        m.child(received, source).inc()
        m.child(resubmitted, source).inc()

    m.on(topics.LEADS_INGESTED, on_ingested)
    m.on(topics.LEADS_REJECTED, on_rejected)
    m.on(topics.LEADS_RESUBMITTED, on_resubmitted)
    return m
