"""router's tables (schema `router`): routed leads, the assignment ledger, counters and the pool."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, Row, Table, Text, Uuid, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.runtime.db import insert_rows, runtime_tables

metadata = MetaData(schema="router")
tables = runtime_tables(metadata)

leads = Table(
    "leads",
    metadata,
    Column("lead_id", Uuid, primary_key=True),
    Column("status", Text, nullable=False),
    Column("team_id", Text),
    Column("owner_rep_id", Text),
    Column("grade", Text),
    Column("facts", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
assignments = Table(
    "assignments",
    metadata,
    Column("assignment_id", Uuid, primary_key=True),
    Column("lead_id", Uuid, nullable=False),
    Column("rep_id", Text, nullable=False),
    Column("team_id", Text, nullable=False),
    Column("rule_id", Text, nullable=False),
    Column("rule_set_version", Text, nullable=False),
    Column("strategy", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("decision", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
rr_counters = Table("rr_counters", metadata, Column("team_id", Text, primary_key=True), Column("counter", BigInteger))
pool = Table(
    "pool",
    metadata,
    Column("lead_id", Uuid, primary_key=True),
    Column("reason", Text, nullable=False),
    Column("rule_id", Text),
    Column("pooled_at", DateTime(timezone=True), nullable=False),
)


async def routed_leads(conn: AsyncConnection, lead_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    rows = await conn.execute(select(leads.c.lead_id).where(leads.c.lead_id.in_(lead_ids)))
    return {row[0] for row in rows}


async def get_lead(conn: AsyncConnection, lead_id: uuid.UUID) -> Row[Any] | None:
    """The routed lead, locked: recycles and rejections of one lead apply one at a time."""
    return (await conn.execute(select(leads).where(leads.c.lead_id == lead_id).with_for_update())).first()


async def take_turns(conn: AsyncConnection, wanted: Mapping[str, int]) -> dict[str, int]:
    """Reserve `wanted[team]` consecutive round-robin turns per team atomically; return each team's first turn.

    One atomic increment per team and batch keeps several router instances from sharing a turn.
    """
    if not wanted:
        return {}
    insert = pg_insert(rr_counters).values([{"team_id": t, "counter": k} for t, k in sorted(wanted.items())])
    upsert = insert.on_conflict_do_update(
        index_elements=["team_id"], set_={"counter": rr_counters.c.counter + insert.excluded.counter}
    ).returning(rr_counters.c.team_id, rr_counters.c.counter)
    return {row.team_id: int(row.counter) - wanted[row.team_id] + 1 for row in await conn.execute(upsert)}


async def save_leads(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in rows[0] if c != "lead_id")
    await insert_rows(conn, leads, rows, f"ON CONFLICT (lead_id) DO UPDATE SET {updates}")


async def add_assignments(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert active assignments; returns the ids inserted (a lead with an active one gets none: unique index)."""
    if not rows:
        return set()
    active = [{**r, "status": "active"} for r in rows]
    return {
        row[0] for row in await insert_rows(conn, assignments, active, "ON CONFLICT DO NOTHING RETURNING assignment_id")
    }


async def close_assignment(conn: AsyncConnection, assignment_id: uuid.UUID, status: str) -> str | None:
    """Mark an active assignment closed and return its rule id; None if it was not the active one."""
    stmt = (
        update(assignments)
        .where(assignments.c.assignment_id == assignment_id, assignments.c.status == "active")
        .values(status=status)
        .returning(assignments.c.rule_id)
    )
    return (await conn.execute(stmt)).scalar_one_or_none()


async def previous_owners(conn: AsyncConnection, lead_id: uuid.UUID) -> set[str]:
    rows = await conn.execute(select(assignments.c.rep_id).where(assignments.c.lead_id == lead_id))
    return {row[0] for row in rows}


async def last_attempt(conn: AsyncConnection, lead_id: uuid.UUID) -> int:
    rows = await conn.execute(select(assignments.c.attempt).where(assignments.c.lead_id == lead_id))
    return max((row[0] for row in rows), default=0)


async def add_to_pool(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    await insert_rows(
        conn, pool, rows, "ON CONFLICT (lead_id) DO UPDATE SET reason = EXCLUDED.reason, pooled_at = EXCLUDED.pooled_at"
    )
