"""`leadflow explain LEAD_ID`: a lead's story from the services' own tables, one section per service."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

import typer
from rich.console import Console

from cli.dedup import story as dedup_story
from cli.ingest import story as ingest_story
from cli.router import routing_story
from cli.router.database import Connection, read_only
from cli.scoring import story as scoring_story

console = Console()


@dataclass(frozen=True)
class Section:
    """One service's part of the story: what it reads (None: it never saw the lead) and how it prints that."""

    name: str
    load: Callable[[Connection, uuid.UUID], Mapping[str, Any] | None]
    render: Callable[[Console, Mapping[str, Any]], None]
    # After a merge every later event carries the surviving id: these sections are read under it.
    follows_merge: bool = True


# In the order a lead meets them. A section whose part names a `survivor_id` (dedup's) sets the id the
# sections after it read.
SECTIONS: list[Section] = [
    Section("ingest", ingest_story.load, ingest_story.render, follows_merge=False),
    Section("dedup", dedup_story.load, dedup_story.render, follows_merge=False),
    Section("scoring", scoring_story.load, scoring_story.render),
    Section("routing", routing_story.load, routing_story.render),
]


def explain(
    lead_id: Annotated[uuid.UUID, typer.Argument(help="the lead to explain")],
    database_url: Annotated[str | None, typer.Option("--database-url", help="default: DATABASE_URL")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the rows as JSON")] = False,  # noqa: FBT002 -- a flag
) -> None:
    """Why a lead is where it is: how it came in, its merge or verdict, its score and factors, its routing decisions."""
    with read_only(database_url) as conn:
        story, survivor = load_story(conn, lead_id, SECTIONS)
    if all(part is None for part in story.values()):
        console.print(f"[yellow]unknown lead[/yellow] {lead_id}: no service recorded anything about it")
        raise typer.Exit(3)
    if as_json:
        merged = {"survivor_id": survivor} if survivor != lead_id else {}
        typer.echo(to_json({"lead_id": lead_id, **merged, **story}))
    else:
        render_story(console, lead_id, story, SECTIONS, survivor_id=survivor)


def load_story(
    conn: Connection, lead_id: uuid.UUID, sections: Sequence[Section]
) -> tuple[dict[str, Mapping[str, Any] | None], uuid.UUID]:
    """Every section's part, and the id the lead is known by downstream (itself unless it was merged away)."""
    story: dict[str, Mapping[str, Any] | None] = {}
    survivor = lead_id
    for section in sections:
        part = section.load(conn, survivor if section.follows_merge else lead_id)
        story[section.name] = part
        if part is not None and isinstance(part.get("survivor_id"), uuid.UUID):
            survivor = part["survivor_id"]
    return story, survivor


def render_story(
    out: Console,
    lead_id: uuid.UUID,
    story: Mapping[str, Mapping[str, Any] | None],
    sections: Sequence[Section],
    *,
    survivor_id: uuid.UUID | None = None,
) -> None:
    out.print(f"[bold]lead {lead_id}[/bold]")
    told = survivor_id is None or survivor_id == lead_id
    for section in sections:
        if section.follows_merge and not told:
            out.print()
            out.print(
                f"[bold yellow]lead {lead_id} was merged into {survivor_id}[/bold yellow]: every later event carries"
                f" the surviving id, so what follows is the story of {survivor_id}"
            )
            told = True
        part = story.get(section.name)
        if part is None:
            out.rule(section.name)
            out.print(f"{section.name}: nothing recorded for this lead")
        else:
            section.render(out, part)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=_plain)


def _plain(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
