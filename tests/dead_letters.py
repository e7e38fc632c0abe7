"""Dead letters for CLI tests, written as a service writes them: through the real `DeadLetters`, confirmed."""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord
from prometheus_client import CollectorRegistry

from shared.runtime.metrics import RuntimeMetrics
from shared.runtime.outbox import DeadLetters, make_producer


async def dead_letter(  # noqa: PLR0913 -- a dead letter's coordinates
    bootstrap: str,
    topic: str,
    value: bytes,
    *,
    code: str,
    message: str,
    service: str = "ingest",
    offset: int = 0,
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Dead-letter a record that came from `topic` partition 3 at `offset`."""
    producer = make_producer(bootstrap, f"{service}-test")
    await producer.start()
    try:
        letters = DeadLetters(producer, service, RuntimeMetrics.create(service, CollectorRegistry()))
        record = ConsumerRecord(topic, 3, offset, 0, 0, key, value, None, len(value), 0, headers or [])
        await letters.send(record, code, message)
    finally:
        await producer.stop()
