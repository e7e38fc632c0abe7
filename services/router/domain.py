"""Pure routing decisions: the facts rules see, and the round-robin pick with its explanation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.router.rules import Rep, Team
from shared.schemas.events import CandidateRep, LeadScored


def routing_facts(lead: LeadScored) -> dict[str, Any]:
    """The lead fields rules can match on (kept by the router for later re-routing)."""
    return {
        "sales_region": lead.location.sales_region,
        "country": lead.location.country,
        "province": lead.location.province,
        "city": lead.location.city,
        "grade": lead.grade,
        "temperature": lead.temperature,
        "source": lead.source,
        "campaign": lead.campaign,
        "industry": lead.company.industry,
        "product_interest": list(lead.product_interest),
    }


def rotation(team: Team) -> list[Rep]:
    """Each active rep `weight` times, interleaved, so weights hold over any window of the cycle."""
    reps = [r for r in team.reps if r.active]
    rounds = max((r.weight for r in reps), default=0)
    return [r for i in range(rounds) for r in reps if r.weight > i]


@dataclass(frozen=True)
class Pick:
    rep: Rep | None
    candidates: list[CandidateRep]


def pick_round_robin(
    team: Team, counter: int, exclude: frozenset[str] = frozenset(), cycle_of_team: list[Rep] | None = None
) -> Pick:
    """The rep at this turn of the team's rotation, skipping excluded reps; explain every other rep."""
    full = cycle_of_team if cycle_of_team is not None else rotation(team)
    cycle = [r for r in full if r.id not in exclude] if exclude else full
    chosen = cycle[(counter - 1) % len(cycle)] if cycle else None
    candidates = [
        CandidateRep(rep_id=r.id, selected=chosen is not None and r.id == chosen.id, reason=_reason(r, chosen, exclude))
        for r in team.reps
    ]
    return Pick(chosen, candidates)


def _reason(rep: Rep, chosen: Rep | None, exclude: frozenset[str]) -> str:
    if chosen is not None and rep.id == chosen.id:
        return "next in weighted round robin"
    if not rep.active:
        return "inactive"
    if rep.id in exclude:
        return "excluded: had this lead before"
    return "not this lead's turn in the rotation"
