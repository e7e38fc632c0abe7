"""ingest: inbox, outbox, submissions seen, rejects.

Revision ID: ingest_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from shared.runtime.migrations import create_runtime_tables

revision = "ingest_0001"
down_revision = None
branch_labels = None
depends_on = None
SCHEMA = "ingest"


def upgrade() -> None:
    create_runtime_tables(SCHEMA)
    op.create_table(
        "submissions",
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("external_id", sa.Text, primary_key=True),
        sa.Column("lead_id", sa.Uuid, nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("times_seen", sa.Integer, nullable=False, server_default="1"),
        schema=SCHEMA,
    )
    op.create_table(
        "rejects",
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column("source", sa.Text),
        sa.Column("external_id", sa.Text),
        sa.Column("errors", JSONB, nullable=False),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("rejects", "submissions", "outbox", "processed_events"):
        op.drop_table(table, schema=SCHEMA)
