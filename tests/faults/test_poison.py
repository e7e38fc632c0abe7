"""Poison messages land in their DLQ with headers naming the error, and the stream goes on."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from shared.schemas import topics
from shared.schemas.envelope import make_envelope
from tests.checks import check_accounting
from tests.harness import Pipeline, collect, publish
from tests.leads import all_accounted, make_submissions

pytestmark = pytest.mark.faults
OUTCOME_TOPICS = [topics.LEADS_ASSIGNED, topics.LEADS_POOLED, topics.LEADS_MERGED, topics.LEADS_REJECTED]
CAPTURED_DLQ = f"{topics.LEADS_CAPTURED}.dlq"
SCORED_DLQ = f"{topics.LEADS_SCORED}.dlq"


def test_poison_goes_to_dlq_and_the_stream_goes_on(pipeline: Pipeline) -> None:
    submissions = make_submissions(unique=60, duplicates=5, invalid=5)
    wrong_type = make_envelope(topics.LEADS_INGESTED, {"source": "x"}, producer="tests@0", lead_id=None)
    broken_payload = make_envelope(
        topics.LEADS_SCORED, {"score": "very high"}, producer="tests@0", lead_id=uuid.uuid4()
    )
    pipeline.start()
    pipeline.wait_healthy()
    half = len(submissions) // 2
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_CAPTURED, [s.envelope for s in submissions[:half]]))
    asyncio.run(
        publish(
            pipeline.bootstrap,
            topics.LEADS_CAPTURED,
            [wrong_type],
            raw=[b"\x00not json at all", b'{"event_id": "not-a-uuid", "payload": {}}', b"[1, 2, 3]"],
        )
    )
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_SCORED, [broken_payload]))
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_CAPTURED, [s.envelope for s in submissions[half:]]))

    collected = asyncio.run(collect(pipeline.bootstrap, OUTCOME_TOPICS, all_accounted(submissions)))
    check_accounting(pipeline, submissions, collected)
    dead = asyncio.run(
        collect(
            pipeline.bootstrap,
            [CAPTURED_DLQ, SCORED_DLQ],
            lambda c: len(c.records[CAPTURED_DLQ]) >= 4 and len(c.records[SCORED_DLQ]) >= 1,
        )
    )
    codes = sorted(dict(r.headers)["dlq.error_code"].decode() for r in dead.records[CAPTURED_DLQ])
    assert codes == ["invalid_envelope", "invalid_envelope", "invalid_json", "wrong_topic"]
    (scored,) = dead.records[SCORED_DLQ]
    headers = {k: v.decode() for k, v in scored.headers}
    assert headers["dlq.error_code"] == "invalid_payload"
    assert headers["dlq.service"] == "router"
    assert headers["dlq.original_topic"] == topics.LEADS_SCORED
    assert int(headers["dlq.original_offset"]) >= 0
    assert "score" in headers["dlq.error_message"]
    assert all(dict(r.headers)["dlq.service"] == b"ingest" for r in dead.records[CAPTURED_DLQ])
