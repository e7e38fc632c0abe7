"""Consumer lag per assigned partition, from the fetch high-water mark (INFRA.md: `end_offsets` is wrong there)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.runtime.loops import drain_forever

if TYPE_CHECKING:
    from shared.runtime.service import ServiceContext

Partition = tuple[str, int]


async def observe_lag_forever(ctx: ServiceContext, interval_s: float) -> None:
    """Export `consumer_lag_messages`: the high-water mark minus the next offset this instance will process.

    The next offset is recorded once a batch's effects are durable; a partition this instance has not processed
    yet starts from the group's committed offset. Revoked partitions' series go: their new owner reports them.
    """
    committed: dict[Partition, int] = {}
    shown: set[Partition] = set()

    async def step() -> int:
        nonlocal shown
        consumer: Any = getattr(ctx.state.get("subscriber"), "consumer", None)
        processor = ctx.state.get("processor")
        if consumer is not None and processor is not None:
            shown = await _observe(ctx, consumer, processor.next_offsets, committed, shown)
        return 0

    await drain_forever(step, interval_s=interval_s, metrics=ctx.metrics, stage="lag")


async def _observe(
    ctx: ServiceContext,
    consumer: Any,
    next_offsets: dict[Partition, int],
    committed: dict[Partition, int],
    shown: set[Partition],
) -> set[Partition]:
    now: set[Partition] = set()
    for tp in consumer.assignment():
        key = (tp.topic, tp.partition)
        highwater = consumer.highwater(tp)
        if highwater is None:
            continue  # no fetch answered for it yet
        position = next_offsets.get(key)
        if position is None:
            if key not in committed:
                committed[key] = await consumer.committed(tp) or 0
            position = committed[key]
        ctx.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(max(highwater - position, 0))
        now.add(key)
    for topic, partition in shown - now:
        ctx.metrics.consumer_lag.remove(topic, str(partition))
        committed.pop((topic, partition), None)
        next_offsets.pop((topic, partition), None)
    return now
