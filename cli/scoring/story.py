"""The scoring part of `leadflow explain`: the score, its factors and versions, and every (re)score with its reason."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.router.database import Connection, has_table
from cli.router.routing_story import when

SCORES_SQL = (
    "SELECT id, score, grade, temperature, factors, model_version, reason, scored_at, rule_points, model_points"
    " FROM scoring.scores WHERE lead_id = %s ORDER BY scored_at, id"
)
# The stored lead is read for its engagement (why it was re-scored) and enrichment only, never its person.
LEAD_SQL = (
    "SELECT engagement, convert_from(enrichment, 'UTF8')::jsonb AS enrichment FROM scoring.leads WHERE lead_id = %s"
)
OUTCOMES_SQL = "SELECT kind, label, at, recorded_at FROM scoring.outcomes WHERE lead_id = %s ORDER BY at, id"


def load(conn: Connection, lead_id: uuid.UUID) -> dict[str, Any] | None:
    """The rows scoring keeps about the lead, the latest score first; None when scoring never scored it."""
    if not has_table(conn, "scoring.scores"):
        return None
    scores = [_with_versions(row) for row in conn.execute(SCORES_SQL, [lead_id]).fetchall()]
    if not scores:
        return None
    lead = conn.execute(LEAD_SQL, [lead_id]).fetchone() or {}
    _attach_reasons(scores, lead.get("engagement") or [])
    enrichment = lead.get("enrichment") or {}
    return {
        "latest": scores[-1],
        "history": scores,
        # Which fields enrichment added and who said so; their values stay out (a provider may return a person's).
        "enrichment": {name: (f or {}).get("provider") for name, f in (enrichment.get("fields") or {}).items()},
        "enrichment_failed": enrichment.get("failed") or [],
        "outcomes": conn.execute(OUTCOMES_SQL, [lead_id]).fetchall(),
    }


def _with_versions(row: Mapping[str, Any]) -> dict[str, Any]:
    """`rules+hash/model` as scoring writes it: the rule set's version, then the learned model's (if it had a say)."""
    rules, _, model = str(row["model_version"]).partition("/")
    factors = sorted(row["factors"] or [], key=lambda f: -abs(float(f.get("contribution", 0))))
    return {**row, "factors": factors, "rule_set_version": rules, "learned_model_version": model or None}


def _attach_reasons(scores: list[dict[str, Any]], engagement: Sequence[Mapping[str, Any]]) -> None:
    """A score row keeps only `reengaged`; the lead's engagement list keeps why, one entry per re-score, in order."""
    why = iter([e for e in engagement if e.get("kind") == "reengaged"])
    for score in scores:
        if score["reason"] == "reengaged":
            entry = next(why, None)
            score["reason_detail"] = entry.get("reason") if entry else None


def render(console: Console, story: Mapping[str, Any]) -> None:
    console.rule("scoring")
    latest: Mapping[str, Any] = story["latest"]
    console.print(
        f"score [bold]{latest['score']}[/bold] · grade [bold]{escape(str(latest['grade']))}[/bold]"
        f" · {escape(str(latest['temperature']))} · scored {when(latest['scored_at'])}"
    )
    model = latest.get("learned_model_version") or "none (the rules alone)"
    console.print(
        f"rule set {escape(str(latest['rule_set_version']))} · learned model {escape(str(model))}"
        f" · rule points {_points(latest.get('rule_points'))} · model points {_points(latest.get('model_points'))}"
    )
    console.print(factors_table(latest["factors"]))
    console.print(history_table(story.get("history") or []))
    render_enrichment(console, story.get("enrichment") or {}, story.get("enrichment_failed") or [])
    for outcome in story.get("outcomes") or []:
        label = "positive" if outcome["label"] else "negative"
        console.print(f"outcome {escape(str(outcome['kind']))} ({label} label) at {when(outcome['at'])}")


def factors_table(factors: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title="factors of the latest score, largest first", title_justify="left", box=None, min_width=60)
    for column in ("factor", "points", "why"):
        table.add_column(column, justify="right" if column == "points" else "left", overflow="fold")
    for f in factors:
        table.add_row(
            escape(str(f.get("name"))), f"{float(f.get('contribution', 0)):+.2f}", escape(str(f.get("detail") or ""))
        )
    return table


def history_table(scores: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title="every (re)score", title_justify="left", box=None)
    for column in ("scored", "why", "score", "grade", "temperature", "rule set", "model"):
        table.add_column(column, overflow="fold")
    for s in scores:
        why = f"{s['reason']}: {s['reason_detail']}" if s.get("reason_detail") else str(s["reason"])
        table.add_row(
            when(s["scored_at"]),
            escape(why),
            str(s["score"]),
            escape(str(s["grade"])),
            escape(str(s["temperature"])),
            escape(str(s["rule_set_version"])),
            escape(str(s.get("learned_model_version") or "-")),
        )
    return table


def render_enrichment(console: Console, fields: Mapping[str, str | None], failed: Sequence[str]) -> None:
    if not fields and not failed:
        return
    added = ", ".join(f"{name} ({provider or '?'})" for name, provider in fields.items()) or "nothing"
    console.print(escape(f"enrichment added {added}" + (f"; providers failed: {', '.join(failed)}" if failed else "")))


def _points(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
