"""ingest's subscriber: captured submissions → ingested leads, resubmissions or rejections (Kafka and HTTP alike)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.ingest import store
from services.ingest.channels import ChannelRegistry
from services.ingest.domain import Accepted, IngestRules, Rejected, ingest, resubmission
from shared.runtime.db import Inbound, UnitOfWork
from shared.schemas import topics
from shared.schemas.events import FieldError


@dataclass(frozen=True)
class Reply:
    """What the HTTP caller is told about one submission."""

    status: str  # accepted | resubmitted | rejected
    lead_id: uuid.UUID | None
    errors: list[FieldError] = field(default_factory=list)


@dataclass(frozen=True)
class IngestHandler:
    rules: IngestRules
    channels: ChannelRegistry | None = None  # keeps rules.channel_countries current

    async def on_lead_captured(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Validate and normalise each submission; a re-sent (source, external_id) makes no second lead."""
        if self.channels is not None:
            await self.channels.refresh_if_stale()
        now = uow.now()
        results = [(m, ingest(m.payload, m.event_id, now=now, rules=self.rules)) for m in messages]
        keyed = [
            (r.payload["source"], r.payload["external_id"], r.lead_id)
            for _, r in results
            if isinstance(r, Accepted) and r.payload.get("external_id")
        ]
        seen = await store.record_submissions(uow.conn, keyed, now)
        repeats: dict[tuple[str, str], int] = {}
        for message, result in results:
            if isinstance(result, Rejected):
                _reject(uow, message, result)
            elif (key := (result.payload["source"], result.payload.get("external_id") or "")) in seen:
                count = repeats[key] = repeats.get(key, 0) + 1
                _keyed(uow, message, result, seen[key], count)
            else:
                _ingested(uow, message, result)
        await store.save_rejects(uow.conn, [_reject_row(m, r, uow) for m, r in results if isinstance(r, Rejected)])


def _keyed(uow: UnitOfWork, message: Inbound, result: Accepted, seen: store.Seen, occurrence: int) -> None:
    """The first sight of a new key is a lead; every other sight is a resubmission."""
    if seen.inserted and occurrence == 1:
        _ingested(uow, message, result)
        return
    times_seen = seen.times_before + occurrence
    event = resubmission(result.payload, times_seen=times_seen, first_seen_at=seen.first_seen_at)
    uow.emit(topics.LEADS_RESUBMITTED, event, lead_id=result.lead_id, cause=message)
    uow.outcome(message, "resubmitted")
    uow.reply(message, Reply("resubmitted", result.lead_id))


def _ingested(uow: UnitOfWork, message: Inbound, result: Accepted) -> None:
    # Capture → outcome latency starts here: when the channel published it (never later than now, for skewed clocks).
    result.payload["received_at"] = min(message.envelope.occurred_at, uow.now())
    uow.emit(topics.LEADS_INGESTED, result.payload, lead_id=result.lead_id, cause=message)
    uow.outcome(message, "ingested")
    uow.reply(message, Reply("accepted", result.lead_id))


def _reject(uow: UnitOfWork, message: Inbound, result: Rejected) -> None:
    uow.emit(topics.LEADS_REJECTED, result.rejection, lead_id=None, cause=message)
    uow.outcome(message, "rejected")
    uow.reply(message, Reply("rejected", None, result.rejection.errors))


def _reject_row(message: Inbound, result: Rejected, uow: UnitOfWork) -> dict[str, object]:
    rejection = result.rejection
    return {
        "event_id": message.event_id,
        "source": rejection.source,
        "external_id": rejection.external_id,
        "errors": [e.model_dump() for e in rejection.errors],
        "rejected_at": uow.now(),
    }
