"""nurture's domain metrics (docs/metrics.md): SLA clocks, warnings and breaches, timers, tracks, re-engagement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.nurture import store
from services.nurture.policy import Policy
from shared.runtime.db import Inbound
from shared.runtime.metrics import DomainMetrics, field
from shared.schemas import topics

_LATENESS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class NurtureMetrics(DomainMetrics):
    """Counters fed by committed events and tallies (handlers, the timer loop); pending timers read from the table."""

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__("nurture", registry)
        self.clocks = self.counter("sla_clocks_started_total", "Follow-up clocks started", ["grade"])
        self.met = self.counter("sla_met_total", "First contact before the deadline")
        self.breaches = self.counter("sla_breaches_total", "Follow-up deadlines missed", ["action"])
        self.fired = self.counter("timers_fired_total", "Timers fired", ["kind"])
        lateness = self.histogram("timer_lateness_seconds", "How long after its due time a timer fired", _LATENESS)
        self.enrolments = self.counter("enrolments_total", "Leads enrolled in a nurture track", ["track"])
        tallied: dict[str, Counter | Histogram] = {
            "clock": self.clocks, "met": self.met, "breach": self.breaches, "fired": self.fired,
            "lateness": lateness, "enrolment": self.enrolments,
        }  # fmt: skip
        for name, metric in tallied.items():
            self.tally(name, metric)
        self.warnings = self.counter("sla_warnings_total", "SLA reminders sent", ["to"])
        self.touches = self.counter("touches_total", "Touches requested", ["track", "channel"])
        self.reengagements = self.counter("reengagements_total", "Re-engaged leads", ["owned"])
        self.archived = self.counter("archived_total", "Leads archived at the end of a track", ["track"])
        self.pending = self.gauge("timers_pending", "Timers waiting to fire", ["kind"])
        self.on(topics.LEADS_SLA_WARNED, self._warned)
        self.on(topics.NURTURE_TOUCH_REQUESTED, self._touched)
        self.on(topics.LEADS_REENGAGED, self._reengaged)
        self.on(topics.LEADS_ARCHIVED, self._archived)
        for values, metric in [
            (("A", "B", "C", "D", "none"), self.clocks),
            (("reassign", "pool"), self.breaches),
            (store.ALL_KINDS, self.fired),
            (("owner", "manager"), self.warnings),
            (("true", "false"), self.reengagements),
        ]:
            for value in values:
                metric.labels(value)  # every known series from the start: rates and ratios work from the first event

    def policy_loaded(self, policy: Policy) -> None:
        """Series for the policy's tracks and their channels, so dashboards show zeros rather than gaps."""
        for name, track in policy.tracks.items():
            self.enrolments.labels(name)
            self.archived.labels(name)
            for step in track.steps:
                self.touches.labels(name, step.channel)

    async def observe_timers(self, conn: AsyncConnection) -> None:
        """Pending timers by kind, every kind present (0 when none)."""
        rows = await conn.execute(
            text("SELECT kind, count(*) FROM nurture.timers WHERE status = 'pending' GROUP BY kind")
        )
        counts = dict(rows.tuples().all())
        for kind in {*store.ALL_KINDS, *counts}:
            self.pending.labels(kind).set(counts.get(kind, 0))

    def _warned(self, payload: Any, cause: Inbound | None, now: datetime) -> None:  # noqa: ARG002 -- observer
        self.warnings.labels(field(payload, "to") or "owner").inc()

    def _touched(self, payload: Any, cause: Inbound | None, now: datetime) -> None:  # noqa: ARG002 -- observer
        self.touches.labels(field(payload, "track"), field(payload, "channel")).inc()

    def _reengaged(self, payload: Any, cause: Inbound | None, now: datetime) -> None:  # noqa: ARG002 -- observer
        self.reengagements.labels("true" if field(payload, "owner_rep_id") else "false").inc()

    def _archived(self, payload: Any, cause: Inbound | None, now: datetime) -> None:  # noqa: ARG002 -- observer
        self.archived.labels(field(payload, "track") or "none").inc()
