"""SIGKILL ingest right after it answered 202 over HTTP: after a restart every accepted lead is ingested once."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import httpx
import orjson
import pytest

from shared.schemas import topics
from tests.checks import sql_rows
from tests.harness import Pipeline, collect
from tests.integration.test_ingest_http import add_channel

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]


def test_kill_right_after_202_loses_nothing_and_ingests_once(pipeline: Pipeline) -> None:
    pipeline.start(["ingest"])
    pipeline.wait_healthy()
    key = add_channel(pipeline.database_url, "web-form")
    accepted: set[str] = set()
    url = f"http://127.0.0.1:{pipeline.ports['ingest']}/v1/leads/batch"
    for batch in range(4):
        leads = [
            {"external_id": f"H-{batch}-{i}", "person": {"email": f"lead{batch}.{i}@yunfan.cn"}} for i in range(1000)
        ]
        response = httpx.post(url, content=orjson.dumps({"leads": leads}), headers={"X-API-Key": key}, timeout=60)
        assert response.status_code == 202, response.text
        accepted |= {r["lead_id"] for r in response.json()["results"] if r["status"] == "accepted"}
    pipeline.kill("ingest")  # no shutdown hook: the live publish of the last batch is cut short
    left_behind = sql_rows(pipeline.database_url, "SELECT count(*) FROM ingest.outbox")[0][0]
    pipeline.start(["ingest"])
    pipeline.wait_healthy()
    assert len(accepted) == 4000

    def all_in(c: object) -> bool:
        return {e["lead_id"] for e in c.of(topics.LEADS_INGESTED)} >= accepted  # type: ignore[attr-defined]

    got = asyncio.run(collect(pipeline.bootstrap, [topics.LEADS_INGESTED, topics.LEADS_RESUBMITTED], all_in, 120))
    events_per_lead: dict[str, set[str]] = defaultdict(set)
    for event in got.of(topics.LEADS_INGESTED):
        events_per_lead[event["lead_id"]].add(event["event_id"])
    missing = accepted - set(events_per_lead)
    assert not missing, f"{len(missing)} accepted leads never ingested (outbox had {left_behind} rows at the kill)"
    twice = {lead: ids for lead, ids in events_per_lead.items() if len(ids) != 1}
    assert not twice, f"leads ingested more than once: {list(twice.items())[:3]}"
    assert got.of(topics.LEADS_RESUBMITTED) == [], "a replayed submission was counted as a resubmission"
    assert sql_rows(pipeline.database_url, "SELECT count(*), max(times_seen) FROM ingest.submissions") == [(4000, 1)]
