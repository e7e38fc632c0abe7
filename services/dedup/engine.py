"""The matching engine the service and `leadflow dedup-eval` share: candidates, scores, a decision.

A `Resolver` holds (part of) the identity index in memory: the blocking keys, the profiles of the
leads filed under them, the survivor each lead belongs to and when each survivor was last seen.
The service seeds one per batch from Postgres (under row locks) and writes back what it filed;
the evaluation runs one over a whole file. Leads are resolved one at a time, in order, so a
batch's own duplicates find each other exactly as they would across batches.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from services.dedup.blocking import MAX_PER_KEY, hashed_keys
from services.dedup.compare import SUPPORT_RULES, Comparison, Signal, compare
from services.dedup.profile import Profile

Outcome = Literal["merge", "possible_duplicate", "new"]
# Candidates compared per lead at most (the most recent first): a bound on the worst case.
MAX_CANDIDATES = 256


DEFAULT_MERGE = 7.0
DEFAULT_REVIEW = 5.0


@dataclass(slots=True)
class Thresholds:
    """When a score merges, when it asks a human, and how old a match may be.

    Scores at or above `merge` merge; at or above `review` are possible duplicates; a repeat older
    than `window` (from the survivor's last sighting) starts a new lead linked to the old one.
    """

    merge: float = DEFAULT_MERGE
    review: float = DEFAULT_REVIEW
    window: timedelta = timedelta(days=180)


@dataclass(slots=True)
class Scored:
    """The best comparison between a newcomer and one existing lead (a cluster of merged leads)."""

    survivor: uuid.UUID
    member: uuid.UUID
    comparison: Comparison
    last_seen: datetime
    in_window: bool


@dataclass(slots=True)
class Decision:
    outcome: Outcome
    survivor: uuid.UUID | None = None  # the lead merged into, or the possible duplicate
    score: float = 0.0
    rule: str = "no_candidate"
    signals: tuple[Signal, ...] = ()
    candidates: tuple[Scored, ...] = ()  # the best few, best first
    history_of: uuid.UUID | None = None  # an earlier lead of this person, outside the window
    keys: tuple[int, ...] = ()


def decide(scored: Sequence[Scored], thresholds: Thresholds) -> Decision:
    """Merge into the best candidate in the window if its evidence is strong enough, else flag or keep new."""
    ranked = sorted(scored, key=lambda s: (-s.comparison.score, -s.last_seen.timestamp()))
    candidates = tuple(ranked[:3])
    eligible = [s for s in ranked if s.in_window]
    best = eligible[0] if eligible else None
    if best is not None and best.comparison.score >= thresholds.merge and _decisive(best.comparison):
        return _decision("merge", best, candidates)
    history = next((s for s in ranked if not s.in_window and s.comparison.score >= thresholds.merge), None)
    if best is not None and best.comparison.score >= thresholds.review:
        return _decision("possible_duplicate", best, candidates, history)
    if history is not None:
        return Decision(
            "new", None, history.comparison.score, "history", history.comparison.signals, candidates, history.survivor
        )
    return Decision(
        "new",
        None,
        best.comparison.score if best else 0.0,
        "below_threshold" if best else "no_candidate",
        candidates=candidates,
    )


def _decisive(c: Comparison) -> bool:
    """A single weak agreement never decides alone: a strong key, or two different fields agreeing."""
    identifying = {s.keys for s in c.signals if s.weight > 0 and s.rule not in SUPPORT_RULES}
    return c.strong_key or len(identifying) >= 2


def _decision(
    outcome: Outcome, best: Scored, candidates: tuple[Scored, ...], history: Scored | None = None
) -> Decision:
    positive = [s for s in best.comparison.signals if s.weight > 0]
    rule = positive[0].rule if positive else "score"
    return Decision(
        outcome,
        best.survivor,
        best.comparison.score,
        rule,
        best.comparison.signals,
        candidates,
        history.survivor if history else None,
    )


@dataclass
class Resolver:
    """An in-memory slice of the identity index, resolving leads one by one and filing each."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    blocks: dict[int, list[uuid.UUID]] = field(default_factory=dict)
    profiles: dict[uuid.UUID, Profile] = field(default_factory=dict)
    survivor_of: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    last_seen: dict[uuid.UUID, datetime] = field(default_factory=dict)
    comparisons: int = 0

    def resolve(self, profile: Profile, keys: tuple[int, ...] | None = None) -> Decision:
        """Decide one lead against the index, then file it (under its survivor when it merges)."""
        if keys is None:
            keys = hashed_keys(profile)
        decision = decide(self._score(profile, self._members(profile.lead_id, keys)), self.thresholds)
        survivor = decision.survivor if decision.outcome == "merge" and decision.survivor else profile.lead_id
        self.file(profile, survivor, keys)
        decision.keys = keys
        return decision

    def file(self, profile: Profile, survivor: uuid.UUID, keys: Iterable[int]) -> None:
        self.profiles[profile.lead_id] = profile
        self.survivor_of[profile.lead_id] = survivor
        previous = self.last_seen.get(survivor)
        if previous is None or profile.seen_at > previous:
            self.last_seen[survivor] = profile.seen_at
        for key in keys:
            members = self.blocks.setdefault(key, [])
            members.append(profile.lead_id)
            if len(members) > MAX_PER_KEY:
                del members[0]

    def _members(self, lead_id: uuid.UUID, keys: Iterable[int]) -> list[uuid.UUID]:
        found: dict[uuid.UUID, None] = {}
        for key in keys:
            for member in reversed(self.blocks.get(key, ())):
                if member != lead_id and member in self.profiles:
                    found[member] = None
        return list(found)[:MAX_CANDIDATES]

    def _score(self, new: Profile, members: Iterable[uuid.UUID]) -> list[Scored]:
        best: dict[uuid.UUID, Scored] = {}
        for member in members:
            survivor = self.survivor_of.get(member, member)
            if survivor == new.lead_id:
                continue
            comparison = compare(new, self.profiles[member])
            self.comparisons += 1
            current = best.get(survivor)
            if current is None or comparison.score > current.comparison.score:
                last_seen = self.last_seen.get(survivor, self.profiles[member].seen_at)
                in_window = new.seen_at - last_seen <= self.thresholds.window
                best[survivor] = Scored(survivor, member, comparison, last_seen, in_window)
        return list(best.values())
