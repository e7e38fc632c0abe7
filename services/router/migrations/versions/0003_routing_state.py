"""router: per-rep state (availability, caps, open leads, claims), weighted round-robin pointers, exclusions,
company owners, decision records, rule-set versions, and what the pool and the ledger need to explain themselves.

Revision ID: router_0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "router_0003"
down_revision = "router_0002"
branch_labels = None
depends_on = None
SCHEMA = "router"


def upgrade() -> None:
    op.drop_table("rr_counters", schema=SCHEMA)  # replaced by per-rep pointers (LeanData's round robin)
    op.add_column("leads", sa.Column("stage", sa.Text, nullable=False, server_default="intake"), schema=SCHEMA)
    op.add_column("leads", sa.Column("company_key", sa.Text), schema=SCHEMA)
    op.add_column("leads", sa.Column("rejections", sa.Integer, nullable=False, server_default="0"), schema=SCHEMA)
    op.add_column("leads", sa.Column("assignment_id", sa.Uuid), schema=SCHEMA)  # the active one
    op.add_column("leads", sa.Column("routed_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.add_column("assignments", sa.Column("closed_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.add_column("assignments", sa.Column("close_reason", sa.Text), schema=SCHEMA)
    op.add_column("assignments", sa.Column("accepted_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.create_index("assignments_by_rep", "assignments", ["rep_id", "created_at"], schema=SCHEMA)
    op.add_column("pool", sa.Column("rule_set_version", sa.Text), schema=SCHEMA)
    op.add_column("pool", sa.Column("previous_rep_id", sa.Text), schema=SCHEMA)
    op.create_index("pool_by_age", "pool", ["pooled_at"], schema=SCHEMA)
    op.create_table(
        "rep_state",  # the shared counters: changed only under this row's lock, in the assignment's transaction
        sa.Column("rep_id", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False, server_default="online"),  # online, offline, vacation
        sa.Column("status_until", sa.DateTime(timezone=True)),
        sa.Column("status_reason", sa.Text),
        sa.Column("status_at", sa.DateTime(timezone=True)),  # of the status event applied (older ones are ignored)
        sa.Column("day", sa.Date),  # the rep's local day the day count is for
        sa.Column("day_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("week", sa.Date),  # the rep's local Monday
        sa.Column("week_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("open_leads", sa.Integer, nullable=False, server_default="0"),
        sa.Column("claim_day", sa.Date),
        sa.Column("claim_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=SCHEMA,
    )
    op.create_table(
        "rr_pointers",  # per team and rep: the lowest available pointer gets the lead, then grows by 1/weight
        sa.Column("team_id", sa.Text, primary_key=True),
        sa.Column("rep_id", sa.Text, primary_key=True),
        sa.Column("pointer", sa.Float, nullable=False),
        sa.Column("assigned", sa.BigInteger, nullable=False, server_default="0"),
        schema=SCHEMA,
    )
    op.create_table(
        "exclusions",  # reps who may not get (or re-claim) a lead: rejected it, lost it to a recycle, released it
        sa.Column("lead_id", sa.Uuid, primary_key=True),
        sa.Column("rep_id", sa.Text, primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("until", sa.DateTime(timezone=True)),  # None: for good
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "company_owners",  # owner stickiness: the rep who owns a company's leads
        sa.Column("company_key", sa.Text, primary_key=True),
        sa.Column("rep_id", sa.Text, nullable=False),
        sa.Column("lead_id", sa.Uuid, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "decisions",  # every routing decision, assigned or not: what `leadflow explain` prints
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("lead_id", sa.Uuid, nullable=False, index=True),
        sa.Column("outcome", sa.Text, nullable=False),  # assigned, pooled, deferred, qualifying
        sa.Column("assignment_id", sa.Uuid),
        sa.Column("rule_id", sa.Text),
        sa.Column("rule_set_version", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),  # new_lead, recycled, rejected, claim, manager, ...
        sa.Column("record", JSONB, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "rule_sets",  # every rule-set version the router ran with
        sa.Column("version", sa.Text, primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    for table in ("leads", "decisions", "assignments"):
        op.execute(f"ALTER TABLE {SCHEMA}.{table} SET (toast_tuple_target = 8160)")


def downgrade() -> None:
    for table in ("rule_sets", "decisions", "company_owners", "exclusions", "rr_pointers", "rep_state"):
        op.drop_table(table, schema=SCHEMA)
    op.drop_index("pool_by_age", "pool", schema=SCHEMA)
    for column in ("previous_rep_id", "rule_set_version"):
        op.drop_column("pool", column, schema=SCHEMA)
    op.drop_index("assignments_by_rep", "assignments", schema=SCHEMA)
    for column in ("accepted_at", "close_reason", "closed_at"):
        op.drop_column("assignments", column, schema=SCHEMA)
    for column in ("routed_at", "assignment_id", "rejections", "company_key", "stage"):
        op.drop_column("leads", column, schema=SCHEMA)
    op.create_table(
        "rr_counters",
        sa.Column("team_id", sa.Text, primary_key=True),
        sa.Column("counter", sa.BigInteger, nullable=False),
        schema=SCHEMA,
    )
