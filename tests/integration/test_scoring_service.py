"""scoring as a real process on the real broker and Postgres: enrichment, rules, learning, hot reload, re-scoring."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cli.embedded import REPO_ROOT
from services.ingest.domain import Accepted, ingest
from shared.schemas import topics
from shared.schemas.envelope import Envelope, make_envelope
from tests.checks import sql_rows, wait_for_count
from tests.harness import Pipeline, collect, publish

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]
NOW = datetime.now(UTC)
RULES = REPO_ROOT / "deploy" / "scoring" / "rules.yaml"
FIRMOGRAPHICS = REPO_ROOT / "deploy" / "scoring" / "firmographics.csv"


def first_company() -> tuple[str, str]:
    """A company of the sample reference table, and its industry as the table gives it."""
    import csv  # noqa: PLC0415

    with FIRMOGRAPHICS.open(encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r.get("name") and r.get("industry"))
    return row["name"], row["industry"]


def deduplicated(submission: dict[str, Any], lead_id: uuid.UUID | None = None) -> Envelope:
    """A submission through ingest's real normalisation, passed by dedup as new."""
    lead_id = lead_id or uuid.uuid4()
    result = ingest(submission, lead_id, now=NOW)
    assert isinstance(result, Accepted), result
    payload = {**result.payload, "dedup": {"verdict": "new", "rule": "no_candidate"}}
    return make_envelope(topics.LEADS_DEDUPLICATED, payload, producer="tests@0", lead_id=lead_id)


def good_lead(i: int, company: str) -> dict[str, Any]:
    return {
        "source": "partner",
        "captured_at": NOW.isoformat(),
        "person": {"name": f"张{'伟芳娜敏静丽强磊'[i % 8]}", "phone": f"1380013{i:04d}", "title": "采购总监"},
        "company": {"name": company, "country": "CN"},
        "product_interest": ["crm"],
    }


def poor_lead(i: int) -> dict[str, Any]:
    return {
        "source": "purchased_list",
        "captured_at": NOW.isoformat(),
        "person": {"name": f"李{'伟芳娜敏静丽强磊'[i % 8]}", "email": f"li{i}@qq.com", "title": "实习生"},
    }


def activity(lead_id: str, kind: str) -> Envelope:
    payload = {"lead_id": lead_id, "kind": kind, "at": NOW.isoformat(), "rep_id": "rep-1"}
    return make_envelope(topics.SALES_ACTIVITY, payload, producer="tests@0", lead_id=uuid.UUID(lead_id))


def scored_by_lead(collected: Any) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for event in collected.of(topics.LEADS_SCORED):
        found.setdefault(event["lead_id"], []).append(event["payload"])
    return found


def wait_until(check: Any, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.3)
    pytest.fail(f"not reached within {timeout}s")


def test_enrich_score_learn_reload_and_rescore(pipeline: Pipeline, tmp_path: Path) -> None:  # noqa: PLR0915 -- one story
    rules = tmp_path / "rules.yaml"
    shutil.copy(RULES, rules)
    pipeline.env = {
        "SCORING_RULES_FILE": str(rules),
        "SCORING_RULES_CHECK_S": "0.2",
        "SCORING_FIRMOGRAPHICS_CSV": str(FIRMOGRAPHICS),
        "SCORING_MIN_OUTCOMES": "40",
        "SCORING_RETRAIN_EVERY": "60",
        "SCORING_SHADOW_MIN_OUTCOMES": "20",
        "SCORING_RECENT_WINDOW": "60",
        "SCORING_LEARN_INTERVAL_S": "0.2",
    }
    pipeline.start(["scoring"])
    pipeline.wait_healthy()
    company, industry = first_company()

    # 1. cold start: 120 leads, scored by the rules alone, enriched with provenance
    good = [deduplicated(good_lead(i, company)) for i in range(60)]
    poor = [deduplicated(poor_lead(i)) for i in range(60)]
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_DEDUPLICATED, good + poor))
    got = asyncio.run(collect(pipeline.bootstrap, [topics.LEADS_SCORED], lambda c: len(scored_by_lead(c)) >= 120))
    scored = scored_by_lead(got)
    first_good = scored[str(good[0].lead_id)][0]
    first_poor = scored[str(poor[0].lead_id)][0]
    fields = first_good["enrichment"]["fields"]
    assert fields["company.industry"]["provider"] == "firmographics"
    assert fields["person.seniority"] == {**fields["person.seniority"], "value": "director", "provider": "title"}
    assert fields["phone.region"]["provider"] == "phone_region"
    assert all(f["at"] for f in fields.values())
    assert first_good["model_points"] is None, "cold start: the rules alone decide"
    assert "/" not in first_good["model_version"], "the rules' version alone"
    assert first_good["score"] == round(first_good["rule_points"])
    assert first_good["score"] > first_poor["score"]
    assert first_good["factors"], "a rep sees why"
    assert any(f["name"] == "free_mail" and f["contribution"] < 0 for f in first_poor["factors"])
    assert industry  # the reference row named one
    rules_version = first_good["model_version"]

    # 2. outcomes: the good ones convert, the poor ones are lost; the trainer learns and stores a champion
    outcomes = [activity(str(e.lead_id), "converted") for e in good] + [activity(str(e.lead_id), "lost") for e in poor]
    outcomes.append(activity(str(uuid.uuid4()), "converted"))  # a lead scoring never saw: recorded, not learned
    outcomes.append(activity(str(good[0].lead_id), "contacted"))  # not an outcome
    asyncio.run(publish(pipeline.bootstrap, topics.SALES_ACTIVITY, outcomes))
    assert wait_for_count(pipeline.database_url, "SELECT count(*) FROM scoring.outcomes", 120) == 120
    labels = dict(sql_rows(pipeline.database_url, "SELECT label, count(*) FROM scoring.outcomes GROUP BY label"))
    assert labels == {True: 60, False: 60}
    champion = wait_until(
        lambda: sql_rows(pipeline.database_url, "SELECT version FROM scoring.model_versions WHERE status = 'champion'")
    )
    assert len(champion) == 1

    # 3. warmed up: new leads are scored by rules and model; the model learned which leads convert
    later_good = [deduplicated(good_lead(100 + i, company)) for i in range(5)]
    later_poor = [deduplicated(poor_lead(100 + i)) for i in range(5)]
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_DEDUPLICATED, later_good + later_poor))
    got = asyncio.run(collect(pipeline.bootstrap, [topics.LEADS_SCORED], lambda c: len(scored_by_lead(c)) >= 130))
    scored = scored_by_lead(got)
    good_model = [scored[str(e.lead_id)][0]["model_points"] for e in later_good]
    poor_model = [scored[str(e.lead_id)][0]["model_points"] for e in later_poor]
    assert None not in good_model + poor_model
    assert min(good_model) > 50 > max(poor_model)
    event = scored[str(later_good[0].lead_id)][0]
    assert event["model_version"].startswith(rules_version + "/")
    assert any(f["name"].startswith("model:") for f in event["factors"])

    # 4. a retrain in the background (a worker process) gives a shadow model; measured on the next outcomes
    #    before learning each, it is promoted only if it ranked them better, else retired, with the numbers kept
    wait_until(
        lambda: sql_rows(pipeline.database_url, "SELECT version FROM scoring.model_versions WHERE status = 'shadow'")
    )
    more = [deduplicated(good_lead(300 + i, company)) for i in range(15)]
    more += [deduplicated(poor_lead(300 + i)) for i in range(15)]
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_DEDUPLICATED, more))
    assert wait_for_count(pipeline.database_url, "SELECT count(*) FROM scoring.leads", 160) == 160
    verdicts = [activity(str(e.lead_id), "converted" if i < 15 else "disqualified") for i, e in enumerate(more)]
    asyncio.run(publish(pipeline.bootstrap, topics.SALES_ACTIVITY, verdicts))
    [(status, metrics)] = wait_until(
        lambda: sql_rows(
            pipeline.database_url,
            "SELECT status, metrics FROM scoring.model_versions WHERE metrics ? 'shadow_auc'",
        )
    )
    assert metrics["shadow_outcomes"] >= 20
    assert status == ("champion" if metrics["promoted"] else "retired")

    # 5. hot reload: a changed rules file is the next lead's version; a broken one is refused, the last kept
    rules.write_text(rules.read_text(encoding="utf-8") + "\n# reviewed\n", encoding="utf-8")
    time.sleep(1.0)
    rules.write_text("version: [this is not a rules file\n", encoding="utf-8")
    time.sleep(1.0)
    reloaded = deduplicated(good_lead(200, company))
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_DEDUPLICATED, [reloaded]))
    got = asyncio.run(
        collect(pipeline.bootstrap, [topics.LEADS_SCORED], lambda c: str(reloaded.lead_id) in scored_by_lead(c))
    )
    new_version = scored_by_lead(got)[str(reloaded.lead_id)][0]["model_version"].split("/")[0]
    assert new_version != rules_version

    # 6. re-engagement: the lead is scored again, with the reason; the history keeps both scorings
    target = str(poor[1].lead_id)
    reengaged = make_envelope(
        topics.LEADS_REENGAGED,
        {"lead_id": target, "reason": "clicked_pricing_email", "engagement_score": 12.0},
        producer="tests@0",
        lead_id=uuid.UUID(target),
    )
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_REENGAGED, [reengaged]))
    got = asyncio.run(
        collect(pipeline.bootstrap, [topics.LEADS_SCORED], lambda c: len(scored_by_lead(c).get(target, [])) >= 2)
    )
    again = scored_by_lead(got)[target][-1]
    assert again["reason"] == "reengaged"
    assert again["reason_detail"] == "clicked_pricing_email"
    history = sql_rows(
        pipeline.database_url, f"SELECT reason FROM scoring.scores WHERE lead_id = '{target}' ORDER BY id"
    )
    assert [r for (r,) in history] == ["new_lead", "reengaged"]
    log = pipeline.log_text()
    assert "outcome_for_unscored_lead" in log
    assert "13800130000" not in log  # PII: never in clear text
