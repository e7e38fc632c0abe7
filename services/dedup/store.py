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
from shared.runtime.db import fetch_binary, insert_rows, runtime_tables

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
# Lock every key of the batch in key order and file the batch's leads under theirs, in one statement:
# a concurrent batch touching any of these keys waits for this one to commit.
_FILE = f"""
INSERT INTO dedup.blocks AS b (key, lead_ids)
SELECT key, (array_agg(lead_id ORDER BY ord))[greatest(1, count(*)::int - {MAX_PER_KEY - 1}):]
FROM unnest(%b::bigint[], %b::uuid[], %b::int[]) AS t(key, lead_id, ord)
GROUP BY key ORDER BY key
ON CONFLICT (key) DO UPDATE SET lead_ids = (b.lead_ids || excluded.lead_ids)[
    greatest(1, cardinality(b.lead_ids) + cardinality(excluded.lead_ids) - {MAX_PER_KEY - 1}):]
"""
# One round trip for what the lookups need: the filed ids per key, and each filed lead's profile once.
_CANDIDATES = """
WITH b AS (SELECT key, lead_ids FROM dedup.blocks WHERE key = ANY(%b::bigint[]) AND cardinality(lead_ids) > 0),
ids AS (SELECT DISTINCT unnest(lead_ids) AS lead_id FROM b EXCEPT SELECT unnest(%b::uuid[]))
SELECT b.key, b.lead_ids, NULL::uuid AS lead_id, NULL::uuid AS survivor_id, NULL::timestamptz AS seen_at,
    NULL::jsonb AS profile, NULL::timestamptz AS last_seen_at
FROM b
UNION ALL
SELECT NULL, NULL, l.lead_id, l.survivor_id, l.seen_at, l.profile, s.last_seen_at
FROM ids JOIN dedup.leads l USING (lead_id) JOIN dedup.leads s ON s.lead_id = l.survivor_id
WHERE l.profile IS NOT NULL
"""
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


async def known_leads(conn: AsyncConnection, lead_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Lead ids already decided (kept or merged): a re-ingested lead is not decided twice."""
    rows = await fetch_binary(conn, "SELECT lead_id FROM dedup.leads WHERE lead_id = ANY(%b::uuid[])", [lead_ids])
    return {row.lead_id for row in rows}


async def lock_blocks(conn: AsyncConnection, keys: Sequence[int]) -> None:
    """Lock the keys, creating the missing ones: a concurrent batch touching any of them waits for us."""
    if keys:
        await fetch_binary(conn, _LOCK_BLOCKS, [sorted(set(keys))])  # one lock order: no deadlocks


async def file_leads(conn: AsyncConnection, filing: Mapping[int, Sequence[uuid.UUID]]) -> None:
    """Lock the keys (in key order) and append each key's new leads."""
    keys: list[int] = []
    ids: list[uuid.UUID] = []
    order: list[int] = []
    for key in sorted(filing):
        for lead_id in filing[key]:
            keys.append(key)
            ids.append(lead_id)
            order.append(len(order))
    if keys:
        await fetch_binary(conn, _FILE, [keys, ids, order])


async def candidates(
    conn: AsyncConnection, keys: Sequence[int], exclude: Sequence[uuid.UUID] = ()
) -> tuple[dict[int, list[uuid.UUID]], list[Any]]:
    """Who is filed under the (locked) lookup keys, and those leads' profiles, survivors and last sightings.

    `exclude`: leads not to load (the batch's own, just filed).
    """
    if not keys:
        return {}, []
    filed: dict[int, list[uuid.UUID]] = {}
    members = []
    for row in await fetch_binary(conn, _CANDIDATES, [sorted(set(keys)), list(exclude)]):
        if row.key is not None:
            filed[row.key] = list(row.lead_ids)
        else:
            members.append(row)
    return filed, members


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


async def insert_leads(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    params: list[list[Any]] = [[r.get(c) for r in rows] for c in _LEAD_COLUMNS]
    params += [[None if r.get(c) is None else Jsonb(r[c]) for r in rows] for c in _JSON_COLUMNS]
    params += [[r.get("times_seen", 1) for r in rows], [r.get("history_of") for r in rows]]
    await fetch_binary(conn, _INSERT_LEADS, params)


async def update_survivors(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    await fetch_binary(
        conn,
        _UPDATE_SURVIVORS,
        [
            [r["lead_id"] for r in rows],
            [Jsonb(r["record"]) for r in rows],
            [Jsonb(list(r["sources"])) for r in rows],
            [r["times_seen"] for r in rows],
            [r["last_seen_at"] for r in rows],
        ],
    )


async def insert_merges(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await insert_rows(conn, merges, rows, "ON CONFLICT DO NOTHING")


async def insert_history(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await insert_rows(conn, field_history, rows)
