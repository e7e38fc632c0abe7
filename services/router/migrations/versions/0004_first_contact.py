"""router: when a lead was first contacted, so the funnel counts a lead's first contact once.

Revision ID: router_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "router_0004"
down_revision = "router_0003"
branch_labels = None
depends_on = None
SCHEMA = "router"


def upgrade() -> None:
    op.add_column("leads", sa.Column("first_contacted_at", sa.DateTime(timezone=True)), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("leads", "first_contacted_at", schema=SCHEMA)
