"""router's domain metrics (docs/metrics.md): the funnel's routing steps, fairness per rep, the pool, rejections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.router.rules import RuleSet
from shared.runtime.db import Inbound
from shared.runtime.metrics import DomainMetrics, field, seconds_since
from shared.schemas import topics

OUTCOMES = ("assigned", "pooled", "deferred")
_POOL_REASONS = (  # the pool's free-text reasons, by how they start: a bounded label
    ("recycled", "recycled"),
    ("released", "released"),
    ("rejected by", "rejected"),
    ("no rule", "no_rule"),
    ("rule ", "rule"),
    ("no eligible rep", "no_capacity"),
)


def pool_reason(text: str) -> str:
    """`leadflow_router_leads_pooled_total`'s reason label for a pooled event's reason."""
    for prefix, code in _POOL_REASONS:
        if text.startswith(prefix):
            return code
    return "rep_unavailable"  # a rule naming one rep who cannot take it


class RouterMetrics(DomainMetrics):
    """Counters fed by the router's committed events and tallies; rep weights follow the rule set in force."""

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__("router", registry)
        self.routed = self.counter("leads_routed_total", "First routing decision per lead", ["source", "outcome"])
        self.assignments = self.counter("assignments_total", "Every assignment", ["team", "rule", "strategy", "reason"])
        self.rep_assignments = self.counter("rep_assignments_total", "Assignments per rep", ["team", "rep"])
        self.rep_weight = self.gauge("rep_weight", "The rep's round-robin weight in the running rules", ["team", "rep"])
        self.pooled = self.counter("leads_pooled_total", "Leads put in the shared pool", ["reason"])
        self.deferred = self.counter("leads_deferred_total", "Leads sent to nurture", ["track"])
        self.reassignments = self.counter("reassignments_total", "A lead assigned again", ["reason"])
        self.pool_commands = self.counter("pool_commands_total", "Pool commands", ["command", "result"])
        self.pool_size = self.gauge("pool_size", "Leads in the pool now", ["grade"])
        self.lead_latency = self.latency(OUTCOMES)
        self.rejections = self.counter("rejections_total", "Reps rejecting an assigned lead", ["team"])
        self.tally("rejection", self.rejections)
        self.tally(
            "activity",
            self.counter("sales_activities_total", "Sales activities applied, by channel", ["kind", "source"]),
            sources=(1,),
        )
        self.on(topics.LEADS_ASSIGNED, self._assigned)
        self.on(topics.LEADS_POOLED, self._pooled)
        self.on(topics.LEADS_DEFERRED, self._deferred)
        self.on(topics.POOL_COMMAND_REJECTED, self._refused)
        self._weights: set[tuple[str, str]] = set()
        for code in {code for _, code in _POOL_REASONS} | {"rep_unavailable"}:
            self.pooled.labels(code)  # every known series from the start: rates and ratios work from the first event
        for reason in ("rejected", "recycled"):
            self.reassignments.labels(reason)
        for command in ("claim", "release", "assign"):
            self.pool_commands.labels(command, "ok")

    def rules_loaded(self, rules: RuleSet) -> None:
        """Export each member's weight, dropping reps and teams the new rule set no longer has."""
        now = set()
        for team in rules.teams.values():
            for member in team.members:
                self.rep_weight.labels(team.id, member.rep).set(member.weight)
                now.add((team.id, member.rep))
        for team_id, rep in self._weights - now:
            self.rep_weight.remove(team_id, rep)
        self._weights = now
        for team in rules.teams.values():
            self.rejections.labels(team.id)
        for rule in rules.rules:
            if rule.target == "nurture" and rule.target_id:
                self.deferred.labels(rule.target_id)

    async def observe_pool(self, conn: AsyncConnection) -> None:
        """The pool's size by grade, every grade present (0 when none): dashboards need no gaps."""
        rows = await conn.execute(
            text("SELECT grade, count(*) FROM router.leads WHERE status = 'pooled' GROUP BY grade")
        )
        sizes = {grade or "none": count for grade, count in rows}
        for grade in {"A", "B", "C", "D", "none", *sizes}:
            self.pool_size.labels(grade).set(sizes.get(grade, 0))

    def _first(self, cause: Inbound | None, outcome: str, now: datetime) -> None:
        """A lead's first routing: the funnel's step, and capture → outcome latency."""
        if cause is None or cause.topic != topics.LEADS_SCORED or cause.raw.get("reason") == "reengaged":
            return
        self.child(self.routed, self.sources(cause.raw.get("source")), outcome).inc()
        if (elapsed := seconds_since(cause.raw.get("received_at"), now)) is not None:
            self.child(self.lead_latency, outcome).observe(elapsed)

    def _assigned(self, payload: Any, cause: Inbound | None, now: datetime) -> None:
        team, rep, reason = field(payload, "team_id"), field(payload, "rep_id"), field(payload, "reason")
        self.child(
            self.assignments, team, field(payload, "rule_id") or "none", field(payload, "strategy"), reason
        ).inc()
        self.child(self.rep_assignments, team, rep).inc()
        if reason in {"rejected", "recycled"}:
            self.reassignments.labels(reason).inc()
        if cause is not None and cause.topic == topics.POOL_COMMANDS:
            self.pool_commands.labels(cause.payload.command, "ok").inc()
        self._first(cause, "assigned", now)

    def _pooled(self, payload: Any, cause: Inbound | None, now: datetime) -> None:
        self.child(self.pooled, pool_reason(field(payload, "reason") or "")).inc()
        if cause is not None and cause.topic == topics.POOL_COMMANDS:
            self.pool_commands.labels(cause.payload.command, "ok").inc()
        self._first(cause, "pooled", now)

    def _deferred(self, payload: Any, cause: Inbound | None, now: datetime) -> None:
        self.child(self.deferred, field(payload, "track") or "default").inc()
        self._first(cause, "deferred", now)

    def _refused(self, payload: Any, cause: Inbound | None, now: datetime) -> None:  # noqa: ARG002 -- observer
        self.pool_commands.labels(field(payload, "command").command, field(payload, "code")).inc()
