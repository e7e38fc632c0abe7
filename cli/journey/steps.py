"""One step of a lead's journey, and the steps of the first three services and of every service's outbox."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cli.router.database import Connection, has_table
from shared.runtime.logging import mask_text

SERVICES = ("ingest", "dedup", "scoring", "router", "nurture")  # the order a lead meets them: ties sort this way


@dataclass(frozen=True)
class Step:
    """Something a service recorded about the lead, at the time the service recorded it."""

    at: datetime
    service: str
    lead_id: uuid.UUID
    event: str  # a short name for machines: received, merged, scored, assigned, timer_set, …
    what: str  # what happened, for people


Collector = Callable[[Connection, Sequence[uuid.UUID]], list[Step]]

SUBMISSIONS_SQL = (
    "SELECT lead_id, source, external_id, times_seen, first_seen_at, last_seen_at FROM ingest.submissions"
    " WHERE lead_id = ANY(%s)"
)
REJECTS_SQL = (
    "SELECT s.lead_id, r.source, r.errors, r.rejected_at FROM ingest.rejects r JOIN ingest.submissions s"
    " ON s.source = r.source AND s.external_id = r.external_id WHERE s.lead_id = ANY(%s)"
)
DEDUP_LEADS_SQL = "SELECT lead_id, source, first_seen_at, history_of FROM dedup.leads WHERE lead_id = ANY(%s)"
MERGES_SQL = (
    "SELECT lead_id, surviving_lead_id, merged_at, rule, score, unmerged_at, unmerged_by, unmerge_reason"
    " FROM dedup.merges WHERE lead_id = ANY(%s) OR surviving_lead_id = ANY(%s)"
)
SCORES_SQL = (
    "SELECT lead_id, score, grade, temperature, reason, scored_at FROM scoring.scores WHERE lead_id = ANY(%s)"
    " ORDER BY scored_at, id"
)
OUTCOMES_SQL = "SELECT lead_id, kind, label, at FROM scoring.outcomes WHERE lead_id = ANY(%s) ORDER BY at, id"


def ingest_steps(conn: Connection, ids: Sequence[uuid.UUID]) -> list[Step]:
    if not has_table(conn, "ingest.submissions"):
        return []
    steps = []
    for row in conn.execute(SUBMISSIONS_SQL, [list(ids)]).fetchall():
        # Some channels use an email or a phone number as their external id.
        key = f"source {row['source']}, external id {mask_text(row['external_id'])}"
        steps.append(Step(row["first_seen_at"], "ingest", row["lead_id"], "received", f"received via {key}"))
        if row["times_seen"] > 1:
            what = f"sent again via {key}: seen {row['times_seen']} times in all"
            steps.append(Step(row["last_seen_at"], "ingest", row["lead_id"], "resubmitted", what))
    for row in conn.execute(REJECTS_SQL, [list(ids)]).fetchall():
        errors = ", ".join(f"{e.get('field')} {e.get('code')}" for e in row["errors"] or [])
        what = f"a submission under this key from {row['source']} was rejected: {errors}"
        steps.append(Step(row["rejected_at"], "ingest", row["lead_id"], "rejected", what))
    return steps


def dedup_steps(conn: Connection, ids: Sequence[uuid.UUID]) -> list[Step]:
    if not has_table(conn, "dedup.leads"):
        return []
    merges = conn.execute(MERGES_SQL, [list(ids), list(ids)]).fetchall()
    merged_away = {m["lead_id"] for m in merges}
    steps = []
    for lead in conn.execute(DEDUP_LEADS_SQL, [list(ids)]).fetchall():
        if lead["lead_id"] not in merged_away:
            history = f" (a later lead of {lead['history_of']}, outside the merge window)" if lead["history_of"] else ""
            steps.append(Step(lead["first_seen_at"], "dedup", lead["lead_id"], "unique", f"unique lead{history}"))
    for merge in merges:
        steps.extend(merge_steps(merge, ids))
    return steps


def merge_steps(merge: Mapping[str, Any], ids: Sequence[uuid.UUID]) -> list[Step]:
    """A merge seen from the lead merged away, or (when only the survivor is traced) from the survivor."""
    score = "" if merge["score"] is None else f", score {merge['score']:g}"
    how = f"rule {merge['rule'] or '-'}{score}"
    undone_by = f"{merge['unmerged_by'] or 'an operator'}" + (
        f": {mask_text(merge['unmerge_reason'])}" if merge["unmerge_reason"] else ""
    )
    if merge["lead_id"] in ids:
        lead, survivor = merge["lead_id"], merge["surviving_lead_id"]
        steps = [Step(merge["merged_at"], "dedup", lead, "merged", f"merged into {survivor} ({how})")]
        undone = f"merge undone by {undone_by}; sent on as a lead of its own"
    else:
        lead = merge["surviving_lead_id"]
        steps = [Step(merge["merged_at"], "dedup", lead, "absorbed", f"duplicate {merge['lead_id']} merged in ({how})")]
        undone = f"duplicate {merge['lead_id']} split off again by {undone_by}"
    if merge["unmerged_at"] is not None:
        steps.append(Step(merge["unmerged_at"], "dedup", lead, "unmerged", undone))
    return steps


def scoring_steps(conn: Connection, ids: Sequence[uuid.UUID]) -> list[Step]:
    if not has_table(conn, "scoring.scores"):
        return []
    steps = []
    for row in conn.execute(SCORES_SQL, [list(ids)]).fetchall():
        result = f"{row['score']} {row['grade']} {row['temperature']}"
        if row["reason"] == "new_lead":
            what = f"scored {result}"
        elif row["reason"] == "reengaged":
            what = f"re-scored {result} after re-engagement"
        else:
            what = f"re-scored {result} ({row['reason']})"
        event = "scored" if row["reason"] == "new_lead" else "rescored"
        steps.append(Step(row["scored_at"], "scoring", row["lead_id"], event, what))
    for row in conn.execute(OUTCOMES_SQL, [list(ids)]).fetchall():
        label = "a positive" if row["label"] else "a negative"
        what = f"sales reported {row['kind']}: {label} example to learn from"
        steps.append(Step(row["at"], "scoring", row["lead_id"], "outcome", what))
    return steps


def outbox_steps(conn: Connection, ids: Sequence[uuid.UUID]) -> list[Step]:
    """Events about the lead that a service committed and has not published yet (the relay will).

    The outbox keeps the Kafka key, which is the lead id as text; a published row is deleted.
    """
    keys = [str(lead_id).encode() for lead_id in ids]
    steps = []
    for service in SERVICES:
        if not has_table(conn, f"{service}.outbox"):
            continue
        sql = f"SELECT event_id, topic, key, created_at FROM {service}.outbox WHERE key = ANY(%s) ORDER BY id"
        for row in conn.execute(sql, [keys]).fetchall():
            what = f"{row['topic']} event {row['event_id']} committed, not yet published (in the outbox)"
            steps.append(Step(row["created_at"], service, uuid.UUID(bytes(row["key"]).decode()), "unsent", what))
    return steps
