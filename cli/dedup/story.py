"""The dedup part of `leadflow explain`: the merge the lead took part in, with its evidence, or the verdict."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.router.database import Connection, has_table
from cli.router.routing_story import when
from shared.runtime.logging import PII_KEYS, mask_value

LEAD_SQL = (
    "SELECT lead_id, source, first_seen_at, seen_at, survivor_id, last_seen_at, sources, times_seen, history_of"
    " FROM dedup.leads WHERE lead_id = %s"
)
MERGE_COLUMNS = (
    "lead_id, surviving_lead_id, merged_at, rule, score, evidence, changed_fields, conflicts, unmerged_at,"
    " unmerged_by, unmerge_reason"
)
MERGED_SQL = f"SELECT {MERGE_COLUMNS} FROM dedup.merges WHERE lead_id = %s"
ABSORBED_SQL = f"SELECT {MERGE_COLUMNS} FROM dedup.merges WHERE surviving_lead_id = %s ORDER BY merged_at, lead_id"
# dedup sends a unique lead's verdict on without keeping it; scoring keeps the lead it scored, verdict included.
VERDICT_SQL = "SELECT convert_from(payload, 'UTF8')::jsonb -> 'dedup' AS verdict FROM scoring.leads WHERE lead_id = %s"


def load(conn: Connection, lead_id: uuid.UUID) -> dict[str, Any] | None:
    """The rows dedup keeps about the lead; `survivor_id` is the id later services know it by. None: never seen."""
    if not has_table(conn, "dedup.leads"):
        return None
    lead = conn.execute(LEAD_SQL, [lead_id]).fetchone()
    merged = conn.execute(MERGED_SQL, [lead_id]).fetchone()
    absorbed = [masked_merge(row) for row in conn.execute(ABSORBED_SQL, [lead_id]).fetchall()]
    if lead is None and merged is None and not absorbed:
        return None
    survivor = survivor_of(lead, merged) or lead_id
    verdict = None
    if survivor == lead_id and has_table(conn, "scoring.leads"):
        row = conn.execute(VERDICT_SQL, [lead_id]).fetchone()
        verdict = row["verdict"] if row else None
    return {
        "lead": lead,
        "survivor_id": survivor,
        "merged_into": masked_merge(merged) if merged else None,
        "absorbed": absorbed,
        "verdict": verdict,
    }


def resolve(conn: Connection, lead_id: uuid.UUID) -> uuid.UUID:
    """The id later services know the lead by: its survivor's when it was merged away, else its own."""
    if not has_table(conn, "dedup.leads"):
        return lead_id
    lead = conn.execute(LEAD_SQL, [lead_id]).fetchone()
    merged = None if lead is not None else conn.execute(MERGED_SQL, [lead_id]).fetchone()
    return survivor_of(lead, merged) or lead_id


def survivor_of(lead: Mapping[str, Any] | None, merge: Mapping[str, Any] | None) -> uuid.UUID | None:
    """One hop is enough: dedup merges a newcomer into a survivor, and a survivor is never merged itself."""
    if lead is not None:
        return uuid.UUID(str(lead["survivor_id"]))
    if merge is not None and merge.get("unmerged_at") is None:
        return uuid.UUID(str(merge["surviving_lead_id"]))
    return None


def masked_merge(row: Mapping[str, Any]) -> dict[str, Any]:
    """A merge row whose changed and conflicting values (the person's details) are masked."""
    return {
        **row,
        "changed_fields": mask_fields(row.get("changed_fields")),
        "conflicts": mask_fields(row.get("conflicts")),
    }


def mask_fields(fields: Mapping[str, Any] | None) -> dict[str, Any]:
    """`section.name` → value with a person's name, phone, email or chat id hidden, other values pattern-masked."""
    return {
        name: "***" if name.rsplit(".", 1)[-1] in PII_KEYS else mask_value(value)
        for name, value in (fields or {}).items()
    }


def render(console: Console, story: Mapping[str, Any]) -> None:
    console.rule("dedup")
    lead: Mapping[str, Any] | None = story.get("lead")
    if lead is not None:
        console.print(
            f"decided {when(lead['first_seen_at'])} · captured {when(lead.get('seen_at'))} · source"
            f" {escape(str(lead.get('source') or '-'))}"
        )
        if lead.get("sources"):
            console.print(
                f"the person: seen {lead['times_seen']} time(s) via {escape(', '.join(lead['sources']))}"
                f" · last {when(lead.get('last_seen_at'))}"
            )
        if lead.get("history_of"):
            console.print(f"history of {lead['history_of']}: an earlier lead of this person, outside the merge window")
    merge: Mapping[str, Any] | None = story.get("merged_into")
    if merge is not None:
        render_merge(console, merge, f"merged into {merge['surviving_lead_id']}")
    for number, absorbed in enumerate(story.get("absorbed") or [], start=1):
        render_merge(console, absorbed, f"lead {absorbed['lead_id']} merged into this one ({number})")
    if merge is None or merge.get("unmerged_at") is not None:  # unmerged: sent on as new, with its own verdict
        render_verdict(console, story.get("verdict"))


def render_merge(console: Console, merge: Mapping[str, Any], title: str) -> None:
    console.print()
    score = "-" if merge.get("score") is None else f"{merge['score']:g}"
    console.print(
        f"[bold]{escape(title)}[/bold] · {when(merge['merged_at'])} · rule {escape(str(merge.get('rule') or '-'))}"
        f" · score {score}"
    )
    if merge.get("evidence"):
        console.print(evidence_table(merge["evidence"]))
    for label, key in (("changed fields", "changed_fields"), ("kept aside (conflicting)", "conflicts")):
        if fields := merge.get(key):
            console.print(escape(f"  {label}: " + ", ".join(f"{k}={v}" for k, v in fields.items())))
    if merge.get("unmerged_at"):
        why = f": {merge['unmerge_reason']}" if merge.get("unmerge_reason") else ""
        console.print(escape(f"  undone {when(merge['unmerged_at'])} by {merge.get('unmerged_by') or '-'}{why}"))
    else:
        console.print("  not undone")


def evidence_table(evidence: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title="  evidence", title_justify="left", box=None, padding=(0, 2, 0, 2))
    for column in ("rule", "keys", "similarity", "weight"):
        table.add_column(column, justify="right" if column in {"similarity", "weight"} else "left")
    for e in evidence:
        weight = e.get("weight")
        table.add_row(
            escape(str(e.get("rule"))),
            escape(", ".join(e.get("keys") or [])),
            f"{float(e.get('score', 0)):.2f}",
            "-" if weight is None else f"{float(weight):+g}",
        )
    return table


def render_verdict(console: Console, verdict: Mapping[str, Any] | None) -> None:
    if verdict is None:
        console.print("verdict: not kept (dedup sends it on with the lead; scoring keeps it once the lead is scored)")
        return
    thresholds = verdict.get("thresholds") or {}
    limits = ", ".join(f"{k} {v:g}" for k, v in thresholds.items()) or "-"
    console.print(
        f"verdict [bold]{escape(str(verdict.get('verdict')))}[/bold] · rule {escape(str(verdict.get('rule') or '-'))}"
        f" · thresholds {escape(limits)} (kept by scoring with the lead)"
    )
    if candidates := verdict.get("candidates"):
        table = Table(title="  best candidates below the threshold", title_justify="left", box=None)
        for column in ("lead", "rule", "score", "in window"):
            table.add_column(column)
        for c in candidates:
            in_window = "-" if c.get("in_window") is None else ("yes" if c["in_window"] else "no")
            table.add_row(escape(str(c.get("lead_id"))), escape(str(c.get("rule"))), f"{c.get('score')}", in_window)
        console.print(table)
    else:
        console.print("  no candidate shared a key with it")
    if evidence := verdict.get("evidence"):
        console.print(evidence_table(evidence))
