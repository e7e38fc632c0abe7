"""What every reader yields: numbered rows of original cells, or a row that could not be read."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


class ReadError(ValueError):
    """The input file cannot be read as asked (a usage error: wrong format, encoding or sheet)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a row was rejected, in the API's error shape."""

    field: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.code}: {self.message}"


@dataclass(frozen=True, slots=True)
class Row:
    """One input row: its 1-based number (line or sheet row), its cells by header, and why it is unreadable."""

    number: int
    cells: dict[str, str]
    problem: Problem | None = None


@dataclass
class Table:
    """An open input: header row (empty for JSONL), expected row count if cheap to know, and the rows."""

    rows: Iterator[Row]
    headers: list[str] = field(default_factory=list)
    total: int | None = None


def unique_headers(raw: Iterable[str]) -> list[str]:
    """Header cells as keys: an empty one is named `column_N`, a repeated one gets ` (2)`, ` (3)`…."""
    headers: list[str] = []
    seen: set[str] = set()
    for index, cell in enumerate(raw, start=1):
        name = cell.strip() or f"column_{index}"
        candidate, copy = name, 1
        while candidate in seen:
            copy += 1
            candidate = f"{name} ({copy})"
        seen.add(candidate)
        headers.append(candidate)
    return headers


def cells_of(headers: list[str], values: list[str]) -> dict[str, str]:
    """Pair a row's values with the headers; cells beyond the header row get `column_N` names."""
    cells = dict(zip(headers, values, strict=False))
    for index in range(len(headers), len(values)):
        if values[index].strip():
            cells[f"column_{index + 1}"] = values[index]
    return cells
