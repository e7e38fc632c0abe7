"""A small routing rule set for the router CLI's tests: two teams, a capped rep, office hours in Shanghai."""

from __future__ import annotations

from pathlib import Path

# Shanghai office hours; rep-c takes one lead a day; D grades and unknown regions go to the pool.
RULES_YAML = """\
version: "sim-test"
defaults:
  timezone: Asia/Shanghai
  hours: {mon-fri: "09:00-18:00"}
reps:
  - {id: rep-a}
  - {id: rep-b}
  - {id: rep-c, caps: {day: 1}}
teams:
  - id: east
    members: [{rep: rep-a}, {rep: rep-b}]
  - id: west
    members: [{rep: rep-c}]
rules:
  - id: d-to-pool
    when: {grade: [D]}
    pool: true
  - id: east
    when: {sales_region: [cn-east]}
    team: east
  - id: west
    when: {sales_region: [cn-west]}
    team: west
  - id: rest
    pool: true
"""
TEAM_WEST_LINE = 23  # the line of `team: west`, for refusals naming it
ALWAYS_WORKING = RULES_YAML.replace('{mon-fri: "09:00-18:00"}', '{mon-sun: "24h"}')


def write_rules(directory: Path, text: str = RULES_YAML, name: str = "routing.yaml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path
