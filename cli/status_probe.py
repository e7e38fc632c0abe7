"""What `leadflow status` measures: health, consumer lag, dead letters, outbox backlogs and nurture's timers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from psycopg import sql

from cli.dead_letters import dlq_name
from cli.embedded import LOOPBACK, SERVICES, read_state
from cli.topic_reader import CONNECT_TIMEOUT_S, existing_topics, groupless_consumer, watermarks
from shared.runtime.settings import libpq_url

HEALTH_TIMEOUT_S = 2.0
DB_TIMEOUT_S = 3
BROKER_TIMEOUT_S = 20.0
Counts = dict[str, int | None]  # topic -> number; None when the topic does not exist
TIMERS_SQL = """
    SELECT kind, count(*) FILTER (WHERE status = 'pending') AS pending,
           count(*) FILTER (WHERE status = 'pending' AND due_at <= now()) AS overdue,
           count(*) FILTER (WHERE status = 'failed') AS failed
    FROM nurture.timers WHERE status IN ('pending', 'failed') GROUP BY kind ORDER BY kind
"""


@dataclass
class BrokerNumbers:
    lag: dict[str, Counts] = field(default_factory=dict)  # service -> topic -> lag
    dead_letters: Counts = field(default_factory=dict)  # dlq topic -> messages
    error: str | None = None


@dataclass
class DatabaseNumbers:
    outbox: dict[str, dict[str, Any]] = field(default_factory=dict)  # service -> rows, oldest age, or error
    timers: list[dict[str, Any]] | str | None = None  # rows by kind, or why there are none
    error: str | None = None


def service_ports(env: Mapping[str, str] | None = None) -> dict[str, int]:
    """Each service's port: <NAME>_PORT, else what the local stack recorded, else the default."""
    env = os.environ if env is None else env
    recorded = (read_state() or {}).get("components", {})
    ports: dict[str, int] = {}
    for name, default in SERVICES.items():
        address = str(recorded.get(name, {}).get("address", ""))
        from_stack = address.rsplit(":", 1)[-1]
        given = env.get(f"{name.upper()}_PORT", "")
        ports[name] = int(given) if given.isdigit() else int(from_stack) if from_stack.isdigit() else default
    return ports


async def health(ports: Mapping[str, int]) -> dict[str, str]:
    """Service name -> "ok", "HTTP <status>" or "down", all asked at once."""
    async with httpx.AsyncClient(timeout=HEALTH_TIMEOUT_S) as client:

        async def ask(port: int) -> str:
            try:
                response = await client.get(f"http://{LOOPBACK}:{port}/healthz")
            except httpx.HTTPError:
                return "down"
            return "ok" if response.status_code == httpx.codes.OK else f"HTTP {response.status_code}"

        answers = await asyncio.gather(*(ask(port) for port in ports.values()))
    return dict(zip(ports, answers, strict=True))


async def broker_numbers(bootstrap: str, consumed: Mapping[str, tuple[str, ...]]) -> BrokerNumbers:
    """Lag per service and topic (high-water mark minus the group's committed offset) and DLQ sizes."""
    try:
        return await asyncio.wait_for(_broker_numbers(bootstrap, consumed), BROKER_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 -- any broker failure is reported in the table, not raised
        return BrokerNumbers(error=f"broker {bootstrap} unreachable: {exc!r}")


async def _broker_numbers(bootstrap: str, consumed: Mapping[str, tuple[str, ...]]) -> BrokerNumbers:
    wanted = {t for ts in consumed.values() for t in ts}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        await asyncio.wait_for(admin.start(), CONNECT_TIMEOUT_S)
        async with groupless_consumer(bootstrap, small_fetches=True) as consumer:
            partitions = existing_topics(consumer, wanted | {dlq_name(t) for t in wanted})
            committed: dict[str, dict[TopicPartition, int]] = {}
            for service, topics in consumed.items():
                mine = [tp for t in topics for tp in partitions.get(t, [])]
                # An explicit partition list: without one the embedded broker answers nothing (INFRA.md).
                offsets = await admin.list_consumer_group_offsets(service, partitions=mine) if mine else {}
                committed[service] = {tp: meta.offset for tp, meta in offsets.items()}
            start = {tp: max(c.get(tp, -1) for c in committed.values()) for tps in partitions.values() for tp in tps}
            marks = await watermarks(consumer, [tp for tps in partitions.values() for tp in tps], start)
    finally:
        await admin.close()
    numbers = BrokerNumbers()
    for service, topics in consumed.items():
        numbers.lag[service] = {t: _lag(partitions.get(t), marks, committed[service]) for t in topics}
        for dlq in (dlq_name(t) for t in topics):
            tps = partitions.get(dlq)
            numbers.dead_letters[dlq] = sum(marks[tp][1] - marks[tp][0] for tp in tps) if tps else None
    return numbers


def _lag(
    tps: list[TopicPartition] | None,
    marks: Mapping[TopicPartition, tuple[int, int]],
    committed: Mapping[TopicPartition, int],
) -> int | None:
    """Messages the group has yet to process; a partition it never committed starts at the beginning."""
    if not tps:
        return None
    return sum(max(marks[tp][1] - max(committed.get(tp, -1), marks[tp][0]), 0) for tp in tps)


def database_numbers(url: str | None, services: Iterable[str] = SERVICES) -> DatabaseNumbers:
    """Outbox backlog and oldest age per service, and nurture's timers by kind; read-only."""
    if url is None:
        return DatabaseNumbers(error="no database: set DATABASE_URL or pass --database-url")
    try:
        conn = psycopg.connect(libpq_url(url), connect_timeout=DB_TIMEOUT_S, autocommit=True)
    except psycopg.Error as exc:
        return DatabaseNumbers(error=f"database unreachable: {str(exc).strip().splitlines()[0]}")
    numbers = DatabaseNumbers()
    with conn:
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")  # a status check changes nothing
        for service in services:
            query = sql.SQL("SELECT count(*), EXTRACT(EPOCH FROM now() - min(created_at)) FROM {}.outbox")
            try:
                rows, age = conn.execute(query.format(sql.Identifier(service))).fetchone() or (0, None)
            except psycopg.errors.UndefinedTable:
                numbers.outbox[service] = {"error": f"no table {service}.outbox (has {service} ever run here?)"}
                continue
            numbers.outbox[service] = {"rows": int(rows), "oldest_age_s": round(float(age), 1) if age else None}
        try:
            found = conn.execute(TIMERS_SQL).fetchall()
        except psycopg.errors.UndefinedTable:
            numbers.timers = "no table nurture.timers (has nurture ever run here?)"
        else:
            numbers.timers = [{"kind": k, "pending": p, "overdue": o, "failed": f} for k, p, o, f in found]
    return numbers
