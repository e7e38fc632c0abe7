"""`leadflow trace` and `leadflow explain` on the rows the five services' real handlers wrote for one lead and
its duplicate: the steps in order with their facts, a merged id resolved to its survivor, no contact data shown."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from cli.main import app
from shared.schemas import topics
from tests.checks import sql_rows
from tests.infra import fresh_database
from tests.lead_journey import Journey, drive, unmerge

pytestmark = pytest.mark.component

WIDE = {"COLUMNS": "240"}
CANARY = {"name": "Zhang Canary", "phone": "13912345678", "email": "canary.zhang@canary-robotics.cn",
          "title": "销售总监"}  # fmt: skip
DUPLICATE = {"name": "Canary Zhang-Li", "phone": "139 1234 5678", "email": "Canary.Zhang@canary-robotics.cn",
             "wechat": "canary_wx_2026"}  # fmt: skip
# Every form the person's details could take in output: national and E.164 phone, both names, email, chat id.
SECRETS = ("13912345678", "1234 5678", "canary.zhang@", "zhang canary", "canary zhang", "canary_wx_2026")


@pytest.fixture(scope="module")
def journey(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Journey:
    return drive(fresh_database(pg_server), tmp_path_factory.mktemp("journey"), CANARY, DUPLICATE)


@pytest.fixture(scope="module")
def unmerged(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Journey:
    journey = drive(fresh_database(pg_server), tmp_path_factory.mktemp("unmerged"), CANARY, DUPLICATE)
    _, merged_id = survivor_and_merged(journey)
    unmerge(journey.url, merged_id, by="ops-li", reason="two people share the mailbox")
    return journey


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=WIDE)


def survivor_and_merged(journey: Journey) -> tuple[str, str]:
    merged = journey.first(topics.LEADS_MERGED)["payload"]
    return merged["surviving_lead_id"], merged["lead_id"]


def in_order(text: str, expected: list[str]) -> None:
    positions = []
    for fact in expected:
        assert fact in text, f"{fact!r} not in the output:\n{text}"
        positions.append(text.index(fact))
    assert positions == sorted(positions), (
        f"out of order: {[e for _, e in sorted(zip(positions, expected, strict=True))]}"
    )


def test_trace_shows_every_service_s_steps_in_time_order(journey: Journey) -> None:
    survivor, merged_id = survivor_and_merged(journey)
    merge = journey.first(topics.LEADS_MERGED)["payload"]
    scored = journey.first(topics.LEADS_SCORED)["payload"]
    assigned = journey.first(topics.LEADS_ASSIGNED)["payload"]
    result = run("trace", survivor, "--database-url", journey.url)
    assert result.exit_code == 0, result.output
    in_order(
        result.output,
        [
            "from web-form was rejected: person no_contact",
            "received via source web-form, external id f-1001",
            "unique lead",
            f"duplicate {merged_id} merged in (rule {merge['rule']}",
            f"scored {scored['score']} {scored['grade']} {scored['temperature']}",
            f"assigned to rep {assigned['rep_id']} (team t1, rule r-enterprise, {assigned['strategy']})",
            "SLA warning 1 (to the owner) timer due at",
            "SLA warning 1 sent to the owner",
        ],
    )
    assert "leads.sla_warned.v1 event" in result.output
    assert "not yet published" in result.output  # nurture's timer loop committed it; nobody published it
    assert "ts-77" not in result.output  # the duplicate's own arrival belongs to its own id's trace


def test_trace_of_a_merged_id_shows_both_ids_and_the_survivor_s_journey(journey: Journey) -> None:
    survivor, merged_id = survivor_and_merged(journey)
    result = run("trace", merged_id, "--database-url", journey.url, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert (doc["lead_id"], doc["survivor_id"]) == (merged_id, survivor)
    steps = [(s["lead_id"], s["event"]) for s in doc["steps"]]
    order = [
        steps.index((survivor, "received")),
        steps.index((merged_id, "received")),
        steps.index((merged_id, "merged")),
        steps.index((survivor, "scored")),
        steps.index((survivor, "assigned")),
        steps.index((survivor, "sla_warned")),
    ]
    assert order == sorted(order)
    merged = doc["steps"][steps.index((merged_id, "merged"))]
    assert merged["service"] == "dedup"
    assert f"merged into {survivor}" in merged["what"]
    assert doc["steps"][0]["elapsed_s"] == 0
    assert {s["service"] for s in doc["steps"]} == {"ingest", "dedup", "scoring", "router", "nurture"}
    text = run("trace", merged_id, "--database-url", journey.url).output
    assert f"merged into {survivor}: later events carry the surviving id" in text
    assert "received via source trade-show, external id ts-77" in text


def test_explain_tells_ingest_dedup_and_scoring_before_routing(journey: Journey) -> None:
    survivor, merged_id = survivor_and_merged(journey)
    merge = journey.first(topics.LEADS_MERGED)["payload"]
    scored = journey.first(topics.LEADS_SCORED)["payload"]
    rep = journey.first(topics.LEADS_ASSIGNED)["payload"]["rep_id"]
    result = run("explain", survivor, "--database-url", journey.url)
    assert result.exit_code == 0, result.output
    text = result.output
    lines = text.splitlines()
    in_order(text, ["how it came in", "decided ", "factors of the latest score", "decision 1 of 1"])
    assert any("web-form" in line and "f-1001" in line for line in lines)
    quality = next(line for line in lines if line.startswith("quality "))
    for flag in scored["quality"]["flags"]:
        assert flag in quality
    assert "kept by scoring" in text
    assert "rejects under this key: 1" in text
    assert f"lead {merged_id} merged into this one (1)" in text
    assert f"rule {merge['rule']}" in text
    for evidence in merge["evidence"]:
        assert any(evidence["rule"] in line and f"{evidence['weight']:+g}" in line for line in lines)
    assert "person.wechat=***" in text
    assert "verdict new" in text
    assert f"score {scored['score']} · grade {scored['grade']} · {scored['temperature']}" in text
    assert f"rule set {scored['model_version'].partition('/')[0]}" in text
    factor_lines = [
        next(i for i, line in enumerate(lines) if f["name"] in line and f"{f['contribution']:+.2f}" in line)
        for f in scored["factors"]
    ]
    assert factor_lines == sorted(factor_lines)  # largest |contribution| first, as scored
    assert f"owner {rep} (team t1)" in text


def test_explain_of_a_merged_id_shows_its_merge_then_the_survivor_s_story(journey: Journey) -> None:
    survivor, merged_id = survivor_and_merged(journey)
    scored = journey.first(topics.LEADS_SCORED)["payload"]
    rep = journey.first(topics.LEADS_ASSIGNED)["payload"]["rep_id"]
    text = run("explain", merged_id, "--database-url", journey.url).output
    in_order(
        text,
        ["ts-77", f"merged into {survivor}", f"lead {merged_id} was merged into {survivor}", "factors of the latest"],
    )
    assert f"owner {rep} (team t1)" in text
    result = run("explain", merged_id, "--database-url", journey.url, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["survivor_id"] == survivor
    assert doc["dedup"]["merged_into"]["surviving_lead_id"] == survivor
    assert doc["ingest"]["submissions"][0]["source"] == "trade-show"
    assert doc["scoring"]["latest"]["score"] == scored["score"]
    assert doc["routing"]["lead"]["owner_rep_id"] == rep


def test_an_undone_merge_is_told_and_the_id_is_a_lead_of_its_own_again(unmerged: Journey) -> None:
    survivor, merged_id = survivor_and_merged(unmerged)
    result = run("trace", merged_id, "--database-url", unmerged.url, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["survivor_id"] == merged_id  # no longer resolved to the survivor: later events use its own id
    events = [s["event"] for s in doc["steps"]]
    assert events.index("received") < events.index("merged") < events.index("unmerged")
    undone = doc["steps"][events.index("unmerged")]["what"]
    assert "merge undone by ops-li: two people share the mailbox" in undone
    assert "scored" not in events  # the survivor's steps are not this lead's any more
    text = run("explain", merged_id, "--database-url", unmerged.url).output
    assert "undone 2026-11-23 03:00:00 UTC by ops-li: two people share the mailbox" in text
    assert "was merged into" not in text
    assert "scoring: nothing recorded for this lead" in text
    trace = run("trace", survivor, "--database-url", unmerged.url).output
    assert f"duplicate {merged_id} split off again by ops-li" in trace


@pytest.mark.parametrize("command", ["trace", "explain"])
def test_an_unknown_lead_exits_3(journey: Journey, command: str) -> None:
    result = run(command, str(uuid.UUID(int=404)), "--database-url", journey.url)
    assert result.exit_code == 3
    assert "unknown lead" in result.output


def outputs(journey: Journey) -> Iterator[tuple[list[str], str]]:
    for lead_id in survivor_and_merged(journey):
        for command in ("trace", "explain"):
            for extra in ([], ["--json"]):
                args = [command, lead_id, "--database-url", journey.url, *extra]
                result = run(*args)
                assert result.exit_code == 0, result.output
                yield args, result.output


def test_no_contact_detail_of_the_person_is_ever_printed(journey: Journey) -> None:
    stored: Any = sql_rows(journey.url, "SELECT changed_fields::text, conflicts::text FROM dedup.merges")
    assert "canary_wx_2026" in str(stored)  # the details are there to leak: the commands must not show them
    for args, output in outputs(journey):
        found = [secret for secret in SECRETS if secret in output.casefold()]
        assert not found, f"{args} printed {found}"
