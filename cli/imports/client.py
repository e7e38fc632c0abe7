"""Post submissions to the ingest service's batch API, retrying what is safe to retry."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, Self

import httpx
from pydantic import BaseModel, ValidationError

from cli.imports.rows import Problem

DEFAULT_URL = "http://127.0.0.1:8081"
BATCH_PATH = "/v1/leads/batch"
MAX_BATCH = 1000
MAX_ATTEMPTS = 6  # for 5xx, timeouts and connection errors: about 30 s of backoff in all
MAX_RATE_LIMITED = 30  # 429s in a row for one batch before giving up
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
RETRY_AFTER_CAP = 300.0
TIMEOUT = httpx.Timeout(60.0, connect=10.0)

# Seams for tests: the transport the client sends through, and how it waits between attempts.
make_transport: Callable[[], httpx.BaseTransport] = httpx.HTTPTransport
pause: Callable[[float], None] = time.sleep


class ApiError(RuntimeError):
    """The import cannot go on: auth refused, request refused, or the API unreachable after retries."""


class ItemResult(BaseModel):
    index: int
    status: Literal["accepted", "resubmitted", "rejected"]
    lead_id: str | None = None
    event_id: str | None = None
    errors: list[dict[str, Any]] = []

    def problems(self) -> list[Problem]:
        """The item's errors; a rejection without any still names a reason."""
        found = [
            Problem(
                str(error.get("field", "<root>")), str(error.get("code", "rejected")), str(error.get("message", ""))
            )
            for error in self.errors
        ]
        return found or [Problem("<root>", "rejected", "rejected without a reason")]


class BatchAnswer(BaseModel):
    accepted: int = 0
    resubmitted: int = 0
    rejected: int = 0
    results: list[ItemResult]


class IngestClient:
    """A keyed HTTP client for one import; use as a context manager."""

    def __init__(self, url: str, api_key: str) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, headers={"X-API-Key": api_key}, timeout=TIMEOUT, transport=make_transport()
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def post_batch(self, submissions: list[dict[str, Any]]) -> list[ItemResult]:
        """One result per submission, in order; retries 429, 5xx and network errors (the API is idempotent)."""
        failures = rate_limited = 0
        while True:
            try:
                response = self._http.post(BATCH_PATH, json={"leads": submissions})
            except httpx.TransportError as exc:
                failures += 1
                self._wait_or_give_up(failures, f"cannot reach the ingest API at {self.url}: {exc!r}")
                continue
            if response.status_code == httpx.codes.TOO_MANY_REQUESTS:
                rate_limited += 1
                if rate_limited > MAX_RATE_LIMITED:
                    raise ApiError(f"still rate-limited (HTTP 429) after {MAX_RATE_LIMITED} waits; try again later")
                pause(retry_after(response))
                continue
            if response.status_code >= httpx.codes.INTERNAL_SERVER_ERROR:
                failures += 1
                wait = retry_after(response) if "Retry-After" in response.headers else None
                self._wait_or_give_up(failures, f"the ingest API keeps failing: {describe(response)}", wait)
                continue
            return _results(response, len(submissions))

    def _wait_or_give_up(self, failures: int, message: str, wait: float | None = None) -> None:
        """Exponential backoff, or the server's Retry-After (a 503 may say when to come back)."""
        if failures >= MAX_ATTEMPTS:
            raise ApiError(f"{message} (gave up after {failures} attempts)")
        pause(wait if wait is not None else min(BACKOFF_BASE * 2 ** (failures - 1), BACKOFF_CAP))


def retry_after(response: httpx.Response) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); 1 s when absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (email.utils.parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            seconds = 1.0
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def describe(response: httpx.Response) -> str:
    """`HTTP 403 forbidden: <message>` from the API's error body, or the status alone."""
    try:
        error = response.json().get("error", {})
        detail = f"{error['code']}: {error['message']}"
    except (ValueError, AttributeError, KeyError, TypeError):
        detail = response.reason_phrase
    return f"HTTP {response.status_code} {detail}".strip()


HINTS = {
    401: "the key is missing or unknown: check --api-key or LEADFLOW_API_KEY",
    403: "the key is wrong or revoked, or its channel is not the --source given",
    400: "the API could not read the request",
    413: "the batch is too large for the API: retry with a smaller --batch-size",
    404: "nothing answers at this path: is --url the ingest service?",
    422: "the API refused the request as a whole: if it names a per-request limit, use a smaller --batch-size",
}


def _results(response: httpx.Response, expected: int) -> list[ItemResult]:
    """The per-item results of a 202 (or a 422 with none accepted); any other answer ends the import."""
    if response.status_code in {httpx.codes.ACCEPTED, httpx.codes.UNPROCESSABLE_ENTITY}:
        try:
            answer = BatchAnswer.model_validate_json(response.content)
        except ValidationError:
            answer = None
        if answer is not None and sorted(item.index for item in answer.results) == list(range(expected)):
            return sorted(answer.results, key=lambda item: item.index)
        if response.status_code == httpx.codes.ACCEPTED:
            raise ApiError(f"unexpected answer from the ingest API (HTTP 202 without {expected} results)")
    hint = HINTS.get(response.status_code, "the API refused the batch")
    raise ApiError(f"{describe(response)} ({hint})")
