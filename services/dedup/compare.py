"""Pairwise comparison: how much each field says two leads are (or are not) one person.

Each comparator looks at one kind of evidence and returns its weight: positive when the two
agree, negative when both have a value and they disagree, nothing when either is missing. The
weights add up (in the manner of Fellegi and Sunter's log-likelihood ratios), so evidence
combines: a shared switchboard number is worth a little, a shared mobile a lot, and different
names pull a pair apart however much else agrees.
"""

from __future__ import annotations

from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin
from rapidfuzz.distance import OSA, Indel, JaroWinkler, Levenshtein
from rapidfuzz.fuzz import token_set_ratio, token_sort_ratio

from services.dedup.profile import STREET_NAMES, STREET_TYPES, Profile


@dataclass(slots=True)
class Signal:
    """One comparator's finding: the rule, the fields it read, their similarity and its weight."""

    rule: str
    keys: tuple[str, ...]
    similarity: float
    weight: float


@dataclass(slots=True)
class Comparison:
    """Two leads compared: the summed weight and the signals behind it, strongest first."""

    score: float
    signals: tuple[Signal, ...]

    @property
    def strong_key(self) -> bool:
        """Agreement on a key that identifies a person (or a company's request) by itself."""
        return any(s.rule in STRONG_RULES and s.weight > 0 for s in self.signals)


_SAME_COMPANY = frozenset({"company_exact", "company_similar"})
_WITH_COMPANY = frozenset({"city", "company_domain", "domain_email"})
# Agreement that only supports other evidence (many people share a city): never one of the two fields.
SUPPORT_RULES = frozenset({"city", "province", "company_domain", "domain_email"})
STRONG_RULES = frozenset({"email_exact", "phone_exact", "wechat_exact", "company_product"})


def compare(new: Profile, old: Profile) -> Comparison:
    """Every comparator over the pair; the score is the sum of their weights."""
    signals = [
        s
        for s in (
            *_contacts(new, old),
            *_names(new, old),
            *_company(new, old),
            *_place(new, old),
        )
        if s is not None
    ]
    if any(s.rule in _SAME_COMPANY for s in signals):
        support = [s for s in signals if s.rule in _WITH_COMPANY and s.weight > 0]
        # colleagues share the city and the web domain: once the company agrees they add little
        signals = [
            s if s.rule not in _WITH_COMPANY or s.weight <= 0 else Signal(s.rule, s.keys, s.similarity, 0.5)
            for s in signals
        ]
        if support and not (new.name and old.name):
            # no person to tell apart: the company itself, confirmed by its domain or city, is the lead
            keys = ("company", *support[0].keys)
            signals.append(Signal("company_alone", keys, support[0].similarity, 4.0))
    signals.sort(key=lambda s: -abs(s.weight))
    return Comparison(round(sum(s.weight for s in signals), 3), tuple(signals))


def _contacts(a: Profile, b: Profile) -> list[Signal | None]:
    return [_phone(a, b), *_email(a, b), _wechat(a, b)]


def _phone(a: Profile, b: Profile) -> Signal | None:
    if not a.phone or not b.phone:
        return None
    if a.phone == b.phone:
        if a.phone_personal and b.phone_personal:
            return Signal("phone_exact", ("phone",), 1.0, 10.0)
        return Signal("phone_shared", ("phone",), 1.0, 2.5)  # a switchboard: many people, one number
    if a.phone_personal and b.phone_personal:
        return Signal("phone_differs", ("phone",), 0.0, -2.0)
    return None


def _email(a: Profile, b: Profile) -> list[Signal | None]:
    if not a.email or not b.email:
        return [_domain_email(a, b)]
    if a.email == b.email:
        return [Signal("email_exact", ("email",), 1.0, 12.0)]
    same_domain = a.email_domain == b.email_domain
    local = _local(a, b, same_domain=same_domain)
    if local is not None and local.weight > 0:
        return [local]
    if same_domain and not a.free_mail:
        return [Signal("email_differs_same_company", ("email",), 0.0, -6.0)]  # two colleagues
    return [Signal("email_differs", ("email",), 0.0, -1.0), _domain_email(a, b)]


def _local(a: Profile, b: Profile, *, same_domain: bool) -> Signal | None:
    """Local-part variants: wang.wei@qq.com and wangwei@yunfan.cn, or a typo at the same provider."""
    if not a.email_local or not b.email_local or min(len(a.email_local), len(b.email_local)) < 5:
        return None
    if a.email_local == b.email_local:
        if same_domain:  # the provider folded them differently: still one mailbox name
            return Signal("email_local", ("email",), 1.0, 4.0)
        if a.free_mail != b.free_mail:  # a private and a work address under one mailbox name
            return Signal("email_local", ("email",), 1.0, 2.5)
        return None  # two companies' mailboxes for two people of one name say nothing more than the name
    if same_domain and OSA.distance(a.email_local, b.email_local) == 1:
        return Signal("email_local_typo", ("email",), 0.9, 3.0)
    return None


def _domain_email(a: Profile, b: Profile) -> Signal | None:
    """A company's web domain is the other lead's (non-free) email domain."""
    for x, y in ((a, b), (b, a)):
        if x.domain and y.email_domain and not y.free_mail and x.domain == y.email_domain:
            return Signal("domain_email", ("company.domain", "email"), 1.0, 1.5)
    return None


def _wechat(a: Profile, b: Profile) -> Signal | None:
    if not a.wechat or not b.wechat:
        return None
    if a.wechat == b.wechat:
        return Signal("wechat_exact", ("wechat",), 1.0, 11.0)
    return Signal("wechat_differs", ("wechat",), 0.0, -1.0)


def _names(a: Profile, b: Profile) -> list[Signal | None]:
    if a.han and b.han and a.name and b.name:
        return [_han(a, b)]
    if a.han != b.han and a.name and b.name:
        return [_cross_script(a, b)]
    if (a.family or a.given) and (b.family or b.given):
        straight = _parts(a.family, b.family, a.given, b.given)
        swapped = _parts(a.family, b.given, a.given, b.family)
        best = max(straight, swapped, key=lambda pair: sum(s.weight for s in pair if s))
        if any(best):
            return list(best)
        # one has only a family name, the other only a given one: the lone tokens may be one name
        lone_a, lone_b = a.family or a.given, b.family or b.given
        return [_part(lone_a, lone_b, "name", 5.0, -2.0)]
    if a.name and b.name:
        similarity = max(token_sort_ratio(a.name, b.name) / 100, JaroWinkler.normalized_similarity(a.name, b.name))
        return [_graded("name", ("name",), similarity, 8.0, -4.0)]
    return []


def _parts(fa: str | None, fb: str | None, ga: str | None, gb: str | None) -> tuple[Signal | None, Signal | None]:
    return _part(fa, fb, "family_name", 5.0, -2.5), _part(ga, gb, "given_name", 4.0, -2.5)


def _part(a: str | None, b: str | None, rule: str, agree: float, disagree: float) -> Signal | None:
    if not a or not b:
        return None
    if a == b or a.replace(" ", "") == b.replace(" ", ""):  # "h o" and "ho": a stray space
        return Signal(rule, (rule,), 1.0, agree)
    return _graded(rule, (rule,), JaroWinkler.normalized_similarity(a, b), agree, disagree)


def _graded(rule: str, keys: tuple[str, ...], similarity: float, agree: float, disagree: float) -> Signal:
    """Full weight when equal, less as the similarity drops, the disagreement weight below 0.8."""
    weight = next((agree * share for floor, share in _GRADES if similarity >= floor), disagree)
    return Signal(rule, keys, round(similarity, 3), round(weight, 3))


# (similarity floor, share of the agreement weight), from exact down to "unrelated"
_GRADES = ((0.999, 1.0), (0.95, 0.75), (0.92, 0.6), (0.88, 0.35), (0.84, 0.1), (0.8, 0.0))


def _han(a: Profile, b: Profile) -> Signal:
    """Chinese names: the same characters, the same sounds (a homophone typo), or one character off."""
    assert a.name is not None  # noqa: S101 -- checked by the caller
    assert b.name is not None  # noqa: S101
    if a.name == b.name:
        return Signal("name_exact", ("name",), 1.0, 6.0)
    if a.pinyin and a.pinyin == b.pinyin:
        return Signal("name_homophone", ("name",), 0.9, 5.0)
    distance = Levenshtein.distance(a.name, b.name)
    if distance == 1 and min(len(a.name), len(b.name)) >= 3 and a.name[0] == b.name[0]:
        return Signal("name_one_char", ("name",), 0.67, 1.5)
    return Signal("name_differs", ("name",), round(1 - distance / max(len(a.name), len(b.name)), 3), -5.0)


def _cross_script(a: Profile, b: Profile) -> Signal:
    """王伟 and "Wei Wang": the han name's pinyin against the Latin tokens."""
    han, latin = (a, b) if a.han else (b, a)
    target = latin.pinyin or ""
    if han.pinyin and han.pinyin.replace(" ", "") == target.replace(" ", ""):
        return Signal("name_pinyin", ("name",), 1.0, 5.0)
    # "David Wang": an English given name in front of the family name
    if han.family and target and _pinyin_family(han) in target.split():
        return Signal("name_pinyin_family", ("name",), 0.5, 1.0)
    return Signal("name_differs", ("name",), 0.0, -3.0)


def _pinyin_family(p: Profile) -> str:
    return "".join(lazy_pinyin(p.family or "", style=Style.NORMAL))


def _company(a: Profile, b: Profile) -> list[Signal | None]:
    signals: list[Signal | None] = []
    if a.company and b.company:
        if a.company == b.company:
            signals.append(Signal("company_exact", ("company",), 1.0, 3.0))
            if set(a.products) & set(b.products):
                signals.append(Signal("company_product", ("company", "product_interest"), 1.0, 8.0))
        else:
            similarity = JaroWinkler.normalized_similarity(a.company, b.company)
            contained = min(len(a.company), len(b.company)) >= 2 and (a.company in b.company or b.company in a.company)
            if similarity >= 0.9 or contained:
                signals.append(Signal("company_similar", ("company",), round(similarity, 3), 1.5))
            else:
                signals.append(Signal("company_differs", ("company",), round(similarity, 3), -1.5))
    if a.domain and b.domain:
        same = a.domain == b.domain
        signals.append(Signal("company_domain", ("company.domain",), float(same), 1.5 if same else -1.0))
    return signals


def _place(a: Profile, b: Profile) -> list[Signal | None]:
    signals: list[Signal | None] = []
    if a.address and b.address:
        similarity = _address_similarity(a.address, b.address)
        signals.append(_graded("address", ("address",), similarity, 7.0, -2.0 if similarity >= 0.6 else -3.5))
    if a.postcode and b.postcode:
        if a.postcode == b.postcode:
            signals.append(Signal("postcode", ("postcode",), 1.0, 3.0))
        elif len(a.postcode) == len(b.postcode) and OSA.distance(a.postcode, b.postcode) == 1:
            signals.append(Signal("postcode", ("postcode",), 0.75, 0.5))
        else:
            signals.append(Signal("postcode", ("postcode",), 0.0, -1.5))
    if a.city and b.city:
        similarity = JaroWinkler.normalized_similarity(a.city.replace(" ", ""), b.city.replace(" ", ""))
        weight = 2.0 if similarity >= 0.999 else 1.0 if similarity >= 0.9 else -1.5
        signals.append(Signal("city", ("city",), round(similarity, 3), weight))
    if a.province and b.province:
        same = a.province == b.province
        signals.append(Signal("province", ("province",), float(same), 0.3 if same else -0.5))
    return signals


def _address_similarity(a: str, b: str) -> float:
    """The best of several readings of two address lines.

    Token sets (a missing unit or locality line is no disagreement), the line without spaces, and
    the line without street types (misspelt or glued on).
    """
    whole = token_set_ratio(a, b) / 100 if min(a.count(" "), b.count(" ")) >= 2 else token_sort_ratio(a, b) / 100
    whole = max(whole, 0.97 * Indel.normalized_similarity(a.replace(" ", ""), b.replace(" ", "")))
    core_a, core_b = _without_street_types(a), _without_street_types(b)
    if core_a and core_b:
        whole = max(whole, 0.97 * Indel.normalized_similarity(core_a, core_b))
    street_a, street_b = _street(a), _street(b)
    if street_a[0] and street_a[0] == street_b[0] and street_a[1] and street_b[1]:
        whole = max(whole, 0.95 * JaroWinkler.normalized_similarity(street_a[1], street_b[1]))
    return whole


def _without_street_types(address: str) -> str:
    """The address without its street types, misspelt or glued on: "6 kingsburykstreet" -> "6 kingsburyk"."""
    kept = []
    for word in address.split():
        if word in STREET_TYPES or any(JaroWinkler.normalized_similarity(word, t) >= 0.9 for t in STREET_NAMES):
            continue
        glued = next((t for t in STREET_NAMES if word.endswith(t) and len(word) > len(t) + 2), None)
        kept.append(word[: -len(glued)] if glued else word)
    return "".join(kept)


def _street(address: str) -> tuple[str, str]:
    """(house number, street name): "12 hadleigh cct tulloch" -> ("12", "hadleigh")."""
    words = address.split()
    number = words[0] if words and words[0][:1].isdigit() else ""
    name = next((w for w in words[1 if number else 0 :] if not w[:1].isdigit()), "")
    return number, name
