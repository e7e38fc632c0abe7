"""The routing rule set: YAML → validated models; first matching rule wins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class RuleSetError(ValueError):
    """A rule file that cannot be used; the message names what is wrong."""


class Rep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    name: str | None = None
    weight: int = Field(default=1, ge=1, le=100)
    active: bool = True


class Team(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    name: str | None = None
    reps: list[Rep] = Field(min_length=1)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    when: dict[str, list[str]] = Field(default_factory=dict)
    team: str | None = None
    pool: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> Rule:
        if (self.team is None) == (not self.pool):
            raise ValueError(f"rule {self.id!r} needs exactly one target: `team: ID` or `pool: true`")
        return self

    def matches(self, facts: dict[str, Any]) -> bool:
        """Every condition holds: the fact (or one of a list fact's values) is among the allowed values."""
        for field, allowed in self.when.items():
            value = facts.get(field)
            values = value if isinstance(value, list) else [value]
            if not any(v is not None and str(v) in allowed for v in values):
                return False
        return True


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str = Field(min_length=1)
    teams: list[Team] = Field(min_length=1)
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> RuleSet:
        team_ids = [t.id for t in self.teams]
        if len(set(team_ids)) != len(team_ids):
            raise ValueError("team ids must be unique")
        if unknown := sorted({r.team for r in self.rules if r.team and r.team not in team_ids}):
            raise ValueError(f"rules name unknown teams: {unknown}")
        return self

    def team(self, team_id: str) -> Team:
        return next(t for t in self.teams if t.id == team_id)

    def first_match(self, facts: dict[str, Any]) -> Rule | None:
        return next((rule for rule in self.rules if rule.matches(facts)), None)


def load_rule_set(path: Path) -> RuleSet:
    """Read and validate a rule file; RuleSetError says which file and what is wrong."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return RuleSet.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise RuleSetError(f"{path}: cannot read rules: {exc}") from exc
    except ValidationError as exc:
        raise RuleSetError(f"{path}: invalid rules: {exc}") from exc
