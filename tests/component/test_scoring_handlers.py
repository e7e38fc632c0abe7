"""scoring's handler on a real Postgres: a slow or failing enrichment provider holds no lead up, and says so."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from cli.main import app
from services.ingest.domain import Accepted, ingest
from services.scoring import store
from services.scoring.enrichment import Enricher, TitleProvider, read_firmographics_csv
from services.scoring.handlers import Scoring
from services.scoring.learning import Learner, LearningSettings
from services.scoring.rules import RulesFile
from shared.runtime.clock import SystemClock
from shared.runtime.consumer import consumer_record, decode_record
from shared.runtime.db import UnitOfWork, create_engine, producer_name
from shared.runtime.migrations import upgrade_to_head
from shared.schemas import topics
from shared.schemas.envelope import make_envelope
from shared.schemas.events import LeadDeduplicated, LeadReengaged
from tests.checks import sql_rows

MIGRATIONS = Path(store.__file__).parent / "migrations"
RULES = Path(__file__).resolve().parents[2] / "deploy" / "scoring" / "rules.yaml"


class SlowProvider:
    name = "slow"

    def enrich_batch(self, leads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        time.sleep(2.0)
        return [{"company.industry": "software"} for _ in leads]


class BrokenProvider:
    name = "broken"

    def enrich_batch(self, leads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        raise ConnectionError("reference service down")


def message() -> Any:
    lead_id = uuid.uuid4()
    submission = {"source": "web-form", "person": {"name": "王伟", "phone": "13800138000", "title": "销售总监"}}
    result = ingest(submission, lead_id, now=datetime.now(UTC))
    assert isinstance(result, Accepted)
    payload = {**result.payload, "dedup": {"verdict": "new"}}
    envelope = make_envelope(topics.LEADS_DEDUPLICATED, payload, producer="tests@0", lead_id=lead_id)
    record = consumer_record(topics.LEADS_DEDUPLICATED, envelope.model_dump_json().encode())
    return decode_record(record, LeadDeduplicated)


@pytest.fixture
def scoring_db(pg_url: str) -> str:
    upgrade_to_head(pg_url, "scoring", MIGRATIONS)
    return pg_url


def test_a_slow_and_a_failing_provider_leave_the_lead_scored_and_flagged(scoring_db: str) -> None:
    clock = SystemClock()
    enricher = Enricher([SlowProvider(), BrokenProvider(), TitleProvider()], timeout_s=0.1, clock=clock)
    scoring = Scoring(RulesFile(RULES), enricher, Learner(LearningSettings()))
    inbound = message()

    async def run() -> list[dict[str, Any]]:
        engine = create_engine(scoring_db)
        try:
            async with engine.begin() as conn:
                uow = UnitOfWork(conn, store.tables, producer_name("scoring"), clock)
                await scoring.on_lead_deduplicated(uow, [inbound])
                rows = await uow.flush_outbox()
            return [orjson.loads(r.value)["payload"] for r in rows]
        finally:
            await engine.dispose()
            enricher.close()

    [scored] = asyncio.run(run())
    assert scored["enrichment"]["failed"] == ["slow", "broken"]
    assert scored["enrichment"]["fields"]["person.seniority"]["value"] == "director"
    assert "company.industry" not in scored["enrichment"]["fields"]
    assert scored["grade"] in {"A", "B", "C", "D"}
    assert any(f["name"] == "seniority" for f in scored["factors"])


def test_load_firmographics_replaces_the_reference_table_and_refuses_a_bad_file(pg_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    sample = Path(__file__).resolve().parents[2] / "deploy" / "scoring" / "firmographics.csv"
    result = runner.invoke(app, ["scoring", "load-firmographics", str(sample), "--database-url", pg_url])
    assert result.exit_code == 0, result.output
    expected = len(read_firmographics_csv(sample))
    assert sql_rows(pg_url, "SELECT count(*) FROM scoring.firmographics") == [(expected,)]

    bad = tmp_path / "bad.csv"
    bad.write_text("name,employees\n云帆科技,about twenty\n", encoding="utf-8")
    result = runner.invoke(app, ["scoring", "load-firmographics", str(bad), "--database-url", pg_url])
    assert result.exit_code == 1
    assert "line 2" in result.output
    assert sql_rows(pg_url, "SELECT count(*) FROM scoring.firmographics") == [(expected,)], "the old table stays"


def reengaged(lead_id: uuid.UUID, reason: str) -> Any:
    envelope = make_envelope(
        topics.LEADS_REENGAGED,
        {"lead_id": str(lead_id), "reason": reason, "engagement_score": 5.0},
        producer="tests@0",
        lead_id=lead_id,
    )
    return decode_record(consumer_record(topics.LEADS_REENGAGED, envelope.model_dump_json().encode()), LeadReengaged)


def test_two_reengagements_of_one_lead_in_one_batch_both_count(scoring_db: str) -> None:
    clock = SystemClock()
    enricher = Enricher([TitleProvider()], timeout_s=1.0, clock=clock)
    scoring = Scoring(RulesFile(RULES), enricher, Learner(LearningSettings()))
    lead = message()

    async def run() -> list[dict[str, Any]]:
        engine = create_engine(scoring_db)
        try:
            for handler, batch in (
                (scoring.on_lead_deduplicated, [lead]),
                (scoring.on_lead_reengaged, [reengaged(lead.lead_id, "clicked"), reengaged(lead.lead_id, "replied")]),
            ):
                async with engine.begin() as conn:
                    uow = UnitOfWork(conn, store.tables, producer_name("scoring"), clock)
                    await handler(uow, batch)
                    rows = await uow.flush_outbox()
            return [orjson.loads(r.value)["payload"] for r in rows]
        finally:
            await engine.dispose()
            enricher.close()

    first, second = asyncio.run(run())
    assert (first["reason_detail"], second["reason_detail"]) == ("clicked", "replied")
    assert second["rule_points"] > first["rule_points"], "the second re-engagement adds to the first"
    [(engagement,)] = sql_rows(scoring_db, "SELECT engagement FROM scoring.leads")
    assert [e["reason"] for e in engagement] == ["clicked", "replied"]
