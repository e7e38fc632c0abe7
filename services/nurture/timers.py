"""The timer loop: claim due rows with SKIP LOCKED, fire them through the outbox in the same transaction.

Any number of nurture instances run it side by side: a row is claimed by one transaction only, and marked fired
in it, so a timer fires exactly once; a crash before the commit leaves it pending for the next claim. Each event
gets an id derived from its timer, so a re-sent outbox row is recognised downstream.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.nurture import store
from services.nurture.policy import Policy
from shared.runtime.db import OutboxRow, UnitOfWork, producer_name
from shared.runtime.logging import get_logger
from shared.runtime.service import ServiceContext
from shared.schemas import topics
from shared.schemas.envelope import LEADFLOW_NS
from shared.schemas.events import LeadArchived, LeadRecycled, SlaWarned, TouchRequested

log = get_logger(__name__)


def fire(uow: UnitOfWork, timer: Any, pending: list[dict[str, Any]]) -> str:
    """The events one due timer stands for; new timers it starts go to `pending`. Returns what it did."""
    payload = timer.payload or {}
    event_id = uuid.uuid5(LEADFLOW_NS, f"timer/{timer.id}")
    common = {"lead_id": timer.lead_id, "correlation_id": timer.correlation_id, "event_id": event_id}
    if timer.kind == "sla_warn":
        warned = SlaWarned(
            lead_id=timer.lead_id, assignment_id=timer.assignment_id, rep_id=timer.rep_id, team_id=timer.team_id,
            recycle_at=datetime.fromisoformat(payload["recycle_at"]), level=payload.get("level", 1),
            to=payload.get("to", "owner"),
        )  # fmt: skip
        uow.emit(topics.LEADS_SLA_WARNED, warned, **common)
        return "warned"
    if timer.kind in {"sla_breach", "protection", "no_deal"}:
        if timer.kind == "sla_breach":
            uow.tally("breach", payload.get("then", "reassign"))
        reason = {
            "sla_breach": "no follow-up before the deadline",
            "protection": "protection expired without a further follow-up",
            "no_deal": "no deal within the no-deal period",
        }[timer.kind]
        recycled = LeadRecycled(
            lead_id=timer.lead_id, assignment_id=timer.assignment_id, previous_rep_id=timer.rep_id,
            team_id=timer.team_id, reason=reason, exclude_rep_ids=[timer.rep_id],
            then=payload.get("then", "reassign"),
        )  # fmt: skip
        uow.emit(topics.LEADS_RECYCLED, recycled, **common)
        pending.append({"stop_owner": timer.lead_id})
        return "recycled"
    if timer.kind == "touch":
        touch = TouchRequested(
            lead_id=timer.lead_id, track=payload["track"], step=payload["step"], channel=payload["channel"],
            template_id=payload["template"],
        )  # fmt: skip
        uow.emit(topics.NURTURE_TOUCH_REQUESTED, touch, **common)
        return "touched"
    if timer.kind == "track_end":
        archived = LeadArchived(
            lead_id=timer.lead_id, track=payload.get("track"), reason="nurture track ended without interest"
        )
        uow.emit(topics.LEADS_ARCHIVED, archived, **common)
        pending.append({"archive": timer.lead_id})
        return "archived"
    if timer.kind == "pool_aging":
        pending.append({"enrol": timer, "track": payload.get("track")})
        return "aged"
    log.warning("unknown_timer_kind", kind=timer.kind, timer_id=timer.id)
    return "unknown"


async def fire_due_once(ctx: ServiceContext, policy: Policy, limit: int = 1000) -> int:
    """Fire up to `limit` due timers in one transaction; safe with any number of nurture instances."""
    if ctx.engine is None or ctx.outbox is None:
        raise RuntimeError("nurture timers started before the service")
    rows: list[OutboxRow]
    async with ctx.engine.begin() as conn:
        uow = UnitOfWork(conn, ctx.tables, producer_name(ctx.name), ctx.clock)
        fired = await store.claim_due(conn, ctx.clock.now(), limit)
        if not fired:
            return 0
        follow_ups: list[dict[str, Any]] = []
        done: dict[str, int] = {}
        broken: list[int] = []
        now = ctx.clock.now()
        for timer in fired:
            uow.tally("fired", timer.kind)
            uow.tally("lateness", value=max((now - timer.due_at).total_seconds(), 0.0))
            try:
                what = fire(uow, timer, follow_ups)
            except Exception:
                broken.append(timer.id)
                log.exception("timer_failed", timer_id=timer.id, kind=timer.kind)
                what = "failed"
            done[what] = done.get(what, 0) + 1
        if broken:  # kept, marked, for an operator: never retried in a loop, never silently dropped
            uow.defer("UPDATE nurture.timers SET status = 'failed' WHERE id = ANY(%b::bigint[])", [broken])
        await _follow_up(uow, policy, follow_ups)
        rows = await uow.flush_outbox()
    if ctx.domain is not None:
        ctx.domain.committed(uow)
    log.info("timers_fired", count=len(fired), **done)
    await ctx.outbox.publish(rows)
    return len(fired)


async def _follow_up(uow: UnitOfWork, policy: Policy, follow_ups: list[dict[str, Any]]) -> None:
    """What fired timers change: a recycled lead's other owner clocks stop; archives; pool aging enrols."""
    now = uow.now()
    recycled = [f["stop_owner"] for f in follow_ups if "stop_owner" in f]
    if recycled:
        uow.defer(*store.stop_timers(recycled, store.OWNER_KINDS, now))
    archived = [f["archive"] for f in follow_ups if "archive" in f]
    if archived:
        uow.defer(
            "UPDATE nurture.leads SET status = 'archived', updated_at = %b WHERE lead_id = ANY(%b::uuid[])"
            " AND status = 'nurturing'",
            [now, archived],
        )
    aged = [f for f in follow_ups if "enrol" in f]
    if not aged:
        return
    leads = await store.lock_leads(uow.conn, [f["enrol"].lead_id for f in aged])
    starts: list[dict[str, Any]] = []
    changed = []
    for item in aged:
        timer = item["enrol"]
        lead = leads.get(timer.lead_id)
        found = policy.track(item["track"] or "")
        if lead is None or lead["status"] != "pooled" or found is None:
            continue  # claimed, re-engaged or re-routed meanwhile
        name, track = found
        enrolment = f"{timer.lead_id}/{name}/timer-{timer.id}"
        uow.tally("enrolment", name)
        lead.update(status="nurturing", track=name, enrolment=enrolment, updated_at=now)
        due = now
        for number, step in enumerate(track.steps, start=1):
            due += step.delay
            if lead["may_email"]:
                starts.append(
                    {"kind": "touch", "key": f"{enrolment}/step/{number}", "lead_id": timer.lead_id,
                     "correlation_id": timer.correlation_id, "due_at": due,
                     "payload": {"track": name, "step": number, "channel": step.channel, "template": step.template}}
                )  # fmt: skip
        starts.append(
            {"kind": "track_end", "key": f"{enrolment}/end", "lead_id": timer.lead_id,
             "correlation_id": timer.correlation_id, "due_at": due + track.grace,
             "payload": {"track": name, "steps": len(track.steps), "touched": lead["may_email"]}}
        )  # fmt: skip
        changed.append(lead)
    if starts:
        uow.defer(*store.start_timers(starts, now))
    if changed:
        uow.defer(*store.save_leads(changed))
