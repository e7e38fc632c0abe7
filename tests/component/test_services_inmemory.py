"""Each service's real app (create_app) under FastStream's in-memory TestKafkaBroker, on a real Postgres.

What is faked: the broker (TestKafkaBroker), the outbox's raw aiokafka producer (forwarded into the same
in-memory broker) and topic creation. Settings, migrations, the batch MANUAL-ack subscriber, the inbox,
the outbox table and the DLQ path are the production ones.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from aiokafka.structs import ConsumerRecord
from faststream import TestApp
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.message import FAKE_CONSUMER
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from services.dedup.app import create_app as create_dedup
from services.dedup.settings import DedupSettings
from services.ingest import handlers as ingest_handlers
from services.ingest.app import create_app as create_ingest
from services.ingest.settings import IngestSettings
from services.nurture.app import create_app as create_nurture
from services.nurture.settings import NurtureSettings
from services.router.app import create_app as create_router
from services.router.settings import RouterSettings
from services.scoring.app import create_app as create_scoring
from services.scoring.settings import ScoringSettings
from shared.runtime import service
from shared.runtime.consumer import consumer_record as runtime_record
from shared.runtime.settings import normalise_database_url
from shared.schemas import topics
from shared.schemas.envelope import Envelope, make_envelope
from shared.schemas.events import (
    DedupVerdict,
    LeadAssigned,
    LeadDeduplicated,
    LeadIngested,
    LeadMerged,
    LeadPooled,
    LeadRecycled,
    LeadRejected,
    LeadScored,
    Location,
    Person,
    Quality,
)
from tests.harness import ROUTING_RULES, nurture_policy, round_the_clock

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable

    from faststream.asgi import AsgiFastStream

pytestmark = pytest.mark.component

CN_EAST_REPS = {"rep-zhang-wei", "rep-li-na", "rep-wang-fang"}


# --- harness -----------------------------------------------------------------------------------


class InMemoryProducer:
    """Stands in for the outbox's aiokafka producer: every send lands on the in-memory broker, confirmed."""

    def __init__(self, broker: KafkaBroker) -> None:
        self.broker = broker

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(
        self, topic: str, value: bytes, key: bytes | None = None, headers: Iterable[tuple[str, bytes]] | None = None
    ) -> asyncio.Future[None]:
        await self.broker.publish(value, topic=topic, key=key, headers={k: v.decode() for k, v in headers or []})
        acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acked.set_result(None)
        return acked


class Outputs:
    """What the app published, per topic, as the raw records a consumer would see."""

    def __init__(self) -> None:
        self.records: dict[str, list[ConsumerRecord[Any, Any]]] = defaultdict(list)
        self.arrived: dict[str, asyncio.Event] = defaultdict(asyncio.Event)

    async def first(self, topic: str, timeout_s: float = 10.0) -> None:
        """Wait for a publication the app makes on its own schedule (timers), not in reply to ours."""
        async with asyncio.timeout(timeout_s):
            await self.arrived[topic].wait()

    def envelopes(self, topic: str) -> list[Envelope]:
        return [Envelope.model_validate_json(r.value) for r in self.records[topic]]

    def headers(self, topic: str) -> list[dict[str, str]]:
        return [{k: v.decode() for k, v in r.headers} for r in self.records[topic]]


def _spy(outputs: Outputs, topic: str) -> Callable[..., Any]:
    async def record(body: Any, msg: KafkaMessage) -> None:
        outputs.records[topic].append(msg.raw_message)
        outputs.arrived[topic].set()

    return record


@asynccontextmanager
async def running(app: AsgiFastStream, watch: Iterable[str], monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Outputs]:
    """Start the app's real lifespan (migrations included) on the in-memory broker; spy on `watch`."""
    broker = app.broker
    assert isinstance(broker, KafkaBroker)
    outputs = Outputs()
    for topic in watch:
        broker.subscriber(topic)(_spy(outputs, topic))

    async def no_topics(*_: Any, **__: Any) -> list[str]:
        return []

    monkeypatch.setattr(service, "ensure_topics", no_topics)
    monkeypatch.setattr(service, "make_producer", lambda *_, **__: InMemoryProducer(broker))
    async with TestKafkaBroker(broker, connect_only=True), TestApp(app):
        yield outputs


def _settings_env(monkeypatch: pytest.MonkeyPatch, pg_url: str) -> None:
    # The shared knobs are read through their aliases: the env is the supported way to set them.
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092")
    # The relay must not re-send rows the live path is about to publish during a test.
    monkeypatch.setenv("LEADFLOW_RELAY_GRACE_S", "3600")


async def publish(app: AsgiFastStream, topic: str, value: bytes, key: bytes | None = None) -> None:
    """Deliver one record; TestKafkaBroker runs the subscriber (and its outbox sends) before returning."""
    await app.broker.publish(value, topic=topic, key=key)


def envelope_bytes(topic: str, payload: Any, lead_id: uuid.UUID | None = None) -> tuple[bytes, Envelope]:
    envelope = make_envelope(topic, payload, producer="test", lead_id=lead_id)
    return envelope.model_dump_json().encode(), envelope


async def scalar(pg_url: str, sql: str) -> Any:
    engine = create_async_engine(normalise_database_url(pg_url))
    try:
        async with engine.connect() as conn:
            return (await conn.execute(sa.text(sql))).scalar_one()
    finally:
        await engine.dispose()


def captured(**overrides: Any) -> dict[str, Any]:
    lead: dict[str, Any] = {
        "source": "web-form",
        "person": {"name": "王伟", "title": "销售总监", "phone": "138 0013 8000", "email": "Wang.Wei@YunFan.CN"},
        "company": {"name": "上海云帆信息技术有限公司", "country": "中国", "region": "浙江省", "city": "杭州"},
        "product_interest": ["crm"],
    }
    return lead | overrides


def ingested(email: str, phone: str | None = None) -> LeadIngested:
    return LeadIngested(
        source="web-form",
        person=Person(email=email, phone=phone),
        location=Location(country="CN", province="浙江", sales_region="cn-east"),
        quality=Quality(score=0.2),
        original={},
    )


def scored(grade: str, sales_region: str = "cn-east", **extra: Any) -> LeadScored:
    return LeadScored(
        source="web-form",
        person=Person(email="buyer@yunfan.cn"),
        location=Location(country="CN", province="浙江", sales_region=sales_region),
        quality=Quality(score=0.5),
        original={},
        dedup=DedupVerdict(verdict="new"),
        score={"A": 90, "B": 60, "C": 40, "D": 10}[grade],
        grade=grade,
        temperature="hot" if grade == "A" else "cold",
        model_version="test",
        **extra,
    )


# --- ingest --------------------------------------------------------------------------------------


@pytest.fixture
def ingest_app(monkeypatch: pytest.MonkeyPatch, pg_url: str) -> AsgiFastStream:
    _settings_env(monkeypatch, pg_url)
    settings = IngestSettings()
    assert settings.database_url == normalise_database_url(pg_url)
    return create_ingest(settings)


INGEST_OUT = (topics.LEADS_INGESTED, topics.LEADS_REJECTED, topics.dlq_topic(topics.LEADS_CAPTURED))


async def test_ingest_publishes_the_normalised_lead(
    ingest_app: AsgiFastStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(ingest_app, INGEST_OUT, monkeypatch) as out:
        value, sent = envelope_bytes(topics.LEADS_CAPTURED, captured(external_id="F-1"))
        await publish(ingest_app, topics.LEADS_CAPTURED, value)

    [envelope] = out.envelopes(topics.LEADS_INGESTED)
    lead = LeadIngested.model_validate(envelope.payload)
    assert envelope.causation_id == sent.event_id
    assert envelope.correlation_id == sent.correlation_id
    assert envelope.lead_id is not None
    assert out.records[topics.LEADS_INGESTED][0].key == str(envelope.lead_id).encode()
    assert lead.person.email == "wang.wei@yunfan.cn"
    assert lead.person.phone == "+8613800138000"
    assert lead.location == Location(country="CN", province="浙江", city="杭州", sales_region="cn-east")
    assert out.records[topics.LEADS_REJECTED] == []


async def test_ingest_rejects_a_submission_without_contact(
    ingest_app: AsgiFastStream, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    async with running(ingest_app, INGEST_OUT, monkeypatch) as out:
        value, _ = envelope_bytes(topics.LEADS_CAPTURED, captured(person={"name": "王伟"}, external_id="F-2"))
        await publish(ingest_app, topics.LEADS_CAPTURED, value)

    [envelope] = out.envelopes(topics.LEADS_REJECTED)
    rejection = LeadRejected.model_validate(envelope.payload)
    assert [(e.field, e.code) for e in rejection.errors] == [("person", "no_contact")]
    assert rejection.external_id == "F-2"
    assert out.records[topics.LEADS_INGESTED] == []
    assert await scalar(pg_url, "SELECT count(*) FROM ingest.rejects") == 1


async def test_ingest_processes_a_redelivered_event_once(
    ingest_app: AsgiFastStream, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    async with running(ingest_app, INGEST_OUT, monkeypatch) as out:
        value, sent = envelope_bytes(topics.LEADS_CAPTURED, captured())
        await publish(ingest_app, topics.LEADS_CAPTURED, value)
        await publish(ingest_app, topics.LEADS_CAPTURED, value)

    assert len(out.records[topics.LEADS_INGESTED]) == 1
    assert out.records[topics.dlq_topic(topics.LEADS_CAPTURED)] == []  # absorbed by the inbox, not dead-lettered
    assert await scalar(pg_url, "SELECT count(*) FROM ingest.processed_events") == 1
    assert await scalar(pg_url, "SELECT event_id::text FROM ingest.processed_events") == str(sent.event_id)
    assert await scalar(pg_url, "SELECT count(*) FROM ingest.outbox") == 0  # published and deleted


async def test_ingest_resubmission_with_same_external_id_makes_no_second_lead(
    ingest_app: AsgiFastStream, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    async with running(ingest_app, INGEST_OUT, monkeypatch) as out:
        for _ in range(2):  # two distinct events (new event ids) for the same channel submission
            value, _ = envelope_bytes(topics.LEADS_CAPTURED, captured(external_id="F-3"))
            await publish(ingest_app, topics.LEADS_CAPTURED, value)

    assert len(out.records[topics.LEADS_INGESTED]) == 1
    assert out.records[topics.dlq_topic(topics.LEADS_CAPTURED)] == []
    assert await scalar(pg_url, "SELECT count(*) FROM ingest.processed_events") == 2
    assert await scalar(pg_url, "SELECT times_seen FROM ingest.submissions") == 2


async def test_ingest_dead_letters_a_non_json_message(
    ingest_app: AsgiFastStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(ingest_app, INGEST_OUT, monkeypatch) as out:
        await publish(ingest_app, topics.LEADS_CAPTURED, b"{not json")

    [headers] = out.headers(topics.dlq_topic(topics.LEADS_CAPTURED))
    assert headers["dlq.error_code"] == "invalid_json"
    assert headers["dlq.service"] == "ingest"
    assert headers["dlq.original_topic"] == topics.LEADS_CAPTURED
    assert out.records[topics.dlq_topic(topics.LEADS_CAPTURED)][0].value == b"{not json"
    assert out.records[topics.LEADS_INGESTED] == []
    assert out.records[topics.LEADS_REJECTED] == []


async def test_ingest_dead_letters_an_envelope_of_another_topic(
    ingest_app: AsgiFastStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(ingest_app, INGEST_OUT, monkeypatch) as out:
        value, _ = envelope_bytes(topics.LEADS_INGESTED, captured())
        await publish(ingest_app, topics.LEADS_CAPTURED, value)

    [headers] = out.headers(topics.dlq_topic(topics.LEADS_CAPTURED))
    assert headers["dlq.error_code"] == "wrong_topic"
    assert out.records[topics.LEADS_INGESTED] == []


async def test_ingest_commits_offsets_only_after_the_outgoing_event_is_published(
    ingest_app: AsgiFastStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    published_at_commit: list[int] = []
    async with running(ingest_app, INGEST_OUT, monkeypatch) as out:

        async def commit() -> None:
            published_at_commit.append(len(out.records[topics.LEADS_INGESTED]))

        monkeypatch.setattr(FAKE_CONSUMER, "commit", commit)  # the consumer TestKafkaBroker's messages ack on
        value, _ = envelope_bytes(topics.LEADS_CAPTURED, captured())
        await publish(ingest_app, topics.LEADS_CAPTURED, value)

    assert published_at_commit == [1]


def consumer_record(topic: str, value: bytes, partition: int, offset: int) -> ConsumerRecord[bytes, bytes]:
    return runtime_record(topic, value, partition=partition, offset=offset)


async def deliver_batch(app: AsgiFastStream, group_id: str, records: list[ConsumerRecord[bytes, bytes]]) -> None:
    """Hand the service's subscriber a fetched batch as aiokafka's getmany gives it: a tuple of records.

    TestKafkaBroker.publish delivers batches as a list, on which FastStream's own
    KafkaAckableMessage.nack() fails (it only unpacks tuples), so the rewind path needs this.
    """
    [subscriber] = [s for s in app.broker.subscribers if s.group_id == group_id]
    await subscriber.process_message(tuple(records))


@pytest.fixture
def offsets_seen(monkeypatch: pytest.MonkeyPatch) -> tuple[list[None], list[tuple[str, int, int]]]:
    """Record the commits and seeks FastStream's fake consumer receives (what a real one would do)."""
    commits: list[None] = []
    seeks: list[tuple[str, int, int]] = []

    async def commit() -> None:
        commits.append(None)

    def seek(partition: Any, offset: int) -> None:
        seeks.append((partition.topic, partition.partition, offset))

    monkeypatch.setattr(FAKE_CONSUMER, "commit", commit)
    monkeypatch.setattr(FAKE_CONSUMER, "seek", seek)
    return commits, seeks


async def test_ingest_rewinds_a_batch_whose_transient_failure_outlasts_the_retry_budget(
    monkeypatch: pytest.MonkeyPatch, pg_url: str, offsets_seen: tuple[list[None], list[tuple[str, int, int]]]
) -> None:
    _settings_env(monkeypatch, pg_url)
    monkeypatch.setenv("LEADFLOW_RETRY_INITIAL_S", "0.01")
    monkeypatch.setenv("LEADFLOW_RETRY_BUDGET_S", "0.05")
    app = create_ingest(IngestSettings())
    commits, seeks = offsets_seen

    def database_down(*_: Any, **__: Any) -> Any:
        raise OperationalError("INSERT", {}, ConnectionError("database restarting"))

    async with running(app, INGEST_OUT, monkeypatch) as out:
        monkeypatch.setattr(ingest_handlers, "ingest", database_down)
        batch = [
            consumer_record(topics.LEADS_CAPTURED, envelope_bytes(topics.LEADS_CAPTURED, captured())[0], 3, offset)
            for offset in (41, 42)
        ]
        await deliver_batch(app, "ingest", batch)

    assert commits == []
    assert seeks == [(topics.LEADS_CAPTURED, 3, 41)]  # back to the batch's first record: nothing skipped
    assert out.records[topics.LEADS_INGESTED] == []
    assert out.records[topics.dlq_topic(topics.LEADS_CAPTURED)] == []  # transient: never dead-lettered
    assert await scalar(pg_url, "SELECT count(*) FROM ingest.processed_events") == 0  # rolled back


async def test_an_unexpected_failure_rewinds_the_batch_instead_of_letting_a_later_commit_skip_it(
    monkeypatch: pytest.MonkeyPatch, pg_url: str, offsets_seen: tuple[list[None], list[tuple[str, int, int]]]
) -> None:
    _settings_env(monkeypatch, pg_url)
    monkeypatch.setenv("LEADFLOW_RETRY_MAX_S", "0.01")
    app = create_ingest(IngestSettings())
    commits, seeks = offsets_seen

    async def dead_letter_broken(*_: Any) -> None:
        raise RuntimeError("a bug in the dead-letter path")

    async with running(app, INGEST_OUT, monkeypatch) as out:
        monkeypatch.setattr("shared.runtime.outbox.DeadLetters.send", dead_letter_broken)
        good = envelope_bytes(topics.LEADS_CAPTURED, captured())[0]
        batch = [
            consumer_record(topics.LEADS_CAPTURED, b"not json", 3, 7),
            consumer_record(topics.LEADS_CAPTURED, good, 3, 8),
        ]
        await deliver_batch(app, "ingest", batch)

    assert commits == [], "offsets must not move past a batch that failed"
    assert seeks == [(topics.LEADS_CAPTURED, 3, 7)]
    assert out.records[topics.LEADS_INGESTED] == []


# --- dedup ---------------------------------------------------------------------------------------


@pytest.fixture
def dedup_app(monkeypatch: pytest.MonkeyPatch, pg_url: str) -> AsgiFastStream:
    _settings_env(monkeypatch, pg_url)
    return create_dedup(DedupSettings())


DEDUP_OUT = (topics.LEADS_DEDUPLICATED, topics.LEADS_MERGED, topics.dlq_topic(topics.LEADS_INGESTED))


async def test_dedup_merges_a_second_lead_with_the_same_email_into_the_first(
    dedup_app: AsgiFastStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    async with running(dedup_app, DEDUP_OUT, monkeypatch) as out:
        leads = [(first, ingested("buyer@yunfan.cn")), (second, ingested("buyer@yunfan.cn", "13800138000"))]
        for lead_id, lead in leads:
            value, _ = envelope_bytes(topics.LEADS_INGESTED, lead, lead_id)
            await publish(dedup_app, topics.LEADS_INGESTED, value, key=str(lead_id).encode())

    [unique] = out.envelopes(topics.LEADS_DEDUPLICATED)
    assert unique.lead_id == first
    assert LeadDeduplicated.model_validate(unique.payload).dedup.verdict == "new"
    [merge] = out.envelopes(topics.LEADS_MERGED)
    merged = LeadMerged.model_validate(merge.payload)
    assert merged.lead_id == second
    assert merged.surviving_lead_id == first
    assert merged.rule == "email_exact"
    assert merged.evidence[0].rule == "email_exact"
    assert merged.evidence[0].weight is not None
    assert merged.evidence[0].weight > 0
    assert merge.lead_id == first  # keyed by the survivor, so the survivor's partition sees it in order


async def test_dedup_merges_duplicates_within_one_batch(
    dedup_app: AsgiFastStream, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    async with running(dedup_app, DEDUP_OUT, monkeypatch) as out:
        values = [envelope_bytes(topics.LEADS_INGESTED, ingested("buyer@yunfan.cn"), lid)[0] for lid in (first, second)]
        await dedup_app.broker.publish_batch(*values, topic=topics.LEADS_INGESTED)

    assert [e.lead_id for e in out.envelopes(topics.LEADS_DEDUPLICATED)] == [first]
    [merge] = out.envelopes(topics.LEADS_MERGED)
    assert LeadMerged.model_validate(merge.payload).surviving_lead_id == first
    assert out.records[topics.dlq_topic(topics.LEADS_INGESTED)] == []
    assert await scalar(pg_url, "SELECT count(*) FROM dedup.processed_events") == 2


# --- scoring -------------------------------------------------------------------------------------


@pytest.fixture
def scoring_app(monkeypatch: pytest.MonkeyPatch, pg_url: str) -> AsgiFastStream:
    _settings_env(monkeypatch, pg_url)
    return create_scoring(ScoringSettings())


SCORING_OUT = (topics.LEADS_SCORED, topics.dlq_topic(topics.LEADS_DEDUPLICATED))


def deduplicated(**extra: Any) -> LeadDeduplicated:
    lead = ingested("ceo@yunfan.cn", "13800138000")
    return LeadDeduplicated(**lead.model_dump(), dedup=DedupVerdict(verdict="new"), **extra)


async def test_scoring_publishes_the_scored_lead_and_keeps_history(
    scoring_app: AsgiFastStream, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    lead_id = uuid.uuid4()
    async with running(scoring_app, SCORING_OUT, monkeypatch) as out:
        value, _ = envelope_bytes(topics.LEADS_DEDUPLICATED, deduplicated(), lead_id)
        await publish(scoring_app, topics.LEADS_DEDUPLICATED, value)

    [envelope] = out.envelopes(topics.LEADS_SCORED)
    lead = LeadScored.model_validate(envelope.payload)
    assert envelope.lead_id == lead_id
    # deploy/scoring/rules.yaml: base 10 + web-form 10 + 浙江 5 + a phone 10 + a work email 8; no outcomes
    # yet, so the rules alone decide
    assert (lead.score, lead.grade, lead.model_points) == (43, "C", None)
    assert {(f.name, f.detail) for f in lead.factors} == {
        ("channel", "web-form"),
        ("region", "浙江"),
        ("contact", "phone"),
        ("contact", "work_email"),
    }
    assert await scalar(pg_url, "SELECT grade FROM scoring.scores") == "C"


async def test_scoring_scores_a_lead_that_carries_an_extra_score_field(
    scoring_app: AsgiFastStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(scoring_app, SCORING_OUT, monkeypatch) as out:
        value, _ = envelope_bytes(topics.LEADS_DEDUPLICATED, deduplicated(score=5), uuid.uuid4())
        await publish(scoring_app, topics.LEADS_DEDUPLICATED, value)

    assert out.records[topics.dlq_topic(topics.LEADS_DEDUPLICATED)] == []
    assert len(out.records[topics.LEADS_SCORED]) == 1


# --- router --------------------------------------------------------------------------------------


@pytest.fixture
def router_app(monkeypatch: pytest.MonkeyPatch, pg_url: str, tmp_path: Path) -> AsgiFastStream:
    _settings_env(monkeypatch, pg_url)
    rules = round_the_clock(ROUTING_RULES, tmp_path / "routing.yaml")  # the shipped rules, at any hour
    return create_router(RouterSettings(rules_file=rules))


ROUTER_OUT = (topics.LEADS_ASSIGNED, topics.LEADS_POOLED, topics.dlq_topic(topics.LEADS_SCORED))


async def route(app: AsgiFastStream, lead: LeadScored, lead_id: uuid.UUID | None = None) -> uuid.UUID:
    lead_id = lead_id or uuid.uuid4()
    value, _ = envelope_bytes(topics.LEADS_SCORED, lead, lead_id)
    await publish(app, topics.LEADS_SCORED, value, key=str(lead_id).encode())
    return lead_id


async def test_router_assigns_a_cn_east_grade_a_lead_to_a_cn_east_rep(
    router_app: AsgiFastStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(router_app, ROUTER_OUT, monkeypatch) as out:
        lead_id = await route(router_app, scored("A"))

    [envelope] = out.envelopes(topics.LEADS_ASSIGNED)
    assigned = LeadAssigned.model_validate(envelope.payload)
    assert assigned.lead_id == lead_id == envelope.lead_id
    assert assigned.team_id == "cn-east"
    assert assigned.rule_id == "cn-east"
    assert assigned.rep_id in CN_EAST_REPS
    assert assigned.grade == "A"
    assert assigned.decision.matched == {"sales_region": "cn-east"}
    assert [c.rep_id for c in assigned.decision.candidates if c.selected] == [assigned.rep_id]
    assert out.records[topics.LEADS_POOLED] == []


async def test_router_pools_a_grade_d_lead(router_app: AsgiFastStream, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(router_app, ROUTER_OUT, monkeypatch) as out:
        lead_id = await route(router_app, scored("D"))

    [envelope] = out.envelopes(topics.LEADS_POOLED)
    pooled = LeadPooled.model_validate(envelope.payload)
    assert pooled.lead_id == lead_id
    assert pooled.rule_id == "grade-d-to-pool"
    assert pooled.grade == "D"
    assert out.records[topics.LEADS_ASSIGNED] == []


async def test_router_pools_a_lead_no_rule_matches(router_app: AsgiFastStream, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(router_app, ROUTER_OUT, monkeypatch) as out:
        await route(router_app, scored("A", sales_region="antarctica"))

    [envelope] = out.envelopes(topics.LEADS_POOLED)
    pooled = LeadPooled.model_validate(envelope.payload)
    assert (pooled.rule_id, pooled.reason) == ("fallback", "rule fallback")


async def test_router_gives_consecutive_leads_to_different_reps(
    router_app: AsgiFastStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(router_app, ROUTER_OUT, monkeypatch) as out:
        for _ in range(3):
            await route(router_app, scored("A"))

    reps = [LeadAssigned.model_validate(e.payload).rep_id for e in out.envelopes(topics.LEADS_ASSIGNED)]
    assert len(reps) == 3
    assert set(reps) == CN_EAST_REPS  # three reps of weight 1: one full rotation


async def test_router_routes_a_lead_once_even_when_its_scored_event_repeats(
    router_app: AsgiFastStream, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    lead_id = uuid.uuid4()
    async with running(router_app, ROUTER_OUT, monkeypatch) as out:
        await route(router_app, scored("A"), lead_id)  # a re-score (new event id) of the same lead
        await route(router_app, scored("A"), lead_id)

    assert len(out.records[topics.LEADS_ASSIGNED]) == 1
    assert out.records[topics.dlq_topic(topics.LEADS_SCORED)] == []
    assert await scalar(pg_url, "SELECT count(*) FROM router.assignments") == 1


# --- nurture -------------------------------------------------------------------------------------


def assignment(lead_id: uuid.UUID) -> LeadAssigned:
    return LeadAssigned(
        assignment_id=uuid.uuid4(),
        lead_id=lead_id,
        rep_id="rep-li-na",
        team_id="cn-east",
        rule_id="cn-east",
        rule_set_version="test",
        strategy="round_robin",
        attempt=1,
        decision={"rule_id": "cn-east", "rule_set_version": "test", "explanation": "test"},
    )


async def test_nurture_recycles_an_assignment_nobody_followed_up(
    monkeypatch: pytest.MonkeyPatch, pg_url: str, tmp_path: Path
) -> None:
    _settings_env(monkeypatch, pg_url)
    policy = nurture_policy(tmp_path / "nurture.yaml", "1s")
    app = create_nurture(NurtureSettings(policy_file=policy, timer_interval_s=0.05))
    lead_id = uuid.uuid4()
    async with running(app, (topics.LEADS_RECYCLED,), monkeypatch) as out:
        value, sent = envelope_bytes(topics.LEADS_ASSIGNED, assignment(lead_id), lead_id)
        await publish(app, topics.LEADS_ASSIGNED, value)
        await out.first(topics.LEADS_RECYCLED)

    [envelope] = out.envelopes(topics.LEADS_RECYCLED)
    recycled = LeadRecycled.model_validate(envelope.payload)
    assert recycled.lead_id == lead_id
    assert recycled.previous_rep_id == "rep-li-na"
    assert recycled.exclude_rep_ids == ["rep-li-na"]
    assert envelope.correlation_id == sent.correlation_id


async def test_nurture_contact_stops_the_follow_up_clock(
    monkeypatch: pytest.MonkeyPatch, pg_url: str, tmp_path: Path
) -> None:
    _settings_env(monkeypatch, pg_url)
    app = create_nurture(NurtureSettings(policy_file=nurture_policy(tmp_path / "nurture.yaml")))
    lead_id = uuid.uuid4()
    async with running(app, (topics.LEADS_RECYCLED,), monkeypatch):
        value, _ = envelope_bytes(topics.LEADS_ASSIGNED, assignment(lead_id), lead_id)
        await publish(app, topics.LEADS_ASSIGNED, value)
        assert await scalar(pg_url, "SELECT status FROM nurture.timers WHERE kind = 'sla_breach'") == "pending"
        activity = {"lead_id": str(lead_id), "kind": "contacted", "at": "2026-11-22T10:00:00+00:00"}
        value, _ = envelope_bytes(topics.SALES_ACTIVITY, activity, lead_id)
        await publish(app, topics.SALES_ACTIVITY, value)

    assert await scalar(pg_url, "SELECT status FROM nurture.timers WHERE kind = 'sla_breach'") == "stopped"
