"""nurture's tables (schema `nurture`): durable timers and the leads' lifecycle state.

A timer is a row with a due time, a kind, a payload and a unique key (a redelivered event never starts a second
clock). Whichever instance claims a due row first (`FOR UPDATE SKIP LOCKED`) fires it, in the same transaction
as the events it writes to the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Identity,
    MetaData,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.runtime.db import fetch_binary, rows_statement, runtime_tables

metadata = MetaData(schema="nurture")
tables = runtime_tables(metadata)

timers = Table(
    "timers",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("key", Text, nullable=False, unique=True),
    Column("lead_id", Uuid, nullable=False),
    Column("assignment_id", Uuid),
    Column("rep_id", Text),
    Column("team_id", Text),
    Column("correlation_id", Uuid, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),  # pending, fired, stopped
    Column("payload", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("fired_at", DateTime(timezone=True)),
)
leads = Table(
    "leads",
    metadata,
    Column("lead_id", Uuid, primary_key=True),
    Column("status", Text, nullable=False),
    Column("assignment_id", Uuid),
    Column("rep_id", Text),
    Column("team_id", Text),
    Column("grade", Text),
    Column("assigned_at", DateTime(timezone=True)),
    Column("may_email", Boolean, nullable=False),
    Column("track", Text),
    Column("enrolment", Text),
    Column("engagement", Float, nullable=False),
    Column("engaged_at", DateTime(timezone=True)),
    Column("reengaged_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("follow_up_due_at", DateTime(timezone=True)),
    Column("contacted_at", DateTime(timezone=True)),
)

SLA_KINDS = ("sla_warn", "sla_breach")
OWNER_KINDS = ("sla_warn", "sla_breach", "protection", "no_deal")
TRACK_KINDS = ("touch", "track_end")
POOL_KINDS = ("pool_aging",)
ALL_KINDS = (*OWNER_KINDS, *TRACK_KINDS, *POOL_KINDS)

LEAD_COLUMNS = (
    "lead_id", "status", "assignment_id", "rep_id", "team_id", "grade", "assigned_at", "may_email", "track",
    "enrolment", "engagement", "engaged_at", "reengaged_at", "updated_at", "follow_up_due_at", "contacted_at",
)  # fmt: skip


async def lock_leads(conn: AsyncConnection, lead_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The leads' lifecycle rows, locked: one lead's events apply one at a time across instances."""
    ids = sorted(set(lead_ids))
    if not ids:
        return {}
    rows = await fetch_binary(
        conn,
        f"SELECT {', '.join(LEAD_COLUMNS)} FROM nurture.leads WHERE lead_id = ANY(%b::uuid[]) ORDER BY lead_id"
        " FOR UPDATE",
        [ids],
    )
    return {row.lead_id: row._asdict() for row in rows}


def save_leads(rows: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
    sets = ", ".join(f"{c} = excluded.{c}" for c in LEAD_COLUMNS[1:])
    return rows_statement(
        leads, [{c: row[c] for c in LEAD_COLUMNS} for row in rows], f"ON CONFLICT (lead_id) DO UPDATE SET {sets}"
    )


TIMER_COLUMNS = ("kind", "key", "lead_id", "assignment_id", "rep_id", "team_id", "correlation_id", "due_at", "payload")


def start_timers(rows: Sequence[dict[str, Any]], now: datetime) -> tuple[str, list[Any]]:
    """Pending timers; a key already there (a redelivered event) starts nothing."""
    records = [
        {
            **{c: row.get(c) for c in TIMER_COLUMNS},
            "payload": row.get("payload") or {},
            "status": "pending",
            "created_at": now,
        }
        for row in rows
    ]
    return rows_statement(timers, records, "ON CONFLICT (key) DO NOTHING")


def stop_timers(lead_ids: Sequence[uuid.UUID], kinds: Sequence[str], now: datetime) -> tuple[str, list[Any]]:
    """Stop the pending timers of these kinds for these leads."""
    return (
        (
            "UPDATE nurture.timers SET status = 'stopped', closed_at = %b"
            " WHERE lead_id = ANY(%b::uuid[]) AND kind = ANY(%b::text[]) AND status = 'pending'"
        ),
        [now, sorted(set(lead_ids)), list(kinds)],
    )


async def claim_due(conn: AsyncConnection, now: datetime, limit: int) -> list[Any]:
    """Lock due timers no other instance holds and mark them fired, in one statement of the firing transaction."""
    return await fetch_binary(
        conn,
        "UPDATE nurture.timers AS t SET status = 'fired', closed_at = %b, fired_at = clock_timestamp()"
        " FROM (SELECT id FROM nurture.timers WHERE status = 'pending' AND due_at <= %b ORDER BY due_at"
        " LIMIT %b FOR UPDATE SKIP LOCKED) AS due WHERE t.id = due.id"
        " RETURNING t.id, t.kind, t.lead_id, t.assignment_id, t.rep_id, t.team_id, t.correlation_id, t.due_at,"
        " t.payload",
        [now, now, limit],
    )


async def pending_count(conn: AsyncConnection) -> int:
    rows = await fetch_binary(conn, "SELECT count(*) AS n FROM nurture.timers WHERE status = 'pending'", [])
    return int(rows[0].n)
