"""The embedded Postgres (pgserver): start, stop by pid, fresh databases per test."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import psutil

if TYPE_CHECKING:
    from types import TracebackType

    from pgserver.postgres_server import PostgresServer


from cli.processes import (
    pid_alive,
    terminate_pid,
)

# --- Postgres: pgserver --------------------------------------------------------------------


def _pgserver() -> Any:
    """Import pgserver without its XDG_RUNTIME_DIR warning reaching the terminal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver  # noqa: PLC0415 - slow import, only the local stack needs it

    return pgserver


def _pg_system_user() -> str | None:
    """Pgserver runs postgres as the OS user `pgserver` when we are root."""
    return "pgserver" if os.geteuid() == 0 else None


def postmaster_pid(data_dir: Path) -> int | None:
    """Pid of the postgres server recorded in data_dir, if one runs."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    return pid if pid_alive(pid) else None


def _clear_stale_state(data_dir: Path) -> None:
    """Drop pids of dead holders from .handle_pids.json and a postmaster.pid naming a recycled pid."""
    handles = data_dir / ".handle_pids.json"
    with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
        handles.write_text(json.dumps([p for p in json.loads(handles.read_text()) if pid_alive(p)]))
    pid = postmaster_pid(data_dir)
    with contextlib.suppress(psutil.Error):
        if pid is not None and psutil.Process(pid).name() != "postgres":
            (data_dir / "postmaster.pid").unlink()


def stop_postgres(data_dir: Path, grace: float = 15.0) -> bool:
    """Stop the server of data_dir with pg_ctl (fast mode), by pid if that fails; True when stopped."""
    pid = postmaster_pid(data_dir)
    if pid is None:
        return True
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        _pgserver().pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=_pg_system_user(), timeout=grace)
    return terminate_pid(pid) if pid_alive(pid) else True


class EmbeddedPostgres:
    """PostgreSQL 16 from pgserver on a Unix socket in data_dir; durable across stop/start."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self._server: PostgresServer | None = None

    @property
    def pid(self) -> int | None:
        """Pid of the postmaster, while it runs."""
        return postmaster_pid(self.data_dir)

    def start(self) -> str:
        """Start (or attach to) the server and return a SQLAlchemy URL of its `postgres` database."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if self.data_dir.exists():
            _clear_stale_state(self.data_dir)
        # cleanup_mode=None: the stack outlives `leadflow stack up --detach`; stop() stops it.
        self._server = _pgserver().get_server(self.data_dir, cleanup_mode=None)
        return self.url()

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy psycopg 3 URL, e.g. postgresql+psycopg://postgres:@/db?host=/socket/dir."""
        if self._server is None:
            raise RuntimeError("EmbeddedPostgres is not started")
        return "postgresql+psycopg" + self._server.get_uri(database).removeprefix("postgresql")

    def create_database(self, name: str) -> str:
        """(Re)create an empty database called name and return its URL."""
        import psycopg  # noqa: PLC0415 - keep the CLI's import time low
        from psycopg import sql  # noqa: PLC0415

        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"not a plain lower-case database name: {name!r}")
        assert self._server is not None  # noqa: S101 - url() above would have raised
        with psycopg.connect(self._server.get_uri(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and forget pgserver's handle, so a later start() in this process starts afresh."""
        stop_postgres(self.data_dir)
        server, self._server = self._server, None
        if server is not None:
            import atexit  # noqa: PLC0415

            atexit.unregister(server._cleanup)  # noqa: SLF001 - pgserver has no public "release"
            type(server)._instances.pop(self.data_dir, None)  # noqa: SLF001 - same reason
            server.global_process_id_list.get_and_remove(os.getpid())

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
