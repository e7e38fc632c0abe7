"""`leadflow rules simulate --rules NEW.yaml`: how recent leads would have been distributed under other rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.router.database import Connection, read_only
from cli.router.explain import to_json
from cli.router.simulation import NURTURE, POOL, Recorded, compare
from services.router.rules import load_rule_set
from shared.config.durations import parse_duration

app = typer.Typer(help="Routing rules: try a rule set on recorded leads before it goes live.", no_args_is_help=True)
console = Console()

# Each lead's first new_lead decision, where it went then (the assignment's rep, or pooled / deferred).
RECORDED_SQL = """
SELECT f.lead_id, l.facts, f.decided_at, f.outcome, a.team_id, a.rep_id, f.record
FROM (
    SELECT DISTINCT ON (lead_id) lead_id, decided_at, outcome, assignment_id, record
    FROM router.decisions WHERE reason = 'new_lead' ORDER BY lead_id, decided_at, id
) AS f
JOIN router.leads AS l USING (lead_id)
LEFT JOIN router.assignments AS a ON a.assignment_id = f.assignment_id
WHERE f.decided_at >= %s
ORDER BY f.decided_at, f.lead_id
"""


def _since(value: str) -> str:
    try:
        parse_duration(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


@app.command("simulate")
def simulate(
    rules_path: Annotated[Path, typer.Option("--rules", dir_okay=False, help="the candidate rule set (YAML)")],
    since: Annotated[
        str, typer.Option(help="leads first routed this long ago or later: 2h, 7d", callback=_since)
    ] = "7d",
    database_url: Annotated[str | None, typer.Option("--database-url", help="default: DATABASE_URL")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the comparison as JSON")] = False,  # noqa: FBT002 -- a flag
) -> None:
    """Replay recorded leads through a candidate rule set, read-only, and compare where they would have gone."""
    try:
        rules = load_rule_set(rules_path)
    except (ValueError, OSError) as exc:  # the loader's errors name the file and the line
        console.print(f"[red]refused[/red]: {escape(str(exc))}")
        raise typer.Exit(2) from None
    cutoff = datetime.now(UTC) - parse_duration(since)
    with read_only(database_url) as conn:
        recorded = read_recorded(conn, cutoff)
    report = compare(recorded, rules) | {"since": since, "from": cutoff, "rules_file": str(rules_path)}
    if as_json:
        typer.echo(to_json(report))
    else:
        print_report(console, report)


def read_recorded(conn: Connection, cutoff: datetime) -> list[Recorded]:
    return [_recorded(row) for row in conn.execute(RECORDED_SQL, [cutoff])]


def _recorded(row: Mapping[str, Any]) -> Recorded:
    rep, team = row["rep_id"], row["team_id"]
    if row["outcome"] == "assigned" and rep is None:  # no ledger row: the record names whom it chose
        candidates = (row["record"] or {}).get("candidates") or []
        chosen: Mapping[str, Any] = next((c for c in candidates if c.get("selected")), {})
        rep, team = chosen.get("rep_id"), chosen.get("team_id")
    return Recorded(row["lead_id"], row["facts"] or {}, row["decided_at"], row["outcome"], team, rep)


def print_report(out: Console, report: Mapping[str, Any]) -> None:
    out.print(
        f"[bold]rules simulate[/bold] {escape(str(report.get('rules_file', '')))}"
        f" (version {escape(str(report['rule_set_version']))}) on {report['leads']} lead(s)"
        + (f" first routed in the last {report['since']}" if report.get("since") else "")
    )
    for warning in report.get("warnings") or []:
        out.print(f"[yellow]warning[/yellow]: {escape(str(warning))}")
    out.print(distribution_table(report))
    out.print(f"destination changed for {report['changed']} of {report['leads']} lead(s)")
    for move in (report.get("moves") or [])[:10]:
        out.print(escape(f"  {move['from']} → {move['to']}: {move['leads']}"))
    out.print(f"[dim]{escape(str(report.get('not_replayed', '')))}[/dim]")


def distribution_table(report: Mapping[str, Any]) -> Table:
    table = Table(title="actual vs simulated distribution")
    table.add_column("team")
    table.add_column("rep")
    for column in ("actual", "simulated", "delta", "actual %", "simulated %"):
        table.add_column(column, justify="right")
    teams: Sequence[Mapping[str, Any]] = report.get("teams") or []
    for team in teams:
        name = team["team"] or "-"
        for rep in report.get("reps") or []:
            if rep["team"] == team["team"]:
                table.add_row(escape(name), escape(rep["rep"]), *_cells(rep))
        table.add_row(escape(name), "[bold]team total[/bold]", *_cells(team), end_section=True)
    table.add_row("-", "pool (公海)", *_cells(report[POOL]))
    table.add_row("-", "nurture (deferred)", *_cells(report[NURTURE]), end_section=True)
    totals = report["totals"]
    full = "100.0" if totals["actual"] else "0.0"
    table.add_row("[bold]total[/bold]", "", str(totals["actual"]), str(totals["simulated"]), "", *[full] * 2)
    return table


def _cells(counts: Mapping[str, Any]) -> list[str]:
    delta = counts["delta"]
    shown = f"[green]+{delta}[/green]" if delta > 0 else (f"[red]{delta}[/red]" if delta < 0 else "0")
    return [
        str(counts["actual"]),
        str(counts["simulated"]),
        shown,
        f"{counts['actual_share']:.1f}",
        f"{counts['simulated_share']:.1f}",
    ]
