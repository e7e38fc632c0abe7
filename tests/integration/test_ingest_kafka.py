"""The bad-input table over Kafka: every case published to leads.captured.v1 gets its verdict, none is lost."""

from __future__ import annotations

import asyncio

import pytest

from shared.schemas import topics
from shared.schemas.envelope import make_envelope
from tests.checks import sql_rows
from tests.harness import Pipeline, collect, publish
from tests.ingest_cases import CASES

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_every_bad_input_case_gets_its_verdict_over_kafka(pipeline: Pipeline) -> None:
    pipeline.start(["ingest"])
    pipeline.wait_healthy()
    by_event = {}
    envelopes = []
    for i, case in enumerate(CASES):
        payload = case.lead if "source" in case.lead else {"source": "fuzz", **case.lead}
        payload = payload if "external_id" in payload else {**payload, "external_id": f"k{i}"}
        envelope = make_envelope(topics.LEADS_CAPTURED, payload, producer="tests@0", lead_id=None)
        by_event[str(envelope.event_id)] = case
        envelopes.append(envelope)
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_CAPTURED, envelopes))
    out = [topics.LEADS_INGESTED, topics.LEADS_REJECTED]
    got = asyncio.run(
        collect(pipeline.bootstrap, out, lambda c: sum(len(c.of(t)) for t in out) >= len(CASES), timeout=90)
    )
    verdicts = {e["causation_id"]: (t, e) for t in out for e in got.of(t)}
    assert set(verdicts) == set(by_event), "a submission got no verdict, or more than one"
    for event_id, case in by_event.items():
        topic, event = verdicts[event_id]
        payload = event["payload"]
        if case.accepted:
            assert topic == topics.LEADS_INGESTED, (case.name, payload)
            assert case.check is None or case.check(payload), case.name
            assert set(case.flags) <= set(payload["quality"]["flags"]), case.name
        else:
            assert topic == topics.LEADS_REJECTED, (case.name, payload)
            assert any(e["field"] == case.field and e["code"].startswith(case.code or "") for e in payload["errors"]), (
                case.name,
                payload["errors"],
            )
    rejected = sum(not c.accepted for c in CASES)
    assert sql_rows(pipeline.database_url, "SELECT count(*) FROM ingest.rejects") == [(rejected,)]
