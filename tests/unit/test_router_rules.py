"""Routing rules (YAML → validated rule set, first match wins) and the weighted round-robin pick."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from services.router.domain import pick_round_robin, rotation
from services.router.rules import Rep, Rule, RuleSet, RuleSetError, Team, load_rule_set

pytestmark = pytest.mark.unit

ROUTING_YAML = Path(__file__).resolve().parents[2] / "deploy" / "config" / "routing.yaml"

VALID_TEAMS = """
teams:
  - id: east
    reps: [{id: rep-a}, {id: rep-b}]
"""


def write_rules(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path) -> str:
    with pytest.raises(RuleSetError) as caught:
        load_rule_set(path)
    message = str(caught.value)
    assert str(path) in message  # every refusal names the file
    return message


# --- the shipped rule file -------------------------------------------------------------------------


def test_shipped_rule_file_loads() -> None:
    rules = load_rule_set(ROUTING_YAML)
    assert rules.version
    assert {t.id for t in rules.teams} == {"cn-east", "cn-north", "cn-south", "cn-west", "international"}
    assert all(r.team in {t.id for t in rules.teams} for r in rules.rules if r.team)


@pytest.mark.parametrize(
    ("facts", "rule_id"),
    [
        ({"grade": "D", "sales_region": "cn-east"}, "grade-d-to-pool"),  # the pool rule comes first
        ({"grade": "A", "sales_region": "cn-east"}, "cn-east"),
        ({"grade": "B", "sales_region": "cn-northeast"}, "cn-north"),
        ({"grade": "C", "sales_region": "cn-southwest"}, "cn-west"),
        ({"grade": "A", "sales_region": "europe"}, "international"),
        ({"grade": "A", "sales_region": "cn-other"}, None),
        ({"grade": "A", "sales_region": None}, None),
    ],
)
def test_shipped_rules_route_by_grade_then_region(facts: dict[str, str | None], rule_id: str | None) -> None:
    rule = load_rule_set(ROUTING_YAML).first_match(facts)
    assert (rule.id if rule else None) == rule_id


# --- refused rule files ----------------------------------------------------------------------------


def test_rule_naming_an_unknown_team_is_refused(tmp_path: Path) -> None:
    path = write_rules(tmp_path, 'version: "1"' + VALID_TEAMS + "rules:\n  - {id: r1, team: west}\n")
    message = refused(path)
    assert "unknown teams" in message
    assert "west" in message


def test_rule_with_both_team_and_pool_is_refused(tmp_path: Path) -> None:
    path = write_rules(tmp_path, 'version: "1"' + VALID_TEAMS + "rules:\n  - {id: r-both, team: east, pool: true}\n")
    message = refused(path)
    assert "r-both" in message
    assert "exactly one target" in message


def test_rule_with_no_target_is_refused(tmp_path: Path) -> None:
    path = write_rules(tmp_path, 'version: "1"' + VALID_TEAMS + "rules:\n  - {id: r-none, when: {grade: [A]}}\n")
    message = refused(path)
    assert "r-none" in message
    assert "exactly one target" in message


def test_duplicate_team_ids_are_refused(tmp_path: Path) -> None:
    text = 'version: "1"' + VALID_TEAMS + "  - id: east\n    reps: [{id: rep-c}]\nrules:\n  - {id: r1, team: east}\n"
    assert "team ids must be unique" in refused(write_rules(tmp_path, text))


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    path = write_rules(tmp_path, 'version: "1"' + VALID_TEAMS + "rules:\n  - {id: r1, team: east, priority: 1}\n")
    assert "priority" in refused(path)


def test_malformed_yaml_is_refused(tmp_path: Path) -> None:
    path = write_rules(tmp_path, "version: [unclosed\nteams: {\n")
    assert "cannot read rules" in refused(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    assert "cannot read rules" in refused(tmp_path / "nowhere.yaml")


def test_empty_file_is_refused(tmp_path: Path) -> None:
    assert "invalid rules" in refused(write_rules(tmp_path, ""))


# --- matching --------------------------------------------------------------------------------------


def test_list_fact_matches_when_any_value_is_allowed() -> None:
    rule = Rule(id="crm", when={"product_interest": ["crm", "scrm"]}, team="east")
    assert rule.matches({"product_interest": ["erp", "crm"]})
    assert not rule.matches({"product_interest": ["erp"]})
    assert not rule.matches({"product_interest": []})


def test_missing_or_none_fact_never_matches_a_condition() -> None:
    rule = Rule(id="r", when={"sales_region": ["cn-east"]}, team="east")
    assert not rule.matches({"sales_region": None})
    assert not rule.matches({})
    assert not Rule(id="r", when={"product_interest": ["None"]}, team="east").matches({"product_interest": [None]})


def test_every_condition_must_hold() -> None:
    rule = Rule(id="r", when={"grade": ["A", "B"], "sales_region": ["cn-east"]}, team="east")
    assert rule.matches({"grade": "B", "sales_region": "cn-east"})
    assert not rule.matches({"grade": "C", "sales_region": "cn-east"})
    assert not rule.matches({"grade": "A", "sales_region": "cn-north"})


def test_rule_without_conditions_matches_everything() -> None:
    assert Rule(id="catch-all", pool=True).matches({})


def test_first_matching_rule_wins_in_file_order() -> None:
    team = Team(id="east", reps=[Rep(id="rep-a")])
    specific = Rule(id="specific", when={"grade": ["A"]}, team="east")
    general = Rule(id="general", pool=True)
    facts = {"grade": "A"}
    assert RuleSet(version="1", teams=[team], rules=[specific, general]).first_match(facts) == specific
    assert RuleSet(version="1", teams=[team], rules=[general, specific]).first_match(facts) == general
    assert RuleSet(version="1", teams=[team], rules=[specific]).first_match({"grade": "B"}) is None


# --- rotation and round robin ----------------------------------------------------------------------


def team(*reps: Rep) -> Team:
    return Team(id="east", reps=list(reps))


WEIGHTED = team(Rep(id="a", weight=2), Rep(id="b"), Rep(id="c"))


def test_rotation_repeats_a_weight_2_rep_twice_per_cycle_interleaved() -> None:
    assert [r.id for r in rotation(WEIGHTED)] == ["a", "b", "c", "a"]


def test_rotation_leaves_out_inactive_reps() -> None:
    assert [r.id for r in rotation(team(Rep(id="a"), Rep(id="b", active=False), Rep(id="c")))] == ["a", "c"]


def test_first_turn_goes_to_the_first_rep() -> None:
    assert (pick := pick_round_robin(WEIGHTED, 1)).rep is not None
    assert pick.rep.id == "a"


@pytest.mark.parametrize(
    "the_team",
    [WEIGHTED, team(Rep(id="a"), Rep(id="b"), Rep(id="c")), team(Rep(id="a", weight=3), Rep(id="b", weight=2))],
)
def test_round_robin_gives_each_rep_its_weighted_share(the_team: Team) -> None:
    cycle = len(rotation(the_team))
    turns = Counter(pick.rep.id for n in range(1, 4 * cycle + 1) if (pick := pick_round_robin(the_team, n)).rep)
    assert turns == {r.id: 4 * r.weight for r in the_team.reps}


def test_consecutive_turns_of_equal_reps_go_to_different_reps() -> None:
    equal = team(Rep(id="a"), Rep(id="b"), Rep(id="c"))
    picks = [pick.rep.id for n in range(1, 4) if (pick := pick_round_robin(equal, n)).rep]
    assert sorted(picks) == ["a", "b", "c"]


def test_excluded_rep_is_skipped_and_the_reason_given() -> None:
    the_team = team(Rep(id="a"), Rep(id="b"), Rep(id="c", active=False), Rep(id="d"))
    for turn in range(1, 7):
        pick = pick_round_robin(the_team, turn, exclude=frozenset({"a"}))
        assert pick.rep is not None
        assert pick.rep.id in {"b", "d"}
        reasons = {c.rep_id: (c.selected, c.reason) for c in pick.candidates}
        assert reasons["a"] == (False, "excluded: had this lead before")
        assert reasons["c"] == (False, "inactive")
        assert reasons[pick.rep.id] == (True, "next in weighted round robin")
        other = ({"b", "d"} - {pick.rep.id}).pop()
        assert reasons[other] == (False, "not this lead's turn in the rotation")


def test_every_rep_is_explained_once_and_one_is_selected() -> None:
    pick = pick_round_robin(WEIGHTED, 2)
    assert [c.rep_id for c in pick.candidates] == ["a", "b", "c"]
    assert [c.rep_id for c in pick.candidates if c.selected] == ["b"]


def test_everyone_excluded_means_no_rep() -> None:
    pick = pick_round_robin(WEIGHTED, 1, exclude=frozenset({"a", "b", "c"}))
    assert pick.rep is None
    assert [(c.selected, c.reason) for c in pick.candidates] == [(False, "excluded: had this lead before")] * 3


def test_everyone_inactive_means_no_rep() -> None:
    pick = pick_round_robin(team(Rep(id="a", active=False)), 1)
    assert pick.rep is None
    assert [c.reason for c in pick.candidates] == ["inactive"]
