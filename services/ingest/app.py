"""ingest composition root: `faststream run services.ingest.app:create_app --factory`."""

from __future__ import annotations

from pathlib import Path

from faststream.asgi import AsgiFastStream

from services.ingest import handlers, store
from services.ingest.settings import IngestSettings
from shared.runtime.consumer import TopicHandler
from shared.runtime.service import ServiceSpec, build_app
from shared.schemas import topics


def create_app(settings: IngestSettings | None = None) -> AsgiFastStream:
    """Build the ingest service (raw payloads: a bad submission is rejected with reasons, not dead-lettered)."""
    return build_app(
        ServiceSpec(
            name="ingest",
            settings=settings or IngestSettings(),
            tables=store.tables,
            handlers={topics.LEADS_CAPTURED: TopicHandler(handlers.on_lead_captured, payload_model=None)},
            migrations=Path(__file__).parent / "migrations",
        )
    )
