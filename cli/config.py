"""Where the CLI finds the broker: flag, environment, the running local stack, or the default."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
STACK_KEY = "bootstrap_servers"  # what `leadflow stack up` records in stack.json
REPO_ROOT = Path(__file__).resolve().parents[1]


def stack_file(env: Mapping[str, str] | None = None) -> Path:
    """`stack.json` of the local stack: under LEADFLOW_HOME if set, else `.leadflow/` in the checkout."""
    env = os.environ if env is None else env
    home = env.get("LEADFLOW_HOME")
    return (Path(home).expanduser() if home else REPO_ROOT / ".leadflow") / "stack.json"


def broker_from_stack(path: Path) -> str | None:
    """Return the broker address the local stack recorded, or None when there is no usable file."""
    return from_stack(path, STACK_KEY)


def from_stack(path: Path, key: str) -> str | None:
    """A value `leadflow stack up` recorded in stack.json, or None when there is no usable file or value."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get(key) if isinstance(data, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _resolve(
    explicit: str | None, variable: str, key: str, env: Mapping[str, str] | None, stack: Path | None
) -> str | None:
    """The flag, else the environment variable, else the running local stack's value."""
    env = os.environ if env is None else env
    if explicit and explicit.strip():
        return explicit.strip()
    if env.get(variable, "").strip():
        return env[variable].strip()
    return from_stack(stack or stack_file(env), key)


def resolve_bootstrap(
    explicit: str | None,
    env: Mapping[str, str] | None = None,
    stack_path: Path | None = None,
) -> str:
    """Bootstrap servers: the flag, else KAFKA_BOOTSTRAP_SERVERS, else the stack's broker, else 127.0.0.1:9092."""
    return _resolve(explicit, "KAFKA_BOOTSTRAP_SERVERS", STACK_KEY, env, stack_path) or DEFAULT_BOOTSTRAP


def resolve_database_url(
    explicit: str | None,
    env: Mapping[str, str] | None = None,
    stack_path: Path | None = None,
) -> str | None:
    """Database URL: the flag, else DATABASE_URL, else the local stack's, else None."""
    return _resolve(explicit, "DATABASE_URL", "database_url", env, stack_path)
