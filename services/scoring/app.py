"""scoring composition root: `faststream run services.scoring.app:create_app --factory`."""

from __future__ import annotations

from pathlib import Path

from faststream.asgi import AsgiFastStream

from services.scoring import handlers, store
from services.scoring.settings import ScoringSettings
from shared.runtime.consumer import TopicHandler
from shared.runtime.service import ServiceSpec, build_app
from shared.schemas import events, topics


def create_app(settings: ScoringSettings | None = None) -> AsgiFastStream:
    """Build the scoring service."""
    return build_app(
        ServiceSpec(
            name="scoring",
            settings=settings or ScoringSettings(),
            tables=store.tables,
            handlers={topics.LEADS_DEDUPLICATED: TopicHandler(handlers.on_lead_deduplicated, events.LeadDeduplicated)},
            migrations=Path(__file__).parent / "migrations",
        )
    )
