"""`leadflow status` when the stack is down: it says what is down and exits 1, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.embedded import SERVICES, free_port
from cli.main import app as cli

pytestmark = pytest.mark.integration


def test_status_names_an_unreachable_broker_and_database(tmp_path: Path) -> None:
    dead = free_port()  # nothing listens here: broker, database and every service are "down"
    env = {f"{name.upper()}_PORT": str(dead) for name in SERVICES} | {"LEADFLOW_HOME": str(tmp_path)}
    args = [
        "status",
        "--bootstrap-servers",
        f"127.0.0.1:{dead}",
        "--database-url",
        f"postgresql://x:s3cret@127.0.0.1:{dead}/x",
    ]
    result = CliRunner(env={**env, "COLUMNS": "200"}).invoke(cli, args)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert f"broker 127.0.0.1:{dead} unreachable" in result.stdout
    assert "database unreachable" in result.stdout
    report = json.loads(CliRunner(env=env).invoke(cli, [*args, "--json"]).stdout)
    assert [s["health"] for s in report["services"]] == ["down"] * 5
    assert report["healthy"] is False
    assert report["services"][0]["lag"] == {}
    assert "s3cret" not in result.stdout + json.dumps(report)  # the address is shown without its password


def test_status_refuses_an_unknown_service() -> None:
    result = CliRunner().invoke(cli, ["status", "billing"])
    assert result.exit_code == 2
    assert "no service billing" in result.stdout
