"""dedup: the matching index (blocking keys), lead profiles and records, merge history, commands.

Exact identity keys become blocking keys of the fuzzy matcher; a lead row now keeps the profile it
is compared by, its survivor, and (for survivors) the merged record and the channels seen.

Revision ID: dedup_0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "dedup_0002"
down_revision = "dedup_0001"
branch_labels = None
depends_on = None
SCHEMA = "dedup"


def upgrade() -> None:
    op.drop_table("identity_keys", schema=SCHEMA)
    op.create_table(
        "blocks",
        sa.Column("key", sa.BigInteger, primary_key=True),
        sa.Column("lead_ids", ARRAY(sa.Uuid), nullable=False),
        schema=SCHEMA,
    )
    for column in (
        sa.Column("survivor_id", sa.Uuid),
        sa.Column("seen_at", sa.DateTime(timezone=True)),
        sa.Column("last_seen_at", sa.DateTime(timezone=True)),
        sa.Column("profile", JSONB),
        sa.Column("record", JSONB),
        sa.Column("sources", ARRAY(sa.Text)),
        sa.Column("times_seen", sa.Integer, nullable=False, server_default="1"),
        sa.Column("history_of", sa.Uuid),
    ):
        op.add_column("leads", column, schema=SCHEMA)
    op.execute(
        f"UPDATE {SCHEMA}.leads SET survivor_id = lead_id, seen_at = first_seen_at, last_seen_at = first_seen_at"
    )
    op.execute(
        f"INSERT INTO {SCHEMA}.leads (lead_id, first_seen_at, survivor_id, seen_at) "
        f"SELECT lead_id, merged_at, surviving_lead_id, merged_at FROM {SCHEMA}.merges ON CONFLICT DO NOTHING"
    )
    op.alter_column("leads", "survivor_id", nullable=False, schema=SCHEMA)
    op.alter_column("leads", "seen_at", nullable=False, schema=SCHEMA)
    op.create_index("leads_survivor", "leads", ["survivor_id"], schema=SCHEMA)
    for column in (
        sa.Column("score", sa.Float),
        sa.Column("rule", sa.Text),
        sa.Column("changed_fields", JSONB),
        sa.Column("conflicts", JSONB),
        sa.Column("payload", JSONB),
        sa.Column("unmerged_at", sa.DateTime(timezone=True)),
        sa.Column("unmerged_by", sa.Text),
        sa.Column("unmerge_reason", sa.Text),
    ):
        op.add_column("merges", column, schema=SCHEMA)
    op.create_table(
        "field_history",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("lead_id", sa.Uuid, nullable=False, index=True),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("value", JSONB),
        sa.Column("from_lead_id", sa.Uuid, nullable=False, index=True),
        sa.Column("source", sa.Text),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "commands",
        sa.Column("command_id", sa.Uuid, primary_key=True),
        sa.Column("command", sa.Text, nullable=False),
        sa.Column("lead_id", sa.Uuid, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("by", sa.Text),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("commands", "field_history", "blocks"):
        op.drop_table(table, schema=SCHEMA)
    op.drop_index("leads_survivor", "leads", schema=SCHEMA)
    for column in (
        "score",
        "rule",
        "changed_fields",
        "conflicts",
        "payload",
        "unmerged_at",
        "unmerged_by",
        "unmerge_reason",
    ):
        op.drop_column("merges", column, schema=SCHEMA)
    op.execute(f"DELETE FROM {SCHEMA}.leads WHERE survivor_id <> lead_id")
    for column in (
        "survivor_id",
        "seen_at",
        "last_seen_at",
        "profile",
        "record",
        "sources",
        "times_seen",
        "history_of",
    ):
        op.drop_column("leads", column, schema=SCHEMA)
    op.create_table(
        "identity_keys",
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, primary_key=True),
        sa.Column("lead_id", sa.Uuid, nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
