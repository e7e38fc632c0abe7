"""PII never reaches a log line: whole values under PII keys, phone/email patterns inside any string."""

from __future__ import annotations

import json
import logging
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
import structlog

from shared.runtime.logging import configure_logging, mask_pii, mask_text

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.unit

MASK = "***"
LEAD_ID = "3f2b1c4d-9a8e-4b7c-8d6e-5f4a3b2c1d0e"
EVENT_ID = "0b7f3c2e-5d1a-4e8f-9a6b-2c4d6e8f0a1b"
CORRELATION_ID = "9e8d7c6b-5a49-4382-8170-6f5e4d3c2b1a"


def masked(**event: Any) -> dict[str, Any]:
    return dict(mask_pii(None, "info", dict(event)))


# --- keys ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["phone", "email", "name", "wechat", "mobile", "full_name", "given_name", "Phone"])
def test_values_under_pii_keys_are_masked_whole(key: str) -> None:
    assert masked(event="lead_received", **{key: "王伟 anything"})[key] == MASK


def test_empty_pii_values_stay_empty() -> None:
    assert masked(event="x", phone=None, email="")["phone"] is None


def test_non_pii_values_pass_unchanged() -> None:
    event = masked(event="lead_routed", topic="leads.scored.v1", partition=3, offset=12345678, rep_id="rep-li-na")
    assert event == {
        "event": "lead_routed",
        "topic": "leads.scored.v1",
        "partition": 3,
        "offset": 12345678,
        "rep_id": "rep-li-na",
    }


# --- patterns inside strings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "pii",
    [
        "138 0013 8000",
        "13800138000",
        "+86 13800138000",
        "+86-138-0013-8000",
        "010-12345678",
        "(010) 1234 5678",
        "+1 (415) 555-0100",
        "wang.wei@yunfan.cn",
        "Wang.Wei+crm@Mail.YunFan.COM",
    ],
)
def test_phones_and_emails_inside_text_are_masked(pii: str) -> None:
    text = f"could not reach {pii} after 3 attempts"
    for result in (mask_text(text), masked(event=text)["event"]):
        before, _, after = result.partition(MASK)
        assert (before.removesuffix("("), after) == ("could not reach ", " after 3 attempts")


def test_phone_written_against_chinese_text_is_masked() -> None:
    assert "13800138000" not in mask_text("联系电话13800138000请回电")


def test_uuids_under_id_keys_are_kept() -> None:
    event = masked(event="x", lead_id=LEAD_ID, event_id=EVENT_ID, correlation_id=CORRELATION_ID)
    assert (event["lead_id"], event["event_id"], event["correlation_id"]) == (LEAD_ID, EVENT_ID, CORRELATION_ID)


def test_ids_under_id_keys_are_kept_even_when_they_look_like_phone_numbers() -> None:
    all_digits = "12345678-1234-4234-8234-123456789012"  # a valid UUID made only of digits and dashes
    assert mask_text(all_digits) == MASK  # the pattern alone would take it for a phone
    event = masked(event="x", lead_id=all_digits, causation_id=all_digits, surviving_lead_id=all_digits)
    assert event == {"event": "x", "lead_id": all_digits, "causation_id": all_digits, "surviving_lead_id": all_digits}


def test_uuids_inside_messages_are_kept() -> None:
    ids = [str(uuid.uuid4()) for _ in range(200)] + [LEAD_ID]
    for lead_id in ids:
        text = f"lead {lead_id} merged into {EVENT_ID}"
        assert mask_text(text) == text


def test_short_numbers_inside_messages_are_kept() -> None:
    text = "batch of 500 records from partition 7, offset 123456, retry 3"
    assert mask_text(text) == text


# --- nesting ---------------------------------------------------------------------------------------


def test_nested_dicts_and_lists_are_masked() -> None:
    event = masked(
        event="lead_rejected",
        submission={
            "source": "web-form",
            "person": {"name": "王伟", "phone": "138 0013 8000"},
            "message": "call me on 13800138000 or wang.wei@yunfan.cn",
        },
        contacts=["wang.wei@yunfan.cn", {"mobile": "13800138000", "kind": "work"}, ("+86 13800138000", 3)],
    )
    assert event["submission"] == {"source": "web-form", "person": MASK, "message": f"call me on {MASK} or {MASK}"}
    assert event["contacts"] == [MASK, {"mobile": MASK, "kind": "work"}, [MASK, 3]]


def test_pii_keys_are_found_inside_nested_dicts() -> None:
    event = masked(event="x", lead={"contact": {"anything": "goes"}, "company": {"name": "云帆", "city": "杭州"}})
    assert event["lead"] == {"contact": MASK, "company": {"name": MASK, "city": "杭州"}}


# --- end to end through the configured renderer ----------------------------------------------------


@contextmanager
def configured_json_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: give it back to pytest afterwards."""
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    try:
        configure_logging("test-service", json=True, level="DEBUG")
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.configure(**config)
        structlog.contextvars.clear_contextvars()


CANARIES = ("13800138000", "138 0013 8000", "0013", "wang.wei@yunfan.cn", "王伟", "Wei Wang", "010-12345678")


def test_configured_logging_writes_no_pii(capsys: pytest.CaptureFixture[str]) -> None:
    with configured_json_logging():
        log = structlog.get_logger("leadflow.test")
        log.info(
            "lead_received",
            lead_id=LEAD_ID,
            phone="138 0013 8000",
            email="wang.wei@yunfan.cn",
            name="王伟",
            person={"full_name": "Wei Wang", "title": "CTO"},
            note="fallback numbers +86 13800138000 / 010-12345678, mail wang.wei@yunfan.cn",
        )
        structlog.contextvars.bind_contextvars(email="wang.wei@yunfan.cn")
        log.warning("lead_contact_bound")
        structlog.contextvars.unbind_contextvars("email")
        logging.getLogger("some.library").warning("delivery to %s failed for %s", "wang.wei@yunfan.cn", "13800138000")
        try:
            raise ValueError("bad phone 138 0013 8000 in submission")  # noqa: TRY301 -- an exception's text is logged too
        except ValueError:
            log.exception("lead_failed", lead_id=LEAD_ID)

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert [line["event"] for line in lines[:2]] == ["lead_received", "lead_contact_bound"]
    assert len(lines) == 4
    assert lines[0]["lead_id"] == LEAD_ID  # identifiers stay greppable
    assert lines[0]["person"] == MASK
    # Parsed and re-dumped without escapes: a \\u-escaped name would otherwise slip past the search.
    rendered = json.dumps(lines, ensure_ascii=False)
    leaked = [canary for canary in CANARIES if canary in rendered]
    assert leaked == []


def test_faststream_log_lines_go_through_the_masked_renderer(capsys: pytest.CaptureFixture[str]) -> None:
    import faststream  # noqa: F401, PLC0415 -- its import-time logger set-up is what every service runs with

    with configured_json_logging():
        logging.getLogger("faststream").warning("delivery to %s failed", "wang.wei@yunfan.cn")

    err = capsys.readouterr().err
    assert "wang.wei@yunfan.cn" not in err
    assert [json.loads(line)["event"] for line in err.splitlines() if line.strip()] == [f"delivery to {MASK} failed"]
