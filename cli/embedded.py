"""The embedded stack's pieces in one place: broker, Postgres, service processes and the state file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cli.broker import BROKER_READY_TIMEOUT_S, DEFAULT_KAFKA_PORT, EmbeddedBroker, tansu_bin, weed_bin
from cli.postgres import EmbeddedPostgres, postmaster_pid, stop_postgres
from cli.processes import (
    LOOPBACK,
    STOP_GRACE_S,
    PortInUseError,
    free_port,
    http_answers,
    kafka_answers,
    log_tail,
    pid_alive,
    pid_create_time,
    port_is_free,
    spawn,
    terminate,
    terminate_pid,
    wait_until,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES: dict[str, int] = {"ingest": 8081, "dedup": 8082, "scoring": 8083, "router": 8084, "nurture": 8085}

__all__ = [
    "BROKER_READY_TIMEOUT_S",
    "DEFAULT_KAFKA_PORT",
    "LOOPBACK",
    "REPO_ROOT",
    "SERVICES",
    "STOP_GRACE_S",
    "EmbeddedBroker",
    "EmbeddedPostgres",
    "PortInUseError",
    "free_port",
    "http_answers",
    "kafka_answers",
    "leadflow_home",
    "log_tail",
    "pid_alive",
    "pid_create_time",
    "port_is_free",
    "postmaster_pid",
    "read_state",
    "service_command",
    "spawn",
    "start_service",
    "state_file",
    "stop_postgres",
    "tansu_bin",
    "terminate",
    "terminate_pid",
    "wait_until",
    "weed_bin",
]


def leadflow_home() -> Path:
    """State directory: $LEADFLOW_HOME, else .leadflow/ in the checkout."""
    return Path(os.environ.get("LEADFLOW_HOME") or REPO_ROOT / ".leadflow").expanduser().resolve()


def state_file() -> Path:
    """Where `leadflow stack up` records pids and addresses."""
    return leadflow_home() / "stack.json"


def read_state() -> dict[str, Any] | None:
    """Return the recorded stack state, or None when no stack was started."""
    try:
        return dict(json.loads(state_file().read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


# --- services ------------------------------------------------------------------------------


def service_command(name: str, host: str, port: int, workers: int = 1) -> list[str]:
    """Command line that runs one service's AsgiFastStream app, in `workers` processes sharing its port."""
    return [
        sys.executable,
        "-m",
        "faststream",
        "run",
        f"services.{name}.app:create_app",
        "--factory",
        "--host",
        host,
        "--port",
        str(port),
        *(("--workers", str(workers)) if workers > 1 else ()),
    ]


def workers_for(name: str, env: dict[str, str]) -> int:
    """`<SERVICE>_WORKERS`, else `LEADFLOW_WORKERS`, else 1: each worker is one more consumer in the group."""
    value = env.get(f"{name.upper()}_WORKERS") or env.get("LEADFLOW_WORKERS") or "1"
    return max(1, int(value)) if value.isdigit() else 1


def start_service(name: str, env: dict[str, str], port: int, log_path: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start one service on loopback in its own process group, output appended to log_path."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    command = service_command(name, LOOPBACK, port, workers_for(name, full_env))
    return spawn(command, log_path, env=full_env, cwd=cwd)
