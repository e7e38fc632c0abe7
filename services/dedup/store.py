"""dedup's tables (schema `dedup`): the identity index is enforced by Postgres keys, not memory."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, Table, Text, Uuid, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.runtime.db import fetch_binary, insert_rows, runtime_tables

metadata = MetaData(schema="dedup")
tables = runtime_tables(metadata)

leads = Table(
    "leads",
    metadata,
    Column("lead_id", Uuid, primary_key=True),
    Column("source", Text),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
)
identity_keys = Table(
    "identity_keys",
    metadata,
    Column("kind", Text, primary_key=True),
    Column("value", Text, primary_key=True),
    Column("lead_id", Uuid, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
merges = Table(
    "merges",
    metadata,
    Column("lead_id", Uuid, primary_key=True),
    Column("surviving_lead_id", Uuid, nullable=False),
    Column("evidence", JSONB, nullable=False),
    Column("merged_at", DateTime(timezone=True), nullable=False),
)


_HOLDERS = """
SELECT k.kind, k.value, k.lead_id FROM dedup.identity_keys k
JOIN unnest(%b::text[], %b::text[]) AS wanted(kind, value) USING (kind, value)
"""
_REPOINT = """
UPDATE dedup.identity_keys k SET lead_id = m.survivor
FROM unnest(%b::uuid[], %b::uuid[]) AS m(merged, survivor) WHERE k.lead_id = m.merged
"""


async def known_leads(conn: AsyncConnection, lead_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Lead ids already decided (kept or merged): a re-ingested lead is not decided twice."""
    kept = select(leads.c.lead_id).where(leads.c.lead_id.in_(lead_ids))
    merged = select(merges.c.lead_id).where(merges.c.lead_id.in_(lead_ids))
    return {row[0] for row in await conn.execute(kept.union(merged))}


async def claim_keys(
    conn: AsyncConnection, claims: Sequence[tuple[str, str, uuid.UUID]], now: datetime
) -> dict[tuple[str, str], uuid.UUID]:
    """Claim keys for their first lead in the batch; return the holder of every key, ours or another's.

    Two instances claiming the same key serialise on its primary key: the second waits for the
    first to commit and then sees it as the holder, so exactly one lead survives.
    """
    if not claims:
        return {}
    ordered = sorted(claims)  # a fixed lock order keeps concurrent claims from deadlocking
    rows = [{"kind": k, "value": v, "lead_id": lead, "created_at": now} for k, v, lead in ordered]
    await insert_rows(conn, identity_keys, rows, "ON CONFLICT DO NOTHING")
    found = await fetch_binary(conn, _HOLDERS, [[k for k, _, _ in ordered], [v for _, v, _ in ordered]])
    return {(row.kind, row.value): row.lead_id for row in found}


async def save_new(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await insert_rows(conn, leads, rows, "ON CONFLICT DO NOTHING")


async def save_merges(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Log the merges and point each newcomer's own keys at its survivor, so later matches find it."""
    if not rows:
        return
    await fetch_binary(conn, _REPOINT, [[r["lead_id"] for r in rows], [r["surviving_lead_id"] for r in rows]])
    await insert_rows(conn, merges, rows, "ON CONFLICT DO NOTHING")
