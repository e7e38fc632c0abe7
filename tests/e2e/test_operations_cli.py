"""`leadflow dlq replay` re-drives a dead letter through a running ingest; `leadflow status` reads the live stack."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from cli.embedded import REPO_ROOT, free_port
from cli.main import app as cli
from shared.runtime.migrations import upgrade_to_head
from shared.runtime.settings import normalise_database_url
from shared.schemas import topics
from tests.checks import wait_for_count
from tests.dead_letters import dead_letter
from tests.harness import SERVICE_NAMES, Pipeline, collect, publish
from tests.leads import make_submissions

pytestmark = pytest.mark.e2e


def leadflow(pipeline: Pipeline, home: Path, *args: str) -> Result:
    """The CLI against the test's broker and database; services not started listen nowhere."""
    ports = {f"{name.upper()}_PORT": str(pipeline.ports.get(name) or free_port()) for name in SERVICE_NAMES}
    env = {**ports, "LEADFLOW_HOME": str(home), "COLUMNS": "200"}
    env |= {"KAFKA_BOOTSTRAP_SERVERS": pipeline.bootstrap, "DATABASE_URL": pipeline.database_url}
    return CliRunner(env=env).invoke(cli, list(args))


def poll(check: Callable[[], Any], timeout: float = 90.0) -> Any:
    """Call check until it returns something truthy; its last answer otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


def test_replay_redrives_a_dead_letter_through_ingest_exactly_once(pipeline: Pipeline, tmp_path: Path) -> None:
    (submission,) = make_submissions(unique=1, duplicates=0, invalid=0, source="dlq-replay")
    pipeline.start(["ingest"])
    pipeline.wait_healthy()
    value = submission.envelope.model_dump_json().encode()
    # As if ingest had dead-lettered this valid lead before a fix: it never reached its inbox.
    asyncio.run(
        dead_letter(
            pipeline.bootstrap, topics.LEADS_CAPTURED, value, code="invalid_payload", message="before the fix",
            offset=41, headers=submission.envelope.kafka_headers(),
        )
    )  # fmt: skip
    count = f"SELECT count(*) FROM ingest.submissions WHERE external_id = '{submission.external_id}'"

    dry = leadflow(pipeline, tmp_path, "dlq", "replay", topics.LEADS_CAPTURED, "--all", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    assert len(json.loads(dry.stdout)["replayed"]) == 1
    assert captured_records(pipeline) == 0  # a dry run sends nothing

    first = leadflow(pipeline, tmp_path, "dlq", "replay", topics.LEADS_CAPTURED)
    assert first.exit_code == 2  # nothing chosen: no --all, --error or --offset
    replayed = leadflow(pipeline, tmp_path, "dlq", "replay", topics.LEADS_CAPTURED, "--all")
    assert replayed.exit_code == 0, replayed.output
    assert "replayed 1" in replayed.stdout
    assert wait_for_count(pipeline.database_url, count, 1) == 1
    ingested = asyncio.run(
        collect(pipeline.bootstrap, [topics.LEADS_INGESTED], lambda c: c.of(topics.LEADS_INGESTED), timeout=60)
    )
    assert [uuid.UUID(e["lead_id"]) for e in ingested.of(topics.LEADS_INGESTED)] == [submission.lead_id]

    again = leadflow(pipeline, tmp_path, "dlq", "replay", topics.LEADS_CAPTURED, "--all", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["replayed"] == []
    assert json.loads(again.stdout)["skipped"][0]["reason"] == "already replayed"
    assert captured_records(pipeline) == 1
    seen = "SELECT sum(times_seen) FROM ingest.submissions"
    assert wait_for_count(pipeline.database_url, seen, 1) == 1


def captured_records(pipeline: Pipeline) -> int:
    """How many records leads.captured.v1 holds (read for a few seconds, so a late one would show)."""
    got = asyncio.run(collect(pipeline.bootstrap, [topics.LEADS_CAPTURED], lambda c: False, timeout=3))
    return len(got.records[topics.LEADS_CAPTURED])


TIMERS = [  # kind, status, due in seconds from now
    ("sla_breach", "pending", -60),
    ("sla_breach", "pending", 3600),
    ("touch", "pending", 3600),
    ("touch", "fired", -60),
    ("track_end", "failed", -60),
]


def seed_down_services(database_url: str) -> None:
    """Tables of services that are not running: a stuck dedup outbox and some nurture timers."""
    for name in ("dedup", "nurture"):
        upgrade_to_head(database_url, name, REPO_ROOT / "services" / name / "migrations")
    engine = sa.create_engine(normalise_database_url(database_url))
    with engine.begin() as conn:
        for n in range(3):
            conn.execute(
                sa.text(
                    "INSERT INTO dedup.outbox (event_id, topic, value, created_at)"
                    " VALUES (:id, 'leads.deduplicated.v1', '{}', now() - make_interval(hours => :h))"
                ),
                {"id": uuid.uuid4(), "h": n + 1},
            )
        for n, (kind, status, due_in) in enumerate(TIMERS):
            conn.execute(
                sa.text(
                    "INSERT INTO nurture.timers (kind, key, lead_id, correlation_id, due_at, status, payload,"
                    " created_at) VALUES (:kind, :key, :lead, :lead, now() + make_interval(secs => :due),"
                    " :status, '{}', now())"
                ),
                {"kind": kind, "key": f"t{n}", "lead": uuid.uuid4(), "due": due_in, "status": status},
            )
    engine.dispose()


def test_status_shows_health_lag_dead_letters_outbox_and_timers(pipeline: Pipeline, tmp_path: Path) -> None:
    submissions = make_submissions(unique=6, duplicates=0, invalid=0, source="status")
    seed_down_services(pipeline.database_url)
    pipeline.start(["ingest"])
    pipeline.wait_healthy()
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_CAPTURED, [s.envelope for s in submissions]))
    asyncio.run(dead_letter(pipeline.bootstrap, topics.LEADS_CAPTURED, b"x", code="invalid_json", message="m"))
    ingested = asyncio.run(
        collect(pipeline.bootstrap, [topics.LEADS_INGESTED], lambda c: len(c.of(topics.LEADS_INGESTED)) >= 6)
    )
    published = len(ingested.records[topics.LEADS_INGESTED])
    assert published >= 6

    def caught_up() -> dict[str, Any] | None:
        result = leadflow(pipeline, tmp_path, "status", "--json")
        report = json.loads(result.stdout)
        ingest = report["services"][0]
        done = ingest["lag"] == {topics.LEADS_CAPTURED: 0} and ingest["outbox"] == {"rows": 0, "oldest_age_s": None}
        return {"exit_code": result.exit_code, **report} if done else None

    report = poll(caught_up)
    assert report, "ingest never showed lag 0 and an empty outbox"
    assert report["exit_code"] == 1  # four services are down
    services = {s["service"]: s for s in report["services"]}
    assert services["ingest"]["healthy"] is True
    assert [name for name, s in services.items() if not s["healthy"]] == ["dedup", "scoring", "router", "nurture"]
    assert services["dedup"]["health"] == "down"
    assert services["ingest"]["dead_letters"] == {f"{topics.LEADS_CAPTURED}.dlq": 1}
    # dedup never ran: everything ingest published waits for it.
    assert services["dedup"]["lag"][topics.LEADS_INGESTED] == published
    assert services["dedup"]["outbox"]["rows"] == 3
    assert services["dedup"]["outbox"]["oldest_age_s"] >= 3 * 3600 - 60
    assert {(t["kind"], t["pending"], t["overdue"], t["failed"]) for t in services["nurture"]["timers"]} == {
        ("sla_breach", 2, 1, 0),
        ("touch", 1, 0, 0),
        ("track_end", 0, 0, 1),
    }

    table = leadflow(pipeline, tmp_path, "status")
    assert table.exit_code == 1
    assert "ingest  healthy" in table.stdout
    assert "dedup  DOWN" in table.stdout
    only_ingest = leadflow(pipeline, tmp_path, "status", "ingest")
    assert only_ingest.exit_code == 0, only_ingest.output
