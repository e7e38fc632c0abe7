"""nurture: inbox, outbox, durable timers.

Revision ID: nurture_0001
"""

import sqlalchemy as sa
from alembic import op

from shared.runtime.migrations import create_runtime_tables

revision = "nurture_0001"
down_revision = None
branch_labels = None
depends_on = None
SCHEMA = "nurture"


def upgrade() -> None:
    create_runtime_tables(SCHEMA)
    op.create_table(
        "timers",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("lead_id", sa.Uuid, nullable=False, index=True),
        sa.Column("assignment_id", sa.Uuid, nullable=False),
        sa.Column("rep_id", sa.Text, nullable=False),
        sa.Column("team_id", sa.Text),
        sa.Column("correlation_id", sa.Uuid, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("assignment_id", "kind", name="one_timer_per_assignment_and_kind"),
        schema=SCHEMA,
    )
    op.create_index(
        "pending_timers_by_due", "timers", ["due_at"], schema=SCHEMA, postgresql_where=sa.text("status = 'pending'")
    )


def downgrade() -> None:
    for table in ("timers", "outbox", "processed_events"):
        op.drop_table(table, schema=SCHEMA)
