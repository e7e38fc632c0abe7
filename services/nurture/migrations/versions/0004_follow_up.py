"""nurture: the current assignment's follow-up deadline and first contact, so "SLA met" counts once per assignment.

Revision ID: nurture_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "nurture_0004"
down_revision = "nurture_0003"
branch_labels = None
depends_on = None
SCHEMA = "nurture"


def upgrade() -> None:
    op.add_column("leads", sa.Column("follow_up_due_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.add_column("leads", sa.Column("contacted_at", sa.DateTime(timezone=True)), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("leads", "contacted_at", schema=SCHEMA)
    op.drop_column("leads", "follow_up_due_at", schema=SCHEMA)
