"""router's subscribers: scored leads → assignment or pool; recycled leads → the next rep, previous owners excluded."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from services.router import store
from services.router.domain import pick_round_robin, rotation, routing_facts
from services.router.rules import RuleSet
from shared.runtime.db import Inbound, UnitOfWork
from shared.schemas import topics
from shared.schemas.envelope import LEADFLOW_NS
from shared.schemas.events import Decision, LeadAssigned, LeadPooled, LeadRecycled


@dataclass(frozen=True)
class Target:
    """Where a lead is to go: a team under a rule (None: the pool), excluding some reps, at some attempt."""

    cause: Inbound
    lead_id: uuid.UUID
    facts: dict[str, Any]
    rule_id: str | None
    team_id: str | None
    attempt: int = 1
    reason: str = "new_lead"
    exclude: frozenset[str] = frozenset()
    pool_reason: str = "no rule matched"


@dataclass
class Outcomes:
    """A batch's decisions, written with a few set-based statements."""

    assigned: list[tuple[Target, LeadAssigned]] = field(default_factory=list)
    pooled: list[tuple[Target, str]] = field(default_factory=list)


class Router:
    """Handlers bound to the rule set in force."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.teams = {t.id: t for t in rules.teams}
        self.rotations = {t.id: rotation(t) for t in rules.teams}

    async def on_lead_scored(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """First matching rule → its team's next rep; grade D, pool rules or no match → the pool."""
        routed = await store.routed_leads(uow.conn, [m.lead_id for m in messages if m.lead_id])
        targets = []
        for message in messages:
            if message.lead_id is None or message.lead_id in routed:
                uow.outcome(message, "already_routed")
                continue
            routed.add(message.lead_id)
            targets.append(self._target(message, message.lead_id, routing_facts(message.payload)))
        await self._route(uow, targets)

    async def on_lead_recycled(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """The follow-up deadline passed: close the assignment, give the lead to someone who has not had it."""
        for message in messages:  # rare, and each needs the lead's history: one at a time
            recycled: LeadRecycled = message.payload
            lead = await store.get_lead(uow.conn, recycled.lead_id)
            rule_id = await store.close_assignment(uow.conn, recycled.assignment_id, "recycled") if lead else None
            if lead is None or rule_id is None:
                uow.outcome(message, "stale_recycle")  # already reassigned, pooled or unknown
                continue
            owners = await store.previous_owners(uow.conn, recycled.lead_id)
            attempt = await store.last_attempt(uow.conn, recycled.lead_id) + 1
            exclude = frozenset(owners | set(recycled.exclude_rep_ids) | {recycled.previous_rep_id})
            target = Target(
                message, recycled.lead_id, dict(lead.facts), rule_id, lead.team_id, attempt, "recycled", exclude
            )
            await self._route(uow, [target])

    def _target(self, cause: Inbound, lead_id: uuid.UUID, facts: dict[str, Any]) -> Target:
        rule = self.rules.first_match(facts)
        if rule is None:
            return Target(cause, lead_id, facts, None, None)
        return Target(cause, lead_id, facts, rule.id, rule.team, pool_reason=f"rule {rule.id}")

    async def _route(self, uow: UnitOfWork, targets: Sequence[Target]) -> None:
        teams = self.teams
        turns = await store.take_turns(uow.conn, Counter(t.team_id for t in targets if t.team_id in teams))
        outcomes = Outcomes()
        for target in targets:
            if target.team_id not in teams:
                outcomes.pooled.append((target, target.pool_reason))
                continue
            pick = pick_round_robin(
                teams[target.team_id], turns[target.team_id], target.exclude, self.rotations[target.team_id]
            )
            turns[target.team_id] += 1
            if pick.rep is None:
                outcomes.pooled.append((target, f"no eligible rep in team {target.team_id}"))
            else:
                outcomes.assigned.append((target, self._assignment(target, pick)))
        await self._write(uow, outcomes)

    def _assignment(self, target: Target, pick: Any) -> LeadAssigned:
        rule = next((r for r in self.rules.rules if r.id == target.rule_id), None)
        decision = Decision(
            rule_id=target.rule_id or "",
            rule_set_version=self.rules.version,
            matched={k: target.facts.get(k) for k in (rule.when if rule else {})},
            candidates=pick.candidates,
            explanation=f"rule {target.rule_id} → team {target.team_id}; {pick.rep.id} is next in weighted round robin",
        )
        return LeadAssigned(
            assignment_id=uuid.uuid5(LEADFLOW_NS, f"assignment/{target.cause.event_id}"),
            lead_id=target.lead_id,
            rep_id=pick.rep.id,
            team_id=target.team_id or "",
            rule_id=target.rule_id or "",
            rule_set_version=self.rules.version,
            strategy="round_robin",
            attempt=target.attempt,
            grade=target.facts.get("grade"),
            reason=target.reason,
            decision=decision,
        )

    async def _write(self, uow: UnitOfWork, outcomes: Outcomes) -> None:
        inserted = await store.add_assignments(uow.conn, [_ledger_row(a, uow) for _, a in outcomes.assigned])
        lead_rows = []
        for target, assigned in outcomes.assigned:
            if assigned.assignment_id not in inserted:
                uow.outcome(target.cause, "already_assigned")
                continue
            lead_rows.append(_lead_row(target, "assigned", uow, team_id=assigned.team_id, rep_id=assigned.rep_id))
            uow.emit(topics.LEADS_ASSIGNED, assigned, lead_id=target.lead_id, cause=target.cause)
            uow.outcome(target.cause, "assigned")
        for target, reason in outcomes.pooled:
            lead_rows.append(_lead_row(target, "pooled", uow))
            pooled = LeadPooled(
                lead_id=target.lead_id,
                reason=reason,
                rule_id=target.rule_id,
                rule_set_version=self.rules.version,
                grade=target.facts.get("grade"),
            )
            uow.emit(topics.LEADS_POOLED, pooled, lead_id=target.lead_id, cause=target.cause)
            uow.outcome(target.cause, "pooled")
        await store.add_to_pool(
            uow.conn,
            [
                {"lead_id": t.lead_id, "reason": reason, "rule_id": t.rule_id, "pooled_at": uow.now()}
                for t, reason in outcomes.pooled
            ],
        )
        await store.save_leads(uow.conn, lead_rows)


def _ledger_row(assigned: LeadAssigned, uow: UnitOfWork) -> dict[str, Any]:
    return {
        **assigned.model_dump(
            include={
                "assignment_id",
                "lead_id",
                "rep_id",
                "team_id",
                "rule_id",
                "rule_set_version",
                "strategy",
                "attempt",
                "reason",
            }
        ),
        "decision": assigned.decision.model_dump(mode="json"),
        "created_at": uow.now(),
    }


def _lead_row(
    target: Target, status: str, uow: UnitOfWork, *, team_id: str | None = None, rep_id: str | None = None
) -> dict[str, Any]:
    return {
        "lead_id": target.lead_id,
        "status": status,
        "team_id": team_id,
        "owner_rep_id": rep_id,
        "grade": target.facts.get("grade"),
        "facts": target.facts,
        "updated_at": uow.now(),
    }
