"""How `leadflow dlq` shows dead letters: summaries, rows and one letter in full, PII masked unless revealed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from cli.dead_letters import DeadLetter, Masker, when
from shared.schemas.topics import DlqHeader

SHORT_MESSAGE = 60


def _counted(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counter.most_common())


def summary(topic: str, letters: list[DeadLetter], replayed: int) -> dict[str, Any]:
    """One DLQ in numbers: how many, how many replayed, first and last failure, by error code and service."""
    failed = [moment for letter in letters if (moment := letter.failed_at) is not None]
    return {
        "topic": topic,
        "messages": len(letters),
        "replayed": replayed,
        "oldest_failed_at": when(min(failed)) if failed else None,
        "newest_failed_at": when(max(failed)) if failed else None,
        "by_error_code": dict(Counter(letter.error_code for letter in letters).most_common()),
        "by_service": dict(Counter(letter.service for letter in letters).most_common()),
    }


def summary_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="dead-letter topics")
    table.add_column("topic", no_wrap=True)
    table.add_column("messages", justify="right", no_wrap=True)
    table.add_column("first / last failure", no_wrap=True)
    table.add_column("codes / services", overflow="fold")
    for row in rows:
        if not row["messages"]:
            table.add_row(Text(row["topic"]), "0", "-", "", style="dim")
            continue
        counts = f"{_counted(Counter(row['by_error_code']))}\n{_counted(Counter(row['by_service']))}"
        table.add_row(
            Text(row["topic"]), f"{row['messages']}\n{row['replayed']} replayed",
            f"{row['oldest_failed_at']}\n{row['newest_failed_at']}", Text(counts),
        )  # fmt: skip
    return table


def row(letter: DeadLetter, *, replayed: bool) -> dict[str, Any]:
    """What `dlq list TOPIC` says about one letter; the error message masked and shortened."""
    message = Masker(letter).text(letter.header(DlqHeader.ERROR_MESSAGE))
    return {
        "partition": letter.partition,
        "offset": letter.offset,
        "failed_at": when(letter.failed_at),
        "service": letter.service,
        "error_code": letter.error_code,
        "error_message": message if len(message) <= SHORT_MESSAGE else message[: SHORT_MESSAGE - 1] + "…",
        "original_topic": letter.original_topic,
        "original": letter.original_where,
        "event_id": letter.id_field("event_id") or None,
        "lead_id": letter.id_field("lead_id") or None,
        "replayed": replayed,
    }


def rows_table(topic: str, rows: list[dict[str, Any]]) -> Table:
    """Two or three lines a letter, so that a terminal of 80 columns still shows the message and the ids."""
    original = topic.removesuffix(".dlq")
    table = Table(title=f"{topic}: {len(rows)} dead letters (from {original})", show_lines=True)
    for column in ("dead letter", "error", "original"):
        table.add_column(column, no_wrap=True)  # short and grepped for: never broken inside a word
    table.add_column("event / lead / message", overflow="fold")
    table.add_column("replayed", no_wrap=True)
    for r in rows:
        source = r["original"] if r["original_topic"] == original else f"{r['original_topic']} {r['original']}"
        ids = f"event {r['event_id'] or '-'}\nlead {r['lead_id'] or '-'}\n"
        table.add_row(
            f"{r['partition']}:{r['offset']}\n{r['failed_at']}", Text(f"{r['error_code']}\n{r['service']}"),
            Text(source), Text(ids + r["error_message"]), "yes" if r["replayed"] else "no",
        )  # fmt: skip
    return table


def detail(letter: DeadLetter, *, replayed: bool, reveal: bool) -> dict[str, Any]:
    """One letter in full: coordinates, every header, the error message and the value (masked unless revealed)."""
    masker = Masker(letter, reveal=reveal)
    envelope = letter.envelope
    return {
        "topic": letter.topic,
        "partition": letter.partition,
        "offset": letter.offset,
        "failed_at": when(letter.failed_at),
        "replayed": replayed,
        "key": masker.text((letter.key or b"").decode("utf-8", errors="backslashreplace")) or None,
        "headers": [[name, masker.header(name, value)] for name, value in letter.headers],
        "error_message": masker.text(letter.header(DlqHeader.ERROR_MESSAGE)),
        "value": masker.envelope(envelope) if envelope is not None else masker.value(letter),
        "masked": not reveal,
    }


def detail_view(letter: DeadLetter, found: dict[str, Any]) -> RenderableType:
    headers = Table("header", "value", title=f"{letter.topic} {letter.where}", show_lines=False)
    for name, value in found["headers"]:
        headers.add_row(Text(name), Text(value))
    masked = "masked; --reveal shows it in clear" if found["masked"] else "in clear"
    return Group(
        Text(f"failed at {found['failed_at']}; replayed: {'yes' if found['replayed'] else 'no'}"),
        Text(f"key: {found['key'] or '-'}"),
        headers,
        Text("error message:", style="bold"),
        Text(found["error_message"] or "-"),
        Text(f"value ({masked}):", style="bold"),
        Text(Masker(letter, reveal=not found["masked"]).value(letter)),
    )
