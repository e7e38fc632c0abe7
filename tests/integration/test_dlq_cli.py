"""`leadflow dlq list|show|replay` against dead letters written by the real `DeadLetters` to a real broker."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cli.main import app as cli
from shared.schemas import topics
from shared.schemas.envelope import Envelope, make_envelope
from tests.dead_letters import dead_letter
from tests.harness import collect

pytestmark = pytest.mark.integration
CAPTURED_DLQ = f"{topics.LEADS_CAPTURED}.dlq"
NAME, EMAIL, PHONE = "Qiaolin Canarysson", "qiaolin.canary@example.org", "13987650042"


def leadflow(*args: str) -> Result:
    return CliRunner(env={"COLUMNS": "200"}).invoke(cli, list(args))  # wide: table cells unbroken


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def captured(external_id: str, person: dict[str, str] | None = None) -> Envelope:
    payload = {"source": "dlq-test", "external_id": external_id, "person": person or {"email": "a@example.com"}}
    return make_envelope(topics.LEADS_CAPTURED, payload, producer="tests@0", lead_id=None)


def test_list_counts_dead_letters_by_topic_code_and_service(kafka: str) -> None:
    lead = make_envelope(topics.LEADS_SCORED, {"score": "high"}, producer="tests@0", lead_id=uuid.uuid4())
    asyncio.run(dead_letter(kafka, topics.LEADS_CAPTURED, b"\x00junk", code="invalid_json", message="not JSON"))
    for offset in (1, 2):
        value = captured(f"x{offset}").model_dump_json().encode()
        asyncio.run(dead_letter(kafka, topics.LEADS_CAPTURED, value, code="wrong_topic", message="no", offset=offset))
    scored = lead.model_dump_json().encode()
    asyncio.run(
        dead_letter(kafka, topics.LEADS_SCORED, scored, code="invalid_payload", message="score", service="router")
    )

    summaries = {s["topic"]: s for s in as_json(leadflow("dlq", "list", "--bootstrap", kafka, "--json"))}
    assert summaries[CAPTURED_DLQ]["messages"] == 3
    assert summaries[CAPTURED_DLQ]["by_error_code"] == {"wrong_topic": 2, "invalid_json": 1}
    assert summaries[CAPTURED_DLQ]["by_service"] == {"ingest": 3}
    assert summaries[f"{topics.LEADS_SCORED}.dlq"]["by_service"] == {"router": 1}
    assert summaries[f"{topics.LEADS_ASSIGNED}.dlq"]["messages"] == 0  # every DLQ, the empty ones too
    assert summaries[CAPTURED_DLQ]["oldest_failed_at"] is not None

    rows = as_json(leadflow("dlq", "list", topics.LEADS_SCORED, "--bootstrap", kafka, "--json"))
    assert [(r["error_code"], r["service"], r["original"]) for r in rows] == [("invalid_payload", "router", "3:0")]
    assert rows[0]["event_id"] == str(lead.event_id)
    assert rows[0]["lead_id"] == str(lead.lead_id)
    assert rows[0]["replayed"] is False
    table = leadflow("dlq", "list", CAPTURED_DLQ, "--bootstrap", kafka)
    assert table.exit_code == 0
    assert "wrong_topic" in table.stdout
    assert "invalid_json" in table.stdout


def test_show_masks_names_phones_and_emails_unless_revealed(kafka: str) -> None:
    person = {"name": NAME, "email": EMAIL, "phone": PHONE}
    envelope = captured("canary", person)
    message = f"person.name {NAME!r} is not allowed; contact {EMAIL} / {PHONE}"
    value = envelope.model_dump_json().encode()
    asyncio.run(dead_letter(kafka, topics.LEADS_CAPTURED, value, code="invalid_payload", message=message))
    (row,) = as_json(leadflow("dlq", "list", topics.LEADS_CAPTURED, "--bootstrap", kafka, "--json"))
    where = f"{row['partition']}:{row['offset']}"

    for output in (
        leadflow("dlq", "show", topics.LEADS_CAPTURED, where, "--bootstrap", kafka),
        leadflow("dlq", "show", CAPTURED_DLQ, where, "--bootstrap", kafka, "--json"),
        leadflow("dlq", "list", topics.LEADS_CAPTURED, "--bootstrap", kafka),
    ):
        assert output.exit_code == 0, output.output
        leaked = [clear for clear in (NAME, EMAIL, PHONE, "Canarysson", "qiaolin") if clear in output.stdout]
        assert not leaked, f"PII printed in clear: {leaked}\n{output.stdout}"
    shown = as_json(leadflow("dlq", "show", topics.LEADS_CAPTURED, where, "--bootstrap", kafka, "--json"))
    assert shown["value"]["event_id"] == str(envelope.event_id)  # masked, not emptied
    assert "***" in shown["error_message"]
    assert dict(shown["headers"])["dlq.original_partition"] == "3"

    revealed = leadflow("dlq", "show", topics.LEADS_CAPTURED, where, "--bootstrap", kafka, "--reveal")
    assert revealed.exit_code == 0, revealed.output
    assert all(clear in revealed.stdout for clear in (NAME, EMAIL, PHONE))


def test_replay_sends_the_original_message_once_and_dry_run_sends_nothing(kafka: str) -> None:
    first, second = captured("r1"), captured("r2")
    original = [*first.kafka_headers(), ("traceparent", b"00-abc-01")]
    for offset, (envelope, code) in enumerate([(first, "invalid_payload"), (second, "broken_invariant")]):
        value = envelope.model_dump_json().encode()
        asyncio.run(
            dead_letter(
                kafka, topics.LEADS_CAPTURED, value, code=code, message="m", offset=offset, key=b"k1", headers=original
            )
        )

    dry = as_json(
        leadflow("dlq", "replay", topics.LEADS_CAPTURED, "--all", "--dry-run", "--bootstrap", kafka, "--json")
    )
    assert len(dry["replayed"]) == 2
    assert not replayed_records(kafka, expect=0)

    only = as_json(
        leadflow("dlq", "replay", topics.LEADS_CAPTURED, "--error", "invalid_payload", "--bootstrap", kafka, "--json")
    )
    assert len(only["replayed"]) == 1
    (record,) = replayed_records(kafka, expect=1)
    assert json.loads(record.value)["event_id"] == str(first.event_id)
    assert record.key == b"k1"
    headers = dict(record.headers)
    assert headers["traceparent"] == b"00-abc-01"
    assert headers["event_type"] == b"leads.captured"
    assert headers["dlq.replayed_from"].decode() == f"{CAPTURED_DLQ}:{only['replayed'][0]['dead_letter']}"
    assert not [name for name in headers if name.startswith("dlq.") and name != "dlq.replayed_from"]

    rest = as_json(leadflow("dlq", "replay", topics.LEADS_CAPTURED, "--all", "--bootstrap", kafka, "--json"))
    assert len(rest["replayed"]) == 1
    assert [s["reason"] for s in rest["skipped"]] == ["already replayed"]
    again = as_json(leadflow("dlq", "replay", topics.LEADS_CAPTURED, "--all", "--bootstrap", kafka, "--json"))
    assert again["replayed"] == []
    assert len(again["skipped"]) == 2
    assert len(replayed_records(kafka, expect=2)) == 2
    named = as_json(
        leadflow(
            "dlq",
            "replay",
            topics.LEADS_CAPTURED,
            "--offset",
            only["replayed"][0]["dead_letter"],
            "--bootstrap",
            kafka,
            "--json",
        )
    )
    assert len(named["replayed"]) == 1  # named explicitly: sent again even though it was replayed
    assert len(replayed_records(kafka, expect=3)) == 3
    listed = as_json(leadflow("dlq", "list", topics.LEADS_CAPTURED, "--bootstrap", kafka, "--json"))
    assert [r["replayed"] for r in listed] == [True, True]


def replayed_records(bootstrap: str, expect: int) -> list[Any]:
    """What is on leads.captured.v1: wait for `expect` records, then a little longer for any extra one."""
    got = asyncio.run(
        collect(bootstrap, [topics.LEADS_CAPTURED], lambda c: len(c.records[topics.LEADS_CAPTURED]) > expect, timeout=3)
    )
    return got.records[topics.LEADS_CAPTURED]


def test_a_missing_topic_or_broker_is_a_message_not_a_traceback(kafka: str) -> None:
    missing = leadflow("dlq", "list", "no.such.v1", "--bootstrap", kafka)
    assert missing.exit_code == 1
    assert "no topic no.such.v1.dlq" in missing.output
    down = leadflow("dlq", "list", "--bootstrap", "127.0.0.1:1")
    assert down.exit_code == 1
    assert "broker error at 127.0.0.1:1" in down.output
    nothing = leadflow("dlq", "replay", topics.LEADS_CAPTURED, "--bootstrap", kafka)
    assert nothing.exit_code == 2  # no --all, --error or --offset: refuse rather than replay everything
