"""`leadflow tail`: print the events on some topics, one masked line each, without a consumer group."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.text import Text

from cli.config import resolve_bootstrap

CONTACT_KEYS = frozenset({"phone", "email", "wechat"})
NAME_KEYS = frozenset({"name", "given_name", "family_name"})
NOT_A_PERSON = frozenset({"company"})  # company.name is not personal data
GENERIC_KEYS = 4
MAX_TEXT = 40
# event_type -> the payload paths worth a glance; other event types show their first few keys.
SUMMARY_PATHS: dict[str, tuple[str, ...]] = {
    "leads.captured": (
        "source",
        "external_id",
        "person.name",
        "person.phone",
        "person.email",
        "person.wechat",
        "company.name",
    ),
    "leads.ingested": ("source", "external_id", "location.country", "location.sales_region", "quality.score"),
    "leads.rejected": ("source", "external_id", "errors"),
    "leads.deduplicated": ("dedup.verdict", "location.sales_region", "quality.score"),
    "leads.merged": ("surviving_lead_id", "evidence"),
    "leads.scored": ("score", "grade", "temperature", "model_version", "reason"),
    "leads.assigned": ("rep_id", "team_id", "rule_id", "strategy", "attempt"),
    "leads.pooled": ("reason", "rule_id", "grade"),
    "leads.deferred": ("track", "reason", "rule_id"),
    "leads.sla_warned": ("rep_id", "recycle_at", "level"),
    "leads.recycled": ("previous_rep_id", "reason"),
    "sales.activity": ("kind", "rep_id", "reason"),
    "pool.commands": ("command", "rep_id", "reason"),
    "pool.command_rejected": ("code", "message"),
    "nurture.touch_requested": ("track", "step", "channel", "template_id"),
    "privacy.erasure_requested": ("request_id", "subject.lead_id", "subject.email", "subject.phone"),
}


def mask(key: str, value: object) -> str:
    """Hide a person's identifiers: `w***@acme.com`, `***175` (last 3 digits), `王**`."""
    text = str(value)
    if key == "email" and "@" in text:
        local, _, domain = text.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if key == "phone":
        digits = [char for char in text if char.isdigit()]
        return "***" + "".join(digits[-3:])
    return f"{text[:1]}**"


def is_personal(path: str) -> bool:
    """Tell whether a path holds personal data: any contact, any name but a company's."""
    parent, _, leaf = path.rpartition(".")
    return leaf in CONTACT_KEYS or (leaf in NAME_KEYS and parent.rpartition(".")[2] not in NOT_A_PERSON)


def compact(path: str, value: object) -> str:
    """Render the payload value at `path` briefly, masking personal data."""
    if is_personal(path) and value not in (None, ""):
        return mask(path.rpartition(".")[2], value)
    if isinstance(value, dict):
        return "{…}"
    if isinstance(value, list):
        more = ",…" if len(value) > GENERIC_KEYS else ""
        return "[" + ",".join(_item(item) for item in value[:GENERIC_KEYS]) + more + "]"
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _item(item: object) -> str:
    """Render a list element: an error as `field:code`, evidence by its rule, a scalar as itself."""
    if not isinstance(item, dict):
        return compact("", item)
    if "field" in item and "code" in item:
        return f"{item['field']}:{item['code']}"
    for key in ("rule", "code", "rep_id"):
        if key in item:
            return str(item[key])
    return "{…}"


def dig(payload: dict[str, Any], path: str) -> object:
    """`person.phone` -> payload["person"]["phone"], or None when any step is missing."""
    value: object = payload
    for step in path.split("."):
        value = value.get(step) if isinstance(value, dict) else None
    return value


def summarize(event_type: str, payload: dict[str, Any]) -> str:
    """`path=value` pairs for the event type's chosen paths, else for the payload's first few keys."""
    return _pairs(payload, SUMMARY_PATHS.get(event_type, ())) or _pairs(payload, tuple(payload)[:GENERIC_KEYS])


def _pairs(payload: dict[str, Any], paths: tuple[str, ...]) -> str:
    """`path=value` for each path present in the payload, values compacted and masked."""
    found = [(path, dig(payload, path)) for path in paths]
    return " ".join(f"{path}={compact(path, value)}" for path, value in found if value is not None)


def _when(envelope: dict[str, Any], record: ConsumerRecord[bytes, bytes]) -> str:
    """Format the envelope's occurred_at (else the record's timestamp) as UTC ISO time in milliseconds."""
    try:
        moment = datetime.fromisoformat(str(envelope["occurred_at"]))
    except (KeyError, ValueError):
        moment = datetime.fromtimestamp(record.timestamp / 1000, tz=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def format_record(record: ConsumerRecord[bytes, bytes]) -> Text:
    """One line: time, topic[partition]@offset, lead_id, event_type and a masked payload summary."""
    where = f"{record.topic}[{record.partition}]@{record.offset}"
    try:
        envelope = json.loads(record.value or b"")
    except (UnicodeDecodeError, json.JSONDecodeError):
        envelope = None
    if not isinstance(envelope, dict):
        return Text.assemble((_when({}, record), "dim"), " ", (where, "cyan"), " ", ("not an envelope", "red"))
    payload = envelope.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    event_type = str(envelope.get("event_type") or "?")
    return Text.assemble(
        (_when(envelope, record), "dim"), " ", (where, "cyan"), " ", (str(envelope.get("lead_id") or "-"), "magenta"),
        " ", (event_type, "bold"), " ", summarize(event_type, payload),
    )  # fmt: skip


async def assign_all(consumer: AIOKafkaConsumer, topics: list[str], console: Console) -> list[TopicPartition]:
    """Assign every partition of the topics that exist (no group, so services are not disturbed)."""
    partitions: list[TopicPartition] = []
    for topic in topics:
        known = consumer.partitions_for_topic(topic)
        if not known:
            console.print(f"[yellow]topic {topic} does not exist; not tailing it[/]", highlight=False)
        partitions += [TopicPartition(topic, number) for number in sorted(known or ())]
    if partitions:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
    return partitions


async def follow(consumer: AIOKafkaConsumer, since_ms: int | None, limit: int | None, out: Console) -> int:
    """Print records (those stamped at or after `since_ms`, when given) until `limit` were printed."""
    printed = 0
    while limit is None or printed < limit:
        fetched = await consumer.getmany(timeout_ms=500)
        records = sorted((r for batch in fetched.values() for r in batch), key=lambda r: (r.timestamp, r.offset))
        for record in records:
            if since_ms is not None and record.timestamp < since_ms:
                continue
            out.print(format_record(record), soft_wrap=True)
            printed += 1
            if limit is not None and printed >= limit:
                break
    return printed


async def run_tail(topics: list[str], bootstrap: str, *, from_beginning: bool, limit: int | None) -> int | None:
    """Tail the topics; returns how many events were printed, None when none of the topics exists.

    Starting "at the end" is done by reading from the beginning and skipping records stamped before
    the command started: `seek_to_end` / `end_offsets` return wrong offsets on the embedded broker
    (INFRA.md), and the timestamp filter gives the same result on any Kafka-API broker.
    """
    since_ms = None if from_beginning else int(time.time() * 1000)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    try:
        await consumer.start()
        if not await assign_all(consumer, topics, Console(stderr=True)):
            return None
        return await follow(consumer, since_ms, limit, Console())
    finally:
        # Yield once: aiokafka's no-group task, cancelled before it ever ran, makes stop() raise CancelledError.
        await asyncio.sleep(0)
        await consumer.stop()


def tail(
    topics: Annotated[list[str], typer.Argument(help="Topics to follow, e.g. leads.assigned.v1 leads.rejected.v1.")],
    *,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Show what is already on the topics too.")
    ] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Stop after this many events.")] = None,
    bootstrap: Annotated[
        str | None, typer.Option("--bootstrap", envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers.")
    ] = None,
) -> None:
    """Print events from topics as they arrive (or from the beginning), phone/email/name masked."""
    servers = resolve_bootstrap(bootstrap)
    errors = Console(stderr=True)
    try:
        printed = asyncio.run(run_tail(topics, servers, from_beginning=from_beginning, limit=limit))
    except KeyboardInterrupt:
        errors.print("stopped", style="dim")
    except KafkaError as exc:
        errors.print(f"[red]cannot read from {servers}:[/] {exc!r}", highlight=False)
        raise typer.Exit(1) from exc
    else:
        if printed is None:
            raise typer.Exit(1)
