"""`leadflow scoring load-firmographics FILE.csv`: the enrichment reference table, in scoring's own schema."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from cli.config import resolve_database_url
from services.scoring import store
from services.scoring.enrichment import FirmographicTable, read_firmographics_csv
from shared.runtime.db import create_engine
from shared.runtime.migrations import upgrade_to_head
from shared.runtime.settings import normalise_database_url

app = typer.Typer(help="Scoring: reference data for enrichment.", no_args_is_help=True)
console = Console()
MIGRATIONS = Path(store.__file__).parent / "migrations"


@app.command("load-firmographics")
def load_firmographics(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV: name, domain, industry, …")],
    database_url: Annotated[str | None, typer.Option("--database-url", help="default: DATABASE_URL")] = None,
) -> None:
    """Replace the firmographic reference table; running scoring services pick it up within a minute."""
    url = resolve_database_url(database_url)
    if url is None:
        console.print("[red]No database[/red]: set DATABASE_URL or pass --database-url.")
        raise typer.Exit(2)
    try:
        rows = read_firmographics_csv(file)
        FirmographicTable.from_rows(rows)  # refuse what the service could not index
    except ValueError as exc:
        console.print(f"[red]refused[/red]: {exc}")
        raise typer.Exit(1) from exc
    url = normalise_database_url(url)
    upgrade_to_head(url, "scoring", MIGRATIONS)
    asyncio.run(_replace(url, rows))
    console.print(f"loaded {len(rows)} companies into scoring.firmographics")


async def _replace(url: str, rows: list[dict[str, Any]]) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await store.replace_firmographics(conn, rows, datetime.now(UTC))
    finally:
        await engine.dispose()
