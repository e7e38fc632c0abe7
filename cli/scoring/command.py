"""`leadflow scoring-eval FILE.csv --label COLUMN`: how well scoring ranks real leads, learning as outcomes arrive."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.imports.rows import ReadError
from cli.scoring.evaluation import ADAPTERS, LabelError, Report, detect_adapter, read_rows, replay, to_examples
from services.scoring.learning import LearningSettings
from services.scoring.rules import PointsModel, RulesError, load_points_model
from shared.runtime.settings import REPO_ROOT

console = Console()
DEFAULT_RULES = REPO_ROOT / "deploy" / "scoring" / "rules.yaml"


def scoring_eval(  # noqa: PLR0913, PLR0917 -- typer maps one parameter to each option
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a CSV of leads with their outcome")],
    label: Annotated[str, typer.Option("--label", help="the outcome column: yes/no, true/false or 1/0")],
    sep: Annotated[str | None, typer.Option("--sep", help="delimiter (default: detected from the header)")] = None,
    drop: Annotated[list[str] | None, typer.Option("--drop", help="a column never to use (repeatable)")] = None,
    delay: Annotated[
        int, typer.Option(min=0, help="rows scored between a lead and the learning of its outcome")
    ] = 1000,
    rules: Annotated[Path, typer.Option("--rules", help="the points model")] = DEFAULT_RULES,
    adapter: Annotated[str | None, typer.Option(help=f"column mapping: {', '.join(ADAPTERS)} or none")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="write the score of every row")] = None,
) -> None:
    """Replay a labelled table as leads in file order through scoring, and print how well it ranked them."""
    try:
        points_model = load_points_model(rules)
        rows = read_rows(file, sep)
    except (RulesError, ReadError, OSError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if not rows or label not in rows[0]:
        console.print(f"[red]no column {label!r}[/red] (columns: {', '.join(rows[0] if rows else [])})")
        raise typer.Exit(2)
    chosen = _adapter(adapter, rows[0])
    try:
        examples, unreadable = to_examples(rows, label, drop or (), ADAPTERS.get(chosen or ""))
    except LabelError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    report = replay(examples, points_model, delay=delay, settings=LearningSettings())
    report.unreadable = unreadable
    _print_report(file, report, points_model, chosen, delay)
    if output is not None:
        _write_scores(output, [e.row for e in examples], report)
        console.print(f"scores written to {output}")


def _adapter(name: str | None, headers: dict[str, str]) -> str | None:
    if name == "none":
        return None
    if name is None:
        found = detect_adapter(headers)
        return found.name if found else None
    if name not in ADAPTERS:
        console.print(f"[red]unknown adapter {name!r}[/red] (known: {', '.join(ADAPTERS)}, none)")
        raise typer.Exit(2)
    return name


def _print_report(file: Path, r: Report, rules: PointsModel, adapter: str | None, delay: int) -> None:
    grades = rules.spec.grades
    table = Table(title=f"scoring-eval {file.name}", show_header=False)
    for name, value in (
        ("rows", f"{r.rows:,}" + (f" ({r.unreadable} unreadable)" if r.unreadable else "")),
        ("positives", f"{r.positives:,} ({r.positives / max(r.rows, 1):.1%})"),
        ("adapter / delay", f"{adapter or 'none'} / outcomes learned {delay:,} rows later"),
        ("rules", f"{rules.version}: A ≥ {grades.A:g}, B ≥ {grades.B:g}, C ≥ {grades.C:g}"),
        ("AUC last 20%", f"{r.auc_last:.4f}"),
        ("AUC all scored rows", f"{r.auc_all:.4f}"),
        ("lift top 10%", f"{r.lift_top10:.2f}"),
        ("retrains / promoted / retired", f"{r.retrains} / {len(r.promoted)} / {len(r.retired)}"),
        ("µs per row", f"{r.micros_per_row:,.0f} (scoring {r.scoring_micros:,.0f}, learning {r.learning_micros:,.0f})"),
    ):
        table.add_row(name, value)
    console.print(table)
    grade_table = Table(title="conversion per grade")
    for column in ("grade", "leads", "converted", "rate"):
        grade_table.add_column(column, justify="left" if column == "grade" else "right")
    for grade, (leads, converted, rate) in r.per_grade().items():
        grade_table.add_row(grade, f"{leads:,}", f"{converted:,}", f"{rate:.1%}" if leads else "-")
    console.print(grade_table)
    if r.promoted:
        console.print("promoted: " + ", ".join(r.promoted))


def _write_scores(path: Path, rows: list[int], r: Report) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "label", "rule_points", "model_points", "score", "grade", "model_version"])
        for i, row in enumerate(rows):
            model = r.model_points[i]
            writer.writerow(
                [row, int(r.labels[i]), r.rule_points[i], "" if model is None else round(model, 2), r.scores[i],
                 r.grades[i], r.versions[i]]
            )  # fmt: skip
