"""`leadflow dlq list|show|replay`: what was dead-lettered, why, and re-driving it after a fix."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli import dlq_views as views
from cli.config import resolve_bootstrap
from cli.dead_letters import AmbiguousOffsetError, DeadLetter, dlq_name, find
from cli.dlq_replay import MARKER_TOPIC, Mark, Outcome, Plan, Selection, mark_of, plan, replay_marks, send
from cli.topic_reader import all_topics, existing_topics, groupless_consumer, read_to_end
from shared.schemas.topics import DLQ_SUFFIX

app = typer.Typer(help="Dead letters: list, show, replay.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)
T = TypeVar("T")

TopicArgument = Annotated[str, typer.Argument(help="e.g. leads.captured.v1 (or leads.captured.v1.dlq)")]
BootstrapOption = Annotated[
    str | None,
    typer.Option("--bootstrap-servers", "--bootstrap", help="default: KAFKA_BOOTSTRAP_SERVERS, else the stack's"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


class MissingTopicError(LookupError):
    """The dead-letter topic does not exist on the broker."""


async def load(bootstrap: str, topic: str | None) -> tuple[dict[str, list[DeadLetter]], set[Mark]]:
    """Every dead letter of one DLQ (or of every `*.dlq` topic), and the marks of those already replayed."""
    async with groupless_consumer(bootstrap) as consumer:
        names = [topic] if topic else sorted(t for t in await all_topics(consumer) if t.endswith(DLQ_SUFFIX))
        partitions = existing_topics(consumer, [*names, MARKER_TOPIC])  # one read: assigning narrows metadata
        if topic and topic not in partitions:
            raise MissingTopicError(topic)
        records = await read_to_end(consumer, [tp for tps in partitions.values() for tp in tps])
    letters: dict[str, list[DeadLetter]] = {name: [] for name in partitions if name != MARKER_TOPIC}
    for record in records:
        if record.topic in letters:
            letters[record.topic].append(DeadLetter.of(record))
    return letters, replay_marks(r for r in records if r.topic == MARKER_TOPIC)


def run(work: Coroutine[Any, Any, T], bootstrap: str) -> T:
    """Run against the broker; a missing topic or an unreachable broker is a message and exit 1, not a traceback."""
    try:
        return asyncio.run(work)
    except MissingTopicError as exc:
        errors.print(f"[red]no topic {exc.args[0]}[/red] on {bootstrap}", highlight=False)
    except (KafkaError, OSError, TimeoutError) as exc:
        errors.print(f"[red]broker error at {bootstrap}:[/red] {exc!r}", highlight=False)
    raise typer.Exit(1)


def _print_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@app.command("list")
def list_(
    topic: Annotated[str | None, typer.Argument(help="One DLQ's letters; without it, every DLQ in numbers.")] = None,
    bootstrap: BootstrapOption = None,
    *,
    as_json: JsonOption = False,
) -> None:
    """Every `*.dlq` topic with counts by error code and service, or one DLQ's dead letters."""
    servers = resolve_bootstrap(bootstrap)
    letters, marks = run(load(servers, dlq_name(topic) if topic else None), servers)
    if topic is None:
        summaries = [
            views.summary(name, found, sum(mark_of(letter) in marks for letter in found))
            for name, found in letters.items()
        ]
        _print_json(summaries) if as_json else console.print(views.summary_table(summaries))
        return
    name, found = next(iter(letters.items()))
    rows = [views.row(letter, replayed=mark_of(letter) in marks) for letter in found]
    _print_json(rows) if as_json else console.print(views.rows_table(name, rows))


@app.command("show")
def show(
    topic: TopicArgument,
    offset: Annotated[str, typer.Argument(help="OFFSET, or PARTITION:OFFSET when several partitions have it")],
    bootstrap: BootstrapOption = None,
    *,
    reveal: Annotated[bool, typer.Option("--reveal", help="Print phones, emails and names in clear.")] = False,
    as_json: JsonOption = False,
) -> None:
    """One dead letter in full: headers, error message and value, with personal data masked."""
    servers = resolve_bootstrap(bootstrap)
    letters, marks = run(load(servers, dlq_name(topic)), servers)
    found = _find_one(next(iter(letters.values())), offset)
    if found is None:
        errors.print(f"no dead letter at {offset} in {dlq_name(topic)}", highlight=False)
        raise typer.Exit(1)
    data = views.detail(found, replayed=mark_of(found) in marks, reveal=reveal)
    _print_json(data) if as_json else console.print(views.detail_view(found, data), soft_wrap=True)


def _find_one(letters: list[DeadLetter], spec: str) -> DeadLetter | None:
    try:
        found = find(letters, spec)
    except (AmbiguousOffsetError, ValueError) as exc:
        errors.print(str(exc), highlight=False)
        raise typer.Exit(2) from None
    return found[0] if found else None


@app.command("replay")
def replay(  # noqa: PLR0913 -- one option per way of choosing what to replay
    topic: TopicArgument,
    offsets: Annotated[
        list[str] | None, typer.Option("--offset", help="OFFSET or PARTITION:OFFSET; again even if replayed before")
    ] = None,
    error: Annotated[str | None, typer.Option("--error", help="Only dead letters with this error code.")] = None,
    bootstrap: BootstrapOption = None,
    *,
    everything: Annotated[bool, typer.Option("--all", help="Every dead letter not replayed yet.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be replayed; send nothing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Publish dead letters again to their original topic (value, key, original headers), after a fix."""
    if not (offsets or error or everything):
        errors.print("say what to replay: --offset N, --error CODE or --all")
        raise typer.Exit(2)
    servers = resolve_bootstrap(bootstrap)
    name = dlq_name(topic)
    letters, marks = run(load(servers, name), servers)
    try:
        chosen = plan(letters[name], marks, Selection(tuple(offsets or ()), error))
    except (AmbiguousOffsetError, ValueError) as exc:
        errors.print(str(exc), highlight=False)
        raise typer.Exit(2) from None
    if chosen.not_found:
        errors.print(f"no dead letter at {', '.join(chosen.not_found)} in {name}; nothing sent", highlight=False)
        raise typer.Exit(2)
    outcome = Outcome() if dry_run else run(send(servers, chosen.send), servers)
    _report(name, chosen, outcome, dry_run=dry_run, as_json=as_json)
    if outcome.failed:
        raise typer.Exit(1)


def _report(name: str, chosen: Plan, outcome: Outcome, *, dry_run: bool, as_json: bool) -> None:
    """What was (or would be) replayed, what was skipped and why, what failed."""
    sent = [(letter, "") for letter in chosen.send] if dry_run else outcome.sent
    data = {
        "topic": name,
        "dry_run": dry_run,
        "replayed": [{"dead_letter": letter.where, "to": to or letter.original_topic} for letter, to in sent],
        "skipped": [{"dead_letter": letter.where, "reason": reason} for letter, reason in chosen.skipped],
        "failed": [{"dead_letter": letter.where, "error": why} for letter, why in outcome.failed],
    }
    if as_json:
        _print_json(data)
        return
    verb = "would replay" if dry_run else "replayed"
    table = Table("dead letter", "error", "event_id", "outcome", title=f"{name}: {verb} {len(sent)}")
    lines = [
        *((letter, f"{verb} → {to or letter.original_topic}") for letter, to in sent),
        *((letter, f"skipped: {reason}") for letter, reason in chosen.skipped),
        *((letter, f"FAILED: {why}") for letter, why in outcome.failed),
    ]
    for letter, what in lines:
        table.add_row(letter.where, Text(letter.error_code), letter.id_field("event_id") or "-", Text(what))
    console.print(table)
