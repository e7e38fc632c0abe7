"""The batch processing loop of ARCHITECTURE.md §5: decode, dead-letter poison, one transaction, outbox, offsets."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial
from itertools import groupby
from typing import Any, TypeAlias, TypeVar

import orjson
from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel, ValidationError, create_model
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.runtime.clock import Clock
from shared.runtime.db import Inbound, OutboxRow, RuntimeTables, UnitOfWork, producer_name
from shared.runtime.errors import PoisonMessageError, RetryBudgetExceededError, is_transient
from shared.runtime.logging import ProcessedLog, get_logger
from shared.runtime.metrics import DomainMetrics, RuntimeMetrics
from shared.runtime.outbox import DeadLetters, OutboxPublisher
from shared.schemas.envelope import Envelope
from shared.schemas.topics import event_type_of, schema_version_of

log = get_logger(__name__)

T = TypeVar("T")
Handle = Callable[[UnitOfWork, Sequence[Inbound]], Awaitable[None]]
Record: TypeAlias = "ConsumerRecord[bytes, bytes]"


@dataclass(frozen=True)
class TopicHandler:
    """What a service does with one topic; `payload_model=None` hands the raw payload dict to the handler."""

    handle: Handle
    payload_model: type[BaseModel] | None


@dataclass(frozen=True)
class RetryPolicy:
    initial_s: float = 0.2
    max_s: float = 10.0
    budget_s: float = 60.0


def validation_summary(exc: ValidationError) -> str:
    """Field paths and messages, without the offending values (they may be PII)."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in exc.errors(include_input=False))


@cache
def typed_envelope(payload_model: type[BaseModel]) -> type[Envelope]:
    """An envelope whose payload is the topic's model, so one Rust pass validates the whole message."""
    return create_model(f"Envelope[{payload_model.__name__}]", __base__=Envelope, payload=(payload_model, ...))


def decode_record(record: Record, payload_model: type[BaseModel] | None) -> Inbound:
    """Bytes → envelope → payload, or PoisonMessageError naming what is broken."""
    try:
        raw = orjson.loads(record.value or b"")
    except orjson.JSONDecodeError as exc:
        raise PoisonMessageError("invalid_json", f"not UTF-8 JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise PoisonMessageError("invalid_envelope", "the value is not a JSON object")
    try:
        if payload_model is None:
            envelope = Envelope.model_validate(raw)
        else:
            envelope = typed_envelope(payload_model).model_validate_json(record.value or b"")
    except ValidationError as exc:
        in_payload = all(e["loc"][:1] == ("payload",) for e in exc.errors())
        raise PoisonMessageError(
            "invalid_payload" if in_payload else "invalid_envelope", validation_summary(exc)
        ) from exc
    if envelope.event_type != event_type_of(record.topic) or envelope.schema_version != schema_version_of(record.topic):
        raise PoisonMessageError("wrong_topic", f"{envelope.event_type} v{envelope.schema_version} on {record.topic}")
    payload: Any = envelope.payload if payload_model is not None else raw["payload"]
    return Inbound(record.topic, record.partition, record.offset, envelope, payload, raw["payload"])


class BatchProcessor:
    """Applies one fetched batch with effectively-once effects; the caller commits offsets after it returns."""

    def __init__(  # noqa: PLR0913 -- the collaborators the composition root wires in
        self,
        *,
        service: str,
        handlers: Mapping[str, TopicHandler],
        engine: AsyncEngine,
        tables: RuntimeTables,
        outbox: OutboxPublisher,
        dead_letters: DeadLetters,
        metrics: RuntimeMetrics,
        clock: Clock,
        retry: RetryPolicy,
        domain: DomainMetrics | None = None,
    ) -> None:
        self.service = service
        self.domain = domain
        self.handlers = handlers
        self.engine = engine
        self.tables = tables
        self.outbox = outbox
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.clock = clock
        self.retry = retry
        self.processed_log = ProcessedLog(service)
        self._rank = {topic: i for i, topic in enumerate(handlers)}
        self.producer = producer_name(service)
        self._background: set[asyncio.Task[Any]] = set()
        # The next offset to process per (topic, partition), once a batch's effects are durable: consumer lag.
        self.next_offsets: dict[tuple[str, int], int] = {}

    async def process(self, records: Sequence[Record]) -> None:
        """Decode, dead-letter, apply, publish. Raises RetryBudgetExceededError to ask for a rewind."""
        started = time.perf_counter()
        inbound: list[Inbound] = []
        for topic, count in Counter(r.topic for r in records).items():
            self.metrics.consumed.labels(topic).inc(count)
        for record in records:
            try:
                inbound.append(decode_record(record, self.handlers[record.topic].payload_model))
            except PoisonMessageError as exc:
                await self._with_retry(partial(self.dead_letters.send, record, exc.code, exc.message))
        if inbound:
            rows = await self._apply_isolating(inbound)
            await self.outbox.publish(rows)
        for record in records:
            self.next_offsets[record.topic, record.partition] = record.offset + 1
        self.metrics.batch_size.observe(len(records))
        self.metrics.batch_seconds.observe(time.perf_counter() - started)

    async def apply_direct(self, inbound: list[Inbound], retry: RetryPolicy) -> dict[uuid.UUID, Any]:
        """The synchronous path (HTTP): apply messages that did not come from Kafka in one transaction.

        Each message is claimed in the inbox and republished to its own topic in the same transaction as its
        effects, so once this returns, the effects are durable and nothing is lost if the process dies before
        the outbox is sent (the relay sends it). Returns the handlers' replies by event id; raises
        RetryBudgetExceededError when the database or broker stays unavailable.
        """
        replies: dict[uuid.UUID, Any] = {}
        rows = await self._with_retry(partial(self._apply, inbound, republish=True, replies=replies), retry)
        self._spawn(self.outbox.publish(rows))
        return replies

    async def drain(self) -> None:
        """Wait for the live publishes still in flight (at shutdown; the relay covers a crash)."""
        await asyncio.gather(*self._background, return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)  # a task nobody references can be garbage-collected mid-flight
        task.add_done_callback(self._background.discard)

    async def _apply_isolating(self, inbound: list[Inbound]) -> list[OutboxRow]:
        """The whole batch in one transaction; if one message breaks it, find it and dead-letter only it."""
        try:
            return await self._with_retry(partial(self._apply, inbound), topics=[m.topic for m in inbound])
        except RetryBudgetExceededError:
            raise
        except Exception:
            log.warning("batch_failed_isolating", size=len(inbound), exc_info=True)
        rows: list[OutboxRow] = []
        for message in inbound:
            try:
                rows += await self._with_retry(partial(self._apply, [message]))
            except RetryBudgetExceededError:
                raise
            except Exception as exc:  # noqa: BLE001 -- a broken invariant: this message can never succeed
                record = _record_of(message)
                await self._with_retry(partial(self.dead_letters.send, record, "processing_failed", repr(exc)))
        return rows

    async def _apply(
        self, inbound: list[Inbound], *, republish: bool = False, replies: dict[uuid.UUID, Any] | None = None
    ) -> list[OutboxRow]:
        """ONE transaction: inbox check, state changes, processed ids, outbox rows."""
        started = time.perf_counter()
        async with self.engine.begin() as conn:
            uow = UnitOfWork(conn, self.tables, self.producer, self.clock)
            fresh = await uow.claim(inbound)
            if republish:
                for message in fresh:
                    uow.republish(message)
            fresh_ids = {m.event_id for m in fresh}
            for message in inbound:
                if message.event_id not in fresh_ids:
                    self.metrics.duplicates.labels(message.topic).inc()
            # Topics in the order the service lists its handlers (e.g. the router applies availability before it
            # routes the same batch's leads); each topic's messages keep their order.
            for topic, run in groupby(sorted(fresh, key=lambda m: self._rank[m.topic]), key=lambda m: m.topic):
                await self.handlers[topic].handle(uow, list(run))
            rows = await uow.flush_outbox()
        if replies is not None:
            replies.update(uow.replies)
        if self.domain is not None:
            self.domain.committed(uow)
        self.metrics.transaction_seconds.observe(time.perf_counter() - started)
        _log_processed(self.processed_log, fresh, uow.outcomes)
        return rows

    async def _with_retry(
        self, attempt: Callable[[], Awaitable[T]], policy: RetryPolicy | None = None, topics: Sequence[str] = ()
    ) -> T:
        """Retry transient failures with exponential backoff, up to the budget; `topics`: the messages at stake."""
        retry = policy or self.retry
        deadline = time.monotonic() + retry.budget_s
        delay = retry.initial_s
        while True:
            try:
                return await attempt()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                self.metrics.failures.labels("apply").inc()
                for topic, count in Counter(topics).items():
                    self.metrics.failed.labels(topic, "transient").inc(count)
                if time.monotonic() + delay > deadline:
                    raise RetryBudgetExceededError(repr(exc)) from exc
                log.warning("transient_failure_retrying", error=repr(exc), delay_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, retry.max_s)


def consumer_record(  # noqa: PLR0913 -- the record's coordinates
    topic: str,
    value: bytes | None,
    *,
    partition: int = 0,
    offset: int = 0,
    key: bytes | None = None,
    headers: Sequence[tuple[str, bytes]] = (),
) -> Record:
    """A ConsumerRecord as the broker would deliver it (for dead letters of decoded messages, and tests)."""
    size = len(value or b"")
    return ConsumerRecord(topic, partition, offset, 0, 0, key, value, None, len(key or b""), size, list(headers))


def _record_of(message: Inbound) -> Record:
    """Rebuild the record a decoded message came from, for its dead letter."""
    value = orjson.dumps({**message.envelope.model_dump(mode="json"), "payload": message.raw})
    key = str(message.lead_id).encode() if message.lead_id else None
    headers = message.envelope.kafka_headers()
    return consumer_record(
        message.topic, value, partition=message.partition, offset=message.offset, key=key, headers=headers
    )


def _log_processed(log: ProcessedLog, messages: Sequence[Inbound], outcomes: Mapping[Any, str]) -> None:
    """One canonical line per processed message."""
    if not log.enabled():
        return
    log.lines(
        [
            {
                "topic": m.topic,
                "partition": m.partition,
                "offset": m.offset,
                "event_id": str(m.event_id),
                "lead_id": str(m.lead_id) if m.lead_id else None,
                "correlation_id": str(m.envelope.correlation_id),
                "outcome": outcomes.get(m.event_id, "applied"),
            }
            for m in messages
        ]
    )
