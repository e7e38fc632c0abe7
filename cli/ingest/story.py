"""The ingest part of `leadflow explain`: how the lead came in, how good its data was, rejects under its key."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.router.database import Connection, has_table
from cli.router.routing_story import when
from shared.runtime.logging import mask_text

SUBMISSIONS_SQL = (
    "SELECT source, external_id, times_seen, first_seen_at, last_seen_at FROM ingest.submissions"
    " WHERE lead_id = %s ORDER BY first_seen_at, source, external_id"
)
REJECTS_SQL = (
    "SELECT r.event_id, r.source, r.external_id, r.errors, r.rejected_at FROM ingest.rejects r"
    " JOIN ingest.submissions s ON s.source = r.source AND s.external_id = r.external_id"
    " WHERE s.lead_id = %s ORDER BY r.rejected_at, r.event_id"
)
# ingest keeps no quality of its own: the ingested payload survives only in the copies later services keep.
# Only these JSON members are read, so the person's details never leave the database.
COPIES = (
    (
        "dedup.merges",
        "dedup (with the merge)",
        (
            "SELECT payload -> 'quality' AS quality, payload ->> 'captured_at' AS captured_at FROM dedup.merges"
            " WHERE lead_id = %s"
        ),
    ),
    (
        "scoring.leads",
        "scoring (with the scored lead)",
        (
            "SELECT convert_from(payload, 'UTF8')::jsonb -> 'quality' AS quality,"
            " convert_from(payload, 'UTF8')::jsonb ->> 'captured_at' AS captured_at FROM scoring.leads"
            " WHERE lead_id = %s"
        ),
    ),
)


def load(conn: Connection, lead_id: uuid.UUID) -> dict[str, Any] | None:
    """The rows ingest keeps about the lead, and its data quality from a later service's copy; None: none is there."""
    submissions, rejects = [], []
    if has_table(conn, "ingest.submissions"):
        submissions = [_masked_key(row) for row in conn.execute(SUBMISSIONS_SQL, [lead_id]).fetchall()]
        rejects = [_masked_reject(row) for row in conn.execute(REJECTS_SQL, [lead_id]).fetchall()]
    copy = quality_copy(conn, lead_id)
    if not submissions and not rejects and copy is None:
        return None
    return {"submissions": submissions, "rejects": rejects, **(copy or {})}


def quality_copy(conn: Connection, lead_id: uuid.UUID) -> dict[str, Any] | None:
    for table, kept_by, sql in COPIES:
        if not has_table(conn, table):
            continue
        row = conn.execute(sql, [lead_id]).fetchone()
        if row is not None and row["quality"] is not None:
            return {"quality": row["quality"], "captured_at": row["captured_at"], "quality_kept_by": kept_by}
    return None


def _masked_key(row: Mapping[str, Any]) -> dict[str, Any]:
    # Some channels use an email or a phone number as their external id.
    return {**row, "external_id": mask_text(row["external_id"]) if row.get("external_id") else None}


def _masked_reject(row: Mapping[str, Any]) -> dict[str, Any]:
    errors = [{**e, "message": mask_text(str(e.get("message", "")))} for e in row.get("errors") or []]
    return {**_masked_key(row), "errors": errors}


def render(console: Console, story: Mapping[str, Any]) -> None:
    console.rule("ingest")
    submissions: Sequence[Mapping[str, Any]] = story.get("submissions") or []
    if submissions:
        console.print(submissions_table(submissions))
    else:
        console.print(
            "no submission row: ingest keeps one per source and external id, and this lead came without an external id"
        )
    if story.get("captured_at"):
        inferred = "captured_at" in ((story.get("quality") or {}).get("inferred") or [])
        said = "the channel gave no time: ingest's own" if inferred else "as the channel said"
        console.print(f"captured {escape(str(story['captured_at']))} ({said})")
    render_quality(console, story.get("quality"), story.get("quality_kept_by"))
    render_rejects(console, story.get("rejects") or [])


def submissions_table(submissions: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title="how it came in", title_justify="left", box=None, padding=(0, 2, 0, 2))
    for column in ("source", "external id", "times seen", "first seen", "last seen"):
        table.add_column(column, overflow="fold")
    for s in submissions:
        table.add_row(
            escape(str(s["source"])),
            escape(str(s.get("external_id") or "-")),
            str(s["times_seen"]),
            when(s["first_seen_at"]),
            when(s["last_seen_at"]),
        )
    return table


def render_quality(console: Console, quality: Mapping[str, Any] | None, kept_by: str | None) -> None:
    if not quality:
        console.print("quality: not kept anywhere for this lead (ingest stores none of its own)")
        return
    console.print(
        f"quality {quality.get('score', '-')} · present {_names(quality.get('present'))}"
        f" · invalid {_names(quality.get('invalid'))} · flags {_names(quality.get('flags'))}"
        f" · inferred {_names(quality.get('inferred'))}"
    )
    console.print(f"  (ingest stores no quality: this is the copy kept by {escape(str(kept_by))})")


def render_rejects(console: Console, rejects: Sequence[Mapping[str, Any]]) -> None:
    if not rejects:
        console.print("rejects under this key: none")
        return
    console.print(f"rejects under this key: {len(rejects)}")
    for reject in rejects:
        errors = "; ".join(f"{e.get('field')}: {e.get('code')} ({e.get('message')})" for e in reject["errors"])
        console.print(escape(f"  {when(reject['rejected_at'])} · {reject['source']} · {errors}"))


def _names(values: Any) -> str:
    return escape(", ".join(str(v) for v in values)) if values else "none"
