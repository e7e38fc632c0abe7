"""scoring's domain metrics (docs/metrics.md): grade mix, score distribution by channel, outcomes learned from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry

from shared.runtime.db import Inbound
from shared.runtime.metrics import DomainMetrics, field
from shared.schemas import topics

_SCORE_BUCKETS = (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)


def scoring_metrics(registry: CollectorRegistry) -> DomainMetrics:
    """Counters fed by the scored events a committed batch emitted, and the outcomes its handler recorded."""
    m = DomainMetrics("scoring", registry)
    scored = m.counter(
        "leads_scored_total", "Leads scored (new_lead, reengaged, model_update)", ["grade", "temperature", "reason"]
    )
    score = m.histogram("score", "The score (0-100) of each new lead, by channel", _SCORE_BUCKETS, ["source"])
    m.tally("outcome", m.counter("outcomes_total", "Sales outcomes learned from", ["kind"]))

    def on_scored(payload: Any, cause: Inbound | None, now: datetime) -> None:  # noqa: ARG001 -- observer signature
        reason = field(payload, "reason", "new_lead")
        m.child(scored, field(payload, "grade"), field(payload, "temperature"), reason).inc()
        if reason == "new_lead":
            m.child(score, m.sources(field(payload, "source"))).observe(field(payload, "score", 0))

    m.on(topics.LEADS_SCORED, on_scored)
    return m
