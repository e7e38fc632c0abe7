"""Pure dedup logic: identity keys of a lead and the merge decision with its evidence."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from shared.schemas.events import Evidence, LeadIngested

# Strongest first: when keys point at different leads, the strongest one's owner survives.
KEY_PRIORITY = ("email", "phone", "wechat")


def identity_keys(lead: LeadIngested) -> list[tuple[str, str]]:
    """The exact keys a lead is found by (already normalised by ingest).

    A contact ingest flagged invalid is no key: leads that typed the same junk ("12345") are not one
    person. The email key is the provider-folded form, so j.o.h.n+news@gmail.com finds john@gmail.com.
    """
    invalid = set(lead.quality.invalid)
    email = lead.person.email if "person.email" not in invalid else None
    if email and lead.normalised.email is not None and lead.normalised.email.canonical:
        email = lead.normalised.email.canonical
    phone = lead.person.phone if "person.phone" not in invalid else None
    values = {"email": email, "phone": phone, "wechat": lead.person.wechat}
    return [(kind, value) for kind in KEY_PRIORITY if (value := values[kind])]


def choose_survivor(owners: Mapping[str, uuid.UUID]) -> tuple[uuid.UUID, list[Evidence]] | None:
    """The existing lead this one merges into, and the keys that say so; None for a new lead."""
    for kind in KEY_PRIORITY:
        if kind in owners:
            survivor = owners[kind]
            matched = [k for k in KEY_PRIORITY if owners.get(k) == survivor]
            return survivor, [Evidence(rule=f"exact_{k}", keys=[k], score=1.0) for k in matched]
    return None
