"""router's subscribers: leads, activities, availability and the shared pool's commands.

Scored and recycled leads are routed; rejections reassign; qualified leads move on a stage; closing
activities free the rep's capacity; availability changes; the pool takes claim / release / assign.

Every batch locks the leads it touches and then the reps it may give them to (both in id order, so instances
never deadlock), decides against that state with services.router.domain, and writes everything back in the same
transaction: assignments, counters, pointers, pool, decision records and the outgoing events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.router import store
from services.router.domain import (
    REENGAGED_SKIPS,
    Board,
    Exclusion,
    Request,
    Routing,
    company_key,
    route,
    routing_facts,
)
from services.router.rules import RuleSet, RuleSetFile
from shared.runtime.db import Inbound, UnitOfWork, fetch_binary
from shared.runtime.logging import get_logger
from shared.schemas import topics
from shared.schemas.envelope import LEADFLOW_NS
from shared.schemas.events import (
    CandidateRep,
    Decision,
    LeadAssigned,
    LeadDeferred,
    LeadPooled,
    LeadRecycled,
    LeadScored,
    PoolCommand,
    PoolCommandRejected,
    RepStatus,
    SalesActivity,
)

log = get_logger(__name__)

CLOSING = {"converted": "converted", "lost": "lost", "disqualified": "disqualified"}


@dataclass(frozen=True)
class PoolPolicy:
    """The shared pool's claim controls (ROUTER_POOL_* settings)."""

    claims_per_day: int = 20
    reclaim_cooldown: timedelta = timedelta(hours=12)  # a previous owner may not re-claim sooner
    claim_delay: timedelta = timedelta(0)  # a newly pooled lead is claimable only after this


@dataclass
class LeadState:
    """A routed lead as the batch sees it (from router.leads, updated as the batch decides)."""

    lead_id: uuid.UUID
    status: str
    facts: dict[str, Any]
    stage: str = "intake"
    team_id: str | None = None
    owner_rep_id: str | None = None
    assignment_id: uuid.UUID | None = None
    rejections: int = 0
    attempts: int = 0
    changed: bool = False

    @classmethod
    def of(cls, row: Any, attempts: int) -> LeadState:
        return cls(
            row.lead_id, row.status, row.facts, row.stage, row.team_id, row.owner_rep_id, row.assignment_id,
            row.rejections, attempts,
        )  # fmt: skip


@dataclass
class _Batch:
    """What one batch writes: collected while deciding, sent with the outbox in one round trip."""

    uow: UnitOfWork
    rules: RuleSet
    board: Board
    leads: dict[uuid.UUID, LeadState]
    assignments: list[dict[str, Any]] = field(default_factory=list)
    closes: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    accepts: list[uuid.UUID] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    pooled: list[dict[str, Any]] = field(default_factory=list)
    unpooled: set[uuid.UUID] = field(default_factory=set)
    exclusions: list[tuple[uuid.UUID, str, str, datetime | None]] = field(default_factory=list)

    def close(self, lead: LeadState, why: str) -> str | None:
        """Close the lead's active assignment; the owner's open count drops. Returns the previous owner."""
        if lead.assignment_id is None or lead.owner_rep_id is None:
            return None
        self.closes.append((lead.assignment_id, why))
        self.board.load(lead.owner_rep_id).release()
        previous = lead.owner_rep_id
        lead.assignment_id, lead.owner_rep_id, lead.changed = None, None, True
        return previous

    def exclude(self, lead: LeadState, rep_id: str, reason: str, until: datetime | None) -> None:
        self.board.exclude(lead.lead_id, rep_id, Exclusion(reason, until))
        self.exclusions.append((lead.lead_id, rep_id, reason, until))

    def apply(self, cause: Inbound, lead: LeadState, routing: Routing, reason: str, previous: str | None) -> None:
        """Record a routing decision: the assignment, pool place or deferral, its record and its event."""
        uow, now = self.uow, self.uow.now()
        rule_id = routing.rule.id if routing.rule else routing.decision.rule_id or None
        assignment_id = None
        if routing.outcome == "assigned":
            assert routing.rep_id is not None  # noqa: S101
            assignment_id = uuid.uuid5(LEADFLOW_NS, f"assignment/{cause.event_id}/{lead.lead_id}")
            lead.attempts += 1
            event = LeadAssigned(
                assignment_id=assignment_id,
                lead_id=lead.lead_id,
                rep_id=routing.rep_id,
                team_id=routing.team_id or "",
                rule_id=rule_id or "",
                rule_set_version=self.rules.version,
                strategy=routing.strategy,
                attempt=lead.attempts,
                grade=lead.facts.get("grade"),
                reason=reason,
                decision=routing.decision,
                stage=lead.stage if not routing.qualifying else "qualifying",
                previous_rep_id=previous,
            )
            self.assignments.append(
                {
                    "assignment_id": assignment_id,
                    "lead_id": lead.lead_id,
                    "rep_id": routing.rep_id,
                    "team_id": routing.team_id or "",
                    "rule_id": rule_id or "",
                    "rule_set_version": self.rules.version,
                    "strategy": routing.strategy,
                    "attempt": lead.attempts,
                    "reason": reason,
                    "decision": routing.decision.model_dump(mode="json", exclude_none=True),
                    "created_at": now,
                }
            )
            lead.status, lead.team_id, lead.owner_rep_id, lead.assignment_id = (
                "assigned", routing.team_id, routing.rep_id, assignment_id,
            )  # fmt: skip
            if routing.qualifying:
                lead.stage = "qualifying"
            self.unpooled.add(lead.lead_id)
            uow.emit(topics.LEADS_ASSIGNED, event, lead_id=lead.lead_id, cause=cause)
        elif routing.outcome == "pooled":
            self.pool(cause, lead, routing.pool_reason or "pooled", rule_id, previous)
        else:
            lead.status, lead.team_id = "deferred", None
            deferred = LeadDeferred(
                lead_id=lead.lead_id,
                track=routing.track or "default",
                reason=routing.decision.explanation,
                rule_id=rule_id,
                rule_set_version=self.rules.version,
                may_email=lead.facts.get("may_email"),
                grade=lead.facts.get("grade"),
            )
            uow.emit(topics.LEADS_DEFERRED, deferred, lead_id=lead.lead_id, cause=cause)
        lead.changed = True
        self.decisions.append(
            {
                "lead_id": lead.lead_id,
                "outcome": routing.outcome,
                "assignment_id": assignment_id,
                "rule_id": rule_id,
                "rule_set_version": self.rules.version,
                "reason": reason,
                "record": routing.decision.model_dump(mode="json", exclude_none=True),
                "decided_at": now,
            }
        )
        uow.outcome(cause, routing.outcome)

    def pool(self, cause: Inbound, lead: LeadState, why: str, rule_id: str | None, previous: str | None) -> None:
        uow = self.uow
        lead.status, lead.team_id, lead.changed = "pooled", None, True
        lead.stage = "intake" if lead.stage == "qualifying" else lead.stage
        self.unpooled.discard(lead.lead_id)
        self.pooled.append(
            {
                "lead_id": lead.lead_id,
                "reason": why,
                "rule_id": rule_id,
                "pooled_at": uow.now(),
                "rule_set_version": self.rules.version,
                "previous_rep_id": previous,
            }
        )
        event = LeadPooled(
            lead_id=lead.lead_id,
            reason=why,
            rule_id=rule_id,
            rule_set_version=self.rules.version,
            grade=lead.facts.get("grade"),
            previous_rep_id=previous,
            may_email=lead.facts.get("may_email"),
        )
        uow.emit(topics.LEADS_POOLED, event, lead_id=lead.lead_id, cause=cause)

    def write(self) -> None:
        uow, now = self.uow, self.uow.now()
        if self.closes:
            uow.defer(*store.close_assignments(self.closes, now))
        if self.accepts:
            uow.defer(*store.accept_assignments(self.accepts, now))
        if self.assignments:
            uow.defer(*store.insert_assignments(self.assignments))
        for statement in store.save_board(self.board, now):
            uow.defer(*statement)
        if self.exclusions:
            uow.defer(*store.exclude(self.exclusions, now))
        unpool = self.unpooled - {row["lead_id"] for row in self.pooled}
        if unpool:
            uow.defer(*store.unpool(sorted(unpool)))
        if self.pooled:
            last = {row["lead_id"]: row for row in self.pooled}  # pooled twice in a batch: the last place counts
            uow.defer(*store.pool_leads(list(last.values())))
        changed = [lead for lead in self.leads.values() if lead.changed]
        if changed:
            uow.defer(*store.upsert_leads([_lead_row(lead, now) for lead in changed]))
        if self.decisions:
            uow.defer(*store.insert_decisions(self.decisions))


def _lead_row(lead: LeadState, now: datetime) -> dict[str, Any]:
    return {
        "lead_id": lead.lead_id,
        "status": lead.status,
        "team_id": lead.team_id,
        "owner_rep_id": lead.owner_rep_id,
        "grade": lead.facts.get("grade"),
        "facts": lead.facts,
        "updated_at": now,
        "stage": lead.stage,
        "company_key": company_key(lead.facts),
        "rejections": lead.rejections,
        "assignment_id": lead.assignment_id,
        "routed_at": now,
    }


class Router:
    """The handlers, bound to the rule set in force (hot-reloaded) and the pool policy."""

    def __init__(self, rules: RuleSetFile, pool_policy: PoolPolicy | None = None) -> None:
        self.rules_file = rules
        self.pool_policy = pool_policy or PoolPolicy()

    @property
    def rules(self) -> RuleSet:
        return self.rules_file.current

    # --- availability --------------------------------------------------------------------------------------

    async def on_rep_status(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Online / offline / vacation until …: applied before the leads of the same batch are routed."""
        rows = []
        for message in messages:
            status: RepStatus = message.payload
            rows.append(
                {
                    "rep_id": status.rep_id,
                    "status": status.status,
                    "until": status.until,
                    "reason": status.reason,
                    "at": message.envelope.occurred_at,
                }
            )
            known = status.rep_id in self.rules.reps
            uow.outcome(message, status.status if known else "unknown_rep")
            if not known:
                log.warning("rep_status_for_unknown_rep", rep_id=status.rep_id)
        await fetch_binary(uow.conn, *store.set_status(rows))  # now, not deferred: this batch's leads must see it

    # --- new and re-scored leads ---------------------------------------------------------------------------

    async def on_lead_scored(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Route each new lead by the first matching rule; a re-engaged lead without an active owner is re-routed."""
        rules = self.rules
        ids = [m.lead_id for m in messages if m.lead_id is not None]
        rows = await store.lock_leads(uow.conn, ids)
        attempts = await store.previous_owners(uow.conn, list(rows))
        leads = {lead_id: LeadState.of(row, len(attempts.get(lead_id, []))) for lead_id, row in rows.items()}
        work: list[tuple[Inbound, LeadState, Request]] = []
        for message in messages:
            if message.lead_id is None:
                uow.outcome(message, "no_lead_id")
                continue
            scored: LeadScored = message.payload
            facts = routing_facts(scored)
            lead = leads.get(message.lead_id)
            if lead is None:
                lead = leads[message.lead_id] = LeadState(message.lead_id, "new", facts)
            else:
                lead.facts, lead.changed = facts, True
                if lead.status == "assigned" or (lead.status != "new" and scored.reason != "reengaged"):
                    uow.outcome(message, "already_owned" if lead.status == "assigned" else "already_routed")
                    continue  # the owner keeps it (nurture signals them); a model re-score does not re-route
            stage = "intake" if lead.stage == "qualifying" else lead.stage
            reason = "reengaged" if scored.reason == "reengaged" else "new_lead"
            work.append((message, lead, Request(lead.lead_id, facts, stage, reason)))
        if not work:
            _Batch(uow, rules, Board(), leads).write()  # facts of re-scored leads
            return
        board = await self._board(uow, rules, [request for _, _, request in work], leads)
        batch = _Batch(uow, rules, board, leads)
        now = uow.now()
        for message, lead, request in work:
            batch.apply(message, lead, route(rules, board, request, now), request.reason, None)
        batch.write()

    # --- recycled ------------------------------------------------------------------------------------------

    async def on_lead_recycled(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """The follow-up deadline passed: close the assignment, exclude the owner for a cooldown, route again."""
        rules = self.rules
        batch = await self._locked_batch(uow, rules, [m.payload.lead_id for m in messages])
        now = uow.now()
        for message in messages:
            recycled: LeadRecycled = message.payload
            lead = batch.leads.get(recycled.lead_id)
            if lead is None or lead.assignment_id != recycled.assignment_id:
                uow.outcome(message, "stale_recycle")  # already reassigned, pooled, closed or unknown
                continue
            previous = batch.close(lead, "recycled")
            until = now + rules.recycle_cooldown
            for rep in {recycled.previous_rep_id, *recycled.exclude_rep_ids}:
                batch.exclude(lead, rep, "recycled", until)
            if recycled.then == "pool":
                batch.pool(message, lead, f"recycled: {recycled.reason}", None, previous)
                uow.outcome(message, "pooled")
                continue
            stage = "intake" if lead.stage == "qualifying" else lead.stage
            lead.stage = stage
            request = Request(lead.lead_id, lead.facts, stage, "recycled", previous_rep_id=previous)
            batch.apply(message, lead, route(rules, batch.board, request, now), "recycled", previous)
        batch.write()

    # --- sales activity ------------------------------------------------------------------------------------

    async def on_sales_activity(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """accepted; rejected → reassigned within the team or handed on; qualified → next stage; closing kinds."""
        rules = self.rules
        batch = await self._locked_batch(uow, rules, [m.payload.lead_id for m in messages])
        now = uow.now()
        contacted: list[uuid.UUID] = []
        for message in messages:
            activity: SalesActivity = message.payload
            lead = batch.leads.get(activity.lead_id)
            if lead is None or lead.assignment_id is None:
                uow.outcome(message, "no_active_assignment")
                continue
            if (activity.assignment_id is not None and activity.assignment_id != lead.assignment_id) or (
                activity.rep_id is not None and activity.rep_id != lead.owner_rep_id
            ):
                uow.outcome(message, "stale_activity")  # about an assignment that is no longer the active one
                continue
            if activity.kind == "accepted":
                batch.accepts.append(lead.assignment_id)
                uow.outcome(message, "accepted")
            elif activity.kind == "rejected":
                self._reject(batch, message, lead, activity, now)
            elif activity.kind == "qualified" and lead.stage == "qualifying":
                previous = batch.close(lead, "qualified")
                lead.stage = "qualified"
                request = Request(lead.lead_id, lead.facts, "qualified", "qualified", previous_rep_id=previous)
                batch.apply(message, lead, route(rules, batch.board, request, now), "qualified", previous)
            elif activity.kind in CLOSING:
                batch.close(lead, CLOSING[activity.kind])
                lead.status = "closed"
                uow.outcome(message, f"closed_{activity.kind}")
            else:
                uow.outcome(message, "noted")  # contacted, follow_up, qualified in sales: nurture's SLA clocks
            if activity.kind == "contacted":
                contacted.append(lead.lead_id)
            else:
                uow.tally("activity", activity.kind, str(lead.facts.get("source") or "unknown"))
        await _count_first_contacts(uow, batch, contacted)
        batch.write()

    def _reject(self, batch: _Batch, message: Inbound, lead: LeadState, activity: SalesActivity, now: datetime) -> None:
        rules = self.rules
        team_id = lead.team_id
        batch.uow.tally("rejection", team_id or "unknown")
        previous = batch.close(lead, "rejected")
        assert previous is not None  # noqa: S101 -- the lead had an active assignment
        batch.exclude(lead, previous, f"rejected: {activity.reason or 'no reason given'}", None)
        lead.rejections += 1
        team = rules.teams.get(team_id or "")
        limit = team.max_rejections if team else rules.max_rejections
        if lead.rejections >= limit:
            if team is not None and team.after_rejections == "manager" and team.manager:
                self._to_manager(batch, message, lead, team.manager, previous, f"rejected by {lead.rejections} reps")
            else:
                batch.pool(message, lead, f"rejected by {lead.rejections} reps", None, previous)
                batch.uow.outcome(message, "pooled")
            return
        stage = "intake" if lead.stage == "qualifying" else lead.stage
        if team is None:
            request = Request(lead.lead_id, lead.facts, stage, "rejected", previous_rep_id=previous)
        else:
            request = Request(lead.lead_id, lead.facts, stage, "rejected", only_team=team.id, previous_rep_id=previous)
        batch.apply(message, lead, route(rules, batch.board, request, now), "rejected", previous)

    def _to_manager(  # noqa: PLR0913, PLR0917 -- the manager queue's inputs
        self, batch: _Batch, message: Inbound, lead: LeadState, manager: str, previous: str | None, why: str
    ) -> None:
        rules = self.rules
        board, now = batch.board, batch.uow.now()
        rep = rules.reps[manager]
        board.load(manager).count_assignment(rep.calendar.local_day(now), rep.calendar.week_start(now))
        decision = Decision(
            rule_id="",
            rule_set_version=rules.version,
            candidates=[CandidateRep(rep_id=manager, selected=True, reason=why, code="selected", team_id=lead.team_id)],
            explanation=f"{why} → the team's manager {manager}",
            stage=lead.stage,
        )
        routing = Routing("assigned", None, decision, team_id=lead.team_id, rep_id=manager, strategy="manager")
        batch.apply(message, lead, routing, "rejected", previous)

    # --- the shared pool (公海) -----------------------------------------------------------------------------

    async def on_pool_command(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Claim / release / assign; a refused command is answered on pool.command_rejected.v1 with a reason."""
        rules = self.rules
        batch = await self._locked_batch(uow, rules, [m.payload.lead_id for m in messages])
        pooled = {lead_id for lead_id, lead in batch.leads.items() if lead.status == "pooled"}
        pool_rows = {}
        for lead_id in pooled:
            pool_rows[lead_id] = await store.pooled(uow.conn, lead_id)
        for message in messages:
            command: PoolCommand = message.payload
            refusal = self._pool_command(batch, message, command, pool_rows)
            if refusal is not None:
                code, text = refusal
                rejected = PoolCommandRejected(command=command, code=code, message=text)
                uow.emit(topics.POOL_COMMAND_REJECTED, rejected, lead_id=command.lead_id, cause=message)
                uow.outcome(message, f"refused_{code}")
        batch.write()

    def _pool_command(  # noqa: C901, PLR0911, PLR0912 -- one check per refusal code, in the order they apply
        self, batch: _Batch, message: Inbound, command: PoolCommand, pool_rows: dict[uuid.UUID, Any]
    ) -> tuple[str, str] | None:
        rules, policy, now = self.rules, self.pool_policy, batch.uow.now()
        lead = batch.leads.get(command.lead_id)
        rep = rules.reps.get(command.rep_id)
        if rep is None or not rep.active:
            return "unknown_rep", f"{command.rep_id} is not an active rep of rule set {rules.version}"
        if lead is None:
            return "unknown_lead", "the router has not routed this lead"
        load = batch.board.load(command.rep_id)
        if command.command == "release":
            if lead.owner_rep_id != command.rep_id:
                return "not_owner", f"{command.rep_id} does not own this lead"
            previous = batch.close(lead, "released")
            batch.exclude(lead, command.rep_id, "released", now + policy.reclaim_cooldown)
            batch.pool(message, lead, f"released: {command.reason or 'no reason given'}", None, previous)
            batch.uow.outcome(message, "released")
            return None
        if lead.status != "pooled":
            return "not_in_pool", f"the lead is {lead.status}, not in the pool"
        row = pool_rows.get(lead.lead_id)
        if command.command == "assign":
            by = rules.reps.get(command.by or "")
            if by is None or not by.manager:
                return "not_a_manager", f"{command.by or 'nobody'} may not assign from the pool"
        else:
            if row is not None and row.pooled_at + policy.claim_delay > now:
                return "not_yet_claimable", f"claimable from {(row.pooled_at + policy.claim_delay).isoformat()}"
            excluded = batch.board.exclusions.get(lead.lead_id, {}).get(command.rep_id)
            if excluded is not None and excluded.holds(now):
                until = excluded.until.isoformat() if excluded.until else "for good"
                return "cooldown", f"{command.rep_id} had this lead ({excluded.reason}); may re-claim {until}"
            today = rep.calendar.local_day(now)
            if load.claims_on(today) >= policy.claims_per_day:
                return "claim_limit", f"{command.rep_id} claimed {policy.claims_per_day} leads today (the limit)"
        if rep.caps.open is not None and load.open_leads >= rep.caps.open:
            return "owned_cap", f"{command.rep_id} owns {load.open_leads} open leads (cap {rep.caps.open})"
        if command.command == "claim":
            load.count_claim(rep.calendar.local_day(now))
        load.count_assignment(rep.calendar.local_day(now), rep.calendar.week_start(now))
        how = "claimed from the pool" if command.command == "claim" else f"assigned from the pool by {command.by}"
        decision = Decision(
            rule_id="",
            rule_set_version=rules.version,
            candidates=[CandidateRep(rep_id=command.rep_id, selected=True, reason=how, code="selected")],
            explanation=f"{command.rep_id} {how}" + (f": {command.reason}" if command.reason else ""),
            stage=lead.stage,
        )
        team = next((t.id for t in rules.teams.values() if any(m.rep == command.rep_id for m in t.members)), "")
        strategy = "claim" if command.command == "claim" else "manager"
        routing = Routing("assigned", None, decision, team_id=team, rep_id=command.rep_id, strategy=strategy)
        previous = row.previous_rep_id if row is not None else None
        batch.apply(message, lead, routing, strategy, previous)
        if rep.id and lead.facts and (key := company_key(lead.facts)):
            batch.board.owners[key] = rep.id
            batch.board.changed_owners[key] = (rep.id, lead.lead_id)
        return None

    # --- shared --------------------------------------------------------------------------------------------

    async def _locked_batch(self, uow: UnitOfWork, rules: RuleSet, lead_ids: Iterable[uuid.UUID]) -> _Batch:
        """Lock the leads, then every rep (the rare paths: rejections, recycles, pool commands)."""
        rows = await store.lock_leads(uow.conn, lead_ids)
        attempts = await store.previous_owners(uow.conn, list(rows))
        leads = {lead_id: LeadState.of(row, len(attempts.get(lead_id, []))) for lead_id, row in rows.items()}
        owners = {lead.owner_rep_id for lead in leads.values() if lead.owner_rep_id}
        board = await store.load_board(
            uow.conn,
            set(rules.reps) | owners,
            rules.teams,
            leads,
            [key for lead in leads.values() if (key := company_key(lead.facts))],
        )
        return _Batch(uow, rules, board, leads)

    async def _board(
        self, uow: UnitOfWork, rules: RuleSet, requests: Sequence[Request], leads: dict[uuid.UUID, LeadState]
    ) -> Board:
        """Lock only the reps these leads can go to: the rules' teams, their overflow chains, named reps."""
        teams: set[str] = set()
        reps: set[str] = set()
        for request in requests:
            skip = REENGAGED_SKIPS if request.reason == "reengaged" else frozenset()
            rule = rules.first_match(request.facts, request.stage, skip_targets=skip)
            if rule is None or rule.target_id is None:
                continue
            if rule.target == "rep":
                reps.add(rule.target_id)
                continue
            if rule.target in {"team", "qualify"}:
                team_id: str | None = rule.target_id
                while team_id is not None and team_id not in teams and team_id in rules.teams:
                    teams.add(team_id)
                    team_id = rules.teams[team_id].overflow
        for team_id in teams:
            reps.update(m.rep for m in rules.teams[team_id].members)
        keys = [key for request in requests if (key := company_key(request.facts))]
        return await store.load_board(uow.conn, reps, teams, leads, keys)


async def _count_first_contacts(uow: UnitOfWork, batch: _Batch, contacted: Sequence[uuid.UUID]) -> None:
    """`contacted` counts once per lead in the funnel, however many times sales reports it."""
    if not contacted:
        return
    for lead_id in await store.first_contacts(uow.conn, contacted, uow.now()):
        uow.tally("activity", "contacted", str(batch.leads[lead_id].facts.get("source") or "unknown"))
