"""Blocking keys: the few index entries a lead is filed under, so a lookup reads a handful of candidates.

Two leads are compared only when they share a blocking key, so the keys are chosen to be shared by
duplicates despite typos (phonetic codes, one field at a time) yet selective enough that a key names
a few leads, not thousands: a name alone is combined with a postcode, a city or a company.
"""

from __future__ import annotations

import hashlib

import jellyfish

from services.dedup.profile import Profile

# At most this many leads are kept per key (the most recent): a switchboard number or a big company
# domain stays a cheap lookup.
MAX_PER_KEY = 64


def blocking_keys(p: Profile) -> list[str]:
    """The keys a lead is filed under and looked up by, as readable text."""
    keys: list[str] = []
    add = keys.append
    if p.phone:
        add(f"phone|{p.phone}")
    if p.email:
        add(f"email|{p.email}")
    if p.email_local and len(p.email_local) >= 5:
        add(f"local|{p.email_local}")
    if p.wechat:
        add(f"wechat|{p.wechat}")
    if p.company:
        add(f"company|{p.company}")
        keys.extend(f"company_product|{p.company}|{product}" for product in p.products)
    if p.domain:
        add(f"domain|{p.domain}")
    elif p.email_domain and not p.free_mail:
        add(f"domain|{p.email_domain}")
    keys.extend(_name_keys(p))
    return list(dict.fromkeys(keys))


def _name_keys(p: Profile) -> list[str]:
    keys: list[str] = []
    if p.han and p.name:
        keys.append(f"name|{p.name}")
    if p.pinyin:  # a han name's sounds and a Latin name's tokens meet here: 王伟 and "Wei Wang"
        keys.append(f"sound|{p.pinyin}")
        if p.company:
            keys.append(f"sound_company|{p.pinyin}|{p.company}")
    if not p.han:
        keys.extend(_latin_keys(p))
    return keys


def _latin_keys(p: Profile) -> list[str]:
    """Sounds of each name part with a place, and the house: a typo in any one field still meets."""
    keys: list[str] = []
    family = _code(p.family) if p.family else None
    given = _code(p.given) if p.given else None
    places = [x for x in (p.postcode, p.city.replace(" ", "") if p.city else None) if x]
    if family and given:
        keys.append(f"codes|{family}|{given}")
    for code, part in ((family, "family"), (given, "given")):
        if code:
            keys.extend(f"{part}_place|{code}|{place}" for place in places)
    if p.address and p.postcode:
        keys.append(f"address|{p.address.split(' ', 1)[0]}|{p.postcode}")
    if p.address:
        number, street = _house(p.address)
        if number and street:
            keys.append(f"house|{number}|{street}")
        if p.city:
            keys.append(f"street|{street}|{p.city.replace(' ', '')}")
    return keys


def _code(text: str) -> str:
    return jellyfish.soundex(text.replace(" ", ""))


def _house(address: str) -> tuple[str, str]:
    """The house number and the street name's sound: "23 ramsay pl" -> ("23", "R520")."""
    words = address.split()
    number = words[0] if words and words[0][:1].isdigit() else ""
    street = next((w for w in words if not w[:1].isdigit()), "")
    return number, jellyfish.soundex(street) if street else ""


def key_hash(key: str) -> int:
    """A key as a signed 64-bit integer, the index column's type (a collision only adds a candidate)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)
