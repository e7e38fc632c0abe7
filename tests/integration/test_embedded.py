"""The embedded stack keeps messages, committed offsets and rows across restarts."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from cli.embedded import EmbeddedBroker, EmbeddedPostgres, pid_alive

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

TOPIC = "embedded.durability.v1"
GROUP = "embedded-durability"
PARTITIONS = 4
COUNT = 200


async def _produce(bootstrap: str) -> dict[bytes, bytes]:
    """Create the topic and send COUNT keyed messages with acks=all."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=1)])
    finally:
        await admin.close()
    sent = {f"key-{i % 37}-{i}".encode(): f"value-{i}".encode() for i in range(COUNT)}
    async with AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all") as producer:
        await asyncio.gather(*[await producer.send(TOPIC, value, key=key) for key, value in sent.items()])
    return sent


async def _read_all(bootstrap: str, group_id: str | None = None) -> dict[TopicPartition, list[tuple[bytes, bytes]]]:
    """Read every partition from the beginning, without joining a group, until COUNT messages arrived."""
    tps = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        got: dict[TopicPartition, list[tuple[bytes, bytes]]] = {tp: [] for tp in tps}
        async with asyncio.timeout(30):
            while sum(map(len, got.values())) < COUNT:
                for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                    got[tp].extend((r.key or b"", r.value or b"") for r in records)
        if group_id is not None:
            await consumer.commit({tp: len(records) for tp, records in got.items()})
        return got
    finally:
        await consumer.stop()


async def _committed(bootstrap: str) -> dict[int, int | None]:
    """Offsets the group committed, per partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False)
    await consumer.start()
    try:
        return {p: await consumer.committed(TopicPartition(TOPIC, p)) for p in range(PARTITIONS)}
    finally:
        await consumer.stop()


def test_durable_broker_keeps_messages_and_offsets_across_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "kafka"
    with EmbeddedBroker(data_dir=data_dir) as broker:
        sent = asyncio.run(_produce(broker.bootstrap_servers))
        before = asyncio.run(_read_all(broker.bootstrap_servers, group_id=GROUP))
        pids = list(broker.pids.values())
    assert len(pids) == 2
    assert not any(pid_alive(pid) for pid in pids)

    with EmbeddedBroker(data_dir=data_dir) as broker:
        after = asyncio.run(_read_all(broker.bootstrap_servers))
        committed = asyncio.run(_committed(broker.bootstrap_servers))

    assert after == before  # same records, same partitions, same order
    assert dict(record for records in after.values() for record in records) == sent
    assert committed == {tp.partition: len(records) for tp, records in before.items()}


def test_memory_broker_starts_without_data_dir() -> None:
    with EmbeddedBroker() as broker:
        assert list(broker.pids) == ["tansu"]
        asyncio.run(_produce(broker.bootstrap_servers))


def test_postgres_keeps_rows_across_restart(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg")
    url = pg.start()
    assert url.startswith("postgresql+psycopg://")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("create table kept (id int primary key, note text)"))
        conn.execute(sa.text("insert into kept values (1, 'survives'), (2, 'restarts')"))
    engine.dispose()
    pid = pg.pid
    pg.stop()
    assert pid is not None
    assert not pid_alive(pid)

    try:
        engine = sa.create_engine(pg.start())
        with engine.connect() as conn:
            assert conn.execute(sa.text("select 1")).scalar_one() == 1
            assert conn.execute(sa.text("select note from kept order by id")).scalars().all() == [
                "survives",
                "restarts",
            ]
        engine.dispose()
    finally:
        pg.stop()


def test_create_database_is_isolated_and_fresh(tmp_path: Path) -> None:
    with EmbeddedPostgres(tmp_path / "pg") as pg:
        first = sa.create_engine(pg.create_database("test_first"))
        with first.begin() as conn:
            conn.execute(sa.text("create table only_here (id int)"))
        first.dispose()

        other = sa.create_engine(pg.create_database("test_second"))
        with other.connect() as conn:
            assert conn.execute(sa.text("select current_database()")).scalar_one() == "test_second"
            assert conn.execute(sa.text("select to_regclass('only_here')")).scalar_one() is None
        other.dispose()

        again = sa.create_engine(pg.create_database("test_first"))
        with again.connect() as conn:
            assert conn.execute(sa.text("select to_regclass('only_here')")).scalar_one() is None
        again.dispose()
