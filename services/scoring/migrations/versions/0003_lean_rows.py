"""scoring: the scored lead's payload and enrichment as stored JSON bytes, rows inline and uncompressed.

The service only ever reads them whole (to re-score or label a lead), so Postgres no longer parses 2-3 KB of
JSONB per lead, and neither they nor the outbox's events are pglz-compressed on the hot path.

Revision ID: scoring_0003
"""

from alembic import op

from shared.runtime.migrations import default_row_storage, keep_rows_inline

revision = "scoring_0003"
down_revision = "scoring_0002"
branch_labels = None
depends_on = None
SCHEMA = "scoring"


def upgrade() -> None:
    for column in ("payload", "enrichment"):
        op.execute(
            f"ALTER TABLE {SCHEMA}.leads ALTER COLUMN {column} TYPE bytea USING convert_to({column}::text, 'UTF8')"
        )
    keep_rows_inline(SCHEMA, "leads")
    keep_rows_inline(SCHEMA, "outbox")


def downgrade() -> None:
    default_row_storage(SCHEMA, "outbox")
    default_row_storage(SCHEMA, "leads")
    for column in ("payload", "enrichment"):
        op.execute(
            f"ALTER TABLE {SCHEMA}.leads ALTER COLUMN {column} TYPE jsonb USING convert_from({column}, 'UTF8')::jsonb"
        )
