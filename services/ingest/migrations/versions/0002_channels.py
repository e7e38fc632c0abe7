"""ingest: channels and their hashed API keys.

Revision ID: ingest_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "ingest_0002"
down_revision = "ingest_0001"
branch_labels = None
depends_on = None
SCHEMA = "ingest"


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("key_hash", sa.Text, nullable=False, unique=True),
        sa.Column("key_hint", sa.Text, nullable=False),
        sa.Column("default_country", sa.Text),
        sa.Column("rate_per_s", sa.Float),
        sa.Column("burst", sa.Float),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("channels", schema=SCHEMA)
