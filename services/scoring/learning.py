"""The learned model's lifecycle: cold start, incremental learning, shadow challengers, promotion, the blend."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.scoring.model import OutcomeModel, auc, encode, logit, sigmoid, train

FIRST_VERSION = "learned-1"  # the model grown from the first outcome on; retrains are named by the caller


@dataclass(frozen=True)
class LearningSettings:
    min_outcomes: int = 200  # cold start: below this (or with only one class) the rules alone decide
    max_model_weight: float = 0.8  # the blend's model share once warmed up (ramps up with outcomes)
    shadow_min_outcomes: int = 200  # outcomes a challenger must be measured on before promotion
    retrain_every: int = 1000  # outcomes between background retrains
    recent_window: int = 2000  # "recent outcomes" for comparing champion and challenger


@dataclass(frozen=True)
class ModelView:
    """What the model says about one lead."""

    probability: float
    points: float  # 0..100 on the scoring scale: 50 is a lead as likely to convert as the long-run average
    version: str
    contributions: list[tuple[str, float]]


@dataclass(frozen=True)
class ShadowReport:
    """Champion and challenger on the same recent outcomes, both scored before learning each."""

    measured: int
    champion_auc: float
    challenger_auc: float


class Learner:
    """Owns the champion (used) and the challenger (scored and measured, not used).

    Both learn from every outcome; the challenger is scored first, so its record is out-of-sample.
    Not thread-safe: the service calls it from one task; only `retrain`, which is pure, runs in a worker.
    """

    def __init__(
        self,
        settings: LearningSettings,
        *,
        champion: OutcomeModel | None = None,
        challenger: OutcomeModel | None = None,
    ) -> None:
        self.settings = settings
        self.champion = champion
        self.challenger = challenger
        self.since_retrain = 0
        self.promoted: list[str] = []  # versions promoted by this learner, oldest first
        self.retired: list[str] = []  # challengers measured and found no better
        self._shadow: deque[tuple[bool, float, float]] = deque(maxlen=settings.recent_window)

    @property
    def model_weight(self) -> float:
        """The model's share of the blend: 0 in cold start, ramping to the maximum over 5x min_outcomes."""
        model = self.champion
        if model is None or model.trained_on < self.settings.min_outcomes or not model.has_both_classes:
            return 0.0
        ramp = min(1.0, model.trained_on / (5 * self.settings.min_outcomes))
        return self.settings.max_model_weight * ramp

    def view(self, features: Mapping[str, Any]) -> ModelView | None:
        """The champion's probability and points for a lead; None in cold start."""
        model = self.champion
        if model is None or not self.model_weight:
            return None
        probability, contributions = model.assess(features)
        return ModelView(probability, points_of(probability, model.base_rate), model.version, contributions)

    def blend(self, rule_points: float, view: ModelView | None) -> float:
        """The final 0..100 score: rules alone in cold start, then a weighted mean with the model's points."""
        if view is None:
            return max(0.0, min(100.0, rule_points))
        weight = self.model_weight
        return max(0.0, min(100.0, (1 - weight) * rule_points + weight * view.points))

    def record_outcome(self, features: Mapping[str, Any], label: bool) -> None:  # noqa: FBT001 -- the interface the service calls
        """Shadow-measure the challenger, then let both models learn; counts towards the next retrain."""
        if self.champion is None:
            self.champion = OutcomeModel(FIRST_VERSION)
        names = encode(features)
        if self.challenger is not None:
            self._shadow.append((label, self.champion.log_odds_of(names), self.challenger.log_odds_of(names)))
            self.challenger.step(names, label)
            self.challenger.count(label)
        self.champion.step(names, label)
        self.champion.count(label)
        self.since_retrain += 1

    def needs_retrain(self) -> bool:
        """Enough new outcomes since the last retrain, and past cold start (nothing to learn in batch before)."""
        model = self.champion
        return (
            model is not None
            and model.trained_on >= self.settings.min_outcomes
            and self.since_retrain >= self.settings.retrain_every
        )

    def retrain(self, examples: Sequence[tuple[Mapping[str, Any], bool]], version: str) -> OutcomeModel:
        """A new challenger from the labelled examples (oldest first); reads and mutates no state of the learner.

        The trainer runs it on a fresh Learner in a worker process, so it depends on its arguments only.
        """
        return train(examples, version=version)

    def install_challenger(self, model: OutcomeModel) -> None:
        """Start measuring `model` in shadow (replacing any challenger still being measured)."""
        self.challenger = model
        self._shadow.clear()
        self.since_retrain = 0

    def shadow_report(self) -> ShadowReport | None:
        if self.challenger is None:
            return None
        labels = [label for label, _, _ in self._shadow]
        champion = auc(labels, [c for _, c, _ in self._shadow])
        challenger = auc(labels, [s for _, _, s in self._shadow])
        return ShadowReport(len(labels), champion, challenger)

    def maybe_promote(self) -> bool:
        """Once measured on enough outcomes: promote a challenger that ranks them better, else retire it."""
        report = self.shadow_report()
        if self.challenger is None or report is None or report.measured < self.settings.shadow_min_outcomes:
            return False
        challenger, self.challenger = self.challenger, None
        self._shadow.clear()
        if report.challenger_auc > report.champion_auc:
            self.champion = challenger
            self.promoted.append(challenger.version)
            return True
        self.retired.append(challenger.version)
        return False


def points_of(probability: float, base_rate: float) -> float:
    """Points relative to the base rate: an average lead scores 50, twice the odds ~67, half ~33.

    Relative points keep grades meaningful whatever a business's base rate (1% or 40%). The base
    rate is the long-run one, not a recent one: when the market heats up, more leads rightly grade
    higher instead of being normalised back to 50 (on the bank data, relative to a recent rate the
    AUC on the last 20% drops from about 0.76 to 0.74).
    """
    return 100.0 * sigmoid(logit(probability) - logit(base_rate))
