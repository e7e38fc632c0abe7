"""ingest composition root: `faststream run services.ingest.app:create_app --factory`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faststream.asgi import AsgiFastStream

from services.ingest import api, store
from services.ingest.channels import ChannelRegistry
from services.ingest.domain import IngestRules
from services.ingest.handlers import IngestHandler
from services.ingest.metrics import ingest_metrics
from services.ingest.settings import IngestSettings
from shared.normalise import load_tables
from shared.runtime.consumer import TopicHandler
from shared.runtime.service import ServiceContext, ServiceSpec, build_app
from shared.schemas import topics


def create_app(settings: IngestSettings | None = None) -> AsgiFastStream:
    """Build the ingest service (raw payloads: a bad submission is rejected with reasons, not dead-lettered)."""
    s = settings or IngestSettings()
    registry = ChannelRegistry(store.channels, refresh_s=s.channel_refresh_s)
    rules = IngestRules(
        tables=load_tables(s.regions_file),
        default_country=s.default_country,
        channel_countries=registry.countries,
        size_bands=tuple(sorted(s.size_bands)) if s.size_bands else None,
    )
    handler = IngestHandler(rules, registry)

    async def on_start(ctx: ServiceContext) -> None:
        registry.engine = ctx.engine
        await registry.reload()

    def http_routes(ctx: ServiceContext) -> list[tuple[str, Any]]:
        app = api.create_api(ctx, s, registry)
        return [(path, app) for path in api.PATHS]

    return build_app(
        ServiceSpec(
            name="ingest",
            settings=s,
            tables=store.tables,
            handlers={topics.LEADS_CAPTURED: TopicHandler(handler.on_lead_captured, payload_model=None)},
            migrations=Path(__file__).parent / "migrations",
            on_start=on_start,
            http_routes=http_routes,
            domain_metrics=ingest_metrics,
        )
    )
