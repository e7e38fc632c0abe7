"""The whole pipeline as five processes on a real broker and Postgres: every submission ends in one outcome."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from shared.schemas import topics
from shared.schemas.envelope import make_envelope
from tests.checks import check_accounting, wait_for_count
from tests.harness import Pipeline, collect, nurture_policy, publish
from tests.leads import all_accounted, assignments_per_lead, make_submissions

pytestmark = pytest.mark.e2e
OUTCOME_TOPICS = [topics.LEADS_ASSIGNED, topics.LEADS_POOLED, topics.LEADS_MERGED, topics.LEADS_REJECTED]


def test_every_submission_ends_in_exactly_one_outcome(pipeline: Pipeline) -> None:
    submissions = make_submissions()
    assert len(submissions) == 1000
    pipeline.start()
    pipeline.wait_healthy()
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_CAPTURED, [s.envelope for s in submissions]))
    collected = asyncio.run(collect(pipeline.bootstrap, OUTCOME_TOPICS, all_accounted(submissions)))
    check_accounting(pipeline, submissions, collected)
    assigned = len(assignments_per_lead(collected))
    assert assigned > 500, "most leads should be assigned, not pooled"
    # nurture started exactly one follow-up clock per assignment
    timers = wait_for_count(pipeline.database_url, "SELECT count(*) FROM nurture.timers", assigned)
    assert timers == assigned
    check_observability(pipeline)
    check_no_pii_in_logs(pipeline, submissions)


def check_no_pii_in_logs(pipeline: Pipeline, submissions: list) -> None:
    """No phone, email or person name of any submission appears in any service's log output."""
    logs = pipeline.log_text()
    assert "event_processed" in logs, "the services logged nothing: this check would prove nothing"
    leaked = [
        value
        for s in submissions
        for value in (s.envelope.payload["person"].get(k) for k in ("email", "phone", "name"))
        if value and value in logs
    ]
    assert not leaked, f"PII in service logs: {leaked[:5]}"


def check_observability(pipeline: Pipeline) -> None:
    """Every service's /metrics has our counters (with traffic) and FastStream's; /healthz names both deps."""
    for name, port in pipeline.ports.items():
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        consumed = [
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith(f"leadflow_{name}_messages_consumed_total{{")
        ]
        assert consumed, f"{name}: no leadflow_{name}_messages_consumed_total"
        assert sum(consumed) > 0, f"{name}: consumed nothing according to its metrics"
        assert f"leadflow_{name}_outbox_backlog" in metrics
        assert "faststream_received_messages_total" in metrics
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 200
        assert health.json() == {"broker": True, "database": True}


def test_resubmission_makes_no_second_lead(pipeline: Pipeline) -> None:
    submissions = make_submissions(unique=20, duplicates=0, invalid=0)
    pipeline.start(["ingest"])
    pipeline.wait_healthy()
    envelopes = [s.envelope for s in submissions]
    resent = [make_envelope(topics.LEADS_CAPTURED, e.payload, producer="tests@0", lead_id=None) for e in envelopes[:5]]
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_CAPTURED, envelopes + resent))
    assert all(r.event_id != e.event_id for r, e in zip(resent, envelopes, strict=False))
    seen = wait_for_count(pipeline.database_url, "SELECT sum(times_seen) FROM ingest.submissions", 25)
    assert seen == 25
    collected = asyncio.run(collect(pipeline.bootstrap, [topics.LEADS_INGESTED], lambda c: False, timeout=5))
    lead_ids = [uuid.UUID(e["lead_id"]) for e in collected.of(topics.LEADS_INGESTED)]
    assert len(lead_ids) == 20
    assert set(lead_ids) == {s.lead_id for s in submissions}


def test_neglected_lead_is_recycled_to_another_rep(pipeline: Pipeline) -> None:
    pipeline.env["NURTURE_POLICY_FILE"] = str(nurture_policy(pipeline.logdir / "nurture-3s.yaml", "3s"))
    pipeline.env["NURTURE_TIMER_INTERVAL_S"] = "0.2"
    lead = make_envelope(
        topics.LEADS_CAPTURED,
        {
            "source": "e2e-web",
            "external_id": "recycle-me",
            "person": {
                "name": "Recycle Me",
                "email": "cto@bigcorp.example.com",
                "title": "CTO",
                "phone": "13912345678",
            },
            "company": {"name": "Bigcorp", "country": "CN", "region": "浙江", "employees": 5000},
            "product_interest": ["crm"],
        },
        producer="tests@0",
        lead_id=None,
    )
    pipeline.start()
    pipeline.wait_healthy()
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_CAPTURED, [lead]))
    collected = asyncio.run(
        collect(
            pipeline.bootstrap,
            [topics.LEADS_ASSIGNED, topics.LEADS_RECYCLED],
            lambda c: len(c.of(topics.LEADS_ASSIGNED)) >= 2,
            timeout=90,
        )
    )
    assigned = sorted(collected.of(topics.LEADS_ASSIGNED), key=lambda e: e["payload"]["attempt"])
    assert len(assigned) >= 2
    first, second = assigned[0]["payload"], assigned[1]["payload"]
    assert (first["attempt"], second["attempt"]) == (1, 2)
    assert second["reason"] == "recycled"
    assert second["rep_id"] != first["rep_id"]
    assert second["team_id"] == first["team_id"] == "cn-east"
    recycled = collected.of(topics.LEADS_RECYCLED)[0]
    assert recycled["payload"]["previous_rep_id"] == first["rep_id"]
    assert recycled["correlation_id"] == assigned[0]["correlation_id"] == str(lead.correlation_id)
