"""`leadflow status`: per service, healthy?, consumer lag, dead letters, outbox backlog (and nurture's timers)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import make_url

from cli.config import resolve_bootstrap, resolve_database_url
from cli.dead_letters import dlq_name
from cli.embedded import LOOPBACK, SERVICES
from cli.service_topics import consumed_topics
from cli.status_probe import BrokerNumbers, DatabaseNumbers, broker_numbers, database_numbers, health, service_ports
from shared.runtime.settings import normalise_database_url

console = Console()


async def gather(bootstrap: str, database_url: str | None, names: list[str]) -> dict[str, Any]:
    """Every number at once (health, broker, database in parallel), as one JSON-ready report."""
    ports = {name: port for name, port in service_ports().items() if name in names}
    consumed = {name: topics for name, topics in consumed_topics().items() if name in names}
    answers, broker, database = await asyncio.gather(
        health(ports),
        broker_numbers(bootstrap, consumed),
        asyncio.to_thread(database_numbers, database_url, names),
    )
    services = [
        _service(name, port=ports[name], answer=answers[name], topics=consumed[name], broker=broker, database=database)
        for name in names
    ]
    # Numbers that could not be read are a failure too (a script must not read "unknown" as fine);
    # a database that is simply not configured only leaves the outbox columns empty.
    unknown = broker.error is not None or (database.error is not None and database_url is not None)
    return {
        "healthy": all(s["healthy"] for s in services) and not unknown,
        "broker": {"address": bootstrap, "error": broker.error},
        "database": {"address": _safe(database_url), "error": database.error},
        "services": services,
    }


def _service(  # noqa: PLR0913 -- one service's share of each probe
    name: str, *, port: int, answer: str, topics: tuple[str, ...], broker: BrokerNumbers, database: DatabaseNumbers
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "service": name,
        "address": f"{LOOPBACK}:{port}",
        "healthy": answer == "ok",
        "health": answer,
        "consumes": list(topics),
        "lag": broker.lag.get(name, {}),
        "dead_letters": {dlq_name(t): broker.dead_letters.get(dlq_name(t)) for t in topics},
        "outbox": database.outbox.get(name),
    }
    if name == "nurture":
        report["timers"] = database.timers
    return report


def _safe(url: str | None) -> str | None:
    """The database URL without its password, fit to print."""
    if url is None:
        return None
    try:
        return make_url(normalise_database_url(url)).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 -- an unparsable URL is shown as unknown, never echoed (it may hold a secret)
        return "?"


def _number(value: int | None) -> str:
    return "no topic" if value is None else str(value)


def service_table(report: dict[str, Any]) -> Table:
    """One service: a row per check."""
    state = "[green]healthy[/green]" if report["healthy"] else f"[red]DOWN ({report['health']})[/red]"
    table = Table("check", "on", "value", title=f"{report['service']}  {state}  {report['address']}")
    table.add_row("health", "/healthz", report["health"])
    if not report["consumes"]:
        table.add_row("consumer lag", "?", "consumed topics unknown (no handler map in its app.py)")
    known = report["lag"] != {}  # empty only when the broker did not answer
    for topic in report["consumes"]:
        table.add_row("consumer lag", Text(topic), _number(report["lag"][topic]) if known else "?")
    for topic, count in report["dead_letters"].items():
        shown = _number(count) if known else "?"
        table.add_row("dead letters", Text(topic), f"[red]{shown}[/red]" if count else shown)
    outbox = report["outbox"] or {"error": "?"}
    table.add_row("outbox backlog", f"{report['service']}.outbox", _outbox(outbox))
    timers = report.get("timers")
    if isinstance(timers, list):
        for row in timers or [{"kind": "(none)", "pending": 0, "overdue": 0, "failed": 0}]:
            failed = f", {row['failed']} failed" if row["failed"] else ""
            table.add_row("pending timers", row["kind"], f"{row['pending']} ({row['overdue']} overdue{failed})")
    elif timers is not None:
        table.add_row("pending timers", "nurture.timers", Text(str(timers)))
    return table


def _outbox(outbox: dict[str, Any]) -> Text:
    if "error" in outbox:
        return Text(str(outbox["error"]))
    age = outbox["oldest_age_s"]
    return Text(f"{outbox['rows']} rows" + (f", oldest {age:.0f} s" if age is not None else ""))


def status(
    services: Annotated[list[str] | None, typer.Argument(help="Only these services (default: all five).")] = None,
    bootstrap: Annotated[
        str | None,
        typer.Option("--bootstrap-servers", "--bootstrap", help="default: KAFKA_BOOTSTRAP_SERVERS, else the stack's"),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="default: DATABASE_URL, else the running local stack's")
    ] = None,
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Each service: healthy?, consumer lag, dead letters, outbox backlog, nurture's timers; exit 1 if any is down."""
    unknown = sorted(set(services or ()) - set(SERVICES))
    if unknown:
        console.print(f"[red]no service {', '.join(unknown)}[/red]; the services are {', '.join(SERVICES)}")
        raise typer.Exit(2)
    names = [name for name in SERVICES if not services or name in services]
    report = asyncio.run(gather(resolve_bootstrap(bootstrap), resolve_database_url(database_url), names))
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        for problem in ("broker", "database"):
            if report[problem]["error"]:
                console.print(Text(f"{problem}: {report[problem]['error']}", style="red"))
        for service in report["services"]:
            console.print(service_table(service))
    if not report["healthy"]:
        raise typer.Exit(1)
