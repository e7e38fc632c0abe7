"""Names written in Latin (or another alphabetic) script: honorifics, family/given split, capitals."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

HONORIFICS = {
    "mr": "Mr",
    "mrs": "Mrs",
    "ms": "Ms",
    "miss": "Miss",
    "mx": "Mx",
    "dr": "Dr",
    "prof": "Prof",
    "professor": "Prof",
    "sir": "Sir",
    "dame": "Dame",
    "herr": "Herr",
    "frau": "Frau",
    "m": "M.",
    "monsieur": "M.",
    "mme": "Mme",
    "madame": "Mme",
    "mlle": "Mlle",
}
PARTICLES = frozenset({
    "van", "von", "de", "da", "del", "della", "der", "den", "di", "la", "le", "du", "dos", "das", "bin", "al", "ibn",
    "ter", "zu",
})  # fmt: skip
# Mac-names that are not Mac + a capitalised name: Machado, not MacHado.
_NOT_MAC = frozenset({
    "machado", "macias", "macedo", "machin", "mackie", "macklin", "mackey", "macey", "macon", "maciel", "macri",
})  # fmt: skip
_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "đ": "d", "ł": "l", "þ": "th", "\u0131": "i"})
_KEY_SPLIT = re.compile(r"[\s\-]+")
_KEY_DROP = re.compile(r"['.,]")
_EDGE = ".,'-\u00b7\u2022\u2027\u30fb\u2219"  # middle dots too: "John · Smith"


@dataclass(frozen=True, slots=True)
class LatinName:
    full: str
    family: str | None
    given: str | None
    honorific: str | None


def _capitalise(piece: str) -> str:
    if piece.startswith("mc") and len(piece) > 2:
        return "Mc" + piece[2:].capitalize()
    if piece.startswith("mac") and len(piece) > 5 and piece not in _NOT_MAC:
        return "Mac" + piece[3:].capitalize()
    return piece.capitalize()


def _case(word: str, *, first: bool) -> str:
    """A word in its usual capitals: SMITH -> Smith, o'brien -> O'Brien, jean-luc -> Jean-Luc, VAN -> van."""
    lower = word.lower()
    if lower in PARTICLES:
        return lower.capitalize() if first else lower
    if not (word.isupper() or word.islower()):
        return word  # the writer chose the capitals (McDonald, DeShawn): keep them
    return "-".join("'".join(_capitalise(p) for p in part.split("'")) for part in lower.split("-"))


def _words(text: str) -> list[str]:
    # Edge punctuation goes ("J." -> "J", "-" -> nothing): a full name ending in "." or starting with "'"
    # would read differently the next time round, and a comma would read as "Family, Given".
    return [word for token in text.replace(",", " ").split() if (word := token.strip(_EDGE))]


def _take_honorifics(words: list[str], keep: int = 1) -> tuple[list[str], str | None]:
    """Leading titles taken off while `keep` words remain: "M Dupont" is Monsieur Dupont, "M" alone a name."""
    found = []
    while len(words) > keep and (title := HONORIFICS.get(words[0].lower())) is not None:
        found.append(title)
        words = words[1:]
    return words, " ".join(found) or None


def _family_start(words: list[str]) -> int:
    """Index of the first family-name word: the last word, with the particles before it (van Gogh)."""
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in PARTICLES:
        start -= 1
    return start


def _family_first(words: list[str]) -> bool:
    """A capitalised family name written first ("WANG Wei"): the convention in Chinese and French business."""
    first = words[0]
    return (
        len(words) == 2 and first.isalpha() and first.isupper() and first != first.capitalize() and words[1].istitle()
    )


def _split(text: str) -> tuple[list[str], list[str], str | None]:
    """(given words, family words, honorific) of a name as written."""
    if text.count(",") == 1:  # "SMITH, John"
        family_part, given_part = text.split(",")
        family = _words(family_part)
        given, honorific = _take_honorifics(_words(given_part), keep=0 if family else 1)
        if family and given:
            return given, family, honorific
    words, honorific = _take_honorifics(_words(text))
    if not words:
        return [], [], honorific
    if _family_first(words):
        given, title = _take_honorifics(words[1:], keep=0)
        return given, words[:1], honorific or title
    start = _family_start(words)
    return words[:start], words[start:], honorific


def _compose(given: list[str], family: list[str], honorific: str | None) -> LatinName:
    cased = [_case(word, first=index == 0) for index, word in enumerate([*given, *family])]
    given_cased, family_cased = cased[: len(given)], cased[len(given) :]
    return LatinName(
        full=" ".join(cased),
        family=" ".join(family_cased) or None,
        given=" ".join(given_cased) or None,
        honorific=honorific,
    )


def latin_name(name: str, given: str, family: str) -> LatinName:
    """The name from `name`, with non-empty `given`/`family` fields taking precedence over its split."""
    given_words, family_words, honorific = _split(name) if name else ([], [], None)
    if family:
        family_words = _words(family)
    if given:
        given_words, title = _take_honorifics(_words(given), keep=0 if family_words else 1)
        honorific = honorific or title
    return _compose(given_words, family_words, honorific)


def fold(text: str) -> str:
    """Lower-case ASCII where Latin letters allow: Müller -> muller, Ørsted -> orsted, Straße -> strasse."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def latin_key(full: str) -> str:
    """Folded words in sorted order, so "John Smith" and "Smith, John" match."""
    return " ".join(sorted(word for word in _KEY_SPLIT.split(_KEY_DROP.sub("", fold(full))) if word))
