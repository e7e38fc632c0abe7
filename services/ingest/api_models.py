"""The HTTP API's documented shapes (OpenAPI) and its error bodies."""

from __future__ import annotations

import uuid
from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field
from starlette.responses import Response

from shared.schemas.events import FieldError, LeadCaptured

Status = Literal["accepted", "resubmitted", "rejected"]


class LeadSubmission(LeadCaptured):
    """A lead as a channel posts it; `source` may be left out: the API key names the channel."""

    source: str | None = Field(default=None, description="must equal the API key's channel when given")  # type: ignore[assignment]  # narrowed to optional for the HTTP edge only


class BatchRequest(BaseModel):
    leads: list[LeadSubmission] = Field(description="at most http_max_batch (default 1,000) submissions")


class SubmissionResult(BaseModel):
    index: int = Field(description="position in the request")
    status: Status
    lead_id: uuid.UUID | None = Field(default=None, description="stable: the same (source, external_id) → same id")
    event_id: uuid.UUID = Field(description="the submission's event on leads.captured.v1")
    errors: list[FieldError] = Field(default_factory=list, description="why it was rejected, field by field")


class BatchResponse(BaseModel):
    accepted: int
    resubmitted: int
    rejected: int
    results: list[SubmissionResult]


class ApiError(BaseModel):
    code: str = Field(description="stable, machine-readable, e.g. invalid_json, key_revoked, rate_limited")
    message: str
    fields: list[FieldError] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ApiError


def json_response(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    fields: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return json_response({"error": {"code": code, "message": message, "fields": fields or []}}, status, headers)


class ApiRejectError(Exception):
    """A request the API refuses as a whole, with the answer to give."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers

    def response(self) -> Response:
        return error_response(self.status, self.code, self.message, headers=self.headers)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "not JSON, or not UTF-8"},
    401: {"model": ErrorResponse, "description": "no X-API-Key, or a key we don't know"},
    403: {"model": ErrorResponse, "description": "a revoked key, or a source other than the key's channel"},
    413: {"model": ErrorResponse, "description": "the body is larger than http_max_body_bytes"},
    429: {"model": ErrorResponse, "description": "the channel's rate limit; retry after Retry-After seconds"},
    503: {"model": ErrorResponse, "description": "the database is unavailable; nothing was accepted, retry"},
}
