"""`leadflow dedup-eval`: the service's matching engine over a labelled file, scored pairwise."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cli.imports.mapping import ColumnMap
from cli.imports.submission import to_submission
from services.dedup.engine import Decision, Resolver, Thresholds
from services.dedup.profile import Profile, profile_of
from services.ingest.domain import Accepted, ingest

EVAL_SOURCE = "dedup-eval"
_NOW = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)  # later than any record: no captured_at is "in the future"


@dataclass
class Record:
    """One input row as the engine sees it, with its true entity."""

    external_id: str
    entity: str
    profile: Profile | None  # None: the row could not be read as a lead at all


@dataclass
class Report:
    records: int = 0
    unreadable: int = 0
    true_pairs: int = 0
    predicted_pairs: int = 0
    correct_pairs: int = 0
    merges: int = 0
    possible: int = 0
    comparisons: int = 0
    seconds: float = 0.0
    clusters: dict[str, str] = field(default_factory=dict)  # external_id -> cluster (survivor's external id)
    wrong: list[tuple[str, str]] = field(default_factory=list)  # merged pairs of different entities
    rules: Counter[str] = field(default_factory=Counter)

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    @property
    def micros_per_record(self) -> float:
        return self.seconds * 1e6 / self.records if self.records else 0.0


def to_records(rows: Iterable[Mapping[str, str]], truth: str, tz: dt.tzinfo = dt.UTC) -> list[Record]:
    """Rows -> profiles through `leadflow import`'s mapping and ingest's normalisation (a contact not required)."""
    columns = ColumnMap()
    records = []
    for index, row in enumerate(rows):
        entity = (row.get(truth) or "").strip()
        cells = {k: v for k, v in row.items() if k != truth and v is not None}
        submission = to_submission(cells, columns, EVAL_SOURCE, tz)
        lead_id = uuid.uuid5(uuid.NAMESPACE_URL, f"dedup-eval/{index}")
        result = ingest(submission, lead_id, now=_NOW, require_contact=False)
        profile = profile_of(lead_id, result.payload) if isinstance(result, Accepted) else None
        records.append(Record(str(submission["external_id"]), entity or f"__row{index}", profile))
    return records


def evaluate(records: list[Record], thresholds: Thresholds | None = None) -> Report:
    """Resolve the records in order, as the service would, and compare the clusters with the truth."""
    resolver = Resolver(thresholds or Thresholds())
    report = Report(records=len(records))
    by_lead: dict[uuid.UUID, Record] = {}
    started = time.perf_counter()
    decisions: list[tuple[Record, Decision | None]] = []
    for record in records:
        if record.profile is None:
            decisions.append((record, None))
            continue
        by_lead[record.profile.lead_id] = record
        decisions.append((record, resolver.resolve(record.profile)))
    report.seconds = time.perf_counter() - started
    report.comparisons = resolver.comparisons
    cluster_of: dict[str, str] = {}
    for record, decision in decisions:
        if decision is None or record.profile is None:
            report.unreadable += 1
            cluster_of[record.external_id] = record.external_id
            continue
        survivor = resolver.survivor_of[record.profile.lead_id]
        cluster_of[record.external_id] = by_lead[survivor].external_id
        report.merges += decision.outcome == "merge"
        report.possible += decision.outcome == "possible_duplicate"
        if decision.outcome == "merge":
            report.rules[decision.rule] += 1
    report.clusters = cluster_of
    _count_pairs(records, cluster_of, report)
    return report


def _count_pairs(records: list[Record], cluster_of: Mapping[str, str], report: Report) -> None:
    entities: Counter[str] = Counter(r.entity for r in records)
    report.true_pairs = sum(n * (n - 1) // 2 for n in entities.values())
    members: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        members[cluster_of[record.external_id]].append(record)
    for group in members.values():
        report.predicted_pairs += len(group) * (len(group) - 1) // 2
        counts = Counter(r.entity for r in group)
        report.correct_pairs += sum(n * (n - 1) // 2 for n in counts.values())
        if len(counts) > 1:
            first = group[0]
            report.wrong.extend((first.external_id, r.external_id) for r in group[1:] if r.entity != first.entity)
