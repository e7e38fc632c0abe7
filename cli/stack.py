"""`leadflow stack`: start, stop and inspect the local stack (embedded broker + Postgres + five services)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.embedded import (
    DEFAULT_KAFKA_PORT,
    LOOPBACK,
    SERVICES,
    http_answers,
    kafka_answers,
    leadflow_home,
    log_tail,
    pid_alive,
    pid_create_time,
    read_state,
    state_file,
    stop_postgres,
    terminate_pid,
    wait_until,
)  # fmt: skip
from cli.stack_runtime import (
    BACKEND_ORDER,
    KAFKA_PORT_ENV,
    MAX_BACKOFF_S,
    STABLE_AFTER_S,
    Stack,
    StopRequestedError,
    console,
    env_port,
    raise_stop,
    require_free,
    service_ports,
)

app = typer.Typer(no_args_is_help=True)


def _print_summary(state: dict[str, Any]) -> None:
    """Where everything is, and what to run next."""
    table = Table(title=f"leadflow stack ({state['mode']})")
    for column in ("component", "pid", "address", "also"):
        table.add_column(column, overflow="fold")
    table.add_row("broker", str(_pid(state, "tansu")), state["bootstrap_servers"], "KAFKA_BOOTSTRAP_SERVERS")
    table.add_row("postgres", str(_pid(state, "postgres")), state["database_url"], "DATABASE_URL")
    for name in SERVICES:
        table.add_row(name, str(_pid(state, name)), state["components"][name]["address"], "/healthz /metrics")
    table.add_row("logs", "", state["logs"], "<service>.log, tansu.log, weed.log")
    console.print(table)
    console.print("next:\n  leadflow publish deploy/examples/leads.csv\n  leadflow tail leads.assigned.v1")
    console.print("  leadflow stack status\n  leadflow stack down")


def _pid(state: dict[str, Any], name: str) -> int | str:
    """Return the recorded pid of a component, or '-' for an external one."""
    return int(state["components"].get(name, {}).get("pid", 0)) or "-"


def _refuse_if_running() -> None:
    """Never start a second stack over a live one; forget a dead one's state."""
    state = read_state()
    if state is None:
        return
    if any(pid_alive(c["pid"], c.get("create_time")) for c in state["components"].values()):
        console.print(
            "[red]A stack is already running[/red] (leadflow stack status); stop it with: leadflow stack down"
        )
        raise typer.Exit(1)
    state_file().unlink()


def _start(stack: Stack) -> None:
    """Backends (unless KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL are given), topics, services, health."""
    external = bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("DATABASE_URL"))
    stack.ports = service_ports()
    for name, port in stack.ports.items():
        require_free(port, f"{name.upper()}_PORT", name)
    if external:
        bootstrap, database_url = os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["DATABASE_URL"]
    else:
        bootstrap, database_url = stack.start_backends(env_port(KAFKA_PORT_ENV, DEFAULT_KAFKA_PORT))
    stack.state.update(
        mode="external" if external else "embedded", bootstrap_servers=bootstrap, database_url=database_url
    )
    stack.save()
    stack.start_services(bootstrap, database_url)
    if not stack.wait_healthy():
        raise typer.Exit(1)


@app.command()
def up(
    foreground: Annotated[bool, typer.Option("--foreground/--detach", help="Stay attached, or return.")] = True,  # noqa: FBT002 - a typer flag
) -> None:
    """Start the broker, Postgres and the five services; wait until every /healthz answers."""
    _refuse_if_running()
    # Python leaves SIGINT ignored when it started ignored (e.g. `make run &`); Ctrl-C must stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, raise_stop)
    stack = Stack(leadflow_home())
    try:
        if foreground:
            stack.state["supervisor"] = {"pid": os.getpid(), "create_time": pid_create_time(os.getpid())}
        _start(stack)
        _print_summary(stack.state)
        if not foreground:
            return
        console.print("running; Ctrl-C stops everything")
        _supervise(stack)
    except (KeyboardInterrupt, StopRequestedError):
        console.print("\nshutting down")
        stack.stop()
    except BaseException:
        stack.stop()
        raise


def _supervise(stack: Stack) -> None:
    """Restart services that die (with backoff); give up when a backend dies."""
    backoff = dict.fromkeys(SERVICES, 1.0)
    started = dict.fromkeys(SERVICES, time.monotonic())
    restart_at: dict[str, float] = {}
    while True:
        time.sleep(0.5)
        _check_backends(stack)
        now = time.monotonic()
        for name, proc in stack.services.items():
            if name in restart_at or proc.poll() is None:
                continue
            if now - started[name] > STABLE_AFTER_S:
                backoff[name] = 1.0
            console.print(f"[red]{name} exited with code {proc.returncode}[/red]; restarting in {backoff[name]:.0f} s")
            console.print(log_tail(stack.logs / f"{name}.log", 10), markup=False, highlight=False)
            restart_at[name] = now + backoff[name]
            backoff[name] = min(backoff[name] * 2, MAX_BACKOFF_S)
        for name in [n for n, at in restart_at.items() if at <= now]:
            del restart_at[name]
            stack.start_service(name)
            started[name] = time.monotonic()
            console.print(f"restarted {name} (pid {stack.services[name].pid})")


def _check_backends(stack: Stack) -> None:
    """Services cannot recover from a lost broker or database: stop the stack loudly."""
    pids = stack.broker.pids if stack.broker else {}
    lost = [name for name in ("weed", "tansu") if stack.broker and name not in pids]
    if stack.pg is not None and stack.pg.pid is None:
        lost.append("postgres")
    if lost:
        console.print(f"[red]{', '.join(lost)} exited unexpectedly; stopping the stack[/red] (logs in {stack.logs})")
        raise typer.Exit(1)


@app.command()
def down() -> None:
    """Stop everything recorded in stack.json: services, then broker, then postgres."""
    state = read_state()
    if state is None:
        console.print("no stack recorded; nothing to stop")
        return
    supervisor = state.get("supervisor")
    if supervisor and pid_alive(supervisor["pid"], supervisor.get("create_time")):
        # The foreground `up` would restart services we kill: let it shut down in order itself.
        console.print(f"asking the foreground stack (pid {supervisor['pid']}) to stop")
        os.kill(supervisor["pid"], signal.SIGTERM)
        wait_until(lambda: not pid_alive(supervisor["pid"]), 60.0, interval=0.2)
    components: dict[str, dict[str, Any]] = state["components"]
    for name in [*SERVICES, *BACKEND_ORDER]:
        if name in components:
            _stop_component(name, components[name], state)
    survivors = [n for n, c in components.items() if pid_alive(c["pid"], c.get("create_time"))]
    if survivors:
        console.print(f"[red]still running: {', '.join(survivors)}[/red]")
        raise typer.Exit(1)
    with contextlib.suppress(FileNotFoundError):
        state_file().unlink()
    console.print("stack stopped; no process left")


def _stop_component(name: str, entry: dict[str, Any], state: dict[str, Any]) -> None:
    """Stop one recorded component if it still runs."""
    if not pid_alive(entry["pid"], entry.get("create_time")):
        return
    console.print(f"stopping {name} (pid {entry['pid']})")
    if name == "postgres" and state.get("pg_data_dir"):
        stop_postgres(Path(state["pg_data_dir"]))
    terminate_pid(entry["pid"], entry.get("create_time"))


@app.command()
def status() -> None:
    """Each component: pid alive?, health answer, address."""
    state = read_state()
    if state is None:
        console.print("no stack recorded (start one with: leadflow stack up)")
        raise typer.Exit(1)
    table = Table(title=f"leadflow stack ({state.get('mode', '?')}, {state['home']})")
    for column in ("component", "pid", "alive", "health", "address"):
        table.add_column(column)
    ok = True
    for name, entry in _status_rows(state):
        alive = entry.get("pid") is None or pid_alive(entry["pid"], entry.get("create_time"))
        health = _health(name, entry["address"], state)
        ok = ok and alive and health in {"ok", "200"}
        table.add_row(name, str(entry.get("pid") or "-"), "yes" if alive else "[red]no[/red]", health, entry["address"])
    console.print(table)
    if not ok:
        raise typer.Exit(1)


def _status_rows(state: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """List recorded components, plus the external broker and database when they are not ours."""
    rows = list(state["components"].items())
    if state.get("mode") == "external":
        rows = [
            ("broker", {"address": state["bootstrap_servers"]}),
            ("database", {"address": state["database_url"]}),
            *rows,
        ]
    return rows


def _health(name: str, address: str, state: dict[str, Any]) -> str:
    """Return a one-word health answer for a component."""
    if name in SERVICES:
        port = int(address.rsplit(":", 1)[1])
        return str(http_answers(LOOPBACK, port, "/healthz") or "no answer")
    if name in {"tansu", "broker"}:
        host, port = state["bootstrap_servers"].split(",")[0].rsplit(":", 1)
        return "ok" if kafka_answers(host, int(port)) else "no answer"
    if name == "weed":
        port = int(address.rsplit(":", 1)[1].split(maxsplit=1)[0])
        return "ok" if http_answers(LOOPBACK, port) else "no answer"
    return "ok" if _db_answers(state["database_url"]) else "no answer"


def _db_answers(url: str) -> bool:
    """Whether `select 1` succeeds on the stack's database."""
    import psycopg  # noqa: PLC0415 - only status needs it

    try:
        with psycopg.connect(url.replace("+psycopg", "", 1), connect_timeout=3) as conn:
            return conn.execute("select 1").fetchone() == (1,)
    except psycopg.Error:
        return False
