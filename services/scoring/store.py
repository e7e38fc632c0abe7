"""scoring's tables (schema `scoring`): score history, scored leads, outcomes, model versions, reference data."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from psycopg.types.json import Jsonb
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Identity,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.runtime.db import fetch_binary, rows_statement, runtime_tables

metadata = MetaData(schema="scoring")
tables = runtime_tables(metadata)

scores = Table(
    "scores",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("lead_id", Uuid, nullable=False),
    Column("score", Integer, nullable=False),
    Column("grade", Text, nullable=False),
    Column("temperature", Text, nullable=False),
    Column("factors", JSONB, nullable=False),
    Column("model_version", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("scored_at", DateTime(timezone=True), nullable=False),
    Column("rule_points", Float),
    Column("model_points", Float),
)
leads = Table(
    "leads",
    metadata,
    Column("lead_id", Uuid, primary_key=True),
    Column("payload", LargeBinary, nullable=False),  # JSON bytes: only ever read whole
    Column("enrichment", LargeBinary, nullable=False),
    Column("engagement", JSONB, nullable=False),
    Column("score", Integer, nullable=False),
    Column("grade", Text, nullable=False),
    Column("scored_at", DateTime(timezone=True), nullable=False),
)
outcomes = Table(
    "outcomes",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("lead_id", Uuid, nullable=False),
    Column("kind", Text, nullable=False),
    Column("label", Boolean, nullable=False),
    Column("features", JSONB, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
model_versions = Table(
    "model_versions",
    metadata,
    Column("version", Text, primary_key=True),
    Column("status", Text, nullable=False),
    Column("model", LargeBinary, nullable=False),
    Column("trained_on", Integer, nullable=False),
    Column("cursor", BigInteger, nullable=False),
    Column("metrics", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("promoted_at", DateTime(timezone=True)),
)
firmographics = Table(
    "firmographics",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("row", JSONB, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
)

_UPSERT_LEADS = """
INSERT INTO scoring.leads (lead_id, payload, enrichment, engagement, score, grade, scored_at)
SELECT * FROM unnest(%b::uuid[], %b::bytea[], %b::bytea[], %b::jsonb[], %b::int[], %b::text[], %b::timestamptz[])
ON CONFLICT (lead_id) DO UPDATE SET payload = excluded.payload, enrichment = excluded.enrichment,
    engagement = excluded.engagement, score = excluded.score, grade = excluded.grade, scored_at = excluded.scored_at
"""


def save_scores(rows: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
    """The score history rows (one per (re)score)."""
    return rows_statement(scores, rows)


def upsert_leads(rows: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
    """The latest scoring of each lead: what a re-engagement re-scores and an outcome labels."""
    return _UPSERT_LEADS, [
        [r["lead_id"] for r in rows],
        [orjson.dumps(r["payload"]) for r in rows],
        [orjson.dumps(r["enrichment"]) for r in rows],
        [Jsonb(r["engagement"]) for r in rows],
        [r["score"] for r in rows],
        [r["grade"] for r in rows],
        [r["scored_at"] for r in rows],
    ]


@dataclass(frozen=True, slots=True)
class StoredLead:
    """A lead's latest scoring, as kept for re-scoring and labelling."""

    lead_id: uuid.UUID
    payload: dict[str, Any]
    enrichment: dict[str, Any]  # Enrichment.as_event()
    engagement: list[dict[str, Any]]


async def load_leads(conn: AsyncConnection, lead_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, StoredLead]:
    """The stored scorings of these leads, locked (a re-score and an outcome of one lead do not interleave)."""
    if not lead_ids:
        return {}
    rows = await fetch_binary(
        conn,
        "SELECT lead_id, payload, enrichment, engagement FROM scoring.leads WHERE lead_id = ANY(%b::uuid[])"
        " ORDER BY lead_id FOR UPDATE",
        [sorted(set(lead_ids))],
    )
    return {
        row.lead_id: StoredLead(row.lead_id, orjson.loads(row.payload), orjson.loads(row.enrichment), row.engagement)
        for row in rows
    }


def insert_outcomes(rows: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
    return rows_statement(outcomes, rows)


async def outcomes_after(conn: AsyncConnection, cursor: int, limit: int) -> list[Any]:
    """Outcomes recorded after `cursor` (an outcome id), oldest first."""
    return await fetch_binary(
        conn,
        "SELECT id, features, label FROM scoring.outcomes WHERE id > %b ORDER BY id LIMIT %b",
        [cursor, limit],
    )


async def save_model(conn: AsyncConnection, row: dict[str, Any]) -> None:
    """Insert or update a model version (its state, status and metrics)."""
    await fetch_binary(
        conn,
        """
        INSERT INTO scoring.model_versions AS m
            (version, status, model, trained_on, cursor, metrics, created_at, updated_at, promoted_at)
        VALUES (%b, %b, %b, %b, %b, %b, %b, %b, %b)
        ON CONFLICT (version) DO UPDATE SET status = excluded.status, model = excluded.model,
            trained_on = excluded.trained_on, cursor = excluded.cursor, metrics = excluded.metrics,
            updated_at = excluded.updated_at, promoted_at = coalesce(m.promoted_at, excluded.promoted_at)
        """,
        [
            row["version"],
            row["status"],
            row["model"],
            row["trained_on"],
            row["cursor"],
            Jsonb(row.get("metrics") or {}),
            row["created_at"],
            row["updated_at"],
            row.get("promoted_at"),
        ],
    )


async def retire_others(conn: AsyncConnection, keep: Sequence[str], now: datetime) -> None:
    await fetch_binary(
        conn,
        "UPDATE scoring.model_versions SET status = 'retired', updated_at = %b"
        " WHERE status <> 'retired' AND NOT (version = ANY(%b::text[]))",
        [now, list(keep)],
    )


async def current_models(conn: AsyncConnection) -> list[Any]:
    """The champion and the shadow model, if any."""
    return await fetch_binary(
        conn,
        "SELECT version, status, model, trained_on, cursor, updated_at FROM scoring.model_versions"
        " WHERE status IN ('champion', 'shadow') ORDER BY created_at",
        [],
    )


async def firmographic_rows(conn: AsyncConnection) -> list[dict[str, Any]]:
    return [row.row for row in await fetch_binary(conn, "SELECT row FROM scoring.firmographics ORDER BY id", [])]


async def replace_firmographics(conn: AsyncConnection, rows: Sequence[dict[str, Any]], now: datetime) -> None:
    """The reference table replaced as a whole (in the caller's transaction)."""
    await fetch_binary(conn, "DELETE FROM scoring.firmographics", [])
    if rows:
        await fetch_binary(conn, *rows_statement(firmographics, [{"row": r, "loaded_at": now} for r in rows]))
