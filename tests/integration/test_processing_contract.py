"""The batch loop's contract on a real broker and Postgres: isolation of poison, retries, inbox, relay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest
import sqlalchemy as sa
from aiokafka.structs import ConsumerRecord
from prometheus_client import CollectorRegistry
from sqlalchemy import Column, Integer, MetaData, Table
from sqlalchemy.exc import OperationalError

from shared.runtime.clock import SystemClock
from shared.runtime.consumer import BatchProcessor, RetryPolicy, TopicHandler, consumer_record
from shared.runtime.db import Inbound, UnitOfWork, create_engine, runtime_tables
from shared.runtime.errors import RetryBudgetExceededError
from shared.runtime.metrics import RuntimeMetrics
from shared.runtime.outbox import DeadLetters, OutboxPublisher, make_producer
from shared.schemas import topics
from shared.schemas.envelope import make_envelope
from tests.harness import collect

pytestmark = pytest.mark.integration
IN, OUT = topics.LEADS_REENGAGED, topics.LEADS_ARCHIVED

metadata = MetaData(schema="probe")
tables = runtime_tables(metadata)
items = Table("items", metadata, Column("n", Integer, primary_key=True))


class Probe:
    """A handler that stores n, emits one event per message, and can be told to fail."""

    def __init__(self, poison: int | None = None, transient_failures: int = 0) -> None:
        self.poison = poison
        self.transient_failures = transient_failures

    async def handle(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        if self.transient_failures > 0:
            self.transient_failures -= 1
            raise OperationalError("INSERT", {}, ConnectionError("server closed the connection"))
        for m in messages:
            n = int(m.payload["engagement_score"])
            if n == self.poison:
                raise ValueError(f"broken invariant for {n}")
            await uow.conn.execute(items.insert().values(n=n))
            uow.emit(OUT, {"lead_id": str(m.lead_id), "reason": f"n={n}"}, lead_id=m.lead_id, cause=m)


def records(count: int) -> list[ConsumerRecord]:
    out = []
    for n in range(count):
        env = make_envelope(
            IN, {"lead_id": str(uuid.uuid4()), "reason": "t", "engagement_score": n}, producer="t", lead_id=uuid.uuid4()
        )
        out.append(consumer_record(IN, env.model_dump_json().encode(), offset=n, key=env.kafka_key()))
    return out


@pytest.fixture
async def harness(kafka: str, pg_url: str):
    sync = sa.create_engine(pg_url)
    with sync.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA probe"))
        metadata.create_all(conn)
    sync.dispose()
    engine = create_engine(pg_url)
    producer = make_producer(kafka, "probe")
    await producer.start()
    metrics = RuntimeMetrics.create("probe", CollectorRegistry())
    outbox = OutboxPublisher(engine, tables, producer, metrics)

    def build(probe: Probe, budget_s: float = 5.0) -> BatchProcessor:
        return BatchProcessor(
            service="probe",
            handlers={IN: TopicHandler(probe.handle, None)},
            engine=engine,
            tables=tables,
            outbox=outbox,
            dead_letters=DeadLetters(producer, "probe", metrics),
            metrics=metrics,
            clock=SystemClock(),
            retry=RetryPolicy(initial_s=0.05, max_s=0.2, budget_s=budget_s),
        )

    yield build, engine, outbox, metrics, kafka
    await producer.stop()
    await engine.dispose()


async def count(engine, query: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text(query))).scalar_one())


async def test_a_broken_message_is_dead_lettered_alone_and_the_rest_applied(harness) -> None:
    build, engine, _, metrics, kafka = harness
    await build(Probe(poison=3)).process(records(6))
    assert await count(engine, "SELECT count(*) FROM probe.items") == 5
    assert await count(engine, "SELECT count(*) FROM probe.items WHERE n = 3") == 0
    assert await count(engine, "SELECT count(*) FROM probe.outbox") == 0, "published rows are removed"
    got = await collect(kafka, [OUT, f"{IN}.dlq"], lambda c: len(c.records[OUT]) >= 5 and c.records[f"{IN}.dlq"])
    assert sorted(e["payload"]["reason"] for e in got.of(OUT)) == [f"n={n}" for n in (0, 1, 2, 4, 5)]
    (dead,) = got.records[f"{IN}.dlq"]
    assert dict(dead.headers)["dlq.error_code"] == b"processing_failed"
    assert metrics.dead_lettered.labels(IN, "processing_failed")._value.get() == 1


async def test_transient_failures_are_retried_not_dead_lettered(harness) -> None:
    build, engine, _, metrics, _ = harness
    await build(Probe(transient_failures=2)).process(records(4))
    assert await count(engine, "SELECT count(*) FROM probe.items") == 4
    assert await count(engine, "SELECT count(*) FROM probe.processed_events") == 4
    assert metrics.failures.labels("apply")._value.get() == 2
    assert metrics.dead_lettered.labels(IN, "processing_failed")._value.get() == 0


async def test_retry_budget_exhausted_asks_for_a_rewind_and_applies_nothing(harness) -> None:
    build, engine, _, _, _ = harness
    with pytest.raises(RetryBudgetExceededError):
        await build(Probe(transient_failures=1000), budget_s=0.3).process(records(3))
    assert await count(engine, "SELECT count(*) FROM probe.processed_events") == 0


async def test_a_redelivered_batch_is_applied_once(harness) -> None:
    build, engine, _, metrics, kafka = harness
    batch = records(5)
    processor = build(Probe())
    await processor.process(batch)
    await processor.process(batch)
    assert await count(engine, "SELECT count(*) FROM probe.items") == 5
    assert metrics.duplicates.labels(IN)._value.get() == 5
    got = await collect(kafka, [OUT], lambda c: False, timeout=3)
    assert len(got.of(OUT)) == 5
    assert sum(got.copies.values()) == 5, "no second publication of any event"


async def test_relay_publishes_rows_a_crash_left_in_the_outbox(harness) -> None:
    _, engine, outbox, _, kafka = harness
    env = make_envelope(
        OUT, {"lead_id": str(uuid.uuid4()), "reason": "left behind"}, producer="t", lead_id=uuid.uuid4()
    )
    async with engine.begin() as conn:  # committed effects whose publish never happened (killed in between)
        await conn.execute(
            tables.outbox.insert().values(
                event_id=env.event_id, topic=OUT, key=env.kafka_key(), value=env.model_dump_json().encode()
            )
        )
    assert await outbox.relay_once(grace_s=0) == 1
    assert await count(engine, "SELECT count(*) FROM probe.outbox") == 0
    got = await collect(kafka, [OUT], lambda c: len(c.of(OUT)) >= 1, timeout=10)
    assert [e["event_id"] for e in got.of(OUT)] == [str(env.event_id)]
    (record,) = got.records[OUT]
    assert dict(record.headers)["correlation_id"] == str(env.correlation_id).encode(), "headers rebuilt on relay"
    await asyncio.sleep(0)
