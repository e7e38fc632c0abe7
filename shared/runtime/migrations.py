"""Alembic, driven from code: each service has its own migrations folder and version table in its schema."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy.pool import NullPool


def upgrade_to_head(database_url: str, service: str, script_location: Path) -> None:
    """Apply the service's migrations; safe to call from several instances at once."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["schema"] = service
    cfg.attributes["database_url"] = database_url
    command.upgrade(cfg, "head")


def run_env() -> None:
    """Body of every service's migrations/env.py (online mode only: we always have a database)."""
    schema: str = context.config.attributes["schema"]
    engine = sa.create_engine(context.config.attributes["database_url"], poolclass=NullPool)
    lock = f"leadflow.migrate.{schema}"
    with engine.connect() as conn:
        # A session lock around everything, so two instances starting together migrate once.
        conn.execute(sa.text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": lock})
        try:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            conn.commit()
            context.configure(connection=conn, version_table_schema=schema, target_metadata=None)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": lock})
            conn.commit()
    engine.dispose()


def create_runtime_tables(schema: str) -> None:
    """The inbox and outbox every service has (called from each service's first migration)."""
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=schema,
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.LargeBinary),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=schema,
    )
    op.create_index("outbox_by_event_id", "outbox", ["event_id"], schema=schema)


INLINE_ROW_BYTES = 8160  # Postgres's largest toast_tuple_target: rows up to a page stay inline, uncompressed


def keep_rows_inline(schema: str, table: str) -> None:
    """Store rows up to a page inline and uncompressed: no pglz compression or TOAST on the hot path.

    An event of 2-4 KB is over the default 2 KB threshold, so every outbox insert compressed it (with pglz,
    the only compression the embedded Postgres has) only for the relay to delete the row a moment later.
    """
    op.execute(f'ALTER TABLE "{schema}"."{table}" SET (toast_tuple_target = {INLINE_ROW_BYTES})')


def default_row_storage(schema: str, table: str) -> None:
    """Undo keep_rows_inline."""
    op.execute(f'ALTER TABLE "{schema}"."{table}" RESET (toast_tuple_target)')
