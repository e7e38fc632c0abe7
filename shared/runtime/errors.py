"""Which failures are transient (retry, never dead-letter) and which are the message's fault."""

from __future__ import annotations

import asyncio

import psycopg
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError


class PoisonMessageError(Exception):
    """A message that can never be processed: its bytes, envelope or payload are broken."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RetryBudgetExceededError(Exception):
    """Transient failures outlasted the in-handler budget: rewind the batch and try again later."""


def is_transient(exc: BaseException) -> bool:
    """Database or broker unavailable, deadlocks, timeouts: worth retrying as they are."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError):
        return True  # connection loss, deadlock, serialization failure (psycopg maps them here)
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return True  # the same, raised by psycopg itself on the set-based statements (fetch_binary, pipelines)
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, KafkaConnectionError | KafkaTimeoutError):
        return True
    if isinstance(exc, KafkaError):
        return bool(getattr(exc, "retriable", False))
    return isinstance(exc, ConnectionError | TimeoutError | asyncio.TimeoutError | OSError)
