"""The running local stack: what `leadflow stack up` started, its ports and the state file that records it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from cli.embedded import (
    LOOPBACK,
    REPO_ROOT,
    SERVICES,
    EmbeddedBroker,
    EmbeddedPostgres,
    PortInUseError,
    http_answers,
    log_tail,
    pid_create_time,
    port_is_free,
    start_service,
    state_file,
    terminate,
    wait_until,
)  # fmt: skip

if TYPE_CHECKING:
    import subprocess
    from types import FrameType

console = Console()


KAFKA_PORT_ENV = "LEADFLOW_KAFKA_PORT"
HEALTH_TIMEOUT_S = 60.0
MAX_BACKOFF_S = 30.0
# A service that stayed up this long is healthy again: its next crash restarts it quickly.
STABLE_AFTER_S = 60.0
BACKEND_ORDER = ("tansu", "weed", "postgres")


class StopRequestedError(Exception):
    """SIGTERM/SIGHUP arrived: shut the stack down as for Ctrl-C."""


def raise_stop(signum: int, _frame: FrameType | None) -> None:
    """Signal handler turning SIGTERM/SIGHUP into an exception in the main loop."""
    raise StopRequestedError(signal.Signals(signum).name)


def env_port(var: str, default: int) -> int:
    """Read a port from the environment, naming the variable when it is malformed."""
    raw = os.environ.get(var, str(default))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        console.print(f"[red]{var}={raw!r} is not a TCP port[/red]")
        raise typer.Exit(2)
    return int(raw)


def require_free(port: int, var: str, what: str) -> None:
    """Fail with the env var to set when a port is taken."""
    if not port_is_free(port):
        console.print(f"[red]{what} port {port} on {LOOPBACK} is already in use.[/red]")
        console.print(f"Set {var} to a free port, e.g. {var}={port + 1000}")
        raise typer.Exit(1)


def service_ports() -> dict[str, int]:
    """Each service's port: <NAME>_PORT or the SERVICES default."""
    return {name: env_port(f"{name.upper()}_PORT", default) for name, default in SERVICES.items()}


class Stack:
    """Everything `up` started, in start order, and the state file that records it."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.logs = home / "logs"
        self.broker: EmbeddedBroker | None = None
        self.pg: EmbeddedPostgres | None = None
        self.services: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}
        self.env: dict[str, str] = {}
        self.state: dict[str, Any] = {"home": str(home), "logs": str(self.logs), "components": {}}

    def save(self) -> None:
        """Record pids and addresses after every change so `down` can always clean up."""
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = state_file().with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2))
        tmp.replace(state_file())

    def record(self, name: str, pid: int, address: str, log: Path | None) -> None:
        """Add or replace one component in the state file."""
        entry = {"pid": pid, "create_time": pid_create_time(pid), "address": address, "log": str(log or "")}
        self.state["components"][name] = entry
        self.save()

    def start_backends(self, kafka_port: int) -> tuple[str, str]:
        """Durable broker (weed mini + tansu) and pgserver under home; returns (bootstrap, database URL)."""
        try:
            self.broker = EmbeddedBroker(
                port=kafka_port, data_dir=self.home / "kafka", log_path=self.logs / "tansu.log"
            )
        except PortInUseError:
            require_free(kafka_port, KAFKA_PORT_ENV, "Kafka")
            raise
        bootstrap = self.broker.start()
        pids = self.broker.pids
        self.record("weed", pids["weed"], f"http://{LOOPBACK}:{self.broker.s3_port} (S3)", self.broker.weed_log_path)
        self.record("tansu", pids["tansu"], bootstrap, self.broker.log_path)
        self.pg = EmbeddedPostgres(self.home / "pg")
        database_url = self.pg.start()
        self.state["pg_data_dir"] = str(self.pg.data_dir)
        self.record("postgres", self.pg.pid or 0, database_url, self.pg.data_dir / "log")
        return bootstrap, database_url

    def start_services(self, bootstrap: str, database_url: str) -> None:
        """Create topics, then start the five services."""
        from shared.runtime.kafka_admin import ensure_topics  # noqa: PLC0415 - `stack status` should not pay for aiokafka

        created = asyncio.run(ensure_topics(bootstrap, partitions=8))
        console.print(f"topics: {len(created)} created" if created else "topics: all present")
        rules = os.environ.get("ROUTER_RULES_FILE") or str(REPO_ROOT / "deploy" / "config" / "routing.yaml")
        self.env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "DATABASE_URL": database_url, "LEADFLOW_HOME": str(self.home)}
        self.env["ROUTER_RULES_FILE"] = rules
        # the local stack's scoring starts with the sample reference table (loaded only into an empty table)
        sample = REPO_ROOT / "deploy" / "scoring" / "firmographics.csv"
        self.env["SCORING_FIRMOGRAPHICS_CSV"] = os.environ.get("SCORING_FIRMOGRAPHICS_CSV") or str(sample)
        for name in SERVICES:
            self.start_service(name)

    def start_service(self, name: str) -> None:
        """Start (or restart) one service and record it."""
        log = self.logs / f"{name}.log"
        proc = start_service(name, self.env, self.ports[name], log, REPO_ROOT)
        self.services[name] = proc
        self.record(name, proc.pid, f"http://{LOOPBACK}:{self.ports[name]}", log)

    def unhealthy(self) -> dict[str, str]:
        """Services whose /healthz does not answer 200, with the reason."""
        bad: dict[str, str] = {}
        for name, proc in self.services.items():
            if proc.poll() is not None:
                bad[name] = f"exited with code {proc.returncode}"
            elif (status := http_answers(LOOPBACK, self.ports[name], "/healthz")) != 200:
                bad[name] = f"/healthz answered {status}" if status else "/healthz not answering"
        return bad

    def wait_healthy(self) -> bool:
        """Wait for every /healthz; on failure print which service and the tail of its log."""

        def exited() -> bool:
            return any(p.poll() is not None for p in self.services.values())

        wait_until(lambda: not self.unhealthy() or exited(), HEALTH_TIMEOUT_S, interval=0.5)
        bad = self.unhealthy()
        for name, reason in bad.items():
            console.print(f"[red]{name} is not healthy: {reason}[/red]  (log {self.logs / f'{name}.log'})")
            console.print(log_tail(self.logs / f"{name}.log"), markup=False, highlight=False)
        return not bad

    def stop(self) -> None:
        """Services first (they flush to the broker and db), then tansu, weed, postgres."""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not orphan half the stack
        for name, proc in self.services.items():
            console.print(f"stopping {name}")
            terminate(proc)
        if self.broker is not None:
            console.print("stopping broker")
            self.broker.stop()
        if self.pg is not None:
            console.print("stopping postgres")
            self.pg.stop()
        with contextlib.suppress(FileNotFoundError):
            state_file().unlink()
