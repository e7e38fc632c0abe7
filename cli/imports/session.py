"""The progress bar, and the --dry-run session (map and check locally, print masked previews)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.imports.client import ItemResult
from cli.imports.report import print_columns, print_preview, print_summary
from cli.imports.rows import Row, Table
from cli.imports.runner import Settings, Tally, check_locally, run_import

PREVIEW_ROWS = 3
HEADER_SAMPLE = 100  # JSONL has no header row: the columns of the first rows stand in for it


@contextmanager
def progress_bar(console: Console, total: int | None, label: str = "importing") -> Iterator[Callable[[int], None]]:
    """Rows processed out of `total` (the count is approximate for CSV: quoted cells may span lines)."""
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("rows", total=total)
        done = 0

        def advance(count: int) -> None:
            nonlocal done
            done += count
            # The line count can overshoot the rows (blank lines); never let the bar pass its total.
            progress.update(task, completed=done, total=None if total is None else max(total, done))

        yield advance
        progress.update(task, total=done, completed=done)


def dry_run_session(console: Console, table: Table, settings: Settings) -> None:
    """Map every row and check it locally; print the column mapping, masked previews and the summary."""
    seen: dict[str, None] = dict.fromkeys(table.headers)
    previews: list[tuple[int, dict[str, Any]]] = []

    def check(rows: list[Row], submissions: list[dict[str, Any]]) -> list[ItemResult]:
        room = max(PREVIEW_ROWS - len(previews), 0)
        previews.extend((row.number, submission) for row, submission in zip(rows[:room], submissions, strict=False))
        return check_locally(submissions)

    tally = Tally()
    rows = _watch(table.rows, seen)
    with progress_bar(Console(stderr=True), table.total, "checking") as advance:
        run_import(rows, settings, check, tally, advance)
    print_columns(console, list(seen), settings.columns)
    print_preview(console, previews)
    print_summary(console, tally, settings.label, dry_run=True)


def _watch(rows: Iterable[Row], seen: dict[str, None]) -> Iterator[Row]:
    """Pass rows through, noting the columns of the first ones."""
    for index, row in enumerate(rows):
        if index < HEADER_SAMPLE and row.problem is None:
            seen.update(dict.fromkeys(row.cells))
        yield row
