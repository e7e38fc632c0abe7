"""ingest's HTTP API: POST /v1/leads and /v1/leads/batch, with channel keys, limits and an OpenAPI document."""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from prometheus_client import Counter, Histogram
from starlette.responses import Response

from services.ingest.api_models import (
    ERROR_RESPONSES,
    ApiRejectError,
    BatchRequest,
    BatchResponse,
    LeadSubmission,
    SubmissionResult,
    json_response,
)
from services.ingest.channels import Channel, ChannelRegistry, RateLimiter
from services.ingest.handlers import Reply
from services.ingest.settings import IngestSettings
from shared.runtime.consumer import BatchProcessor, RetryPolicy
from shared.runtime.db import Inbound
from shared.runtime.errors import RetryBudgetExceededError
from shared.runtime.logging import get_logger
from shared.runtime.service import ServiceContext
from shared.schemas import topics
from shared.schemas.envelope import make_envelope

log = get_logger(__name__)
PATHS = ("/v1/leads", "/v1/leads/batch", "/openapi.json", "/docs")


@dataclass
class HttpMetrics:
    requests: Counter
    leads: Counter
    seconds: Histogram

    @classmethod
    def create(cls, ctx: ServiceContext) -> HttpMetrics:
        registry = ctx.metrics.registry
        return cls(
            Counter("leadflow_ingest_http_requests_total", "HTTP requests", ["route", "status"], registry=registry),
            Counter("leadflow_ingest_http_leads_total", "Leads posted over HTTP", ["status"], registry=registry),
            Histogram("leadflow_ingest_http_request_duration_seconds", "HTTP request time", registry=registry),
        )


class Gateway:
    """What every request goes through: key → channel, body limits, rate limit, then the ingest transaction."""

    def __init__(self, ctx: ServiceContext, settings: IngestSettings, registry: ChannelRegistry) -> None:
        self.ctx = ctx
        self.settings = settings
        self.registry = registry
        self.limiter = RateLimiter(settings.rate_per_s, settings.rate_burst, min_burst=settings.http_max_batch)
        self.retry = RetryPolicy(0.1, 1.0, settings.http_retry_budget_s)
        self.metrics = HttpMetrics.create(ctx)

    async def authenticate(self, request: Request) -> Channel:
        if self.registry.engine is None or self.ctx.state.get("processor") is None:
            # This worker is still starting (with several workers, one may serve before another is up):
            # saying "unknown key" now would be wrong.
            raise ApiRejectError(503, "starting", "the service is starting", {"Retry-After": "1"})
        key = request.headers.get("x-api-key", "").strip()
        if not key:
            raise ApiRejectError(401, "missing_api_key", "send the channel's key in the X-API-Key header")
        channel = await self.registry.lookup(key)
        if channel is None:
            raise ApiRejectError(401, "unknown_api_key", "this API key is not known")
        if not channel.active:
            raise ApiRejectError(403, "key_revoked", f"the key of channel {channel.name} was revoked")
        return channel

    async def read_json(self, request: Request) -> Any:
        limit = self.settings.http_max_body_bytes
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise ApiRejectError(413, "body_too_large", f"the body is {length} bytes; the limit is {limit}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiRejectError(413, "body_too_large", f"the body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
        try:
            return orjson.loads(b"".join(chunks))
        except orjson.JSONDecodeError as exc:
            raise ApiRejectError(400, "invalid_json", f"the body is not UTF-8 JSON: {exc}") from exc

    def throttle(self, channel: Channel, cost: int) -> None:
        wait = self.limiter.take(channel, cost)
        if wait > 0:
            retry_after = str(max(1, math.ceil(wait)))
            raise ApiRejectError(
                429, "rate_limited", f"channel {channel.name} is over its rate limit", {"Retry-After": retry_after}
            )

    async def submit(self, channel: Channel, items: list[dict[str, Any]], request: Request) -> list[dict[str, Any]]:
        """Apply the submissions in one durable transaction; 202 is only answered after it committed."""
        processor: BatchProcessor | None = self.ctx.state.get("processor")
        if processor is None:
            raise ApiRejectError(503, "starting", "the service is starting", {"Retry-After": "1"})
        correlation = _uuid_header(request, "x-correlation-id")
        inbound = [self._inbound(channel, item, processor.producer, correlation) for item in items]
        try:
            replies = await processor.apply_direct(inbound, self.retry)
        except RetryBudgetExceededError as exc:
            log.warning("http_submission_unavailable", error=str(exc), size=len(items))
            raise ApiRejectError(
                503, "unavailable", "storage is unavailable; nothing was accepted", {"Retry-After": "5"}
            ) from exc
        results = [_result(i, m.event_id, replies.get(m.event_id)) for i, m in enumerate(inbound)]
        for result in results:
            self.metrics.leads.labels(result["status"]).inc()
        return results

    @staticmethod
    def _inbound(channel: Channel, item: dict[str, Any], producer: str, correlation: uuid.UUID | None) -> Inbound:
        source = item.get("source")
        if source is None:
            item["source"] = channel.name
        elif isinstance(source, str) and source != channel.name:
            raise ApiRejectError(403, "source_mismatch", f"this key posts for channel {channel.name} only")
        # Trusted: every header field is ours, and the payload is a JSON object kept as data (validated by
        # the handler like any submission), so the envelope model has nothing to check.
        envelope = make_envelope(
            topics.LEADS_CAPTURED, item, producer=producer, lead_id=None, correlation_id=correlation, trusted=True
        )
        return Inbound(topics.LEADS_CAPTURED, -1, -1, envelope, item, item)


def _uuid_header(request: Request, name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.headers[name])
    except (KeyError, ValueError):
        return None


def _result(index: int, event_id: uuid.UUID, reply: Reply | None) -> dict[str, Any]:
    if reply is None:  # the inbox already had this event id: it can only be a replayed request
        return {"index": index, "status": "resubmitted", "lead_id": None, "event_id": str(event_id), "errors": []}
    return {
        "index": index,
        "status": reply.status,
        "lead_id": str(reply.lead_id) if reply.lead_id else None,
        "event_id": str(event_id),
        "errors": [e.model_dump() for e in reply.errors],
    }


def create_api(ctx: ServiceContext, settings: IngestSettings, registry: ChannelRegistry) -> FastAPI:
    """The FastAPI app; mounted on the service's port next to /metrics and /healthz."""
    api = FastAPI(title="leadflow ingest", version="1", summary="Submit leads over HTTP", redoc_url=None)
    gateway = Gateway(ctx, settings, registry)

    async def handle(request: Request, route: str, *, batch: bool) -> Response:
        started = time.perf_counter()
        try:
            response = await _handle(gateway, request, batch=batch)
        except ApiRejectError as exc:
            response = exc.response()
        gateway.metrics.requests.labels(route, str(response.status_code)).inc()
        gateway.metrics.seconds.observe(time.perf_counter() - started)
        return response

    @api.post(
        "/v1/leads",
        status_code=202,
        response_model=SubmissionResult,
        responses={
            422: {"model": SubmissionResult, "description": "rejected, with field-level errors"},
            **ERROR_RESPONSES,
        },
        openapi_extra=_body(LeadSubmission),
    )
    async def post_lead(request: Request) -> Response:
        """Submit one lead. 202 means it is durably accepted (or recognised as a resubmission)."""
        return await handle(request, "lead", batch=False)

    @api.post(
        "/v1/leads/batch",
        status_code=202,
        response_model=BatchResponse,
        responses={
            422: {"model": BatchResponse, "description": "none accepted: see each result's errors"},
            **ERROR_RESPONSES,
        },
        openapi_extra=_body(BatchRequest),
    )
    async def post_batch(request: Request) -> Response:
        """Submit up to 1,000 leads. Each gets its own result; 202 when at least one was accepted."""
        return await handle(request, "batch", batch=True)

    api.openapi = lambda: _openapi(api)  # type: ignore[method-assign]  # FastAPI's documented override
    return api


async def _handle(gateway: Gateway, request: Request, *, batch: bool) -> Response:
    channel = await gateway.authenticate(request)
    body = await gateway.read_json(request)
    items = _items(body, batch=batch, limit=gateway.settings.http_max_batch)
    gateway.throttle(channel, len(items))
    results = await gateway.submit(channel, items, request)
    if not batch:
        return json_response(results[0], 422 if results[0]["status"] == "rejected" else 202)
    counts = {s: sum(r["status"] == s for r in results) for s in ("accepted", "resubmitted", "rejected")}
    status = 422 if counts["rejected"] == len(results) else 202
    return json_response({**counts, "results": results}, status)


def _items(body: Any, *, batch: bool, limit: int) -> list[dict[str, Any]]:
    """The submissions in the body; a body that isn't the documented shape is refused as a whole."""
    if not batch:
        if not isinstance(body, dict):
            raise ApiRejectError(422, "invalid_request", "the body must be a JSON object: one lead")
        return [body]
    leads = body.get("leads") if isinstance(body, dict) else None
    if not isinstance(leads, list):
        raise ApiRejectError(422, "invalid_request", 'the body must be a JSON object {"leads": [...]}')
    if not leads:
        raise ApiRejectError(422, "invalid_request", "leads is empty")
    if len(leads) > limit:
        raise ApiRejectError(422, "invalid_request", f"{len(leads)} leads; at most {limit} per request")
    if bad := [i for i, lead in enumerate(leads) if not isinstance(lead, dict)]:
        raise ApiRejectError(422, "invalid_request", f"leads{bad[:10]} are not JSON objects")
    return leads


def _body(model: type[Any]) -> dict[str, Any]:
    """Document the request body: we read it ourselves (size limit first, one fast parse)."""
    name = model.__name__
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    }


def _openapi(api: FastAPI) -> dict[str, Any]:
    if api.openapi_schema:
        return api.openapi_schema
    schema = get_openapi(title=api.title, version=api.version, summary=api.summary, routes=api.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (LeadSubmission, BatchRequest):
        body = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components[model.__name__] = body
    schema.setdefault("components", {})["securitySchemes"] = {
        "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    }
    schema["security"] = [{"ApiKey": []}]
    api.openapi_schema = schema
    return schema
