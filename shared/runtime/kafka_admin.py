"""Topic creation with explicit partition counts, before any consumer or describe auto-creates them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.schemas.topics import ALL_TOPICS, dlq_topic


def all_topic_names() -> list[str]:
    """Every public topic and its dead-letter topic."""
    return [name for topic in ALL_TOPICS for name in (topic, dlq_topic(topic))]


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str] | None = None,
    *,
    partitions: int = 8,
    replication_factor: int = 1,
) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created."""
    wanted = list(topics) if topics is not None else all_topic_names()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=15000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if not missing:
            return []
        new = [NewTopic(name, num_partitions=partitions, replication_factor=replication_factor) for name in missing]
        # Another instance may create them between our list and create: that is the goal too.
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(new)
        return missing
    finally:
        await admin.close()
