"""nurture's tables (schema `nurture`): durable timers, fired by whichever instance claims them first."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Identity, MetaData, Row, Table, Text, Uuid, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.runtime.db import insert_rows, runtime_tables

metadata = MetaData(schema="nurture")
tables = runtime_tables(metadata)

timers = Table(
    "timers",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("lead_id", Uuid, nullable=False),
    Column("assignment_id", Uuid, nullable=False),
    Column("rep_id", Text, nullable=False),
    Column("team_id", Text),
    Column("correlation_id", Uuid, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
)


async def start_timers(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """One timer per (assignment, kind): a redelivered assignment does not start a second clock."""
    if rows:
        await insert_rows(conn, timers, [{**r, "status": "pending"} for r in rows], "ON CONFLICT DO NOTHING")


async def stop_timers(
    conn: AsyncConnection, lead_ids: Sequence[uuid.UUID], now: datetime, *, keep: Sequence[uuid.UUID] = ()
) -> int:
    """Stop the pending clocks of these leads (except those of the `keep` assignments)."""
    if not lead_ids:
        return 0
    stmt = (
        update(timers)
        .where(timers.c.lead_id.in_(lead_ids), timers.c.status == "pending", timers.c.assignment_id.not_in(keep))
        .values(status="stopped", closed_at=now)
    )
    return (await conn.execute(stmt)).rowcount


async def claim_due(conn: AsyncConnection, now: datetime, limit: int) -> list[Row[Any]]:
    """Lock due timers no other instance holds, and mark them fired in the same transaction."""
    due = (
        select(timers.c.id)
        .where(timers.c.status == "pending", timers.c.due_at <= now)
        .order_by(timers.c.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = [row[0] for row in await conn.execute(due)]
    if not ids:
        return []
    stmt = update(timers).where(timers.c.id.in_(ids)).values(status="fired", closed_at=now).returning(timers)
    return list(await conn.execute(stmt))
