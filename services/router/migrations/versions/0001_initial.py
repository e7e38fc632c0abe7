"""router: inbox, outbox, routed leads, assignment ledger, round-robin counters, pool.

Revision ID: router_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from shared.runtime.migrations import create_runtime_tables

revision = "router_0001"
down_revision = None
branch_labels = None
depends_on = None
SCHEMA = "router"


def upgrade() -> None:
    create_runtime_tables(SCHEMA)
    op.create_table(
        "leads",
        sa.Column("lead_id", sa.Uuid, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("team_id", sa.Text),
        sa.Column("owner_rep_id", sa.Text),
        sa.Column("grade", sa.Text),
        sa.Column("facts", JSONB, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "assignments",
        sa.Column("assignment_id", sa.Uuid, primary_key=True),
        sa.Column("lead_id", sa.Uuid, nullable=False, index=True),
        sa.Column("rep_id", sa.Text, nullable=False),
        sa.Column("team_id", sa.Text, nullable=False),
        sa.Column("rule_id", sa.Text, nullable=False),
        sa.Column("rule_set_version", sa.Text, nullable=False),
        sa.Column("strategy", sa.Text, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("decision", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    # The invariant "never assigned twice": at most one active assignment per lead, in Postgres.
    op.create_index(
        "one_active_assignment_per_lead",
        "assignments",
        ["lead_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "rr_counters",
        sa.Column("team_id", sa.Text, primary_key=True),
        sa.Column("counter", sa.BigInteger, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "pool",
        sa.Column("lead_id", sa.Uuid, primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("rule_id", sa.Text),
        sa.Column("pooled_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("pool", "rr_counters", "assignments", "leads", "outbox", "processed_events"):
        op.drop_table(table, schema=SCHEMA)
