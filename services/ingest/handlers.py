"""ingest's subscribers: captured submissions → ingested leads or rejections."""

from __future__ import annotations

from collections.abc import Sequence

from services.ingest import store
from services.ingest.domain import Accepted, Rejected, ingest
from shared.runtime.db import Inbound, UnitOfWork
from shared.schemas import topics


async def on_lead_captured(uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
    """Validate and normalise each submission; a re-sent (source, external_id) makes no second lead."""
    results = [(m, ingest(m.payload, m.event_id)) for m in messages]
    keyed = [
        (r.lead.source, r.lead.external_id, r.lead_id)
        for _, r in results
        if isinstance(r, Accepted) and r.lead.external_id
    ]
    first_seen = await store.record_submissions(uow.conn, keyed, uow.now())
    emitted: set[tuple[str, str]] = set()
    for message, result in results:
        if isinstance(result, Rejected):
            uow.emit(topics.LEADS_REJECTED, result.rejection, lead_id=None, cause=message)
            uow.outcome(message, "rejected")
            continue
        key = (result.lead.source, result.lead.external_id or "")
        if result.lead.external_id and (key not in first_seen or key in emitted):
            uow.outcome(message, "resubmitted")
            continue
        emitted.add(key)
        uow.emit(topics.LEADS_INGESTED, result.lead, lead_id=result.lead_id, cause=message)
        uow.outcome(message, "ingested")
    await store.save_rejects(uow.conn, [_reject_row(m, r, uow) for m, r in results if isinstance(r, Rejected)])


def _reject_row(message: Inbound, result: Rejected, uow: UnitOfWork) -> dict[str, object]:
    rejection = result.rejection
    return {
        "event_id": message.event_id,
        "source": rejection.source,
        "external_id": rejection.external_id,
        "errors": [e.model_dump() for e in rejection.errors],
        "rejected_at": uow.now(),
    }
