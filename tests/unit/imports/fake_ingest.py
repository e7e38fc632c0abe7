"""A fake ingest batch API (POST /v1/leads/batch) that checks requests and answers per the contract."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.schemas.events import LeadCaptured

KEY = "key-expo-123"
CHANNEL = "expo"


@dataclass
class FakeIngest:
    """Accepts a lead once, counts a repeat (source, external_id) as resubmitted, rejects bad emails and no contact.

    `script` holds canned answers (status, headers) served before real ones, e.g. a 429 then a 503.
    Any request that breaks the contract fails the test through `violations`.
    """

    max_batch: int = 1000
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    requests: int = 0
    violations: list[str] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)  # what the client slept, through its `pause` seam

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if request.method != "POST" or request.url.path != "/v1/leads/batch":
            self.violations.append(f"{request.method} {request.url.path}")
            return _error(404, "not_found", "no such route")
        if not request.headers.get("X-API-Key"):
            return _error(401, "missing_key", "X-API-Key header required")
        if request.headers["X-API-Key"] != KEY:
            return _error(403, "forbidden", "unknown or revoked key")
        if self.script:
            status, headers = self.script.pop(0)
            return _error(status, "scripted", "scripted failure", headers)
        return self._batch(request)

    def _batch(self, request: httpx.Request) -> httpx.Response:
        try:
            body = json.loads(request.content)
        except ValueError:
            return _error(400, "not_json", "body is not JSON")
        leads = body.get("leads") if isinstance(body, dict) else None
        if not isinstance(leads, list) or len(leads) > self.max_batch or set(body) != {"leads"}:
            self.violations.append("batch shape or size")
            return _error(422, "invalid_request", "leads must be a list of at most 1000")
        if any(lead.get("source", CHANNEL) != CHANNEL for lead in leads):
            return _error(403, "source_mismatch", "source is not the key's channel")
        self.batches.append(leads)
        results = [self._one(index, lead) for index, lead in enumerate(leads)]
        counts = {
            status: sum(r["status"] == status for r in results) for status in ("accepted", "resubmitted", "rejected")
        }
        status = 202 if counts["accepted"] + counts["resubmitted"] else 422
        return httpx.Response(status, json={**counts, "results": results})

    def _one(self, index: int, lead: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {"index": index, "lead_id": None, "event_id": f"ev-{self.requests}-{index}"}
        errors = self._errors(lead)
        if errors:
            return result | {"status": "rejected", "errors": errors}
        key = (CHANNEL, str(lead.get("external_id")))
        status = "resubmitted" if key in self.seen else "accepted"
        self.seen.add(key)
        return result | {"status": status, "lead_id": f"lead-{key[1]}", "errors": []}

    def _errors(self, lead: dict[str, Any]) -> list[dict[str, str]]:
        for value in _strings(lead):
            if value == "":
                self.violations.append("an empty string was sent")
        try:
            captured = LeadCaptured.model_validate(lead)
        except ValueError as exc:
            self.violations.append(f"invalid submission: {exc}")
            return [{"field": "<root>", "code": "invalid", "message": "schema"}]
        person = captured.person
        if person.email and "@" not in person.email:
            return [{"field": "person.email", "code": "email_invalid", "message": "not an email address"}]
        if not (person.email or person.phone or person.wechat):
            return [{"field": "person", "code": "no_contact", "message": "needs a phone, an email or a wechat id"}]
        return []


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}}, headers=headers)
