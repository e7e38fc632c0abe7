"""The router's operator commands without a router or a database: the simulation's comparison on hand-built
records, `pool list` against a canned API answer, and `explain` rendering canned rows."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from cli.main import app
from cli.router import explain, pool, routing_story
from cli.router.simulate import print_report
from cli.router.simulation import Recorded, compare, summarise
from services.router.rules import RuleSet, load_rule_set
from tests.router_cli_rules import RULES_YAML, write_rules

pytestmark = pytest.mark.unit

MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Monday
SATURDAY_10 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
WIDE = {"COLUMNS": "220"}


@pytest.fixture
def rules(tmp_path: Path) -> RuleSet:
    return load_rule_set(write_rules(tmp_path))


def lead(n: int, region: str, grade: str, at: datetime, outcome: str, where: str | None = None) -> Recorded:  # noqa: PLR0913 -- one row of the table below
    team, _, rep = (where or "").partition("/")
    return Recorded(uuid.UUID(int=n), {"sales_region": region, "grade": grade}, at, outcome, team or None, rep or None)


def recorded() -> list[Recorded]:
    minutes = [MONDAY_10 + timedelta(minutes=m) for m in range(5)]
    return [
        lead(4, "cn-west", "A", minutes[3], "assigned", "west/rep-c"),  # out of order: compare sorts by time
        lead(1, "cn-east", "A", minutes[0], "assigned", "east/rep-a"),  # the same: rep-a has the lowest pointer
        lead(2, "cn-east", "B", minutes[1], "pooled"),  # → east/rep-b
        lead(3, "cn-west", "A", minutes[2], "assigned", "east/rep-b"),  # → west/rep-c
        lead(5, "cn-east", "A", SATURDAY_10, "deferred"),  # off hours for everyone → pool
        lead(6, "cn-east", "D", minutes[4], "pooled"),  # still pooled by d-to-pool
    ]


def recording() -> Console:
    return Console(record=True, width=200, file=io.StringIO())


# --- the simulation's comparison -----------------------------------------------------------------------------


def test_simulation_replays_in_arrival_order_with_caps_and_hours(rules: RuleSet) -> None:
    report = compare(recorded(), rules)
    reps = {(r["team"], r["rep"]): (r["actual"], r["simulated"], r["delta"]) for r in report["reps"]}
    assert reps == {
        ("east", "rep-a"): (1, 1, 0),
        ("east", "rep-b"): (1, 1, 0),
        ("west", "rep-c"): (1, 1, 0),  # lead 3 takes rep-c's only daily slot, so lead 4 finds nobody in west
    }
    teams = {t["team"]: (t["actual"], t["simulated"]) for t in report["teams"]}
    assert teams == {"east": (2, 2), "west": (1, 1)}
    assert (report["pool"]["actual"], report["pool"]["simulated"], report["pool"]["delta"]) == (2, 3, 1)
    assert (report["nurture"]["actual"], report["nurture"]["simulated"]) == (1, 0)
    assert report["leads"] == 6
    assert report["totals"] == {"actual": 6, "simulated": 6}
    assert report["changed"] == 4  # leads 2, 3, 4 and 5; 1 and 6 go where they went
    moves = {(m["from"], m["to"]): m["leads"] for m in report["moves"]}
    assert moves == {
        ("pool", "east/rep-b"): 1,
        ("east/rep-b", "west/rep-c"): 1,
        ("west/rep-c", "pool"): 1,
        ("nurture", "pool"): 1,
    }
    assert report["pool"]["actual_share"] == 33.3
    assert report["pool"]["simulated_share"] == 50.0
    assert report["rule_set_version"].startswith("sim-test+")
    assert any("d-to-pool" in w and "overlap" in w for w in report["warnings"])
    assert "rep_status" in report["not_replayed"]


def test_simulation_is_deterministic_and_needs_no_state(rules: RuleSet) -> None:
    assert compare(recorded(), rules) == compare(list(reversed(recorded())), rules)


def test_summary_of_no_leads_has_zero_shares() -> None:
    report = summarise([], [])
    assert report["leads"] == report["changed"] == 0
    assert report["pool"] == {"actual": 0, "simulated": 0, "delta": 0, "actual_share": 0.0, "simulated_share": 0.0}
    assert report["reps"] == report["teams"] == report["moves"] == []


def test_simulation_report_prints_per_team_and_rep_with_warnings_and_footer(rules: RuleSet) -> None:
    out = recording()
    print_report(out, compare(recorded(), rules) | {"since": "7d", "rules_file": "new.yaml"})
    text = out.export_text()
    assert "on 6 lead(s) first routed in the last 7d" in text
    assert "warning: rules d-to-pool" in text
    assert "pool (公海)" in text
    assert "nurture (deferred)" in text
    assert "team total" in text
    assert "destination changed for 4 of 6 lead(s)" in text
    assert "nurture → pool: 1" in text
    assert "not replayed: availability from sales.rep_status" in text
    pool_line = next(line for line in text.splitlines() if "pool (公海)" in line)
    assert [cell for cell in pool_line.split() if cell != "│"][-5:] == ["2", "3", "+1", "33.3", "50.0"]


def test_simulate_refuses_a_bad_rule_file_naming_the_line(tmp_path: Path) -> None:
    bad = write_rules(tmp_path, RULES_YAML.replace("members: [{rep: rep-c}]", "members: [{rep: rep-x}]"), "bad.yaml")
    result = CliRunner().invoke(app, ["rules", "simulate", "--rules", str(bad)], env=WIDE)
    assert result.exit_code == 2, result.output
    output = result.output.replace("\n", "")
    assert f"{bad}:13" in output
    assert "unknown rep rep-x" in output


# --- pool list -----------------------------------------------------------------------------------------------

POOL_ANSWER = {
    "count": 2,
    "leads": [
        {
            "lead_id": "00000000-0000-0000-0000-0000000000a1",
            "pooled_at": "2026-11-23T00:00:00+00:00",
            "age_s": 7530.0,
            "reason": "no eligible rep in east",
            "rule_id": "east",
            "rule_set_version": "v1+abcd1234",
            "previous_rep_id": "rep-a",
            "grade": "A",
            "temperature": "hot",
            "sales_region": "cn-east",
            "province": "上海",
            "city": "上海",
            "source": "web-form",
            "product_interest": ["erp", "crm"],
        },
        {
            "lead_id": "00000000-0000-0000-0000-0000000000b2",
            "age_s": 200_000.0,
            "reason": "rule d-to-pool",
            "grade": "D",
            "temperature": "cold",
            "sales_region": None,
            "product_interest": [],
        },
    ],
}


@pytest.fixture
def router_api(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=POOL_ANSWER)

    monkeypatch.setattr(pool, "make_transport", lambda: httpx.MockTransport(answer))
    return seen


def test_pool_list_prints_the_table_and_passes_the_filters(router_api: list[httpx.Request]) -> None:
    args = ["pool", "list", "--grade", "A,B", "--region", "cn-east", "--min-age", "2h", "--limit", "5"]
    result = CliRunner().invoke(app, [*args, "--url", "http://router.test"], env=WIDE)
    assert result.exit_code == 0, result.output
    (request,) = router_api
    assert request.url.path == "/v1/pool"
    assert dict(request.url.params) == {"grade": "A,B", "region": "cn-east", "min_age": "2h", "limit": "5"}
    row = next(line for line in result.output.splitlines() if "0000000000a1" in line)
    for cell in (
        "2h05m",
        "A",
        "hot",
        "cn-east / 上海 / 上海",
        "erp, crm",
        "web-form",
        "no eligible rep in east",
        "rep-a",
    ):
        assert cell in row
    other = next(line for line in result.output.splitlines() if "0000000000b2" in line)
    assert "2d07h" in other
    assert "rule d-to-pool" in other
    assert "2 leads" in result.output


def test_pool_list_json_is_the_api_answer(router_api: list[httpx.Request]) -> None:
    result = CliRunner().invoke(app, ["pool", "list", "--url", "http://router.test", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == POOL_ANSWER


def test_pool_list_without_a_router_exits_3(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    monkeypatch.setattr(pool, "make_transport", lambda: httpx.MockTransport(refuse))
    result = CliRunner().invoke(app, ["pool", "list", "--url", "http://127.0.0.1:9"], env=WIDE)
    assert result.exit_code == 3
    assert "does not answer" in result.output


def test_pool_list_refuses_a_bad_age_before_asking(router_api: list[httpx.Request]) -> None:
    result = CliRunner().invoke(app, ["pool", "list", "--max-age", "a week"], env=WIDE)
    assert result.exit_code == 2
    assert not router_api


def test_router_url_follows_the_port_convention() -> None:
    assert pool.router_url({}) == "http://127.0.0.1:8084"
    assert pool.router_url({"ROUTER_PORT": "9184"}) == "http://127.0.0.1:9184"
    assert pool.router_url({"ROUTER_URL": "http://router:80", "ROUTER_PORT": "9184"}) == "http://router:80"


# --- explain -------------------------------------------------------------------------------------------------

LEAD_ID = uuid.UUID(int=42)
AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ASSIGNMENT = uuid.UUID(int=7)
STORY: dict[str, Any] = {
    "lead": {
        "lead_id": LEAD_ID, "status": "assigned", "team_id": "west", "owner_rep_id": "rep-c", "grade": "A",
        "stage": "intake", "rejections": 1, "assignment_id": ASSIGNMENT, "routed_at": AT, "updated_at": AT,
    },
    "pool": None,
    "decisions": [
        {
            "id": 1, "decided_at": AT, "outcome": "assigned", "reason": "new_lead", "rule_id": "east",
            "rule_set_version": "v1+abcd1234", "assignment_id": uuid.UUID(int=6),
            "record": {
                "rule_id": "east", "rule_set_version": "v1+abcd1234", "stage": "intake",
                "explanation": "rule east → team east → west; rep-c by round robin",
                "rules_checked": [
                    {"rule_id": "d-to-pool", "matched": False, "why": "grade is A, not one of [D]"},
                    {"rule_id": "east", "matched": True, "why": "sales_region is cn-east"},
                ],
                "path": ["east: no eligible rep (1 off hours, 1 day cap)"],
                "candidates": [
                    {"rep_id": "rep-a", "team_id": "east", "code": "off_hours", "reason": "off hours (back 09:00)",
                     "open_leads": 3},
                    {"rep_id": "rep-b", "team_id": "east", "code": "day_cap", "reason": "at daily cap (5/5)",
                     "open_leads": 5},
                    {"rep_id": "rep-c", "team_id": "west", "code": "selected", "selected": True,
                     "reason": "lowest round-robin pointer", "pointer": 1.5, "open_leads": 0},
                ],
            },
        },
        {
            "id": 2, "decided_at": AT + timedelta(hours=1), "outcome": "assigned", "reason": "rejected",
            "rule_id": None, "rule_set_version": "v1+abcd1234", "assignment_id": ASSIGNMENT,
            "record": {"rule_id": "", "explanation": "reassignment within west", "candidates": []},
        },
    ],
    "assignments": [
        {
            "assignment_id": uuid.UUID(int=6), "rep_id": "rep-x", "team_id": "west", "rule_id": "east",
            "strategy": "round_robin", "attempt": 1, "reason": "new_lead", "status": "closed", "created_at": AT,
            "accepted_at": None, "closed_at": AT + timedelta(hours=1), "close_reason": "rejected",
        },
        {
            "assignment_id": ASSIGNMENT, "rep_id": "rep-c", "team_id": "west", "rule_id": "", "strategy": "round_robin",
            "attempt": 2, "reason": "rejected", "status": "active", "created_at": AT + timedelta(hours=1),
            "accepted_at": AT + timedelta(hours=2), "closed_at": None, "close_reason": None,
        },
    ],
}  # fmt: skip


def test_explain_renders_state_decisions_rules_path_candidates_and_ledger() -> None:
    out = recording()
    explain.render_story(out, LEAD_ID, {"routing": STORY}, explain.SECTIONS)
    text = out.export_text()
    lines = text.splitlines()
    assert f"lead {LEAD_ID}" in text
    assert "now assigned · owner rep-c (team west) · stage intake · grade A · rejections 1" in text
    assert "decision 1 of 2 · 2026-11-23 02:00:00 UTC · new_lead → assigned · rule east" in text
    assert "decision 2 of 2 · 2026-11-23 03:00:00 UTC · rejected → assigned" in text
    assert "rule east → team east → west; rep-c by round robin" in text
    assert any("d-to-pool" in line and "no" in line and "grade is A, not one of [D]" in line for line in lines)
    assert "fallback: east: no eligible rep (1 off hours, 1 day cap)" in text
    rep_b = next(line for line in lines if "rep-b" in line)
    assert "passed over (day_cap)" in rep_b
    assert "at daily cap (5/5)" in rep_b
    rep_c = next(line for line in lines if "rep-c" in line and "selected" in line)
    assert "1.500" in rep_c
    closed = next(line for line in lines if "rep-x" in line)
    assert "rejected (2026-11-23 03:00:00 UTC)" in closed
    active = next(line for line in lines if "rep-c" in line and "active" in line)
    assert "2026-11-23 04:00:00 UTC" in active


def test_explain_says_which_section_knows_nothing() -> None:
    out = recording()
    later = explain.Section("later", lambda *_: None, lambda *_: None)
    explain.render_story(out, LEAD_ID, {"routing": STORY, "later": None}, [*explain.SECTIONS, later])
    assert "later: nothing recorded for this lead" in out.export_text()


@contextmanager
def no_database(_url: str | None) -> Iterator[None]:
    yield None


def test_explain_of_a_lead_no_section_knows_exits_3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explain, "read_only", no_database)
    monkeypatch.setattr(explain, "SECTIONS", [explain.Section("routing", lambda *_: None, routing_story.render)])
    result = CliRunner().invoke(app, ["explain", str(LEAD_ID)], env=WIDE)
    assert result.exit_code == 3
    assert "unknown lead" in result.output


def test_explain_json_holds_every_section(monkeypatch: pytest.MonkeyPatch) -> None:
    def canned(_conn: object, lead_id: uuid.UUID) -> Mapping[str, Any]:
        assert lead_id == LEAD_ID
        return STORY

    monkeypatch.setattr(explain, "read_only", no_database)
    monkeypatch.setattr(explain, "SECTIONS", [explain.Section("routing", canned, routing_story.render)])
    result = CliRunner().invoke(app, ["explain", str(LEAD_ID), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["lead_id"] == str(LEAD_ID)
    assert data["routing"]["decisions"][0]["record"]["candidates"][2]["selected"] is True
    assert data["routing"]["assignments"][1]["accepted_at"] == "2026-11-23T04:00:00+00:00"
