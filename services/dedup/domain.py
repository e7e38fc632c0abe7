"""Pure dedup logic: identity keys of a lead and the merge decision with its evidence."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from shared.schemas.events import Evidence, LeadIngested

# Strongest first: when keys point at different leads, the strongest one's owner survives.
KEY_PRIORITY = ("email", "phone", "wechat")


def identity_keys(lead: LeadIngested) -> list[tuple[str, str]]:
    """The exact keys a lead is found by (already normalised by ingest)."""
    values = {"email": lead.person.email, "phone": lead.person.phone, "wechat": lead.person.wechat}
    return [(kind, value) for kind in KEY_PRIORITY if (value := values[kind])]


def choose_survivor(owners: Mapping[str, uuid.UUID]) -> tuple[uuid.UUID, list[Evidence]] | None:
    """The existing lead this one merges into, and the keys that say so; None for a new lead."""
    for kind in KEY_PRIORITY:
        if kind in owners:
            survivor = owners[kind]
            matched = [k for k in KEY_PRIORITY if owners.get(k) == survivor]
            return survivor, [Evidence(rule=f"exact_{k}", keys=[k], score=1.0) for k in matched]
    return None
