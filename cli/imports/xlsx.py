"""Stream the rows of one worksheet of an .xlsx/.xlsm file (read-only, cached values, not formulas)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cli.imports.rows import ReadError, Row, Table, cells_of, unique_headers
from cli.imports.values import cell_text


@contextmanager
def open_xlsx(path: Path, sheet: str | None) -> Iterator[Table]:
    """The first sheet (or `sheet`); its first non-empty row is the header."""
    import openpyxl  # noqa: PLC0415 - slow import, only .xlsx files need it; keeps every `leadflow` command quick
    from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415 - same reason

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ReadError(f"{path.name} is not a readable .xlsx workbook: {exc}") from exc
    try:
        worksheet = _worksheet(workbook, sheet, path.name)
        total = worksheet.max_row  # from the file's dimension tag; None when it has none
        # Some writers record a wrong dimension; without it the reader stops where the data really ends.
        worksheet.reset_dimensions()
        values = enumerate(worksheet.iter_rows(values_only=True), start=1)
        yield _table(values, total)
    finally:
        workbook.close()  # read-only mode keeps the zip open until then


def _worksheet(workbook: Any, sheet: str | None, name: str) -> Any:
    """The named sheet, else the first one (not the "active" one: that is wherever the sender left off)."""
    if sheet is None:
        return workbook.worksheets[0]
    if sheet not in workbook.sheetnames:
        names = ", ".join(workbook.sheetnames)
        raise ReadError(f"{name} has no sheet {sheet!r} (sheets: {names})")
    return workbook[sheet]


def _table(values: Iterator[tuple[int, tuple[Any, ...]]], total: int | None) -> Table:
    """Find the header row, then stream the data rows after it."""
    for number, cells in values:
        texts = [cell_text(cell) for cell in cells]
        if any(text.strip() for text in texts):
            headers = unique_headers(texts)
            remaining = None if total is None else max(total - number, 0)
            return Table(_rows(values, headers), headers, remaining)
    return Table(iter(()), [], 0)


def _rows(values: Iterator[tuple[int, tuple[Any, ...]]], headers: list[str]) -> Iterator[Row]:
    for number, cells in values:
        texts = [cell_text(cell) for cell in cells]
        if any(text.strip() for text in texts):
            yield Row(number, cells_of(headers, texts))
