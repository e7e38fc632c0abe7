"""Reading topics to their fetch high-water mark without a consumer group (`end_offsets` is wrong on Tansu)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0


@asynccontextmanager
async def groupless_consumer(bootstrap: str, *, small_fetches: bool = False) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer without a group: it reads, never commits, and never joins or disturbs the services' groups."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",  # INFRA.md: "latest" is wrong on the embedded broker
        fetch_max_wait_ms=50,  # an empty partition answers at once: a status check must not wait on it
        # Only the high-water mark is wanted when probing lag: fetch as little data as the broker allows.
        max_partition_fetch_bytes=1024 if small_fetches else 1024 * 1024,
        request_timeout_ms=15_000,
        client_id="leadflow-cli",
    )
    try:
        await asyncio.wait_for(consumer.start(), CONNECT_TIMEOUT_S)
        yield consumer
    finally:
        # Yield once: aiokafka's no-group task, cancelled before it ever ran, makes stop() raise CancelledError.
        await asyncio.sleep(0)
        await consumer.stop()


def existing_topics(consumer: AIOKafkaConsumer, topics: Iterable[str]) -> dict[str, list[TopicPartition]]:
    """The partitions of each topic that exists (metadata only: nothing is auto-created).

    Ask before the first `assign`: from then on aiokafka refreshes metadata for the assigned topics only.
    """
    found: dict[str, list[TopicPartition]] = {}
    for topic in topics:
        numbers = consumer.partitions_for_topic(topic)
        if numbers:
            found[topic] = [TopicPartition(topic, n) for n in sorted(numbers)]
    return found


async def all_topics(consumer: AIOKafkaConsumer) -> set[str]:
    """Every topic the broker knows."""
    return set(await consumer.topics())


async def read_to_end(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition], timeout_s: float = READ_TIMEOUT_S
) -> list[Record]:
    """Every record from the beginning to the high-water mark seen while reading, by (topic, partition, offset)."""
    if not partitions:
        return []
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    records: list[Record] = []
    pending = set(partitions)
    deadline = time.monotonic() + timeout_s
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"could not read {sorted(p.topic for p in pending)} to the end in {timeout_s:.0f} s")
        fetched = await consumer.getmany(*pending, timeout_ms=200, max_records=5000)
        for batch in fetched.values():
            records.extend(batch)
        pending = {tp for tp in pending if not await _at_end(consumer, tp)}
    return sorted(records, key=lambda r: (r.topic, r.partition, r.offset))


async def _at_end(consumer: AIOKafkaConsumer, tp: TopicPartition) -> bool:
    """Whether the position reached the partition's high-water mark (known only after a fetch answered)."""
    high = consumer.highwater(tp)
    return high is not None and await consumer.position(tp) >= high


async def watermarks(
    consumer: AIOKafkaConsumer,
    partitions: list[TopicPartition],
    start: Mapping[TopicPartition, int] | None = None,
    timeout_s: float = READ_TIMEOUT_S,
) -> dict[TopicPartition, tuple[int, int]]:
    """(low, high) offsets of each partition; the high one from a fetch at `start` (else the beginning)."""
    if not partitions:
        return {}
    low = await consumer.beginning_offsets(partitions)
    consumer.assign(partitions)
    for tp in partitions:
        consumer.seek(tp, max((start or {}).get(tp, -1), low[tp]))
    deadline = time.monotonic() + timeout_s
    while any(consumer.highwater(tp) is None for tp in partitions):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no high-water mark for some partitions after {timeout_s:.0f} s")
        await consumer.getmany(timeout_ms=100, max_records=1)
    return {tp: (low[tp], int(consumer.highwater(tp) or 0)) for tp in partitions}
