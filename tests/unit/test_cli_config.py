"""Where the CLI finds the database: the flag, DATABASE_URL, the running local stack, else nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.config import resolve_bootstrap, resolve_database_url

pytestmark = pytest.mark.unit


def test_database_url_precedence(tmp_path: Path) -> None:
    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps({"database_url": "postgresql://stack/db", "bootstrap_servers": "127.0.0.1:9999"}))
    env = {"DATABASE_URL": "postgresql://env/db"}
    assert resolve_database_url(" postgresql://flag/db ", env, stack) == "postgresql://flag/db"
    assert resolve_database_url(None, env, stack) == "postgresql://env/db"
    assert resolve_database_url(None, {}, stack) == "postgresql://stack/db"
    assert resolve_database_url(None, {}, tmp_path / "missing.json") is None
    assert resolve_bootstrap(None, {}, stack) == "127.0.0.1:9999"  # the same file, its own key


def test_a_broken_stack_file_is_no_database(tmp_path: Path) -> None:
    stack = tmp_path / "stack.json"
    stack.write_text("{not json")
    assert resolve_database_url(None, {}, stack) is None
    stack.write_text(json.dumps({"database_url": 5}))
    assert resolve_database_url(None, {}, stack) is None
