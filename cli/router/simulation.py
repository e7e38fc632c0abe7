"""`leadflow rules simulate`, pure: recorded first decisions replayed through a candidate rule set, compared.

The replay routes each lead with the router's own `route` on a fresh board, at the moment the lead arrived, so
working hours, holidays and daily or weekly caps are judged as they would have been. Nothing here reads or writes
a database: the command hands in the rows.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.router.domain import Board, Request, route
from services.router.rules import RuleSet

POOL, NURTURE = "pool", "nurture"
NOT_A_REP = {"pooled": POOL, "deferred": NURTURE}
NOT_REPLAYED = (
    "not replayed: availability from sales.rep_status (every rep counts as online), exclusions and company owners"
    " from before the window; caps, open leads and round-robin pointers start from zero"
)

Destination = tuple[str | None, str]  # (team, rep), or (None, "pool") / (None, "nurture")


@dataclass(frozen=True)
class Recorded:
    """A lead's first routing decision as it happened: its facts, when, and where it went."""

    lead_id: uuid.UUID
    facts: Mapping[str, Any]
    decided_at: datetime
    outcome: str  # assigned, pooled, deferred
    team_id: str | None = None
    rep_id: str | None = None

    @property
    def destination(self) -> Destination:
        return destination(self.outcome, self.team_id, self.rep_id)


def destination(outcome: str, team_id: str | None, rep_id: str | None) -> Destination:
    if outcome == "assigned" and rep_id:
        return team_id or None, rep_id
    return None, NOT_A_REP.get(outcome, outcome)


def replay(recorded: Sequence[Recorded], rules: RuleSet) -> list[Destination]:
    """Where each lead would have gone, in the order given (call with the rows in decided_at order)."""
    board = Board()
    out = []
    for row in recorded:
        routing = route(rules, board, Request(row.lead_id, dict(row.facts), "intake", "new_lead"), now=row.decided_at)
        out.append(destination(routing.outcome, routing.team_id, routing.rep_id))
    return out


def compare(recorded: Sequence[Recorded], rules: RuleSet) -> dict[str, Any]:
    """The report: per team and rep, the pool and nurture, actual against simulated counts and shares."""
    ordered = sorted(recorded, key=lambda r: (r.decided_at, str(r.lead_id)))
    actual = [row.destination for row in ordered]
    simulated = replay(ordered, rules)
    return summarise(actual, simulated) | {
        "rule_set_version": rules.version,
        "warnings": list(rules.warnings),
        "not_replayed": NOT_REPLAYED,
    }


def summarise(actual: Sequence[Destination], simulated: Sequence[Destination]) -> dict[str, Any]:
    """Counts, deltas and shares of two destination lists over the same leads."""
    total = len(actual)
    was, would = Counter(actual), Counter(simulated)
    reps = sorted({d for d in (*was, *would) if d[0] is not None or d[1] not in {POOL, NURTURE}}, key=_order)
    moves = Counter((a, s) for a, s in zip(actual, simulated, strict=True) if a != s)
    rep_rows = [
        {"team": team, "rep": rep, **_counts(was[(team, rep)], would[(team, rep)], total)} for team, rep in reps
    ]
    teams = sorted({d[0] for d in reps}, key=lambda t: t or "")
    return {
        "leads": total,
        "changed": sum(moves.values()),
        "reps": rep_rows,
        "teams": [
            {
                "team": team,
                **_counts(
                    sum(r["actual"] for r in rep_rows if r["team"] == team),
                    sum(r["simulated"] for r in rep_rows if r["team"] == team),
                    total,
                ),
            }
            for team in teams
        ],
        POOL: _counts(was[(None, POOL)], would[(None, POOL)], total),
        NURTURE: _counts(was[(None, NURTURE)], would[(None, NURTURE)], total),
        "totals": {"actual": total, "simulated": len(simulated)},
        "moves": [
            {"from": label(a), "to": label(s), "leads": n}
            for (a, s), n in sorted(moves.items(), key=lambda m: (-m[1], label(m[0][0]), label(m[0][1])))
        ],
    }


def _order(d: Destination) -> tuple[str, str]:
    return d[0] or "", d[1]


def _counts(actual: int, simulated: int, total: int) -> dict[str, Any]:
    return {
        "actual": actual,
        "simulated": simulated,
        "delta": simulated - actual,
        "actual_share": share(actual, total),
        "simulated_share": share(simulated, total),
    }


def share(count: int, total: int) -> float:
    return round(100.0 * count / total, 1) if total else 0.0


def label(d: Destination) -> str:
    team, rep = d
    return f"{team}/{rep}" if team else rep
