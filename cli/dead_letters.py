"""A dead letter as `DeadLetters` wrote it: its headers decoded, its envelope (if any) parsed, PII masked on request."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord

from shared.runtime.logging import PII_KEYS, mask_text, mask_value
from shared.schemas.topics import DLQ_SUFFIX, DlqHeader

DLQ_HEADER_PREFIX = "dlq."
REPLAYED_FROM = DlqHeader.REPLAYED_FROM
MASK = "***"
MIN_REDACTED = 2  # a one-character name alone identifies nobody; replacing it would garble every message
ID_FIELDS = ("event_id", "lead_id", "correlation_id", "causation_id")
# Headers leadflow writes itself and that never hold personal data (a 13-digit failed_at looks like a phone).
PLAIN_HEADERS = frozenset(
    {"event_type", "schema_version", "correlation_id", DlqHeader.ERROR_CODE, DlqHeader.SERVICE,
     DlqHeader.ORIGINAL_TOPIC, DlqHeader.ORIGINAL_PARTITION, DlqHeader.ORIGINAL_OFFSET, DlqHeader.FAILED_AT,
     REPLAYED_FROM}
)  # fmt: skip


def dlq_name(topic: str) -> str:
    """Accept `leads.captured.v1` or `leads.captured.v1.dlq`; return the dead-letter topic."""
    topic = topic.strip()
    return topic if topic.endswith(DLQ_SUFFIX) else topic + DLQ_SUFFIX


@dataclass(frozen=True)
class DeadLetter:
    """One record of a `<topic>.dlq`."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @classmethod
    def of(cls, record: ConsumerRecord[bytes, bytes]) -> DeadLetter:
        headers = tuple((str(k), bytes(v or b"")) for k, v in record.headers or ())
        return cls(record.topic, record.partition, record.offset, record.timestamp, record.key, record.value, headers)

    @property
    def where(self) -> str:
        """`partition:offset`, what `show` and `replay --offset` accept."""
        return f"{self.partition}:{self.offset}"

    @property
    def coordinates(self) -> str:
        """`<dlq topic>:<partition>:<offset>`: the `dlq.replayed_from` header and the replay marker's key."""
        return f"{self.topic}:{self.partition}:{self.offset}"

    def header(self, name: str) -> str:
        """The last value of a header as text, '' when absent."""
        values = [v for k, v in self.headers if k == name]
        return values[-1].decode("utf-8", errors="replace") if values else ""

    @property
    def error_code(self) -> str:
        return self.header(DlqHeader.ERROR_CODE) or "?"

    @property
    def service(self) -> str:
        return self.header(DlqHeader.SERVICE) or "?"

    @property
    def original_topic(self) -> str:
        """Where the message came from: the header, else the DLQ's name without `.dlq`."""
        return self.header(DlqHeader.ORIGINAL_TOPIC) or self.topic.removesuffix(DLQ_SUFFIX)

    @property
    def original_where(self) -> str:
        return f"{self.header('dlq.original_partition') or '?'}:{self.header('dlq.original_offset') or '?'}"

    @property
    def failed_at(self) -> datetime | None:
        """`dlq.failed_at` (epoch milliseconds), else the record's own timestamp."""
        raw = self.header(DlqHeader.FAILED_AT)
        millis = int(raw) if raw.isdigit() else self.timestamp_ms
        return datetime.fromtimestamp(millis / 1000, tz=UTC) if millis > 0 else None

    @property
    def original_headers(self) -> list[tuple[str, bytes]]:
        """The headers the message had before it was dead-lettered (a previous replay's mark included)."""
        return [(k, v) for k, v in self.headers if not k.startswith(DLQ_HEADER_PREFIX)]

    @property
    def envelope(self) -> dict[str, Any] | None:
        """The value as a JSON object, None when it is not one."""
        try:
            parsed = json.loads(self.value or b"")
        except (UnicodeDecodeError, ValueError):
            return None
        return parsed if isinstance(parsed, dict) else None

    def id_field(self, name: str) -> str:
        """An envelope id (event_id, lead_id, ...) when it is a UUID, else ''."""
        value = (self.envelope or {}).get(name)
        return str(value) if _is_uuid(value) else ""


def when(moment: datetime | None) -> str:
    """UTC ISO time to the second, '-' when unknown."""
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z") if moment else "-"


def printable(text: str) -> str:
    """Control characters escaped: a poison message's bytes must not drive the operator's terminal."""
    return "".join(c if c.isprintable() or c in "\n\t" else f"\\x{ord(c):02x}" for c in text)


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return value is not None


class Masker:
    """Masks one dead letter's text: emails and phones anywhere, and the names and contacts its own value holds."""

    def __init__(self, letter: DeadLetter, *, reveal: bool = False) -> None:
        self.reveal = reveal
        found = _pii_strings(letter.envelope) if letter.envelope is not None else set()
        # Longest first, so `Zhang San` goes before `Zhang` could leave ` San` behind.
        self.known = sorted((s for s in found if len(s) >= MIN_REDACTED), key=len, reverse=True)

    def text(self, text: str) -> str:
        """Error messages and headers quote the input: mask patterns, then this letter's known PII values."""
        text = printable(text)
        if self.reveal:
            return text
        for value in self.known:
            text = text.replace(value, MASK)
        return mask_text(text)

    def header(self, name: str, value: bytes) -> str:
        """A header's value as text: ours in clear, anything else (the error message, a channel's own) masked."""
        text = value.decode("utf-8", errors="replace")
        return printable(text) if name in PLAIN_HEADERS else self.text(text)

    def envelope(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """The envelope with PII masked, its ids kept readable (they are never personal data)."""
        if self.reveal:
            return envelope
        masked: dict[str, Any] = _strings(mask_value(envelope), self.text)
        for name in ID_FIELDS:
            if _is_uuid(envelope.get(name)):
                masked[name] = envelope[name]
        return masked

    def value(self, letter: DeadLetter) -> str:
        """The value pretty-printed when it is JSON, as text otherwise; masked unless revealing."""
        envelope = letter.envelope
        if envelope is not None:
            return json.dumps(self.envelope(envelope), indent=2, ensure_ascii=False)
        return self.text((letter.value or b"").decode("utf-8", errors="backslashreplace"))


def _strings(value: Any, change: Callable[[str], str]) -> Any:
    """Apply `change` to every string in a JSON value (a message field may quote the person's name)."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {k: _strings(v, change) for k, v in value.items()}
    if isinstance(value, list):
        return [_strings(v, change) for v in value]
    return value


def _pii_strings(value: object, *, personal: bool = False) -> set[str]:
    """Every string held under a PII key (`person`, `name`, `phone`, ...) anywhere in a JSON value."""
    if isinstance(value, dict):
        return {s for k, v in value.items() for s in _pii_strings(v, personal=personal or str(k).lower() in PII_KEYS)}
    if isinstance(value, list):
        return {s for v in value for s in _pii_strings(v, personal=personal)}
    if personal and isinstance(value, str | int) and not isinstance(value, bool):
        return {str(value).strip()} - {""}
    return set()


class AmbiguousOffsetError(ValueError):
    """An offset without a partition matches dead letters in several partitions."""


def find(letters: list[DeadLetter], spec: str) -> list[DeadLetter]:
    """The dead letters `N` (any partition, must be one) or `P:N` names; [] when none."""
    partition, _, offset = spec.strip().rpartition(":")
    if not offset.isdigit() or (partition and not partition.isdigit()):
        raise ValueError(f"{spec!r} is not an offset: give N or PARTITION:N, e.g. 12 or 3:12")
    found = [
        letter
        for letter in letters
        if letter.offset == int(offset) and (not partition or letter.partition == int(partition))
    ]
    if len(found) > 1:
        where = ", ".join(letter.where for letter in found)
        raise AmbiguousOffsetError(f"offset {offset} is in several partitions ({where}): give PARTITION:OFFSET")
    return found
