"""Batch identity resolution: who survives when keys point at earlier leads, in the batch or in the index."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.dedup.domain import KEY_PRIORITY, choose_survivor
from shared.schemas.events import Evidence

Key = tuple[str, str]


@dataclass
class BatchResolution:
    """Decisions for a batch, in arrival order; `survivor_of` follows merges to the lead that stays."""

    decisions: dict[uuid.UUID, tuple[uuid.UUID, list[Evidence]] | None] = field(default_factory=dict)
    survivor_of: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)

    def survivor(self, lead_id: uuid.UUID) -> uuid.UUID:
        return self.survivor_of.get(lead_id, lead_id)


def resolve_batch(
    leads: Sequence[tuple[uuid.UUID, Sequence[Key]]], claimed_by: Mapping[Key, uuid.UUID]
) -> BatchResolution:
    """Decide each lead in order against the owner of each key (a stored lead or an earlier one in the batch).

    `claimed_by` maps every key the batch touches to the lead holding it after the batch's claims:
    a lead of an earlier batch or instance, or the first lead of this batch that named the key.
    """
    result = BatchResolution()
    for lead_id, keys in leads:
        owners = {
            kind: result.survivor(owner)
            for kind, value in keys
            if (owner := claimed_by.get((kind, value))) is not None and result.survivor(owner) != lead_id
        }
        decision = choose_survivor({k: owners[k] for k in KEY_PRIORITY if k in owners})
        result.decisions[lead_id] = decision
        if decision is not None:
            result.survivor_of[lead_id] = decision[0]
    return result
