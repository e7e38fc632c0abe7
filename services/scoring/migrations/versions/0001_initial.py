"""scoring: inbox, outbox, score history.

Revision ID: scoring_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from shared.runtime.migrations import create_runtime_tables

revision = "scoring_0001"
down_revision = None
branch_labels = None
depends_on = None
SCHEMA = "scoring"


def upgrade() -> None:
    create_runtime_tables(SCHEMA)
    op.create_table(
        "scores",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("lead_id", sa.Uuid, nullable=False, index=True),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("grade", sa.Text, nullable=False),
        sa.Column("temperature", sa.Text, nullable=False),
        sa.Column("factors", JSONB, nullable=False),
        sa.Column("model_version", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("scores", "outbox", "processed_events"):
        op.drop_table(table, schema=SCHEMA)
