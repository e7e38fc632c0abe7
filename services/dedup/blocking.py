"""Blocking keys: the few index entries a lead is filed under, so a lookup reads a handful of candidates.

Two leads are compared only when they share a blocking key, so the keys are chosen to be shared by
duplicates despite typos (phonetic codes, one field at a time) yet selective enough that a key names
a few leads, not thousands: a name is never a key alone but combined with a company, a postcode or
a city, and a shared landline (a switchboard) with the name's sound.

Keys a whole organisation shares (its company name, its web domain) would name every lead of a big
account. They matter only for a lead without a person's name ("a company alone"), so only such
leads are filed under them (a named lead of the company is found through its product, its
name's sound with the company, or its contacts).
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
    sound = p.pinyin
    if p.phone:
        # a mobile is one person's; a landline may be the whole office's: only with the same name
        add(f"phone|{p.phone}" if p.phone_personal or not sound else f"phone_name|{p.phone}|{sound}")
    if p.email:
        add(f"email|{p.email}")
    if p.email_local and len(p.email_local) >= 5:
        add(f"local|{p.email_local}")
    if p.wechat:
        add(f"wechat|{p.wechat}")
    if p.company:
        keys.extend(f"company_product|{p.company}|{product}" for product in p.products)
    keys.extend(_name_keys(p))
    if not (p.name or p.family or p.given):
        # a company alone: filed and found under the organisation's own keys, among other nameless leads
        if p.company:
            add(f"company|{p.company}")
        domain = p.domain or (p.email_domain if p.email_domain and not p.free_mail else None)
        if domain:
            add(f"domain|{domain}")
    return list(dict.fromkeys(keys))


def hashed_keys(p: Profile) -> tuple[int, ...]:
    """The blocking keys as the index stores them."""
    return tuple(key_hash(k) for k in blocking_keys(p))


def _name_keys(p: Profile) -> list[str]:
    keys: list[str] = []
    if p.pinyin:  # a han name's sounds and a Latin name's tokens meet here: 王伟 and "Wei Wang"
        if p.company:  # the company's first characters: 远景咨询 and 远景管理咨询 still meet
            keys.append(f"sound_company|{p.pinyin}|{_prefix(p.company)}")
        if p.city:
            keys.append(f"sound_city|{p.pinyin}|{p.city.replace(' ', '')}")
    if not p.han:
        keys.extend(_latin_keys(p))
    return keys


def _latin_keys(p: Profile) -> list[str]:
    """Sounds of each name part with a place, and the house: a typo in any one field still meets."""
    keys: list[str] = []
    family = _code(p.family) if p.family else None
    given = _code(p.given) if p.given else None
    places = [x for x in (p.postcode, p.city.replace(" ", "") if p.city else None) if x]
    if family and given:  # both names' sounds, within a company or a province
        keys.extend(f"codes|{family}|{given}|{where}" for where in (p.company, p.province) if where)
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


def _prefix(company: str) -> str:
    """The start of a company core: two han characters or four Latin letters."""
    return company[:2] if company[:1] > "\u2e80" else company.replace(" ", "")[:4]


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
