"""The lead's lifecycle after routing, end to end on the real stack (five processes, broker, Postgres, no mocks).

- The SLA loop: assigned, nobody follows up → warned → recycled → assigned to another rep (the first excluded).
- The nurture loop: deferred by a rule → touches requested → engagement → re-engaged → re-scored → assigned.

Time runs fast through a nurture policy with seconds-long durations (NURTURE_POLICY_FILE), not by sleeping.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.ingest.domain import lead_id_for
from shared.schemas import topics
from shared.schemas.envelope import Envelope, make_envelope
from shared.schemas.events import MarketingEngagement
from tests.harness import Collected, Pipeline, collect, publish

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SLA_DEADLINE_S = 6
TRACK = "cold-leads"  # the track the shipped rule `content-to-nurture` names


def fast_policy(path: Path, routing_file: Path) -> Path:
    """deploy/config/nurture.yaml's schema with seconds for days: a 6 s deadline, warnings at 2 s and 4 s."""
    spec = {
        "version": "e2e-lifecycle",
        "routing_file": str(routing_file),  # absolute: the policy is not next to the routing file
        "sla": {
            "deadline": f"{SLA_DEADLINE_S}s",
            "working_time": False,
            "warn": [{"before": "4s", "to": "owner"}, {"before": "2s", "to": "manager"}],
            "on_breach": "reassign",
        },
        "protection": {"extend_by": "1h", "max": "1d"},
        "tracks": {
            TRACK: {
                "steps": [
                    {"delay": "1s", "channel": "email", "template": "e2e-welcome"},
                    {"delay": "1s", "channel": "sms", "template": "e2e-check-in"},
                ],
                "stop_on": ["reply", "unsubscribe", "converted", "assigned"],
                "grace": "1h",  # no archive while the test runs
            }
        },
        "default_track": TRACK,
        "engagement": {
            "weights": {"email_open": 1, "email_click": 3, "web_visit": 2, "form_submit": 10, "reply": 15},
            "half_life": "7d",
            "threshold": 20,
            "cooldown": "1h",
        },
    }
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def start_fast(pipeline: Pipeline, tmp_path: Path) -> None:
    """All five services; nurture on the fast policy, its calendars from the round-the-clock routing copy."""
    routing_copy = pipeline.logdir / "routing.yaml"  # Pipeline.start writes it there (ROUTER_RULES_FILE unset)
    pipeline.env["NURTURE_POLICY_FILE"] = str(fast_policy(tmp_path / "nurture.yaml", routing_copy))
    pipeline.env["NURTURE_TIMER_INTERVAL_S"] = "0.2"
    pipeline.start()
    pipeline.wait_healthy()


def captured(external_id: str, payload: dict[str, Any]) -> tuple[Envelope, uuid.UUID]:
    """A leads.captured.v1 envelope and the lead id ingest will give it."""
    envelope = make_envelope(
        topics.LEADS_CAPTURED, {"external_id": external_id, **payload}, producer="tests@0", lead_id=None
    )
    return envelope, lead_id_for(payload["source"], external_id, envelope.event_id)


def of_lead(collected: Collected, topic: str, lead_id: uuid.UUID) -> list[dict[str, Any]]:
    """The lead's events on a topic (by the envelope's lead id: leads.scored.v1 has none in its payload)."""
    events = [e for e in collected.of(topic) if e.get("lead_id") == str(lead_id)]
    return sorted(events, key=lambda e: e["occurred_at"])


def run_collect(pipeline: Pipeline, topic_list: list[str], done: Callable[[Collected], bool], what: str) -> Collected:
    collected = asyncio.run(collect(pipeline.bootstrap, topic_list, done, timeout=120))
    if not done(collected):
        logs = "\n\n".join(f"--- {name}.log\n{pipeline.log_tail(name, 15)}" for name in pipeline.procs)
        pytest.fail(f"timed out waiting for {what}; seen: {_summary(collected)}\n{logs}")
    return collected


def _summary(collected: Collected) -> dict[str, int]:
    return {topic: len(events) for topic, events in collected.events.items()}


def candidates_for(assigned: dict[str, Any], rep_id: str) -> list[dict[str, Any]]:
    return [c for c in assigned["payload"]["decision"]["candidates"] if c["rep_id"] == rep_id]


# --- the SLA loop ----------------------------------------------------------------------------------------

SLA_TOPICS = [topics.LEADS_ASSIGNED, topics.LEADS_SLA_WARNED, topics.LEADS_RECYCLED]


def test_neglected_lead_is_warned_recycled_and_reassigned(pipeline: Pipeline, tmp_path: Path) -> None:
    start_fast(pipeline, tmp_path)
    lead, lead_id = captured(
        "sla-neglected",
        {
            "source": "e2e-web",
            "person": {"name": "Neglected Lead", "email": "cto@neglected.example.com", "title": "CTO",
                       "phone": "13912345678"},
            "company": {"name": "Neglected Corp", "country": "CN", "region": "浙江", "employees": 5000},
            "product_interest": ["crm"],
        },
    )  # fmt: skip
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_CAPTURED, [lead]))

    def reassigned(c: Collected) -> bool:
        return any(e["payload"]["attempt"] >= 2 for e in of_lead(c, topics.LEADS_ASSIGNED, lead_id))

    collected = run_collect(pipeline, SLA_TOPICS, reassigned, "a second assignment after the SLA breach")
    assigned = sorted(of_lead(collected, topics.LEADS_ASSIGNED, lead_id), key=lambda e: e["payload"]["attempt"])
    first, second = assigned[0], assigned[1]
    assert (first["payload"]["attempt"], second["payload"]["attempt"]) == (1, 2)
    first_rep = first["payload"]["rep_id"]
    assert first["payload"]["reason"] == "new_lead"
    assert first["payload"]["team_id"] == "cn-east"

    # nobody followed up: both warning tiers, about the first assignment, before the recycle
    warned = of_lead(collected, topics.LEADS_SLA_WARNED, lead_id)
    about_first = [w for w in warned if w["payload"]["assignment_id"] == first["payload"]["assignment_id"]]
    assert {(w["payload"]["level"], w["payload"]["to"]) for w in about_first} == {(1, "owner"), (2, "manager")}
    assert all(w["payload"]["rep_id"] == first_rep for w in about_first)
    recycle_at = datetime.fromisoformat(about_first[0]["payload"]["recycle_at"])
    assigned_at = datetime.fromisoformat(first["occurred_at"])
    assert recycle_at - assigned_at == timedelta(seconds=SLA_DEADLINE_S)  # the policy's deadline, round the clock

    recycled = [
        r
        for r in of_lead(collected, topics.LEADS_RECYCLED, lead_id)
        if r["payload"]["assignment_id"] == first["payload"]["assignment_id"]
    ]
    assert len(recycled) == 1
    recycle = recycled[0]
    assert recycle["payload"]["previous_rep_id"] == first_rep
    assert first_rep in recycle["payload"]["exclude_rep_ids"]
    assert recycle["payload"]["then"] == "reassign"
    assert recycle["payload"]["reason"] == "no follow-up before the deadline"
    assert recycle["correlation_id"] == first["correlation_id"] == str(lead.correlation_id)

    # the router gave it to another rep of the team, the first excluded, caused by the recycle
    assert second["causation_id"] == recycle["event_id"]
    assert second["payload"]["reason"] == "recycled"
    assert second["payload"]["previous_rep_id"] == first_rep
    assert second["payload"]["rep_id"] != first_rep
    assert second["payload"]["team_id"] == "cn-east"
    entries = candidates_for(second, first_rep)
    assert entries, f"the first rep is not among the candidates: {second['payload']['decision']}"
    assert all(c["code"] == "excluded" and not c["selected"] for c in entries)
    assert second["correlation_id"] == str(lead.correlation_id)


# --- the nurture loop ------------------------------------------------------------------------------------

NURTURE_TOPICS = [topics.LEADS_SCORED, topics.LEADS_DEFERRED, topics.NURTURE_TOUCH_REQUESTED]
REENGAGE_TOPICS = [topics.LEADS_REENGAGED, topics.LEADS_SCORED, topics.LEADS_ASSIGNED, topics.LEADS_DEFERRED]
# A white-paper reader with marketing consent: grade C (49 points) from `content-download`, so the shipped
# rule `content-to-nurture` defers it; re-engagement's 10 points make it a B, which that rule no longer takes.
CONTENT_READER = {
    "source": "content-download",
    "person": {"name": "Content Reader", "email": "reader@acme-widgets.example.com", "title": "Analyst",
               "phone": "13912345670"},
    "company": {"name": "Acme Widgets", "country": "CN", "region": "浙江", "employees": 120},
    "consent": {"marketing": True},
}  # fmt: skip


def test_deferred_lead_is_nurtured_reengaged_rescored_and_assigned(pipeline: Pipeline, tmp_path: Path) -> None:
    start_fast(pipeline, tmp_path)
    lead, lead_id = captured("nurture-reader", CONTENT_READER)
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_CAPTURED, [lead]))

    def touched(c: Collected) -> bool:
        return bool(of_lead(c, topics.NURTURE_TOUCH_REQUESTED, lead_id))

    collected = run_collect(pipeline, NURTURE_TOPICS, touched, "the first nurture touch")
    scored = of_lead(collected, topics.LEADS_SCORED, lead_id)
    assert [s["payload"]["reason"] for s in scored] == ["new_lead"]
    assert scored[0]["payload"]["grade"] in {"C", "D"}
    assert scored[0]["payload"]["may_email"] is True  # consent.marketing on the submission
    deferred = of_lead(collected, topics.LEADS_DEFERRED, lead_id)
    assert len(deferred) == 1
    assert deferred[0]["payload"]["rule_id"] == "content-to-nurture"
    assert deferred[0]["payload"]["track"] == TRACK
    assert deferred[0]["payload"]["may_email"] is True
    touch = of_lead(collected, topics.NURTURE_TOUCH_REQUESTED, lead_id)[0]
    assert (touch["payload"]["track"], touch["payload"]["step"]) == (TRACK, 1)
    assert (touch["payload"]["channel"], touch["payload"]["template_id"]) == ("email", "e2e-welcome")
    assert touch["correlation_id"] == str(lead.correlation_id)

    # the reader opens the mail, replies and fills in a form: 1 + 15 + 10 ≥ 20
    now = datetime.now(UTC)
    engagement = [
        make_envelope(
            topics.MARKETING_ENGAGEMENT,
            MarketingEngagement(lead_id=lead_id, kind=kind, at=now + timedelta(milliseconds=i), campaign="e2e"),
            producer="tests@0",
            lead_id=lead_id,
            correlation_id=lead.correlation_id,
        )
        for i, kind in enumerate(("email_open", "reply", "form_submit"))
    ]
    asyncio.run(publish(pipeline.bootstrap, topics.MARKETING_ENGAGEMENT, engagement))

    def assigned_again(c: Collected) -> bool:
        return any(e["payload"]["reason"] == "reengaged" for e in of_lead(c, topics.LEADS_ASSIGNED, lead_id))

    def assigned_or_deferred_again(c: Collected) -> bool:  # a second deferral would never end in an assignment
        return assigned_again(c) or len(of_lead(c, topics.LEADS_DEFERRED, lead_id)) > 1

    collected = run_collect(pipeline, REENGAGE_TOPICS, assigned_or_deferred_again, "the re-engaged lead's assignment")
    reengaged = of_lead(collected, topics.LEADS_REENGAGED, lead_id)
    assert len(reengaged) == 1
    back = reengaged[0]
    assert back["payload"].get("owner_rep_id") is None  # nobody owns a nurtured lead: back to sales (null: left out)
    assert back["payload"]["engagement_score"] >= 20
    assert "last: form_submit" in back["payload"]["reason"]
    assert back["causation_id"] == str(engagement[2].event_id)

    rescored = [s for s in of_lead(collected, topics.LEADS_SCORED, lead_id) if s["payload"]["reason"] == "reengaged"]
    assert len(rescored) == 1
    rescore = rescored[0]
    assert rescore["causation_id"] == back["event_id"]
    assert rescore["payload"]["reason_detail"] == back["payload"]["reason"]
    assert rescore["payload"]["score"] > scored[0]["payload"]["score"]
    assert len(of_lead(collected, topics.LEADS_DEFERRED, lead_id)) == 1, (
        f"re-scored as {rescore['payload']['grade']}, the lead was deferred again instead of assigned"
    )

    assigned = of_lead(collected, topics.LEADS_ASSIGNED, lead_id)
    assert len(assigned) == 1
    sale = assigned[0]
    assert sale["causation_id"] == rescore["event_id"]
    assert sale["payload"]["reason"] == "reengaged"
    assert sale["payload"]["attempt"] == 1
    assert sale["payload"]["team_id"] == "cn-east"  # 浙江 → cn-east, once `content-to-nurture` no longer matches
    assert sale["payload"]["rule_id"] != "content-to-nurture"
    assert sale["payload"]["grade"] == rescore["payload"]["grade"]
    assert sale["correlation_id"] == str(lead.correlation_id)
