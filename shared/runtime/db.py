"""Database access: the runtime tables every service schema has, the engine, and the unit of work."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from typing import Any

import orjson
from psycopg.rows import namedtuple_row
from psycopg.types.json import Jsonb, set_json_dumps, set_json_loads
from pydantic import BaseModel
from sqlalchemy import BigInteger, Column, DateTime, Identity, LargeBinary, MetaData, Table, Text, Uuid, func
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared.runtime.clock import Clock
from shared.schemas.envelope import Envelope, make_envelope


def producer_name(service: str) -> str:
    """The envelope's `producer`: service@version of the installed leadflow package."""
    try:
        version = metadata.version("leadflow")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    return f"{service}@{version}"


@dataclass(frozen=True)
class RuntimeTables:
    """The inbox (processed_events) and outbox of one service's schema."""

    metadata: MetaData
    processed_events: Table
    outbox: Table


def runtime_tables(metadata: MetaData) -> RuntimeTables:
    """Declare the inbox and outbox tables on a service's MetaData (schema = service name)."""
    processed = Table(
        "processed_events",
        metadata,
        Column("event_id", Uuid, primary_key=True),
        Column("topic", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    )
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("event_id", Uuid, nullable=False),
        Column("topic", Text, nullable=False),
        Column("key", LargeBinary),
        Column("value", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    )
    return RuntimeTables(metadata, processed, outbox)


def create_engine(database_url: str, *, pool_size: int = 5) -> AsyncEngine:
    """An async engine; pre-ping so a restarted database is noticed, not raised mid-batch."""
    return create_async_engine(database_url, pool_size=pool_size, max_overflow=5, pool_pre_ping=True)


@dataclass(frozen=True)
class OutboxRow:
    event_id: uuid.UUID
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass(frozen=True)
class Inbound:
    """One decoded, validated message with where it came from."""

    topic: str
    partition: int
    offset: int
    envelope: Envelope
    payload: Any  # the topic's payload model, or the raw dict for lenient topics
    raw: dict[str, Any]  # the payload as JSON-decoded: extend it to pass a lead on without re-validating

    @property
    def event_id(self) -> uuid.UUID:
        return self.envelope.event_id

    @property
    def lead_id(self) -> uuid.UUID | None:
        return self.envelope.lead_id


@dataclass
class UnitOfWork:
    """One transaction: the service's state changes, the processed ids and the outgoing events."""

    conn: AsyncConnection
    tables: RuntimeTables
    producer: str
    clock: Clock
    staged: list[tuple[str, Envelope, bytes]] = field(default_factory=list)  # topic, header, payload JSON
    outcomes: dict[uuid.UUID, str] = field(default_factory=dict)
    replies: dict[uuid.UUID, Any] = field(default_factory=dict)
    deferred: list[tuple[str, Sequence[Any]]] = field(default_factory=list)  # writes sent with the outbox
    emitted: list[tuple[str, Any, Inbound | None]] = field(default_factory=list)  # for metrics, after commit
    tallies: list[tuple[str, tuple[str, ...], float]] = field(default_factory=list)  # ditto
    _seq: dict[tuple[uuid.UUID | None, str], int] = field(default_factory=lambda: defaultdict(int))
    _now: datetime | None = None

    def now(self) -> datetime:
        """Transaction time: one instant for everything this unit of work writes."""
        if self._now is None:
            self._now = self.clock.now()
        return self._now

    def emit(  # noqa: PLR0913 -- the envelope's fields, all keyword-only
        self,
        topic: str,
        payload: BaseModel | dict[str, Any],
        *,
        lead_id: uuid.UUID | None,
        cause: Inbound | None = None,
        correlation_id: uuid.UUID | None = None,
        event_id: uuid.UUID | None = None,
    ) -> Envelope:
        """Stage an outgoing event; it reaches the outbox in this transaction."""
        causation = cause.event_id if cause else None
        seq_key = (causation, topic)
        # The payload is serialised once, straight to JSON in Rust; the envelope header is built without it.
        body = (
            payload.model_dump_json(exclude_none=True).encode()
            if isinstance(payload, BaseModel)
            else orjson.dumps(payload)
        )
        envelope = make_envelope(
            topic,
            _NO_PAYLOAD,
            producer=self.producer,
            lead_id=lead_id,
            correlation_id=correlation_id or (cause.envelope.correlation_id if cause else None),
            causation_id=causation,
            event_id=event_id,
            occurred_at=self.now(),
            seq=self._seq[seq_key],
            trusted=True,
        )
        self._seq[seq_key] += 1
        self.staged.append((topic, envelope, body))
        self.emitted.append((topic, payload, cause))
        return envelope

    def tally(self, name: str, *labels: str, value: float = 1.0) -> None:
        """Count (or observe) a domain metric once this unit of work commits: a retried transaction counts once."""
        self.tallies.append((name, labels, value))

    def defer(self, sql: str, params: Sequence[Any]) -> None:
        """A write whose result nobody reads: it runs in this transaction, in one round trip with the outbox.

        Deferred statements run in the order they were deferred, before the outbox insert and the commit;
        an error in one fails the transaction as it would have at once. Reads later in the handler do not
        see them: defer only the last writes of a unit of work.
        """
        self.deferred.append((sql, params))

    def outcome(self, inbound: Inbound, outcome: str) -> None:
        """Name what became of a message, for its canonical log line."""
        self.outcomes[inbound.event_id] = outcome

    def reply(self, inbound: Inbound, answer: Any) -> None:
        """What a synchronous caller (the HTTP API) is told about a message it handed in directly."""
        self.replies[inbound.event_id] = answer

    def republish(self, inbound: Inbound) -> None:
        """Stage a directly submitted message on its own topic, so it lands there like any other.

        The inbox has already claimed it, so the consumer that reads it back skips it.
        """
        self.staged.append((inbound.topic, inbound.envelope, orjson.dumps(inbound.envelope.payload)))

    async def claim(self, inbound: Sequence[Inbound]) -> list[Inbound]:
        """Record the events as processed; return only those not processed before (the inbox)."""
        unique = list({m.event_id: m for m in inbound}.values())
        if not unique:
            return []
        rows = await insert_rows(
            self.conn,
            self.tables.processed_events,
            [{"event_id": m.event_id, "topic": m.topic} for m in unique],
            "ON CONFLICT DO NOTHING RETURNING event_id",
        )
        fresh = {row[0] for row in rows}
        first: list[Inbound] = []
        for message in inbound:  # first occurrence only: a batch may hold a redelivered copy
            if message.event_id in fresh:
                fresh.discard(message.event_id)
                first.append(message)
        return first

    async def flush_outbox(self) -> list[OutboxRow]:
        """Run the deferred writes and insert the staged events into the outbox, in one round trip.

        Returns the outbox rows to publish after commit.
        """
        statements, self.deferred = self.deferred, []
        rows = [
            OutboxRow(env.event_id, topic, env.kafka_key(), envelope_bytes(env, body), env.kafka_headers())
            for topic, env, body in self.staged
        ]
        if rows:
            columns: dict[str, list[Any]] = {
                "event_id": [r.event_id for r in rows],
                "topic": [r.topic for r in rows],
                "key": [r.key for r in rows],
                "value": [r.value for r in rows],
            }
            statements.append((_unnest_sql(self.tables.outbox, list(columns), ""), list(columns.values())))
        if len(statements) == 1:
            await fetch_binary(self.conn, *statements[0])
        elif statements:
            await fetch_pipelined(self.conn, statements)
        self.staged.clear()
        return rows


_NO_PAYLOAD: dict[str, Any] = {}


def envelope_bytes(envelope: Envelope, payload_json: bytes) -> bytes:
    """The wire form of an envelope whose payload was serialised on its own."""
    header = envelope.model_dump_json(exclude={"payload"}).encode()
    return header[:-1] + b',"payload":' + payload_json + b"}"


_PG = postgresql.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy dialect constructor is untyped
set_json_dumps(orjson.dumps)  # psycopg's JSON params through orjson, not the stdlib encoder
set_json_loads(orjson.loads)  # and JSON/JSONB results too (dedup reads thousands of profiles a batch)


def _unnest_sql(table: Table, columns: Sequence[str], suffix: str) -> str:
    target = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
    arrays = ", ".join(f"%b::{table.c[c].type.compile(dialect=_PG)}[]" for c in columns)  # %b: binary params
    names = ", ".join(f'"{c}"' for c in columns)
    return f"INSERT INTO {target} ({names}) SELECT * FROM unnest({arrays}) {suffix}"


async def insert_rows(
    conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]], suffix: str = ""
) -> list[Any]:
    """Insert many rows as ONE statement with one array per column (INSERT … SELECT FROM unnest).

    The SQL text is the same for every batch size, so nothing re-parses it, and the arrays travel in
    psycopg's binary format (no text escaping of payload bytes). Runs on the connection's own
    driver connection, inside the caller's transaction. `suffix` adds ON CONFLICT / RETURNING.
    """
    if not rows:
        return []
    return await fetch_binary(conn, *rows_statement(table, rows, suffix))


def rows_statement(table: Table, rows: Sequence[dict[str, Any]], suffix: str = "") -> tuple[str, list[Any]]:
    """`insert_rows`' statement and parameters, to run later (`UnitOfWork.defer`) or pipelined."""
    columns = {}
    for name in rows[0]:
        values = [row.get(name) for row in rows]
        if isinstance(table.c[name].type, JSONB):  # JSON needs psycopg's wrapper inside arrays
            values = [Jsonb(v) if v is not None else None for v in values]
        columns[name] = values
    return _unnest_sql(table, list(columns), suffix), list(columns.values())


async def fetch_binary(conn: AsyncConnection, sql: str, params: Sequence[Any]) -> list[Any]:
    """Run SQL with `%b` (binary) array parameters on the caller's transaction; rows as named tuples.

    For set-based statements over a batch: the text never changes with the batch size.
    """
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    async with driver.cursor(binary=True, row_factory=namedtuple_row) as cursor:
        await cursor.execute(sql, params)
        return list(await cursor.fetchall()) if cursor.description else []


async def fetch_pipelined(conn: AsyncConnection, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Any]]:
    """Run several `fetch_binary` statements in ONE round trip (libpq pipeline mode); their rows, in order.

    The server still runs them one after another, each seeing what the ones before it wrote, and the
    first error aborts the rest (and the transaction) as it would have one at a time.
    """
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    cursors = []
    async with driver.pipeline():
        for sql, params in statements:
            cursor = driver.cursor(binary=True, row_factory=namedtuple_row)
            await cursor.execute(sql, params)
            cursors.append(cursor)
    results = []
    for cursor in cursors:
        results.append(list(await cursor.fetchall()) if cursor.description else [])
        await cursor.close()
    return results
