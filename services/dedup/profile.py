"""What dedup compares: a lead's identifying fields, reduced once to the forms matching works on.

A profile is built from the `leads.ingested.v1` payload (already normalised by ingest) and stored
with the lead, so a candidate is compared without being normalised again.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from pypinyin import Style, lazy_pinyin

# Phone kinds a whole office can share (a switchboard): agreement on them is weak evidence.
PERSONAL_PHONE_KINDS = frozenset({"mobile"})
# Mailbox names of a role, not a person: no evidence that two leads are one person.
ROLE_LOCALS = frozenset(
    [
        "info",
        "sales",
        "admin",
        "contact",
        "office",
        "hello",
        "service",
        "support",
        "marketing",
        "hr",
        "mail",
        "enquiries",
        "enquiry",
        "team",
        "webmaster",
        "noreply",
        "no-reply",
        "kefu",
        "xiaoshou",
        "service1",
        "test",
    ]
)
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_SPACES = re.compile(r"\s+")
_STREET_WORDS = {
    "street": "st",
    "road": "rd",
    "avenue": "ave",
    "place": "pl",
    "crescent": "cres",
    "circuit": "cct",
    "drive": "dr",
    "court": "ct",
    "lane": "ln",
    "close": "cl",
    "terrace": "tce",
    "parade": "pde",
    "highway": "hwy",
    "boulevard": "blvd",
}

STREET_NAMES = tuple(_STREET_WORDS)  # street types written out
STREET_TYPES = frozenset(_STREET_WORDS) | frozenset(_STREET_WORDS.values())


@dataclass(slots=True)
class Profile:
    """A lead's identifying fields in matching form; None where the lead did not say."""

    lead_id: uuid.UUID
    seen_at: datetime
    source: str = ""
    phone: str | None = None  # E.164
    phone_personal: bool = False  # a mobile: one person's, unlike a switchboard
    email: str | None = None  # canonical (provider folding applied)
    email_local: str | None = None  # letters and digits of the canonical local part
    email_domain: str | None = None
    free_mail: bool = False
    wechat: str | None = None
    name: str | None = None  # han characters, or lower-case Latin tokens sorted
    han: bool = False
    pinyin: str | None = None  # toneless syllables of a han name, sorted; a Latin name's tokens
    family: str | None = None
    given: str | None = None
    company: str | None = None  # company core: no legal form, location prefix or punctuation
    domain: str | None = None  # the company's own web domain (never a free-mail one)
    address: str | None = None
    postcode: str | None = None
    city: str | None = None
    province: str | None = None
    country: str | None = None
    products: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The stored form: only the fields present (ids and times are kept in their own columns)."""
        data = {name: value for name in _STORED if (value := getattr(self, name)) not in (None, False, "")}
        if self.products:
            data["products"] = list(self.products)
        return data

    @classmethod
    def from_json(cls, lead_id: uuid.UUID, seen_at: datetime, data: dict[str, Any]) -> Profile:
        products = tuple(data.get("products", ()))
        return cls(lead_id=lead_id, seen_at=seen_at, **{**data, "products": products})


# The fields `to_json` stores, in declaration order (fields() of a slotted dataclass, read once).
_STORED = tuple(f.name for f in fields(Profile) if f.name not in ("lead_id", "seen_at", "products"))


def profile_of(lead_id: uuid.UUID, payload: dict[str, Any], seen_at: datetime | None = None) -> Profile:
    """The profile of an ingested lead (the `leads.ingested.v1` payload as a dict).

    `seen_at` stands in when the lead carries no `captured_at` (the event's time, say).
    """
    person, company = payload.get("person") or {}, payload.get("company") or {}
    details = payload.get("normalised") or {}
    location = payload.get("location") or {}
    invalid = set((payload.get("quality") or {}).get("invalid") or ())
    phone, personal = _phone(person, details.get("phone"), invalid)
    email = _email(person, details.get("email"), invalid)
    name = _name(details.get("name") or _plain_name(person))
    domain = _text(company.get("domain"))
    if email.get("email_domain") and domain == email["email_domain"] and email.get("free_mail"):
        domain = None
    return Profile(
        lead_id=lead_id,
        seen_at=_when(payload.get("captured_at"), seen_at),
        source=str(payload.get("source") or ""),
        phone=phone,
        phone_personal=personal,
        wechat=_text(person.get("wechat")),
        company=((details.get("company") or {}).get("core") or None),
        domain=domain,
        address=_address(company.get("address")),
        postcode=_compact(company.get("postcode")),
        city=_text(location.get("city") or company.get("city")),
        province=_text(location.get("province") or company.get("region")),
        country=_text(location.get("country") or company.get("country")),
        products=tuple(sorted({p for x in payload.get("product_interest") or () if (p := _text(x))})),
        **email,
        **name,
    )


def _phone(person: dict[str, Any], detail: dict[str, Any] | None, invalid: set[str]) -> tuple[str | None, bool]:
    if "person.phone" in invalid:
        return None, False
    if not detail:  # no details from ingest: the number as given, of unknown kind (so weak evidence)
        return _text(person.get("phone")), False
    if not detail.get("valid") or not detail.get("e164"):
        return None, False
    return detail["e164"], detail.get("kind") in PERSONAL_PHONE_KINDS


def _email(person: dict[str, Any], detail: dict[str, Any] | None, invalid: set[str]) -> dict[str, Any]:
    if "person.email" in invalid:
        return {}
    if not detail:  # no details from ingest: the address as given
        detail = {"normalised": _text(person.get("email")), "valid": True}
    if not detail.get("valid"):
        return {}
    canonical = detail.get("canonical") or detail.get("normalised")
    if not canonical:
        return {}
    local, _, domain = canonical.rpartition("@")
    folded = _NOT_ALNUM.sub("", local)
    return {
        "email": canonical,
        "email_local": folded if folded and local not in ROLE_LOCALS else None,
        "email_domain": domain or None,
        "free_mail": bool(detail.get("free_mail")),
    }


def _name(detail: dict[str, Any] | None) -> dict[str, Any]:
    if not detail or not detail.get("key"):
        return {}
    han = detail.get("script") == "han"
    if han:
        syllables = (detail.get("pinyin") or " ".join(lazy_pinyin(detail["key"], style=Style.NORMAL))).split()
        return {
            "name": detail["key"],
            "han": True,
            "pinyin": " ".join(sorted(syllables)),
            "family": detail.get("family"),
            "given": detail.get("given"),
        }
    key = " ".join(_fold(detail["key"]).split())
    return {
        "name": key,
        "pinyin": " ".join(sorted(key.split())),
        "family": _fold(detail.get("family") or "") or None,
        "given": _fold(detail.get("given") or "") or None,
    }


def _plain_name(person: dict[str, Any]) -> dict[str, Any] | None:
    """A name detail from the raw fields, for payloads without ingest's details."""
    full = person.get("name") or " ".join(x for x in (person.get("given_name"), person.get("family_name")) if x)
    if not full:
        return None
    han = any("\u4e00" <= c <= "\u9fff" for c in full)
    key = full if han else " ".join(sorted(_fold(full).split()))
    return {
        "key": key,
        "script": "han" if han else "latin",
        "family": person.get("family_name"),
        "given": person.get("given_name"),
    }


def _fold(text: str) -> str:
    """Lower case without accents: Müller and Muller compare equal."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = _SPACES.sub(" ", _fold(str(value))).strip()
    return text or None


def _compact(value: Any) -> str | None:
    text = _text(value)
    return text.replace(" ", "") if text else None


def _address(value: Any) -> str | None:
    text = _text(value)
    if not text:
        return None
    words = re.sub(r"[,.#/\\-]+", " ", text).split()
    return " ".join(_STREET_WORDS.get(w, w) for w in words) or None


def _when(value: Any, fallback: datetime | None) -> datetime:
    if isinstance(value, datetime):
        return value
    if value:
        return datetime.fromisoformat(str(value))
    return fallback or datetime.now(UTC)
