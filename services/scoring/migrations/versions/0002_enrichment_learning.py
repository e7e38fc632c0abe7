"""scoring: firmographic reference table, scored leads (for re-scoring and labelling), outcomes, model versions.

Revision ID: scoring_0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "scoring_0002"
down_revision = "scoring_0001"
branch_labels = None
depends_on = None
SCHEMA = "scoring"


def upgrade() -> None:
    op.create_table(
        "firmographics",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("row", JSONB, nullable=False),  # name, domain, industry, employees, annual_revenue, hq_*
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "leads",
        sa.Column("lead_id", sa.Uuid, primary_key=True),
        sa.Column("payload", JSONB, nullable=False),  # the unique lead as scored: re-scoring sends it on again
        sa.Column("enrichment", JSONB, nullable=False),  # enriched field -> value
        sa.Column("engagement", JSONB, nullable=False, server_default="[]"),  # re-engagements, oldest first
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("grade", sa.Text, nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "outcomes",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("lead_id", sa.Uuid, nullable=False, index=True),
        sa.Column("kind", sa.Text, nullable=False),  # converted, qualified, lost, disqualified
        sa.Column("label", sa.Boolean, nullable=False),
        sa.Column("features", JSONB, nullable=False),  # the lead as it was scored: what the model learns from
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "model_versions",
        sa.Column("version", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),  # shadow, champion, retired
        sa.Column("model", sa.LargeBinary, nullable=False),
        sa.Column("trained_on", sa.Integer, nullable=False),
        sa.Column("cursor", sa.BigInteger, nullable=False),  # the last outcome id it has learned from
        sa.Column("metrics", JSONB, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )
    op.add_column("scores", sa.Column("rule_points", sa.Float), schema=SCHEMA)
    op.add_column("scores", sa.Column("model_points", sa.Float), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("scores", "model_points", schema=SCHEMA)
    op.drop_column("scores", "rule_points", schema=SCHEMA)
    for table in ("model_versions", "outcomes", "leads", "firmographics"):
        op.drop_table(table, schema=SCHEMA)
