"""nurture: timers of every kind (SLA warnings and breach, protection, no deal, pool aging, touches, track ends)
with their payload and an idempotency key; the lead's lifecycle state, consent and engagement.

Revision ID: nurture_0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "nurture_0003"
down_revision = "nurture_0002"
branch_labels = None
depends_on = None
SCHEMA = "nurture"


def upgrade() -> None:
    op.drop_constraint("one_timer_per_assignment_and_kind", "timers", schema=SCHEMA)
    op.alter_column("timers", "assignment_id", nullable=True, schema=SCHEMA)
    op.alter_column("timers", "rep_id", nullable=True, schema=SCHEMA)
    op.add_column("timers", sa.Column("key", sa.Text), schema=SCHEMA)
    op.execute(f"UPDATE {SCHEMA}.timers SET key = assignment_id::text || '/' || kind WHERE key IS NULL")
    op.alter_column("timers", "key", nullable=False, schema=SCHEMA)
    op.create_unique_constraint("one_timer_per_key", "timers", ["key"], schema=SCHEMA)
    op.add_column("timers", sa.Column("payload", JSONB, nullable=False, server_default="{}"), schema=SCHEMA)
    op.add_column("timers", sa.Column("fired_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.create_table(
        "leads",
        sa.Column("lead_id", sa.Uuid, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),  # owned, pooled, nurturing, reengaged, archived, closed
        sa.Column("assignment_id", sa.Uuid),
        sa.Column("rep_id", sa.Text),
        sa.Column("team_id", sa.Text),
        sa.Column("grade", sa.Text),
        sa.Column("assigned_at", sa.DateTime(timezone=True)),
        sa.Column("may_email", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("track", sa.Text),
        sa.Column("enrolment", sa.Text),  # the enrolment's key: its timers carry it
        sa.Column("engagement", sa.Float, nullable=False, server_default="0"),
        sa.Column("engaged_at", sa.DateTime(timezone=True)),
        sa.Column("reengaged_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("leads", schema=SCHEMA)
    for column in ("fired_at", "payload"):
        op.drop_column("timers", column, schema=SCHEMA)
    op.drop_constraint("one_timer_per_key", "timers", schema=SCHEMA)
    op.drop_column("timers", "key", schema=SCHEMA)
