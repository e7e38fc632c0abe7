"""Routing decisions, pure: the facts rules see, who is eligible, weighted round robin, and the decision record.

Nothing here touches the database. The handlers load a `Board` (the reps' counters and pointers, locked in the
batch's transaction), route every lead of the batch against it, and write back what changed; `leadflow rules
simulate` routes recorded leads against a fresh board the same way. One code path decides, so a simulation
shows what the service would do.

Weighted round robin is LeanData's: every member of a team has a pointer; the eligible member with the lowest
pointer gets the lead and its pointer grows by 1/weight. Over any stretch of leads each rep's share follows its
weight however the leads arrive (one at a time, in bursts, across restarts and instances: the pointers are
rows). A rep who was away does not come back to a flood: a pointer more than one step behind the other
eligible members is first raised to one step behind the lowest of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from services.router.rules import Rep, Rule, RuleSet, Team
from shared.schemas.events import CandidateRep, Decision, LeadScored, RuleCheck

Outcome = Literal["assigned", "pooled", "deferred"]

REENGAGED_SKIPS = frozenset({"nurture"})  # it showed interest again: to sales, not back to a track
EPSILON = 1e-9  # pointers are sums of 1/weight steps: equal up to float rounding is equal


def routing_facts(lead: LeadScored) -> dict[str, Any]:
    """The lead fields rules can match on, kept by the router for re-routing and simulation."""
    firmo = lead.normalised.firmographics
    enriched = lead.enrichment.get("fields", {}) if isinstance(lead.enrichment, dict) else {}
    email = lead.normalised.email
    company = lead.normalised.company
    country = lead.location.country or lead.company.country
    return {
        "sales_region": lead.location.sales_region,
        "country": country,
        "province": lead.location.province,
        "city": lead.location.city,
        "grade": lead.grade,
        "temperature": lead.temperature,
        "score": lead.score,
        "source": lead.source,
        "channel": lead.source,
        "campaign": lead.campaign,
        "industry": firmo.industry or _enriched(enriched, "company.industry") or lead.company.industry,
        "size_band": firmo.size_band or _enriched(enriched, "company.size_band"),
        "employees": lead.company.employees or _enriched(enriched, "company.employees"),
        "product_interest": list(lead.product_interest),
        "language": _language(lead, country),
        "seniority": _enriched(enriched, "person.seniority"),
        "attributes": dict(lead.attributes),
        "company_key": company.core if company and company.core else None,
        "email_domain": email.domain if email and email.valid and not email.free_mail else None,
        "may_email": lead.may_email,
    }


def _enriched(fields: Mapping[str, Any], name: str) -> Any:
    value = fields.get(name)
    return value.get("value") if isinstance(value, dict) else value


def _language(lead: LeadScored, country: str | None) -> str:
    given = lead.attributes.get("language")
    if isinstance(given, str) and given:
        return given.casefold()
    name = lead.normalised.name
    if name is not None and name.script == "han":
        return "zh"
    return "zh" if country in {"CN", "TW", "HK", "MO"} else "en"


def company_key(facts: Mapping[str, Any]) -> str | None:
    """Which company a lead belongs to, for owner stickiness: the company's match key, else its email domain."""
    key = facts.get("company_key") or facts.get("email_domain")
    return str(key) if key else None


# --- the state decisions read and change ---------------------------------------------------------------------


@dataclass(slots=True)
class RepLoad:
    """One rep's row of router.rep_state: availability and the counters caps are checked against."""

    rep_id: str
    status: str = "online"
    status_until: datetime | None = None
    day: date | None = None
    day_count: int = 0
    week: date | None = None
    week_count: int = 0
    open_leads: int = 0
    claim_day: date | None = None
    claim_count: int = 0
    dirty: bool = False

    def available(self, now: datetime) -> str | None:
        """None when available, else why not (a vacation that ended is over)."""
        if self.status == "online":
            return None
        if self.status_until is not None and self.status_until <= now:
            return None
        until = f" until {self.status_until.isoformat(timespec='minutes')}" if self.status_until else ""
        return f"{self.status}{until}"

    def counts(self, today: date, monday: date) -> tuple[int, int]:
        """Today's and this week's assignments (counters from an earlier day or week count as zero)."""
        return (self.day_count if self.day == today else 0, self.week_count if self.week == monday else 0)

    def count_assignment(self, today: date, monday: date) -> None:
        day, week = self.counts(today, monday)
        self.day, self.day_count, self.week, self.week_count = today, day + 1, monday, week + 1
        self.open_leads += 1
        self.dirty = True

    def release(self) -> None:
        """An open lead closed (converted, lost, rejected, recycled, released)."""
        self.open_leads = max(0, self.open_leads - 1)
        self.dirty = True

    def count_claim(self, today: date) -> None:
        self.claim_count = (self.claim_count if self.claim_day == today else 0) + 1
        self.claim_day = today
        self.dirty = True

    def claims_on(self, today: date) -> int:
        return self.claim_count if self.claim_day == today else 0


@dataclass(frozen=True, slots=True)
class Exclusion:
    reason: str  # rejected, recycled, released
    until: datetime | None  # None: for good

    def holds(self, now: datetime) -> bool:
        return self.until is None or self.until > now


@dataclass
class Board:
    """What one batch decides against; the handlers write back the loads and pointers it marks changed."""

    loads: dict[str, RepLoad] = field(default_factory=dict)
    pointers: dict[tuple[str, str], float] = field(default_factory=dict)  # (team, rep) -> pointer
    exclusions: dict[uuid.UUID, dict[str, Exclusion]] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)  # company key -> rep
    changed_pointers: set[tuple[str, str]] = field(default_factory=set)
    changed_owners: dict[str, tuple[str, uuid.UUID]] = field(default_factory=dict)
    strict: bool = False  # the service's boards: a rep whose row was not read and locked is a bug, not a zero

    def load(self, rep_id: str) -> RepLoad:
        load = self.loads.get(rep_id)
        if load is None:
            if self.strict:
                raise LookupError(f"rep {rep_id} was not locked for this batch")
            load = self.loads[rep_id] = RepLoad(rep_id)
        return load

    def exclude(self, lead_id: uuid.UUID, rep_id: str, exclusion: Exclusion) -> None:
        self.exclusions.setdefault(lead_id, {})[rep_id] = exclusion


# --- one lead ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """A lead to route: its facts, the stage of the rule set, and why it is being routed."""

    lead_id: uuid.UUID
    facts: Mapping[str, Any]
    stage: str = "intake"
    reason: str = "new_lead"  # new_lead, reengaged, recycled, rejected, qualified, ...
    only_team: str | None = None  # a rejection is reassigned within the team it was in
    previous_rep_id: str | None = None


@dataclass
class Routing:
    """Where a lead goes and the full decision record."""

    outcome: Outcome
    rule: Rule | None
    decision: Decision
    team_id: str | None = None
    rep_id: str | None = None
    strategy: str | None = None
    track: str | None = None
    pool_reason: str | None = None
    qualifying: bool = False


@dataclass(frozen=True, slots=True)
class _Verdict:
    rep: str
    code: str
    reason: str
    pointer: float | None
    open_leads: int


def route(rules: RuleSet, board: Board, request: Request, now: datetime) -> Routing:
    """Decide one lead and record it on the board (counters, pointers, owner) when it is assigned."""
    if request.only_team is not None:
        return _route_team_only(rules, board, request, now)
    skip = REENGAGED_SKIPS if request.reason == "reengaged" else frozenset()
    rule, checks = rules.evaluate(dict(request.facts), request.stage, skip_targets=skip)
    record = _record(rules, request, rule, checks)
    if rule is None:  # a validated rule set ends every stage with a catch-all; a stage it lacks has no rules
        record.explanation = f"no rule of stage {request.stage} matched → the pool"
        return Routing("pooled", None, record, pool_reason=f"no rule of stage {request.stage} matched")
    if rule.target == "pool":
        record.explanation = f"rule {rule.id} sends these leads to the pool"
        return Routing("pooled", rule, record, pool_reason=f"rule {rule.id}")
    if rule.target == "nurture":
        record.explanation = f"rule {rule.id} → nurture track {rule.target_id}"
        return Routing("deferred", rule, record, track=rule.target_id)
    if rule.target == "rep":
        return _route_named(rules, board, request, rule, record, now)
    assert rule.target_id is not None  # noqa: S101 -- team and qualify rules name a team (validated)
    routing = _route_chain(rules, board, request, rule, rule.target_id, record, now)
    routing.qualifying = rule.target == "qualify" and routing.outcome == "assigned"
    return routing


def _record(rules: RuleSet, request: Request, rule: Rule | None, checks: Sequence[Any]) -> Decision:
    return Decision(
        rule_id=rule.id if rule else "",
        rule_set_version=rules.version,
        matched={k: _fact(request.facts, k) for k in (rule.when if rule else {})},
        candidates=[],
        explanation="",
        stage=request.stage,
        rules_checked=[RuleCheck(rule_id=c.rule_id, matched=c.matched, why=c.why) for c in checks],
    )


def _fact(facts: Mapping[str, Any], name: str) -> Any:
    value: Any = facts
    for part in name.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _route_team_only(rules: RuleSet, board: Board, request: Request, now: datetime) -> Routing:
    """A rejection: the next rep of the same team who has not had the lead, else the team's fallback."""
    assert request.only_team is not None  # noqa: S101
    record = Decision(
        rule_id="",
        rule_set_version=rules.version,
        candidates=[],
        explanation="",
        stage=request.stage,
    )
    return _route_chain(rules, board, request, None, request.only_team, record, now)


def _route_chain(  # noqa: PLR0913, PLR0917 -- one lead's routing inputs
    rules: RuleSet, board: Board, request: Request, rule: Rule | None, first: str, record: Decision, now: datetime
) -> Routing:
    """The rule's team, then its overflow teams in order, then the pool: a lead is never left unrouted."""
    team_id: str | None = first
    tried: set[str] = set()
    while team_id is not None and team_id not in tried and team_id in rules.teams:
        tried.add(team_id)
        team = rules.teams[team_id]
        verdicts, chosen, strategy = _pick(rules, board, request, rule, team, now)
        record.candidates.extend(_candidates(team.id, verdicts))
        if chosen is not None:
            _assign(board, rules, request, team, chosen, now)
            hops = " → ".join([*tried_in_order(record.path), team.id])
            via = f"rule {rule.id}" if rule else f"reassignment within {first}"
            record.rule_id = rule.id if rule else record.rule_id
            record.explanation = f"{via} → team {hops}; {chosen} by {strategy.replace('_', ' ')}"
            return Routing("assigned", rule, record, team_id=team.id, rep_id=chosen, strategy=strategy)
        record.path.append(f"{team.id}: {_why_nobody(verdicts)}")
        if request.only_team is not None:
            break  # a rejected lead is reassigned within its team, or handed on by the rejection policy
        team_id = team.overflow
    reason = "no eligible rep in " + " → ".join(tried_in_order(record.path))
    record.explanation = f"{reason} → the pool"
    return Routing("pooled", rule, record, pool_reason=reason)


def tried_in_order(path: Iterable[str]) -> list[str]:
    return [step.split(":", 1)[0] for step in path]


def _route_named(  # noqa: PLR0913, PLR0917 -- one lead's routing inputs
    rules: RuleSet, board: Board, request: Request, rule: Rule, record: Decision, now: datetime
) -> Routing:
    rep_id = rule.target_id or ""
    verdict = _eligibility(rules, board, request, rule, rep_id, None, now)
    if verdict is None:
        team = _team_of(rules, rep_id)
        _assign(board, rules, request, team, rep_id, now)
        record.candidates.append(
            CandidateRep(rep_id=rep_id, selected=True, reason="named by the rule", code="selected")
        )
        record.explanation = f"rule {rule.id} → {rep_id} by name"
        return Routing("assigned", rule, record, team_id=team.id if team else "", rep_id=rep_id, strategy="named_rep")
    record.candidates.append(
        CandidateRep(rep_id=rep_id, reason=verdict.reason, code=verdict.code, open_leads=verdict.open_leads)
    )
    record.path.append(f"{rep_id}: {verdict.reason}")
    record.explanation = f"rule {rule.id} names {rep_id}, who is {verdict.reason} → the pool"
    return Routing("pooled", rule, record, pool_reason=f"{rep_id} is {verdict.reason}")


def _team_of(rules: RuleSet, rep_id: str) -> Team | None:
    return next((t for t in rules.teams.values() if any(m.rep == rep_id for m in t.members)), None)


def _pick(  # noqa: PLR0913, PLR0917 -- one lead's routing inputs
    rules: RuleSet, board: Board, request: Request, rule: Rule | None, team: Team, now: datetime
) -> tuple[list[_Verdict], str | None, str]:
    """Every member's verdict and the chosen rep (owner first when the team is sticky), by the team's strategy."""
    eligible: list[tuple[str, float]] = []  # (rep, weight), in member order
    verdicts: list[_Verdict] = []
    for member in team.members:
        reason = _eligibility(rules, board, request, rule, member.rep, team, now)
        if reason is None:
            eligible.append((member.rep, member.weight))
        else:
            verdicts.append(reason)
    if not eligible:
        return verdicts, None, ""
    pointers = _catch_up(board, team.id, eligible)
    owner = board.owners.get(company_key(request.facts) or "") if team.owner_stickiness else None
    if owner is not None and any(rep == owner for rep, _ in eligible):
        chosen, strategy = owner, "owner_stickiness"
    elif team.strategy == "least_loaded":
        index = min(
            range(len(eligible)), key=lambda i: (board.load(eligible[i][0]).open_leads, round(pointers[i], 9), i)
        )
        chosen, strategy = eligible[index][0], "least_loaded"
    else:
        index = min(range(len(eligible)), key=lambda i: (round(pointers[i], 9), i))
        chosen, strategy = eligible[index][0], "round_robin"
    chosen_pointer = pointers[[rep for rep, _ in eligible].index(chosen)]
    chosen_open = board.load(chosen).open_leads
    for (rep, _), pointer in zip(eligible, pointers, strict=True):
        open_leads = board.load(rep).open_leads
        if rep == chosen:
            how = {"owner_stickiness": "owns this company's leads", "least_loaded": "fewest open leads"}
            verdicts.append(
                _Verdict(rep, "selected", how.get(strategy, "lowest round-robin pointer"), pointer, open_leads)
            )
        elif strategy == "owner_stickiness":
            verdicts.append(_Verdict(rep, "not_owner", f"{chosen} owns this company's leads", pointer, open_leads))
        elif strategy == "least_loaded" and open_leads > chosen_open:
            verdicts.append(
                _Verdict(
                    rep, "more_open_leads", f"more open leads ({open_leads} vs {chosen_open})", pointer, open_leads
                )
            )
        else:
            verdicts.append(
                _Verdict(
                    rep,
                    "higher_pointer",
                    f"higher pointer ({pointer:.3f} vs {chosen_pointer:.3f})",
                    pointer,
                    open_leads,
                )
            )
    weight = next(w for rep, w in eligible if rep == chosen)
    board.pointers[(team.id, chosen)] = chosen_pointer + 1.0 / weight
    board.changed_pointers.add((team.id, chosen))
    return verdicts, chosen, strategy


def _catch_up(board: Board, team_id: str, eligible: Sequence[tuple[str, float]]) -> list[float]:
    """The eligible members' pointers, after bringing new and returning members in line.

    A new member starts level with the lowest of the others; one whose pointer fell more than one of its steps
    behind them (it was away, capped or off hours) is raised to one step behind: it gets the next lead, not a flood.
    """
    known = [board.pointers.get((team_id, rep)) for rep, _ in eligible]
    out = []
    for i, ((rep, weight), stored) in enumerate(zip(eligible, known, strict=True)):
        others = [p for j, p in enumerate(known) if j != i and p is not None]
        lowest = min(others) if others else None
        if stored is None:
            pointer = lowest if lowest is not None else 0.0
        elif lowest is not None and stored < lowest - 1.0 / weight - EPSILON:
            pointer = lowest - 1.0 / weight
        else:
            out.append(stored)
            continue
        board.pointers[(team_id, rep)] = pointer
        board.changed_pointers.add((team_id, rep))
        out.append(pointer)
    return out


def _eligibility(  # noqa: PLR0913, PLR0917, PLR0911 -- one check per reason a rep is passed over
    rules: RuleSet, board: Board, request: Request, rule: Rule | None, rep_id: str, team: Team | None, now: datetime
) -> _Verdict | None:
    """None if the rep may take this lead now, else the reason they are passed over."""
    load = board.load(rep_id)
    rep: Rep | None = rules.reps.get(rep_id)
    if rep is None or not rep.active:
        return _Verdict(rep_id, "inactive", "inactive", None, load.open_leads)
    if away := load.available(now):
        code = "vacation" if away.startswith("vacation") else "offline"
        return _Verdict(rep_id, code, away, None, load.open_leads)
    excluded = board.exclusions.get(request.lead_id, {}).get(rep_id)
    if excluded is not None and excluded.holds(now):
        until = f" until {excluded.until.isoformat(timespec='minutes')}" if excluded.until else ""
        return _Verdict(rep_id, "excluded", f"had this lead before ({excluded.reason}{until})", None, load.open_leads)
    if rule is not None and (missing := rule.requires_skills - rep.skills):
        return _Verdict(
            rep_id, "skill_mismatch", f"skill mismatch: lacks {', '.join(sorted(missing))}", None, load.open_leads
        )
    if rule is not None and (missing := rule.requires_languages - rep.languages):
        return _Verdict(
            rep_id, "skill_mismatch", f"language mismatch: lacks {', '.join(sorted(missing))}", None, load.open_leads
        )
    if not rep.calendar.is_working(now):
        back = rep.calendar.next_working(now)
        return _Verdict(
            rep_id, "off_hours", f"off hours (back {back.isoformat(timespec='minutes')})", None, load.open_leads
        )
    today, monday = rep.calendar.local_day(now), rep.calendar.week_start(now)
    day, week = load.counts(today, monday)
    caps = rep.caps
    if caps.day is not None and day >= caps.day:
        return _Verdict(rep_id, "day_cap", f"at daily cap ({day}/{caps.day})", None, load.open_leads)
    if caps.week is not None and week >= caps.week:
        return _Verdict(rep_id, "week_cap", f"at weekly cap ({week}/{caps.week})", None, load.open_leads)
    if caps.open is not None and load.open_leads >= caps.open:
        return _Verdict(rep_id, "open_cap", f"at open-lead cap ({load.open_leads}/{caps.open})", None, load.open_leads)
    del team
    return None


def _candidates(team_id: str, verdicts: Sequence[_Verdict]) -> list[CandidateRep]:
    return [
        CandidateRep(
            rep_id=v.rep,
            selected=v.code == "selected",
            reason=v.reason,
            code=v.code,
            team_id=team_id,
            pointer=None if v.pointer is None else round(v.pointer, 6),
            open_leads=v.open_leads,
        )
        for v in verdicts
    ]


def _why_nobody(verdicts: Sequence[_Verdict]) -> str:
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.code] = counts.get(v.code, 0) + 1
    return "no eligible rep (" + ", ".join(f"{n} {code.replace('_', ' ')}" for code, n in counts.items()) + ")"


def _assign(  # noqa: PLR0913, PLR0917 -- the assignment's inputs
    board: Board, rules: RuleSet, request: Request, team: Team | None, rep_id: str, now: datetime
) -> None:
    rep = rules.reps[rep_id]
    board.load(rep_id).count_assignment(rep.calendar.local_day(now), rep.calendar.week_start(now))
    if team is not None and team.owner_stickiness and (key := company_key(request.facts)):
        board.owners[key] = rep_id
        board.changed_owners[key] = (rep_id, request.lead_id)
