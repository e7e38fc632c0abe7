"""dedup: inbox, outbox, leads, identity keys, merge log.

Revision ID: dedup_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from shared.runtime.migrations import create_runtime_tables

revision = "dedup_0001"
down_revision = None
branch_labels = None
depends_on = None
SCHEMA = "dedup"


def upgrade() -> None:
    create_runtime_tables(SCHEMA)
    op.create_table(
        "leads",
        sa.Column("lead_id", sa.Uuid, primary_key=True),
        sa.Column("source", sa.Text),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "identity_keys",
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, primary_key=True),
        sa.Column("lead_id", sa.Uuid, nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "merges",
        sa.Column("lead_id", sa.Uuid, primary_key=True),
        sa.Column("surviving_lead_id", sa.Uuid, nullable=False, index=True),
        sa.Column("evidence", JSONB, nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("merges", "identity_keys", "leads", "outbox", "processed_events"):
        op.drop_table(table, schema=SCHEMA)
