"""dedup's subscribers: ingested leads → new unique leads or merges."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from services.dedup import store
from services.dedup.domain import identity_keys
from services.dedup.matching import BatchResolution, resolve_batch
from shared.runtime.db import Inbound, UnitOfWork
from shared.schemas import topics
from shared.schemas.events import DedupVerdict, LeadIngested, LeadMerged


async def on_lead_ingested(uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
    """Match the batch on exact keys with a few set-based statements; a batch's own duplicates merge too."""
    fresh = await _undecided(uow, messages)
    keys = {lead_id: identity_keys(m.payload) for lead_id, m in fresh}
    first_claims: dict[tuple[str, str], uuid.UUID] = {}
    for lead_id, _ in fresh:
        for key in keys[lead_id]:
            first_claims.setdefault(key, lead_id)
    holders = await store.claim_keys(uow.conn, [(k, v, lead) for (k, v), lead in first_claims.items()], uow.now())
    resolution = resolve_batch([(lead_id, keys[lead_id]) for lead_id, _ in fresh], holders)
    await _apply(uow, fresh, resolution)


async def _undecided(uow: UnitOfWork, messages: Sequence[Inbound]) -> list[tuple[uuid.UUID, Inbound]]:
    """Leads not decided before (a re-ingested lead id is not decided twice), with their ids."""
    known = await store.known_leads(uow.conn, [m.lead_id for m in messages if m.lead_id])
    fresh = []
    for message in messages:
        if message.lead_id is None or message.lead_id in known:
            uow.outcome(message, "already_known")
            continue
        known.add(message.lead_id)
        fresh.append((message.lead_id, message))
    return fresh


async def _apply(uow: UnitOfWork, fresh: Sequence[tuple[uuid.UUID, Inbound]], resolution: BatchResolution) -> None:
    new_rows, merge_rows = [], []
    for lead_id, message in fresh:
        lead: LeadIngested = message.payload
        decision = resolution.decisions[lead_id]
        if decision is None:
            new_rows.append({"lead_id": message.lead_id, "source": lead.source, "first_seen_at": uow.now()})
            unique = {**message.raw, "dedup": DedupVerdict(verdict="new").model_dump(mode="json")}
            uow.emit(topics.LEADS_DEDUPLICATED, unique, lead_id=message.lead_id, cause=message)
            uow.outcome(message, "new")
            continue
        survivor, evidence = decision
        merge_rows.append(
            {
                "lead_id": message.lead_id,
                "surviving_lead_id": survivor,
                "evidence": [e.model_dump() for e in evidence],
                "merged_at": uow.now(),
            }
        )
        merged = LeadMerged(lead_id=message.lead_id, surviving_lead_id=survivor, source=lead.source, evidence=evidence)
        uow.emit(topics.LEADS_MERGED, merged, lead_id=survivor, cause=message)
        uow.outcome(message, "merged")
    await store.save_new(uow.conn, new_rows)
    await store.save_merges(uow.conn, merge_rows)
