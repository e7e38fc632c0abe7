"""scoring's tables (schema `scoring`): score history, one row per (re)score."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Identity, Integer, MetaData, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.runtime.db import insert_rows, runtime_tables

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
)


async def save_scores(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await insert_rows(conn, scores, rows)
