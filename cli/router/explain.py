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

from cli.router import routing_story
from cli.router.database import Connection, read_only

console = Console()


@dataclass(frozen=True)
class Section:
    """One service's part of the story: what it reads (None: it never saw the lead) and how it prints that."""

    name: str
    load: Callable[[Connection, uuid.UUID], Mapping[str, Any] | None]
    render: Callable[[Console, Mapping[str, Any]], None]


# In the order a lead meets them; dedup and scoring come before routing when they join.
SECTIONS: list[Section] = [Section("routing", routing_story.load, routing_story.render)]


def explain(
    lead_id: Annotated[uuid.UUID, typer.Argument(help="the lead to explain")],
    database_url: Annotated[str | None, typer.Option("--database-url", help="default: DATABASE_URL")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the rows as JSON")] = False,  # noqa: FBT002 -- a flag
) -> None:
    """Why a lead is where it is: its state, every routing decision with the rules and reps considered, the ledger."""
    with read_only(database_url) as conn:
        story = {section.name: section.load(conn, lead_id) for section in SECTIONS}
    if all(part is None for part in story.values()):
        console.print(f"[yellow]unknown lead[/yellow] {lead_id}: no service recorded anything about it")
        raise typer.Exit(3)
    if as_json:
        typer.echo(to_json({"lead_id": lead_id, **story}))
    else:
        render_story(console, lead_id, story, SECTIONS)


def render_story(
    out: Console, lead_id: uuid.UUID, story: Mapping[str, Mapping[str, Any] | None], sections: Sequence[Section]
) -> None:
    out.print(f"[bold]lead {lead_id}[/bold]")
    for section in sections:
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
