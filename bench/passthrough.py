"""A trivial FastStream hop (batch in, batch out, no database): the broker-passthrough baseline."""

from __future__ import annotations

import os
from typing import Any

from faststream import FastStream
from faststream.kafka import KafkaBroker


def create_app() -> FastStream:
    """Relay every message from BENCH_HOP_IN to BENCH_HOP_OUT, as cheaply as FastStream allows."""
    broker = KafkaBroker(os.environ["KAFKA_BOOTSTRAP_SERVERS"], client_id="bench-hop")
    source, target = os.environ["BENCH_HOP_IN"], os.environ["BENCH_HOP_OUT"]

    @broker.subscriber(
        source,
        batch=True,
        group_id=f"bench-{source}",
        auto_offset_reset="earliest",
        max_records=500,
        batch_timeout_ms=100,
    )
    async def relay(bodies: list[Any]) -> None:
        for start in range(0, len(bodies), 100):  # one producer batch holds ~100 of these
            await broker.publish_batch(*bodies[start : start + 100], topic=target)

    return FastStream(broker)
