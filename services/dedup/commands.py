"""Operator commands on dedup's state (`dedup.commands.v1`): undoing a wrong merge.

`leadflow dedup unmerge LEAD_ID` publishes the command; the service applies it in its own
transaction, under the same locks as matching, and records the result in `dedup.commands`.
"""

from __future__ import annotations

import uuid
from typing import Any

from psycopg.types.json import Jsonb

from services.dedup import store
from services.dedup.blocking import hashed_keys
from services.dedup.profile import Profile
from services.dedup.survivorship import record_of, unfill
from shared.runtime.db import Inbound, UnitOfWork, fetch_binary, insert_rows
from shared.schemas import topics
from shared.schemas.events import DedupCommand, DedupVerdict

_LEAD = "SELECT lead_id, survivor_id, source, seen_at, profile FROM dedup.leads WHERE lead_id = %b"
_MERGE = "SELECT surviving_lead_id, changed_fields, payload, unmerged_at FROM dedup.merges WHERE lead_id = %b"
_LOCK = "SELECT lead_id, record FROM dedup.leads WHERE lead_id = ANY(%b::uuid[]) ORDER BY lead_id FOR UPDATE"
_RESTORE = """
UPDATE dedup.leads SET survivor_id = lead_id, record = %b, sources = ARRAY[source], times_seen = 1,
    last_seen_at = seen_at WHERE lead_id = %b
"""
_SHRINK = """
UPDATE dedup.leads s SET record = %b,
    sources = (SELECT array_agg(DISTINCT m.source) FROM dedup.leads m WHERE m.survivor_id = s.lead_id),
    times_seen = (SELECT count(*) FROM dedup.leads m WHERE m.survivor_id = s.lead_id),
    last_seen_at = (SELECT max(m.seen_at) FROM dedup.leads m WHERE m.survivor_id = s.lead_id)
WHERE s.lead_id = %b
"""
_MARK = "UPDATE dedup.merges SET unmerged_at = %b, unmerged_by = %b, unmerge_reason = %b WHERE lead_id = %b"
_FORGET = "DELETE FROM dedup.field_history WHERE lead_id = %b AND from_lead_id = %b"


async def unmerge(uow: UnitOfWork, message: Inbound, command: DedupCommand) -> str:
    """Restore a merged lead as its own lead and send it on as new; the merge log keeps both sides."""
    conn, lead_id = uow.conn, command.lead_id
    lead = next(iter(await fetch_binary(conn, _LEAD, [lead_id])), None)
    merge = next(iter(await fetch_binary(conn, _MERGE, [lead_id])), None)
    refusal = _refusal(lead, merge)
    if refusal is not None:
        await _record(uow, message, command, "refused", refusal)
        return f"refused_{refusal}"
    assert lead is not None  # noqa: S101 -- _refusal checked it
    assert merge is not None  # noqa: S101
    survivor_id: uuid.UUID = merge.surviving_lead_id
    # The same lock order as matching: the lead's blocking keys, then the lead rows by id.
    if lead.profile is not None:
        profile = Profile.from_json(lead_id, lead.seen_at, lead.profile)
        await store.lock_blocks(conn, hashed_keys(profile))
    rows = {row.lead_id: row for row in await fetch_binary(conn, _LOCK, [[lead_id, survivor_id]])}
    payload: dict[str, Any] = merge.payload or {}
    await fetch_binary(conn, _RESTORE, [Jsonb(record_of(payload)), lead_id])
    survivor = rows.get(survivor_id)
    restored = unfill(dict(survivor.record or {}) if survivor else {}, merge.changed_fields or {})
    await fetch_binary(conn, _SHRINK, [Jsonb(restored), survivor_id])
    await fetch_binary(conn, _FORGET, [survivor_id, lead_id])
    await fetch_binary(conn, _MARK, [uow.now(), command.by, command.reason, lead_id])
    verdict = DedupVerdict(verdict="new", rule="unmerged", unmerged_from=survivor_id)
    unique = {**payload, "dedup": verdict.model_dump(mode="json", exclude_none=True)}
    uow.emit(topics.LEADS_DEDUPLICATED, unique, lead_id=lead_id, cause=message)
    await _record(uow, message, command, "done", None)
    return "unmerged"


def _refusal(lead: Any, merge: Any) -> str | None:
    if lead is None:
        return "unknown_lead"
    if merge is None or lead.survivor_id == lead.lead_id:
        return "not_merged"
    if merge.unmerged_at is not None:
        return "already_unmerged"
    if not merge.payload:
        return "no_merge_record"  # merged before merge records kept the newcomer (migration dedup_0001)
    return None


async def _record(uow: UnitOfWork, message: Inbound, command: DedupCommand, status: str, reason: str | None) -> None:
    row = {
        "command_id": message.event_id,
        "command": command.command,
        "lead_id": command.lead_id,
        "status": status,
        "reason": reason,
        "by": command.by,
        "done_at": uow.now(),
    }
    await insert_rows(uow.conn, store.commands, [row], "ON CONFLICT DO NOTHING")
