"""Re-driving dead letters to their original topic, remembered by marker events so a second run re-sends none."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import RecordMetadata

from cli.dead_letters import REPLAYED_FROM, DeadLetter, find
from cli.topic_reader import Record
from shared.runtime.outbox import make_producer
from shared.schemas.envelope import make_envelope
from shared.schemas.topics import DLQ_REPLAYED, DLQ_SUFFIX

# One marker event per replayed dead letter, keyed by its coordinates: a topic rather than a consumer
# group's offset, because `--error` and `--offset` replay some letters of a partition and not the ones
# between them, which one committed offset per partition cannot say. Compacted: markers outlive retention.
MARKER_TOPIC = DLQ_REPLAYED
PRODUCER = "leadflow-cli@1"
Mark = tuple[str, int]  # (coordinates, the dead letter's timestamp): a recreated DLQ's offset 0 is another letter


@dataclass(frozen=True)
class Selection:
    """Which dead letters to replay: named ones (even if replayed before), else every new one, maybe of one code."""

    offsets: tuple[str, ...] = ()
    error: str | None = None


@dataclass
class Plan:
    send: list[DeadLetter] = field(default_factory=list)
    skipped: list[tuple[DeadLetter, str]] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    sent: list[tuple[DeadLetter, str]] = field(default_factory=list)  # with where it landed
    failed: list[tuple[DeadLetter, str]] = field(default_factory=list)


def mark_of(letter: DeadLetter) -> Mark:
    return (letter.coordinates, letter.timestamp_ms)


def replay_marks(records: Iterable[Record]) -> set[Mark]:
    """Every dead letter replayed so far, from the marker topic's records (read with the dead letters)."""
    marks: set[Mark] = set()
    for record in records:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            payload = json.loads(record.value or b"")["payload"]
            marks.add((str(payload["dlq"]), int(payload["dlq_timestamp"])))
    return marks


def plan(letters: list[DeadLetter], marks: set[Mark], selection: Selection) -> Plan:
    """Choose what to send: named offsets always; otherwise only letters never replayed."""
    result = Plan()
    chosen = letters
    if selection.offsets:
        chosen = []
        for spec in selection.offsets:
            found = find(letters, spec)
            chosen += [letter for letter in found if letter not in chosen]
            result.not_found += [] if found else [spec]
    for letter in chosen:
        if selection.error and letter.error_code != selection.error:
            continue
        reason = _refusal(letter) or ("" if selection.offsets or mark_of(letter) not in marks else "already replayed")
        if reason:
            result.skipped.append((letter, reason))
        else:
            result.send.append(letter)
    return result


def _refusal(letter: DeadLetter) -> str:
    """Why a dead letter cannot be re-driven at all, '' when it can."""
    if letter.value is None:
        return "no value"
    if letter.original_topic.endswith(DLQ_SUFFIX):
        return "its original topic is a dead-letter topic"
    return ""


async def send(bootstrap: str, letters: list[DeadLetter]) -> Outcome:
    """Publish each letter to its original topic (acks=all, confirmed), then record a marker for each one sent."""
    outcome = Outcome()
    if not letters:
        return outcome
    await ensure_marker_topic(bootstrap)
    producer = make_producer(bootstrap, "leadflow-dlq-replay")
    await producer.start()
    try:
        results = await asyncio.gather(*(_send_one(producer, letter) for letter in letters), return_exceptions=True)
        for letter, result in zip(letters, results, strict=True):
            if isinstance(result, RecordMetadata):
                outcome.sent.append((letter, f"{result.topic}:{result.partition}:{result.offset}"))
            else:
                outcome.failed.append((letter, repr(result)))
        # Only after the broker confirmed the re-sent message: a crash before the marker re-sends it next
        # time, which the consumer's inbox absorbs; a marker for an unsent message would lose it.
        marks = []
        for letter, replayed_to in outcome.sent:
            value, headers = _marker(letter, replayed_to)
            marks.append(await producer.send(MARKER_TOPIC, value, key=letter.coordinates.encode(), headers=headers))
        await asyncio.gather(*marks)
    finally:
        await producer.stop()
    return outcome


async def _send_one(producer: AIOKafkaProducer, letter: DeadLetter) -> RecordMetadata:
    headers = [*letter.original_headers, (REPLAYED_FROM, letter.coordinates.encode())]
    future = await producer.send(letter.original_topic, letter.value, key=letter.key, headers=headers)
    result: RecordMetadata = await future
    return result


def _marker(letter: DeadLetter, replayed_to: str) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The value and headers of the marker event for one replayed letter (an envelope, as on every topic)."""
    payload: dict[str, Any] = {
        "dlq": letter.coordinates,
        "dlq_timestamp": letter.timestamp_ms,
        "error_code": letter.error_code,
        "original_topic": letter.original_topic,
        "replayed_to": replayed_to,
    }
    event_id, lead_id = letter.id_field("event_id"), letter.id_field("lead_id")
    correlation_id = letter.id_field("correlation_id")
    envelope = make_envelope(
        MARKER_TOPIC,
        payload,
        producer=PRODUCER,
        lead_id=uuid.UUID(lead_id) if lead_id else None,
        correlation_id=uuid.UUID(correlation_id) if correlation_id else None,
        causation_id=uuid.UUID(event_id) if event_id else None,
    )
    return envelope.model_dump_json().encode(), envelope.kafka_headers()


async def ensure_marker_topic(bootstrap: str) -> None:
    """Create the marker topic (one partition, compacted) before the first marker would auto-create it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        if MARKER_TOPIC in await admin.list_topics():
            return
        topic = NewTopic(MARKER_TOPIC, 1, 1, topic_configs={"cleanup.policy": "compact"})
        # Another replay may create it between our list and create: that is the goal too.
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics([topic])
    finally:
        await admin.close()
