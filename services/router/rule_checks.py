"""Checks on the order of rules: each stage ends in a catch-all, no rule is hidden, overlaps are named."""

from __future__ import annotations

from services.router.rule_model import Rule
from shared.config.yamlfile import Loc

# Lead facts that hold a list: two rules asking for different values can still both match one lead
# (a lead interested in erp and crm matches a rule for erp and one for crm).
MULTI_VALUED = frozenset({"product_interest"})

Indexed = list[tuple[int, Rule]]  # a rule and its position in the file's `rules` list


def check_rules(rules: tuple[Rule, ...], warnings: list[str]) -> list[tuple[Loc, str]]:
    """Problems that refuse the file, by location; overlaps are appended to `warnings`."""
    by_stage: dict[str, Indexed] = {"intake": []}
    for index, rule in enumerate(rules):
        by_stage.setdefault(rule.stage, []).append((index, rule))
    problems: list[tuple[Loc, str]] = []
    for stage, indexed in by_stage.items():
        problems += _fallback(stage, indexed)
        problems += _unreachable(indexed)
        warnings += _overlaps(indexed)
    problems += _qualification(by_stage, warnings)
    return problems


def covers(earlier: Rule, later: Rule) -> bool:
    """Every lead `later` matches, `earlier` matches too: it asks for no more, with no fewer values."""
    wanted = later.folded
    return all(field in wanted and wanted[field] <= allowed for field, allowed in earlier.folded.items())


def _fallback(stage: str, indexed: Indexed) -> list[tuple[Loc, str]]:
    message = f"stage {stage} has no fallback rule: end it with a rule without conditions, e.g. pool: true"
    if not indexed:
        return [(("rules",), message)]
    index, last = indexed[-1]
    return [] if last.catch_all else [(("rules", index), f"{message} (its last rule is {last.id})")]


def _unreachable(indexed: Indexed) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    for position, (index, later) in enumerate(indexed):
        hidden_by = next((earlier for _, earlier in indexed[:position] if covers(earlier, later)), None)
        if hidden_by is not None:
            message = (
                f"rule {later.id} (line {later.line}) can never match: rule {hidden_by.id}"
                f" (line {hidden_by.line}) comes first and matches every lead it would"
            )
            problems.append((("rules", index), message))
    return problems


def _overlaps(indexed: Indexed) -> list[str]:
    """Pairs that one lead can match both of, sending it different places: legal, but worth knowing."""
    found: list[str] = []
    for position, (_, later) in enumerate(indexed):
        for _, earlier in indexed[:position]:
            if later.catch_all or earlier.catch_all or covers(earlier, later):
                continue  # a catch-all overlaps everything by design; a hidden rule is an error already
            if (earlier.target, earlier.target_id) == (later.target, later.target_id):
                continue
            if (common := _common_lead(earlier, later)) is not None:
                found.append(
                    f"rules {earlier.id} (line {earlier.line}) and {later.id} (line {later.line})"
                    f" overlap on {common}; {earlier.id} wins"
                )
    return found


def _common_lead(earlier: Rule, later: Rule) -> str | None:
    """A lead both rules match, described (`grade=D, sales_region=cn-east`), or None if there is none."""
    first, second = earlier.folded, later.folded
    parts: list[str] = []
    for field in dict.fromkeys([*earlier.when, *later.when]):
        if field not in first or field not in second:
            parts.append(f"{field}={'|'.join(earlier.when[field] if field in first else later.when[field])}")
        elif both := first[field] & second[field]:
            parts.append(f"{field}={'|'.join(v for v in earlier.when[field] if v.casefold() in both)}")
        elif field in MULTI_VALUED:
            parts.append(f"{field} with {earlier.when[field][0]} and {later.when[field][0]}")
        else:
            return None
    return ", ".join(parts)


def _qualification(by_stage: dict[str, Indexed], warnings: list[str]) -> list[tuple[Loc, str]]:
    """Qualification is one step: intake sends a lead there, `qualified` rules route it once qualified."""
    problems: list[tuple[Loc, str]] = []
    for stage, indexed in by_stage.items():
        for index, rule in indexed:
            if rule.target == "qualify" and stage != "intake":
                problems.append((("rules", index, "qualify"), "only intake rules can send a lead to qualification"))
    senders = [(index, rule) for index, rule in by_stage["intake"] if rule.target == "qualify"]
    if senders and "qualified" not in by_stage:
        index, rule = senders[0]
        message = (
            f"no `stage: qualified` rules route the leads team {rule.target_id} qualifies:"
            " add them, ending with a rule without conditions"
        )
        problems.append((("rules", index, "qualify"), message))
    if not senders and (qualified := by_stage.get("qualified")):
        warnings.append(
            f"the stage qualified rules (from line {qualified[0][1].line}) are never used:"
            " no intake rule sends leads to qualification (qualify: TEAM)"
        )
    return problems
