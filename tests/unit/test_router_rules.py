"""The routing rule set: YAML → validated rules with line numbers, inheritance, matching, warnings, hot reload."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.router import rules as rules_module
from services.router.rules import (
    Caps,
    Rule,
    RuleSet,
    RuleSetError,
    RuleSetFile,
    load_rule_set,
    parse_rule_set,
)
from tests.watched_files import RecordingLog, write

pytestmark = pytest.mark.unit

ROUTING_YAML = Path(__file__).resolve().parents[2] / "deploy" / "config" / "routing.yaml"

BASE = """\
version: "t.1"
defaults:
  timezone: Asia/Shanghai
  hours: {mon-fri: "09:00-18:00"}
  holidays: CN
  caps: {day: 40, week: 160, open: 200}
  max_rejections: 3
  recycle_cooldown: 2d
reps:
  - {id: rep-a, name: 阿, languages: [ZH], skills: [ERP], caps: {day: 30}}
  - {id: rep-b, timezone: Europe/London, hours: {mon-fri: "08:00-17:00"}, holidays: GB, languages: [en]}
  - {id: rep-c, holidays: null, caps: {open: null}}
  - {id: mgr, name: Boss, manager: true}
teams:
  - id: east
    name: East
    owner_stickiness: true
    after_rejections: manager
    manager: mgr
    members:
      - {rep: rep-a, weight: 3}
      - {rep: rep-c, weight: 0.5}
  - id: north
    strategy: least_loaded
    overflow: east
    max_rejections: 2
    members:
      - {rep: rep-b}
rules:
  - id: grade-d
    when: {grade: [D]}
    nurture: cold-leads
  - id: east-erp
    when: {sales_region: [cn-east], product_interest: [erp]}
    requires: {skills: [erp], languages: [zh]}
    team: east
  - id: north
    when: {sales_region: [cn-north]}
    team: north
  - id: fallback
    when: {}
    pool: true
"""


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def rule_line(text: str, rule_id: str) -> int:
    """The line of `- id: RULE_ID` under `rules:` (teams may share the id)."""
    lines = text.splitlines()
    start = lines.index("rules:")
    return next(n for n, line in enumerate(lines[start:], start + 1) if line.strip() == f"- id: {rule_id}")


def refused(text: str) -> RuleSetError:
    with pytest.raises(RuleSetError) as caught:
        parse_rule_set(text, "routing.yaml")
    return caught.value


def refused_at(text: str, needle: str, *says: str) -> str:
    """The refusal names the file and the line holding `needle`, and says each of `says`."""
    error = refused(text)
    line = line_of(text, needle)
    message = str(error)
    assert f"routing.yaml:{line}: " in message, message
    for words in says:
        assert words in message, message
    return message


# --- the shipped file -------------------------------------------------------------------------------------------


def test_shipped_rule_file_loads_with_its_warnings() -> None:
    rule_set = load_rule_set(ROUTING_YAML)
    assert rule_set.version.startswith("2026-11-23.1+")
    assert len(rule_set.version.split("+")[1]) == 8
    assert set(rule_set.teams) == {"cn-east", "cn-north", "cn-south", "cn-west", "international", "telemarketing"}
    assert rule_set.stages == {"intake", "qualified"}
    assert rule_set.rules_of("intake")[-1].catch_all
    assert rule_set.rules_of("qualified")[-1].catch_all
    assert rule_set.team("cn-north").overflow == "cn-east"
    assert rule_set.team("cn-east").owner_stickiness
    assert rule_set.rep(rule_set.team("cn-east").manager or "").manager
    assert {t.strategy for t in rule_set.teams.values()} == {"weighted_round_robin", "least_loaded"}
    assert rule_set.recycle_cooldown == timedelta(days=7)
    text = ROUTING_YAML.read_text(encoding="utf-8")
    by_id = {r.id: r for r in rule_set.rules}
    d_line, east_line = by_id["grade-d-to-pool"].line, by_id["cn-east"].line
    assert text.splitlines()[d_line - 1].strip() == "- id: grade-d-to-pool"
    assert text.splitlines()[east_line - 1].strip() == "- id: cn-east"
    assert (
        f"rules grade-d-to-pool (line {d_line}) and cn-east (line {east_line}) overlap on grade=D,"
        " sales_region=cn-east; grade-d-to-pool wins"
    ) in rule_set.warnings
    assert all("overlap" in w for w in rule_set.warnings)


@pytest.mark.parametrize(
    ("facts", "stage", "rule_id"),
    [
        ({"grade": "D", "sales_region": "cn-east", "source": "web-form"}, "intake", "grade-d-to-pool"),
        ({"grade": "D", "source": "content-download"}, "intake", "content-to-nurture"),
        ({"grade": "C", "source": "purchased-list", "sales_region": "cn-east"}, "intake", "qualify-cold-lists"),
        ({"grade": "A", "sales_region": "cn-east", "product_interest": ["crm", "ERP"]}, "intake", "cn-east-erp"),
        ({"grade": "A", "sales_region": "cn-east", "product_interest": ["crm"]}, "intake", "cn-east"),
        ({"grade": "B", "sales_region": "cn-northeast"}, "intake", "cn-north"),
        ({"grade": "C", "sales_region": "cn-southwest"}, "intake", "cn-west"),
        ({"grade": "A", "sales_region": "europe"}, "intake", "international"),
        ({"grade": "A", "sales_region": "antarctica"}, "intake", "fallback"),
        ({"grade": "A", "sales_region": None}, "intake", "fallback"),
        ({"grade": "C", "sales_region": "cn-east", "source": "expo"}, "qualified", "qualified-cn-east"),
        ({"grade": "C", "sales_region": "cn-south", "source": "expo"}, "qualified", "qualified-other"),
    ],
)
def test_shipped_rules_route_by_stage(facts: dict[str, Any], stage: str, rule_id: str) -> None:
    rule = load_rule_set(ROUTING_YAML).first_match(facts, stage)
    assert rule is not None
    assert rule.id == rule_id


def test_shipped_rule_targets() -> None:
    by_id = {r.id: r for r in load_rule_set(ROUTING_YAML).rules}
    assert (by_id["content-to-nurture"].target, by_id["content-to-nurture"].target_id) == ("nurture", "cold-leads")
    assert (by_id["qualify-cold-lists"].target, by_id["qualify-cold-lists"].target_id) == ("qualify", "telemarketing")
    assert (by_id["fallback"].target, by_id["fallback"].target_id) == ("pool", None)
    assert by_id["cn-east-erp"].requires_skills == {"erp"}


# --- defaults and overrides -------------------------------------------------------------------------------------


def test_reps_inherit_the_defaults_field_by_field() -> None:
    rule_set = parse_rule_set(BASE)
    a, b, c, mgr = (rule_set.rep(r) for r in ("rep-a", "rep-b", "rep-c", "mgr"))
    assert a.caps == Caps(day=30, week=160, open=200)
    assert c.caps == Caps(day=40, week=160, open=None)  # an explicit null is no cap
    assert mgr.caps == rule_set.defaults.caps == Caps(day=40, week=160, open=200)
    assert (a.name, b.name, mgr.name) == ("阿", "rep-b", "Boss")
    assert a.languages == {"zh"}
    assert a.skills == {"erp"}
    assert mgr.manager
    assert not a.manager
    assert a.active


def test_calendars_are_inherited_overridden_and_shared() -> None:
    rule_set = parse_rule_set(BASE)
    a, b, c, mgr = (rule_set.rep(r) for r in ("rep-a", "rep-b", "rep-c", "mgr"))
    assert a.calendar is mgr.calendar is rule_set.defaults.calendar
    national_day = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, Thursday
    assert not a.calendar.is_working(national_day)
    assert c.calendar.is_working(national_day)  # holidays: null: no public holidays for rep-c
    assert c.calendar.timezone == "Asia/Shanghai"
    assert b.calendar.timezone == "Europe/London"
    assert b.calendar.is_working(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))  # 08:30 in London
    assert not a.calendar.is_working(datetime(2026, 11, 23, 10, 30, tzinfo=UTC))  # 18:30 in Shanghai


def test_teams_inherit_max_rejections_and_resolve_members() -> None:
    rule_set = parse_rule_set(BASE)
    east, north = rule_set.team("east"), rule_set.team("north")
    assert (east.max_rejections, north.max_rejections) == (3, 2)
    assert [(m.rep, m.weight) for m in east.members] == [("rep-a", 3.0), ("rep-c", 0.5)]
    assert (east.name, north.name) == ("East", "north")
    assert (east.strategy, north.strategy) == ("weighted_round_robin", "least_loaded")
    assert (east.after_rejections, east.manager, north.after_rejections) == ("manager", "mgr", "pool")
    assert rule_set.recycle_cooldown == timedelta(days=2)
    assert rule_set.text_digest.startswith(rule_set.version.split("+")[1])


def test_defaults_may_be_left_out() -> None:
    rule_set = parse_rule_set('version: "1"\nrules:\n  - {id: all, pool: true}\n')
    assert rule_set.defaults.caps == Caps()
    assert rule_set.defaults.max_rejections == 3
    assert rule_set.defaults.calendar.is_working(datetime(2026, 10, 1, 3, 0, tzinfo=UTC))  # round the clock
    assert rule_set.recycle_cooldown == timedelta(days=7)


def test_workdays_and_days_off_reach_the_calendar() -> None:
    text = BASE.replace("  holidays: CN\n", "  holidays: CN\n  workdays: [2026-11-29]\n  days_off: ['2026-12-31']\n")
    calendar = parse_rule_set(text).defaults.calendar
    assert calendar.is_working(datetime(2026, 11, 29, 2, 0, tzinfo=UTC))  # Sunday, worked
    assert not calendar.is_working(datetime(2026, 12, 31, 2, 0, tzinfo=UTC))
    assert calendar.local_day(datetime(2026, 12, 31, 2, 0, tzinfo=UTC)) == date(2026, 12, 31)


# --- refused files: every problem at its line -------------------------------------------------------------------

NORTH_RULE = "  - id: north\n    when: {sales_region: [cn-north]}\n    team: north\n"
# Each case replaces `old` by `new` in BASE; the refusal must name the line that holds `at` (in the new text).
REFUSALS = [
    ("{rep: rep-c, weight: 0.5}", "{rep: rep-z}", "rep-z", ["teams[0].members[1].rep: unknown rep rep-z"]),
    ("{rep: rep-c, weight: 0.5}", "{rep: rep-a}  #!", "#!", ["rep rep-a is listed twice in east"]),
    ("{rep: rep-c, weight: 0.5}", "{rep: rep-c, weight: 0}", "weight: 0}", ["weight", "greater than 0"]),
    ("{rep: rep-c, weight: 0.5}", "{rep: rep-c, weight: -1}", "weight: -1", ["greater than 0"]),
    ("    team: north\n", "    team: south\n", "team: south", ["rules[2].team: unknown team south"]),
    ("    nurture: cold-leads\n", "    rep: rep-q\n", "rep: rep-q", ["rules[0].rep: unknown rep rep-q"]),
    ("    overflow: east\n", "    overflow: west\n", "overflow: west", ["unknown team west"]),
    ("    manager: mgr\n", "    manager: rep-a\n", "manager: rep-a", ["rep rep-a is not a manager"]),
    ("    manager: mgr\n", "    manager: nobody\n", "manager: nobody", ["unknown rep nobody"]),
    ("    manager: mgr\n", "", "after_rejections: manager", ["teams[0].after_rejections", "needs the team's manager"]),
    ("  - {id: rep-c,", "  - {id: rep-a,", "{id: rep-a, holidays", ["duplicate rep id rep-a (first at line 10)"]),
    ("  - id: north\n    strategy", "  - id: east  #!\n    strategy", "#!", ["teams[1].id: duplicate team id east"]),
    ("  - id: north\n    when", "  - id: grade-d  #!\n    when", "#!", ["rules[2].id: duplicate rule id grade-d"]),
    ("    when: {grade: [D]}", "    when: {grade: []}", "grade: []", ["rules[0].when.grade: no allowed values"]),
    (NORTH_RULE, NORTH_RULE.replace("north\n", "north  #!\n", 1) + "    pool: true\n", "#!", ["(has team, pool)"]),
    (NORTH_RULE, "  - id: north  #!\n    when: {sales_region: [cn-north]}\n", "#!", ["rule north needs exactly one"]),
    ("    team: north\n", "    pool: false\n", "pool: false", ["rules[2].pool"]),
    ("    team: north\n", "    team: north\n    priority: 1\n", "priority", ["priority: Extra inputs"]),
    ("requires: {skills: [erp]", "requires: {skills: [crm]", "requires:", ["no member of team east has skills [crm]"]),
    ("    nurture: cold-leads\n", "    nurture: x\n    requires: {skills: [a]}\n", "requires", ["not nurture"]),
    (
        "- id: fallback\n    when: {}",
        "- id: fallback  #!\n    when: {grade: [A]}",
        "#!",
        ["stage intake has no fallback"],
    ),
    ("    when: {grade: [D]}", "    when: {grade: [D]}\n    stage: lead", "stage: lead", ["'intake' or 'qualified'"]),
    ('version: "t.1"', "version: 2026-11-23", "version", ["put it in quotes"]),
    ("recycle_cooldown: 2d", "recycle_cooldown: 2 days", "recycle_cooldown", ["'2 days' is not a duration"]),
    ("recycle_cooldown: 2d", "recycle_cooldown: 2", "recycle_cooldown", ["2 is not a duration"]),
    ("timezone: Asia/Shanghai", "timezone: Asia/Shangai", "Shangai", ["defaults.timezone: unknown timezone"]),
    (
        '{mon-fri: "08:00-17:00"}',
        '{mon-fry: "08:00-17:00"}',
        "mon-fry",
        ["reps[1].hours: unknown day 'fry' in 'mon-fry'"],
    ),
    ('{mon-fri: "09:00-18:00"}', '{mon-fri: "18:00-09:00"}', "18:00-09", ["ends before it starts"]),
    ("holidays: GB", "holidays: XX", "holidays: XX", ["reps[1].holidays: unknown holidays country code 'XX'"]),
    ("caps: {day: 30}", "caps: {day: -1}", "caps: {day: -1}", ["reps[0].caps.day", "greater than or equal to 0"]),
    ("max_rejections: 2", "max_rejections: 0", "max_rejections: 0", ["greater than or equal to 1"]),
    ("strategy: least_loaded", "strategy: random", "strategy: random", ["'weighted_round_robin'"]),
]


@pytest.mark.parametrize(("old", "new", "at", "says"), REFUSALS)
def test_an_invalid_file_is_refused_at_the_line_of_the_problem(old: str, new: str, at: str, says: list[str]) -> None:
    assert BASE.count(old) == 1
    refused_at(BASE.replace(old, new), at, *says)


def test_a_rule_hidden_by_an_earlier_one_is_refused_naming_both() -> None:
    text = BASE.replace(NORTH_RULE, NORTH_RULE + "  - id: north-erp\n    when: {sales_region: [cn-north], grade: [A]}\n"
                        "    team: east\n")  # fmt: skip
    north, hidden = rule_line(text, "north"), rule_line(text, "north-erp")
    message = refused_at(text, "id: north-erp", "rule north-erp", "rule north")
    assert f"rule north-erp (line {hidden}) can never match: rule north (line {north}) comes first" in message


def test_a_rule_with_a_subset_of_values_is_hidden_too() -> None:
    text = BASE.replace(NORTH_RULE, NORTH_RULE.replace("[cn-north]", "[cn-north, CN-South]") + "  - id: south\n"
                        "    when: {sales_region: [cn-south]}\n    team: east\n")  # fmt: skip
    refused_at(text, "id: south", "rule south", "can never match: rule north")


def test_an_early_catch_all_hides_every_later_rule() -> None:
    text = BASE.replace("  - id: grade-d\n", "  - id: everything\n    pool: true\n  - id: grade-d\n")
    message = str(refused(text))
    for hidden in ("grade-d", "east-erp", "north", "fallback"):
        assert f"rule {hidden} (line" in message
    assert message.count("can never match: rule everything") == 4


def test_a_rule_is_not_hidden_by_one_that_asks_for_more() -> None:
    text = BASE.replace(NORTH_RULE, NORTH_RULE.replace("[cn-north]}", "[cn-north], grade: [A]}") + "  - id: north-all\n"
                        "    when: {sales_region: [cn-north]}\n    team: north\n")  # fmt: skip
    assert parse_rule_set(text).first_match({"sales_region": "cn-north", "grade": "B"}).id == "north-all"  # type: ignore[union-attr]


def test_overflow_cycles_are_refused() -> None:
    text = BASE.replace("    owner_stickiness: true\n", "    owner_stickiness: true\n    overflow: north\n")
    refused_at(text, "overflow: north", "teams[0].overflow: overflow cycle: east → north → east")
    selfish = BASE.replace("    overflow: east\n", "    overflow: north\n")
    refused_at(selfish, "overflow: north", "overflow cycle: north → north")


def test_a_team_without_members_is_refused() -> None:
    text = BASE.replace("    members:\n      - {rep: rep-b}\n", "")
    refused_at(text, "- id: north", "teams[1]: team north has no member")


def test_qualification_needs_qualified_rules_and_only_intake_qualifies() -> None:
    qualify = BASE.replace("    nurture: cold-leads\n", "    qualify: north\n")
    refused_at(qualify, "qualify: north", "no `stage: qualified` rules route the leads team north qualifies")
    assert parse_rule_set(qualify + "  - id: q-all\n    stage: qualified\n    team: east\n").stages == {
        "intake",
        "qualified",
    }
    loop = qualify + "  - id: q-all\n    stage: qualified\n    qualify: east\n"
    refused_at(loop, "qualify: east", "rules[4].qualify: only intake rules can send a lead to qualification")


def test_qualified_rules_without_a_qualify_rule_are_a_warning() -> None:
    rule_set = parse_rule_set(BASE + "  - id: q-all\n    stage: qualified\n    pool: true\n")
    assert any("never used: no intake rule sends leads to qualification" in w for w in rule_set.warnings)


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = BASE.replace("{rep: rep-c, weight: 0.5}", "{rep: rep-z}").replace("    team: north\n", "    team: south\n")
    error = refused(text)
    first, second = str(error).split("; ")
    assert first.startswith(f"routing.yaml:{line_of(text, 'rep-z')}: ")
    assert second.startswith(f"routing.yaml:{line_of(text, 'team: south')}: ")
    assert error.line == line_of(text, "rep-z")


def test_unreadable_files_are_refused_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(RuleSetError, match="cannot read the routing rules"):
        load_rule_set(tmp_path / "nowhere.yaml")
    broken = tmp_path / "routing.yaml"
    broken.write_text("version: [unclosed\nteams: {\n", encoding="utf-8")
    with pytest.raises(RuleSetError, match=f"^{broken}:.*not valid YAML"):
        load_rule_set(broken)
    with pytest.raises(RuleSetError, match="the file is empty"):
        parse_rule_set("")
    with pytest.raises(RuleSetError, match="duplicate key"):
        parse_rule_set(BASE.replace("  max_rejections: 3\n", "  max_rejections: 3\n  max_rejections: 4\n"))


# --- warnings: rules one lead can match both of -----------------------------------------------------------------


def test_overlapping_rules_are_a_warning_naming_both_and_the_winner() -> None:
    rule_set = parse_rule_set(BASE)
    grade_d, east_erp, north = (rule_line(BASE, i) for i in ("grade-d", "east-erp", "north"))
    with_east = (
        f"rules grade-d (line {grade_d}) and east-erp (line {east_erp}) overlap on grade=D, sales_region=cn-east,"
        " product_interest=erp; grade-d wins"
    )
    with_north = (
        f"rules grade-d (line {grade_d}) and north (line {north}) overlap on grade=D, sales_region=cn-north;"
        " grade-d wins"
    )
    assert rule_set.warnings == (with_east, with_north)


def test_rules_with_disjoint_values_or_the_same_target_do_not_overlap() -> None:
    text = BASE.replace("    when: {grade: [D]}", "    when: {grade: [D], sales_region: [cn-south]}")
    assert parse_rule_set(text).warnings == ()
    same_target = BASE.replace("    team: north\n", "    nurture: cold-leads\n")
    assert not any("and north" in w for w in parse_rule_set(same_target).warnings)


def test_list_fields_overlap_even_with_different_values() -> None:
    text = BASE.replace(NORTH_RULE, "  - id: east-crm\n    when: {sales_region: [cn-east], product_interest: [crm]}\n"
                        "    team: north\n")  # fmt: skip
    warnings = parse_rule_set(text).warnings
    assert any("east-erp" in w and "product_interest with erp and crm; east-erp wins" in w for w in warnings)


# --- matching ---------------------------------------------------------------------------------------------------


def rule(**when: list[str]) -> Rule:
    return Rule(id="r", when={k.replace("__", "."): tuple(v) for k, v in when.items()}, target="pool")


def test_a_list_fact_matches_when_any_element_is_allowed() -> None:
    crm = rule(product_interest=["crm", "scrm"])
    assert crm.matches({"product_interest": ["erp", "crm"]})
    assert crm.mismatch({"product_interest": ["erp", "crm"]}) is None
    assert not crm.matches({"product_interest": ["erp", None]})
    assert crm.mismatch({"product_interest": ["erp", None]}) == "product_interest is [erp], none of [crm, scrm]"
    assert crm.mismatch({"product_interest": []}) == "product_interest is empty"


def test_values_match_without_regard_to_case_on_both_sides() -> None:
    east = rule(sales_region=["CN-East"])
    assert east.matches({"sales_region": "cn-east"})
    assert east.matches({"sales_region": "CN-EAST"})
    assert rule(city=["straße"]).matches({"city": "STRASSE"})  # casefold, not lower


def test_missing_and_none_facts_never_match() -> None:
    east = rule(sales_region=["cn-east"])
    assert east.mismatch({}) == "sales_region missing"
    assert east.mismatch({"sales_region": None}) == "sales_region missing"
    assert not rule(product_interest=["None"]).matches({"product_interest": [None]})


def test_the_first_failing_condition_is_named() -> None:
    both = rule(grade=["A", "B"], sales_region=["cn-east"])
    assert both.matches({"grade": "b", "sales_region": "cn-east"})
    assert both.mismatch({"grade": "C", "sales_region": "cn-north"}) == "grade is C, not one of [A, B]"
    assert both.mismatch({"grade": "A", "sales_region": "cn-north"}) == "sales_region is cn-north, not one of [cn-east]"


def test_dotted_fields_read_attributes_and_numbers_and_booleans_compare_as_text() -> None:
    budget = rule(attributes__budget=["approved"])
    assert budget.matches({"attributes": {"budget": "Approved"}})
    assert budget.mismatch({"attributes": {}}) == "attributes.budget missing"
    assert budget.mismatch({"attributes": None}) == "attributes.budget missing"
    assert budget.mismatch({}) == "attributes.budget missing"
    assert rule(attributes__demo=["true"]).matches({"attributes": {"demo": True}})
    assert rule(employees=["100"]).matches({"employees": 100})


def test_yaml_booleans_and_numbers_in_conditions_match_lead_values() -> None:
    text = BASE.replace("    when: {grade: [D]}", "    when: {attributes.demo: true, attributes.seats: [100]}")
    first = parse_rule_set(text).rules[0]
    assert first.when == {"attributes.demo": ("true",), "attributes.seats": ("100",)}
    assert first.matches({"attributes": {"demo": True, "seats": 100}})
    assert first.matches({"attributes": {"demo": "TRUE", "seats": "100"}})


def test_a_rule_without_conditions_matches_everything() -> None:
    everything = Rule(id="all", target="pool")
    assert everything.catch_all
    assert everything.matches({})
    assert everything.check({}).why == "no conditions: matches every lead"


# --- first match and evaluation ---------------------------------------------------------------------------------


def test_first_match_by_stage() -> None:
    rule_set = parse_rule_set(BASE + "  - id: q-east\n    stage: qualified\n    when: {sales_region: [cn-east]}\n"
                              "    team: east\n  - id: q-all\n    stage: qualified\n    pool: true\n")  # fmt: skip
    lead = {"grade": "A", "sales_region": "cn-east", "product_interest": ["erp"]}
    assert rule_set.first_match(lead).id == "east-erp"  # type: ignore[union-attr]
    assert rule_set.first_match(lead, stage="qualified").id == "q-east"  # type: ignore[union-attr]
    assert rule_set.first_match({"grade": "D"}, stage="qualified").id == "q-all"  # type: ignore[union-attr]
    assert rule_set.first_match(lead, stage="no-such-stage") is None
    assert [r.id for r in rule_set.rules_of("qualified")] == ["q-east", "q-all"]


def test_evaluate_lists_every_rule_checked_up_to_the_match() -> None:
    rule_set = parse_rule_set(BASE)
    matched, checks = rule_set.evaluate({"grade": "B", "sales_region": "cn-north", "product_interest": ["crm"]})
    assert matched is not None
    assert matched.id == "north"
    assert [(c.rule_id, c.matched, c.why) for c in checks] == [
        ("grade-d", False, "grade is B, not one of [D]"),
        ("east-erp", False, "sales_region is cn-north, not one of [cn-east]"),
        ("north", True, "sales_region is cn-north"),
    ]
    fallback, checks = rule_set.evaluate({})
    assert fallback is not None
    assert fallback.id == "fallback"
    assert [c.why for c in checks] == [
        "grade missing",
        "sales_region missing",
        "sales_region missing",
        "no conditions: matches every lead",
    ]
    assert rule_set.evaluate({}, stage="qualified") == (None, [])


def test_a_rule_set_can_be_built_directly_for_tests() -> None:
    specific = Rule(id="specific", when={"grade": ("A",)}, target="team", target_id="east")
    general = Rule(id="general", target="pool")
    assert RuleSet(version="1", rules=(specific, general)).first_match({"grade": "a"}) == specific
    assert RuleSet(version="1", rules=(general, specific)).first_match({"grade": "A"}) == general


# --- hot reload -------------------------------------------------------------------------------------------------


def test_rule_set_file_swaps_in_a_valid_file_and_keeps_the_rules_on_a_broken_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = RecordingLog()
    monkeypatch.setattr(rules_module, "_log", log)
    path = tmp_path / "routing.yaml"
    write(path, BASE, 1)
    watched = RuleSetFile(path)
    first = watched.current
    assert watched.text == BASE
    assert watched.refresh() is False

    changed = BASE.replace('"t.1"', '"t.2"')
    write(path, changed, 2)
    assert watched.refresh() is True
    assert watched.current.version.startswith("t.2+")
    assert watched.text == changed
    assert log.events[-1][:2] == ("info", "router_rules_reloaded")

    broken = changed.replace("    team: north\n", "    team: south\n")
    write(path, broken, 3)
    assert watched.refresh() is False
    assert watched.current.version.startswith("t.2+")
    assert watched.text == changed  # the text in force, not the broken one on disk
    level, event, fields = log.events[-1]
    assert (level, event) == ("warning", "router_rules_rejected")
    assert f"{path}:{line_of(broken, 'team: south')}: rules[2].team: unknown team south" in fields["error"]
    assert first is not watched.current


def test_rule_set_file_refuses_a_broken_first_load(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text('version: "1"\nrules: []\n', encoding="utf-8")
    with pytest.raises(RuleSetError, match="stage intake has no fallback rule"):
        RuleSetFile(path)
