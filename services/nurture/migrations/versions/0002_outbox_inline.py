"""nurture: outbox rows stay inline and uncompressed (events of 2-4 KB were pglz-compressed on every insert).

Revision ID: nurture_0002
"""

from shared.runtime.migrations import default_row_storage, keep_rows_inline

revision = "nurture_0002"
down_revision = "nurture_0001"
branch_labels = None
depends_on = None
SCHEMA = "nurture"


def upgrade() -> None:
    keep_rows_inline(SCHEMA, "outbox")


def downgrade() -> None:
    default_row_storage(SCHEMA, "outbox")
