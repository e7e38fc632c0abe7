"""What `leadflow import` prints: counts and reasons only, and a masked preview for --dry-run (no PII)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from cli.imports.mapping import ColumnMap
from cli.imports.runner import Tally

# Values safe to show in a preview: none of them names or reaches a person.
SHOWN_FIELDS = frozenset(
    {"source", "campaign", "captured_at", "product_interest", "company.industry", "company.employees"}
    | {"company.country", "company.region", "company.city", "consent.marketing", "consent.basis"}
    | {"consent.captured_at", "utm.source", "utm.medium", "utm.campaign", "utm.term", "utm.content"}
)
GENERATED_ID_PREFIX = "row-"  # a content hash: shows nothing of the row
MASK = "***"


def masked(submission: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The submission with every value that could identify a person replaced by `***`."""
    out: dict[str, Any] = {}
    for key, value in submission.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out[key] = masked(value, f"{path}.")
        elif path in SHOWN_FIELDS or (path == "external_id" and str(value).startswith(GENERATED_ID_PREFIX)):
            out[key] = value
        else:
            out[key] = MASK
    return out


def print_preview(console: Console, previews: list[tuple[int, dict[str, Any]]]) -> None:
    """The first submissions as they would be sent, masked."""
    for number, submission in previews:
        line = f"row {number}: {orjson.dumps(masked(submission)).decode()}"
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def print_columns(console: Console, headers: list[str], columns: ColumnMap) -> None:
    """Which field each column fills (header names and field names only)."""
    table = Table("column", "goes to", title="column mapping", title_justify="left")
    for header in headers:
        target = columns.resolve(header)
        where = {"field": target.name, "attribute": f"attributes[{target.name!r}]", "ignore": "(ignored)"}
        table.add_row(header, where[target.kind])
    console.print(table)


def print_summary(console: Console, tally: Tally, title: str, *, dry_run: bool) -> None:
    """Rows read, accepted, resubmitted, rejected, and the rejections by reason (counts only)."""
    heading = f"{title} (dry run: nothing sent)" if dry_run else title
    console.print(heading, style="bold", markup=False, highlight=False, soft_wrap=True)
    table = Table(show_header=False)
    table.add_column(justify="left")
    table.add_column(justify="right")
    table.add_row("rows read", str(tally.rows))
    if dry_run:
        table.add_row("would be sent", str(tally.accepted))
    else:
        table.add_row("accepted", str(tally.accepted))
        table.add_row("resubmitted", str(tally.resubmitted))
    table.add_row("rejected", str(tally.rejected), style="yellow" if tally.rejected else None)
    for reason, count in sorted(tally.reasons.items(), key=lambda item: (-item[1], item[0])):
        table.add_row(f"  {reason}", str(count))
    console.print(table)
