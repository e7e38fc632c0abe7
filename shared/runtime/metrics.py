"""Per-service Prometheus metrics, named leadflow_<service>_<thing>_<unit> (STYLE.md); catalogue: docs/metrics.md."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from shared.runtime.db import Inbound, UnitOfWork

_BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000)
_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# Capture → outcome: the objective is 99% within 10 s (deploy/prometheus/rules); minutes and hours show backlogs.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600)


@dataclass(frozen=True)
class RuntimeMetrics:
    """The processing-contract metrics every service exports; domain metrics live with each service."""

    registry: CollectorRegistry
    consumed: Counter
    produced: Counter
    failed: Counter
    duplicates: Counter
    dead_lettered: Counter
    failures: Counter
    batch_size: Histogram
    batch_seconds: Histogram
    transaction_seconds: Histogram
    outbox_backlog: Gauge
    outbox_oldest_seconds: Gauge
    consumer_lag: Gauge

    @classmethod
    def create(cls, service: str, registry: CollectorRegistry) -> RuntimeMetrics:
        """Register the metrics for one service on its own registry."""
        p = f"leadflow_{service}"
        metrics = cls(
            registry=registry,
            consumed=Counter(f"{p}_messages_consumed_total", "Messages consumed", ["topic"], registry=registry),
            produced=Counter(f"{p}_messages_produced_total", "Events published", ["topic"], registry=registry),
            failed=Counter(
                f"{p}_messages_failed_total",
                "Messages that failed an attempt: dead_lettered, transient (retried) or rewound (redelivered)",
                ["topic", "reason"],
                registry=registry,
            ),
            duplicates=Counter(
                f"{p}_duplicates_skipped_total",
                "Redelivered events absorbed by the inbox",
                ["topic"],
                registry=registry,
            ),
            dead_lettered=Counter(
                f"{p}_dlq_messages_total", "Messages sent to a DLQ", ["topic", "error"], registry=registry
            ),
            failures=Counter(
                f"{p}_transient_failures_total", "Retried transient failures", ["stage"], registry=registry
            ),
            batch_size=Histogram(f"{p}_batch_size", "Messages per batch", buckets=_BATCH_BUCKETS, registry=registry),
            batch_seconds=Histogram(
                f"{p}_batch_duration_seconds", "Batch processing time", buckets=_SECONDS_BUCKETS, registry=registry
            ),
            transaction_seconds=Histogram(
                f"{p}_transaction_duration_seconds",
                "Database transaction time",
                buckets=_SECONDS_BUCKETS,
                registry=registry,
            ),
            outbox_backlog=Gauge(f"{p}_outbox_backlog", "Unsent outbox rows", registry=registry),
            outbox_oldest_seconds=Gauge(
                f"{p}_outbox_oldest_age_seconds", "Age of the oldest unsent row", registry=registry
            ),
            consumer_lag=Gauge(
                f"{p}_consumer_lag_messages",
                "Fetch high-water mark minus the next offset to process, per assigned partition",
                ["topic", "partition"],
                registry=registry,
            ),
        )
        for stage in ("apply", "publish", "relay"):
            metrics.failures.labels(stage)  # present from the start: a rate, not a gap, until the first failure
        return metrics


class BoundedLabel:
    """Label values from the outside world (a channel's `source`), capped so one bad sender cannot add series."""

    def __init__(self, limit: int = 200, other: str = "other") -> None:
        self.limit = limit
        self.other = other
        self.seen: set[str] = set()

    def __call__(self, value: object) -> str:
        text = str(value) if value not in (None, "") else "unknown"
        if text in self.seen:
            return text
        if len(self.seen) >= self.limit:
            return self.other
        self.seen.add(text)
        return text


Observer = Callable[[Any, "Inbound | None", datetime], None]


class DomainMetrics:
    """A service's domain metrics, fed after each commit: by the events it emitted and its handlers' tallies.

    Counting after the commit (not inside the handler) means a rolled-back or retried transaction counts nothing.
    """

    def __init__(self, service: str, registry: CollectorRegistry) -> None:
        self.prefix = f"leadflow_{service}"
        self.registry = registry
        self.sources = BoundedLabel()
        self._on_topic: dict[str, list[Observer]] = defaultdict(list)
        self._tallies: dict[str, tuple[Counter | Histogram, tuple[int, ...]]] = {}
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """`metric.labels(*labels)`, remembered: prometheus_client validates and locks on every call (µs a lead)."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def counter(self, name: str, doc: str, labels: Iterable[str] = ()) -> Counter:
        return Counter(f"{self.prefix}_{name}", doc, list(labels), registry=self.registry)

    def gauge(self, name: str, doc: str, labels: Iterable[str] = ()) -> Gauge:
        return Gauge(f"{self.prefix}_{name}", doc, list(labels), registry=self.registry)

    def histogram(self, name: str, doc: str, buckets: Iterable[float], labels: Iterable[str] = ()) -> Histogram:
        return Histogram(f"{self.prefix}_{name}", doc, list(labels), buckets=tuple(buckets), registry=self.registry)

    def latency(self, outcomes: Iterable[str]) -> Histogram:
        """Capture → outcome, with every outcome's series present from the start (rates work from the first one)."""
        histogram = self.histogram(
            "lead_latency_seconds", "From capture to the lead's outcome", LATENCY_BUCKETS, ["outcome"]
        )
        for outcome in outcomes:
            histogram.labels(outcome)
        return histogram

    def on(self, topic: str, observer: Observer) -> None:
        """Call `observer(payload, cause, committed_at)` for every event of `topic` a committed transaction emitted."""
        self._on_topic[topic].append(observer)

    def tally(self, name: str, metric: Counter | Histogram, sources: tuple[int, ...] = ()) -> None:
        """Let handlers record `uow.tally(name, *labels, value=)`, applied to `metric` once committed.

        `sources`: positions of labels that are channel ids, bounded like every `source` label.
        """
        self._tallies[name] = (metric, sources)

    def committed(self, uow: UnitOfWork) -> None:
        """Apply what a committed unit of work emitted and tallied."""
        now = uow.now()
        for topic, payload, cause in uow.emitted:
            for observer in self._on_topic.get(topic, ()):
                observer(payload, cause, now)
        for name, labels, value in uow.tallies:
            metric, sources = self._tallies[name]
            if sources:
                labels = tuple(self.sources(v) if i in sources else v for i, v in enumerate(labels))  # noqa: PLW2901
            child = self.child(metric, *labels) if labels else metric
            if isinstance(child, Histogram):
                child.observe(value)
            else:
                child.inc(value)


def field(payload: Any, name: str, default: Any = None) -> Any:
    """A payload's field whether it was staged as a model or a dict."""
    if isinstance(payload, Mapping):
        return payload.get(name, default)
    return getattr(payload, name, default)


def seconds_since(start: object, now: datetime) -> float | None:
    """Seconds from an ISO timestamp or datetime to `now`; None when there is no usable start."""
    if isinstance(start, str):
        try:
            start = datetime.fromisoformat(start)
        except ValueError:
            return None
    if not isinstance(start, datetime) or start.tzinfo is None:
        return None
    return max((now - start).total_seconds(), 0.0)
