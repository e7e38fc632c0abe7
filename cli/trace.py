"""`leadflow trace LEAD_ID`: the lead's journey across the services, in time order, from each one's own records."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.dedup.story import resolve
from cli.journey.routing import nurture_steps, router_steps
from cli.journey.steps import SERVICES, Collector, Step, dedup_steps, ingest_steps, outbox_steps, scoring_steps
from cli.router.database import Connection, read_only
from cli.router.explain import to_json
from cli.router.pool import age
from cli.router.routing_story import when

console = Console()
COLLECTORS: tuple[Collector, ...] = (
    ingest_steps, dedup_steps, scoring_steps, router_steps, nurture_steps, outbox_steps,
)  # fmt: skip


def trace(
    lead_id: Annotated[uuid.UUID, typer.Argument(help="the lead to trace (a merged-away id traces its survivor too)")],
    database_url: Annotated[str | None, typer.Option("--database-url", help="default: DATABASE_URL")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the steps as JSON")] = False,  # noqa: FBT002 -- a flag
) -> None:
    """The lead's journey: every step each service recorded, in time order, with the time since the first."""
    with read_only(database_url) as conn:
        survivor = resolve(conn, lead_id)
        ids = [lead_id] if survivor == lead_id else [lead_id, survivor]
        steps = journey(conn, ids)
    if not steps:
        console.print(f"[yellow]unknown lead[/yellow] {lead_id}: no service recorded anything about it")
        raise typer.Exit(3)
    if as_json:
        typer.echo(to_json(as_document(lead_id, survivor, steps)))
    else:
        render(console, lead_id, survivor, steps)


def journey(conn: Connection, ids: Sequence[uuid.UUID]) -> list[Step]:
    """Every collector's steps in time order; at one instant, in the order a lead meets the services."""
    steps = [step for collect in COLLECTORS for step in collect(conn, ids)]
    return sorted(steps, key=lambda s: (s.at, SERVICES.index(s.service)))  # stable: a service's own order stays


def as_document(lead_id: uuid.UUID, survivor: uuid.UUID, steps: Sequence[Step]) -> dict[str, Any]:
    first = steps[0].at
    return {
        "lead_id": lead_id,
        "survivor_id": survivor,
        "steps": [
            {
                "at": s.at,
                "elapsed_s": (s.at - first).total_seconds(),
                "service": s.service,
                "lead_id": s.lead_id,
                "event": s.event,
                "what": s.what,
            }
            for s in steps
        ],
    }


def render(out: Console, lead_id: uuid.UUID, survivor: uuid.UUID, steps: Sequence[Step]) -> None:
    both = survivor != lead_id
    out.print(f"[bold]lead {lead_id}[/bold]")
    if both:
        out.print(
            f"merged into {survivor}: later events carry the surviving id, so the steps of both ids are shown"
            f" ({short(lead_id)} and {short(survivor)})"
        )
    table = Table(title="the lead's journey", title_justify="left")
    for column in ("time", "since first", "service", *(["lead"] if both else []), "what happened"):
        table.add_column(column, overflow="fold", no_wrap=column in {"time", "since first"})
    first = steps[0].at
    for s in steps:
        lead = [short(s.lead_id)] if both else []
        table.add_row(when(s.at), f"+{age((s.at - first).total_seconds())}", s.service, *lead, escape(s.what))
    out.print(table)


def short(lead_id: uuid.UUID) -> str:
    return str(lead_id)[:8]
