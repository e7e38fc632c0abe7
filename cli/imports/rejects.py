"""The rejected-rows file: original columns, `_row` and `_errors`, UTF-8 with BOM so Excel shows Chinese."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import orjson

from cli.imports.fields import ERRORS_COLUMN, ROW_COLUMN
from cli.imports.rows import Problem, Row


def default_rejected_path(source: Path) -> Path:
    """`leads.xlsx` -> `leads.rejected.csv`, next to the input."""
    return source.with_name(f"{source.stem}.rejected.csv")


def format_errors(problems: Iterable[Problem]) -> str:
    """`person.email: email_invalid: <message>; …`."""
    return "; ".join(str(problem) for problem in problems)


class RejectSink:
    """Spools rejected rows to a temporary file (an import may reject many), then writes the CSV at the end.

    The columns are the input's header row in its order, then any other column a rejected row had
    (JSONL rows differ), then `_row` and `_errors`. Earlier `_row`/`_errors` columns are replaced.
    """

    def __init__(self, target: Path, headers: Iterable[str]) -> None:
        self.target = target
        self.count = 0
        self.removed_stale = False
        self._columns: dict[str, None] = {}  # an ordered set
        self._add_columns(headers)
        self._spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finish()

    def _add_columns(self, headers: Iterable[str]) -> None:
        for header in headers:
            if header not in {ROW_COLUMN, ERRORS_COLUMN}:
                self._columns.setdefault(header, None)

    def add(self, row: Row, problems: list[Problem]) -> None:
        self.count += 1
        self._add_columns(row.cells)
        record = {**row.cells, ROW_COLUMN: str(row.number), ERRORS_COLUMN: format_errors(problems)}
        self._spool.write(orjson.dumps(record) + b"\n")

    def finish(self, *, complete: bool) -> Path | None:
        """Write the file if anything was rejected and return its path, else None.

        With nothing rejected, a complete run removes an older file (it would look like this run's rejects);
        a run that stopped part-way leaves it: the rows it holds may not have been retried.
        """
        try:
            if not self.count:
                if complete and self.target.exists():
                    self.target.unlink()
                    self.removed_stale = True
                return None
            self._spool.seek(0)
            self._write(orjson.loads(line) for line in self._spool)
            return self.target
        finally:
            self._spool.close()

    def _write(self, records: Iterable[dict[str, str]]) -> None:
        """Write next to the target, then rename: a crash never leaves a half-written file behind."""
        columns = [*self._columns, ROW_COLUMN, ERRORS_COLUMN]
        self.target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{self.target.name}.", dir=self.target.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8-sig", newline="") as out:
                writer = csv.DictWriter(out, columns, restval="")
                writer.writeheader()
                writer.writerows(records)
            Path(temp).replace(self.target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
