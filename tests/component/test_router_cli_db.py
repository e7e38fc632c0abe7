"""`leadflow explain` and `leadflow rules simulate` on a real Postgres holding router rows written by hand."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb
from typer.testing import CliRunner

from cli.main import app
from cli.router.database import read_only
from services.router import store
from shared.runtime.migrations import upgrade_to_head
from shared.runtime.settings import libpq_url
from tests.router_cli_rules import ALWAYS_WORKING, TEAM_WEST_LINE, write_rules

pytestmark = pytest.mark.component

MIGRATIONS = Path(store.__file__).parent / "migrations"
WIDE = {"COLUMNS": "220"}
TABLES = ("leads", "decisions", "assignments", "pool", "rep_state", "rr_pointers", "company_owners", "exclusions")
ASSIGNED, POOLED, DEFERRED, OLD = (uuid.UUID(int=n) for n in (1, 2, 3, 4))
FIRST, SECOND = uuid.UUID(int=101), uuid.UUID(int=102)


def record(rule: str, explanation: str, candidates: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "rule_id": rule,
        "rule_set_version": "live+00000000",
        "stage": "intake",
        "explanation": explanation,
        "rules_checked": [
            {"rule_id": "d-to-pool", "matched": False, "why": "grade is A, not one of [D]"},
            {"rule_id": rule, "matched": True, "why": "sales_region is cn-east"},
        ],
        "path": [],
        "candidates": candidates,
    }


def seed(url: str, now: datetime) -> None:
    lead_sql = (
        "INSERT INTO router.leads (lead_id, status, team_id, owner_rep_id, grade, facts, updated_at, assignment_id,"
        " routed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    decision_sql = (
        "INSERT INTO router.decisions (lead_id, outcome, assignment_id, rule_id, rule_set_version, reason, record,"
        " decided_at) VALUES (%s, %s, %s, %s, 'live+00000000', %s, %s, %s)"
    )
    assignment_sql = (
        "INSERT INTO router.assignments (assignment_id, lead_id, rep_id, team_id, rule_id, rule_set_version, strategy,"
        " attempt, reason, status, decision, created_at, closed_at, close_reason, accepted_at)"
        " VALUES (%s, %s, %s, 'east', 'east', 'live+00000000', 'round_robin', %s, %s, %s, '{}', %s, %s, %s, %s)"
    )
    t1, t2, t3 = now - timedelta(hours=3), now - timedelta(hours=2), now - timedelta(hours=1)
    a = {"rep_id": "rep-a", "team_id": "east", "code": "selected", "selected": True, "reason": "lowest round-robin"
         " pointer", "pointer": 0.0, "open_leads": 0}  # fmt: skip
    b = {"rep_id": "rep-b", "team_id": "east", "code": "higher_pointer", "reason": "higher pointer (1.000 vs 0.000)",
         "pointer": 1.0, "open_leads": 2}  # fmt: skip
    with psycopg.connect(libpq_url(url)) as conn:
        for lead, status, rep, facts, routed in (
            (ASSIGNED, "assigned", "rep-b", {"sales_region": "cn-east", "grade": "A"}, t1),
            (POOLED, "pooled", None, {"sales_region": "cn-west", "grade": "B"}, t2),
            (DEFERRED, "deferred", None, {"sales_region": "cn-east", "grade": "C"}, t3),
            (OLD, "pooled", None, {"sales_region": "cn-east", "grade": "A"}, now - timedelta(days=30)),
        ):
            team, active = ("east", SECOND) if rep else (None, None)
            conn.execute(lead_sql, [lead, status, team, rep, facts["grade"], Jsonb(facts), now, active, routed])
        conn.execute(assignment_sql, [FIRST, ASSIGNED, "rep-a", 1, "new_lead", "closed", t1, t2, "rejected", None])
        conn.execute(assignment_sql, [SECOND, ASSIGNED, "rep-b", 2, "rejected", "active", t2, None, None, t3])
        story = record("east", "rule east → team east; rep-a by round robin", [a, b])
        conn.execute(decision_sql, [ASSIGNED, "assigned", FIRST, "east", "new_lead", Jsonb(story), t1])
        again = {"rule_id": "", "rule_set_version": "live+00000000", "explanation": "reassignment within east"}
        conn.execute(decision_sql, [ASSIGNED, "assigned", SECOND, None, "rejected", Jsonb(again), t2])
        pooled = {"rule_id": "", "rule_set_version": "live+00000000", "explanation": "no rule matched → the pool"}
        conn.execute(decision_sql, [POOLED, "pooled", None, None, "new_lead", Jsonb(pooled), t2])
        conn.execute(
            "INSERT INTO router.pool (lead_id, reason, pooled_at) VALUES (%s, 'no rule of stage intake matched', %s)",
            [POOLED, t2],
        )
        nurtured = {"rule_id": "slow", "rule_set_version": "live+00000000", "explanation": "rule slow → nurture"}
        conn.execute(decision_sql, [DEFERRED, "deferred", None, "slow", "new_lead", Jsonb(nurtured), t3])
        old = {"rule_id": "", "rule_set_version": "live+00000000", "explanation": "the pool"}
        conn.execute(decision_sql, [OLD, "pooled", None, None, "new_lead", Jsonb(old), now - timedelta(days=30)])


@pytest.fixture
def router_db(pg_url: str) -> str:
    upgrade_to_head(pg_url, "router", MIGRATIONS)
    seed(pg_url, datetime.now(UTC))
    return pg_url


@pytest.fixture
def candidate(tmp_path: Path) -> Path:
    return write_rules(tmp_path, ALWAYS_WORKING, "candidate.yaml")  # the replay is the same whenever the test runs


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(libpq_url(url)) as conn:
        return {t: conn.execute(f"SELECT * FROM router.{t} ORDER BY 1").fetchall() for t in TABLES}


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env=WIDE)


def test_explain_tells_the_lead_s_routing_story(router_db: str) -> None:
    result = run("explain", str(ASSIGNED), "--database-url", router_db)
    assert result.exit_code == 0, result.output
    text = result.output
    assert "now assigned · owner rep-b (team east) · stage intake · grade A · rejections 0" in text
    assert "decision 1 of 2" in text
    assert "new_lead → assigned · rule east · rules live+00000000 · stage intake" in text
    assert "decision 2 of 2" in text
    assert "rejected → assigned" in text
    assert "rule east → team east; rep-a by round robin" in text
    assert "grade is A, not one of [D]" in text
    rep_b = next(line for line in text.splitlines() if "rep-b" in line and "higher pointer" in line)
    assert "passed over (higher_pointer)" in rep_b
    closed = next(line for line in text.splitlines() if "rep-a" in line and "closed" in line)
    assert "rejected" in closed
    assert text.index("decision 1 of 2") < text.index("decision 2 of 2") < text.index("assignments (the ledger)")


def test_explain_json_and_the_pool_place(router_db: str) -> None:
    result = run("explain", str(POOLED), "--database-url", router_db, "--json")
    assert result.exit_code == 0, result.output
    routing = json.loads(result.output)["routing"]
    assert routing["lead"]["status"] == "pooled"
    assert routing["pool"]["reason"] == "no rule of stage intake matched"
    assert [d["outcome"] for d in routing["decisions"]] == ["pooled"]
    assert routing["assignments"] == []


def test_explain_of_an_unknown_lead_exits_3(router_db: str) -> None:
    result = run("explain", str(uuid.UUID(int=999)), "--database-url", router_db)
    assert result.exit_code == 3
    assert "unknown lead" in result.output


def test_simulate_compares_the_first_decisions_in_the_window_and_writes_nothing(
    router_db: str, candidate: Path
) -> None:
    before = snapshot(router_db)
    result = run("rules", "simulate", "--rules", str(candidate), "--database-url", router_db, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["leads"] == 3  # the 30-day-old lead is outside 7d; the rejection's reassignment is not a first
    reps = {(r["team"], r["rep"]): (r["actual"], r["simulated"]) for r in report["reps"]}
    assert reps == {("east", "rep-a"): (1, 1), ("east", "rep-b"): (0, 1), ("west", "rep-c"): (0, 1)}
    assert (report["pool"]["actual"], report["pool"]["simulated"]) == (1, 0)
    assert (report["nurture"]["actual"], report["nurture"]["simulated"]) == (1, 0)
    assert report["changed"] == 2
    assert report["rule_set_version"].startswith("sim-test+")
    assert snapshot(router_db) == before

    wider = run("rules", "simulate", "--rules", str(candidate), "--database-url", router_db, "--since", "60d")
    assert wider.exit_code == 0, wider.output
    assert "on 4 lead(s) first routed in the last 60d" in wider.output
    assert "destination changed for 4 of 4 lead(s)" in wider.output
    assert "not replayed" in wider.output
    assert snapshot(router_db) == before


def test_simulate_refuses_a_bad_rule_file_naming_the_line(router_db: str, tmp_path: Path) -> None:
    bad = write_rules(tmp_path, ALWAYS_WORKING.replace("team: west", "team: north"), "bad.yaml")
    result = run("rules", "simulate", "--rules", str(bad), "--database-url", router_db)
    assert result.exit_code == 2, result.output
    output = result.output.replace("\n", "")
    assert f"{bad}:{TEAM_WEST_LINE}" in output
    assert "north" in output


def test_the_commands_connection_cannot_write(router_db: str) -> None:
    with read_only(router_db) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("DELETE FROM router.decisions")
    assert len(snapshot(router_db)["decisions"]) == 5
