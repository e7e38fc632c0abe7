"""`leadflow dlq` and `status` without a broker: masking, choosing what to replay, topics consumed, ports."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from cli.dead_letters import AmbiguousOffsetError, DeadLetter, Masker, dlq_name, find
from cli.dlq_replay import Selection, mark_of, plan
from cli.service_topics import consumed_topics
from cli.status_probe import service_ports
from shared.schemas import topics

pytestmark = pytest.mark.unit
DLQ = "leads.captured.v1.dlq"


def letter(partition: int, offset: int, code: str = "invalid_payload", value: bytes | None = b"{}") -> DeadLetter:
    headers = (("event_type", b"leads.captured"), ("dlq.error_code", code.encode()), ("dlq.failed_at", b"1"))
    return DeadLetter(DLQ, partition, offset, 1_700_000_000_000 + offset, None, value, headers)


def test_dlq_name_accepts_either_spelling() -> None:
    assert dlq_name("leads.captured.v1") == DLQ
    assert dlq_name(DLQ) == DLQ


def test_masker_hides_the_letters_own_names_and_contacts_everywhere() -> None:
    lead_id = uuid.uuid4()
    value = {
        "event_id": str(uuid.uuid4()),
        "lead_id": str(lead_id),
        "payload": {"person": {"name": "Wenjie Canary", "email": "w.canary@example.org"}, "message": "hi"},
    }
    dead = DeadLetter(DLQ, 0, 0, 1, None, json.dumps(value).encode(), ())
    masker = Masker(dead)
    # The error quotes a name, which no pattern recognises: only the letter's own value tells.
    assert masker.text("name 'Wenjie Canary' too long; w.canary@example.org") == "name '***' too long; ***"
    shown = masker.value(dead)
    assert "Wenjie" not in shown
    assert "canary" not in shown
    assert str(lead_id) in shown  # ids stay greppable
    assert "Wenjie Canary" in Masker(dead, reveal=True).value(dead)


def test_control_characters_are_escaped() -> None:
    dead = letter(0, 0, value=b"\x00\x1b[2Jboom")
    assert Masker(dead, reveal=True).value(dead) == "\\x00\\x1b[2Jboom"


def test_without_offsets_only_letters_never_replayed_are_sent() -> None:
    letters = [letter(0, 0), letter(0, 1, "invalid_json"), letter(1, 0)]
    chosen = plan(letters, {mark_of(letters[0])}, Selection())
    assert [d.where for d in chosen.send] == ["0:1", "1:0"]
    assert [(d.where, why) for d, why in chosen.skipped] == [("0:0", "already replayed")]


def test_a_mark_for_another_letter_at_the_same_offset_does_not_count() -> None:
    old = letter(0, 0)
    recreated = DeadLetter(DLQ, 0, 0, old.timestamp_ms + 1, None, b"{}", old.headers)  # the DLQ was recreated
    assert [d.where for d in plan([recreated], {mark_of(old)}, Selection()).send] == ["0:0"]


def test_error_code_filters_and_named_offsets_are_sent_again() -> None:
    letters = [letter(0, 0), letter(0, 1, "invalid_json"), letter(1, 0)]
    marks = {mark_of(d) for d in letters}
    assert [d.where for d in plan(letters, set(), Selection(error="invalid_json")).send] == ["0:1"]
    again = plan(letters, marks, Selection(offsets=("1:0", "1")))
    assert [d.where for d in again.send] == ["1:0", "0:1"]
    assert plan(letters, marks, Selection(offsets=("7:7",))).not_found == ["7:7"]


def test_an_offset_in_two_partitions_is_ambiguous_and_a_letter_without_value_is_refused() -> None:
    letters = [letter(0, 0), letter(1, 0), letter(2, 5, value=None)]
    with pytest.raises(AmbiguousOffsetError):
        find(letters, "0")
    with pytest.raises(ValueError, match="not an offset"):
        find(letters, "x:1")
    chosen = plan(letters, set(), Selection(offsets=("2:5",)))
    assert chosen.send == []
    assert chosen.skipped[0][1] == "no value"


def test_consumed_topics_are_the_services_handler_maps() -> None:
    consumed = consumed_topics()
    assert consumed["ingest"] == (topics.LEADS_CAPTURED,)
    assert topics.LEADS_INGESTED in consumed["dedup"]
    assert topics.LEADS_DEDUPLICATED in consumed["scoring"]
    assert {topics.LEADS_SCORED, topics.POOL_COMMANDS} <= set(consumed["router"])
    assert {topics.LEADS_DEFERRED, topics.LEADS_ASSIGNED, topics.LEADS_MERGED} <= set(consumed["nurture"])
    assert all(topic in topics.ALL_TOPICS for names in consumed.values() for topic in names)


def test_service_ports_come_from_the_environment_then_the_stack_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_HOME", str(tmp_path))
    stack = {
        "components": {"dedup": {"address": "http://127.0.0.1:18082"}, "router": {"address": "http://127.0.0.1:18084"}}
    }
    (tmp_path / "stack.json").write_text(json.dumps(stack))
    ports = service_ports({"ROUTER_PORT": "28084"})
    assert ports == {"ingest": 8081, "dedup": 18082, "scoring": 8083, "router": 28084, "nurture": 8085}
