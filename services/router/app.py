"""router composition root: `faststream run services.router.app:create_app --factory`."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from faststream.asgi import AsgiFastStream
from prometheus_client import CollectorRegistry

from services.router import api, store
from services.router.handlers import PoolPolicy, Router
from services.router.metrics import RouterMetrics
from services.router.rules import RuleSetFile
from services.router.settings import RouterSettings
from shared.runtime.consumer import TopicHandler
from shared.runtime.logging import get_logger
from shared.runtime.loops import gauges_forever
from shared.runtime.service import ServiceContext, ServiceSpec, build_app
from shared.schemas import events, topics

log = get_logger(__name__)


def create_app(settings: RouterSettings | None = None) -> AsgiFastStream:
    """Build the router; a bad rule file stops start-up with a message naming the file, line and problem."""
    s = settings or RouterSettings()
    rules = RuleSetFile(s.rules_file)
    policy = PoolPolicy(
        claims_per_day=s.pool_claims_per_day,
        reclaim_cooldown=timedelta(seconds=s.pool_reclaim_cooldown_s),
        claim_delay=timedelta(seconds=s.pool_claim_delay_s),
    )
    router = Router(rules, policy)
    metrics: RouterMetrics

    def domain_metrics(registry: CollectorRegistry) -> RouterMetrics:
        nonlocal metrics
        metrics = RouterMetrics(registry)
        return metrics

    async def remember(ctx: ServiceContext) -> None:
        """Keep every rule-set version the router ran with (decisions name it; simulate and explain read it)."""
        assert ctx.engine is not None  # noqa: S101 -- set before on_start
        async with ctx.engine.begin() as conn:
            await store.remember_rule_set(conn, rules.current.version, rules.text, ctx.clock.now())
        metrics.rules_loaded(rules.current)
        for warning in rules.current.warnings:
            log.warning("router_rules_warning", version=rules.current.version, warning=warning)

    async def watch_rules(ctx: ServiceContext) -> None:
        while True:
            await asyncio.sleep(s.rules_check_s)
            try:
                if rules.refresh():  # logs the reload, or why a changed file was refused
                    await remember(ctx)
            except Exception:
                log.exception("router_rules_watch_failed")

    async def observe_pool(ctx: ServiceContext) -> None:
        await gauges_forever(ctx, metrics.observe_pool, s.gauges_interval_s)

    def http_routes(ctx: ServiceContext) -> list[tuple[str, Any]]:
        app = api.create_api(ctx, s)
        return [(path, app) for path in api.PATHS]

    return build_app(
        ServiceSpec(
            name="router",
            settings=s,
            tables=store.tables,
            handlers={  # in this order within a batch: availability first, leads last
                topics.SALES_REP_STATUS: TopicHandler(router.on_rep_status, events.RepStatus),
                topics.SALES_ACTIVITY: TopicHandler(router.on_sales_activity, events.SalesActivity),
                topics.POOL_COMMANDS: TopicHandler(router.on_pool_command, events.PoolCommand),
                topics.LEADS_RECYCLED: TopicHandler(router.on_lead_recycled, events.LeadRecycled),
                topics.LEADS_SCORED: TopicHandler(router.on_lead_scored, events.LeadScored),
            },
            migrations=Path(__file__).parent / "migrations",
            on_start=remember,
            loops=[watch_rules, observe_pool],
            http_routes=http_routes,
            domain_metrics=domain_metrics,
        )
    )
