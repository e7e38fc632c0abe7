"""dedup's subscribers: ingested leads → new unique leads or merges."""

from __future__ import annotations

from collections.abc import Sequence

from services.dedup import store
from services.dedup.domain import choose_survivor, identity_keys
from shared.runtime.db import Inbound, UnitOfWork
from shared.schemas import topics
from shared.schemas.events import DedupVerdict, LeadDeduplicated, LeadIngested, LeadMerged


async def on_lead_ingested(uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
    """Match each lead on its exact keys; one lead at a time so a batch's own duplicates merge too."""
    known = await store.known_leads(uow.conn, [m.lead_id for m in messages if m.lead_id])
    for message in messages:
        lead: LeadIngested = message.payload
        if message.lead_id is None or message.lead_id in known:
            uow.outcome(message, "already_known")
            continue
        owners = await store.claim_keys(uow.conn, message.lead_id, identity_keys(lead), uow.now())
        decision = choose_survivor(owners)
        if decision is None:
            await store.save_new(uow.conn, message.lead_id, lead.source, uow.now())
            unique = LeadDeduplicated(**lead.model_dump(), dedup=DedupVerdict(verdict="new"))
            uow.emit(topics.LEADS_DEDUPLICATED, unique, lead_id=message.lead_id, cause=message)
            uow.outcome(message, "new")
        else:
            survivor, evidence = decision
            await store.save_merge(uow.conn, message.lead_id, survivor, [e.model_dump() for e in evidence], uow.now())
            merged = LeadMerged(lead_id=message.lead_id, surviving_lead_id=survivor, source=lead.source, evidence=evidence)
            uow.emit(topics.LEADS_MERGED, merged, lead_id=survivor, cause=message)
            uow.outcome(message, "merged")
        known.add(message.lead_id)
