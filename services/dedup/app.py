"""dedup composition root: `faststream run services.dedup.app:create_app --factory`."""

from __future__ import annotations

from pathlib import Path

from faststream.asgi import AsgiFastStream

from services.dedup import handlers, store
from services.dedup.settings import DedupSettings
from shared.runtime.consumer import TopicHandler
from shared.runtime.service import ServiceSpec, build_app
from shared.schemas import events, topics


def create_app(settings: DedupSettings | None = None) -> AsgiFastStream:
    """Build the dedup service."""
    return build_app(
        ServiceSpec(
            name="dedup",
            settings=settings or DedupSettings(),
            tables=store.tables,
            handlers={topics.LEADS_INGESTED: TopicHandler(handlers.on_lead_ingested, events.LeadIngested)},
            migrations=Path(__file__).parent / "migrations",
        )
    )
