"""The topics each service consumes, read from its composition root's handler map without importing the service."""

from __future__ import annotations

import ast
from pathlib import Path

from cli.embedded import REPO_ROOT, SERVICES
from shared.schemas import topics as topic_names

SERVICES_DIR = REPO_ROOT / "services"


def consumed_topics(services_dir: Path = SERVICES_DIR) -> dict[str, tuple[str, ...]]:
    """Service name -> the keys of `handlers={...}` in services/<name>/app.py (empty when it cannot be read).

    Parsing, not importing: importing a service's app loads its models, rule engines and reference
    tables, seconds of work `leadflow status` must not pay, and this map is the one the service runs.
    """
    return {name: _handler_topics(services_dir / name / "app.py") for name in SERVICES}


def _handler_topics(app_file: Path) -> tuple[str, ...]:
    try:
        tree = ast.parse(app_file.read_text(encoding="utf-8"), filename=str(app_file))
    except (OSError, SyntaxError):
        return ()
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "handlers" and isinstance(node.value, ast.Dict):
            found += [name for key in node.value.keys if (name := _topic(key))]
    return tuple(dict.fromkeys(found))


def _topic(node: ast.expr | None) -> str | None:
    """`topics.LEADS_SCORED` -> "leads.scored.v1"; a string literal as itself."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "topics":
        value = getattr(topic_names, node.attr, None)
        return value if isinstance(value, str) else None
    return None
