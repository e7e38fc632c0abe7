"""router's tables (schema `router`): routed leads, the assignment ledger, counters and the pool."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, Row, Table, Text, Uuid, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.runtime.db import runtime_tables

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


async def next_turn(conn: AsyncConnection, team_id: str) -> int:
    """Advance the team's round-robin counter atomically (safe with several router instances)."""
    stmt = pg_insert(rr_counters).values(team_id=team_id, counter=1)
    stmt = stmt.on_conflict_do_update(index_elements=["team_id"], set_={"counter": rr_counters.c.counter + 1})
    return int((await conn.execute(stmt.returning(rr_counters.c.counter))).scalar_one())


async def save_lead(conn: AsyncConnection, values: dict[str, Any]) -> None:
    stmt = pg_insert(leads).values(values)
    updatable = {k: stmt.excluded[k] for k in values if k != "lead_id"}
    await conn.execute(stmt.on_conflict_do_update(index_elements=["lead_id"], set_=updatable))


async def add_assignment(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Insert an active assignment; False when the lead already has one (the unique index says so)."""
    stmt = pg_insert(assignments).values(status="active", **values).on_conflict_do_nothing()
    return (await conn.execute(stmt.returning(assignments.c.assignment_id))).first() is not None


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


async def add_to_pool(conn: AsyncConnection, lead_id: uuid.UUID, reason: str, rule_id: str | None, now: datetime) -> None:
    stmt = pg_insert(pool).values(lead_id=lead_id, reason=reason, rule_id=rule_id, pooled_at=now)
    await conn.execute(stmt.on_conflict_do_update(index_elements=["lead_id"], set_={"reason": reason, "pooled_at": now}))
