"""A read-only connection to the services' tables for the CLI: nothing a command does can change them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import typer
from psycopg.rows import dict_row
from rich.console import Console

from cli.config import resolve_database_url
from shared.runtime.settings import libpq_url

console = Console()
CONNECT_TIMEOUT_S = 10
Connection = psycopg.Connection[dict[str, Any]]


@contextmanager
def read_only(database_url: str | None) -> Iterator[Connection]:
    """One read-only transaction, rolled back at the end; no database exits 2, an unreachable or unmigrated one 3."""
    url = resolve_database_url(database_url)
    if url is None:
        console.print("[red]No database[/red]: set DATABASE_URL or pass --database-url.")
        raise typer.Exit(2)
    try:
        conn = psycopg.connect(libpq_url(url), connect_timeout=CONNECT_TIMEOUT_S, row_factory=dict_row)
    except psycopg.OperationalError as exc:
        console.print(f"[red]cannot reach the database[/red]: {exc}")
        raise typer.Exit(3) from None
    try:
        conn.read_only = True  # a simulation or a story that tried to write would fail, not change the router
        yield conn
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as exc:
        console.print(f"[red]a service's tables are missing or old here[/red] ({exc.diag.message_primary})")
        console.print("Have the current services run against this database (each migrates its schema at start)?")
        raise typer.Exit(3) from None
    finally:
        conn.close()  # the transaction is discarded with the connection: nothing was, or could be, written


def has_table(conn: Connection, name: str) -> bool:
    """Whether `schema.table` exists: a database may hold only some services' schemas (each migrates its own)."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL AS found", [name]).fetchone()
    return bool(row and row["found"])
