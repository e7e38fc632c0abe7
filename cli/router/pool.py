"""`leadflow pool list`: the shared pool (公海) as the router's HTTP API lists it, oldest first."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from cli.embedded import LOOPBACK, SERVICES
from shared.config.durations import parse_duration

app = typer.Typer(help="The shared pool (公海): pooled leads reps may claim.", no_args_is_help=True)
console = Console()
POOL_PATH = "/v1/pool"
TIMEOUT = httpx.Timeout(30.0, connect=5.0)

# Seam for tests: the transport requests go through.
make_transport: Callable[[], httpx.BaseTransport] = httpx.HTTPTransport


def router_url(env: Mapping[str, str] | None = None) -> str:
    """ROUTER_URL, else the local stack's router on ROUTER_PORT (default 8084)."""
    env = os.environ if env is None else env
    if given := env.get("ROUTER_URL", "").strip():
        return given
    port = env.get("ROUTER_PORT", "").strip()
    return f"http://{LOOPBACK}:{port if port.isdigit() else SERVICES['router']}"


def _duration(value: str | None) -> str | None:
    """Refused here, before a request, with the form durations take."""
    if value is not None:
        try:
            parse_duration(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    return value


@app.command("list")
def list_pool(  # noqa: PLR0913, PLR0917 -- typer maps one parameter to each option
    region: Annotated[str | None, typer.Option(help="sales region, province or city")] = None,
    grade: Annotated[str | None, typer.Option(help="one grade or several: A,B")] = None,
    product: Annotated[str | None, typer.Option(help="a product the lead is interested in")] = None,
    min_age: Annotated[
        str | None, typer.Option("--min-age", help="pooled at least this long ago: 30m, 2h, 3d", callback=_duration)
    ] = None,
    max_age: Annotated[
        str | None, typer.Option("--max-age", help="pooled at most this long ago", callback=_duration)
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="most leads to list")] = 100,
    url: Annotated[str | None, typer.Option("--url", help="the router's API (default: ROUTER_URL or :8084)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the API's answer as JSON")] = False,  # noqa: FBT002 -- a flag
) -> None:
    """List pooled leads, oldest first, with why each is in the pool."""
    params = {"region": region, "grade": grade, "product": product, "min_age": min_age, "max_age": max_age}
    query = {k: v for k, v in params.items() if v} | {"limit": limit}
    answer = fetch_pool(url or router_url(), query)
    if as_json:
        typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))
        return
    leads = answer.get("leads", [])
    console.print(pool_table(leads))
    shown = f"{len(leads)} lead" + ("" if len(leads) == 1 else "s")
    console.print(shown + (f" (the first {limit}; --limit shows more)" if len(leads) >= limit else ""))


def fetch_pool(url: str, query: Mapping[str, Any]) -> dict[str, Any]:
    """GET /v1/pool; a router that does not answer exits 3, a refused filter exits 2."""
    base = url.rstrip("/")
    try:
        with httpx.Client(base_url=base, timeout=TIMEOUT, transport=make_transport()) as http:
            response = http.get(POOL_PATH, params=dict(query))
    except httpx.HTTPError as exc:
        console.print(f"[red]the router at {base} does not answer[/red] ({exc.__class__.__name__}: {exc})")
        console.print("Is it running (`leadflow stack status`)? Pass --url or set ROUTER_URL for another router.")
        raise typer.Exit(3) from None
    if response.status_code == httpx.codes.UNPROCESSABLE_ENTITY:  # a filter the API refused
        console.print(f"[red]refused[/red]: {_detail(response)}")
        raise typer.Exit(2)
    if response.is_error:
        console.print(f"[red]the router at {base} answered {response.status_code}[/red]: {_detail(response)}")
        raise typer.Exit(3)
    body = response.json()
    if not isinstance(body, dict):
        console.print(f"[red]unexpected answer from {base}{POOL_PATH}[/red]: {response.text[:200]}")
        raise typer.Exit(3)
    return body


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return response.text[:200]
    return detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)[:200]


def pool_table(leads: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title="shared pool (公海), oldest first")
    for column in ("lead", "age", "grade", "temp", "region / province / city", "products", "source", "reason"):
        table.add_column(column, justify="right" if column == "age" else "left", overflow="fold")
    table.add_column("previous rep", overflow="fold")
    for lead in leads:
        place = " / ".join(str(lead.get(k) or "-") for k in ("sales_region", "province", "city"))
        products = lead.get("product_interest") or []
        table.add_row(
            str(lead.get("lead_id", "")),
            age(lead.get("age_s")),
            str(lead.get("grade") or "-"),
            str(lead.get("temperature") or "-"),
            place,
            (", ".join(map(str, products)) or "-") if isinstance(products, list) else str(products),
            str(lead.get("source") or "-"),
            str(lead.get("reason") or "-"),
            str(lead.get("previous_rep_id") or "-"),
        )
    return table


def age(seconds: float | None) -> str:
    """The two largest units: 45s, 12m, 3h05m, 2d04h."""
    if seconds is None:
        return "-"
    total = max(0, int(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m" if minutes else f"{secs}s"
