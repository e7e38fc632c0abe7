"""Legal-form suffixes of company names (有限公司, Co., Ltd., GmbH...) and how to take one off."""

from __future__ import annotations

import re

# Longest first: "集团股份有限公司" must win over "有限公司". Each maps to the legal form it reports.
CHINESE_SUFFIXES: tuple[tuple[str, str], ...] = tuple(
    sorted(
        {
            "集团股份有限公司": "股份有限公司",
            "集团有限责任公司": "有限责任公司",
            "集团有限公司": "有限公司",
            "股份有限公司": "股份有限公司",
            "有限责任公司": "有限责任公司",
            "股份公司": "股份公司",
            "有限公司": "有限公司",
            "(有限合伙)": "有限合伙",
            "有限合伙": "有限合伙",
            "合伙企业": "合伙企业",
            "株式会社": "株式会社",
            "(集团)": "集团",
            "分公司": "分公司",
            "总公司": "总公司",
            "公司": "公司",
            "集团": "集团",
            "工厂": "厂",
            "厂": "厂",
        }.items(),
        key=lambda item: -len(item[0]),
    )
)


def _dotted(letters: str) -> str:
    """The pattern for an abbreviation as people write it: llc -> LLC, L.L.C., L. L. C."""
    return r"\.?\s?".join(letters) + r"\.?"


_LTD = r"(?:ltd|limited)\.?"
# (reported form, pattern on lower-cased text); the leftmost match that reaches the end wins, so
# "Co., Ltd." is taken whole rather than as "Ltd." after a name ending in "Co".
_LATIN: tuple[tuple[str, str], ...] = (
    ("GmbH & Co. KG", r"gmbh\s*(?:&|\+|und|and)?\s*co\.?\s*kg"),
    ("S.A. de C.V.", _dotted("sa") + r"\s*de\s*" + _dotted("cv")),
    ("Co., Ltd.", r"co\.?\s*,?\s*" + _LTD),
    ("Ltd", r"company\s+" + _LTD),
    ("Pty Ltd", r"pty\.?\s*" + _LTD),
    ("Pte Ltd", r"pte\.?\s*" + _LTD),
    ("Pvt Ltd", r"(?:pvt|private)\.?\s*" + _LTD),
    ("Sdn Bhd", r"sdn\.?\s*bhd\.?"),
    ("AB", r"ab\s*\(publ\)"),
    ("Kabushiki Kaisha", r"kabushiki\s+kaisha"),
    ("Ltda", r"ltda\.?"),
    ("Ltd", _LTD),
    ("Inc", r"inc(?:orporated)?\.?"),
    ("Corp", r"corp(?:oration)?\.?"),
    ("LLC", _dotted("llc")),
    ("LLP", _dotted("llp")),
    ("PLC", _dotted("plc")),
    ("GmbH", r"gmbh"),
    ("SARL", _dotted("sarl")),
    ("SAS", _dotted("sas")),
    ("S.r.l.", _dotted("srl")),
    ("S.p.A.", _dotted("spa")),
    ("ASA", _dotted("asa")),
    ("PJSC", _dotted("pjsc")),
    ("JSC", _dotted("jsc")),
    ("A/S", r"a\s*/\s*s"),
    ("ApS", r"aps"),
    ("Oyj", r"oyj"),
    ("Oy", r"oy"),
    ("SA", _dotted("sa")),
    ("SL", _dotted("sl")),
    ("SE", _dotted("se")),
    ("AG", _dotted("ag")),
    ("KG", _dotted("kg")),
    ("BV", _dotted("bv")),
    ("NV", _dotted("nv")),
    ("AB", _dotted("ab")),
    ("AS", _dotted("as")),
    ("KK", _dotted("kk")),
    ("Tbk", r"tbk\.?"),
    ("Bhd", r"bhd\.?"),
    ("Co", r"co\.?"),
)
# A suffix is a whole word: "Casa" does not end in "SA", but "腾讯Ltd" ends in "Ltd".
_LATIN_SUFFIX = re.compile(
    r"(?<![0-9a-z\u00c0-\u024f])(?:"
    + "|".join(f"(?P<f{index}>{pattern})" for index, (_, pattern) in enumerate(_LATIN))
    + r")[\s.,;)]*$"
)
_TRAILING_JUNK = " .,;:-&/+_"
_LONGEST_LATIN = 40
_BY_LAST_CHAR: dict[str, tuple[tuple[str, str], ...]] = {
    last: tuple(entry for entry in CHINESE_SUFFIXES if entry[0][-1] == last)
    for last in {suffix[-1] for suffix, _ in CHINESE_SUFFIXES}
}


def strip_legal_suffix(text: str) -> tuple[str, str] | None:
    """(what is left, the legal form) when lower-cased `text` ends in a legal form, else None."""
    text = text.rstrip(_TRAILING_JUNK)
    for suffix, form in _BY_LAST_CHAR.get(text[-1:], ()):
        if text.endswith(suffix):
            return text[: -len(suffix)].rstrip(_TRAILING_JUNK), form
    if not text[-1:].isascii():
        return None
    # No Latin legal form is longer than this: the search need not start further back.
    found = _LATIN_SUFFIX.search(text, max(len(text) - _LONGEST_LATIN, 0))
    if found is None or found.lastgroup is None:
        return None
    return text[: found.start()].rstrip(_TRAILING_JUNK), _LATIN[int(found.lastgroup[1:])][0]
