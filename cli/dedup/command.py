"""`leadflow dedup unmerge LEAD_ID` and `leadflow dedup-eval FILE.csv --truth COLUMN`."""

from __future__ import annotations

import asyncio
import csv
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer
from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.table import Table

from cli.config import resolve_bootstrap, resolve_database_url
from cli.dedup.evaluation import Report, evaluate, to_records
from cli.imports.readers import Format, open_table
from services.dedup.engine import DEFAULT_MERGE, DEFAULT_REVIEW, Thresholds
from shared.runtime.settings import normalise_database_url
from shared.schemas.envelope import make_envelope
from shared.schemas.events import DedupCommand
from shared.schemas.topics import DEDUP_COMMANDS

app = typer.Typer(help="Dedup: undo a wrong merge.", no_args_is_help=True)
console = Console()
PRODUCER = "leadflow-cli@dedup"


@app.command("unmerge")
def unmerge(  # noqa: PLR0913, PLR0917 -- typer maps one parameter to each option
    lead_id: Annotated[uuid.UUID, typer.Argument(help="the merged lead to restore as a lead of its own")],
    reason: Annotated[str | None, typer.Option(help="why the merge was wrong (kept in the merge log)")] = None,
    by: Annotated[str | None, typer.Option(help="who asks (kept in the merge log)")] = None,
    bootstrap: Annotated[str | None, typer.Option("--bootstrap", help="default: KAFKA_BOOTSTRAP_SERVERS")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url", help="default: DATABASE_URL")] = None,
    wait: Annotated[float, typer.Option(help="seconds to wait for dedup's answer")] = 30.0,
) -> None:
    """Ask dedup to restore a wrongly merged lead and send it on as new; waits for the answer."""
    command = DedupCommand(command="unmerge", lead_id=lead_id, by=by, reason=reason)
    envelope = make_envelope(DEDUP_COMMANDS, command, producer=PRODUCER, lead_id=lead_id)
    asyncio.run(_send(resolve_bootstrap(bootstrap), envelope.model_dump_json().encode(), envelope.kafka_headers()))
    console.print(f"unmerge of {lead_id} sent ({DEDUP_COMMANDS}, event {envelope.event_id})")
    url = resolve_database_url(database_url)
    if url is None:
        console.print("No database to read the answer from (set DATABASE_URL): not waiting.")
        return
    status, why = _await_answer(normalise_database_url(url), envelope.event_id, wait)
    if status == "done":
        console.print(f"[green]unmerged[/green]: {lead_id} is a lead of its own again and was sent on as new")
    elif status == "refused":
        console.print(f"[red]refused[/red]: {why}")
        raise typer.Exit(1)
    else:
        console.print(f"[yellow]no answer within {wait:g} s[/yellow]: is the dedup service running?")
        raise typer.Exit(3)


async def _send(bootstrap: str, value: bytes, headers: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(DEDUP_COMMANDS, value, headers=headers)
    finally:
        await producer.stop()


def _await_answer(url: str, command_id: uuid.UUID, wait: float) -> tuple[str | None, str | None]:
    engine = sa.create_engine(url)
    query = sa.text("SELECT status, reason FROM dedup.commands WHERE command_id = :id")
    deadline = time.monotonic() + wait
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                try:
                    row = conn.execute(query, {"id": command_id}).first()
                except sa.exc.ProgrammingError:  # dedup has not created its tables yet
                    row = None
            if row is not None:
                return row[0], row[1]
            time.sleep(0.2)
    finally:
        engine.dispose()
    return None, None


def dedup_eval(  # noqa: PLR0913, PLR0917 -- typer maps one parameter to each option
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a CSV of lead records")],
    truth: Annotated[str, typer.Option("--truth", help="the column holding the true entity id")],
    output: Annotated[Path | None, typer.Option("--output", help="write external_id,cluster per record")] = None,
    merge_threshold: Annotated[float, typer.Option(help="score that merges")] = DEFAULT_MERGE,
    review_threshold: Annotated[float, typer.Option(help="score that flags a possible duplicate")] = DEFAULT_REVIEW,
    window_days: Annotated[float, typer.Option(help="merge window in days")] = 180.0,
) -> None:
    """Run dedup's matching engine over a labelled CSV and print pairwise precision, recall and F1."""
    with open_table(file, Format.csv) as table:  # the encoding is detected as `leadflow import` does
        rows = [row.cells for row in table.rows if row.problem is None]
    if rows and truth not in rows[0]:
        console.print(f"[red]no column {truth!r}[/red] (columns: {', '.join(rows[0])})")
        raise typer.Exit(2)
    started = time.perf_counter()
    records = to_records(rows, truth)
    normalising = time.perf_counter() - started
    report = evaluate(records, Thresholds(merge_threshold, review_threshold, timedelta(days=window_days)))
    _print_report(file, report)
    console.print(
        f"matching alone: {report.micros_per_record:,.0f} µs per record; reading and normalising (ingest's code) "
        f"added {normalising * 1e6 / max(len(records), 1):,.0f} µs per record"
    )
    if output is not None:
        with output.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["external_id", "cluster"])
            writer.writerows(report.clusters.items())
        console.print(f"clusters written to {output}")


def _print_report(file: Path, r: Report) -> None:
    table = Table(title=f"dedup-eval {file.name}", show_header=False)
    for name, value in (
        ("records", f"{r.records:,}" + (f" ({r.unreadable} unreadable)" if r.unreadable else "")),
        ("true pairs", f"{r.true_pairs:,}"),
        ("predicted pairs", f"{r.predicted_pairs:,} ({r.correct_pairs:,} correct)"),
        ("precision", f"{r.precision:.4f}"),
        ("recall", f"{r.recall:.4f}"),
        ("F1", f"{r.f1:.4f}"),
        ("merges / possible duplicates", f"{r.merges:,} / {r.possible:,}"),
        ("comparisons", f"{r.comparisons:,}"),
        ("records/s", f"{r.per_second:,.0f}"),
        ("µs per record", f"{r.micros_per_record:,.0f}"),
    ):
        table.add_row(name, value)
    console.print(table)
    if r.rules:
        console.print("merges by rule: " + ", ".join(f"{rule} {n}" for rule, n in r.rules.most_common()))
