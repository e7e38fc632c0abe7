"""dedup: outbox rows stay inline and uncompressed (events of 2-4 KB were pglz-compressed on every insert).

Revision ID: dedup_0003
"""

from shared.runtime.migrations import default_row_storage, keep_rows_inline

revision = "dedup_0003"
down_revision = "dedup_0002"
branch_labels = None
depends_on = None
SCHEMA = "dedup"


def upgrade() -> None:
    keep_rows_inline(SCHEMA, "outbox")


def downgrade() -> None:
    default_row_storage(SCHEMA, "outbox")
