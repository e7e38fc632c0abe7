"""`leadflow publish`: map a CSV, JSONL or XLSX file as `leadflow import` does, and send it to leads.captured.v1."""

from __future__ import annotations

import asyncio
import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.markup import escape

from cli.config import resolve_bootstrap
from cli.imports.command import EncodingOpt, FormatOpt, MapOpt, MappingOpt, SheetOpt, TzOpt, UsageError, parse_zone
from cli.imports.mapping import MappingError, build_column_map
from cli.imports.readers import SUFFIXES, Format, detect_format, open_table
from cli.imports.rows import ReadError, Row, Table
from cli.imports.runner import Settings, batched
from cli.imports.session import progress_bar
from cli.imports.submission import to_submission
from shared.runtime.db import producer_name
from shared.schemas.envelope import make_envelope
from shared.schemas.topics import LEADS_CAPTURED

if TYPE_CHECKING:
    from collections.abc import Iterable

PRODUCER = producer_name("leadflow-cli")
SOURCE_CELL = "source"  # a JSONL line is a captured payload: the channel it names is kept

FileArg = Annotated[
    Path,
    typer.Argument(
        exists=True, dir_okay=False, readable=True, help="CSV/TXT/TSV, JSONL (.jsonl/.ndjson/.json) or XLSX."
    ),
]
SourceOpt = Annotated[
    str, typer.Option("--source", help="Channel id of every CSV/XLSX row, and of JSONL lines that name none.")
]
BootstrapOpt = Annotated[
    str | None, typer.Option("--bootstrap", envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers.")
]
BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Sends in flight per batch.")]


@dataclass(frozen=True)
class Record:
    """One input row: a payload to send, or the reason it was skipped."""

    line: int
    payload: dict[str, Any] | None
    error: str | None = None


@dataclass
class Summary:
    """What a run did: events sent, input lines skipped, sends that failed (line, reason)."""

    sent: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)


def publish_format(path: Path, explicit: Format | None) -> Format:
    """--format, else the suffix as import reads it; publish also takes `.json` as JSONL and anything else as CSV."""
    suffix = path.suffix.lower()
    if explicit is None and suffix not in SUFFIXES:
        return Format.jsonl if suffix == ".json" else Format.csv
    return detect_format(path, explicit)


def to_payload(row: Row, settings: Settings, fmt: Format) -> dict[str, Any]:
    """One row as `leadflow import` maps it; a JSONL line keeps its own source, --source fills in where it has none."""
    if fmt is not Format.jsonl:
        return to_submission(row.cells, settings.columns, settings.source, settings.tz)
    cells = {header: text for header, text in row.cells.items() if header != SOURCE_CELL}
    source = row.cells.get(SOURCE_CELL, "").strip() or settings.source
    return to_submission(cells, settings.columns, source, settings.tz)


def to_records(rows: Iterable[Row], settings: Settings, fmt: Format) -> list[Record]:
    """Map the rows; one the reader could not read (a bad JSONL line) becomes a skipped record with its reason."""
    return [
        Record(row.number, None, row.problem.message)
        if row.problem is not None
        else Record(row.number, to_payload(row, settings, fmt))
        for row in rows
    ]


async def send_batch(producer: AIOKafkaProducer, batch: list[Record], summary: Summary) -> None:
    """Enqueue every record of the batch, then wait for all acknowledgements (acks=all)."""
    pending: list[tuple[int, asyncio.Future[Any]]] = []
    for record in batch:
        if record.payload is None:
            summary.skipped.append((record.line, record.error or "unreadable"))
            continue
        envelope = make_envelope(LEADS_CAPTURED, record.payload, producer=PRODUCER, lead_id=None)
        try:
            future = await producer.send(
                LEADS_CAPTURED, envelope.model_dump_json().encode(), headers=envelope.kafka_headers()
            )
        except KafkaError as exc:
            summary.failed.append((record.line, repr(exc)))
            continue
        pending.append((record.line, future))
    results = await asyncio.gather(*(future for _, future in pending), return_exceptions=True)
    for (line, _), result in zip(pending, results, strict=True):
        if isinstance(result, BaseException):
            summary.failed.append((line, repr(result)))
        else:
            summary.sent += 1


async def send_table(table: Table, settings: Settings, fmt: Format, bootstrap: str) -> Summary:
    """Publish every row of an open input in batches, with a progress bar on stderr; returns what happened."""
    summary = Summary()
    # TextColumn formats its text and renders markup: a file name must be neither a field nor a tag.
    label = escape(f"{settings.label} → {LEADS_CAPTURED}").replace("{", "{{").replace("}", "}}")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        await producer.start()
        with progress_bar(Console(stderr=True), table.total, label) as advance:
            for chunk in batched(table.rows, settings.batch_size):
                await send_batch(producer, to_records(chunk, settings, fmt), summary)
                advance(len(chunk))
    finally:
        await producer.stop()
    return summary


def print_summary(console: Console, summary: Summary, bootstrap: str, shown: int = 20) -> None:
    """Print the counts, then the first `shown` skipped and failed lines with their reasons."""
    style = "green" if not (summary.skipped or summary.failed) else "yellow"
    console.print(
        f"[{style}]sent {summary.sent}[/] to {LEADS_CAPTURED} at {bootstrap}; "
        f"skipped {len(summary.skipped)}, failed {len(summary.failed)}",
        highlight=False,
    )
    for label, items in (("skipped", summary.skipped), ("failed", summary.failed)):
        for line, reason in items[:shown]:
            console.print(f"  {label} line {line}: {reason}", markup=False, highlight=False)
        if len(items) > shown:
            console.print(f"  … and {len(items) - shown} more {label}", highlight=False)


def channel(source: str) -> str:
    """--source without surrounding blanks; an empty one is a usage error, as in `leadflow import`."""
    if not source.strip():
        raise UsageError("--source must not be empty")
    return source.strip()


def publish(  # noqa: PLR0913 - typer maps one parameter to each command-line option
    file: FileArg,
    *,
    source: SourceOpt = "csv-import",
    bootstrap: BootstrapOpt = None,
    batch_size: BatchOpt = 500,
    fmt: FormatOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    mapping: MappingOpt = None,
    map_: MapOpt = None,
    tz: TzOpt = "UTC",
) -> None:
    """Publish submissions from a CSV, JSONL or XLSX file to leads.captured.v1 (exit 1 unless every row was sent)."""
    servers = resolve_bootstrap(bootstrap)
    console = Console()
    try:
        columns = build_column_map(mapping, map_ or [])
        settings = Settings(channel(source), columns, parse_zone(tz), batch_size, file.name)
        chosen = publish_format(file, fmt)
        with open_table(file, chosen, encoding, sheet) as table:
            summary = asyncio.run(send_table(table, settings, chosen, servers))
    except (UsageError, MappingError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    except (ReadError, csv.Error) as exc:
        console.print(f"[red]cannot read {file}:[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    except KafkaError as exc:
        console.print(f"[red]cannot publish to {servers}:[/] {exc!r}", highlight=False)
        raise typer.Exit(1) from exc
    print_summary(console, summary, servers)
    if summary.skipped or summary.failed:
        raise typer.Exit(1)
