"""router's tables (schema `router`).

Routed leads, the assignment ledger, rep state and pointers, exclusions, company owners, the pool, decision
records and rule-set versions.

The shared counters (a rep's day/week/open counts, claims, round-robin pointers) change only while the rep's
`rep_state` row is locked in the transaction that assigns, so two router instances never overfill a rep or share
a turn; the partial unique index on active assignments makes "assigned twice" impossible in Postgres itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    Identity,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from services.router.domain import Board, Exclusion, RepLoad
from shared.runtime.db import fetch_binary, rows_statement, runtime_tables

metadata = MetaData(schema="router")
tables = runtime_tables(metadata)

leads = Table(
    "leads",
    metadata,
    Column("lead_id", Uuid, primary_key=True),
    Column("status", Text, nullable=False),  # assigned, pooled, deferred, closed
    Column("team_id", Text),
    Column("owner_rep_id", Text),
    Column("grade", Text),
    Column("facts", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("stage", Text, nullable=False),
    Column("company_key", Text),
    Column("rejections", Integer, nullable=False),
    Column("assignment_id", Uuid),
    Column("routed_at", DateTime(timezone=True)),
    Column("first_contacted_at", DateTime(timezone=True)),
)
assignments = Table(
    "assignments",
    metadata,
    Column("assignment_id", Uuid, primary_key=True),
    Column("lead_id", Uuid, nullable=False),
    Column("rep_id", Text, nullable=False),
    Column("team_id", Text, nullable=False),
    Column("rule_id", Text, nullable=False),
    Column("rule_set_version", Text, nullable=False),
    Column("strategy", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("decision", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("close_reason", Text),
    Column("accepted_at", DateTime(timezone=True)),
)
pool = Table(
    "pool",
    metadata,
    Column("lead_id", Uuid, primary_key=True),
    Column("reason", Text, nullable=False),
    Column("rule_id", Text),
    Column("pooled_at", DateTime(timezone=True), nullable=False),
    Column("rule_set_version", Text),
    Column("previous_rep_id", Text),
)
rep_state = Table(
    "rep_state",
    metadata,
    Column("rep_id", Text, primary_key=True),
    Column("status", Text, nullable=False),
    Column("status_until", DateTime(timezone=True)),
    Column("status_reason", Text),
    Column("status_at", DateTime(timezone=True)),
    Column("day", Date),
    Column("day_count", Integer, nullable=False),
    Column("week", Date),
    Column("week_count", Integer, nullable=False),
    Column("open_leads", Integer, nullable=False),
    Column("claim_day", Date),
    Column("claim_count", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
rr_pointers = Table(
    "rr_pointers",
    metadata,
    Column("team_id", Text, primary_key=True),
    Column("rep_id", Text, primary_key=True),
    Column("pointer", Float, nullable=False),
    Column("assigned", BigInteger, nullable=False),
)
exclusions = Table(
    "exclusions",
    metadata,
    Column("lead_id", Uuid, primary_key=True),
    Column("rep_id", Text, primary_key=True),
    Column("reason", Text, nullable=False),
    Column("until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
company_owners = Table(
    "company_owners",
    metadata,
    Column("company_key", Text, primary_key=True),
    Column("rep_id", Text, nullable=False),
    Column("lead_id", Uuid, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
decisions = Table(
    "decisions",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("lead_id", Uuid, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("assignment_id", Uuid),
    Column("rule_id", Text),
    Column("rule_set_version", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("record", JSONB, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)
rule_sets = Table(
    "rule_sets",
    metadata,
    Column("version", Text, primary_key=True),
    Column("text", Text, nullable=False),
    Column("first_used_at", DateTime(timezone=True), nullable=False),
)


# --- reads ---------------------------------------------------------------------------------------------------


async def lock_leads(conn: AsyncConnection, lead_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """The routed leads among these, locked: one lead's events apply one at a time across instances."""
    ids = sorted(set(lead_ids))
    if not ids:
        return {}
    rows = await fetch_binary(
        conn,
        "SELECT lead_id, status, team_id, owner_rep_id, grade, facts, stage, company_key, rejections,"
        " assignment_id FROM router.leads WHERE lead_id = ANY(%b::uuid[]) ORDER BY lead_id FOR UPDATE",
        [ids],
    )
    return {row.lead_id: row for row in rows}


async def load_board(
    conn: AsyncConnection,
    rep_ids: Iterable[str],
    team_ids: Iterable[str],
    lead_ids: Iterable[uuid.UUID],
    company_keys: Iterable[str],
) -> Board:
    """Lock the reps' state rows (in rep id order: no deadlock between instances) and read what deciding needs."""
    reps = sorted(set(rep_ids))
    board = Board(strict=True)
    if reps:
        await fetch_binary(
            conn,
            "INSERT INTO router.rep_state (rep_id) SELECT unnest(%b::text[]) ON CONFLICT DO NOTHING RETURNING rep_id",
            [reps],
        )
        rows = await fetch_binary(
            conn,
            "SELECT rep_id, status, status_until, day, day_count, week, week_count, open_leads, claim_day, claim_count"
            " FROM router.rep_state WHERE rep_id = ANY(%b::text[]) ORDER BY rep_id FOR UPDATE",
            [reps],
        )
        for r in rows:
            board.loads[r.rep_id] = RepLoad(
                r.rep_id, r.status, r.status_until, r.day, r.day_count, r.week, r.week_count, r.open_leads,
                r.claim_day, r.claim_count,
            )  # fmt: skip
    teams = sorted(set(team_ids))
    if teams:
        rows = await fetch_binary(
            conn, "SELECT team_id, rep_id, pointer FROM router.rr_pointers WHERE team_id = ANY(%b::text[])", [teams]
        )
        board.pointers = {(r.team_id, r.rep_id): r.pointer for r in rows}
    leads_ = sorted(set(lead_ids))
    if leads_:
        rows = await fetch_binary(
            conn,
            "SELECT lead_id, rep_id, reason, until FROM router.exclusions WHERE lead_id = ANY(%b::uuid[])",
            [leads_],
        )
        for r in rows:
            board.exclude(r.lead_id, r.rep_id, Exclusion(r.reason, r.until))
    keys = sorted(set(company_keys))
    if keys:
        rows = await fetch_binary(
            conn, "SELECT company_key, rep_id FROM router.company_owners WHERE company_key = ANY(%b::text[])", [keys]
        )
        board.owners = {r.company_key: r.rep_id for r in rows}
    return board


async def previous_owners(conn: AsyncConnection, lead_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Every rep who had each lead, oldest first."""
    if not lead_ids:
        return {}
    rows = await fetch_binary(
        conn,
        "SELECT lead_id, rep_id, attempt FROM router.assignments WHERE lead_id = ANY(%b::uuid[]) ORDER BY created_at",
        [sorted(set(lead_ids))],
    )
    out: dict[uuid.UUID, list[str]] = {}
    for r in rows:
        out.setdefault(r.lead_id, []).append(r.rep_id)
    return out


async def active_assignment(conn: AsyncConnection, assignment_id: uuid.UUID) -> Any | None:
    rows = await fetch_binary(
        conn,
        "SELECT assignment_id, lead_id, rep_id, team_id, rule_id, status, attempt, strategy, reason"
        " FROM router.assignments WHERE assignment_id = %b",
        [assignment_id],
    )
    return rows[0] if rows else None


async def pooled(conn: AsyncConnection, lead_id: uuid.UUID) -> Any | None:
    rows = await fetch_binary(
        conn, "SELECT lead_id, reason, pooled_at, previous_rep_id FROM router.pool WHERE lead_id = %b", [lead_id]
    )
    return rows[0] if rows else None


# --- writes (deferred: sent with the outbox in one round trip) -----------------------------------------------


def save_board(board: Board, now: datetime) -> list[tuple[str, list[Any]]]:
    """The statements writing back what deciding changed on the board."""
    statements: list[tuple[str, list[Any]]] = []
    dirty = [load for load in board.loads.values() if load.dirty]
    if dirty:
        statements.append(
            (
                (
                    "UPDATE router.rep_state AS s SET day = u.day, day_count = u.day_count, week = u.week,"
                    " week_count = u.week_count, open_leads = u.open_leads, claim_day = u.claim_day,"
                    " claim_count = u.claim_count, updated_at = %b"
                    " FROM unnest(%b::text[], %b::date[], %b::int[], %b::date[], %b::int[], %b::int[], %b::date[],"
                    " %b::int[]) AS u(rep_id, day, day_count, week, week_count, open_leads, claim_day, claim_count)"
                    " WHERE s.rep_id = u.rep_id"
                ),
                [
                    now,
                    [x.rep_id for x in dirty],
                    [x.day for x in dirty],
                    [x.day_count for x in dirty],
                    [x.week for x in dirty],
                    [x.week_count for x in dirty],
                    [x.open_leads for x in dirty],
                    [x.claim_day for x in dirty],
                    [x.claim_count for x in dirty],
                ],
            )
        )
    if board.changed_pointers:
        rows = [
            {"team_id": t, "rep_id": r, "pointer": board.pointers[(t, r)]} for t, r in sorted(board.changed_pointers)
        ]
        statements.append(
            rows_statement(rr_pointers, rows, "ON CONFLICT (team_id, rep_id) DO UPDATE SET pointer = excluded.pointer")
        )
    if board.changed_owners:
        rows = [
            {"company_key": k, "rep_id": rep, "lead_id": lead, "updated_at": now}
            for k, (rep, lead) in sorted(board.changed_owners.items())
        ]
        statements.append(rows_statement(company_owners, rows, _upsert("company_key", rows[0])))
    return statements


def insert_assignments(rows: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
    """New active assignments (the unique index refuses a second active one for a lead: the batch fails)."""
    return rows_statement(assignments, [{**row, "status": "active"} for row in rows])


def close_assignments(rows: Sequence[tuple[uuid.UUID, str]], now: datetime) -> tuple[str, list[Any]]:
    """Close active assignments with a reason (rejected, recycled, released, converted, ...)."""
    return (
        (
            "UPDATE router.assignments AS a SET status = 'closed', close_reason = u.why, closed_at = %b"
            " FROM unnest(%b::uuid[], %b::text[]) AS u(id, why) WHERE a.assignment_id = u.id AND a.status = 'active'"
        ),
        [now, [r[0] for r in rows], [r[1] for r in rows]],
    )


def accept_assignments(ids: Sequence[uuid.UUID], now: datetime) -> tuple[str, list[Any]]:
    return (
        "UPDATE router.assignments SET accepted_at = %b WHERE assignment_id = ANY(%b::uuid[]) AND accepted_at IS NULL",
        [now, list(ids)],
    )


async def first_contacts(conn: AsyncConnection, lead_ids: Sequence[uuid.UUID], now: datetime) -> set[uuid.UUID]:
    """Mark the leads contacted; returns those contacted for the first time (the funnel counts each once)."""
    rows = await fetch_binary(
        conn,
        "UPDATE router.leads SET first_contacted_at = %b WHERE lead_id = ANY(%b::uuid[])"
        " AND first_contacted_at IS NULL RETURNING lead_id",
        [now, sorted(set(lead_ids))],
    )
    return {row.lead_id for row in rows}


def upsert_leads(rows: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
    return rows_statement(leads, rows, _upsert("lead_id", rows[0]))


def insert_decisions(rows: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
    return rows_statement(decisions, rows)


def pool_leads(rows: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
    return rows_statement(pool, rows, _upsert("lead_id", rows[0]))


def unpool(lead_ids: Sequence[uuid.UUID]) -> tuple[str, list[Any]]:
    return "DELETE FROM router.pool WHERE lead_id = ANY(%b::uuid[])", [list(lead_ids)]


def exclude(rows: Sequence[tuple[uuid.UUID, str, str, datetime | None]], now: datetime) -> tuple[str, list[Any]]:
    """(lead, rep, reason, until): the rep may not get (or re-claim) the lead until then (None: for good)."""
    records = [
        {"lead_id": lead, "rep_id": rep, "reason": why, "until": until, "created_at": now}
        for lead, rep, why, until in rows
    ]
    suffix = "ON CONFLICT (lead_id, rep_id) DO UPDATE SET reason = excluded.reason, until = excluded.until"
    return rows_statement(exclusions, records, suffix)


def set_status(rows: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
    """Availability from sales.rep_status.v1; an event older than the one applied is ignored."""
    return rows_statement(
        rep_state,
        [
            {
                "rep_id": r["rep_id"],
                "status": r["status"],
                "status_until": r["until"],
                "status_reason": r["reason"],
                "status_at": r["at"],
            }
            for r in rows
        ],
        _upsert("rep_id", {"status": 0, "status_until": 0, "status_reason": 0, "status_at": 0})
        + " WHERE router.rep_state.status_at IS NULL OR router.rep_state.status_at <= excluded.status_at",
    )


def _upsert(key: str, row: dict[str, Any]) -> str:
    """ON CONFLICT (key) DO UPDATE SET every other column of the row to the new value."""
    return f"ON CONFLICT ({key}) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in row if c != key)


async def remember_rule_set(conn: AsyncConnection, version: str, text: str, now: datetime) -> None:
    await fetch_binary(
        conn,
        "INSERT INTO router.rule_sets (version, text, first_used_at) VALUES (%b, %b, %b)"
        " ON CONFLICT DO NOTHING RETURNING version",
        [version, text, now],
    )


async def pool_listing(  # noqa: PLR0913 -- the listing's filters
    conn: AsyncConnection,
    *,
    now: datetime,
    region: str | None = None,
    grade: str | None = None,
    product: str | None = None,
    min_age_s: float | None = None,
    max_age_s: float | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Pooled leads, oldest first, with what a rep needs to choose (no contact details: those come on claim)."""
    where = ["TRUE"]
    params: list[Any] = []
    if region:
        where.append("(l.facts->>'sales_region' = %b OR l.facts->>'province' = %b OR l.facts->>'city' = %b)")
        params += [region, region, region]
    if grade:
        where.append("l.grade = ANY(%b::text[])")
        params.append([g.strip().upper() for g in grade.split(",") if g.strip()])
    if product:
        where.append("l.facts->'product_interest' ? %b")
        params.append(product)
    if min_age_s is not None:
        where.append("p.pooled_at <= %b")
        params.append(now - timedelta(seconds=min_age_s))
    if max_age_s is not None:
        where.append("p.pooled_at >= %b")
        params.append(now - timedelta(seconds=max_age_s))
    params.append(limit)
    rows = await fetch_binary(
        conn,
        "SELECT p.lead_id, p.reason, p.rule_id, p.pooled_at, p.previous_rep_id, p.rule_set_version, l.grade, l.facts"
        " FROM router.pool p JOIN router.leads l USING (lead_id) WHERE "
        + " AND ".join(where)
        + " ORDER BY p.pooled_at, p.lead_id LIMIT %b",
        params,
    )
    out = []
    for r in rows:
        facts = r.facts or {}
        out.append(
            {
                "lead_id": str(r.lead_id),
                "pooled_at": r.pooled_at.isoformat(),
                "age_s": round((now - r.pooled_at).total_seconds(), 1),
                "reason": r.reason,
                "rule_id": r.rule_id,
                "rule_set_version": r.rule_set_version,
                "previous_rep_id": r.previous_rep_id,
                "grade": r.grade,
                **{k: facts.get(k) for k in POOL_FACTS},
            }
        )
    return out


POOL_FACTS = (
    "temperature", "score", "sales_region", "province", "city", "country", "source", "industry", "size_band",
    "product_interest", "language",
)  # fmt: skip
