"""Composition of one service: settings → logging → db → broker(middlewares) → batch subscriber → ASGI app."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.errors import CommitFailedError, KafkaError
from faststream import AckPolicy
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CollectorRegistry, make_asgi_app
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.runtime.clock import Clock, SystemClock
from shared.runtime.consumer import BatchProcessor, RetryPolicy, TopicHandler
from shared.runtime.db import RuntimeTables, create_engine
from shared.runtime.errors import RetryBudgetExceededError, is_transient
from shared.runtime.kafka_admin import ensure_topics
from shared.runtime.lag import observe_lag_forever
from shared.runtime.logging import configure_logging, get_logger
from shared.runtime.metrics import DomainMetrics, RuntimeMetrics
from shared.runtime.migrations import upgrade_to_head
from shared.runtime.outbox import DeadLetters, OutboxPublisher, make_producer
from shared.runtime.settings import ServiceSettings

log = get_logger(__name__)


@dataclass
class ServiceContext:
    """What a running service's handlers and loops share; filled in at start-up."""

    name: str
    settings: ServiceSettings
    tables: RuntimeTables
    metrics: RuntimeMetrics
    clock: Clock
    engine: AsyncEngine | None = None
    outbox: OutboxPublisher | None = None
    domain: DomainMetrics | None = None
    state: dict[str, Any] = field(default_factory=dict)


Loop = Callable[[ServiceContext], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class ServiceSpec:
    """A service's parts; `handlers` maps each consumed topic to what to do with it."""

    name: str
    settings: ServiceSettings
    tables: RuntimeTables
    handlers: Mapping[str, TopicHandler]
    migrations: Path
    loops: Sequence[Loop] = ()
    on_start: Loop | None = None
    http_routes: Callable[[ServiceContext], Sequence[tuple[str, Any]]] | None = None
    clock: Clock = field(default_factory=SystemClock)
    domain_metrics: Callable[[CollectorRegistry], DomainMetrics] | None = None


def build_app(spec: ServiceSpec) -> AsgiFastStream:
    """Wire one service: a single batch consumer over all its topics, the relay, /metrics and /healthz."""
    s = spec.settings
    configure_logging(spec.name, json=s.log_json, level=s.log_level)
    registry = CollectorRegistry()
    ctx = ServiceContext(spec.name, s, spec.tables, RuntimeMetrics.create(spec.name, registry), spec.clock)
    ctx.domain = spec.domain_metrics(registry) if spec.domain_metrics else None
    broker = KafkaBroker(
        s.kafka_bootstrap_servers,
        client_id=spec.name,
        middlewares=[KafkaPrometheusMiddleware(registry=registry, app_name=spec.name)],
        logger=logging.getLogger("faststream"),
        log_level=logging.DEBUG,  # FastStream's per-batch lines are debug; our canonical line is per message
    )
    _subscribe(broker, spec, ctx)
    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        await _start(spec, ctx)
        # The relay and the service's loops (nurture's timers) need only Postgres and the producer: they run
        # while the consumer is still joining its group (after a crash, a session timeout and a rebalance).
        _start_loops(spec, ctx, tasks)

    async def started() -> None:
        tune_gc(spec.settings.gc_threshold)  # once everything start-up creates exists: freeze it

    async def stop() -> None:
        await _stop(ctx, tasks)

    return AsgiFastStream(
        broker,
        asgi_routes=[
            ("/metrics", make_asgi_app(registry)),
            ("/healthz", _healthz(broker, ctx)),
            *(spec.http_routes(ctx) if spec.http_routes else ()),
        ],
        logger=logging.getLogger("faststream"),
        on_startup=[start],
        after_startup=[started],
        on_shutdown=[stop],
    )


def _subscribe(broker: KafkaBroker, spec: ServiceSpec, ctx: ServiceContext) -> None:
    s = spec.settings
    subscriber = broker.subscriber(
        *spec.handlers,
        batch=True,
        group_id=spec.name,
        ack_policy=AckPolicy.MANUAL,  # offsets only after effects are durable (ARCHITECTURE.md §5)
        auto_offset_reset="earliest",  # INFRA.md: "latest" is wrong on the embedded broker
        max_records=s.batch_max_records,
        batch_timeout_ms=s.batch_timeout_ms,
        session_timeout_ms=s.session_timeout_ms,
        heartbeat_interval_ms=s.heartbeat_interval_ms,
        max_poll_interval_ms=s.max_poll_interval_ms,
        decoder=_raw_records,  # we decode the raw records ourselves: skip FastStream's JSON pass
    )

    ctx.state["subscriber"] = subscriber

    @subscriber
    async def on_batch(body: list[Any], msg: KafkaMessage) -> None:  # noqa: ARG001 -- we decode raw records
        processor: BatchProcessor = ctx.state["processor"]
        try:
            await processor.process(msg.raw_message)
        except Exception as exc:
            # Never let a later batch's commit skip this one: rewind and retry. A stuck partition
            # shows in lag and logs; a skipped one would be leads lost without a trace.
            stage = "retries_exhausted" if isinstance(exc, RetryBudgetExceededError) else "unexpected_error"
            log.exception("batch_rewound", reason=stage, size=len(msg.raw_message))
            ctx.metrics.failures.labels(f"batch_{stage}").inc()
            for topic, count in Counter(r.topic for r in msg.raw_message).items():
                ctx.metrics.failed.labels(topic, "rewound").inc(count)
            await msg.nack()  # seek back to each partition's first record of the batch
            await asyncio.sleep(min(ctx.settings.retry_max_s, 1.0))  # no hot loop on a persistent fault
            return
        try:
            await msg.ack()
        except (CommitFailedError, KafkaError) as exc:
            # Lost the partitions in a rebalance: the next owner redelivers, the inbox absorbs it.
            log.warning("offset_commit_failed", error=repr(exc))


async def _raw_records(msg: Any) -> list[Any]:  # noqa: ARG001 -- FastStream decoder signature
    return []


async def _start(spec: ServiceSpec, ctx: ServiceContext) -> None:
    """Before consuming: topics exist, schema migrated, engine and producer up (retrying while deps boot)."""
    s = spec.settings
    await _until_ready("topics", lambda: ensure_topics(s.kafka_bootstrap_servers, partitions=s.topic_partitions))
    await _until_ready(
        "migrations", lambda: asyncio.to_thread(upgrade_to_head, s.database_url, spec.name, spec.migrations)
    )
    ctx.engine = create_engine(s.database_url)
    producer = make_producer(s.kafka_bootstrap_servers, f"{spec.name}-outbox")
    await _until_ready("producer", producer.start)
    ctx.outbox = OutboxPublisher(ctx.engine, spec.tables, producer, ctx.metrics)
    ctx.state["producer"] = producer
    ctx.state["processor"] = BatchProcessor(
        service=spec.name,
        handlers=spec.handlers,
        engine=ctx.engine,
        tables=spec.tables,
        outbox=ctx.outbox,
        dead_letters=DeadLetters(producer, spec.name, ctx.metrics),
        metrics=ctx.metrics,
        clock=ctx.clock,
        retry=RetryPolicy(s.retry_initial_s, s.retry_max_s, s.retry_budget_s),
        domain=ctx.domain,
    )
    if spec.on_start:
        await spec.on_start(ctx)
    log.info("service_started", kafka=s.kafka_bootstrap_servers, topics=list(spec.handlers))


def tune_gc(threshold: int) -> None:
    """Fewer, cheaper garbage collections for a batch-processing service.

    Batches allocate many short-lived objects: with the default gen-0 threshold (700) cyclic GC was
    about 45% of a service's CPU; freezing moves start-up objects (modules, schemas) out of every
    later collection. Measured in the closing note of issue 2.
    """
    if threshold > 0:
        gc.set_threshold(threshold, 20, 100)
        gc.freeze()


def _start_loops(spec: ServiceSpec, ctx: ServiceContext, tasks: list[asyncio.Task[None]]) -> None:
    if ctx.outbox is None:
        raise RuntimeError("loops started before the service")
    s = spec.settings
    tasks.append(asyncio.create_task(ctx.outbox.relay_forever(s.relay_interval_s, s.relay_grace_s)))
    tasks.append(asyncio.create_task(observe_lag_forever(ctx, s.lag_interval_s)))
    tasks.extend(asyncio.create_task(loop(ctx)) for loop in spec.loops)


async def _stop(ctx: ServiceContext, tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if processor := ctx.state.get("processor"):
        await processor.drain()
    if producer := ctx.state.get("producer"):
        await producer.stop()
    if ctx.engine is not None:
        await ctx.engine.dispose()
    log.info("service_stopped")


async def _until_ready(what: str, attempt: Callable[[], Awaitable[Any]], timeout_s: float = 120.0) -> None:
    """Retry a start-up step while the broker or database is still coming up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    delay = 0.2
    while True:
        try:
            await attempt()
        except Exception as exc:
            if not is_transient(exc) or loop.time() > deadline:
                raise
            log.warning("dependency_not_ready", step=what, error=repr(exc))
        else:
            return
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)


def _healthz(broker: KafkaBroker, ctx: ServiceContext) -> Any:
    @get
    async def healthz(scope: Any) -> AsgiResponse:  # noqa: ARG001 -- ASGI signature
        broker_ok = await broker.ping(timeout=2.0)
        db_ok = False
        if ctx.engine is not None:
            try:
                async with ctx.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                db_ok = True
            except Exception:  # noqa: BLE001 -- reported as unhealthy, not raised
                db_ok = False
        body = f'{{"broker": {str(broker_ok).lower()}, "database": {str(db_ok).lower()}}}'.encode()
        return AsgiResponse(
            body, status_code=200 if broker_ok and db_ok else 503, headers={"content-type": "application/json"}
        )

    return healthz
