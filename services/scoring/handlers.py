"""scoring's subscribers: unique leads and re-engagements → scored leads; sales outcomes → labelled examples.

A score is the blend of the YAML points model (explainable, hot-reloaded) and the model learned from
outcomes (services.scoring.learning); with too few outcomes the rules alone decide. The scored
event carries the enrichment with its provenance, both parts of the score and the top factors of each.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from services.scoring import store
from services.scoring.enrichment import Enricher, Enrichment
from services.scoring.features import features_of
from services.scoring.learning import Learner, ModelView
from services.scoring.rules import RuleScore, RulesFile
from shared.runtime.db import Inbound, UnitOfWork
from shared.runtime.logging import get_logger
from shared.schemas import topics
from shared.schemas.events import LeadReengaged, SalesActivity

log = get_logger(__name__)

POSITIVE = frozenset({"converted", "qualified"})
NEGATIVE = frozenset({"lost", "disqualified"})
TOP_FACTORS = 6


class Scoring:
    def __init__(self, rules: RulesFile, enricher: Enricher, learner: Learner) -> None:
        self.rules = rules
        self.enricher = enricher
        self.learner = learner

    async def on_lead_deduplicated(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Enrich the batch, score each lead, keep the scoring and its history, pass the lead on."""
        payloads = [m.raw for m in messages]
        enrichments = await self.enricher.enrich_batch(payloads)
        batch = _Batch(uow)
        for message, enrichment in zip(messages, enrichments, strict=True):
            if message.lead_id is None:
                uow.outcome(message, "no_lead_id")
                continue
            self._score(
                batch=batch,
                message=message,
                lead_id=message.lead_id,
                payload=message.raw,
                enrichment=enrichment,
                engagement=[],
                reason="new_lead",
                detail=None,
            )
        batch.write()

    async def on_lead_reengaged(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Re-score a lead with its new engagement: the reason is on the event, the history keeps both."""
        stored = await store.load_leads(uow.conn, [m.payload.lead_id for m in messages])
        known = [m for m in messages if m.payload.lead_id in stored]
        for message in messages:
            if message.payload.lead_id not in stored:
                uow.outcome(message, "unknown_lead")
                log.warning("reengaged_lead_not_scored", lead_id=str(message.payload.lead_id))
        enrichments = await self.enricher.enrich_batch([stored[m.payload.lead_id].payload for m in known])
        batch = _Batch(uow)
        so_far: dict[uuid.UUID, list[dict[str, Any]]] = {}  # a lead re-engaged twice in one batch keeps both
        for message, enrichment in zip(known, enrichments, strict=True):
            event: LeadReengaged = message.payload
            row = stored[event.lead_id]
            engagement = so_far[event.lead_id] = [
                *so_far.get(event.lead_id, row.engagement),
                {
                    "kind": "reengaged",
                    "reason": event.reason,
                    "score": event.engagement_score,
                    "at": message.envelope.occurred_at.isoformat(),
                },
            ]
            merged = _prefer(enrichment, Enrichment.from_event(row.enrichment))
            self._score(
                batch=batch,
                message=message,
                lead_id=event.lead_id,
                payload=row.payload,
                enrichment=merged,
                engagement=engagement,
                reason="reengaged",
                detail=event.reason,
            )
        batch.write()

    async def on_sales_activity(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Outcomes become labelled examples: the lead as it was scored, and whether it converted."""
        outcomes = []
        for message in messages:
            if message.payload.kind in POSITIVE or message.payload.kind in NEGATIVE:
                outcomes.append(message)
            else:
                uow.outcome(message, "not_an_outcome")
        stored = await store.load_leads(uow.conn, [m.payload.lead_id for m in outcomes])
        rows = []
        for message in outcomes:
            activity: SalesActivity = message.payload
            row = stored.get(activity.lead_id)
            if row is None:
                uow.outcome(message, "unknown_lead")
                log.warning("outcome_for_unscored_lead", lead_id=str(activity.lead_id), kind=activity.kind)
                continue
            features = features_of(
                row.payload, Enrichment.from_event(row.enrichment).values, _engagement(row.engagement)
            )
            rows.append(
                {
                    "lead_id": activity.lead_id,
                    "kind": activity.kind,
                    "label": activity.kind in POSITIVE,
                    "features": _jsonable(features),
                    "at": activity.at,
                    "recorded_at": uow.now(),
                }
            )
            uow.outcome(message, "positive" if activity.kind in POSITIVE else "negative")
            uow.tally("outcome", activity.kind)
        if rows:
            uow.defer(*store.insert_outcomes(rows))

    def _score(  # noqa: PLR0913 -- one lead's scoring inputs
        self,
        *,
        batch: _Batch,
        message: Inbound,
        lead_id: uuid.UUID,
        payload: Mapping[str, Any],
        enrichment: Enrichment,
        engagement: list[dict[str, Any]],
        reason: str,
        detail: str | None,
    ) -> None:
        uow = batch.uow
        now = uow.now()
        points_model = self.rules.current
        features = features_of(payload, enrichment.values, _engagement(engagement))
        rule = points_model.score(features, now)
        view = self.learner.view(features)
        final = max(0.0, min(100.0, self.learner.blend(rule.points, view)))
        score = round(final)
        grade, temperature = points_model.grade(score), points_model.temperature(score)
        factors = explain(rule, view, final)
        version = points_model.version if view is None else f"{points_model.version}/{view.version}"
        enriched = enrichment.as_event()
        scored = {
            **payload,
            "enrichment": enriched,
            "score": score,
            "grade": grade,
            "temperature": temperature,
            "factors": factors,
            "model_version": version,
            "reason": reason,
            "rule_points": round(rule.points, 2),
            "model_points": None if view is None else round(view.points, 2),
        }
        if detail is not None:
            scored["reason_detail"] = detail
        uow.emit(topics.LEADS_SCORED, scored, lead_id=lead_id, cause=message)
        uow.outcome(message, f"grade_{grade}")
        batch.scores.append(
            {
                "lead_id": lead_id,
                "score": score,
                "grade": grade,
                "temperature": temperature,
                "factors": factors,
                "model_version": version,
                "reason": reason,
                "scored_at": now,
                "rule_points": rule.points,
                "model_points": None if view is None else view.points,
            }
        )
        batch.leads[lead_id] = {
            "lead_id": lead_id,
            "payload": payload,
            "enrichment": enriched,
            "engagement": engagement,
            "score": score,
            "grade": grade,
            "scored_at": now,
        }


class _Batch:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.scores: list[dict[str, Any]] = []
        self.leads: dict[uuid.UUID, dict[str, Any]] = {}  # a lead twice in a batch: its last scoring

    def write(self) -> None:
        if self.scores:
            self.uow.defer(*store.save_scores(self.scores))
        if self.leads:
            self.uow.defer(*store.upsert_leads(list(self.leads.values())))


def explain(rule: RuleScore, view: ModelView | None, final: float) -> list[dict[str, Any]]:
    """The top factors of the final score, in points of it.

    Rule factors count with the rules' share of the blend; the model's share is split among its
    features by their log-odds contributions (how far they move this lead from an average one).
    """
    rule_share = 1.0
    factors: list[dict[str, Any]] = []
    if view is not None and abs(view.points - rule.points) > 1e-9:
        rule_share = max(0.0, min(1.0, (final - view.points) / (rule.points - view.points)))
        model_share = 1.0 - rule_share
        total = sum(abs(c) for _, c in view.contributions) or 1.0
        deviation = model_share * (view.points - 50.0)
        factors += [
            {"name": f"model:{name}", "contribution": round(deviation * abs(c) / total * (1 if c >= 0 else -1), 2)}
            for name, c in view.contributions
        ]
    factors += [
        _factor(f.name, f.contribution * rule_share, f.detail) for f in rule.factors if f.contribution * rule_share
    ]
    factors.sort(key=lambda f: -abs(f["contribution"]))
    return factors[:TOP_FACTORS]


def _factor(name: str, contribution: float, detail: str | None) -> dict[str, Any]:
    factor: dict[str, Any] = {"name": name, "contribution": round(contribution, 2)}
    if detail is not None:
        factor["detail"] = detail
    return factor


def _prefer(fresh: Enrichment, stored: Enrichment) -> Enrichment:
    """Today's enrichment where a provider answered, the stored values (and their provenance) where it failed."""
    return Enrichment({**stored.values, **fresh.values}, {**stored.provenance, **fresh.provenance}, list(fresh.failed))


def _engagement(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Stored engagement entries (ISO times) with datetimes, as the points model decays them."""
    return [
        {**e, "at": datetime.fromisoformat(e["at"]) if isinstance(e.get("at"), str) else e.get("at")} for e in entries
    ]


def _jsonable(features: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(features)
    if "engagement" in out:
        out["engagement"] = [
            {**e, "at": e["at"].isoformat() if isinstance(e.get("at"), datetime) else e.get("at")}
            for e in out["engagement"]
        ]
    return out
