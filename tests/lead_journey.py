"""One lead (and a duplicate of it) driven through the five services' real handlers on a real Postgres.

Each service runs its handler as it does in production: inbox claim, handler, deferred writes and outbox in ONE
transaction, with a clock the test moves. An event a handler commits is handed to the next service decoded from
its outbox row, and the row is deleted as the publisher would once the broker confirmed it; what nurture's timer
loop fires is left in the outbox, unsent, as after a crash before publishing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dedup import store as dedup_store
from services.dedup.engine import Thresholds
from services.dedup.handlers import DedupHandler
from services.ingest import store as ingest_store
from services.ingest.domain import IngestRules
from services.ingest.handlers import IngestHandler
from services.nurture import store as nurture_store
from services.nurture.handlers import Nurture
from services.nurture.policy import PolicyFile
from services.nurture.timers import fire_due_once
from services.router import store as router_store
from services.router.handlers import Router
from services.router.rules import RuleSetFile
from services.scoring import store as scoring_store
from services.scoring.enrichment import Enricher, PhoneRegionProvider, TitleProvider
from services.scoring.handlers import Scoring
from services.scoring.learning import Learner, LearningSettings
from services.scoring.rules import RulesFile
from shared.runtime.consumer import consumer_record, decode_record
from shared.runtime.db import Inbound, OutboxRow, RuntimeTables, UnitOfWork, create_engine, fetch_binary, producer_name
from shared.runtime.migrations import upgrade_to_head
from shared.schemas import topics
from shared.schemas.envelope import make_envelope
from shared.schemas.events import PAYLOADS, DedupCommand

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "deploy" / "config" / "nurture.yaml"
SCORING_RULES = ROOT / "deploy" / "scoring" / "rules.yaml"
MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Asia/Shanghai: the reps are at work
STORES = {"ingest": ingest_store, "dedup": dedup_store, "scoring": scoring_store, "router": router_store,
          "nurture": nurture_store}  # fmt: skip
MIGRATIONS = {service: ROOT / "services" / service / "migrations" for service in STORES}
ROUTING = """
version: "journey-1"
defaults:
  timezone: Asia/Shanghai
  hours: {mon-fri: "09:00-18:00"}
  holidays: CN
  caps: {day: 100, week: 500, open: 500}
  max_rejections: 3
  recycle_cooldown: 7d
reps:
  - {id: r1}
  - {id: r2}
  - {id: r3}
teams:
  - id: t1
    members:
      - {rep: r1}
      - {rep: r2}
      - {rep: r3}
rules:
  - id: r-enterprise
    when: {}
    team: t1
"""
Handler = Callable[[UnitOfWork, Sequence[Inbound]], Awaitable[None]]


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@dataclass
class Journey:
    """What the services emitted on the way, for the tests to check the commands' output against."""

    url: str
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # topic → envelopes, in order

    def first(self, topic: str) -> dict[str, Any]:
        return self.events[topic][0]


class Services:
    """The five services' handlers, run against one database in the services' transaction shape."""

    def __init__(self, engine: AsyncEngine, routing: Path, clock: Clock) -> None:
        self.engine, self.clock = engine, clock
        self.enricher = Enricher([PhoneRegionProvider(), TitleProvider()], timeout_s=10, clock=clock)
        self.ingest = IngestHandler(IngestRules())
        self.dedup = DedupHandler(Thresholds())
        self.scoring = Scoring(RulesFile(SCORING_RULES), self.enricher, Learner(LearningSettings()))
        self.router = Router(RuleSetFile(routing))
        self.nurture = Nurture(PolicyFile(POLICY))

    async def run(self, service: str, handler: Handler, messages: Sequence[Inbound]) -> list[OutboxRow]:
        tables: RuntimeTables = STORES[service].tables
        async with self.engine.begin() as conn:
            uow = UnitOfWork(conn, tables, producer_name(service), self.clock)
            fresh = await uow.claim(messages)
            if fresh:
                await handler(uow, fresh)
            rows = await uow.flush_outbox()
        async with self.engine.begin() as conn:  # published: the broker confirmed them
            sql = f"DELETE FROM {service}.outbox WHERE event_id = ANY(%b::uuid[])"
            await fetch_binary(conn, sql, [[r.event_id for r in rows]])
        return rows

    async def fire_timers(self) -> list[OutboxRow]:
        """nurture's timer loop, once; its events stay in the outbox (nothing publishes them here)."""
        fired: list[OutboxRow] = []

        class Unsent:
            async def publish(self, rows: Sequence[OutboxRow]) -> None:
                fired.extend(rows)

        ctx = SimpleNamespace(engine=self.engine, outbox=Unsent(), tables=nurture_store.tables, name="nurture",
                              clock=self.clock, metrics=None, domain=None)  # fmt: skip
        await fire_due_once(ctx, self.nurture.policy, 100)  # type: ignore[arg-type]
        return fired


def captured(source: str, external_id: str, person: dict[str, Any], **more: Any) -> Inbound:
    payload = {"source": source, "external_id": external_id, "person": person, **more}
    envelope = make_envelope(topics.LEADS_CAPTURED, payload, producer="tests@0", lead_id=None)
    return decode_record(consumer_record(topics.LEADS_CAPTURED, envelope.model_dump_json().encode()), None)


def decoded(rows: Sequence[OutboxRow], topic: str, journey: Journey) -> list[Inbound]:
    """The rows of one topic as the next service receives them; every row is remembered by topic."""
    for row in rows:
        journey.events.setdefault(row.topic, []).append(orjson.loads(row.value))
    return [
        decode_record(consumer_record(r.topic, r.value, key=r.key), PAYLOADS[r.topic]) for r in rows if r.topic == topic
    ]


def migrate(url: str) -> None:
    for service, migrations in MIGRATIONS.items():
        upgrade_to_head(url, service, migrations)


def drive(url: str, tmp: Path, canary: dict[str, Any], duplicate: dict[str, Any]) -> Journey:
    """A rejected submission, the lead, its duplicate from another channel, scoring, routing, an SLA warning."""
    migrate(url)
    routing = tmp / "routing.yaml"
    routing.write_text(ROUTING, encoding="utf-8")
    return asyncio.run(_drive(url, routing, canary, duplicate))


async def _drive(url: str, routing: Path, canary: dict[str, Any], duplicate: dict[str, Any]) -> Journey:
    journey, clock = Journey(url), Clock(MONDAY_10)
    engine = create_engine(url)
    s = Services(engine, routing, clock)
    company = {"name": "Canary Robotics Ltd", "country": "CN", "region": "上海", "employees": 800}

    async def step(
        minutes: int, service: str, handler: Handler, messages: Sequence[Inbound], topic: str
    ) -> list[Inbound]:
        clock.at = MONDAY_10 + timedelta(minutes=minutes)
        return decoded(await s.run(service, handler, messages), topic, journey)

    try:
        no_contact = captured("web-form", "f-1001", {"name": canary["name"]})
        await step(-5, "ingest", s.ingest.on_lead_captured, [no_contact], topics.LEADS_REJECTED)
        first = captured("web-form", "f-1001", canary, company=company, product_interest=["crm"])
        ingested = await step(0, "ingest", s.ingest.on_lead_captured, [first], topics.LEADS_INGESTED)
        unique = await step(1, "dedup", s.dedup.on_lead_ingested, ingested, topics.LEADS_DEDUPLICATED)
        second = captured("trade-show", "ts-77", duplicate, company=company)
        again = await step(2, "ingest", s.ingest.on_lead_captured, [second], topics.LEADS_INGESTED)
        merged = await step(3, "dedup", s.dedup.on_lead_ingested, again, topics.LEADS_MERGED)
        await step(3, "nurture", s.nurture.on_lead_merged, merged, topics.LEADS_REENGAGED)
        scored = await step(4, "scoring", s.scoring.on_lead_deduplicated, unique, topics.LEADS_SCORED)
        assigned = await step(5, "router", s.router.on_lead_scored, scored, topics.LEADS_ASSIGNED)
        await step(6, "nurture", s.nurture.on_lead_assigned, assigned, topics.LEADS_SLA_WARNED)
        clock.at = await _first_warning_due(engine, assigned[0].lead_id)
        for row in await s.fire_timers():
            journey.events.setdefault(row.topic, []).append(orjson.loads(row.value))
    finally:
        s.enricher.close()
        await engine.dispose()
    return journey


def unmerge(url: str, lead_id: str, *, by: str, reason: str) -> None:
    """An operator's `leadflow dedup unmerge`, applied by dedup's command handler an hour into the journey."""
    command = DedupCommand(command="unmerge", lead_id=uuid.UUID(lead_id), by=by, reason=reason)
    envelope = make_envelope(topics.DEDUP_COMMANDS, command, producer="tests@0", lead_id=command.lead_id)
    inbound = decode_record(consumer_record(topics.DEDUP_COMMANDS, envelope.model_dump_json().encode()), DedupCommand)

    async def apply() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                clock = Clock(MONDAY_10 + timedelta(hours=1))
                uow = UnitOfWork(conn, dedup_store.tables, producer_name("dedup"), clock)
                await DedupHandler(Thresholds()).on_command(uow, await uow.claim([inbound]))
                await uow.flush_outbox()
        finally:
            await engine.dispose()

    asyncio.run(apply())


async def _first_warning_due(engine: AsyncEngine, lead_id: uuid.UUID | None) -> datetime:
    async with engine.connect() as conn:
        rows = await fetch_binary(
            conn, "SELECT min(due_at) AS due FROM nurture.timers WHERE lead_id = %b AND kind = 'sla_warn'", [lead_id]
        )
    due: datetime = rows[0].due
    return due
