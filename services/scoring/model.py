"""The learned model: online logistic regression over the feature dict, explainable feature by feature."""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson

FORMAT = 1  # bumped when the serialised layout changes; from_bytes refuses what it cannot read
_CLIP = 30.0  # |log-odds| beyond this is certainty; keeps exp() finite
_SKIPPED = frozenset({"engagement"})  # expanded to its kinds below, never as a raw value


class OutcomeModel:
    """Logistic regression with one weight per `feature=value`, learnt by SGD at a constant rate.

    A constant rate (rather than AdaGrad's shrinking one) means old outcomes fade geometrically: when
    the market shifts, the model follows within a few thousand outcomes instead of defending the past.
    """

    def __init__(
        self, version: str, *, learning_rate: float = 0.01, l2: float = 1e-4, max_features: int = 100_000
    ) -> None:
        self.version = version
        self.trained_on = 0
        self.learning_rate = learning_rate
        self.l2 = l2
        self.max_features = max_features
        self.bias = 0.0
        self.weights: dict[str, float] = {}
        # Outcome counts since the start (not decayed): the long-run base rate that points are relative to.
        self.positives = 0.0
        self.negatives = 0.0

    @property
    def base_rate(self) -> float:
        """The long-run share of positive outcomes (add-one smoothed)."""
        return (self.positives + 1.0) / (self.positives + self.negatives + 2.0)

    @property
    def has_both_classes(self) -> bool:
        return self.positives > 0 and self.negatives > 0

    def log_odds(self, features: Mapping[str, Any]) -> float:
        return self.log_odds_of(encode(features))

    def log_odds_of(self, names: Sequence[str]) -> float:
        """The log-odds of already encoded features."""
        get = self.weights.get
        return self.bias + sum(get(name, 0.0) for name in names)

    def predict(self, features: Mapping[str, Any]) -> float:
        """The probability of a positive outcome."""
        return sigmoid(self.log_odds(features))

    def contributions(self, features: Mapping[str, Any], top: int = 3) -> list[tuple[str, float]]:
        """`feature=value` -> its log-odds contribution, largest magnitude first (the bias is not a reason)."""
        return self.assess(features, top)[1]

    def assess(self, features: Mapping[str, Any], top: int = 3) -> tuple[float, list[tuple[str, float]]]:
        """`predict` and `contributions` in one pass over the features (the scoring path needs both)."""
        get = self.weights.get
        found = [(name, get(name, 0.0)) for name in encode(features)]
        probability = sigmoid(self.bias + sum(w for _, w in found))
        found = sorted((item for item in found if item[1]), key=lambda item: -abs(item[1]))
        return probability, found[:top]

    def learn(self, features: Mapping[str, Any], label: bool, weight: float = 1.0) -> None:  # noqa: FBT001 -- the interface the service calls
        """One SGD step on the log loss, with L2 applied to the features present (sparse, so O(features))."""
        self.step(encode(features), label, weight)
        self.count(label, weight)

    def step(self, names: Sequence[str], label: bool, weight: float = 1.0) -> None:  # noqa: FBT001 -- mirrors learn
        """The SGD step of `learn` on already encoded features (a retrain encodes each example once)."""
        weights = self.weights
        error = (sigmoid(self.log_odds_of(names)) - float(label)) * weight
        rate = self.learning_rate
        self.bias -= rate * error
        shrink = 1.0 - rate * self.l2
        for name in names:
            current = weights.get(name)
            if current is None:
                if len(weights) >= self.max_features:
                    continue  # unbounded values (free text, ids) must not grow the model without end
                current = 0.0
            weights[name] = current * shrink - rate * error

    def count(self, label: bool, weight: float = 1.0) -> None:  # noqa: FBT001 -- mirrors learn
        if label:
            self.positives += weight
        else:
            self.negatives += weight
        self.trained_on += 1

    def to_bytes(self) -> bytes:
        """zlib-compressed JSON: readable with any tool, a few hundred kB for a large model."""
        state = {
            "format": FORMAT,
            "version": self.version,
            "trained_on": self.trained_on,
            "learning_rate": self.learning_rate,
            "l2": self.l2,
            "max_features": self.max_features,
            "bias": self.bias,
            "positives": self.positives,
            "negatives": self.negatives,
            "weights": self.weights,
        }
        return zlib.compress(orjson.dumps(state))

    @classmethod
    def from_bytes(cls, data: bytes) -> OutcomeModel:
        state = orjson.loads(zlib.decompress(data))
        if state.get("format") != FORMAT:
            raise ValueError(f"model format {state.get('format')!r} is not {FORMAT}")
        model = cls(
            state["version"],
            learning_rate=state["learning_rate"],
            l2=state["l2"],
            max_features=state["max_features"],
        )
        model.trained_on = state["trained_on"]
        model.bias = state["bias"]
        model.positives = state["positives"]
        model.negatives = state["negatives"]
        model.weights = {str(k): float(v) for k, v in state["weights"].items()}
        return model


def train(
    examples: Sequence[tuple[Mapping[str, Any], bool]], *, version: str, epochs: int = 2, half_life: float = 2000.0
) -> OutcomeModel:
    """Batch retrain, oldest first, each example weighted by its recency (halved every `half_life` outcomes).

    Examples weighing less than 1/128 are skipped: they could hardly move the model, and skipping
    them bounds a retrain's cost however much history the caller passes. All examples count
    towards the base rate.
    """
    model = OutcomeModel(version)
    recent = examples[-int(half_life * 7) :]
    n = len(recent)
    encoded = [(encode(f), label, 0.5 ** ((n - 1 - i) / half_life)) for i, (f, label) in enumerate(recent)]
    for _ in range(epochs):
        for names, label, weight in encoded:
            model.step(names, label, weight)
    for _, label in examples:
        model.count(label)
    return model


def auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """Area under the ROC curve by the Mann-Whitney rank sum, tied scores sharing their average rank.

    0.5 when one class is missing (no ranking can be judged).
    """
    if len(labels) != len(scores):
        raise ValueError("labels and scores differ in length")
    order = sorted(range(len(scores)), key=scores.__getitem__)
    positives = sum(1 for label in labels if label)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return 0.5
    rank_sum = 0.0
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        average_rank = (start + end) / 2 + 1  # ranks are 1-based
        rank_sum += average_rank * sum(1 for i in order[start : end + 1] if labels[i])
        start = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def sigmoid(x: float) -> float:
    x = max(-_CLIP, min(_CLIP, x))
    return 1.0 / (1.0 + math.exp(-x))


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def encode(features: Mapping[str, Any]) -> list[str]:
    """The active `feature=value` names of a feature dict."""
    return list(_names(features))


def _names(features: Mapping[str, Any]) -> Iterator[str]:
    for key, value in features.items():
        if key == "attributes" and isinstance(value, Mapping):
            for name, attribute in value.items():
                yield from _value_names(f"attributes.{name}", attribute)
        elif key == "engagement" and isinstance(value, list):
            for entry in value:
                if isinstance(entry, Mapping) and entry.get("kind"):
                    yield f"engagement={entry['kind']}"
        elif key not in _SKIPPED:
            yield from _value_names(key, value)


def _value_names(key: str, value: Any) -> Iterator[str]:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        if value:  # drop-one coding: the bias stands for false, so a flag every lead lacks adds nothing
            yield f"{key}=true"
    elif isinstance(value, int | float):
        yield from _number_names(key, float(value))
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            if not isinstance(item, list | tuple | set | frozenset | Mapping):
                yield from _value_names(key, item)
    elif not isinstance(value, Mapping):
        yield f"{key}={str(value).strip().lower()[:64]}"


def _number_names(key: str, x: float) -> Iterator[str]:
    """A number as two bins on a log scale (quarter- and whole-octave): fine where data is dense, coarse for the rest.

    Log bins need no knowledge of a column's range, so any numeric attribute of any table works; the
    overlapping coarse bin shares what neighbouring fine bins learn.
    """
    if not math.isfinite(x):
        return
    if 0.0 < abs(x) < 1.0 and not x.is_integer():  # shares, ratios, quality 0-1
        yield f"{key}={math.floor(x * 10) / 10:g}..{math.floor(x * 10 + 1) / 10:g}"
        return
    sign = "-" if x < 0 else ""
    fine = math.floor(4 * math.log2(1 + abs(x)))
    fine_name = f"{key}={sign}{_bin_range(fine, 4)}"
    coarse_name = f"{key}={sign}{_bin_range(fine // 4, 1)}"
    yield fine_name
    if coarse_name != fine_name:  # small integers: both bins hold the one value
        yield coarse_name


def _bin_range(index: int, per_octave: int) -> str:
    low = math.ceil(2 ** (index / per_octave) - 1 - 1e-9)
    high = math.ceil(2 ** ((index + 1) / per_octave) - 1 - 1e-9) - 1
    return f"{low}" if high <= low else f"{low}..{high}"
