"""router's handlers on a real Postgres: fairness, caps, availability, rejection, recycling, qualification,
owner stickiness, working hours, the pool's commands and the decision record.

The handlers run as the service runs them (inbox claim, handler, deferred writes and outbox in one transaction);
time is moved by a clock, not slept. The end-to-end path through the broker is in tests/integration.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from services.router import store
from services.router.handlers import PoolPolicy, Router
from services.router.metrics import RouterMetrics
from services.router.rules import RuleSetFile
from shared.runtime.consumer import consumer_record, decode_record
from shared.runtime.db import UnitOfWork, create_engine, producer_name
from shared.runtime.migrations import upgrade_to_head
from shared.schemas import topics
from shared.schemas.envelope import make_envelope
from shared.schemas.events import PAYLOADS
from tests.checks import sql_rows
from tests.leads import scored_payload as scored

pytestmark = pytest.mark.component

MIGRATIONS = Path(store.__file__).parent / "migrations"
MONDAY_10_SHANGHAI = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Asia/Shanghai

RULES = """
version: "test-1"
defaults:
  timezone: Asia/Shanghai
  hours: {mon-fri: "09:00-18:00"}
  holidays: CN
  caps: {day: 5000, week: 20000, open: 20000}
  max_rejections: 3
  recycle_cooldown: 7d
reps:
  - {id: r1, skills: [erp]}
  - {id: r2}
  - {id: r3}
  - {id: r4}
  - {id: capped, caps: {day: 2}}
  - {id: spare}
  - {id: tele1}
  - {id: tele2}
  - {id: boss, manager: true}
  - {id: night, timezone: America/New_York, hours: {mon-fri: "09:00-17:00"}, holidays: US}
teams:
  - id: weighted
    owner_stickiness: true
    max_rejections: 3
    after_rejections: manager
    manager: boss
    members:
      - {rep: r1, weight: 3}
      - {rep: r2, weight: 2}
      - {rep: r3, weight: 1}
      - {rep: r4, weight: 1}
  - id: small
    overflow: spare-team
    members:
      - {rep: capped}
  - id: spare-team
    members:
      - {rep: spare}
  - id: tele
    strategy: least_loaded
    members:
      - {rep: tele1}
      - {rep: tele2}
  - id: us
    members:
      - {rep: night}
rules:
  - id: d-nurture
    when: {grade: [D]}
    nurture: cold
  - id: qualify-lists
    when: {source: [purchased-list]}
    qualify: tele
  - id: capped-region
    when: {sales_region: [cn-north]}
    team: small
  - id: us-region
    when: {sales_region: [north-america]}
    team: us
  - id: east
    when: {sales_region: [cn-east]}
    team: weighted
  - id: fallback
    when: {}
    pool: true
  - id: qualified-east
    stage: qualified
    when: {sales_region: [cn-east]}
    team: weighted
  - id: qualified-fallback
    stage: qualified
    when: {}
    pool: true
"""


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


class Harness:
    """Runs router handlers in the service's transaction shape against a real database."""

    def __init__(self, url: str, rules_path: Path, clock: Clock, policy: PoolPolicy | None = None) -> None:
        self.url = url
        self.clock = clock
        self.router = Router(RuleSetFile(rules_path), policy)
        self.registry = CollectorRegistry()
        self.metrics = RouterMetrics(self.registry)
        self.metrics.rules_loaded(self.router.rules)
        self.handlers = {
            topics.SALES_REP_STATUS: self.router.on_rep_status,
            topics.SALES_ACTIVITY: self.router.on_sales_activity,
            topics.POOL_COMMANDS: self.router.on_pool_command,
            topics.LEADS_RECYCLED: self.router.on_lead_recycled,
            topics.LEADS_SCORED: self.router.on_lead_scored,
        }

    def run(self, batch: Sequence[tuple[str, dict[str, Any], uuid.UUID | None]]) -> list[tuple[str, dict[str, Any]]]:
        """One batch of (topic, payload, lead id); returns the events it emitted as (topic, payload)."""
        return asyncio.run(self._run(batch))

    async def _run(self, batch: Sequence[tuple[str, dict[str, Any], uuid.UUID | None]]) -> list[Any]:
        inbound = []
        for i, (topic, payload, lead_id) in enumerate(batch):
            env = make_envelope(topic, payload, producer="tests@0", lead_id=lead_id, occurred_at=self.clock.now())
            record = consumer_record(topic, env.model_dump_json().encode(), offset=i)
            inbound.append(decode_record(record, PAYLOADS[topic]))
        order = list(self.handlers)
        engine = create_engine(self.url)
        try:
            async with engine.begin() as conn:
                uow = UnitOfWork(conn, store.tables, producer_name("router"), self.clock)
                fresh = await uow.claim(inbound)
                for topic in order:
                    run = [m for m in fresh if m.topic == topic]
                    if run:
                        await self.handlers[topic](uow, run)
                rows = await uow.flush_outbox()
            self.metrics.committed(uow)
        finally:
            await engine.dispose()
        return [(row.topic, orjson.loads(row.value)["payload"]) for row in rows]

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(f"leadflow_router_{name}", labels) or 0.0


def lead_batch(n: int, **kwargs: Any) -> list[tuple[str, dict[str, Any], uuid.UUID]]:
    return [(topics.LEADS_SCORED, scored(**kwargs), uuid.uuid4()) for _ in range(n)]


def assigned(events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [p for t, p in events if t == topics.LEADS_ASSIGNED]


def of(events: list[tuple[str, dict[str, Any]]], topic: str) -> list[dict[str, Any]]:
    return [p for t, p in events if t == topic]


def activity(lead_id: str, kind: str, rep: str, assignment_id: str | None = None, reason: str | None = None) -> Any:
    payload = {"lead_id": lead_id, "kind": kind, "rep_id": rep, "at": MONDAY_10_SHANGHAI.isoformat()}
    if assignment_id:
        payload["assignment_id"] = assignment_id
    if reason:
        payload["reason"] = reason
    return (topics.SALES_ACTIVITY, payload, uuid.UUID(lead_id))


def command(kind: str, lead_id: str, rep: str, by: str | None = None) -> Any:
    payload = {"command": kind, "lead_id": lead_id, "rep_id": rep}
    if by:
        payload["by"] = by
    return (topics.POOL_COMMANDS, payload, uuid.UUID(lead_id))


@pytest.fixture
def router_db(pg_url: str) -> str:
    upgrade_to_head(pg_url, "router", MIGRATIONS)
    return pg_url


@pytest.fixture
def harness(router_db: str, tmp_path: Path) -> Harness:
    path = tmp_path / "routing.yaml"
    path.write_text(RULES, encoding="utf-8")
    return Harness(router_db, path, Clock(MONDAY_10_SHANGHAI))


def test_weighted_round_robin_holds_3_2_1_1_within_1_percent_in_bursts_and_across_restarts(
    harness: Harness, tmp_path: Path
) -> None:
    counts: Counter[str] = Counter()
    for burst in range(10):  # 10 bursts of 1,000 leads, each burst one batch
        if burst == 5:  # a restart: a new router process, the pointers come from the database
            exported = {rep: harness.metric("rep_assignments_total", team="weighted", rep=rep) for rep in counts}
            assert exported == counts, "the fairness metric counts exactly what was assigned"
            assert harness.metric("rep_weight", team="weighted", rep="r1") == 3
            harness = Harness(harness.url, tmp_path / "routing.yaml", harness.clock)
        events = harness.run(lead_batch(1000))
        counts.update(a["rep_id"] for a in assigned(events))
        assert len(assigned(events)) == 1000
    total = sum(counts.values())
    assert total == 10_000
    for rep, weight in {"r1": 3, "r2": 2, "r3": 1, "r4": 1}.items():
        assert abs(counts[rep] / total - weight / 7) < 0.01, (rep, counts)
    [(assignments, distinct)] = sql_rows(
        harness.url, "SELECT count(*), count(DISTINCT lead_id) FROM router.assignments WHERE status = 'active'"
    )
    assert assignments == distinct == 10_000  # none assigned twice


def test_one_lead_at_a_time_is_as_fair_as_a_burst(harness: Harness) -> None:
    counts: Counter[str] = Counter()
    for _ in range(70):
        counts.update(a["rep_id"] for a in assigned(harness.run(lead_batch(1))))
    expected = {"r1": 30, "r2": 20, "r3": 10, "r4": 10}
    assert all(abs(counts[rep] - n) <= 1 for rep, n in expected.items()), counts


def test_a_rep_going_offline_stops_receiving_in_the_same_batch_and_comes_back(harness: Harness) -> None:
    first = assigned(harness.run(lead_batch(70)))
    assert {a["rep_id"] for a in first} == {"r1", "r2", "r3", "r4"}
    status = (topics.SALES_REP_STATUS, {"rep_id": "r1", "status": "offline"}, None)
    second = harness.run([*lead_batch(35), status, *lead_batch(35)])  # the status sits mid-batch
    reps = Counter(a["rep_id"] for a in assigned(second))
    assert "r1" not in reps
    assert sum(reps.values()) == 70
    offline = next(c for c in assigned(second)[0]["decision"]["candidates"] if c["rep_id"] == "r1")
    assert offline["code"] == "offline"
    harness.run([(topics.SALES_REP_STATUS, {"rep_id": "r1", "status": "online"}, None)])
    back = Counter(a["rep_id"] for a in assigned(harness.run(lead_batch(70))))
    assert 25 <= back["r1"] <= 35  # no flood of catch-up leads: about its 3/7


def test_a_vacation_ends_by_itself(harness: Harness) -> None:
    until = (MONDAY_10_SHANGHAI + timedelta(hours=1)).isoformat()
    harness.run([(topics.SALES_REP_STATUS, {"rep_id": "r1", "status": "vacation", "until": until}, None)])
    during = assigned(harness.run(lead_batch(20)))
    assert "r1" not in {a["rep_id"] for a in during}
    reason = next(c for c in during[0]["decision"]["candidates"] if c["rep_id"] == "r1")["reason"]
    assert reason.startswith("vacation until")
    harness.clock.at += timedelta(hours=2)
    assert "r1" in {a["rep_id"] for a in assigned(harness.run(lead_batch(20)))}


def test_caps_are_never_exceeded_overflow_then_pool(harness: Harness) -> None:
    events = harness.run(lead_batch(2, region="cn-north"))
    assert [a["rep_id"] for a in assigned(events)] == ["capped", "capped"]
    events = harness.run(lead_batch(3, region="cn-north"))
    overflowed = assigned(events)
    assert [a["rep_id"] for a in overflowed] == ["spare", "spare", "spare"]
    record = overflowed[0]["decision"]
    assert record["path"][0].startswith("small: no eligible rep")
    capped = next(c for c in record["candidates"] if c["rep_id"] == "capped")
    assert (capped["code"], capped["reason"]) == ("day_cap", "at daily cap (2/2)")
    [(day_count,)] = sql_rows(harness.url, "SELECT day_count FROM router.rep_state WHERE rep_id = 'capped'")
    assert day_count == 2
    harness.clock.at += timedelta(days=1)  # Tuesday: a new day, a new allowance
    assert assigned(harness.run(lead_batch(1, region="cn-north")))[0]["rep_id"] == "capped"


def test_off_hours_reps_are_passed_over_with_the_time_they_are_back(harness: Harness) -> None:
    events = harness.run(lead_batch(1, region="north-america"))  # 10:00 Shanghai is 21:00 in New York
    [pooled] = of(events, topics.LEADS_POOLED)
    assert "no eligible rep in us" in pooled["reason"]
    [(record,)] = sql_rows(harness.url, "SELECT record FROM router.decisions WHERE outcome = 'pooled'")
    night = record["candidates"][0]
    assert night["code"] == "off_hours"
    assert "back 2026-11-23T09:00-05:00" in night["reason"]


def test_a_chinese_public_holiday_is_off_hours(harness: Harness) -> None:
    harness.clock.at = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)  # National Day, a Thursday, 10:00 in Shanghai
    events = harness.run(lead_batch(1))
    assert of(events, topics.LEADS_POOLED)
    assert not assigned(events)


def test_rejections_reassign_within_the_team_then_go_to_the_manager(harness: Harness) -> None:
    [first] = assigned(harness.run(lead_batch(1)))
    lead_id, had = first["lead_id"], [first["rep_id"]]
    current = first
    for n in range(1, 3):
        events = harness.run([activity(lead_id, "rejected", current["rep_id"], current["assignment_id"], "not mine")])
        [current] = assigned(events)
        assert current["rep_id"] not in had
        assert current["reason"] == "rejected"
        assert current["attempt"] == n + 1
        assert current["previous_rep_id"] == had[-1]
        had.append(current["rep_id"])
    events = harness.run([activity(lead_id, "rejected", current["rep_id"], current["assignment_id"])])
    [to_manager] = assigned(events)
    assert (to_manager["rep_id"], to_manager["strategy"]) == ("boss", "manager")
    [(active,)] = sql_rows(
        harness.url,
        "SELECT count(*) FROM router.assignments WHERE lead_id = :lead AND status = 'active'",
        {"lead": lead_id},
    )
    assert active == 1
    [(open_leads,)] = sql_rows(harness.url, "SELECT sum(open_leads) FROM router.rep_state")
    assert open_leads == 1  # every rejection freed the rejecting rep's capacity
    assert harness.metric("rejections_total", team=first["team_id"]) == 3
    assert harness.metric("reassignments_total", reason="rejected") == 3
    assert harness.metric("leads_routed_total", source="web-form", outcome="assigned") == 1  # first decision only


def test_a_stale_rejection_changes_nothing(harness: Harness) -> None:
    [first] = assigned(harness.run(lead_batch(1)))
    events = harness.run([activity(first["lead_id"], "rejected", "r4" if first["rep_id"] != "r4" else "r3")])
    assert events == []
    [(status,)] = sql_rows(harness.url, "SELECT status FROM router.assignments")
    assert status == "active"


def test_a_recycled_lead_goes_to_someone_else_and_its_owner_is_excluded_for_the_cooldown(harness: Harness) -> None:
    [first] = assigned(harness.run(lead_batch(1)))
    recycled = {
        "lead_id": first["lead_id"],
        "assignment_id": first["assignment_id"],
        "previous_rep_id": first["rep_id"],
        "reason": "no follow-up within 2 working hours",
    }
    events = harness.run([(topics.LEADS_RECYCLED, recycled, uuid.UUID(first["lead_id"]))])
    [second] = assigned(events)
    assert second["rep_id"] != first["rep_id"]
    assert second["reason"] == "recycled"
    excluded = next(c for c in second["decision"]["candidates"] if c["rep_id"] == first["rep_id"])
    assert excluded["code"] == "excluded"
    [(until,)] = sql_rows(harness.url, "SELECT until FROM router.exclusions")
    assert until == MONDAY_10_SHANGHAI + timedelta(days=7)
    # the same recycle again (redelivered with a new event id) is stale: the assignment is no longer active
    assert harness.run([(topics.LEADS_RECYCLED, recycled, uuid.UUID(first["lead_id"]))]) == []


def test_qualification_then_the_qualified_stage(harness: Harness) -> None:
    events = harness.run(lead_batch(2, source="purchased-list"))
    qualifying = assigned(events)
    assert {a["rep_id"] for a in qualifying} == {"tele1", "tele2"}  # least loaded spreads them
    assert all(a["stage"] == "qualifying" and a["strategy"] == "least_loaded" for a in qualifying)
    lead = qualifying[0]
    events = harness.run([activity(lead["lead_id"], "qualified", lead["rep_id"], lead["assignment_id"])])
    [sales] = assigned(events)
    assert sales["rule_id"] == "qualified-east"
    assert sales["rep_id"] in {"r1", "r2", "r3", "r4"}
    assert sales["reason"] == "qualified"


def test_grade_d_is_deferred_to_nurture(harness: Harness) -> None:
    events = harness.run(lead_batch(1, grade="D"))
    [deferred] = of(events, topics.LEADS_DEFERRED)
    assert (deferred["track"], deferred["rule_id"]) == ("cold", "d-nurture")


def test_owner_stickiness_sends_a_company_back_to_its_owner(harness: Harness) -> None:
    [first] = assigned(harness.run(lead_batch(1, company="杭州云帆科技有限公司")))
    later = assigned(harness.run(lead_batch(3, company="杭州云帆科技有限公司")))
    assert [a["rep_id"] for a in later] == [first["rep_id"]] * 3
    assert all(a["strategy"] == "owner_stickiness" for a in later)


def test_pool_claim_limits_cooldown_and_manager_assignment(router_db: str, tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(RULES, encoding="utf-8")
    harness = Harness(
        router_db, path, Clock(MONDAY_10_SHANGHAI), PoolPolicy(claims_per_day=1, reclaim_cooldown=timedelta(days=2))
    )
    pooled = of(harness.run(lead_batch(3, region="nowhere")), topics.LEADS_POOLED)
    ids = [p["lead_id"] for p in pooled]
    [claimed] = assigned(harness.run([command("claim", ids[0], "r2")]))
    assert (claimed["rep_id"], claimed["strategy"]) == ("r2", "claim")
    [refused] = of(harness.run([command("claim", ids[1], "r2")]), topics.POOL_COMMAND_REJECTED)
    assert refused["code"] == "claim_limit"
    [refused] = of(harness.run([command("claim", ids[0], "r3")]), topics.POOL_COMMAND_REJECTED)
    assert refused["code"] == "not_in_pool"
    [released] = of(harness.run([command("release", ids[0], "r2")]), topics.LEADS_POOLED)
    assert released["previous_rep_id"] == "r2"
    harness.clock.at += timedelta(days=1)  # a new day's claim allowance, but the cooldown holds
    [refused] = of(harness.run([command("claim", ids[0], "r2")]), topics.POOL_COMMAND_REJECTED)
    assert refused["code"] == "cooldown"
    [refused] = of(harness.run([command("assign", ids[1], "r3", by="r1")]), topics.POOL_COMMAND_REJECTED)
    assert refused["code"] == "not_a_manager"
    [by_manager] = assigned(harness.run([command("assign", ids[1], "r3", by="boss")]))
    assert (by_manager["rep_id"], by_manager["strategy"]) == ("r3", "manager")
    [(in_pool,)] = sql_rows(router_db, "SELECT count(*) FROM router.pool")
    assert in_pool == 2  # ids[0] (released) and ids[2]
    commands = {
        (c, r): harness.metric("pool_commands_total", command=c, result=r)
        for c, r in [("claim", "ok"), ("claim", "claim_limit"), ("claim", "not_in_pool"), ("claim", "cooldown"),
                     ("release", "ok"), ("assign", "not_a_manager"), ("assign", "ok")]
    }  # fmt: skip
    assert set(commands.values()) == {1.0}, commands
    assert harness.metric("leads_pooled_total", reason="released") == 1


def test_every_decision_is_recorded_with_the_rules_checked_and_each_rep_passed_over(harness: Harness) -> None:
    [event] = assigned(harness.run(lead_batch(1, grade="B")))
    record = event["decision"]
    assert record["rule_id"] == "east"
    assert [c["rule_id"] for c in record["rules_checked"]] == [
        "d-nurture",
        "qualify-lists",
        "capped-region",
        "us-region",
        "east",
    ]
    assert [c["matched"] for c in record["rules_checked"]] == [False, False, False, False, True]
    reasons = {c["rep_id"]: c for c in record["candidates"]}
    assert set(reasons) == {"r1", "r2", "r3", "r4"}
    assert reasons[event["rep_id"]]["selected"]
    assert all(c["code"] == "higher_pointer" for r, c in reasons.items() if r != event["rep_id"])
    [(stored,)] = sql_rows(harness.url, "SELECT record FROM router.decisions")
    assert stored["candidates"] == record["candidates"]


def test_the_pool_api_lists_pooled_leads_with_filters(harness: Harness) -> None:
    import httpx  # noqa: PLC0415

    from services.router import api  # noqa: PLC0415
    from services.router.settings import RouterSettings  # noqa: PLC0415

    harness.run(lead_batch(2, region="nowhere", grade="A"))
    harness.clock.at += timedelta(hours=3)
    harness.run(lead_batch(1, region="nowhere", grade="B"))
    harness.run(lead_batch(1, region="cn-east"))  # assigned: not in the pool

    class Context:
        clock = harness.clock
        engine = create_engine(harness.url)

    async def get(params: dict[str, str]) -> dict[str, Any]:
        app = api.create_api(Context(), RouterSettings())  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router") as client:
            response = await client.get("/v1/pool", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def queries() -> list[dict[str, Any]]:
        try:
            return [
                await get({}),
                await get({"grade": "A"}),
                await get({"min_age": "2h"}),
                await get({"max_age": "1h", "grade": "A,B"}),
                await get({"region": "cn-east"}),
            ]
        finally:
            await Context.engine.dispose()

    everything, grade_a, old, recent, east = asyncio.run(queries())
    assert everything["count"] == 3
    assert [row["grade"] for row in everything["leads"]] == ["A", "A", "B"]  # oldest first
    assert grade_a["count"] == 2
    assert old["count"] == 2
    assert [row["grade"] for row in recent["leads"]] == ["B"]
    assert east["count"] == 0
    row = everything["leads"][0]
    assert row["reason"] == "rule fallback"
    assert "phone" not in str(row) and "13800138000" not in str(row)  # no contact details before a claim


def test_a_rule_requiring_a_skill_passes_over_reps_without_it(router_db: str, tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(
        RULES.replace(
            "  - id: east\n    when: {sales_region: [cn-east]}\n",
            "  - id: east-erp\n    when: {sales_region: [cn-east], product_interest: [erp]}\n"
            "    requires: {skills: [erp]}\n    team: weighted\n"
            "  - id: east\n    when: {sales_region: [cn-east]}\n",
        ),
        encoding="utf-8",
    )
    harness = Harness(router_db, path, Clock(MONDAY_10_SHANGHAI))
    batch = lead_batch(5)
    for _, payload, _ in batch:
        payload["product_interest"] = ["erp"]
    events = assigned(harness.run(batch))
    assert {a["rep_id"] for a in events} == {"r1"}  # the only rep with the erp skill
    passed = {c["rep_id"]: c for c in events[0]["decision"]["candidates"]}
    assert passed["r2"]["code"] == "skill_mismatch"
    assert passed["r2"]["reason"] == "skill mismatch: lacks erp"


def test_a_re_engaged_lead_goes_to_sales_not_back_to_its_nurture_track(harness: Harness) -> None:
    [(_, payload, lead_id)] = lead_batch(1, grade="D")
    [deferred] = of(harness.run([(topics.LEADS_SCORED, payload, lead_id)]), topics.LEADS_DEFERRED)
    assert deferred["rule_id"] == "d-nurture"
    events = harness.run([(topics.LEADS_SCORED, {**payload, "reason": "reengaged"}, lead_id)])
    [again] = assigned(events)
    assert (again["rule_id"], again["reason"]) == ("east", "reengaged")
    skipped = again["decision"]["rules_checked"][0]
    assert (skipped["rule_id"], skipped["matched"]) == ("d-nurture", False)
    assert skipped["why"].endswith("skipped")
