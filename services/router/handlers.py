"""router's subscribers: scored leads → assignment or pool; recycled leads → the next rep, previous owners excluded."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.router import store
from services.router.domain import pick_round_robin, routing_facts
from services.router.rules import RuleSet
from shared.runtime.db import Inbound, UnitOfWork
from shared.schemas import topics
from shared.schemas.envelope import LEADFLOW_NS
from shared.schemas.events import Decision, LeadAssigned, LeadPooled, LeadRecycled, LeadScored


@dataclass(frozen=True)
class Target:
    """Where a lead is to go: a team under a rule, excluding some reps, at some attempt."""

    rule_id: str
    team_id: str
    attempt: int = 1
    reason: str = "new_lead"
    exclude: frozenset[str] = frozenset()


class Router:
    """Handlers bound to the rule set in force."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules

    async def on_lead_scored(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """First matching rule → its team's next rep; grade D, pool rules or no match → the pool."""
        routed = await store.routed_leads(uow.conn, [m.lead_id for m in messages if m.lead_id])
        for message in messages:
            lead: LeadScored = message.payload
            lead_id = message.lead_id
            if lead_id is None or lead_id in routed:
                uow.outcome(message, "already_routed")
                continue
            facts = routing_facts(lead)
            rule = self.rules.first_match(facts)
            if rule is None or rule.team is None:
                reason = f"rule {rule.id}" if rule else "no rule matched"
                await self._pool(uow, message, lead_id, facts, reason, rule.id if rule else None)
            else:
                await self._assign(uow, message, lead_id, facts, Target(rule.id, rule.team))
            routed.add(lead_id)

    async def on_lead_recycled(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """The follow-up deadline passed: close the assignment, give the lead to someone who has not had it."""
        for message in messages:
            recycled: LeadRecycled = message.payload
            lead = await store.get_lead(uow.conn, recycled.lead_id)
            rule_id = await store.close_assignment(uow.conn, recycled.assignment_id, "recycled") if lead else None
            if lead is None or rule_id is None:
                uow.outcome(message, "stale_recycle")  # already reassigned, pooled or unknown
                continue
            owners = await store.previous_owners(uow.conn, recycled.lead_id)
            exclude = frozenset(owners | set(recycled.exclude_rep_ids) | {recycled.previous_rep_id})
            attempt = await store.last_attempt(uow.conn, recycled.lead_id) + 1
            target = Target(rule_id, lead.team_id, attempt, "recycled", exclude)
            await self._assign(uow, message, recycled.lead_id, dict(lead.facts), target)

    async def _assign(  # noqa: PLR0913 -- one decision's inputs
        self, uow: UnitOfWork, cause: Inbound, lead_id: uuid.UUID, facts: dict[str, Any], target: Target
    ) -> None:
        team = next((t for t in self.rules.teams if t.id == target.team_id), None)
        pick = pick_round_robin(team, await store.next_turn(uow.conn, team.id), target.exclude) if team else None
        if pick is None or pick.rep is None:
            await self._pool(uow, cause, lead_id, facts, f"no eligible rep in team {target.team_id}", target.rule_id)
            return
        rule = next((r for r in self.rules.rules if r.id == target.rule_id), None)
        decision = Decision(
            rule_id=target.rule_id, rule_set_version=self.rules.version,
            matched={k: facts.get(k) for k in (rule.when if rule else {})}, candidates=pick.candidates,
            explanation=f"rule {target.rule_id} → team {target.team_id}; {pick.rep.id} is next in weighted round robin",
        )
        assigned = LeadAssigned(
            assignment_id=uuid.uuid5(LEADFLOW_NS, f"assignment/{cause.event_id}"), lead_id=lead_id, rep_id=pick.rep.id,
            team_id=target.team_id, rule_id=target.rule_id, rule_set_version=self.rules.version, strategy="round_robin",
            attempt=target.attempt, grade=facts.get("grade"), reason=target.reason, decision=decision,
        )
        if not await store.add_assignment(uow.conn, _ledger_row(assigned, uow)):
            uow.outcome(cause, "already_assigned")
            return
        await store.save_lead(uow.conn, _lead_row(lead_id, "assigned", facts, uow, team_id=team.id, rep_id=pick.rep.id))
        uow.emit(topics.LEADS_ASSIGNED, assigned, lead_id=lead_id, cause=cause)
        uow.outcome(cause, "assigned")

    async def _pool(  # noqa: PLR0913 -- one decision's inputs
        self, uow: UnitOfWork, cause: Inbound, lead_id: uuid.UUID, facts: dict[str, Any], reason: str, rule_id: str | None
    ) -> None:
        await store.add_to_pool(uow.conn, lead_id, reason, rule_id, uow.now())
        await store.save_lead(uow.conn, _lead_row(lead_id, "pooled", facts, uow))
        pooled = LeadPooled(lead_id=lead_id, reason=reason, rule_id=rule_id, rule_set_version=self.rules.version,
                            grade=facts.get("grade"))
        uow.emit(topics.LEADS_POOLED, pooled, lead_id=lead_id, cause=cause)
        uow.outcome(cause, "pooled")


def _ledger_row(assigned: LeadAssigned, uow: UnitOfWork) -> dict[str, Any]:
    return {
        **assigned.model_dump(include={"assignment_id", "lead_id", "rep_id", "team_id", "rule_id", "rule_set_version",
                                       "strategy", "attempt", "reason"}),
        "decision": assigned.decision.model_dump(mode="json"),
        "created_at": uow.now(),
    }


def _lead_row(  # noqa: PLR0913 -- the row's columns
    lead_id: uuid.UUID, status: str, facts: dict[str, Any], uow: UnitOfWork, *, team_id: str | None = None,
    rep_id: str | None = None,
) -> dict[str, Any]:
    return {"lead_id": lead_id, "status": status, "team_id": team_id, "owner_rep_id": rep_id,
            "grade": facts.get("grade"), "facts": facts, "updated_at": uow.now()}
