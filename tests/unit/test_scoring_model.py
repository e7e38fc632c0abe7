"""The learned model and its lifecycle: AUC, learning, storage, cold start, shadow promotion, the blend."""

from __future__ import annotations

import itertools
import random
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.scoring.learning import FIRST_VERSION, Learner, LearningSettings, ModelView, points_of
from services.scoring.model import OutcomeModel, auc, encode, train

pytestmark = pytest.mark.unit


def lead(**attributes: Any) -> dict[str, Any]:
    return {"source": "web-form", "has_phone": True, "attributes": attributes}


def pairwise_auc(labels: list[bool], scores: list[float]) -> float:
    """The definition: the share of (positive, negative) pairs ranked right, ties counting a half."""
    pairs = [(p, n) for p, n in itertools.product(range(len(labels)), repeat=2) if labels[p] and not labels[n]]
    won = sum(1.0 if scores[p] > scores[n] else 0.5 if scores[p] == scores[n] else 0.0 for p, n in pairs)
    return won / len(pairs)


# --- auc ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "scores", "expected"),
    [
        ([True, False, True, False], [0.9, 0.1, 0.8, 0.2], 1.0),
        ([True, False, True, False], [0.1, 0.9, 0.2, 0.8], 0.0),
        ([True, False, True, False], [0.5, 0.5, 0.5, 0.5], 0.5),
        # (0.8 vs 0.8) half, (0.8 vs 0.1) won, (0.3 vs 0.8) lost, (0.3 vs 0.1) won: 2.5 of 4
        ([True, False, True, False], [0.8, 0.8, 0.3, 0.1], 0.625),
        ([True, True], [0.1, 0.2], 0.5),  # one class: nothing to rank
    ],
)
def test_auc_on_known_cases(labels: list[bool], scores: list[float], expected: float) -> None:
    assert auc(labels, scores) == pytest.approx(expected)


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=2, max_size=40))
def test_auc_is_the_share_of_pairs_ranked_right_with_ties_averaged(rows: list[tuple[bool, int]]) -> None:
    labels = [label for label, _ in rows]
    scores = [float(score) for _, score in rows]
    if all(labels) or not any(labels):
        assert auc(labels, scores) == 0.5
    else:
        assert auc(labels, scores) == pytest.approx(pairwise_auc(labels, scores))


def test_auc_refuses_lists_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="length"):
        auc([True, False], [0.1])


# --- features ---------------------------------------------------------------------------------------


def test_encoding_one_hots_values_bins_numbers_and_spreads_lists() -> None:
    names = encode(
        {
            "source": "Referral",
            "has_phone": True,
            "free_mail": False,
            "product_interest": ["crm", "erp"],
            "engagement": [{"kind": "reply", "at": "2024-01-01T00:00:00+00:00"}],
            "quality": 0.75,
            "attributes": {"age": 35, "job": "admin."},
        }
    )
    assert "source=referral" in names
    assert "has_phone=true" in names
    assert not any(n.startswith("free_mail") for n in names)  # false is the bias's job
    assert {"product_interest=crm", "product_interest=erp", "engagement=reply", "attributes.job=admin."} <= set(names)
    assert "quality=0.7..0.8" in names
    assert sorted(n for n in names if n.startswith("attributes.age")) == [
        "attributes.age=31..37",
        "attributes.age=31..62",
    ]


def test_nearby_numbers_share_a_bin_and_distant_ones_do_not() -> None:
    def bins(x: float) -> set[str]:
        return set(encode({"attributes": {"balance": x}}))

    assert bins(1500) & bins(1700)
    assert not bins(1000) & bins(10)
    assert not bins(-1000) & bins(1000)
    assert "attributes.balance=5" in bins(5)  # small integers keep their value (and share a wider bin)
    assert bins(0) == {"attributes.balance=0"}


# --- learning -----------------------------------------------------------------------------------------


def test_learning_moves_the_prediction_the_right_way_and_only_for_leads_like_it() -> None:
    model = OutcomeModel("m")
    hot, cold = lead(budget="approved"), lead(budget="none")
    start = model.predict(hot)
    for _ in range(300):
        model.learn(hot, label=True)
        model.learn(cold, label=False)
    assert model.predict(hot) > start > model.predict(cold)
    assert model.trained_on == 600
    assert model.base_rate == pytest.approx(0.5)
    [(name, contribution), *_] = model.contributions(hot)
    assert name == "attributes.budget=approved"
    assert contribution > 0
    [(cold_name, cold_contribution)] = model.contributions(cold, top=1)
    assert cold_name == "attributes.budget=none"
    assert cold_contribution == pytest.approx(-contribution, rel=0.01)


def test_contributions_come_largest_first_and_leave_out_what_was_never_seen() -> None:
    model = OutcomeModel("m")
    for _ in range(200):
        model.learn(lead(budget="approved", timeline="soon"), label=True)
        model.learn(lead(budget="approved", timeline="later"), label=False)
        model.learn(lead(budget="none", timeline="later"), label=False)
    found = model.contributions(lead(budget="approved", timeline="soon", colour="blue"), top=10)
    assert [abs(c) for _, c in found] == sorted((abs(c) for _, c in found), reverse=True)
    assert not any("colour" in name for name, _ in found)
    assert found[0][0] == "attributes.timeline=soon"


def test_a_model_survives_storage_unchanged() -> None:
    model = OutcomeModel("v7")
    rng = random.Random(1)
    for _ in range(500):
        x = rng.choice(["a", "b", "c"])
        model.learn(lead(x=x, n=rng.randint(0, 500)), label=x == "a")
    copy = OutcomeModel.from_bytes(model.to_bytes())
    assert (copy.version, copy.trained_on, copy.base_rate) == ("v7", 500, model.base_rate)
    probe = lead(x="a", n=42)
    assert copy.predict(probe) == model.predict(probe)
    assert copy.contributions(probe) == model.contributions(probe)


def test_a_stored_model_of_another_format_is_refused() -> None:
    state = zlib.decompress(OutcomeModel("v1").to_bytes())
    tampered = zlib.compress(state.replace(b'"format":1', b'"format":99'))
    with pytest.raises(ValueError, match="format"):
        OutcomeModel.from_bytes(tampered)


def test_a_retrain_weights_recent_outcomes_more() -> None:
    # "x=a" converted for a long time, then stopped: the retrained model must believe the recent past.
    old = [(lead(x="a"), True), (lead(x="b"), False)] * 3000
    recent = [(lead(x="a"), False), (lead(x="b"), True)] * 1000
    model = train(old + recent, version="r1")
    assert model.version == "r1"
    assert model.predict(lead(x="a")) < 0.5 < model.predict(lead(x="b"))
    assert model.trained_on == len(old) + len(recent)


# --- the learner: cold start, the blend -----------------------------------------------------------------


def test_cold_start_leaves_the_rules_alone() -> None:
    learner = Learner(LearningSettings(min_outcomes=50))
    assert learner.view(lead(x="a")) is None
    for i in range(100):
        learner.record_outcome(lead(x=str(i % 3)), label=False)  # plenty of outcomes, but one class only
    assert learner.view(lead(x="a")) is None
    assert learner.blend(42.0, None) == 42.0
    learner.record_outcome(lead(x="0"), label=True)
    assert learner.view(lead(x="0")) is not None  # both classes, enough outcomes: the model has a say


def test_the_model_has_a_say_once_warm_and_its_share_ramps_up() -> None:
    settings = LearningSettings(min_outcomes=100, max_model_weight=0.8)
    learner = Learner(settings)
    rng = random.Random(3)
    shares = []
    for n in range(1, 701):
        x = rng.choice("ab")
        learner.record_outcome(lead(x=x), label=(x == "a") == (rng.random() < 0.8))
        view = learner.view(lead(x="a"))
        if n < 100:
            assert view is None
            continue
        assert view is not None
        assert view.version == FIRST_VERSION
        share = (learner.blend(0.0, view) - 0.0) / view.points  # rule points 0: the blend is the model's share
        shares.append(share)
    assert shares == sorted(shares)
    assert shares[0] == pytest.approx(0.8 * 100 / 500)
    assert shares[-1] == pytest.approx(0.8)


def test_points_are_relative_to_the_base_rate() -> None:
    assert points_of(0.1, 0.1) == pytest.approx(50.0)
    assert points_of(0.4, 0.4) == pytest.approx(50.0)
    assert points_of(2 / 11, 0.1) == pytest.approx(100 * 2 / 3)  # twice the odds of an average lead
    assert points_of(0.9, 0.1) > points_of(0.5, 0.1) > points_of(0.05, 0.1)


def test_the_blend_stays_on_the_scale() -> None:
    learner = Learner(LearningSettings(min_outcomes=10))
    for i in range(60):
        learner.record_outcome(lead(x=str(i % 2)), label=i % 2 == 0)
    view = ModelView(probability=0.99, points=100.0, version="v", contributions=[])
    assert 0.0 <= learner.blend(150.0, view) <= 100.0
    assert learner.blend(-20.0, None) == 0.0


# --- retrain, shadow, promotion -----------------------------------------------------------------------------


def trained(*, right: bool, version: str) -> OutcomeModel:
    """A model that learnt "x=a converts" (right) or the opposite (wrong)."""
    examples = [(lead(x="a"), right), (lead(x="b"), not right)] * 500
    return train(examples, version=version)


def outcomes(n: int, seed: int = 5) -> list[tuple[dict[str, Any], bool]]:
    rng = random.Random(seed)
    found = []
    for _ in range(n):
        x = rng.choice("ab")
        found.append((lead(x=x), (x == "a") == (rng.random() < 0.9)))
    return found


def test_a_retrain_is_due_every_so_many_outcomes_and_installing_resets_the_count() -> None:
    learner = Learner(LearningSettings(min_outcomes=50, retrain_every=100))
    history = outcomes(150)
    for n, (features, label) in enumerate(history, start=1):
        learner.record_outcome(features, label)
        assert learner.needs_retrain() == (n >= 100)
    challenger = learner.retrain(history, "r1")
    assert learner.challenger is None  # retrain is pure: the caller installs
    learner.install_challenger(challenger)
    assert learner.challenger is challenger
    assert not learner.needs_retrain()


def test_a_better_challenger_is_promoted_after_its_shadow_period_only() -> None:
    settings = LearningSettings(min_outcomes=10, shadow_min_outcomes=200)
    learner = Learner(settings, champion=trained(right=False, version="old"))
    learner.install_challenger(trained(right=True, version="new"))
    stream = outcomes(200)
    for features, label in stream[:199]:
        learner.record_outcome(features, label)
        assert not learner.maybe_promote()
    learner.record_outcome(*stream[199])
    report = learner.shadow_report()
    assert report is not None
    assert report.measured == 200
    assert report.challenger_auc > report.champion_auc
    assert learner.maybe_promote()
    assert learner.champion is not None
    assert learner.champion.version == "new"
    assert learner.challenger is None
    assert learner.promoted == ["new"]


def test_a_challenger_no_better_is_retired_and_the_champion_stays() -> None:
    learner = Learner(LearningSettings(min_outcomes=10, shadow_min_outcomes=100))
    champion = trained(right=True, version="good")
    learner.champion = champion
    learner.install_challenger(trained(right=False, version="bad"))
    for features, label in outcomes(100):
        learner.record_outcome(features, label)
    assert not learner.maybe_promote()
    assert learner.champion is champion
    assert learner.challenger is None
    assert learner.retired == ["bad"]


def test_the_shadow_is_scored_before_it_learns_each_outcome() -> None:
    # Every lead is new and every outcome a coin toss: nothing can be predicted. Scored after learning
    # its own outcome, each lead's id would give it away and both models would rank almost perfectly.
    learner = Learner(LearningSettings(min_outcomes=1, shadow_min_outcomes=100))
    learner.champion = OutcomeModel("champion")
    learner.install_challenger(OutcomeModel("challenger"))
    rng = random.Random(9)
    for i in range(100):
        learner.record_outcome(lead(id=f"lead-{i}"), label=rng.random() < 0.5)
    report = learner.shadow_report()
    assert report is not None
    assert report.measured == 100
    assert report.champion_auc < 0.7
    assert report.challenger_auc < 0.7
