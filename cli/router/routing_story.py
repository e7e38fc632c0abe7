"""The routing part of `leadflow explain`: the lead's state in the router, every decision record, the ledger."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.router.database import Connection

LEAD_SQL = (
    "SELECT lead_id, status, team_id, owner_rep_id, grade, stage, rejections, assignment_id, routed_at, updated_at"
    " FROM router.leads WHERE lead_id = %s"
)
POOL_SQL = "SELECT reason, rule_id, pooled_at, previous_rep_id FROM router.pool WHERE lead_id = %s"
DECISIONS_SQL = (
    "SELECT id, decided_at, outcome, reason, rule_id, rule_set_version, assignment_id, record"
    " FROM router.decisions WHERE lead_id = %s ORDER BY decided_at, id"
)
ASSIGNMENTS_SQL = (
    "SELECT assignment_id, rep_id, team_id, rule_id, strategy, attempt, reason, status, created_at, accepted_at,"
    " closed_at, close_reason FROM router.assignments WHERE lead_id = %s ORDER BY created_at, assignment_id"
)


def load(conn: Connection, lead_id: uuid.UUID) -> dict[str, Any] | None:
    """The router's rows about the lead; None when the router never saw it."""
    lead = conn.execute(LEAD_SQL, [lead_id]).fetchone()
    decisions = conn.execute(DECISIONS_SQL, [lead_id]).fetchall()
    assignments = conn.execute(ASSIGNMENTS_SQL, [lead_id]).fetchall()
    if lead is None and not decisions and not assignments:
        return None
    pool = conn.execute(POOL_SQL, [lead_id]).fetchone()
    return {"lead": lead, "pool": pool, "decisions": decisions, "assignments": assignments}


def render(console: Console, story: Mapping[str, Any]) -> None:
    console.rule("routing")
    render_state(console, story.get("lead"), story.get("pool"))
    decisions: Sequence[Mapping[str, Any]] = story.get("decisions") or []
    for number, decision in enumerate(decisions, start=1):
        render_decision(console, decision, number, len(decisions))
    if not decisions:
        console.print("no routing decision recorded")
    render_ledger(console, story.get("assignments") or [])


def render_state(console: Console, lead: Mapping[str, Any] | None, pool: Mapping[str, Any] | None) -> None:
    if lead is None:
        console.print("[yellow]no row in router.leads[/yellow]: decisions only")
        return
    owner = f"{lead['owner_rep_id']} (team {lead['team_id']})" if lead.get("owner_rep_id") else "nobody"
    console.print(
        f"now [bold]{escape(str(lead['status']))}[/bold] · owner {escape(owner)} · stage {escape(str(lead['stage']))}"
        f" · grade {lead.get('grade') or '-'} · rejections {lead.get('rejections', 0)}"
    )
    console.print(f"routed {when(lead.get('routed_at'))} · updated {when(lead.get('updated_at'))}")
    if pool is not None:
        previous = f", previously {pool['previous_rep_id']}" if pool.get("previous_rep_id") else ""
        console.print(escape(f"in the pool since {when(pool['pooled_at'])}: {pool['reason']}{previous}"))


def render_decision(console: Console, row: Mapping[str, Any], number: int, count: int) -> None:
    record: Mapping[str, Any] = row.get("record") or {}
    rule = row.get("rule_id") or record.get("rule_id") or "-"
    console.print()
    console.print(
        f"[bold]decision {number} of {count}[/bold] · {when(row['decided_at'])} · {escape(str(row['reason']))}"
        f" → [bold]{escape(str(row['outcome']))}[/bold] · rule {escape(str(rule))}"
        f" · rules {escape(str(row['rule_set_version']))}"
        + (f" · stage {escape(str(record['stage']))}" if record.get("stage") else "")
    )
    if record.get("explanation"):
        console.print("  " + escape(str(record["explanation"])))
    if checked := record.get("rules_checked"):
        console.print(rules_table(checked))
    for step in record.get("path") or []:
        console.print(escape(f"  fallback: {step}"))
    if candidates := record.get("candidates"):
        console.print(candidates_table(candidates))


def rules_table(checked: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title="rules checked, in order", title_justify="left", box=None, padding=(0, 2, 0, 2))
    for column in ("rule", "matched", "why"):
        table.add_column(column, overflow="fold")
    for check in checked:
        table.add_row(
            escape(str(check.get("rule_id"))),
            "yes" if check.get("matched") else "no",
            escape(str(check.get("why", ""))),
        )
    return table


def candidates_table(candidates: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title="candidate reps", title_justify="left", box=None, padding=(0, 2, 0, 2))
    for column in ("team", "rep", "pointer", "open leads", "verdict", "why"):
        table.add_column(column, justify="right" if column in {"pointer", "open leads"} else "left", overflow="fold")
    for c in candidates:
        pointer = c.get("pointer")
        table.add_row(
            escape(str(c.get("team_id") or "-")),
            escape(str(c.get("rep_id"))),
            "-" if pointer is None else f"{pointer:.3f}",
            "-" if c.get("open_leads") is None else str(c["open_leads"]),
            "[green]selected[/green]" if c.get("selected") else f"passed over ({escape(str(c.get('code') or '-'))})",
            escape(str(c.get("reason", ""))),
        )
    return table


def render_ledger(console: Console, assignments: Sequence[Mapping[str, Any]]) -> None:
    console.print()
    if not assignments:
        console.print("assignments: none")
        return
    table = Table(title="assignments (the ledger)", title_justify="left")
    for column in ("created", "rep", "team", "rule", "attempt", "reason", "status", "close reason", "accepted"):
        table.add_column(column, overflow="fold")
    for a in assignments:
        closed = f"{a['close_reason']} ({when(a.get('closed_at'))})" if a.get("close_reason") else "-"
        table.add_row(
            when(a.get("created_at")),
            escape(str(a["rep_id"])),
            escape(str(a["team_id"])),
            escape(str(a["rule_id"] or "-")),
            str(a.get("attempt", "")),
            escape(str(a.get("reason", ""))),
            escape(str(a["status"])),
            escape(closed),
            when(a.get("accepted_at")),
        )
    console.print(table)


def when(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
