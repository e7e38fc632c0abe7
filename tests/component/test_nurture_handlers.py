"""nurture on a real Postgres, with the shipped policy and a clock the tests move: follow-up deadlines in the
owner's working time, tiered warnings, recycling, protection, tracks and consent, engagement and re-engagement,
pool aging, and timers firing exactly once with two loops side by side."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from services.nurture import store
from services.nurture.handlers import Nurture
from services.nurture.metrics import NurtureMetrics
from services.nurture.policy import PolicyFile
from services.nurture.timers import fire_due_once
from shared.runtime.consumer import consumer_record, decode_record
from shared.runtime.db import UnitOfWork, create_engine, producer_name
from shared.runtime.migrations import upgrade_to_head
from shared.schemas import topics
from shared.schemas.envelope import make_envelope
from shared.schemas.events import PAYLOADS
from tests.checks import sql_rows

pytestmark = pytest.mark.component

MIGRATIONS = Path(store.__file__).parent / "migrations"
POLICY = Path(__file__).resolve().parents[2] / "deploy" / "config" / "nurture.yaml"
MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Asia/Shanghai


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


class Outbox:
    async def publish(self, rows: Sequence[Any]) -> None:
        return None


class Harness:
    def __init__(self, url: str) -> None:
        self.url = url
        self.clock = Clock(MONDAY_10)
        self.policy = PolicyFile(POLICY)
        self.nurture = Nurture(self.policy)
        self.registry = CollectorRegistry()
        self.metrics = NurtureMetrics(self.registry)
        self.handlers = {
            topics.LEADS_ASSIGNED: self.nurture.on_lead_assigned,
            topics.SALES_ACTIVITY: self.nurture.on_sales_activity,
            topics.LEADS_POOLED: self.nurture.on_lead_pooled,
            topics.LEADS_DEFERRED: self.nurture.on_lead_deferred,
            topics.LEADS_MERGED: self.nurture.on_lead_merged,
            topics.MARKETING_ENGAGEMENT: self.nurture.on_marketing_engagement,
        }

    def send(self, topic: str, payload: dict[str, Any], lead_id: str | None = None) -> list[tuple[str, dict]]:
        return asyncio.run(self._send(topic, payload, lead_id))

    async def _send(self, topic: str, payload: dict[str, Any], lead_id: str | None) -> list[tuple[str, dict]]:
        env = make_envelope(
            topic, payload, producer="tests@0", lead_id=uuid.UUID(lead_id) if lead_id else None,
            occurred_at=self.clock.now(),
        )  # fmt: skip
        inbound = decode_record(consumer_record(topic, env.model_dump_json().encode()), PAYLOADS[topic])
        engine = create_engine(self.url)
        try:
            async with engine.begin() as conn:
                uow = UnitOfWork(conn, store.tables, producer_name("nurture"), self.clock)
                fresh = await uow.claim([inbound])
                if fresh:
                    await self.handlers[topic](uow, fresh)
                rows = await uow.flush_outbox()
            self.metrics.committed(uow)
        finally:
            await engine.dispose()
        return [(r.topic, orjson.loads(r.value)["payload"]) for r in rows]

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(f"leadflow_nurture_{name}", labels) or 0.0

    def at(self, when: datetime) -> list[tuple[str, dict]]:
        """Move the clock and fire what is due; the events fired, in order."""
        self.clock.at = when
        return asyncio.run(self._fire())

    async def _fire(self, loops: int = 1) -> list[tuple[str, dict]]:
        engine = create_engine(self.url)
        captured: list[Any] = []

        class Capture:
            async def publish(self, rows: Sequence[Any]) -> None:
                captured.extend(rows)

        ctx = SimpleNamespace(
            engine=engine,
            outbox=Capture(),
            tables=store.tables,
            name="nurture",
            clock=self.clock,
            metrics=None,
            domain=self.metrics,
        )
        try:
            while await fire_due_once(ctx, self.policy.current, 500) > 0:  # type: ignore[arg-type]
                pass
        finally:
            await engine.dispose()
        return [(r.topic, orjson.loads(r.value)["payload"]) for r in captured]


def assigned(lead_id: str, rep: str = "rep-li-na", grade: str = "A", team: str = "cn-east") -> dict[str, Any]:
    return {
        "assignment_id": str(uuid.uuid4()), "lead_id": lead_id, "rep_id": rep, "team_id": team, "rule_id": "r",
        "rule_set_version": "t", "strategy": "round_robin", "attempt": 1, "grade": grade,
        "decision": {"rule_id": "r", "rule_set_version": "t", "explanation": "test"},
    }  # fmt: skip


def topics_of(events: list[tuple[str, dict]]) -> list[str]:
    return [t for t, _ in events]


@pytest.fixture
def harness(pg_url: str) -> Harness:
    upgrade_to_head(pg_url, "nurture", MIGRATIONS)
    return Harness(pg_url)


def test_no_follow_up_warns_the_owner_then_the_manager_then_recycles(harness: Harness) -> None:
    lead = str(uuid.uuid4())
    assignment = assigned(lead)
    harness.send(topics.LEADS_ASSIGNED, assignment, lead)
    assert harness.at(MONDAY_10 + timedelta(minutes=89)) == []
    [(topic, warned)] = harness.at(MONDAY_10 + timedelta(minutes=90))  # grade A: 2 working hours, warned 30m before
    assert (topic, warned["level"], warned["to"]) == (topics.LEADS_SLA_WARNED, 1, "owner")
    assert warned["recycle_at"].startswith("2026-11-23T12:00")
    [(_, manager)] = harness.at(MONDAY_10 + timedelta(minutes=110))
    assert (manager["level"], manager["to"]) == (2, "manager")
    [(topic, recycled)] = harness.at(MONDAY_10 + timedelta(hours=2))
    assert topic == topics.LEADS_RECYCLED
    assert recycled["assignment_id"] == assignment["assignment_id"]
    assert (recycled["previous_rep_id"], recycled["exclude_rep_ids"], recycled["then"]) == (
        "rep-li-na", ["rep-li-na"], "reassign",
    )  # fmt: skip
    assert harness.at(MONDAY_10 + timedelta(days=90)) == []  # the no-deal clock stopped with the recycle
    counted = {
        "clocks": harness.metric("sla_clocks_started_total", grade="A"),
        "to_owner": harness.metric("sla_warnings_total", to="owner"),
        "to_manager": harness.metric("sla_warnings_total", to="manager"),
        "breaches": harness.metric("sla_breaches_total", action="reassign"),
        "breach_timers": harness.metric("timers_fired_total", kind="sla_breach"),
        "met": harness.metric("sla_met_total"),
    }
    assert counted == {"clocks": 1, "to_owner": 1, "to_manager": 1, "breaches": 1, "breach_timers": 1, "met": 0}


def test_the_deadline_counts_the_owners_working_hours_across_the_weekend(harness: Harness) -> None:
    friday_17 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # Friday 17:00 in Shanghai
    harness.clock.at = friday_17
    lead = str(uuid.uuid4())
    harness.send(topics.LEADS_ASSIGNED, assigned(lead), lead)
    [(timer_due,)] = sql_rows(harness.url, "SELECT due_at FROM nurture.timers WHERE kind = 'sla_breach'")
    assert timer_due == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Monday 10:00: 1 hour Friday + 1 hour Monday


def test_contact_stops_the_clock_and_each_follow_up_extends_protection(harness: Harness) -> None:
    lead = str(uuid.uuid4())
    assignment = assigned(lead, grade="B")
    harness.send(topics.LEADS_ASSIGNED, assignment, lead)
    contacted = {"lead_id": lead, "assignment_id": assignment["assignment_id"], "kind": "contacted",
                 "at": (MONDAY_10 + timedelta(hours=1)).isoformat()}  # fmt: skip
    harness.clock.at = MONDAY_10 + timedelta(hours=1)
    harness.send(topics.SALES_ACTIVITY, contacted, lead)
    assert harness.at(MONDAY_10 + timedelta(days=2)) == []  # no warning, no breach
    harness.clock.at = MONDAY_10 + timedelta(days=3)
    harness.send(topics.SALES_ACTIVITY, {**contacted, "kind": "follow_up", "at": harness.clock.at.isoformat()}, lead)
    assert harness.at(MONDAY_10 + timedelta(days=5)) == []  # extended: protected until day 6
    [(topic, recycled)] = harness.at(MONDAY_10 + timedelta(days=6, minutes=1))
    assert topic == topics.LEADS_RECYCLED
    assert recycled["reason"] == "protection expired without a further follow-up"
    # SLA met once for the assignment, however often the rep followed up; a protection expiry is no SLA breach
    assert harness.metric("sla_met_total") == 1
    assert harness.metric("sla_breaches_total", action="reassign") == 0
    assert harness.metric("timers_fired_total", kind="protection") == 1


def test_a_redelivered_assignment_starts_no_second_clock(harness: Harness) -> None:
    lead = str(uuid.uuid4())
    assignment = assigned(lead)
    harness.send(topics.LEADS_ASSIGNED, assignment, lead)
    harness.send(topics.LEADS_ASSIGNED, assignment, lead)  # a new event id, the same assignment
    [(pending,)] = sql_rows(harness.url, "SELECT count(*) FROM nurture.timers WHERE kind = 'sla_breach'")
    assert pending == 1


def test_a_deferred_lead_gets_its_touches_then_is_archived(harness: Harness) -> None:
    lead = str(uuid.uuid4())
    harness.send(topics.LEADS_DEFERRED, {"lead_id": lead, "track": "content", "reason": "r", "may_email": True}, lead)
    [(topic, touch)] = harness.at(MONDAY_10 + timedelta(hours=2))
    assert (topic, touch["step"], touch["template_id"]) == (topics.NURTURE_TOUCH_REQUESTED, 1, "content-follow-up")
    [(_, second)] = harness.at(MONDAY_10 + timedelta(days=5, hours=2))
    assert second["step"] == 2
    [(topic, archived)] = harness.at(MONDAY_10 + timedelta(days=20))
    assert (topic, archived["track"]) == (topics.LEADS_ARCHIVED, "content")
    [(status,)] = sql_rows(harness.url, "SELECT status FROM nurture.leads")
    assert status == "archived"
    assert harness.metric("enrolments_total", track="content") == 1
    assert harness.metric("touches_total", track="content", channel=touch["channel"]) == 2
    assert harness.metric("archived_total", track="content") == 1
    assert harness.metric("timer_lateness_seconds_count") == 3


def test_without_marketing_consent_no_touch_is_ever_requested(harness: Harness) -> None:
    lead = str(uuid.uuid4())
    harness.send(
        topics.LEADS_DEFERRED, {"lead_id": lead, "track": "cold-leads", "reason": "r", "may_email": False}, lead
    )
    events = harness.at(MONDAY_10 + timedelta(days=60))
    assert topics_of(events) == [topics.LEADS_ARCHIVED]


def engage(harness: Harness, lead: str, kind: str) -> list[tuple[str, dict]]:
    payload = {"lead_id": lead, "kind": kind, "at": harness.clock.at.isoformat()}
    return harness.send(topics.MARKETING_ENGAGEMENT, payload, lead)


def test_engagement_crossing_the_threshold_re_engages_and_ends_the_track(harness: Harness) -> None:
    lead = str(uuid.uuid4())
    deferred = {"lead_id": lead, "track": "cold-leads", "reason": "r", "may_email": True}
    harness.send(topics.LEADS_DEFERRED, deferred, lead)
    assert engage(harness, lead, "email_click") == []  # 3
    assert engage(harness, lead, "web_visit") == []  # 5
    assert engage(harness, lead, "form_submit") == []  # 15, below 20
    [(topic, reengaged)] = engage(harness, lead, "reply")  # 30: back to sales
    assert topic == topics.LEADS_REENGAGED
    assert (reengaged["engagement_score"], reengaged.get("owner_rep_id")) == (30.0, None)
    assert harness.at(MONDAY_10 + timedelta(days=60)) == []  # no more touches, no archive
    assert engage(harness, lead, "reply") == []  # within the cooldown: once


def test_engagement_decays_with_its_half_life(harness: Harness) -> None:
    lead = str(uuid.uuid4())
    harness.send(topics.LEADS_DEFERRED, {"lead_id": lead, "track": "cold-leads", "reason": "r"}, lead)
    engage(harness, lead, "reply")  # 15
    harness.clock.at += timedelta(days=7)  # one half-life: 7.5 left
    assert engage(harness, lead, "form_submit") == []  # 17.5 < 20: not re-engaged
    [(score,)] = sql_rows(harness.url, "SELECT engagement FROM nurture.leads")
    assert score == pytest.approx(17.5)


def test_a_lead_with_an_owner_is_not_taken_away_the_owner_is_signalled(harness: Harness) -> None:
    lead = str(uuid.uuid4())
    harness.send(topics.LEADS_ASSIGNED, assigned(lead, rep="rep-wang-fang"), lead)
    merged = {"lead_id": str(uuid.uuid4()), "surviving_lead_id": lead, "evidence": [{"rule": "phone"}]}
    assert harness.send(topics.LEADS_MERGED, merged, lead) == []  # 12
    [(topic, signal)] = engage(harness, lead, "reply")  # 27
    assert (topic, signal["owner_rep_id"]) == (topics.LEADS_REENGAGED, "rep-wang-fang")
    [(status,)] = sql_rows(harness.url, "SELECT status FROM nurture.leads")
    assert status == "owned"  # still the owner's: the clocks keep running
    [(pending,)] = sql_rows(
        harness.url, "SELECT count(*) FROM nurture.timers WHERE kind = 'sla_breach' AND status = 'pending'"
    )
    assert pending == 1


def test_a_pooled_lead_nobody_claims_enters_the_revival_track(harness: Harness) -> None:
    lead = str(uuid.uuid4())
    harness.send(topics.LEADS_POOLED, {"lead_id": lead, "reason": "rule fallback", "may_email": True}, lead)
    assert harness.at(MONDAY_10 + timedelta(days=13)) == []
    assert harness.at(MONDAY_10 + timedelta(days=14)) == []  # aged: enrolled, first touch an hour later
    [(topic, touch)] = harness.at(MONDAY_10 + timedelta(days=14, hours=1))
    assert (topic, touch["track"]) == (topics.NURTURE_TOUCH_REQUESTED, "pool-revival")


def test_a_claimed_lead_does_not_age_in_the_pool(harness: Harness) -> None:
    lead = str(uuid.uuid4())
    harness.send(topics.LEADS_POOLED, {"lead_id": lead, "reason": "rule fallback", "may_email": True}, lead)
    harness.send(topics.LEADS_ASSIGNED, assigned(lead, grade="C"), lead)  # claimed
    stopped = sql_rows(harness.url, "SELECT status FROM nurture.timers WHERE kind = 'pool_aging'")
    assert stopped == [("stopped",)]


def test_two_firing_loops_fire_every_due_timer_exactly_once(harness: Harness) -> None:
    leads = [str(uuid.uuid4()) for _ in range(1500)]
    asyncio.run(_bulk_timers(harness.url, leads))

    async def both() -> list[tuple[str, dict]]:
        first, second = await asyncio.gather(harness._fire(), harness._fire())
        return first + second

    harness.clock.at = MONDAY_10 + timedelta(hours=1)
    events = asyncio.run(both())
    per_lead = Counter(p["lead_id"] for _, p in events)
    assert len(per_lead) == 1500
    assert set(per_lead.values()) == {1}
    [(fired, pending)] = sql_rows(
        harness.url,
        "SELECT count(*) FILTER (WHERE status = 'fired'), count(*) FILTER (WHERE status = 'pending')"
        " FROM nurture.timers",
    )
    assert (fired, pending) == (1500, 0)


async def _bulk_timers(url: str, leads: list[str]) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            rows = [
                {"kind": "touch", "key": f"bulk/{lead}", "lead_id": uuid.UUID(lead), "correlation_id": uuid.uuid4(),
                 "due_at": MONDAY_10 + timedelta(minutes=i % 60),
                 "payload": {"track": "cold-leads", "step": 1, "channel": "email", "template": "t"}}
                for i, lead in enumerate(leads)
            ]  # fmt: skip
            from shared.runtime.db import fetch_binary  # noqa: PLC0415

            await fetch_binary(conn, *store.start_timers(rows, MONDAY_10))
    finally:
        await engine.dispose()


def test_a_nurtured_lead_that_converts_gets_no_more_touches(harness: Harness) -> None:
    lead = str(uuid.uuid4())
    harness.send(topics.LEADS_DEFERRED, {"lead_id": lead, "track": "content", "reason": "r", "may_email": True}, lead)
    converted = {"lead_id": lead, "kind": "converted", "at": MONDAY_10.isoformat()}
    harness.send(topics.SALES_ACTIVITY, converted, lead)
    assert harness.at(MONDAY_10 + timedelta(days=30)) == []


def test_a_broken_timer_is_marked_failed_and_the_others_still_fire(harness: Harness) -> None:
    leads = [str(uuid.uuid4()) for _ in range(20)]
    asyncio.run(_bulk_timers(harness.url, leads))
    broken = {"kind": "touch", "key": "broken", "lead_id": uuid.uuid4(), "correlation_id": uuid.uuid4(),
              "due_at": MONDAY_10 - timedelta(minutes=1), "payload": {}}  # fmt: skip
    asyncio.run(_insert(harness.url, [broken]))
    events = harness.at(MONDAY_10 + timedelta(hours=1))
    assert len(events) == 20
    statuses = dict(sql_rows(harness.url, "SELECT status, count(*) FROM nurture.timers GROUP BY 1"))
    assert statuses == {"fired": 20, "failed": 1}


async def _insert(url: str, rows: list[dict[str, Any]]) -> None:
    from shared.runtime.db import fetch_binary  # noqa: PLC0415

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await fetch_binary(conn, *store.start_timers(rows, MONDAY_10))
    finally:
        await engine.dispose()
