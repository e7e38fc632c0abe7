"""Stream rows from CSV (UTF-8 or GB18030, delimiter sniffed), JSONL and XLSX files."""

from __future__ import annotations

import codecs
import csv
import enum
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import orjson

from cli.imports.rows import Problem, ReadError, Row, Table, cells_of, unique_headers
from cli.imports.values import cell_text
from cli.imports.xlsx import open_xlsx

CHUNK = 1 << 20
DELIMITERS = (",", ";", "\t", "|")
FALLBACK_ENCODINGS = ("utf-8-sig", "gb18030")  # GB18030 is a superset of GBK and GB2312


class Format(enum.StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    xlsx = "xlsx"


SUFFIXES = {
    ".csv": Format.csv, ".txt": Format.csv, ".tsv": Format.csv,
    ".jsonl": Format.jsonl, ".ndjson": Format.jsonl,
    ".xlsx": Format.xlsx, ".xlsm": Format.xlsx,
}  # fmt: skip


def detect_format(path: Path, explicit: Format | None) -> Format:
    """--format if given, else the file's extension."""
    if explicit is not None:
        return explicit
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        known = ", ".join(SUFFIXES)
        raise ReadError(f"unknown file type {path.suffix or '(none)'!r}: use one of {known} or --format") from None


@contextmanager
def open_table(path: Path, fmt: Format, encoding: str | None = None, sheet: str | None = None) -> Iterator[Table]:
    """Open the input for streaming; the file stays open until the block ends."""
    if fmt is Format.xlsx:
        with open_xlsx(path, sheet) as table:
            yield table
        return
    chosen, lines = scan_text(path, encoding)
    with path.open(encoding=chosen, newline="" if fmt is Format.csv else None) as handle:
        if fmt is Format.csv:
            yield _csv_table(handle, lines, tab_first=path.suffix.lower() == ".tsv")
        else:
            yield Table(_jsonl_rows(handle), total=lines)


def scan_text(path: Path, encoding: str | None) -> tuple[str, int]:
    """Pick the encoding that decodes the whole file (or check --encoding's), counting lines on the way."""
    if encoding and _codec_name(encoding) == "utf-8":
        encoding = "utf-8-sig"  # reads files without a BOM too, and keeps a BOM out of the first header
    candidates = (encoding,) if encoding else _candidates(path)
    for candidate in candidates:
        lines = _count_lines(path, candidate)
        if lines is not None:
            return candidate, lines
        if not encoding and candidate.startswith("utf-8") and (damage := _damaged_utf8(path)):
            # GBK read as UTF-8 fails almost at once; a file that is mostly valid UTF-8 is UTF-8 with a few
            # broken bytes, and decoding it as GB18030 would turn every Chinese name into mojibake.
            raise ReadError(f"{path.name} is UTF-8 with undecodable bytes ({damage}): fix them or pass --encoding")
    if encoding:
        raise ReadError(f"{path.name} is not valid {encoding} text")
    raise ReadError(f"{path.name} is neither UTF-8 nor GB18030/GBK text: pass --encoding")


def _damaged_utf8(path: Path) -> str | None:
    """Where a mostly-UTF-8 file breaks ("2 bad bytes, first on line 7"), or None if it isn't mostly UTF-8."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    valid = sum(1 for ch in text if ord(ch) > 0x7F) - bad
    if bad == 0 or valid <= bad:
        return None
    return f"{bad} bad, first on line {text[: text.index(chr(0xFFFD))].count(chr(10)) + 1}"


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ReadError(f"unknown encoding {encoding!r}") from None


def _candidates(path: Path) -> tuple[str, ...]:
    """UTF-16 only when the file says so with a BOM (Excel's "Unicode text"); else UTF-8, then GB18030."""
    with path.open("rb") as handle:
        start = handle.read(2)
    return ("utf-16",) if start in {codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE} else FALLBACK_ENCODINGS


def _count_lines(path: Path, encoding: str) -> int | None:
    """Lines in the file if all of it decodes, else None; one streaming pass, constant memory."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
    except LookupError:
        raise ReadError(f"unknown encoding {encoding!r}") from None
    lines, last = 0, ""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                text = decoder.decode(chunk)
                lines += text.count("\n")
                last = text[-1:] or last
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return lines + (1 if last not in {"", "\n"} else 0)


def sniff_delimiter(header_line: str, *, tab_first: bool = False) -> str:
    """The candidate delimiter the header line uses most; a comma when it uses none."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in DELIMITERS}
    if tab_first and counts["\t"]:
        return "\t"
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _csv_table(handle: IO[str], lines: int, *, tab_first: bool) -> Table:
    """Skip leading blank lines, sniff the delimiter on the header line, then stream the records."""
    skipped = 0
    header_line = handle.readline()
    while header_line and not header_line.strip():
        skipped += 1
        header_line = handle.readline()
    delimiter = sniff_delimiter(header_line, tab_first=tab_first)
    header = next(csv.reader([header_line], delimiter=delimiter), [])
    headers = unique_headers(header)
    data_lines = max(lines - skipped - 1, 0)
    return Table(_csv_rows(handle, headers, delimiter, skipped + 1), headers, data_lines)


def _csv_rows(handle: IO[str], headers: list[str], delimiter: str, consumed: int) -> Iterator[Row]:
    """Rows numbered by the line they start on (a quoted cell may span lines); blank rows skipped."""
    reader = csv.reader(handle, delimiter=delimiter)
    start = consumed + 1
    for values in reader:
        if any(value.strip() for value in values):
            yield Row(start, cells_of(headers, values))
        start = consumed + reader.line_num + 1


def _jsonl_rows(handle: IO[str]) -> Iterator[Row]:
    """One object per line; a line that is not one becomes a rejected row; blank lines skipped."""
    for number, line in enumerate(handle, start=1):
        if line.strip():
            yield _jsonl_row(number, line.strip())


def _jsonl_row(number: int, line: str) -> Row:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return Row(number, {"_raw": line}, Problem("<root>", "not_json", f"not JSON: {exc}"))
    if not isinstance(value, dict):
        message = f"a JSON {type(value).__name__}, not an object"
        return Row(number, {"_raw": line}, Problem("<root>", "not_an_object", message))
    cells: dict[str, str] = {}
    _flatten(value, "", cells)
    return Row(number, cells)


def _flatten(value: dict[str, object], prefix: str, cells: dict[str, str]) -> None:
    """Nested objects become dotted headers (`person.email`); lists of scalars are joined with ", "."""
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            _flatten(item, f"{name}.", cells)
        elif isinstance(item, list):
            scalar = all(not isinstance(part, dict | list) for part in item)
            cells[name] = ", ".join(map(cell_text, item)) if scalar else orjson.dumps(item).decode()
        else:
            cells[name] = cell_text(item)
