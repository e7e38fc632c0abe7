"""router composition root: `faststream run services.router.app:create_app --factory`."""

from __future__ import annotations

from pathlib import Path

from faststream.asgi import AsgiFastStream

from services.router import store
from services.router.handlers import Router
from services.router.rules import load_rule_set
from services.router.settings import RouterSettings
from shared.runtime.consumer import TopicHandler
from shared.runtime.service import ServiceSpec, build_app
from shared.schemas import events, topics


def create_app(settings: RouterSettings | None = None) -> AsgiFastStream:
    """Build the router; a bad rule file stops start-up with a message naming the file and the problem."""
    settings = settings or RouterSettings()
    router = Router(load_rule_set(settings.rules_file))
    return build_app(
        ServiceSpec(
            name="router",
            settings=settings,
            tables=store.tables,
            handlers={
                topics.LEADS_SCORED: TopicHandler(router.on_lead_scored, events.LeadScored),
                topics.LEADS_RECYCLED: TopicHandler(router.on_lead_recycled, events.LeadRecycled),
            },
            migrations=Path(__file__).parent / "migrations",
        )
    )
