"""The routing rule set: YAML (defaults, reps, teams, ordered rules) → a validated, hot-reloadable RuleSet."""

from __future__ import annotations

from pathlib import Path

from services.router.rule_build import build_rule_set
from services.router.rule_model import Caps, Defaults, Member, Rep, Rule, RuleSet, Strategy, Target, Team, fold
from services.router.rule_spec import RuleSetSpec
from shared.config.yamlfile import ConfigError, WatchedFile, compose, read_text, validate
from shared.runtime.logging import get_logger
from shared.schemas.parts import RuleCheck

__all__ = [
    "Caps",
    "Defaults",
    "Member",
    "Rep",
    "Rule",
    "RuleCheck",
    "RuleSet",
    "RuleSetError",
    "RuleSetFile",
    "Strategy",
    "Target",
    "Team",
    "fold",
    "load_rule_set",
    "parse_rule_set",
]

_log = get_logger(__name__)
_WHAT = "routing rules"  # as in "cannot read the routing rules"

RuleSetError = ConfigError  # a rule file that cannot be used; the message names the file, the line and the field


def parse_rule_set(text: str, source: str = "<string>") -> RuleSet:
    """Validate a routing file's text; RuleSetError names `source`, the line and what is wrong, for every problem."""
    raw, lines = compose(text, source)
    spec = validate(RuleSetSpec, raw, lines, source)
    return build_rule_set(spec, lines, source, text)


def load_rule_set(path: Path) -> RuleSet:
    return parse_rule_set(read_text(path, _WHAT), str(path))


class RuleSetFile(WatchedFile[RuleSet]):
    """The routing file on disk and the rule set in force; logs router_rules_reloaded / router_rules_rejected."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, parse_rule_set, "router_rules", what=_WHAT, log=_log)
