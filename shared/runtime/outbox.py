"""Publishing the outbox after commit (acks=all), the relay for rows a crash left behind, and dead letters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.runtime.db import OutboxRow, RuntimeTables, fetch_pipelined
from shared.runtime.errors import is_transient
from shared.runtime.logging import get_logger
from shared.runtime.loops import drain_forever
from shared.runtime.metrics import RuntimeMetrics
from shared.schemas.topics import DlqHeader, dlq_topic

log = get_logger(__name__)


def make_producer(bootstrap_servers: str, client_id: str) -> AIOKafkaProducer:
    """acks=all, no idempotence (INFRA.md: unsupported on the embedded broker; the inbox absorbs duplicates)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        linger_ms=2,
        max_batch_size=256 * 1024,
        request_timeout_ms=30_000,
    )


class OutboxPublisher:
    """Sends outbox rows and deletes them once the broker confirmed every one."""

    def __init__(
        self, engine: AsyncEngine, tables: RuntimeTables, producer: AIOKafkaProducer, metrics: RuntimeMetrics
    ) -> None:
        self.engine = engine
        self.tables = tables
        self.producer = producer
        self.metrics = metrics

    async def send_confirmed(self, rows: Sequence[OutboxRow]) -> None:
        """Send all rows, then wait for every acknowledgement (batched, not one round trip each)."""
        futures = [await self.producer.send(r.topic, r.value, key=r.key, headers=r.headers) for r in rows]
        await asyncio.gather(*futures)
        for row in rows:
            self.metrics.produced.labels(row.topic).inc()

    async def publish(self, rows: Sequence[OutboxRow]) -> bool:
        """Live path after commit; on failure the rows stay for the relay, the batch is not held."""
        if not rows:
            return True
        try:
            await self.send_confirmed(rows)
            async with self.engine.begin() as conn:
                await self._delete_sent(conn, rows)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self.metrics.failures.labels("publish").inc()
            log.warning("outbox_publish_deferred", rows=len(rows), error=repr(exc))
            return False
        return True

    async def _delete_sent(self, conn: AsyncConnection, rows: Sequence[OutboxRow]) -> None:
        """Sent rows go, by event id (no RETURNING of generated ids needed on the hot insert).

        The deletion does not wait for its WAL flush (synchronous_commit off, this transaction only): if
        the database crashed before the flush, the rows would come back and the relay would send them
        again, which the consumers' inboxes absorb. Nothing is lost; one disk flush per batch is saved.
        """
        outbox = self.tables.outbox
        await fetch_pipelined(
            conn,
            [
                ("SET LOCAL synchronous_commit TO off", []),
                (
                    f'DELETE FROM "{outbox.schema}"."{outbox.name}" WHERE event_id = ANY(%b::uuid[])',
                    [[r.event_id for r in rows]],
                ),
            ],
        )

    async def relay_once(self, grace_s: float, limit: int = 1000) -> int:
        """Publish rows older than the grace period; row locks keep parallel relays apart."""
        outbox = self.tables.outbox
        async with self.engine.begin() as conn:
            stmt = (
                select(outbox.c.event_id, outbox.c.topic, outbox.c.key, outbox.c.value)
                .where(outbox.c.created_at < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, grace_s))
                .order_by(outbox.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            found = (await conn.execute(stmt)).all()
            rows = [OutboxRow(r.event_id, r.topic, r.key, r.value, _headers_of(r.value)) for r in found]
            if rows:
                await self.send_confirmed(rows)
                await self._delete_sent(conn, rows)
                log.info("outbox_relayed", rows=len(rows))
        return len(rows)

    async def observe_backlog(self) -> None:
        """Export the backlog size and the oldest row's age."""
        outbox = self.tables.outbox
        async with self.engine.connect() as conn:
            count, oldest = (await conn.execute(select(func.count(), func.min(outbox.c.created_at)))).one()
        self.metrics.outbox_backlog.set(count)
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        self.metrics.outbox_oldest_seconds.set(max(age, 0.0))

    async def relay_forever(self, interval_s: float, grace_s: float) -> None:
        """The relay loop of ARCHITECTURE.md §5.5; never dies on a transient failure."""
        await drain_forever(
            lambda: self.relay_once(grace_s),
            interval_s=interval_s,
            metrics=self.metrics,
            stage="relay",
            after=self.observe_backlog,
        )


def _headers_of(value: bytes) -> list[tuple[str, bytes]]:
    """Rebuild an event's Kafka headers from the event itself (the outbox does not store them twice)."""
    event = orjson.loads(value)
    return [
        ("event_type", str(event["event_type"]).encode()),
        ("schema_version", str(event["schema_version"]).encode()),
        ("correlation_id", str(event["correlation_id"]).encode()),
    ]


def _header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode(errors="replace")
    return None


class DeadLetters:
    """Sends a poison message to `<topic>.dlq` with headers naming the error and its origin."""

    def __init__(self, producer: AIOKafkaProducer, service: str, metrics: RuntimeMetrics) -> None:
        self.producer = producer
        self.service = service
        self.metrics = metrics

    async def send(self, record: ConsumerRecord[bytes, bytes], code: str, message: str) -> None:
        """Confirmed publish (acks=all); raises on failure so the caller retries."""
        headers = [*list(record.headers or ()), *self._error_headers(record, code, message)]
        future = await self.producer.send(dlq_topic(record.topic), record.value, key=record.key, headers=headers)
        await future
        self.metrics.dead_lettered.labels(record.topic, code).inc()
        self.metrics.failed.labels(record.topic, "dead_lettered").inc()
        log.warning(
            "message_dead_lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=code,
            correlation_id=_header(record, "correlation_id"),
        )

    def _error_headers(self, record: ConsumerRecord[bytes, bytes], code: str, message: str) -> list[tuple[str, bytes]]:
        return [
            (DlqHeader.ERROR_CODE, code.encode()),
            (DlqHeader.ERROR_MESSAGE, message[:2000].encode()),
            (DlqHeader.SERVICE, self.service.encode()),
            (DlqHeader.ORIGINAL_TOPIC, record.topic.encode()),
            (DlqHeader.ORIGINAL_PARTITION, str(record.partition).encode()),
            (DlqHeader.ORIGINAL_OFFSET, str(record.offset).encode()),
            (DlqHeader.FAILED_AT, str(int(time.time() * 1000)).encode()),
        ]
