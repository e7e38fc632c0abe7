"""`leadflow publish`: send a CSV or JSONL file of submissions to leads.captured.v1."""

from __future__ import annotations

import asyncio
import codecs
import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from cli.config import resolve_bootstrap
from shared.runtime.db import producer_name
from shared.schemas.envelope import make_envelope
from shared.schemas.topics import LEADS_CAPTURED

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

PRODUCER = producer_name("leadflow-cli")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
EXTRA_CELLS = "extra_cells"  # attribute holding cells beyond the header row

# Flat CSV header -> (section of the payload, field); section "" is the top level.
FIELDS: dict[str, tuple[str, str]] = {
    "external_id": ("", "external_id"),
    "campaign": ("", "campaign"),
    "message": ("", "message"),
    "captured_at": ("", "captured_at"),
    "name": ("person", "name"),
    "given_name": ("person", "given_name"),
    "family_name": ("person", "family_name"),
    "title": ("person", "title"),
    "phone": ("person", "phone"),
    "email": ("person", "email"),
    "wechat": ("person", "wechat"),
    "company": ("company", "name"),
    "domain": ("company", "domain"),
    "industry": ("company", "industry"),
    "country": ("company", "country"),
    "province": ("company", "region"),
    "region": ("company", "region"),
    "city": ("company", "city"),
    "utm_source": ("utm", "source"),
    "utm_medium": ("utm", "medium"),
    "utm_campaign": ("utm", "campaign"),
    "utm_term": ("utm", "term"),
    "utm_content": ("utm", "content"),
}
PRODUCT_SEPARATORS = re.compile(r"[;,\uff1b\uff0c]")  # full-width forms too: Chinese IMEs type them
THOUSANDS = re.compile(r"[0-9]{1,3}(,[0-9]{3})+")
DIGITS = re.compile(r"[0-9]+")


class InputError(ValueError):
    """The input file cannot be read as promised (e.g. a CSV that is not UTF-8)."""


@dataclass(frozen=True)
class Record:
    """One input line: a payload to send, or the reason it was skipped."""

    line: int
    payload: dict[str, Any] | None
    error: str | None = None


@dataclass
class Summary:
    """What a run did: events sent, input lines skipped, sends that failed (line, reason)."""

    sent: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)


def parse_employees(text: str) -> int | None:
    """`250` or `1,200` -> int; anything else (`50-200`, `约500人`) -> None."""
    compact = text.replace(",", "") if THOUSANDS.fullmatch(text) else text
    return int(compact) if DIGITS.fullmatch(compact) else None


def split_products(text: str) -> list[str]:
    """`crm; erp,cloud` -> [crm, erp, cloud]; order kept, blanks dropped."""
    return [part.strip() for part in PRODUCT_SEPARATORS.split(text) if part.strip()]


def row_to_captured(row: Mapping[str, str | None], source: str) -> dict[str, Any]:
    """Map one flat CSV row to a `leads.captured.v1` payload dict, without validating it.

    Known headers (case-insensitive) fill their fields, every other column becomes an attribute,
    and empty cells are left out: a row with no contact is still produced, for ingest to reject.
    """
    payload: dict[str, Any] = {"source": source}
    sections: dict[str, dict[str, Any]] = {"person": {}, "company": {}, "utm": {}, "attributes": {}}
    for header, raw in row.items():
        value = (raw or "").strip()
        if not header or not header.strip() or not value:
            continue
        _place(header.strip(), value, payload, sections)
    payload.update({name: section for name, section in sections.items() if section})
    return payload


def _place(header: str, value: str, payload: dict[str, Any], sections: dict[str, dict[str, Any]]) -> None:
    """Put one non-empty cell where it belongs in the payload."""
    key = header.lower().replace(" ", "_")
    if key == "product_interest":
        payload["product_interest"] = split_products(value)
    elif key == "employees":
        employees = parse_employees(value)
        target = sections["company"] if employees is not None else sections["attributes"]
        target["employees"] = employees if employees is not None else value
    elif key in FIELDS:
        section, name = FIELDS[key]
        (sections[section] if section else payload)[name] = value
    else:
        sections["attributes"][header] = value


def iter_csv(path: Path, source: str) -> Iterator[Record]:
    """Every data row of a UTF-8 CSV (BOM or not) as a payload; line is where the row ends."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, restkey=EXTRA_CELLS)
        for row in reader:
            extra = row.pop(EXTRA_CELLS, None)
            cells: dict[str, str | None] = dict(row)
            if extra:
                cells[EXTRA_CELLS] = ";".join(str(cell) for cell in extra)
            yield Record(reader.line_num, row_to_captured(cells, source))


def iter_jsonl(path: Path) -> Iterator[Record]:
    """Every non-blank line of a JSONL file: a payload object, or an error naming what is wrong."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield _jsonl_record(number, raw.removeprefix(codecs.BOM_UTF8) if number == 1 else raw)


def _jsonl_record(number: int, raw: bytes) -> Record:
    """Decode one JSONL line; a line that is not one JSON object becomes a skipped record."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return Record(number, None, "not valid UTF-8")
    except json.JSONDecodeError as exc:
        return Record(number, None, f"invalid JSON: {exc.msg} at column {exc.colno}")
    if not isinstance(value, dict):
        return Record(number, None, f"not a JSON object but a JSON {type(value).__name__}")
    return Record(number, value)


def is_jsonl(path: Path) -> bool:
    """JSONL by suffix (.jsonl, .ndjson, .json); anything else is read as CSV."""
    return path.suffix.lower() in JSONL_SUFFIXES


def iter_records(path: Path, source: str) -> Iterator[Record]:
    """Read the file's records, CSV or JSONL; JSONL payloads are sent as written (`source` is for CSV)."""
    return iter_jsonl(path) if is_jsonl(path) else iter_csv(path, source)


def check_input(path: Path) -> int:
    """Count the file's lines, refusing a CSV that is not UTF-8 before anything is sent."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    with path.open("rb") as handle:
        for raw in handle:
            lines += 1
            try:
                decoder.decode(raw)
            except UnicodeDecodeError as exc:
                if not is_jsonl(path):
                    msg = f"line {lines} is not UTF-8 (re-save the file as UTF-8, e.g. from a GBK export)"
                    raise InputError(msg) from exc
                decoder.reset()
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        if not is_jsonl(path):
            msg = f"line {lines} ends in a truncated UTF-8 character"
            raise InputError(msg) from exc
    return lines if is_jsonl(path) else max(lines - 1, 0)


def batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    """Consecutive lists of at most `size` records."""
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


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


def _progress(console: Console) -> Progress:
    """Build a progress bar for stderr, so stdout keeps only the summary."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


async def send_file(path: Path, source: str, bootstrap: str, batch_size: int) -> Summary:
    """Publish every record of the file in batches, showing progress; returns what happened."""
    total = check_input(path)
    summary = Summary()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        await producer.start()
        with _progress(Console(stderr=True)) as progress:
            task = progress.add_task(f"{path.name} → {LEADS_CAPTURED}", total=total)
            for batch in batches(iter_records(path, source), batch_size):
                await send_batch(producer, batch, summary)
                progress.advance(task, len(batch))
            progress.update(task, completed=total)
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


def publish(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV, or JSONL (.jsonl/.ndjson/.json)")
    ],
    source: Annotated[str, typer.Option("--source", help="Channel id given to every CSV row.")] = "csv-import",
    bootstrap: Annotated[
        str | None, typer.Option("--bootstrap", envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers.")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Sends in flight per batch.")] = 500,
) -> None:
    """Publish submissions from a CSV or JSONL file to leads.captured.v1 (exit 1 unless every line was sent)."""
    servers = resolve_bootstrap(bootstrap)
    console = Console()
    try:
        summary = asyncio.run(send_file(file, source, servers, batch_size))
    except (InputError, csv.Error) as exc:
        console.print(f"[red]cannot read {file}:[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    except KafkaError as exc:
        console.print(f"[red]cannot publish to {servers}:[/] {exc!r}", highlight=False)
        raise typer.Exit(1) from exc
    print_summary(console, summary, servers)
    if summary.skipped or summary.failed:
        raise typer.Exit(1)
