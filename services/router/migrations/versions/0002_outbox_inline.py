"""router: outbox rows stay inline and uncompressed (events of 2-4 KB were pglz-compressed on every insert).

Revision ID: router_0002
"""

from shared.runtime.migrations import default_row_storage, keep_rows_inline

revision = "router_0002"
down_revision = "router_0001"
branch_labels = None
depends_on = None
SCHEMA = "router"


def upgrade() -> None:
    keep_rows_inline(SCHEMA, "outbox")


def downgrade() -> None:
    default_row_storage(SCHEMA, "outbox")
