"""Child processes and probes for the embedded stack: spawn, stop in order, ports, readiness."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping


LOOPBACK = "127.0.0.1"
STOP_GRACE_S = 5.0


class PortInUseError(RuntimeError):
    """A port the caller asked for explicitly is already bound by another process."""

    def __init__(self, port: int) -> None:
        super().__init__(f"port {port} on {LOOPBACK} is already in use")
        self.port = port


# --- ports, paths, state -------------------------------------------------------------------


def free_port(taken: Collection[int] = ()) -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago and is not one of `taken`.

    The kernel may hand the same ephemeral port out twice in a row when nothing bound it in between:
    callers picking several ports before starting anything pass the ones they already chose.
    """
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK, 0))
            port = int(sock.getsockname()[1])
        if port not in taken:
            return port


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
