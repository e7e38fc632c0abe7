"""nurture composition root: `faststream run services.nurture.app:create_app --factory`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from faststream.asgi import AsgiFastStream

from services.nurture import store
from services.nurture.handlers import Nurture
from services.nurture.settings import NurtureSettings
from services.nurture.timers import run_timers
from shared.runtime.consumer import TopicHandler
from shared.runtime.service import ServiceContext, ServiceSpec, build_app
from shared.schemas import events, topics


def create_app(settings: NurtureSettings | None = None) -> AsgiFastStream:
    """Build nurture: follow-up clocks from assignments, and the loop that fires them."""
    settings = settings or NurtureSettings()
    nurture = Nurture(timedelta(seconds=settings.follow_up_seconds))

    async def timers(ctx: ServiceContext) -> None:
        await run_timers(ctx, settings.timer_interval_s)

    return build_app(
        ServiceSpec(
            name="nurture",
            settings=settings,
            tables=store.tables,
            handlers={
                topics.LEADS_ASSIGNED: TopicHandler(nurture.on_lead_assigned, events.LeadAssigned),
                topics.LEADS_POOLED: TopicHandler(nurture.on_lead_pooled, events.LeadPooled),
                topics.SALES_ACTIVITY: TopicHandler(nurture.on_sales_activity, events.SalesActivity),
            },
            migrations=Path(__file__).parent / "migrations",
            loops=[timers],
        )
    )
