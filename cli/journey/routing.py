"""The router's and nurture's steps of a lead's journey: decisions, the ledger, the pool, timers and lifecycle."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cli.journey.steps import Step
from cli.router.database import Connection, has_table
from cli.router.routing_story import when
from shared.runtime.logging import mask_text

DECISIONS_SQL = (
    "SELECT d.lead_id, d.decided_at, d.outcome, d.reason, d.rule_id, d.record ->> 'explanation' AS explanation,"
    " a.rep_id, a.team_id, a.strategy, a.attempt FROM router.decisions d"
    " LEFT JOIN router.assignments a ON a.assignment_id = d.assignment_id WHERE d.lead_id = ANY(%s)"
    " ORDER BY d.decided_at, d.id"
)
ASSIGNMENTS_SQL = (
    "SELECT lead_id, rep_id, accepted_at, closed_at, close_reason FROM router.assignments WHERE lead_id = ANY(%s)"
    " ORDER BY created_at"
)
POOL_SQL = "SELECT lead_id, reason, pooled_at FROM router.pool WHERE lead_id = ANY(%s)"
EXCLUSIONS_SQL = "SELECT lead_id, rep_id, reason, until, created_at FROM router.exclusions WHERE lead_id = ANY(%s)"
TIMERS_SQL = (
    "SELECT lead_id, kind, status, due_at, created_at, closed_at, fired_at, payload FROM nurture.timers"
    " WHERE lead_id = ANY(%s) ORDER BY created_at, id"
)
LIFECYCLE_SQL = (
    "SELECT lead_id, status, rep_id, track, reengaged_at, updated_at FROM nurture.leads WHERE lead_id = ANY(%s)"
)
RECYCLES = {
    "sla_breach": "recycled: no follow-up before the deadline",
    "protection": "recycled: protection expired without a further follow-up",
    "no_deal": "recycled: no deal within the no-deal period",
}


def router_steps(conn: Connection, ids: Sequence[uuid.UUID]) -> list[Step]:
    if not has_table(conn, "router.decisions"):
        return []
    steps = [
        Step(d["decided_at"], "router", d["lead_id"], str(d["outcome"]), decision_text(d))
        for d in conn.execute(DECISIONS_SQL, [list(ids)]).fetchall()
    ]
    decided = {(s.lead_id, s.at) for s in steps if s.event == "pooled"}
    for place in conn.execute(POOL_SQL, [list(ids)]).fetchall():
        if (place["lead_id"], place["pooled_at"]) not in decided:  # pooled by a recycle, rejection or release
            what = f"pooled: {mask_text(place['reason'])}"
            steps.append(Step(place["pooled_at"], "router", place["lead_id"], "pooled", what))
    for a in conn.execute(ASSIGNMENTS_SQL, [list(ids)]).fetchall():
        if a["accepted_at"] is not None:
            steps.append(Step(a["accepted_at"], "router", a["lead_id"], "accepted", f"rep {a['rep_id']} accepted"))
        if a["closed_at"] is not None:
            what = f"assignment to rep {a['rep_id']} closed: {a['close_reason']}"
            steps.append(Step(a["closed_at"], "router", a["lead_id"], "closed", what))
    for x in conn.execute(EXCLUSIONS_SQL, [list(ids)]).fetchall():
        until = f" until {when(x['until'])}" if x["until"] else " for good"
        what = f"rep {x['rep_id']} excluded from this lead ({mask_text(x['reason'])}){until}"
        steps.append(Step(x["created_at"], "router", x["lead_id"], "excluded", what))
    return steps


def decision_text(d: Mapping[str, Any]) -> str:
    rule = d["rule_id"] or "-"
    after = "" if d["reason"] == "new_lead" else f" after {d['reason']}"
    if d["outcome"] == "assigned" and d["rep_id"] is not None:
        attempt = f", attempt {d['attempt']}" if (d["attempt"] or 1) > 1 else ""
        return f"assigned to rep {d['rep_id']} (team {d['team_id']}, rule {rule}, {d['strategy']}{attempt}){after}"
    explanation = mask_text(d["explanation"] or "")
    if d["outcome"] == "pooled":
        return f"pooled (rule {rule}){after}: {explanation}"
    if d["outcome"] == "deferred":
        return f"deferred to nurture (rule {rule}){after}: {explanation}"
    return f"{d['outcome']} (rule {rule}){after}: {explanation}"


def nurture_steps(conn: Connection, ids: Sequence[uuid.UUID]) -> list[Step]:
    if not has_table(conn, "nurture.timers"):
        return []
    steps = []
    for timer in conn.execute(TIMERS_SQL, [list(ids)]).fetchall():
        steps.extend(timer_steps(timer))
    # nurture keeps the lifecycle's current state only, not each change: its last change is the step shown.
    for lead in conn.execute(LIFECYCLE_SQL, [list(ids)]).fetchall():
        if lead["reengaged_at"] is not None:
            what = "re-engaged: engagement crossed the threshold, back to scoring and routing"
            steps.append(Step(lead["reengaged_at"], "nurture", lead["lead_id"], "reengaged", what))
        owner = f", rep {lead['rep_id']}" if lead["rep_id"] else ""
        track = f", track {lead['track']}" if lead["track"] else ""
        what = f"lifecycle now {lead['status']}{owner}{track}"
        steps.append(Step(lead["updated_at"], "nurture", lead["lead_id"], "lifecycle", what))
    return steps


def timer_steps(timer: Mapping[str, Any]) -> list[Step]:
    """A timer's start and how it ended (fired, stopped or failed); a pending one says when it is due."""
    payload: Mapping[str, Any] = timer["payload"] or {}
    label = timer_label(timer["kind"], payload)
    pending = " (pending)" if timer["status"] == "pending" else ""
    lead = timer["lead_id"]
    set_ = f"{label} timer due at {when(timer['due_at'])}{pending}"
    steps = [Step(timer["created_at"], "nurture", lead, "timer_set", set_)]
    # closed_at is the firing transaction's clock; fired_at the database's wall clock at the claim.
    ended = timer["closed_at"] or timer["fired_at"]
    if timer["status"] == "fired" and ended is not None:
        event, what = fired_text(timer["kind"], payload)
        steps.append(Step(ended, "nurture", lead, event, what))
    elif timer["status"] in {"stopped", "failed"} and ended is not None:
        what = f"{label} timer " + ("stopped" if timer["status"] == "stopped" else "failed (kept for an operator)")
        steps.append(Step(ended, "nurture", lead, f"timer_{timer['status']}", what))
    return steps


def timer_label(kind: str, payload: Mapping[str, Any]) -> str:
    labels = {
        "sla_warn": f"SLA warning {payload.get('level', 1)} (to the {payload.get('to', 'owner')})",
        "sla_breach": "SLA deadline",
        "protection": "protection",
        "no_deal": "no-deal deadline",
        "touch": f"touch {payload.get('step')} of track {payload.get('track')} ({payload.get('channel')})",
        "track_end": f"end of track {payload.get('track')}",
        "pool_aging": f"pool aging (then track {payload.get('track')})",
    }
    return labels.get(kind, kind)


def fired_text(kind: str, payload: Mapping[str, Any]) -> tuple[str, str]:
    if kind == "sla_warn":
        to, recycle = payload.get("to", "owner"), payload.get("recycle_at")
        recycle = when(datetime.fromisoformat(recycle)) if isinstance(recycle, str) else "-"
        level = payload.get("level", 1)
        return "sla_warned", f"SLA warning {level} sent to the {to}: recycled at {recycle} unless followed up"
    if kind in RECYCLES:
        then = payload.get("then", "reassign")
        return "recycled", RECYCLES[kind] + (f" (then {then})" if kind == "sla_breach" else "")
    if kind == "touch":
        return "touch_requested", f"touch {payload.get('step')} of track {payload.get('track')} requested"
    if kind == "track_end":
        return "archived", f"archived: track {payload.get('track')} ended without interest"
    if kind == "pool_aging":
        return "aged", f"unclaimed in the pool: enrolled in track {payload.get('track')}"
    return "timer_fired", f"{kind} timer fired"
