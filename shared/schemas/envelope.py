"""The envelope every event on every topic is wrapped in (ARCHITECTURE.md §3)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.schemas.topics import event_type_of, schema_version_of

# Namespace for deterministic ids: a re-processed input yields the same output event ids,
# so downstream inboxes absorb replays even across an outbox relay.
LEADFLOW_NS = uuid.UUID("6f1c3f5e-2a43-4c63-9b8e-6c0d4f1a7e21")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """Wire shape of every event; `payload` is validated separately per topic."""

    model_config = ConfigDict(extra="allow", frozen=True)

    event_id: uuid.UUID
    event_type: str = Field(min_length=1)
    schema_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    producer: str = Field(min_length=1)
    lead_id: uuid.UUID | None = None
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    payload: dict[str, Any]

    def kafka_key(self) -> bytes | None:
        return str(self.lead_id).encode() if self.lead_id else None

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        return [
            ("event_type", self.event_type.encode()),
            ("schema_version", str(self.schema_version).encode()),
            ("correlation_id", str(self.correlation_id).encode()),
        ]


def derive_event_id(causation_id: uuid.UUID | None, topic: str, seq: int = 0) -> uuid.UUID:
    """Deterministic id for an event caused by another one; random for spontaneous ones."""
    if causation_id is None:
        return uuid.uuid4()
    return uuid.uuid5(LEADFLOW_NS, f"{causation_id}/{topic}/{seq}")


def make_envelope(  # noqa: PLR0913 -- mirrors the envelope's fields one to one
    topic: str,
    payload: BaseModel | dict[str, Any],
    *,
    producer: str,
    lead_id: uuid.UUID | None,
    correlation_id: uuid.UUID | None = None,
    causation_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
    seq: int = 0,
    trusted: bool = False,
) -> Envelope:
    """A new envelope; `trusted` skips validation when every field comes from our own typed values."""
    body = payload.model_dump(mode="json", exclude_none=True) if isinstance(payload, BaseModel) else payload
    build = Envelope.model_construct if trusted else Envelope
    return build(
        event_id=event_id or derive_event_id(causation_id, topic, seq),
        event_type=event_type_of(topic),
        schema_version=schema_version_of(topic),
        occurred_at=occurred_at or utcnow(),
        producer=producer,
        lead_id=lead_id,
        correlation_id=correlation_id or uuid.uuid4(),
        causation_id=causation_id,
        payload=body,
    )
