"""A real Prometheus (Debian's package, installed by `make tools`) scraping the test pipeline, with our rules."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from cli.embedded import REPO_ROOT, free_port

CONFIG = REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml"


def binary(name: str) -> str:
    """The path of promtool or prometheus; fails (never skips) when `make test` has not installed them."""
    found = shutil.which(name)
    assert found, f"{name} not found: `make test` installs Debian's prometheus package (make tools)"
    return found


def scrape_config(ports: dict[str, int], target: Path, interval: str = "1s") -> Path:
    """The shipped config, scraping the test's service ports every second, with the shipped rule files."""
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config["global"] = {**config.get("global", {}), "scrape_interval": interval, "evaluation_interval": interval}
    config["rule_files"] = [str((CONFIG.parent / path).resolve()) for path in config.get("rule_files", [])]
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "leadflow"]
    job["scrape_interval"] = interval
    job["static_configs"] = [
        {"targets": [f"127.0.0.1:{port}"], "labels": {"service": name}} for name, port in ports.items()
    ]
    target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return target


@dataclass
class Prometheus:
    """One Prometheus process and its HTTP API."""

    workdir: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def start(self, ports: dict[str, int]) -> None:
        self.port = free_port(taken=set(ports.values()))
        config = scrape_config(ports, self.workdir / "prometheus.yml")
        log = (self.workdir / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(
            [binary("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={self.workdir / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-lifecycle"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, f"prometheus exited:\n{self.log_tail()}"
            time.sleep(0.3)
        raise AssertionError(f"prometheus not ready after 60s:\n{self.log_tail()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def query(self, expr: str) -> dict[str, Any]:
        """The API's answer for an instant query: {"status": "success"|"error", "data"|"error": ...}."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=30)
        answer: dict[str, Any] = response.json()
        return answer

    def targets_up(self) -> dict[str, str]:
        """service → health of its scrape target."""
        active = httpx.get(f"{self.url}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        return {t["labels"].get("service", "?"): t["health"] for t in active}

    def rule_groups(self) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = httpx.get(f"{self.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        return groups

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def log_tail(self, lines: int = 30) -> str:
        path = self.workdir / "prometheus.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
