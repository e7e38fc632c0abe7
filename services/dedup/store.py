"""dedup's tables (schema `dedup`): the identity index, enforced by Postgres row locks, not memory.

Concurrency: a batch first locks every blocking key it will look up or file under, in key order,
in ONE statement (`lock_blocks`). Two instances whose leads share a key therefore serialise on
that key's row: the second waits for the first to commit, then reads the first's leads as
candidates. Any two leads that can match share a key, so of two duplicates arriving at once on
different instances exactly one survives. Survivor rows are locked after the keys, in id order.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Identity,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from services.dedup.blocking import MAX_PER_KEY
from shared.runtime.db import fetch_binary, rows_statement, runtime_tables

metadata = MetaData(schema="dedup")
tables = runtime_tables(metadata)

leads = Table(
    "leads",
    metadata,
    Column("lead_id", Uuid, primary_key=True),
    Column("source", Text),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),  # when dedup decided it
    Column("survivor_id", Uuid, nullable=False),  # itself, or the lead it was merged into
    Column("seen_at", DateTime(timezone=True), nullable=False),  # captured_at
    Column("last_seen_at", DateTime(timezone=True)),  # survivors: the latest sighting of the person
    Column("profile", JSONB),  # what matching compares (services.dedup.profile)
    Column("record", JSONB),  # survivors: the merged record
    Column("sources", ARRAY(Text)),  # survivors: every channel the person came through
    Column("times_seen", Integer, nullable=False, server_default="1"),
    Column("history_of", Uuid),  # an earlier lead of this person, outside the merge window
)
blocks = Table(
    "blocks",
    metadata,
    Column("key", BigInteger, primary_key=True),
    Column("lead_ids", ARRAY(Uuid), nullable=False),  # the most recent leads filed under the key
)
merges = Table(
    "merges",
    metadata,
    Column("lead_id", Uuid, primary_key=True),
    Column("surviving_lead_id", Uuid, nullable=False),
    Column("evidence", JSONB, nullable=False),
    Column("merged_at", DateTime(timezone=True), nullable=False),
    Column("score", Float),
    Column("rule", Text),
    Column("changed_fields", JSONB),
    Column("conflicts", JSONB),
    Column("payload", JSONB),  # the newcomer as ingested: what an unmerge sends on
    Column("unmerged_at", DateTime(timezone=True)),
    Column("unmerged_by", Text),
    Column("unmerge_reason", Text),
)
field_history = Table(
    "field_history",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("lead_id", Uuid, nullable=False),
    Column("field", Text, nullable=False),
    Column("value", JSONB),
    Column("from_lead_id", Uuid, nullable=False),
    Column("source", Text),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
commands = Table(
    "commands",
    metadata,
    Column("command_id", Uuid, primary_key=True),
    Column("command", Text, nullable=False),
    Column("lead_id", Uuid, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text),
    Column("by", Text),
    Column("done_at", DateTime(timezone=True), nullable=False),
)

# ON CONFLICT DO UPDATE … WHERE false: inserts missing keys and locks existing ones, writing nothing.
_LOCK_BLOCKS = """
INSERT INTO dedup.blocks AS b (key, lead_ids)
SELECT k, '{}'::uuid[] FROM unnest(%b::bigint[]) AS k ORDER BY k
ON CONFLICT (key) DO UPDATE SET lead_ids = b.lead_ids WHERE false
"""
# ONE statement files the batch and reads back what its keys hold:
# - `known`: leads decided before (re-ingested under the same id), neither filed nor decided again;
# - `filed`: every key of the batch is locked, in key order, and the batch's leads are appended to
#   it; a concurrent batch touching any of these keys waits for this one to commit (and vice versa);
#   RETURNING gives each key's leads as they are now, a concurrent batch's committed ones included;
# - the profiles of the leads filed under those keys, with their survivors' last sightings.
# A lead a concurrent batch committed while this statement waited for a key's lock is in `filed` but
# not visible to this statement's snapshot: `file_and_look_up` reads those in a second statement.
_FILE_AND_LOOK_UP = f"""
WITH known AS (SELECT lead_id FROM dedup.leads WHERE lead_id = ANY(%b::uuid[])),
filed AS (
    INSERT INTO dedup.blocks AS b (key, lead_ids)
    SELECT key, (array_agg(lead_id ORDER BY ord))[greatest(1, count(*)::int - {MAX_PER_KEY - 1}):]
    FROM unnest(%b::bigint[], %b::uuid[], %b::int[]) AS t(key, lead_id, ord)
    WHERE t.lead_id NOT IN (SELECT lead_id FROM known)
    GROUP BY key ORDER BY key
    ON CONFLICT (key) DO UPDATE SET lead_ids = (b.lead_ids || excluded.lead_ids)[
        greatest(1, cardinality(b.lead_ids) + cardinality(excluded.lead_ids) - {MAX_PER_KEY - 1}):]
    RETURNING key, lead_ids
),
ids AS (SELECT DISTINCT unnest(lead_ids) AS lead_id FROM filed)
SELECT 'key' AS kind, key, lead_ids, NULL::uuid AS lead_id, NULL::uuid AS survivor_id, NULL::timestamptz AS seen_at,
    NULL::jsonb AS profile, NULL::timestamptz AS last_seen_at
FROM filed
UNION ALL
SELECT 'known', NULL, NULL, lead_id, NULL, NULL, NULL, NULL FROM known
UNION ALL
{{members}}
"""
# A filed lead's profile, its survivor and that survivor's last sighting (read only for merged leads).
_MEMBERS = """
SELECT 'member' AS kind, NULL::bigint AS key, NULL::uuid[] AS lead_ids, l.lead_id, l.survivor_id, l.seen_at,
    l.profile, CASE WHEN l.survivor_id = l.lead_id THEN l.last_seen_at
    ELSE (SELECT s.last_seen_at FROM dedup.leads s WHERE s.lead_id = l.survivor_id) END AS last_seen_at
FROM {ids} JOIN dedup.leads l USING (lead_id)
WHERE l.profile IS NOT NULL
"""
_FILE = _FILE_AND_LOOK_UP.format(members=_MEMBERS.format(ids="ids"))
_LATE_MEMBERS = _MEMBERS.format(ids="unnest(%b::uuid[]) AS ids(lead_id)")
_SURVIVORS = """
SELECT lead_id, record, sources, times_seen, last_seen_at FROM dedup.leads
WHERE lead_id = ANY(%b::uuid[]) ORDER BY lead_id FOR UPDATE
"""
_UPDATE_SURVIVORS = """
UPDATE dedup.leads l SET record = v.record, sources = ARRAY(SELECT jsonb_array_elements_text(v.sources)),
    times_seen = v.times_seen, last_seen_at = v.last_seen_at
FROM unnest(%b::uuid[], %b::jsonb[], %b::jsonb[], %b::int[], %b::timestamptz[])
    AS v(lead_id, record, sources, times_seen, last_seen_at)
WHERE l.lead_id = v.lead_id
"""


@dataclass(frozen=True)
class Lookup:
    """What the index held for a batch, read under the locks of its keys."""

    known: set[uuid.UUID]  # lead ids decided before: not decided (or filed) again
    filed: dict[int, list[uuid.UUID]]  # key -> the leads filed under it, oldest first, this batch's last
    members: list[Any]  # rows of the filed leads: lead_id, survivor_id, seen_at, profile, last_seen_at


async def file_and_look_up(conn: AsyncConnection, filing: Mapping[int, Sequence[uuid.UUID]]) -> Lookup:
    """In ONE statement: which of the leads are known, file the others under their keys, read the keys back.

    Filing locks the keys (in key order), so what comes back includes every lead a concurrent batch
    filed under them and committed before us, and no batch can file under them until we commit.
    """
    keys: list[int] = []
    ids: list[uuid.UUID] = []
    order: list[int] = []
    for key in sorted(filing):
        for lead_id in filing[key]:
            keys.append(key)
            ids.append(lead_id)
            order.append(len(order))
    if not keys:
        return Lookup(set(), {}, [])
    batch = set(ids)
    found = Lookup(set(), {}, [])
    for row in await fetch_binary(conn, _FILE, [list(batch), keys, ids, order]):
        if row.kind == "key":
            found.filed[row.key] = list(row.lead_ids)
        elif row.kind == "known":
            found.known.add(row.lead_id)
        else:
            found.members.append(row)
    # Filed by a batch that committed while we waited for a key: in the arrays, not in our snapshot.
    read = {row.lead_id for row in found.members}
    late = {m for members in found.filed.values() for m in members} - read - batch
    if late:
        found.members.extend(await fetch_binary(conn, _LATE_MEMBERS, [sorted(late)]))
    return found


async def lock_blocks(conn: AsyncConnection, keys: Sequence[int]) -> None:
    """Lock the keys, creating the missing ones: a concurrent batch touching any of them waits for us."""
    if keys:
        await fetch_binary(conn, _LOCK_BLOCKS, [sorted(set(keys))])  # one lock order: no deadlocks


async def lock_survivors(conn: AsyncConnection, lead_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    if not lead_ids:
        return {}
    return {row.lead_id: row for row in await fetch_binary(conn, _SURVIVORS, [sorted(set(lead_ids))])}


_INSERT_LEADS = """
INSERT INTO dedup.leads (lead_id, source, first_seen_at, survivor_id, seen_at, last_seen_at, profile, record,
    sources, times_seen, history_of)
SELECT lead_id, source, first_seen_at, survivor_id, seen_at, last_seen_at, profile, record,
    CASE WHEN sources IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(sources)) END,
    times_seen, history_of
FROM unnest(%b::uuid[], %b::text[], %b::timestamptz[], %b::uuid[], %b::timestamptz[], %b::timestamptz[],
    %b::jsonb[], %b::jsonb[], %b::jsonb[], %b::int[], %b::uuid[])
    AS v(lead_id, source, first_seen_at, survivor_id, seen_at, last_seen_at, profile, record, sources, times_seen,
         history_of)
ON CONFLICT DO NOTHING
"""
_LEAD_COLUMNS = ("lead_id", "source", "first_seen_at", "survivor_id", "seen_at", "last_seen_at")
_JSON_COLUMNS = ("profile", "record", "sources")


def insert_leads(rows: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
    params: list[list[Any]] = [[r.get(c) for r in rows] for c in _LEAD_COLUMNS]
    params += [[None if r.get(c) is None else Jsonb(r[c]) for r in rows] for c in _JSON_COLUMNS]
    params += [[r.get("times_seen", 1) for r in rows], [r.get("history_of") for r in rows]]
    return _INSERT_LEADS, params


def update_survivors(rows: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
    return _UPDATE_SURVIVORS, [
        [r["lead_id"] for r in rows],
        [Jsonb(r["record"]) for r in rows],
        [Jsonb(list(r["sources"])) for r in rows],
        [r["times_seen"] for r in rows],
        [r["last_seen_at"] for r in rows],
    ]


def insert_merges(rows: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
    return rows_statement(merges, rows, "ON CONFLICT DO NOTHING")


def insert_history(rows: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
    return rows_statement(field_history, rows)
