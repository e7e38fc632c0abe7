"""The import loop: rows -> submissions -> batches -> per-row results, tallied, rejects spooled."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from cli.imports.client import ItemResult
from cli.imports.mapping import ColumnMap
from cli.imports.rejects import RejectSink
from cli.imports.rows import Problem, Row
from cli.imports.submission import to_submission
from shared.schemas.events import LeadCaptured

# Sends (or checks) one batch: the rows, and their submissions in the same order.
Post = Callable[[list[Row], list[dict[str, Any]]], list[ItemResult]]
CONTACT_FIELDS = ("phone", "email", "wechat")


@dataclass(frozen=True)
class Settings:
    source: str
    columns: ColumnMap
    tz: dt.tzinfo
    batch_size: int
    label: str = ""  # the input's name, for the summary


@dataclass
class Tally:
    """What happened to the rows so far; rejected rows also go to `sink` (none in a dry run).

    `pending_from` is the first row of a batch sent but not answered: where an interrupted import stopped.
    """

    sink: RejectSink | None = None
    rows: int = 0
    accepted: int = 0
    resubmitted: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    pending_from: int | None = None

    def reject(self, row: Row, problems: list[Problem]) -> None:
        self.rejected += 1
        self.reasons.update({problem.code for problem in problems})  # a row counts once per reason
        if self.sink is not None:
            self.sink.add(row, problems)

    def record(self, row: Row, result: ItemResult) -> None:
        if result.status == "accepted":
            self.accepted += 1
        elif result.status == "resubmitted":
            self.resubmitted += 1
        else:
            self.reject(row, result.problems())


def batched(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    """Consecutive lists of at most `size` rows, read lazily."""
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_import(
    rows: Iterable[Row], settings: Settings, post: Post, tally: Tally, advance: Callable[[int], None]
) -> None:
    """Map and send every row; unreadable rows are rejected here and never sent."""
    for chunk in batched(rows, settings.batch_size):
        sendable: list[Row] = []
        submissions: list[dict[str, Any]] = []
        for row in chunk:
            if row.problem is not None:
                tally.reject(row, [row.problem])
            else:
                sendable.append(row)
                submissions.append(to_submission(row.cells, settings.columns, settings.source, settings.tz))
        if submissions:
            tally.pending_from = sendable[0].number
            results = post(sendable, submissions)
            tally.pending_from = None
            for row, result in zip(sendable, results, strict=True):
                tally.record(row, result)
        tally.rows += len(chunk)
        advance(len(chunk))


def check_locally(submissions: list[dict[str, Any]]) -> list[ItemResult]:
    """--dry-run's stand-in for the API: the payload shape, and that there is a way to contact the person."""
    return [_check_one(index, submission) for index, submission in enumerate(submissions)]


def _check_one(index: int, submission: dict[str, Any]) -> ItemResult:
    try:
        LeadCaptured.model_validate(submission)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(map(str, error["loc"])) or "<root>", "code": error["type"], "message": error["msg"]}
            for error in exc.errors(include_input=False)
        ]
        return ItemResult(index=index, status="rejected", errors=errors)
    person = submission.get("person", {})
    if not any(person.get(name) for name in CONTACT_FIELDS):
        message = "needs a phone, an email or a wechat id"
        return ItemResult(
            index=index, status="rejected", errors=[{"field": "person", "code": "no_contact", "message": message}]
        )
    return ItemResult(index=index, status="accepted")
