"""nurture's subscribers: the lead's lifecycle after routing.

- `leads.assigned.v1` starts the follow-up clock (warnings, breach), the no-deal clock, and ends any nurture track.
- `sales.activity.v1` contact / follow-up stops the follow-up clock and extends the lead's protection; closing
  kinds stop everything.
- `leads.pooled.v1` starts pool aging; `leads.deferred.v1` enrols the lead in a nurture track.
- `marketing.engagement.v1` and `leads.merged.v1` add engagement with decay; crossing the threshold re-engages
  the lead (or, when it has an active owner, tells the owner).

Each handler writes its timers and state as deferred statements in the batch's transaction; services.nurture.timers
fires them.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from services.nurture import store
from services.nurture.policy import Policy, PolicyFile, Track
from shared.runtime.db import Inbound, UnitOfWork
from shared.schemas import topics
from shared.schemas.events import (
    LeadAssigned,
    LeadDeferred,
    LeadMerged,
    LeadPooled,
    LeadReengaged,
    MarketingEngagement,
    SalesActivity,
)

FOLLOWED_UP = frozenset({"contacted", "follow_up"})
CLOSED = frozenset({"converted", "lost", "disqualified"})
HANDED_ON = frozenset({"rejected", "qualified"})  # the router assigns the lead again: that starts the next clock


def _new_lead(lead_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    return {
        "lead_id": lead_id, "status": "new", "assignment_id": None, "rep_id": None, "team_id": None, "grade": None,
        "assigned_at": None, "may_email": False, "track": None, "enrolment": None, "engagement": 0.0,
        "engaged_at": None, "reengaged_at": None, "updated_at": now, "follow_up_due_at": None, "contacted_at": None,
    }  # fmt: skip


class _Batch:
    """The leads a batch touches (locked), and the timers it starts and stops."""

    def __init__(self, uow: UnitOfWork, policy: Policy, leads: dict[uuid.UUID, dict[str, Any]]) -> None:
        self.uow = uow
        self.policy = policy
        self.leads = leads
        self.changed: set[uuid.UUID] = set()
        self.stops: list[tuple[uuid.UUID, tuple[str, ...]]] = []
        self.starts: list[dict[str, Any]] = []

    def lead(self, lead_id: uuid.UUID) -> dict[str, Any]:
        if lead_id not in self.leads:
            self.leads[lead_id] = _new_lead(lead_id, self.uow.now())
        self.changed.add(lead_id)
        return self.leads[lead_id]

    def stop(self, lead_id: uuid.UUID, kinds: tuple[str, ...]) -> None:
        self.stops.append((lead_id, kinds))

    def start(self, **timer: Any) -> None:
        self.starts.append(timer)

    def write(self) -> None:
        uow, now = self.uow, self.uow.now()
        by_kinds: dict[tuple[str, ...], list[uuid.UUID]] = {}
        for lead_id, kinds in self.stops:
            by_kinds.setdefault(kinds, []).append(lead_id)
        for kinds, ids in by_kinds.items():  # stops first: a new clock replaces the old one in the same batch
            uow.defer(*store.stop_timers(ids, kinds, now))
        if self.starts:
            uow.defer(*store.start_timers(self.starts, now))
        if self.changed:
            for lead_id in self.changed:
                self.leads[lead_id]["updated_at"] = now
            uow.defer(*store.save_leads([self.leads[i] for i in sorted(self.changed)]))

    def enrol(self, message: Inbound, lead: dict[str, Any], name: str, track: Track, at: datetime) -> None:
        """Start a nurture track: a touch per step (only with marketing consent), then its end."""
        enrolment = f"{lead['lead_id']}/{name}/{message.event_id}"
        lead.update(status="nurturing", track=name, enrolment=enrolment)
        self.uow.tally("enrolment", name)
        due = at
        for number, step in enumerate(track.steps, start=1):
            due += step.delay
            if lead["may_email"]:
                self.start(
                    kind="touch", key=f"{enrolment}/step/{number}", lead_id=lead["lead_id"],
                    correlation_id=message.envelope.correlation_id, due_at=due,
                    payload={"track": name, "step": number, "channel": step.channel, "template": step.template},
                )  # fmt: skip
        self.start(
            kind="track_end", key=f"{enrolment}/end", lead_id=lead["lead_id"],
            correlation_id=message.envelope.correlation_id, due_at=due + track.grace,
            payload={"track": name, "steps": len(track.steps), "touched": lead["may_email"]},
        )  # fmt: skip


def _first_contact(uow: UnitOfWork, lead: dict[str, Any], at: datetime) -> None:
    """The assignment's first follow-up: "SLA met" when it came before the deadline (counted once)."""
    if lead["contacted_at"] is None:
        lead["contacted_at"] = at
        due = lead["follow_up_due_at"]
        if due is None or at <= due:
            uow.tally("met")


class Nurture:
    """Handlers bound to the policy in force (hot-reloaded)."""

    def __init__(self, policy: PolicyFile) -> None:
        self.policy_file = policy

    @property
    def policy(self) -> Policy:
        return self.policy_file.current

    async def _batch(self, uow: UnitOfWork, lead_ids: Sequence[uuid.UUID]) -> _Batch:
        return _Batch(uow, self.policy, await store.lock_leads(uow.conn, lead_ids))

    async def on_lead_assigned(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """The owner's clocks start: warnings and breach (per grade and team, in their working time), no deal."""
        batch = await self._batch(uow, [m.payload.lead_id for m in messages])
        policy = batch.policy
        for message in messages:
            assigned: LeadAssigned = message.payload
            lead = batch.lead(assigned.lead_id)
            if lead["assignment_id"] == assigned.assignment_id:
                uow.outcome(message, "already_started")
                continue
            batch.stop(assigned.lead_id, store.ALL_KINDS)  # the previous owner's clocks, a track, pool aging
            at = message.envelope.occurred_at
            grade = assigned.grade or lead["grade"]
            lead.update(
                status="owned", assignment_id=assigned.assignment_id, rep_id=assigned.rep_id,
                team_id=assigned.team_id, grade=grade, assigned_at=at, track=None, enrolment=None,
            )  # fmt: skip
            sla = policy.sla(grade, assigned.team_id)
            calendar = policy.calendar(assigned.rep_id)
            breach_at = calendar.add_working(at, sla.deadline) if sla.working_time else at + sla.deadline
            lead.update(follow_up_due_at=breach_at, contacted_at=None)
            uow.tally("clock", grade or "none")
            common = {
                "lead_id": assigned.lead_id, "assignment_id": assigned.assignment_id, "rep_id": assigned.rep_id,
                "team_id": assigned.team_id, "correlation_id": message.envelope.correlation_id,
            }  # fmt: skip
            for level, warning in enumerate(sla.warn, start=1):
                warn_at = breach_at - warning.before
                if warn_at > at:
                    batch.start(
                        kind="sla_warn", key=f"{assigned.assignment_id}/warn/{level}", due_at=warn_at,
                        payload={"level": level, "to": warning.to, "recycle_at": breach_at.isoformat()}, **common,
                    )  # fmt: skip
            batch.start(
                kind="sla_breach", key=f"{assigned.assignment_id}/breach", due_at=breach_at,
                payload={"then": sla.on_breach, "deadline_s": sla.deadline.total_seconds(),
                         "working_time": sla.working_time},
                **common,
            )  # fmt: skip
            if (no_deal := policy.no_deal(grade)) is not None:
                batch.start(
                    kind="no_deal", key=f"{assigned.assignment_id}/no_deal", due_at=at + no_deal,
                    payload={"after_s": no_deal.total_seconds()}, **common,
                )  # fmt: skip
            uow.outcome(message, "clock_started")
        batch.write()

    async def on_sales_activity(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Contact stops the follow-up clock and protects the lead longer; a settled lead's clocks all stop."""
        batch = await self._batch(uow, [m.payload.lead_id for m in messages])
        policy = batch.policy
        for message in messages:
            activity: SalesActivity = message.payload
            lead = batch.leads.get(activity.lead_id)
            if lead is not None and activity.kind in CLOSED and lead["status"] != "owned":
                batch.stop(activity.lead_id, store.ALL_KINDS)  # e.g. converted while nurtured: the track ends
                batch.lead(activity.lead_id)["status"] = "closed"
                uow.outcome(message, "closed")
                continue
            current = lead is not None and lead["status"] == "owned"
            if not current or (activity.assignment_id and activity.assignment_id != lead["assignment_id"]):  # type: ignore[index]
                uow.outcome(message, "not_the_current_assignment")
                continue
            assert lead is not None  # noqa: S101
            lead = batch.lead(activity.lead_id)
            if activity.kind in FOLLOWED_UP:
                batch.stop(activity.lead_id, (*store.SLA_KINDS, "protection"))
                _first_contact(uow, lead, activity.at)
                assigned_at = lead["assigned_at"] or activity.at
                until = min(activity.at + policy.protection.extend_by, assigned_at + policy.protection.max)
                batch.start(
                    kind="protection", key=f"{lead['assignment_id']}/protection/{message.event_id}",
                    lead_id=activity.lead_id, assignment_id=lead["assignment_id"], rep_id=lead["rep_id"],
                    team_id=lead["team_id"], correlation_id=message.envelope.correlation_id, due_at=until,
                    payload={"followed_up_at": activity.at.isoformat()},
                )  # fmt: skip
                uow.outcome(message, "protected")
            elif activity.kind in CLOSED:
                batch.stop(activity.lead_id, store.ALL_KINDS)
                lead["status"] = "closed"
                uow.outcome(message, "closed")
            elif activity.kind in HANDED_ON:
                batch.stop(activity.lead_id, store.OWNER_KINDS)
                lead["status"] = "handed_on"
                uow.outcome(message, "clock_stopped")
            else:
                uow.outcome(message, "noted")
        batch.write()

    async def on_lead_pooled(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """No owner to chase; a pooled lead nobody claims for a while enters a nurture track."""
        batch = await self._batch(uow, [m.payload.lead_id for m in messages])
        aging = batch.policy.pool_aging
        for message in messages:
            pooled: LeadPooled = message.payload
            lead = batch.lead(pooled.lead_id)
            batch.stop(pooled.lead_id, store.ALL_KINDS)
            lead.update(status="pooled", assignment_id=None, rep_id=None, track=None, enrolment=None)
            lead["grade"] = pooled.grade or lead["grade"]
            if pooled.may_email is not None:
                lead["may_email"] = pooled.may_email
            if aging is not None:
                batch.start(
                    kind="pool_aging", key=f"{pooled.lead_id}/pool/{message.event_id}", lead_id=pooled.lead_id,
                    correlation_id=message.envelope.correlation_id, due_at=message.envelope.occurred_at + aging.after,
                    payload={"track": aging.track},
                )  # fmt: skip
            uow.outcome(message, "aging")
        batch.write()

    async def on_lead_deferred(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Not sales-ready: the track the router named (or the default one)."""
        batch = await self._batch(uow, [m.payload.lead_id for m in messages])
        for message in messages:
            deferred: LeadDeferred = message.payload
            lead = batch.lead(deferred.lead_id)
            if deferred.may_email is not None:
                lead["may_email"] = deferred.may_email
            lead["grade"] = deferred.grade or lead["grade"]
            found = batch.policy.track(deferred.track)
            batch.stop(deferred.lead_id, store.ALL_KINDS)
            if found is None:
                lead.update(status="nurturing", track=None, enrolment=None)
                uow.outcome(message, "no_such_track")
                continue
            name, track = found
            batch.enrol(message, lead, name, track, message.envelope.occurred_at)
            uow.outcome(message, f"enrolled_{name}")
        batch.write()

    async def on_marketing_engagement(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Engagement with decay; a reply or unsubscribe ends the track; crossing the threshold re-engages."""
        batch = await self._batch(uow, [m.payload.lead_id for m in messages])
        for message in messages:
            event: MarketingEngagement = message.payload
            lead = batch.lead(event.lead_id)
            if event.kind == "unsubscribe":
                lead["may_email"] = False
                batch.stop(event.lead_id, ("touch",))
            if event.kind in _track_stops(batch.policy, lead) and lead["status"] == "nurturing":
                batch.stop(event.lead_id, store.TRACK_KINDS)
                lead["status"] = "nurtured"
            self._engage(batch, message, lead, event.kind, event.at)
        batch.write()

    async def on_lead_merged(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """The person came back through another channel: strong intent, counted on the surviving lead."""
        batch = await self._batch(uow, [m.payload.surviving_lead_id for m in messages])
        for message in messages:
            merged: LeadMerged = message.payload
            lead = batch.lead(merged.surviving_lead_id)
            self._engage(batch, message, lead, "merged", message.envelope.occurred_at)
        batch.write()

    def _engage(self, batch: _Batch, message: Inbound, lead: dict[str, Any], kind: str, at: datetime) -> None:
        settings = batch.policy.engagement
        weight = settings.weights.get(kind, 0.0)
        before = decayed(lead["engagement"], lead["engaged_at"], at, settings.half_life)
        after = before + weight
        lead["engagement"], lead["engaged_at"] = after, max(at, lead["engaged_at"] or at)
        recently = lead["reengaged_at"] is not None and at - lead["reengaged_at"] < settings.cooldown
        if not (before < settings.threshold <= after) or recently or lead["status"] == "closed":
            batch.uow.outcome(message, f"engagement_{kind}")
            return
        owner = lead["rep_id"] if lead["status"] == "owned" else None
        reason = f"engagement {after:.1f} ≥ {settings.threshold:g} (last: {kind})"
        event = LeadReengaged(
            lead_id=lead["lead_id"], reason=reason, engagement_score=round(after, 2), owner_rep_id=owner
        )
        batch.uow.emit(topics.LEADS_REENGAGED, event, lead_id=lead["lead_id"], cause=message)
        lead["reengaged_at"] = at
        if owner is None:  # back to sales: the track and pool aging end here
            batch.stop(lead["lead_id"], (*store.TRACK_KINDS, *store.POOL_KINDS))
            lead.update(status="reengaged", track=None, enrolment=None)
        batch.uow.outcome(message, "owner_signalled" if owner else "reengaged")


def _track_stops(policy: Policy, lead: dict[str, Any]) -> tuple[str, ...]:
    track = policy.tracks.get(lead["track"] or "")
    return track.stop_on if track is not None else ("reply", "unsubscribe")


def decayed(score: float, since: datetime | None, at: datetime, half_life: timedelta) -> float:
    """Engagement halves every half-life; an event older than the last one decays nothing back."""
    if since is None or score == 0.0:
        return score
    elapsed = max(0.0, (at - since).total_seconds())
    return score * math.pow(0.5, elapsed / max(half_life.total_seconds(), 1.0))
