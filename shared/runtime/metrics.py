"""Per-service Prometheus metrics, named leadflow_<service>_<thing>_<unit> (STYLE.md)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000)
_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass(frozen=True)
class RuntimeMetrics:
    """The processing-contract metrics every service exports; domain metrics live with each service."""

    registry: CollectorRegistry
    consumed: Counter
    produced: Counter
    duplicates: Counter
    dead_lettered: Counter
    failures: Counter
    batch_size: Histogram
    batch_seconds: Histogram
    transaction_seconds: Histogram
    outbox_backlog: Gauge
    outbox_oldest_seconds: Gauge

    @classmethod
    def create(cls, service: str, registry: CollectorRegistry) -> RuntimeMetrics:
        """Register the metrics for one service on its own registry."""
        p = f"leadflow_{service}"
        return cls(
            registry=registry,
            consumed=Counter(f"{p}_messages_consumed_total", "Messages consumed", ["topic"], registry=registry),
            produced=Counter(f"{p}_messages_produced_total", "Events published", ["topic"], registry=registry),
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
        )
