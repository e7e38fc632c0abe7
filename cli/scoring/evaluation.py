"""`leadflow scoring-eval`: a labelled table replayed as leads through scoring, each outcome learned late."""

from __future__ import annotations

import csv
import datetime as dt
import math
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cli.imports.fields import header_key
from cli.imports.mapping import ColumnMap
from cli.imports.readers import scan_text, sniff_delimiter
from cli.imports.rows import cells_of, unique_headers
from cli.imports.submission import to_submission
from services.ingest.domain import Accepted, ingest
from services.scoring.features import features_of
from services.scoring.learning import Learner, LearningSettings
from services.scoring.model import auc
from services.scoring.rules import PointsModel

EVAL_SOURCE = "scoring-eval"
SOURCE_COLUMNS = ("source", "channel")  # the channel a row came through, for any table
LABELS = {"yes": True, "no": False, "true": True, "false": False, "1": True, "0": False}
GRADES = ("A", "B", "C", "D")
NOW = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)  # later than any row: no captured_at is "in the future"


class LabelError(ValueError):
    """A label cell that is not yes/no, true/false or 1/0."""


@dataclass(frozen=True)
class Adapter:
    """How one known table's columns become a lead: renamed or dropped columns, and the channel column."""

    name: str
    signature: frozenset[str]  # headers that identify the table
    columns: Mapping[str, str | None]  # header -> field path or attributes.X; None drops the column
    source: str | None = None


BANK = Adapter(
    "bank",
    signature=frozenset({"age", "job", "marital", "balance", "housing", "loan", "contact", "pdays", "poutcome"}),
    columns={
        # The call's length is known only once the call is over, i.e. with the outcome: a leak, never a feature.
        "duration": None,
        # The day of the month of the last call: a date without its year, about the bank's diary rather
        # than the lead; with outcomes learned weeks later its weights are noise (AUC last 20% -0.004).
        "day": None,
        # Contacts made in this campaign (a count), not the campaign's name.
        "campaign": "attributes.campaign",
    },
    source="contact",  # cellular, telephone or unknown: the channel the lead is worked through
)
ADAPTERS = {adapter.name: adapter for adapter in (BANK,)}


def detect_adapter(headers: Iterable[str]) -> Adapter | None:
    present = {h.strip().lower() for h in headers}
    return next((a for a in ADAPTERS.values() if a.signature <= present), None)


@dataclass(frozen=True)
class Example:
    row: int  # 1-based data row in file order
    features: dict[str, Any]
    label: bool


@dataclass
class Report:
    rows: int = 0
    unreadable: int = 0
    labels: list[bool] = field(default_factory=list)
    scores: list[int] = field(default_factory=list)  # the emitted (rounded) score, scored before the outcome
    grades: list[str] = field(default_factory=list)
    rule_points: list[float] = field(default_factory=list)
    model_points: list[float | None] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    promoted: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    retrains: int = 0
    scoring_seconds: float = 0.0
    learning_seconds: float = 0.0

    @property
    def positives(self) -> int:
        return sum(self.labels)

    @property
    def auc_all(self) -> float:
        return auc(self.labels, self.scores)

    @property
    def auc_last(self) -> float:
        """AUC over the last 20% of rows: the model has had the most outcomes, and the market may have moved."""
        cut = int(len(self.labels) * 0.8)
        return auc(self.labels[cut:], self.scores[cut:])

    @property
    def lift_top10(self) -> float:
        """Conversion in the top-scored 10% over the overall conversion (file order breaks ties)."""
        n = len(self.labels)
        top = sorted(range(n), key=lambda i: -self.scores[i])[: max(1, n // 10)]
        overall = self.positives / n if n else 0.0
        return sum(self.labels[i] for i in top) / len(top) / overall if overall else 0.0

    def per_grade(self) -> dict[str, tuple[int, int, float]]:
        """Grade -> (leads, converted, conversion rate)."""
        found: dict[str, tuple[int, int, float]] = {}
        for grade in GRADES:
            hits = [label for label, g in zip(self.labels, self.grades, strict=True) if g == grade]
            found[grade] = (len(hits), sum(hits), sum(hits) / len(hits) if hits else math.nan)
        return found

    @property
    def micros_per_row(self) -> float:
        return self.scoring_micros + self.learning_micros

    @property
    def scoring_micros(self) -> float:
        """Rules, the model's view and the blend: what the service adds to each lead's path."""
        return self.scoring_seconds * 1e6 / self.rows if self.rows else 0.0

    @property
    def learning_micros(self) -> float:
        """Learning, shadow measurement and retrains: the service does these off the lead's path."""
        return self.learning_seconds * 1e6 / self.rows if self.rows else 0.0


def read_rows(path: Path, sep: str | None) -> list[dict[str, str]]:
    """The file's rows as header -> cell; the encoding and (without --sep) the delimiter detected as on import."""
    encoding, _ = scan_text(path, None)
    with path.open(encoding=encoding, newline="") as handle:
        header_line = handle.readline()
        delimiter = sep or sniff_delimiter(header_line)
        headers = unique_headers(next(csv.reader([header_line], delimiter=delimiter), []))
        return [cells_of(headers, values) for values in csv.reader(handle, delimiter=delimiter) if any(values)]


def to_examples(
    rows: Sequence[Mapping[str, str]], label: str, drop: Iterable[str] = (), adapter: Adapter | None = None
) -> tuple[list[Example], int]:
    """Rows -> (features, label) through `leadflow import`'s mapping, ingest and scoring's features; and unreadable."""
    adapter_columns = adapter.columns if adapter else {}
    dropped = {*drop, label, *(h for h, target in adapter_columns.items() if target is None)}
    overrides = {header: target for header, target in adapter_columns.items() if target is not None}
    columns = ColumnMap({header_key(k): v for k, v in overrides.items()})
    sources = (*((adapter.source,) if adapter and adapter.source else ()), *SOURCE_COLUMNS)
    examples, unreadable = [], 0
    for index, row in enumerate(rows, start=1):
        outcome = parse_label(row.get(label), index)
        cells = {k: v for k, v in row.items() if k not in dropped and v is not None}
        source = next((cells.pop(s).strip() for s in sources if (cells.get(s) or "").strip()), EVAL_SOURCE)
        submission = to_submission(cells, columns, source, dt.UTC)
        if attributes := submission.get("attributes"):
            submission["attributes"] = {k: _number(v) for k, v in attributes.items()}
        result = ingest(
            submission, uuid.uuid5(uuid.NAMESPACE_URL, f"scoring-eval/{index}"), now=NOW, require_contact=False
        )
        if isinstance(result, Accepted):
            examples.append(Example(index, features_of(result.payload), outcome))
        else:
            unreadable += 1
    return examples, unreadable


def parse_label(cell: str | None, row: int) -> bool:
    value = LABELS.get((cell or "").strip().lower())
    if value is None:
        raise LabelError(f"row {row}: label {cell!r} is not yes/no, true/false or 1/0")
    return value


def _number(text: Any) -> Any:
    """Numeric attribute text as int or float, so the model bins it; anything else stays text."""
    if not isinstance(text, str):
        return text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def replay(
    examples: Sequence[Example], rules: PointsModel, *, delay: int, settings: LearningSettings | None = None
) -> Report:
    """Score each row as the service does, before its outcome is known; learn the outcome `delay` rows later."""
    learner = Learner(settings or LearningSettings())
    report = Report(rows=len(examples))
    history: list[tuple[Mapping[str, Any], bool]] = []
    for index, example in enumerate(examples):
        started = time.perf_counter()
        _score(learner, rules, example, report)
        scored = time.perf_counter()
        if index >= delay:
            _learn(learner, examples[index - delay], history, report)
        report.scoring_seconds += scored - started
        report.learning_seconds += time.perf_counter() - scored
    report.promoted, report.retired = learner.promoted, learner.retired
    return report


def _score(learner: Learner, rules: PointsModel, example: Example, report: Report) -> None:
    """The service's path (handlers.Scorer._score): rules, the model's view, the blend, rounded, graded."""
    rule = rules.score(example.features, NOW)
    view = learner.view(example.features)
    score = round(max(0.0, min(100.0, learner.blend(rule.points, view))))
    report.labels.append(example.label)
    report.scores.append(score)
    report.grades.append(rules.grade(score))
    report.rule_points.append(rule.points)
    report.model_points.append(None if view is None else view.points)
    report.versions.append(rules.version if view is None else f"{rules.version}+{view.version}")


def _learn(learner: Learner, example: Example, history: list[tuple[Mapping[str, Any], bool]], report: Report) -> None:
    """The trainer's path, synchronously: record, maybe promote, retrain when due."""
    learner.record_outcome(example.features, example.label)
    history.append((example.features, example.label))
    learner.maybe_promote()
    if learner.needs_retrain():
        report.retrains += 1
        learner.install_challenger(learner.retrain(history, f"retrain-{report.retrains}"))
