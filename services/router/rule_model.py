"""The routing rule set in force: reps with their calendars and caps, teams, and ordered rules (first match wins)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.schemas.parts import RuleCheck
from shared.worktime import WorkCalendar

_FROZEN = ConfigDict(extra="forbid", frozen=True)
_FROZEN_WITH_CALENDAR = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

Target = Literal["team", "rep", "pool", "nurture", "qualify"]
Strategy = Literal["weighted_round_robin", "least_loaded"]


def fold(value: object) -> str:
    """Rule values and lead facts meet folded: `CN-East` matches `cn-east`, True matches `true`."""
    return value.casefold() if isinstance(value, str) else str(value).casefold()


def _name_or_id(data: Any) -> Any:
    if isinstance(data, dict) and not data.get("name") and data.get("id"):
        return {**data, "name": data["id"]}
    return data


class Caps(BaseModel):
    """Most leads a rep takes per local day and week, and most open at once; None is no cap."""

    model_config = _FROZEN
    day: int | None = Field(default=None, ge=0)
    week: int | None = Field(default=None, ge=0)
    open: int | None = Field(default=None, ge=0)


class Rep(BaseModel):
    model_config = _FROZEN_WITH_CALENDAR
    id: str = Field(min_length=1)
    name: str = ""  # the id when the file names none
    active: bool = True
    manager: bool = False
    languages: frozenset[str] = frozenset()  # folded
    skills: frozenset[str] = frozenset()  # folded
    caps: Caps = Caps()
    calendar: WorkCalendar = Field(default_factory=WorkCalendar.always)

    @model_validator(mode="before")
    @classmethod
    def _name_defaults_to_id(cls, data: Any) -> Any:
        return _name_or_id(data)

    @field_validator("languages", "skills", mode="before")
    @classmethod
    def _folded(cls, values: Any) -> Any:
        return frozenset(fold(v) for v in values) if isinstance(values, list | tuple | set | frozenset) else values

    def has(self, skills: frozenset[str], languages: frozenset[str]) -> bool:
        """Every one of these (folded) skills and languages."""
        return skills <= self.skills and languages <= self.languages


class Member(BaseModel):
    model_config = _FROZEN
    rep: str
    weight: float = Field(default=1.0, gt=0)


class Team(BaseModel):
    model_config = _FROZEN
    id: str = Field(min_length=1)
    name: str = ""  # the id when the file names none
    strategy: Strategy = "weighted_round_robin"
    owner_stickiness: bool = False  # a lead whose person already has an owner in this team goes to that owner
    overflow: str | None = None  # the team tried next when no member can take the lead
    max_rejections: int = Field(default=3, ge=1)
    after_rejections: Literal["pool", "manager"] = "pool"
    manager: str | None = None
    members: tuple[Member, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _name_defaults_to_id(cls, data: Any) -> Any:
        return _name_or_id(data)


class _Condition:
    """One `field: [values]` of a rule, compiled: the lookup path and the folded allowed values."""

    __slots__ = ("allowed", "display", "field", "flat", "path")

    def __init__(self, field: str, values: tuple[str, ...]) -> None:
        self.field = field
        self.path = tuple(field.split("."))
        self.flat = len(self.path) == 1
        self.allowed = frozenset(fold(v) for v in values)
        self.display = ", ".join(values)

    def value(self, facts: Mapping[str, Any]) -> Any:
        """The fact, or for `attributes.budget` facts["attributes"]["budget"]; None when missing."""
        if self.flat or self.field in facts:
            return facts.get(self.field)
        value: Any = facts
        for key in self.path:
            value = value.get(key) if isinstance(value, Mapping) else None
        return value

    def holds(self, facts: Mapping[str, Any]) -> bool:
        value = facts.get(self.field) if self.flat else self.value(facts)
        if value is None:
            return False
        if type(value) is str:  # the common case first: one text fact
            return value.casefold() in self.allowed
        if isinstance(value, list | tuple | set | frozenset):
            return any(v is not None and fold(v) in self.allowed for v in value)
        return fold(value) in self.allowed

    def explain(self, facts: Mapping[str, Any]) -> str:
        value = self.value(facts)
        if value is None:
            return f"{self.field} missing"
        if isinstance(value, list | tuple | set | frozenset):
            shown = [str(v) for v in value if v is not None]
            if not shown:
                return f"{self.field} is empty"
            hits = [v for v in shown if fold(v) in self.allowed]
            if hits:
                return f"{self.field} includes {', '.join(hits)}"
            return f"{self.field} is [{', '.join(shown)}], none of [{self.display}]"
        if fold(value) in self.allowed:
            return f"{self.field} is {value}"
        return f"{self.field} is {value}, not one of [{self.display}]"


class Rule(BaseModel):
    model_config = _FROZEN
    id: str = Field(min_length=1)
    stage: str = "intake"
    when: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # field → allowed values, as written
    requires_skills: frozenset[str] = frozenset()  # folded
    requires_languages: frozenset[str] = frozenset()  # folded
    target: Target
    target_id: str | None = None  # the team, rep, nurture track or qualification team; None for pool
    line: int = 0  # where the rule starts in its file

    # Derived from `when` once (a cached_property reads as fast as a field; a private attribute does not).
    # Build a new Rule rather than model_copy(update={"when": ...}), which would keep the old conditions.
    @cached_property
    def conditions(self) -> tuple[_Condition, ...]:
        return tuple(_Condition(f, values) for f, values in self.when.items())

    @property
    def folded(self) -> dict[str, frozenset[str]]:
        """Each condition's allowed values, folded: what coverage and overlap checks compare."""
        return {c.field: c.allowed for c in self.conditions}

    @property
    def catch_all(self) -> bool:
        return not self.conditions

    def matches(self, facts: Mapping[str, Any]) -> bool:
        """Every condition holds: the fact (or one element of a list fact) is among the allowed values."""
        for condition in self.conditions:  # noqa: SIM110 -- a plain loop: all() costs a generator per rule per lead
            if not condition.holds(facts):
                return False
        return True

    def mismatch(self, facts: Mapping[str, Any]) -> str | None:
        """None when the rule matches, else the first failing condition, e.g. `grade is B, not one of [A]`."""
        for condition in self.conditions:
            if not condition.holds(facts):
                return condition.explain(facts)
        return None

    def matched(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """The facts the rule's conditions looked at, by field (for a decision record)."""
        return {c.field: c.value(facts) for c in self.conditions}

    def check(self, facts: Mapping[str, Any]) -> RuleCheck:
        """The rule against one lead, with the reason either way."""
        failed = self.mismatch(facts)
        if failed is not None:
            return RuleCheck(rule_id=self.id, matched=False, why=failed)
        why = "; ".join(c.explain(facts) for c in self.conditions) or "no conditions: matches every lead"
        return RuleCheck(rule_id=self.id, matched=True, why=why)


class Defaults(BaseModel):
    """What every rep and team inherits unless it says otherwise (also the company's own calendar)."""

    model_config = _FROZEN_WITH_CALENDAR
    caps: Caps = Caps()
    max_rejections: int = Field(default=3, ge=1)
    calendar: WorkCalendar = Field(default_factory=WorkCalendar.always)


class RuleSet(BaseModel):
    model_config = _FROZEN_WITH_CALENDAR
    version: str = Field(min_length=1)  # the file's version + "+" + 8 hex of its text's sha256
    defaults: Defaults = Defaults()
    reps: dict[str, Rep] = Field(default_factory=dict)
    teams: dict[str, Team] = Field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    warnings: tuple[str, ...] = ()
    recycle_cooldown: timedelta = timedelta(days=7)  # a recycled lead's previous owner is excluded this long
    text_digest: str = ""  # sha256 of the file's text

    @cached_property
    def by_stage(self) -> dict[str, tuple[Rule, ...]]:
        """The rules of each stage, in file order."""
        by_stage: dict[str, list[Rule]] = {}
        for rule in self.rules:
            by_stage.setdefault(rule.stage, []).append(rule)
        return {stage: tuple(rules) for stage, rules in by_stage.items()}

    @property
    def stages(self) -> frozenset[str]:
        return frozenset(self.by_stage)

    @property
    def max_rejections(self) -> int:
        """For a lead whose team is gone from the file: the defaults' limit."""
        return self.defaults.max_rejections

    def rep(self, rep_id: str) -> Rep:
        return self.reps[rep_id]

    def team(self, team_id: str) -> Team:
        return self.teams[team_id]

    def rules_of(self, stage: str = "intake") -> tuple[Rule, ...]:
        return self.by_stage.get(stage, ())

    def first_match(
        self, facts: Mapping[str, Any], stage: str = "intake", *, skip_targets: frozenset[str] = frozenset()
    ) -> Rule | None:
        """The rule `evaluate` would pick, without recording why (cheap: for planning which reps to lock)."""
        return next(
            (r for r in self.by_stage.get(stage, ()) if r.target not in skip_targets and r.matches(facts)), None
        )

    def evaluate(
        self, facts: Mapping[str, Any], stage: str = "intake", *, skip_targets: frozenset[str] = frozenset()
    ) -> tuple[Rule | None, list[RuleCheck]]:
        """The first matching rule of `stage`, and every rule checked up to and including it, with why.

        A matching rule whose target is in `skip_targets` is recorded as passed over and the next one tried
        (a re-engaged lead goes to sales, not back to the nurture track it came from).
        """
        checks: list[RuleCheck] = []
        for rule in self.by_stage.get(stage, ()):
            check = rule.check(facts)
            if check.matched and rule.target in skip_targets:
                checks.append(RuleCheck(rule_id=rule.id, matched=False, why=f"matches, but {check.why}: skipped"))
                continue
            checks.append(check)
            if check.matched:
                return rule, checks
        return None, checks
