"""ingest's tables (schema `ingest`)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from services.ingest.channels import channels_table
from shared.runtime.db import insert_rows, runtime_tables

metadata = MetaData(schema="ingest")
tables = runtime_tables(metadata)
channels = channels_table(metadata)

submissions = Table(
    "submissions",
    metadata,
    Column("source", Text, primary_key=True),
    Column("external_id", Text, primary_key=True),
    Column("lead_id", Uuid, nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("times_seen", Integer, nullable=False),
)

rejects = Table(
    "rejects",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("source", Text),
    Column("external_id", Text),
    Column("errors", JSONB, nullable=False),
    Column("rejected_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Seen:
    """A (source, external_id) after this batch: new to us or not, and how often seen before the batch."""

    inserted: bool
    times_before: int
    first_seen_at: datetime


async def record_submissions(
    conn: AsyncConnection, keys: Sequence[tuple[str, str, uuid.UUID]], now: datetime
) -> dict[tuple[str, str], Seen]:
    """Count every (source, external_id) seen, repeats within the batch too."""
    seen = Counter((s, e) for s, e, _ in keys)
    lead_ids = {(s, e): lead for s, e, lead in keys}
    if not seen:
        return {}
    rows = [
        {
            "source": s,
            "external_id": e,
            "lead_id": lead_ids[s, e],
            "first_seen_at": now,
            "last_seen_at": now,
            "times_seen": n,
        }
        for (s, e), n in sorted(seen.items())  # one lock order for every writer: no deadlocks between them
    ]
    result = await insert_rows(
        conn,
        submissions,
        rows,
        (
            "ON CONFLICT (source, external_id) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at, "
            "times_seen = submissions.times_seen + EXCLUDED.times_seen "
            "RETURNING source, external_id, (xmax = 0) AS inserted, times_seen, first_seen_at"
        ),
    )
    return {
        (r.source, r.external_id): Seen(r.inserted, r.times_seen - seen[r.source, r.external_id], r.first_seen_at)
        for r in result
    }


async def save_rejects(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Keep every reject (the event carries it too) so channels can correct and re-submit."""
    if rows:
        await insert_rows(conn, rejects, rows, "ON CONFLICT DO NOTHING")
