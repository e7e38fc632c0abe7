"""structlog set-up: JSON lines (console on a terminal) with PII masked before anything is written."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog

PII_KEYS = frozenset(
    {"phone", "email", "name", "given_name", "family_name", "wechat", "person", "mobile", "contact", "full_name"}
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# Seven or more digits, optionally with separators: phones in any national or E.164 form.
_PHONE = re.compile(r"(?<![A-Za-z0-9_\-])\+?\d[\d\s().\-]{5,}\d(?![A-Za-z0-9_\-])")
# Identifiers are never PII and must stay greppable.
_ID_KEYS = frozenset({"event_id", "lead_id", "correlation_id", "causation_id", "assignment_id", "surviving_lead_id"})
_MASK = "***"


def mask_text(text: str) -> str:
    """Replace every email and phone-looking run in a string."""
    return _PHONE.sub(_MASK, _EMAIL.sub(_MASK, text))


def mask_value(value: Any) -> Any:
    """Mask PII in nested values: whole values under PII keys, patterns inside other strings."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: (_MASK if str(k).lower() in PII_KEYS and v else mask_value(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value


def mask_pii(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Structlog processor: nothing that looks like a phone, email or person name leaves the process."""
    for key, value in list(event_dict.items()):
        if key.lower() in PII_KEYS and value:
            event_dict[key] = _MASK
        elif key not in _ID_KEYS and key not in {"timestamp", "level", "logger"}:
            event_dict[key] = mask_value(value)
    return event_dict


def configure_logging(service: str, *, json: bool | None = None, level: str = "INFO") -> None:
    """Route structlog and stdlib logging (FastStream, aiokafka, uvicorn) through the same masked renderer."""
    use_json = (not sys.stderr.isatty()) if json is None else json
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_pii,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        # Drop below-level lines before any processor (masking is not free) runs on them.
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("faststream", "faststream.access", "uvicorn", "uvicorn.error", "uvicorn.access"):
        # These libraries install their own (unmasked) handlers: route them through ours.
        lib = logging.getLogger(name)
        lib.handlers[:] = []
        lib.propagate = True
    processed = logging.getLogger("leadflow.processed")
    fast = logging.StreamHandler(sys.stderr)
    fast.setFormatter(logging.Formatter("%(message)s"))
    processed.handlers[:] = [fast] if use_json else []
    processed.propagate = not use_json  # on a terminal, the console renderer shows it instead
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> Any:
    """A structlog logger (typed loosely: structlog's BoundLogger proxies are dynamic)."""
    return structlog.get_logger(name)


class ProcessedLog:
    """The canonical one-line-per-message log, rendered directly to JSON.

    It carries only identifiers, topic coordinates and the outcome — never payload fields — so it
    needs no PII masking, and skipping structlog's chain keeps it cheap at thousands of lines a second.
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self.logger = logging.getLogger("leadflow.processed")

    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def lines(self, records: list[dict[str, Any]]) -> None:
        """Write a batch's records: to a JSON log, as one write of one line each.

        A logging call per line was a few percent of a service's time at thousands of messages a second.
        """
        timestamp = datetime.now(UTC).isoformat()
        rendered = [
            orjson.dumps({**fields, "service": self.service, "level": "info", "event": "event_processed",
                          "timestamp": timestamp}).decode()
            for fields in records
        ]  # fmt: skip
        if self.logger.propagate:  # a terminal: the console renderer shows each line as its own event
            for line in rendered:
                self.logger.info(line)
        elif rendered:
            self.logger.info("\n".join(rendered))
