"""`leadflow import FILE --source NAME`: post a CSV, JSONL or XLSX file of leads to the ingest batch API."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console

from cli.imports.client import DEFAULT_URL, MAX_BATCH, ApiError, IngestClient
from cli.imports.mapping import MappingError, build_column_map
from cli.imports.readers import Format, detect_format, open_table
from cli.imports.rejects import RejectSink, default_rejected_path
from cli.imports.report import print_summary
from cli.imports.rows import ReadError, Table
from cli.imports.runner import Settings, Tally, run_import
from cli.imports.session import dry_run_session, progress_bar

EXIT_FAILED = 1  # transport or auth failure: the import stopped part-way
EXIT_USAGE = 2  # unreadable file, unknown format, bad option

FileArg = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV/TXT/TSV, JSONL/NDJSON or XLSX/XLSM.")
]
SourceOpt = Annotated[str, typer.Option("--source", help="Channel id of these leads (the API key's channel).")]
ApiKeyOpt = Annotated[
    str | None, typer.Option("--api-key", envvar="LEADFLOW_API_KEY", help="The channel's ingest API key.")
]
UrlOpt = Annotated[str, typer.Option("--url", envvar="LEADFLOW_INGEST_URL", help="Base URL of the ingest service.")]
FormatOpt = Annotated[Format | None, typer.Option("--format", help="Override the format the extension implies.")]
EncodingOpt = Annotated[
    str | None,
    typer.Option("--encoding", help="CSV/JSONL text encoding (default: UTF-8 with or without BOM, else GBK)."),
]
SheetOpt = Annotated[str | None, typer.Option("--sheet", help="XLSX sheet to read (default: the first).")]
MappingOpt = Annotated[
    Path | None,
    typer.Option("--mapping", exists=True, dir_okay=False, help="YAML dict: column header -> field path, or null."),
]
MapOpt = Annotated[
    list[str] | None, typer.Option("--map", help='Map one column, e.g. --map "手机号=person.phone" (repeatable).')
]
TzOpt = Annotated[str, typer.Option("--tz", help="IANA time zone for times without an offset.")]
BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, max=MAX_BATCH, help="Leads per request.")]
RejectedOpt = Annotated[
    Path | None, typer.Option("--rejected-file", dir_okay=False, help="Default: <file stem>.rejected.csv next to FILE.")
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Map and check locally, send nothing, show masked rows.")]


def import_file(  # noqa: PLR0913 - typer maps one parameter to each command-line option
    file: FileArg,
    *,
    source: SourceOpt,
    api_key: ApiKeyOpt = None,
    url: UrlOpt = DEFAULT_URL,
    fmt: FormatOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    mapping: MappingOpt = None,
    map_: MapOpt = None,
    tz: TzOpt = "UTC",
    batch_size: BatchOpt = 500,
    rejected_file: RejectedOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Import leads from a file: map columns, post in batches, write rejected rows to a CSV to fix and re-import.

    Exit 0: the whole file was processed, even with rejected rows.

    Exit 1: the API refused the key or the batch, or could not be reached.

    Exit 2: a usage error (unreadable file, unknown format, bad option).
    """
    console, errors = Console(), Console(stderr=True)
    key = (api_key or "").strip()
    try:
        settings = Settings(
            source.strip(), build_column_map(mapping, map_ or []), parse_zone(tz), batch_size, file.name
        )
        target = rejected_file or default_rejected_path(file)
        _check_usage(settings, file, target, key, dry_run=dry_run)
        with open_table(file, detect_format(file, fmt), encoding, sheet) as table:
            if dry_run:
                dry_run_session(console, table, settings)
                return
            with IngestClient(url, key) as client:
                code = _send(console, table, settings, client, target)
    except (UsageError, ReadError, MappingError, csv.Error) as exc:
        errors.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from exc
    if code:
        raise typer.Exit(code)


class UsageError(ValueError):
    """An option that cannot work."""


def _check_usage(settings: Settings, file: Path, target: Path, api_key: str, *, dry_run: bool) -> None:
    """Refuse before anything is sent what would fail later (no key, nowhere to write the rejected rows)."""
    if not settings.source:
        raise UsageError("--source must not be empty")
    if dry_run:
        return
    if not api_key:
        raise UsageError("no API key: pass --api-key or set LEADFLOW_API_KEY")
    if target.resolve() == file.resolve():
        raise UsageError("--rejected-file must not be the input file")
    if target.parent.is_dir() and not os.access(target.parent, os.W_OK):
        raise UsageError(f"cannot write the rejected rows to {target.parent}: pass --rejected-file")


def parse_zone(name: str) -> ZoneInfo:
    """--tz as a time zone; a usage error when it is not one (publish parses it the same way)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"--tz {name!r} is not an IANA time zone (e.g. UTC, Asia/Shanghai)") from None


def _send(console: Console, table: Table, settings: Settings, client: IngestClient, target: Path) -> int:
    """Post every row, then report; rejected rows go to `target` even when the import stops part-way."""
    errors = Console(stderr=True)
    sink = RejectSink(target, table.headers)
    tally = Tally(sink)
    failure: Exception | None = None
    complete = False  # stays False on Ctrl-C too: the rejected rows so far are still written
    try:
        with progress_bar(errors, table.total) as advance:
            run_import(table.rows, settings, lambda _rows, batch: client.post_batch(batch), tally, advance)
        complete = True
    except (ApiError, ReadError, csv.Error) as exc:
        failure = exc
    finally:
        written = sink.finish(complete=complete)
    print_summary(console, tally, f"{settings.label} → {client.url}", dry_run=False)
    _say_where_rejects_went(console, written, sink)
    if failure is None:
        return 0
    errors.print(f"[red]import stopped:[/] {failure}", highlight=False)
    if tally.pending_from is not None:
        errors.print(
            f"rows from {tally.pending_from} on were not imported; running the same command again is safe "
            "(rows already sent count as resubmitted)",
            highlight=False,
        )
    return EXIT_FAILED if isinstance(failure, ApiError) else EXIT_USAGE


def _say_where_rejects_went(console: Console, written: Path | None, sink: RejectSink) -> None:
    if written is not None:
        console.print(
            f"{sink.count} rejected rows written to {written}: fix them and import that file the same way",
            highlight=False,
        )
    elif sink.removed_stale:
        console.print(f"nothing rejected; removed the older {sink.target} of a previous run", highlight=False)
    elif sink.target.exists():
        console.print(f"{sink.target} is from a previous run, not this one", highlight=False)
