"""The pipeline as SREs see it: a real Prometheus scraping the five services runs every dashboard and alert
expression; the metrics agree with what happened; no canary phone, email or name reaches any log; one
correlation id follows a lead through every service's log."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
import yaml

from cli.main import app as cli
from shared.schemas import topics
from shared.schemas.envelope import Envelope, make_envelope
from tests.harness import ROUTING_RULES, Collected, Pipeline, collect, publish, round_the_clock
from tests.leads import make_submissions
from tests.monitoring import alert_value_expressions, dashboard_expressions, recording_rules
from tests.prometheus import Prometheus

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

OUTCOMES = [topics.LEADS_ASSIGNED, topics.LEADS_POOLED, topics.LEADS_DEFERRED, topics.LEADS_MERGED,
            topics.LEADS_REJECTED]  # fmt: skip
# Values no test data or library would produce by chance: any of them in a log is a leak.
CANARY_PHONE_CN = "13957246813"
CANARY_PHONE_GB = "+44 7700 900461"
CANARIES = [
    "Quillfeather", "Ottoline", "Canaryworth", "Canarysson", "Canaryheart", "龚金丝雀",
    "canary.quillfeather@canary-mail.example", "ottoline.canaryworth@example.org", "canarysson@@broken",
    "poison.canaryheart@example.com", CANARY_PHONE_CN, "+8613957246813", "139 5724 6813", CANARY_PHONE_GB,
    "+447700900461", "7700900461", "7700 900461", "wx_canary_quill",
]  # fmt: skip


def canary_captures() -> list[Envelope]:
    """Canary people through Kafka: a lead, its duplicate from another channel, a Chinese name, a reject."""
    leads = [
        ("web-form", "canary-1", {"name": "Anna Quillfeather", "email": "Canary.Quillfeather@canary-mail.example",
                                  "phone": CANARY_PHONE_CN, "wechat": "wx_canary_quill"}),
        ("trade-show", "canary-2", {"name": "Anna Quillfeather", "email": "canary.quillfeather@canary-mail.example"}),
        ("web-form", "canary-3", {"name": "龚金丝雀", "phone": "139 5724 6813"}),
        ("web-form", "canary-4", {"name": "Bartholomew Canarysson", "email": "canarysson@@broken"}),
    ]  # fmt: skip
    return [
        make_envelope(
            topics.LEADS_CAPTURED,
            {
                "source": source,
                "external_id": ext,
                "person": person,
                "company": {"name": "Canary Aviaries Ltd", "country": "CN", "employees": 800},
                "product_interest": ["crm"],
                "consent": {"marketing": True},
            },
            producer="tests@0",
            lead_id=None,
        )
        for source, ext, person in leads
    ]


POISON = orjson.dumps(
    {"not": "an envelope", "person": {"name": "Poison Canaryheart", "email": "poison.canaryheart@example.com"}}
)


def policy(target: Path, routing_file: Path) -> Path:
    """Grade A: 3 s to follow up, a reminder at 1 s, then the pool (one wave, no endless recycling)."""
    spec = {
        "version": "observability-test",
        "routing_file": str(routing_file),
        "sla": {"deadline": "1d", "working_time": False, "warn": []},
        "grades": {"A": {"deadline": "3s", "warn": [{"before": "2s", "to": "owner"}], "on_breach": "pool"}},
        "tracks": {"cold-leads": {"steps": [{"delay": "1s", "channel": "email", "template": "t"}], "grace": "1d"}},
        "default_track": "cold-leads",
        "engagement": {"weights": {"form_submit": 10}, "half_life": "7d", "threshold": 15, "cooldown": "1d"},
    }
    target.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def test_dashboards_alerts_metrics_logs_on_a_running_pipeline(pipeline: Pipeline, tmp_path: Path) -> None:
    pipeline.env.update({
        "LEADFLOW_LOG_LEVEL": "DEBUG",  # every log line the services can write, not only INFO
        "LEADFLOW_GAUGES_INTERVAL_S": "1", "LEADFLOW_LAG_INTERVAL_S": "1", "NURTURE_TIMER_INTERVAL_S": "0.2",
        "INGEST_CHANNEL_REFRESH_S": "0.3",
    })  # fmt: skip
    routing = round_the_clock(ROUTING_RULES, pipeline.logdir / "routing.yaml")
    pipeline.env["ROUTER_RULES_FILE"] = str(routing)
    pipeline.env["NURTURE_POLICY_FILE"] = str(policy(pipeline.logdir / "nurture-obs.yaml", routing))
    pipeline.start()
    pipeline.wait_healthy()
    prometheus = Prometheus(tmp_path)
    prometheus.start(pipeline.ports)
    try:
        run_scenario(pipeline, prometheus)
    finally:
        prometheus.stop()


def run_scenario(pipeline: Pipeline, prometheus: Prometheus) -> None:
    submissions = make_submissions(unique=200, duplicates=20, invalid=10, seed=11)
    canaries = canary_captures()
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_CAPTURED, [s.envelope for s in submissions] + canaries,
                        raw=[POISON]))  # fmt: skip
    resent = make_envelope(topics.LEADS_CAPTURED, submissions[0].envelope.payload, producer="tests@0", lead_id=None)
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_CAPTURED, [resent]))  # a channel sending a lead again
    http_lead = post_canary_over_http(pipeline)
    expected = len(submissions) + len(canaries) + 2  # and the HTTP lead, and the poison (outcomes_seen counts it)
    collected = asyncio.run(collect(pipeline.bootstrap, OUTCOMES, lambda c: outcomes_seen(c) >= expected, 180))
    assert outcomes_seen(collected) >= expected, "not every submission reached an outcome"
    drive_sales_and_marketing(pipeline, collected)
    wait_for(prometheus, 'sum(leadflow_router_sales_activities_total{kind="converted"})', lambda v: v >= 1)
    wait_for(prometheus, "sum(leadflow_nurture_sla_breaches_total)", lambda v: v >= 1)
    wait_for(prometheus, 'sum(leadflow_router_pool_commands_total{command="claim",result="ok"})', lambda v: v >= 1)
    wait_for(prometheus, "sum(leadflow_nurture_reengagements_total)", lambda v: v >= 1)
    wait_for(prometheus, 'sum({__name__=~"leadflow_.+_consumer_lag_messages"})', lambda v: v == 0)
    time.sleep(3)  # a few more scrapes: rates over the last minute have two samples
    check_expressions(prometheus)
    check_metrics_match_events(prometheus, collected, len(submissions) + len(canaries) + 2)
    check_no_canary_in_logs(pipeline)
    check_correlation_everywhere(pipeline, collected, canaries, http_lead)


def post_canary_over_http(pipeline: Pipeline) -> str:
    from typer.testing import CliRunner  # noqa: PLC0415 -- only this test needs a channel key

    result = CliRunner().invoke(cli, ["channel", "add", "partner-gb", "--database-url", pipeline.database_url])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    person = {"name": "Ottoline Canaryworth", "phone": CANARY_PHONE_GB, "email": "ottoline.canaryworth@example.org"}
    lead = {"external_id": "canary-http", "person": person, "company": {"name": "Canaryworth & Co", "country": "GB"}}
    for _ in range(50):  # the channel registry refreshes every 0.3 s
        response = httpx.post(f"http://127.0.0.1:{pipeline.ports['ingest']}/v1/leads", json=lead,
                              headers={"X-API-Key": key}, timeout=30)  # fmt: skip
        if response.status_code != 401:
            break
        time.sleep(0.3)
    assert response.status_code == 202, response.text
    return str(response.json()["event_id"])


def outcomes_seen(collected: Collected) -> int:
    """Submissions with an outcome: a lead's first routing, a merge or a rejection (a DLQ'd poison counts too)."""
    first = {e["payload"]["lead_id"] for t in (topics.LEADS_ASSIGNED, topics.LEADS_POOLED, topics.LEADS_DEFERRED)
             for e in collected.of(t)}  # fmt: skip
    return len(first) + len(collected.of(topics.LEADS_MERGED)) + len(collected.of(topics.LEADS_REJECTED)) + 1


def drive_sales_and_marketing(pipeline: Pipeline, collected: Collected) -> None:
    """What sales and marketing systems send back: contact, conversion, a rejection, a pool claim, engagement."""
    now = datetime.now(UTC).isoformat()
    assigned = collected.of(topics.LEADS_ASSIGNED)
    assert len(assigned) >= 20, "too few assignments to drive the funnel"
    activities = []
    for i, event in enumerate(assigned[:15]):
        p = event["payload"]
        base = {"lead_id": p["lead_id"], "assignment_id": p["assignment_id"], "rep_id": p["rep_id"], "at": now}
        activities.append({**base, "kind": "contacted"})
        activities.append({**base, "kind": "contacted"})  # reported twice: the funnel counts the lead once
        if i < 5:
            activities.append({**base, "kind": "converted", "deal_value": 1000.0})
    p = assigned[-1]["payload"]
    activities.append({"lead_id": p["lead_id"], "assignment_id": p["assignment_id"], "rep_id": p["rep_id"],
                       "at": now, "kind": "rejected", "reason": "not my region"})  # fmt: skip
    envelopes = [make_envelope(topics.SALES_ACTIVITY, a, producer="tests@0", lead_id=uuid.UUID(a["lead_id"]))
                 for a in activities]  # fmt: skip
    asyncio.run(publish(pipeline.bootstrap, topics.SALES_ACTIVITY, envelopes))
    pooled = wait_for_pooled(pipeline)
    rep = yaml.safe_load((pipeline.logdir / "routing.yaml").read_text(encoding="utf-8"))["reps"][1]["id"]
    claim = make_envelope(topics.POOL_COMMANDS, {"command": "claim", "lead_id": pooled[0], "rep_id": rep},
                          producer="tests@0", lead_id=uuid.UUID(pooled[0]))  # fmt: skip
    engaged = [make_envelope(topics.MARKETING_ENGAGEMENT, {"lead_id": pooled[1], "kind": "form_submit", "at": now},
                             producer="tests@0", lead_id=uuid.UUID(pooled[1])) for _ in range(2)]  # fmt: skip
    other = yaml.safe_load((pipeline.logdir / "routing.yaml").read_text(encoding="utf-8"))["reps"][2]["id"]
    late = make_envelope(topics.POOL_COMMANDS, {"command": "claim", "lead_id": pooled[0], "rep_id": other},
                         producer="tests@0", lead_id=uuid.UUID(pooled[0]))  # fmt: skip
    asyncio.run(publish(pipeline.bootstrap, topics.POOL_COMMANDS, [claim, late]))  # the second is refused
    asyncio.run(publish(pipeline.bootstrap, topics.MARKETING_ENGAGEMENT, engaged))


def wait_for_pooled(pipeline: Pipeline) -> list[str]:
    """Two leads in the pool (rules pool some; grade A leads nobody contacts are pooled after 3 s)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        collected = asyncio.run(collect(pipeline.bootstrap, [topics.LEADS_POOLED], lambda c: False, timeout=2))
        pooled = list(dict.fromkeys(e["payload"]["lead_id"] for e in collected.of(topics.LEADS_POOLED)))
        if len(pooled) >= 2:
            return pooled
    raise AssertionError("no two leads reached the pool")


def wait_for(prometheus: Prometheus, expr: str, ok: Callable[[float], bool], timeout: float = 120) -> float:
    deadline, value = time.monotonic() + timeout, float("nan")
    while time.monotonic() < deadline:
        result = prometheus.query(expr)["data"]["result"]
        if result and ok(value := float(result[0]["value"][1])):
            return value
        time.sleep(1)
    raise AssertionError(f"{expr} = {value} after {timeout}s; targets {prometheus.targets_up()}")


def check_expressions(prometheus: Prometheus) -> None:
    """Every dashboard panel, recording rule and alert (its value part) parses and returns data."""
    assert set(prometheus.targets_up().values()) == {"up"}, prometheus.targets_up()
    failures = []
    checks = [*dashboard_expressions(), *[(f"record {name}", expr) for name, expr in recording_rules()]]
    checks += [(f"alert {name}", expr) for name, expr, expect_empty in alert_value_expressions() if not expect_empty]
    assert len(checks) > 40, "too few expressions found: the check would prove little"
    for where, expr in checks:
        answer = prometheus.query(expr)
        if answer.get("status") != "success":
            failures.append(f"{where}: does not parse: {answer.get('error')}\n  {expr}")
        elif not answer["data"]["result"]:
            failures.append(f"{where}: no data\n  {expr}")
    for name, expr, _ in alert_value_expressions():  # the empty-when-healthy ones must still parse
        if prometheus.query(expr).get("status") != "success":
            failures.append(f"alert {name}: does not parse\n  {expr}")
    broken = [(g["name"], r["name"], r.get("lastError")) for g in prometheus.rule_groups() for r in g["rules"]
              if r.get("health") not in {"ok", "unknown"}]  # fmt: skip
    assert not broken, f"rules failing in Prometheus: {broken}"
    assert not failures, "\n".join(failures)


def value(prometheus: Prometheus, expr: str) -> float:
    result = prometheus.query(expr)["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def check_metrics_match_events(prometheus: Prometheus, collected: Collected, captured: int) -> None:
    """The counters say what the topics say."""
    rejected = len(collected.of(topics.LEADS_REJECTED))
    merged = len(collected.of(topics.LEADS_MERGED))
    assert value(prometheus, "sum(leadflow_ingest_leads_received_total)") == captured  # HTTP and re-sent; no poison
    assert value(prometheus, "sum(leadflow_ingest_resubmissions_total)") == 1
    refused = 'sum(leadflow_router_pool_commands_total{command="claim",result="not_in_pool"})'
    assert value(prometheus, refused) == 1
    assert value(prometheus, "sum(leadflow_ingest_leads_rejected_total)") >= rejected > 0
    assert value(prometheus, 'sum(leadflow_ingest_dlq_messages_total{topic="leads.captured.v1"})') == 1
    assert value(prometheus, "sum(leadflow_dedup_leads_merged_total)") == merged > 0
    routed = value(prometheus, "sum(leadflow_router_leads_routed_total)")
    assert routed == value(prometheus, "sum(leadflow_router_lead_latency_seconds_count)") > 0
    assert value(prometheus, 'sum(leadflow_router_sales_activities_total{kind="contacted"})') == 15
    assert value(prometheus, 'sum(leadflow_router_sales_activities_total{kind="converted"})') == 5
    assert value(prometheus, "sum(leadflow_router_rejections_total)") == 1
    assert value(prometheus, "sum(leadflow_nurture_sla_warnings_total)") >= 1
    assert value(prometheus, "sum(leadflow_scoring_score_count)") == value(
        prometheus, "sum(leadflow_dedup_leads_unique_total)"
    )


def check_no_canary_in_logs(pipeline: Pipeline) -> None:
    logs = pipeline.log_text()
    assert logs.count("event_processed") > 500, "the services logged too little: this check would prove nothing"
    assert '"level": "debug"' in logs or '"level":"debug"' in logs, "DEBUG lines missing: the log level was not set"
    forms = {form for canary in CANARIES for form in (canary, canary.lower(), json.dumps(canary)[1:-1])}
    leaked = sorted(form for form in forms if form in logs)
    assert not leaked, f"PII in service logs: {leaked}"


def check_correlation_everywhere(
    pipeline: Pipeline, collected: Collected, leads: list[Envelope], http_event: str
) -> None:
    """A routed canary lead's correlation id is on its canonical line in every service it passed through."""
    routed = {e["correlation_id"] for t in (topics.LEADS_ASSIGNED, topics.LEADS_POOLED, topics.LEADS_DEFERRED)
              for e in collected.of(t)}  # fmt: skip
    # The canary people overlap (same email, same phone): the first to arrive is the lead, the others merge into it.
    [correlation, *_] = [str(lead.correlation_id) for lead in leads if str(lead.correlation_id) in routed]
    for name in ("ingest", "dedup", "scoring", "router", "nurture"):
        lines = [json.loads(line) for line in (pipeline.logdir / f"{name}.log").read_text().splitlines()
                 if correlation in line and line.startswith("{")]  # fmt: skip
        assert any(line.get("event") == "event_processed" for line in lines), f"{name}: no line for {correlation}"
    ingest_log = (pipeline.logdir / "ingest.log").read_text()
    assert http_event in ingest_log, "the HTTP submission's event id is not in ingest's log"
