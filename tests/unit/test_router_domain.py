"""The routing decision itself, without a database: caps per week and on open leads, languages, catch-up."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.router.domain import Board, Request, route
from services.router.rules import parse_rule_set

pytestmark = pytest.mark.unit

MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
RULES = parse_rule_set(
    """
version: "unit"
defaults: {timezone: Asia/Shanghai, hours: {mon-sun: "00:00-24:00"}}
reps:
  - {id: weekly, caps: {week: 3}, languages: [zh]}
  - {id: open, caps: {open: 2}, languages: [zh]}
  - {id: english, languages: [en]}
teams:
  - id: t
    members: [{rep: weekly}, {rep: open}, {rep: english}]
rules:
  - {id: zh, when: {language: [zh]}, requires: {languages: [zh]}, team: t}
  - {id: rest, when: {}, team: t}
"""
)


def decide(board: Board, at: datetime, language: str = "zh") -> tuple[str | None, dict[str, str]]:
    routing = route(RULES, board, Request(uuid.uuid4(), {"language": language}), at)
    return routing.rep_id, {c.rep_id: c.code or "" for c in routing.decision.candidates}


def test_weekly_and_open_lead_caps_and_a_language_requirement() -> None:
    board = Board()
    picks = [decide(board, MONDAY_10 + timedelta(hours=i))[0] for i in range(5)]
    assert sorted(p for p in picks if p) == ["open", "open", "weekly", "weekly", "weekly"]
    rep, codes = decide(board, MONDAY_10 + timedelta(hours=6))
    assert rep is None  # nobody left for a Chinese-speaking lead: the pool
    assert codes == {"weekly": "week_cap", "open": "open_cap", "english": "skill_mismatch"}
    board.load("open").release()  # one of its leads closed: capacity again
    assert decide(board, MONDAY_10 + timedelta(hours=7))[0] == "open"
    assert decide(board, MONDAY_10 + timedelta(days=7))[0] == "weekly"  # a new week


def test_a_rep_back_from_absence_gets_the_next_lead_not_a_flood() -> None:
    rules = parse_rule_set(
        """
version: "unit"
reps: [{id: a}, {id: b}]
teams: [{id: t, members: [{rep: a}, {rep: b}]}]
rules: [{id: all, when: {}, team: t}]
"""
    )
    board = Board()
    for _ in range(10):  # both at work
        route(rules, board, Request(uuid.uuid4(), {}), MONDAY_10)
    board.load("b").status = "offline"
    for _ in range(50):
        route(rules, board, Request(uuid.uuid4(), {}), MONDAY_10)
    board.load("b").status = "online"
    picks = [route(rules, board, Request(uuid.uuid4(), {}), MONDAY_10).rep_id for _ in range(10)]
    assert picks.count("b") <= 6  # about half, not ten in a row
    assert picks[0] == "b"
