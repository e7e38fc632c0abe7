"""Helpers for hot-reload tests: a log that records events, and writes with an mtime of their own."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


class RecordingLog:
    """Stands in for a structlog logger: (level, event, fields) per call."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def info(self, event: str, **kw: Any) -> None:
        self.events.append(("info", event, kw))

    def warning(self, event: str, **kw: Any) -> None:
        self.events.append(("warning", event, kw))


def write(path: Path, text: str, tick: int) -> None:
    """Write with an mtime of its own, as a later edit would have (file systems may share a coarse tick)."""
    path.write_text(text, encoding="utf-8")
    stamp = 1_800_000_000_000_000_000 + tick * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))
