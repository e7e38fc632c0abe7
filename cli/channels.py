"""`leadflow channel add|revoke|list`: the channels that may post leads over HTTP, and their keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from cli.config import resolve_database_url
from services.ingest import channels as ch
from services.ingest import store
from shared.runtime.migrations import upgrade_to_head
from shared.runtime.settings import normalise_database_url

app = typer.Typer(help="Channels (lead sources) and their API keys.", no_args_is_help=True)
console = Console()
INGEST_MIGRATIONS = Path(ch.__file__).parent / "migrations"
DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="default: DATABASE_URL, else the running local stack's")
]


def _engine(database_url: str | None) -> sa.Engine:
    url = resolve_database_url(database_url)
    if url is None:
        console.print("[red]No database: start the stack (`leadflow stack up`) or set DATABASE_URL.[/red]")
        raise typer.Exit(2)
    url = normalise_database_url(url)
    upgrade_to_head(url, "ingest", INGEST_MIGRATIONS)  # the table exists even before ingest first ran
    return sa.create_engine(url)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="the channel id leads carry as `source`, e.g. web-form")],
    default_country: Annotated[
        str | None, typer.Option(help="ISO country for phone numbers without a country code, e.g. CN")
    ] = None,
    rate: Annotated[float | None, typer.Option(help="leads per second (default: INGEST_RATE_PER_S)")] = None,
    burst: Annotated[float | None, typer.Option(help="leads at once (default: INGEST_RATE_BURST)")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Create a channel and print its API key — once: only a hash is stored."""
    engine = _engine(database_url)
    try:
        with engine.begin() as conn:
            key = ch.add_channel(
                conn,
                store.channels,
                name,
                default_country=default_country.upper() if default_country else None,
                rate_per_s=rate,
                burst=burst,
            )
    except ch.ChannelExistsError:
        console.print(f"[red]Channel {name} exists; revoke it first or pick another name.[/red]")
        raise typer.Exit(1) from None
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    console.print(f"Channel [bold]{name}[/bold] created. Its API key (shown only now; send it as X-API-Key):")
    typer.echo(key)


@app.command("revoke")
def revoke(name: str, database_url: DatabaseOption = None) -> None:
    """Revoke a channel's key: ingest answers 403 to it within seconds."""
    engine = _engine(database_url)
    try:
        with engine.begin() as conn:
            ch.revoke_channel(conn, store.channels, name)
    except ch.UnknownChannelError:
        console.print(f"[red]No channel {name}.[/red]")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    console.print(f"Channel {name} revoked.")


@app.command("list")
def list_channels(database_url: DatabaseOption = None) -> None:
    """The channels, their key hints and limits (never the keys)."""
    engine = _engine(database_url)
    t = store.channels
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(t).order_by(t.c.name)).all()
    finally:
        engine.dispose()
    table = Table("channel", "key", "active", "default country", "rate/s", "burst", "created")
    for r in rows:
        table.add_row(
            r.name,
            r.key_hint,
            "yes" if r.active else "revoked",
            r.default_country or "",
            *(str(v) if v else "default" for v in (r.rate_per_s, r.burst)),
            f"{r.created_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)
