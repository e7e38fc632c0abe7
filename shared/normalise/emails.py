"""Email addresses: syntax check, a display form, and a canonical form that matches sub-addresses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from types import MappingProxyType

from email_validator import EmailNotValidError, validate_email
from email_validator.syntax import validate_email_local_part

from shared.normalise._data import load_yaml, mapping, string, strings
from shared.normalise._text import as_text, clean

_ANGLED = re.compile(r"<([^<>]*@[^<>]*)>")
_MAILTO = re.compile(r"^mailto:", re.IGNORECASE)
_EDGES = " \t\"'`<>()[]{}"
_TRAILING = _EDGES + ".;,:"
# A local part of these characters means the same to the validator on its own as in the address.
_PLAIN_LOCAL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.\-]+")
_MAX_LENGTH = 254  # RFC 5321, in UTF-8 octets, as email_validator counts it


@dataclass(frozen=True, slots=True)
class EmailInfo:
    raw: str
    normalised: str | None  # trimmed and lower-cased: what to show and store
    canonical: str | None  # sub-addresses and provider-ignored dots removed: what to match on
    local: str | None
    domain: str | None
    free_mail: bool
    valid: bool
    error: str | None  # email_invalid


@dataclass(frozen=True, slots=True)
class _Folding:
    tag: str | None
    drop_dots: bool
    domain: str | None


@dataclass(frozen=True, slots=True)
class _Providers:
    free_mail: frozenset[str]
    folding: Mapping[str, _Folding]


@cache
def _providers() -> _Providers:
    doc = mapping(load_yaml("email_providers.yaml"), "email_providers.yaml")
    free = mapping(doc.get("free_mail"), "free_mail")
    domains = {domain.lower() for group, names in free.items() for domain in strings(names, f"free_mail.{group}")}
    folding: dict[str, _Folding] = {}
    rules = doc.get("folding")
    for index, body in enumerate(rules if isinstance(rules, list) else []):
        rule = mapping(body, f"folding[{index}]")
        tag, domain = rule.get("tag"), rule.get("domain")
        fold = _Folding(
            tag=string(tag, f"folding[{index}].tag") if tag is not None else None,
            drop_dots=rule.get("drop_dots") is True,
            domain=string(domain, f"folding[{index}].domain").lower() if domain is not None else None,
        )
        for name in strings(rule.get("domains"), f"folding[{index}].domains"):
            folding[name.lower()] = fold
    return _Providers(frozenset(domains), MappingProxyType(folding))


def _unwrap(text: str) -> str:
    """The bare address in "Name <a@b.com>", "mailto:a@b.com?subject=x" or "a@b.com;"."""
    if (angled := _ANGLED.search(text)) is not None:
        text = angled.group(1)
    text = _MAILTO.sub("", text.strip(_EDGES))
    if text[:1] != '"':
        text = text.split("?", 1)[0]
    # The ideographic full stop is what a Chinese keyboard types for "." (qq。com).
    return text.replace("\u3002", ".").strip(_TRAILING)


def _canonical(local: str, domain: str) -> str:
    fold = _providers().folding.get(domain)
    if fold is None:
        return f"{local}@{domain}"
    mailbox = local.split(fold.tag, 1)[0] if fold.tag else local
    if fold.drop_dots:
        mailbox = mailbox.replace(".", "")
    # "+news@gmail.com" is not a sub-address of an empty mailbox: keep it whole.
    return f"{mailbox or local}@{fold.domain or domain}"


@lru_cache(maxsize=8192)
def _domain(domain: str) -> tuple[str, str] | None:
    """(normalised, IDNA ASCII) forms of a valid domain, checked by the validator in a minimal address."""
    # Checking the domain is most of the validator's cost, and a lead's domain is usually one seen before.
    try:
        checked = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain, checked.ascii_domain


def _validate(address: str) -> tuple[str, str] | None:
    """(local part, domain) as email_validator normalises them, or None when it refuses the address."""
    local, _, domain_part = address.partition("@")
    if _PLAIN_LOCAL.fullmatch(local) is None:  # quoted, international or odd: the validator on the whole
        try:
            checked = validate_email(address, check_deliverability=False)
        except EmailNotValidError:
            return None
        return checked.local_part, checked.domain
    domain = _domain(domain_part)
    try:
        validate_email_local_part(local)
    except EmailNotValidError:
        return None
    if domain is None or max(len(f"{local}@{name}".encode()) for name in (domain_part, *domain)) > _MAX_LENGTH:
        return None
    return local, domain[0]


def _invalid(raw: str) -> EmailInfo:
    return EmailInfo(raw, None, None, None, None, free_mail=False, valid=False, error="email_invalid")


def normalise_email(raw: str | None) -> EmailInfo | None:
    """The address in `raw`; None when there is none. Syntax only: the domain's DNS is never asked."""
    source = as_text(raw)
    text = clean(source)
    if not text:
        return None
    address = _unwrap(text).lower()
    if address.count("@") != 1:
        return _invalid(source)  # cheaper than the validator, and the common garbage
    if (parts := _validate(address)) is None:
        return _invalid(source)
    local, domain = parts
    return EmailInfo(
        raw=source,
        normalised=f"{local}@{domain}",
        canonical=_canonical(local, domain),
        local=local,
        domain=domain,
        free_mail=domain in _providers().free_mail,
        valid=True,
        error=None,
    )
