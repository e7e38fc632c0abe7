"""dedup composition root: `faststream run services.dedup.app:create_app --factory`."""

from __future__ import annotations

from pathlib import Path

from faststream.asgi import AsgiFastStream

from services.dedup import store
from services.dedup.handlers import DedupHandler
from services.dedup.metrics import dedup_metrics
from services.dedup.settings import DedupSettings
from shared.runtime.consumer import TopicHandler
from shared.runtime.service import ServiceSpec, build_app
from shared.schemas import events, topics


def create_app(settings: DedupSettings | None = None) -> AsgiFastStream:
    """Build the dedup service."""
    s = settings or DedupSettings()
    handler = DedupHandler(s.thresholds())
    return build_app(
        ServiceSpec(
            name="dedup",
            settings=s,
            tables=store.tables,
            handlers={
                topics.LEADS_INGESTED: TopicHandler(handler.on_lead_ingested, events.LeadIngested),
                topics.DEDUP_COMMANDS: TopicHandler(handler.on_command, events.DedupCommand),
            },
            migrations=Path(__file__).parent / "migrations",
            domain_metrics=dedup_metrics,
        )
    )
