"""Consumer lag: the fetch high-water mark minus the next offset to process, per assigned partition."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from aiokafka.structs import TopicPartition
from prometheus_client import CollectorRegistry

from shared.runtime.lag import _observe
from shared.runtime.metrics import RuntimeMetrics

pytestmark = pytest.mark.unit
TOPIC = "leads.scored.v1"


@dataclass
class Consumer:
    """What the lag observer reads from aiokafka's consumer."""

    highwaters: dict[TopicPartition, int | None]
    commits: dict[TopicPartition, int | None] = field(default_factory=dict)
    asked: list[TopicPartition] = field(default_factory=list)

    def assignment(self) -> set[TopicPartition]:
        return set(self.highwaters)

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.highwaters[tp]

    async def committed(self, tp: TopicPartition) -> int | None:
        self.asked.append(tp)
        return self.commits.get(tp)


def test_lag_per_partition_from_the_high_water_mark_then_revoked_partitions_go() -> None:
    registry = CollectorRegistry()
    ctx = SimpleNamespace(metrics=RuntimeMetrics.create("router", registry))
    p0, p1, p2, p3 = (TopicPartition(TOPIC, p) for p in range(4))
    consumer = Consumer({p0: 1000, p1: 500, p2: None, p3: 40}, commits={p1: 200})
    next_offsets = {(TOPIC, 0): 900}  # processed up to 899: effects durable
    committed: dict[tuple[str, int], int] = {}

    def lag(partition: int) -> float | None:
        labels = {"topic": TOPIC, "partition": str(partition)}
        return registry.get_sample_value("leadflow_router_consumer_lag_messages", labels)

    shown = asyncio.run(_observe(ctx, consumer, next_offsets, committed, set()))  # type: ignore[arg-type]
    assert (lag(0), lag(1), lag(2), lag(3)) == (100, 300, None, 40)  # p1 from its commit; p2 not fetched; p3 from 0
    next_offsets[TOPIC, 1] = 500
    consumer.highwaters = {p0: 1000, p1: 500}  # p3 revoked in a rebalance
    asyncio.run(_observe(ctx, consumer, next_offsets, committed, shown))  # type: ignore[arg-type]
    assert (lag(0), lag(1), lag(3)) == (100, 0, None)  # caught up; the revoked partition's series is gone
    assert consumer.asked.count(p1) == 1, "the committed offset is asked once, not every interval"
