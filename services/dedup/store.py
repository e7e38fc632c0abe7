"""dedup's tables (schema `dedup`): the identity index is enforced by Postgres keys, not memory."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, Table, Text, Uuid, select, tuple_, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.runtime.db import runtime_tables

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


async def known_leads(conn: AsyncConnection, lead_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Lead ids already decided (kept or merged): a re-ingested lead is not decided twice."""
    kept = select(leads.c.lead_id).where(leads.c.lead_id.in_(lead_ids))
    merged = select(merges.c.lead_id).where(merges.c.lead_id.in_(lead_ids))
    return {row[0] for row in await conn.execute(kept.union(merged))}


async def claim_keys(
    conn: AsyncConnection, lead_id: uuid.UUID, keys: Sequence[tuple[str, str]], now: datetime
) -> dict[str, uuid.UUID]:
    """Claim the keys for this lead; return {kind: owner} for keys another lead already holds.

    Two instances claiming the same key serialise on its primary key: the second waits for the
    first to commit and then sees it as the owner, so exactly one lead survives.
    """
    if not keys:
        return {}
    ordered = sorted(keys)  # a fixed lock order keeps concurrent claims from deadlocking
    await conn.execute(
        pg_insert(identity_keys)
        .values([{"kind": k, "value": v, "lead_id": lead_id, "created_at": now} for k, v in ordered])
        .on_conflict_do_nothing()
    )
    stmt = select(identity_keys.c.kind, identity_keys.c.lead_id).where(
        tuple_(identity_keys.c.kind, identity_keys.c.value).in_(ordered), identity_keys.c.lead_id != lead_id
    )
    return {row.kind: row.lead_id for row in await conn.execute(stmt)}


async def save_new(conn: AsyncConnection, lead_id: uuid.UUID, source: str, now: datetime) -> None:
    await conn.execute(pg_insert(leads).values(lead_id=lead_id, source=source, first_seen_at=now).on_conflict_do_nothing())


async def save_merge(
    conn: AsyncConnection, lead_id: uuid.UUID, survivor: uuid.UUID, evidence: list[dict[str, Any]], now: datetime
) -> None:
    """Log the merge and point the newcomer's own keys at the survivor, so later matches find it."""
    await conn.execute(update(identity_keys).where(identity_keys.c.lead_id == lead_id).values(lead_id=survivor))
    await conn.execute(
        pg_insert(merges)
        .values(lead_id=lead_id, surviving_lead_id=survivor, evidence=evidence, merged_at=now)
        .on_conflict_do_nothing()
    )
