"""From the validated routing file to the rule set in force: defaults resolved, every reference checked by line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from services.router.rule_checks import check_rules
from services.router.rule_model import Caps, Defaults, Member, Rep, Rule, RuleSet, Team, fold
from services.router.rule_spec import CapsSpec, RepSpec, RuleSetSpec, RuleSpec, TeamSpec
from shared.config.yamlfile import ConfigError, Lines, Loc, combine, digest, error_at
from shared.worktime import WorkCalendar, parse_hours

_CALENDAR_FIELDS = ("timezone", "hours", "holidays", "workdays", "days_off")


class _Build:
    """One load: the file's lines and source for messages, the problems found so far, shared calendars."""

    def __init__(self, lines: Lines, source: str) -> None:
        self.lines = lines
        self.source = source
        self.errors: list[ConfigError] = []
        self.warnings: list[str] = []
        self._calendars: dict[tuple[Any, ...], WorkCalendar] = {}

    def error(self, loc: Loc, msg: str) -> None:
        self.errors.append(error_at(self.lines, loc, self.source, msg))

    def line(self, loc: Loc) -> int:
        return self.lines.get(loc, 0)

    def calendar(self, fields: dict[str, Any], loc: Loc) -> WorkCalendar:
        """One calendar per distinct (timezone, hours, holidays, workdays, days_off), shared by its reps."""
        workdays: Sequence[date] = fields["workdays"]
        days_off: Sequence[date] = fields["days_off"]
        key = (
            fields["timezone"],
            parse_hours(fields["hours"]),
            fields["holidays"],
            *map(frozenset, (workdays, days_off)),
        )
        if key not in self._calendars:
            try:
                self._calendars[key] = WorkCalendar(**fields)
            except ValueError as exc:
                self.error(loc, str(exc))
                return WorkCalendar.always()
        return self._calendars[key]


def build_rule_set(spec: RuleSetSpec, lines: Lines, source: str, text: str) -> RuleSet:
    """The rule set, or ConfigError naming every problem with its line; overlaps become warnings."""
    build = _Build(lines, source)
    defaults_fields = {name: getattr(spec.defaults, name) for name in _CALENDAR_FIELDS}
    defaults = Defaults(
        caps=_caps(spec.defaults.caps, Caps()),
        max_rejections=spec.defaults.max_rejections,
        calendar=build.calendar(defaults_fields, ("defaults",)),
    )
    reps = _reps(build, spec.reps, defaults, defaults_fields)
    teams = _teams(build, spec.teams, reps, defaults)
    rules = tuple(_rule(build, index, rule, reps, teams) for index, rule in enumerate(spec.rules))
    _unique(build, "rule", [r.id for r in spec.rules], "rules")
    for loc, problem in check_rules(rules, build.warnings):
        build.error(loc, problem)
    _unused_reps(build, spec, rules, teams)
    if build.errors:
        raise combine(build.errors)
    text_digest = digest(text)
    return RuleSet(
        version=f"{spec.version}+{text_digest[:8]}",
        defaults=defaults,
        reps=reps,
        teams=teams,
        rules=rules,
        warnings=tuple(build.warnings),
        recycle_cooldown=spec.defaults.recycle_cooldown,
        text_digest=text_digest,
    )


def _caps(own: CapsSpec | None, inherited: Caps) -> Caps:
    """Field by field: what the rep says (null included: no cap), else what the defaults say."""
    if own is None:
        return inherited
    return Caps(
        **{name: getattr(own if name in own.model_fields_set else inherited, name) for name in Caps.model_fields}
    )


def _reps(build: _Build, specs: list[RepSpec], defaults: Defaults, calendar: dict[str, Any]) -> dict[str, Rep]:
    _unique(build, "rep", [r.id for r in specs], "reps")
    reps: dict[str, Rep] = {}
    for index, spec in enumerate(specs):
        own = {name: getattr(spec, name) for name in _CALENDAR_FIELDS if name in spec.model_fields_set}
        rep_calendar = build.calendar(calendar | own, ("reps", index)) if own else defaults.calendar
        reps.setdefault(
            spec.id,
            Rep(
                id=spec.id,
                name=spec.name or spec.id,
                active=spec.active,
                manager=spec.manager,
                languages=frozenset(fold(v) for v in spec.languages),
                skills=frozenset(fold(v) for v in spec.skills),
                caps=_caps(spec.caps, defaults.caps),
                calendar=rep_calendar,
            ),
        )
    return reps


def _teams(build: _Build, specs: list[TeamSpec], reps: dict[str, Rep], defaults: Defaults) -> dict[str, Team]:
    _unique(build, "team", [t.id for t in specs], "teams")
    teams: dict[str, Team] = {}
    for index, spec in enumerate(specs):
        _team_members(build, index, spec, reps)
        _team_manager(build, index, spec, reps)
        if spec.overflow is not None and spec.overflow not in {t.id for t in specs}:
            build.error(("teams", index, "overflow"), f"unknown team {spec.overflow}")
        teams.setdefault(
            spec.id,
            Team(
                id=spec.id,
                name=spec.name or spec.id,
                strategy=spec.strategy,
                owner_stickiness=spec.owner_stickiness,
                overflow=spec.overflow,
                max_rejections=spec.max_rejections or defaults.max_rejections,
                after_rejections=spec.after_rejections,
                manager=spec.manager,
                members=tuple(Member(rep=m.rep, weight=m.weight) for m in spec.members),
            ),
        )
    _overflow_cycles(build, specs)
    return teams


def _team_members(build: _Build, index: int, spec: TeamSpec, reps: dict[str, Rep]) -> None:
    if not spec.members:
        build.error(("teams", index), f"team {spec.id} has no member: list its reps under members")
    seen: set[str] = set()
    for position, member in enumerate(spec.members):
        if member.rep not in reps:
            build.error(("teams", index, "members", position, "rep"), f"unknown rep {member.rep}")
        elif member.rep in seen:
            build.error(("teams", index, "members", position), f"rep {member.rep} is listed twice in {spec.id}")
        seen.add(member.rep)


def _team_manager(build: _Build, index: int, spec: TeamSpec, reps: dict[str, Rep]) -> None:
    loc: Loc = ("teams", index, "manager")
    if spec.manager is not None and spec.manager not in reps:
        build.error(loc, f"unknown rep {spec.manager}")
    elif spec.manager is not None and not reps[spec.manager].manager:
        build.error(loc, f"rep {spec.manager} is not a manager: give it `manager: true` under reps")
    if spec.after_rejections == "manager" and spec.manager is None:
        build.error(
            ("teams", index, "after_rejections"),
            "manager needs the team's manager: add `manager: REP` (a rep with manager: true)",
        )


def _overflow_cycles(build: _Build, specs: list[TeamSpec]) -> None:
    """Overflow chains must end: a → b → a would pass a lead round for ever."""
    overflow = {t.id: t.overflow for t in specs}
    reported: set[str] = set()
    for index, spec in enumerate(specs):
        path, current = [spec.id], spec.overflow
        while current is not None and current in overflow and current not in path:
            path.append(current)
            current = overflow[current]
        if current == spec.id and not reported & set(path):
            reported.update(path)
            build.error(("teams", index, "overflow"), f"overflow cycle: {' → '.join([*path, spec.id])}")


def _rule(build: _Build, index: int, spec: RuleSpec, reps: dict[str, Rep], teams: dict[str, Team]) -> Rule:
    loc: Loc = ("rules", index)
    when: dict[str, tuple[str, ...]] = {}
    for field, allowed in spec.when.items():
        values = allowed if isinstance(allowed, list) else [allowed]
        if not values:
            build.error((*loc, "when", field), "no allowed values: leave the field out to match any value")
        when[field] = tuple(_text(v) for v in values)
    target, target_id = spec.target
    if target in {"team", "qualify"} and target_id not in teams:
        build.error((*loc, target), f"unknown team {target_id}")
    if target == "rep" and target_id not in reps:
        build.error((*loc, target), f"unknown rep {target_id}")
    requires = spec.requires
    rule = Rule(
        id=spec.id,
        stage=spec.stage,
        when=when,
        requires_skills=frozenset(fold(v) for v in requires.skills) if requires else frozenset(),
        requires_languages=frozenset(fold(v) for v in requires.languages) if requires else frozenset(),
        target=target,
        target_id=target_id,
        line=build.line(loc),
    )
    if requires is not None:
        _requires(build, index, rule, reps, teams)
    return rule


def _requires(build: _Build, index: int, rule: Rule, reps: dict[str, Rep], teams: dict[str, Team]) -> None:
    """Somebody must be able to take what the rule asks for, or the rule would never find a rep."""
    loc: Loc = ("rules", index, "requires")
    wanted = _describe(rule.requires_skills, rule.requires_languages)
    if rule.target in {"pool", "nurture"}:
        build.error(loc, f"requires applies to team, rep or qualify targets, not {rule.target}")
    elif rule.target == "rep" and (rep := reps.get(rule.target_id or "")):
        if not rep.has(rule.requires_skills, rule.requires_languages):
            build.error(loc, f"rep {rep.id} lacks {wanted}")
    elif team := teams.get(rule.target_id or ""):
        able = [
            m.rep
            for m in team.members
            if (rep := reps.get(m.rep)) and rep.has(rule.requires_skills, rule.requires_languages)
        ]
        if not able:
            build.error(loc, f"no member of team {team.id} has {wanted}")


def _describe(skills: frozenset[str], languages: frozenset[str]) -> str:
    parts = [
        f"{kind} [{', '.join(sorted(values))}]"
        for kind, values in (("skills", skills), ("languages", languages))
        if values
    ]
    return " and ".join(parts) or "nothing"


def _unique(build: _Build, kind: str, ids: list[str], section: str) -> None:
    first: dict[str, int] = {}
    for index, item_id in enumerate(ids):
        if item_id in first:
            line = build.line((section, first[item_id]))
            build.error((section, index, "id"), f"duplicate {kind} id {item_id} (first at line {line})")
        else:
            first[item_id] = index


def _unused_reps(build: _Build, spec: RuleSetSpec, rules: tuple[Rule, ...], teams: dict[str, Team]) -> None:
    used = {m.rep for t in teams.values() for m in t.members} | {t.manager for t in teams.values() if t.manager}
    used |= {r.target_id for r in rules if r.target == "rep" and r.target_id}
    for index, rep in enumerate(spec.reps):
        if rep.id not in used:
            build.warnings.append(
                f"rep {rep.id} (line {build.line(('reps', index))}) is in no team and no rule names it"
            )


def _text(value: object) -> str:
    """A rule value as text: YAML `true` and `100` match the lead values `True` and `100`."""
    return str(value).lower() if isinstance(value, bool) else str(value)
