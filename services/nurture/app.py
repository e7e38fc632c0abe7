"""nurture composition root: `faststream run services.nurture.app:create_app --factory`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from faststream.asgi import AsgiFastStream
from prometheus_client import CollectorRegistry

from services.nurture import store
from services.nurture.handlers import Nurture
from services.nurture.metrics import NurtureMetrics
from services.nurture.policy import PolicyFile
from services.nurture.settings import NurtureSettings
from services.nurture.timers import fire_due_once
from shared.runtime.consumer import TopicHandler
from shared.runtime.logging import get_logger
from shared.runtime.loops import drain_forever, gauges_forever
from shared.runtime.service import ServiceContext, ServiceSpec, build_app
from shared.schemas import events, topics

log = get_logger(__name__)


def create_app(settings: NurtureSettings | None = None) -> AsgiFastStream:
    """Build nurture: the follow-up clocks, tracks and engagement, and the loop that fires due timers."""
    s = settings or NurtureSettings()
    policy = PolicyFile(s.policy_file)  # a bad policy stops the start, naming the line
    nurture = Nurture(policy)
    metrics: NurtureMetrics

    def domain_metrics(registry: CollectorRegistry) -> NurtureMetrics:
        nonlocal metrics
        metrics = NurtureMetrics(registry)
        metrics.policy_loaded(policy.current)
        return metrics

    async def observe_timers(ctx: ServiceContext) -> None:
        await gauges_forever(ctx, metrics.observe_timers, s.gauges_interval_s)

    async def timers(ctx: ServiceContext) -> None:
        await drain_forever(
            lambda: fire_due_once(ctx, policy.current, s.timer_batch),
            interval_s=s.timer_interval_s,
            metrics=ctx.metrics,
            stage="timers",
        )

    async def watch_policy(_: ServiceContext) -> None:
        while True:
            await asyncio.sleep(s.policy_check_s)
            try:
                if policy.refresh():  # logs the reload, or why a changed file was refused
                    metrics.policy_loaded(policy.current)
            except Exception:
                log.exception("nurture_policy_watch_failed")

    return build_app(
        ServiceSpec(
            name="nurture",
            settings=s,
            tables=store.tables,
            handlers={  # in this order within a batch
                topics.LEADS_ASSIGNED: TopicHandler(nurture.on_lead_assigned, events.LeadAssigned),
                topics.SALES_ACTIVITY: TopicHandler(nurture.on_sales_activity, events.SalesActivity),
                topics.LEADS_POOLED: TopicHandler(nurture.on_lead_pooled, events.LeadPooled),
                topics.LEADS_DEFERRED: TopicHandler(nurture.on_lead_deferred, events.LeadDeferred),
                topics.LEADS_MERGED: TopicHandler(nurture.on_lead_merged, events.LeadMerged),
                topics.MARKETING_ENGAGEMENT: TopicHandler(nurture.on_marketing_engagement, events.MarketingEngagement),
            },
            migrations=Path(__file__).parent / "migrations",
            loops=[timers, watch_policy, observe_timers],
            domain_metrics=domain_metrics,
        )
    )
