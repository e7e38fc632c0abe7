"""The router as real processes on the real broker and Postgres: two router processes share the stream, weights
hold within 1%, caps hold, nothing is assigned twice; a rep going offline stops receiving."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from shared.schemas import topics
from shared.schemas.envelope import Envelope, make_envelope
from tests.checks import sql_rows, wait_for_count
from tests.harness import Pipeline, publish
from tests.leads import scored_payload

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

RULES = """
version: "fairness-1"
defaults:
  timezone: Asia/Shanghai
  hours: {mon-sun: "00:00-24:00"}   # round the clock: the test must not depend on the hour it runs at
  caps: {day: 100000, week: 100000, open: 100000}
reps:
  - {id: r1}
  - {id: r2}
  - {id: r3}
  - {id: r4}
  - {id: c1, caps: {day: 50}}
  - {id: c2, caps: {day: 50}}
teams:
  - id: weighted
    members:
      - {rep: r1, weight: 3}
      - {rep: r2, weight: 2}
      - {rep: r3, weight: 1}
      - {rep: r4, weight: 1}
  - id: capped
    members:
      - {rep: c1}
      - {rep: c2}
rules:
  - id: capped
    when: {sales_region: [cn-north]}
    team: capped
  - id: east
    when: {sales_region: [cn-east]}
    team: weighted
  - id: fallback
    when: {}
    pool: true
"""


def leads(n: int, region: str) -> list[Envelope]:
    return [
        make_envelope(topics.LEADS_SCORED, scored_payload(region=region), producer="tests@0", lead_id=uuid.uuid4())
        for _ in range(n)
    ]


@pytest.fixture
def routers(pipeline: Pipeline, tmp_path: Path) -> Pipeline:
    rules = tmp_path / "routing.yaml"
    rules.write_text(RULES, encoding="utf-8")
    pipeline.env.update({"ROUTER_RULES_FILE": str(rules), "ROUTER_WORKERS": "2"})  # two router processes
    pipeline.start(["router"])
    pipeline.wait_healthy()
    return pipeline


def test_two_router_processes_keep_weights_within_1_percent_caps_and_one_assignment_per_lead(routers: Pipeline) -> None:
    east = leads(10_000, "cn-east")
    north = leads(500, "cn-north")

    async def send() -> None:
        for start in range(0, 10_000, 1_000):  # bursts of 1,000, with the capped team's leads in between
            await publish(routers.bootstrap, topics.LEADS_SCORED, east[start : start + 1_000])
            await publish(routers.bootstrap, topics.LEADS_SCORED, north[start // 20 : start // 20 + 50])
            await asyncio.sleep(0.2)

    asyncio.run(send())
    wait_for_count(routers.database_url, "SELECT count(*) FROM router.decisions", 10_500, timeout=300)
    shares = dict(
        sql_rows(
            routers.database_url,
            "SELECT rep_id, count(*) FROM router.assignments WHERE team_id = 'weighted' GROUP BY rep_id",
        )
    )
    total = sum(shares.values())
    assert total == 10_000
    for rep, weight in {"r1": 3, "r2": 2, "r3": 1, "r4": 1}.items():
        assert abs(shares[rep] / total - weight / 7) < 0.01, shares
    capped = dict(
        sql_rows(
            routers.database_url, "SELECT rep_id, count(*) FROM router.assignments WHERE team_id = 'capped' GROUP BY 1"
        )
    )
    assert capped == {"c1": 50, "c2": 50}  # exactly the caps, never above
    [(pooled,)] = sql_rows(routers.database_url, "SELECT count(*) FROM router.pool")
    assert pooled == 400
    [(leads_, active)] = sql_rows(
        routers.database_url, "SELECT count(DISTINCT lead_id), count(*) FROM router.assignments WHERE status = 'active'"
    )
    assert leads_ == active == 10_100  # none assigned twice
    log = (routers.logdir / "router.log").read_text(encoding="utf-8")
    assert log.count('"service_started"') >= 2  # both processes consumed


def test_a_rep_going_offline_mid_stream_stops_receiving_within_one_batch(routers: Pipeline) -> None:
    before = leads(300, "cn-east")
    after = leads(300, "cn-east")
    offline = make_envelope(
        topics.SALES_REP_STATUS, {"rep_id": "r1", "status": "offline"}, producer="tests@0", lead_id=None
    )

    asyncio.run(publish(routers.bootstrap, topics.LEADS_SCORED, before))
    wait_for_count(routers.database_url, "SELECT count(*) FROM router.decisions", 300, timeout=120)

    async def send() -> None:
        await publish(routers.bootstrap, topics.SALES_REP_STATUS, [offline])
        await asyncio.sleep(0.5)
        await publish(routers.bootstrap, topics.LEADS_SCORED, after)

    asyncio.run(send())
    wait_for_count(routers.database_url, "SELECT count(*) FROM router.decisions", 600, timeout=120)
    [(status_at,)] = sql_rows(
        routers.database_url, "SELECT processed_at FROM router.processed_events WHERE topic = 'sales.rep_status.v1'"
    )
    event_of = {str(e.event_id): str(e.lead_id) for e in before + after}
    processed = sql_rows(
        routers.database_url,
        "SELECT event_id::text, processed_at FROM router.processed_events WHERE topic = 'leads.scored.v1'",
    )
    owner = dict(sql_rows(routers.database_url, "SELECT lead_id::text, rep_id FROM router.assignments"))
    # processed_at is the transaction's start: leads of the status's own batch or any later one never go to r1
    later = [event_of[e] for e, at in processed if at >= status_at]
    assert later, "no lead was routed after the status: the test shows nothing"
    assert [lead for lead in later if owner.get(lead) == "r1"] == []
    assert Counter(owner[event_of[e]] for e, at in processed if at < status_at).get("r1", 0) > 0


def test_rules_are_hot_reloaded_versions_kept_and_a_broken_file_refused(routers: Pipeline, tmp_path: Path) -> None:
    rules = Path(routers.env["ROUTER_RULES_FILE"])
    asyncio.run(publish(routers.bootstrap, topics.LEADS_SCORED, leads(20, "cn-east")))
    wait_for_count(routers.database_url, "SELECT count(*) FROM router.decisions", 20, timeout=120)
    rules.write_text(RULES.replace('version: "fairness-1"', 'version: "fairness-2"'), encoding="utf-8")
    log = routers.logdir / "router.log"
    deadline = time.monotonic() + 60
    while log.read_text(encoding="utf-8").count('"router_rules_reloaded"') < 2 and time.monotonic() < deadline:
        time.sleep(0.5)  # both router processes reload
    rules.write_text(RULES.replace("team: weighted", "team: nowhere"), encoding="utf-8")  # unknown team: refused
    while '"router_rules_rejected"' not in log.read_text(encoding="utf-8") and time.monotonic() < deadline:
        time.sleep(0.5)
    asyncio.run(publish(routers.bootstrap, topics.LEADS_SCORED, leads(20, "cn-east")))
    wait_for_count(routers.database_url, "SELECT count(*) FROM router.decisions", 40, timeout=120)
    versions = dict(
        sql_rows(routers.database_url, "SELECT split_part(version, '+', 1), count(*) FROM router.rule_sets GROUP BY 1")
    )
    assert versions == {"fairness-1": 1, "fairness-2": 1}  # every version the router ran with, once
    used = sql_rows(
        routers.database_url,
        "SELECT split_part(rule_set_version, '+', 1), count(*) FROM router.decisions GROUP BY 1 ORDER BY 1",
    )
    assert used == [("fairness-1", 20), ("fairness-2", 20)]  # the broken file changed nothing
    rejected = next(line for line in log.read_text(encoding="utf-8").splitlines() if "router_rules_rejected" in line)
    assert "nowhere" in rejected
    assert ".yaml:" in rejected  # names the file and line
