"""scoring's subscribers: unique leads → scored leads."""

from __future__ import annotations

from collections.abc import Sequence

from services.scoring import store
from services.scoring.domain import MODEL_VERSION, score_lead
from shared.runtime.db import Inbound, UnitOfWork
from shared.schemas import topics
from shared.schemas.events import LeadDeduplicated


async def on_lead_deduplicated(uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
    """Score each new lead, keep the history row, pass the lead on with its factors."""
    rows = []
    for message in messages:
        lead: LeadDeduplicated = message.payload
        result = score_lead(lead)
        # The input was validated on decode; extending its dict skips re-validating our own output,
        # and our fields win over any same-named extra a channel sent along.
        scored = {
            **message.raw,
            "score": result.score,
            "grade": result.grade,
            "temperature": result.temperature,
            "factors": [f.as_dict() for f in result.factors],
            "model_version": MODEL_VERSION,
            "reason": "new_lead",
            "enrichment": {},
        }
        uow.emit(topics.LEADS_SCORED, scored, lead_id=message.lead_id, cause=message)
        uow.outcome(message, f"grade_{result.grade}")
        rows.append(
            {
                "lead_id": message.lead_id,
                "score": result.score,
                "grade": result.grade,
                "temperature": result.temperature,
                "factors": [f.as_dict() for f in result.factors],
                "model_version": MODEL_VERSION,
                "reason": "new_lead",
                "scored_at": uow.now(),
            }
        )
    await store.save_scores(uow.conn, rows)
