"""decode_record: raw Kafka records → validated Inbound, or a PoisonMessageError naming what is broken."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord

from shared.runtime.consumer import consumer_record, decode_record
from shared.runtime.errors import PoisonMessageError
from shared.schemas import topics
from shared.schemas.envelope import make_envelope
from shared.schemas.events import LeadCaptured, LeadScored

pytestmark = pytest.mark.unit

PHONE = "13800138000"


def record(
    value: bytes | None, topic: str = topics.LEADS_CAPTURED, partition: int = 2, offset: int = 17
) -> ConsumerRecord[bytes, bytes]:
    return consumer_record(topic, value, partition=partition, offset=offset)


def envelope_dict(topic: str = topics.LEADS_CAPTURED, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    payload = {"source": "web-form", "person": {"phone": PHONE}} if payload is None else payload
    return json.loads(make_envelope(topic, payload, producer="test", lead_id=None).model_dump_json())


def poison(
    value: bytes | None, payload_model: Any = LeadCaptured, topic: str = topics.LEADS_CAPTURED
) -> PoisonMessageError:
    with pytest.raises(PoisonMessageError) as caught:
        decode_record(record(value, topic), payload_model)
    return caught.value


@pytest.mark.parametrize("value", [b"{not json", b"\xff\xfe", b"", None])
def test_non_json_is_invalid_json(value: bytes | None) -> None:
    assert poison(value).code == "invalid_json"


@pytest.mark.parametrize("value", [b"[1, 2]", b'"text"', b"42", b"null"])
def test_json_that_is_not_an_object_is_invalid_envelope(value: bytes) -> None:
    assert poison(value).code == "invalid_envelope"


def test_missing_event_id_is_invalid_envelope_naming_the_field() -> None:
    raw = envelope_dict()
    del raw["event_id"]
    error = poison(json.dumps(raw).encode())
    assert error.code == "invalid_envelope"
    assert "event_id" in error.message


def test_naive_timestamp_is_invalid_envelope() -> None:
    raw = envelope_dict() | {"occurred_at": "2026-11-22T10:00:00"}
    assert poison(json.dumps(raw).encode()).code == "invalid_envelope"


def test_event_of_another_topic_is_wrong_topic() -> None:
    error = poison(json.dumps(envelope_dict(topics.LEADS_SCORED)).encode())
    assert error.code == "wrong_topic"
    assert "leads.scored" in error.message
    assert topics.LEADS_CAPTURED in error.message


def test_other_schema_version_is_wrong_topic() -> None:
    raw = envelope_dict() | {"schema_version": 2}
    assert poison(json.dumps(raw).encode()).code == "wrong_topic"


def test_invalid_payload_is_named_without_the_offending_value() -> None:
    raw = envelope_dict(payload={"person": {"phone": [PHONE], "email": {"wang.wei@yunfan.cn": 1}}})
    error = poison(json.dumps(raw).encode())
    assert error.code == "invalid_payload"
    assert "source" in error.message
    assert "person.phone" in error.message
    assert PHONE not in error.message
    assert PHONE not in str(error)
    assert "wang.wei@yunfan.cn" not in error.message


def test_valid_record_decodes_into_the_payload_model() -> None:
    raw = envelope_dict()
    inbound = decode_record(record(json.dumps(raw).encode()), LeadCaptured)
    assert isinstance(inbound.payload, LeadCaptured)
    assert inbound.payload.person.phone == PHONE
    assert (inbound.topic, inbound.partition, inbound.offset) == (topics.LEADS_CAPTURED, 2, 17)
    assert inbound.event_id == uuid.UUID(raw["event_id"])


def test_without_a_payload_model_the_payload_stays_a_dict() -> None:
    payload = {"source": 42, "anything": ["goes"]}  # lenient topics validate later, in the domain
    inbound = decode_record(record(json.dumps(envelope_dict(payload=payload)).encode()), None)
    assert inbound.payload == payload


def test_payload_model_is_checked_against_its_own_topic() -> None:
    raw = envelope_dict(topics.LEADS_SCORED, payload={"source": "web-form"})
    error = poison(json.dumps(raw).encode(), LeadScored, topics.LEADS_SCORED)
    assert error.code == "invalid_payload"
    assert "grade" in error.message


def test_psycopg_connection_loss_and_deadlocks_are_transient_not_poison() -> None:
    import psycopg  # noqa: PLC0415

    from shared.runtime.errors import is_transient  # noqa: PLC0415

    assert is_transient(psycopg.OperationalError("server closed the connection unexpectedly"))
    assert is_transient(psycopg.errors.DeadlockDetected("deadlock detected"))
    assert not is_transient(psycopg.errors.UniqueViolation("duplicate key"))
