"""scoring composition root: `faststream run services.scoring.app:create_app --factory`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from faststream.asgi import AsgiFastStream

from services.scoring import store
from services.scoring.enrichment import (
    Enricher,
    FirmographicProvider,
    FirmographicTable,
    PhoneRegionProvider,
    TitleProvider,
    read_firmographics_csv,
)
from services.scoring.handlers import Scoring
from services.scoring.learning import Learner, LearningSettings
from services.scoring.metrics import scoring_metrics
from services.scoring.rules import RulesFile
from services.scoring.settings import ScoringSettings
from services.scoring.trainer import Trainer
from shared.runtime.clock import SystemClock
from shared.runtime.consumer import TopicHandler
from shared.runtime.logging import get_logger
from shared.runtime.service import ServiceContext, ServiceSpec, build_app
from shared.schemas import events, topics

log = get_logger(__name__)


def learning_settings(s: ScoringSettings) -> LearningSettings:
    return LearningSettings(
        min_outcomes=s.min_outcomes,
        max_model_weight=s.max_model_weight,
        shadow_min_outcomes=s.shadow_min_outcomes,
        retrain_every=s.retrain_every,
        recent_window=s.recent_window,
    )


@dataclass
class _Runtime:
    """The scoring service's parts and the loops that keep them fresh."""

    settings: ScoringSettings
    clock: SystemClock
    rules: RulesFile
    firmographics: FirmographicProvider
    enricher: Enricher
    trainer: Trainer

    async def on_start(self, ctx: ServiceContext) -> None:
        """Load the reference table (from the CSV setting when the table is empty)."""
        assert ctx.engine is not None  # noqa: S101 -- set by the runtime before on_start
        async with ctx.engine.begin() as conn:
            rows = await store.firmographic_rows(conn)
            if not rows and self.settings.firmographics_csv is not None:
                rows = read_firmographics_csv(self.settings.firmographics_csv)
                await store.replace_firmographics(conn, rows, self.clock.now())
        self.firmographics.table = FirmographicTable.from_rows(rows)
        log.info("firmographics_loaded", companies=len(rows))

    async def reload_reference(self, ctx: ServiceContext) -> None:
        assert ctx.engine is not None  # noqa: S101
        while True:
            await asyncio.sleep(self.settings.firmographics_refresh_s)
            try:
                async with ctx.engine.connect() as conn:
                    self.firmographics.table = FirmographicTable.from_rows(await store.firmographic_rows(conn))
            except Exception:
                log.exception("firmographics_reload_failed")

    async def watch_rules(self, _: ServiceContext) -> None:
        try:
            while True:
                await asyncio.sleep(self.settings.rules_check_s)
                self.rules.refresh()  # logs the reload, or why a changed file was refused
        finally:
            self.enricher.close()

    async def learn(self, ctx: ServiceContext) -> None:
        assert ctx.engine is not None  # noqa: S101
        try:
            while True:
                try:
                    await self.trainer.step(ctx.engine)
                except Exception:
                    log.exception("scoring_learning_step_failed")
                await asyncio.sleep(self.settings.learn_interval_s)
        finally:
            await self.trainer.close()


def create_app(settings: ScoringSettings | None = None) -> AsgiFastStream:
    """Build the scoring service: enrichment, the points model, the learner and its background trainer."""
    settings = settings or ScoringSettings()
    clock = SystemClock()
    rules = RulesFile(settings.rules_file)  # a bad rules file stops the start: nothing runs on no rules
    firmographics = FirmographicProvider(FirmographicTable.from_rows([]))
    enricher = Enricher(
        [firmographics, PhoneRegionProvider(), TitleProvider()], timeout_s=settings.enrichment_timeout_s, clock=clock
    )
    learning = learning_settings(settings)
    learner = Learner(learning)
    scoring = Scoring(rules, enricher, learner)
    trainer = Trainer(learner, learning, clock, settings.retrain_max_examples)
    runtime = _Runtime(settings, clock, rules, firmographics, enricher, trainer)
    return build_app(
        ServiceSpec(
            name="scoring",
            settings=settings,
            tables=store.tables,
            handlers={
                topics.LEADS_DEDUPLICATED: TopicHandler(scoring.on_lead_deduplicated, events.LeadDeduplicated),
                topics.LEADS_REENGAGED: TopicHandler(scoring.on_lead_reengaged, events.LeadReengaged),
                topics.SALES_ACTIVITY: TopicHandler(scoring.on_sales_activity, events.SalesActivity),
            },
            migrations=Path(__file__).parent / "migrations",
            on_start=runtime.on_start,
            loops=[runtime.reload_reference, runtime.watch_rules, runtime.learn],
            domain_metrics=scoring_metrics,
            clock=clock,
        )
    )
