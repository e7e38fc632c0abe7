"""ingest's HTTP API as a real process on a real broker and Postgres: keys, limits, results, records."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from cli.main import app as cli
from shared.schemas import topics
from tests.checks import sql_rows
from tests.harness import Pipeline, collect
from tests.ingest_cases import CASES

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def add_channel(database_url: str, name: str, *options: str) -> str:
    result = CliRunner().invoke(cli, ["channel", "add", name, "--database-url", database_url, *options])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("lf_")
    return key


@pytest.fixture
def ingest(pipeline: Pipeline) -> Pipeline:
    pipeline.env = {"INGEST_CHANNEL_REFRESH_S": "0.3", "INGEST_HTTP_MAX_BODY_BYTES": str(2 * 1024 * 1024)}
    pipeline.start(["ingest"])
    pipeline.wait_healthy()
    return pipeline


def url(p: Pipeline, path: str) -> str:
    return f"http://127.0.0.1:{p.ports['ingest']}{path}"


def post(p: Pipeline, path: str, body: Any, key: str | None, **kwargs: Any) -> httpx.Response:
    headers = {"X-API-Key": key} if key else {}
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(url(p, path), content=content, headers=headers, timeout=30, **kwargs)


def test_one_lead_is_accepted_published_and_on_the_captured_topic(ingest: Pipeline) -> None:
    key = add_channel(ingest.database_url, "web-form", "--default-country", "CN")
    lead = {"external_id": "W-1", "person": {"name": "王伟", "phone": "138 0013 8000"}, "company": {"name": "云帆"}}
    response = post(ingest, "/v1/leads", lead, key)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "accepted"
    again = post(ingest, "/v1/leads", lead, key).json()
    assert again["status"] == "resubmitted"
    assert again["lead_id"] == body["lead_id"]

    def done(c: Any) -> bool:
        return (
            bool(c.of(topics.LEADS_INGESTED))
            and bool(c.of(topics.LEADS_RESUBMITTED))
            and len(c.of(topics.LEADS_CAPTURED)) == 2
        )

    got = asyncio.run(
        collect(ingest.bootstrap, [topics.LEADS_CAPTURED, topics.LEADS_INGESTED, topics.LEADS_RESUBMITTED], done, 60)
    )
    [ingested] = got.of(topics.LEADS_INGESTED)
    assert ingested["lead_id"] == body["lead_id"]
    assert ingested["payload"]["source"] == "web-form"
    assert ingested["payload"]["person"]["phone"] == "+8613800138000"
    assert {e["event_id"] for e in got.of(topics.LEADS_CAPTURED)} == {body["event_id"], again["event_id"]}
    [resubmitted] = got.of(topics.LEADS_RESUBMITTED)
    assert resubmitted["payload"]["times_seen"] == 2
    time.sleep(1.5)  # the consumer reads the captured copies back: the inbox must absorb them, not ingest twice
    assert sql_rows(ingest.database_url, "SELECT times_seen FROM ingest.submissions") == [(2,)]
    metrics = httpx.get(url(ingest, "/metrics"), timeout=5).text
    assert 'leadflow_ingest_http_leads_total{status="accepted"} 1.0' in metrics


def test_batch_answers_per_lead_and_records_every_rejection(ingest: Pipeline) -> None:
    key = add_channel(ingest.database_url, "expo")
    leads = [
        {"external_id": "E-1", "person": {"email": "a@yunfan.cn"}},
        {"external_id": "E-2", "person": {"name": "nobody"}},
        {"external_id": "E-1", "person": {"email": "a@yunfan.cn"}},
    ]
    response = post(ingest, "/v1/leads/batch", {"leads": leads}, key)
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["accepted"], body["resubmitted"], body["rejected"]) == (1, 1, 1)
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "resubmitted"]
    assert body["results"][1]["errors"] == [
        {"field": "person", "code": "no_contact", "message": "needs a phone, an email or a wechat id"}
    ]
    assert sql_rows(ingest.database_url, "SELECT external_id FROM ingest.rejects") == [("E-2",)]
    got = asyncio.run(collect(ingest.bootstrap, [topics.LEADS_REJECTED], lambda c: c.of(topics.LEADS_REJECTED), 60))
    [rejected] = got.of(topics.LEADS_REJECTED)
    assert rejected["payload"]["external_id"] == "E-2"
    all_bad = post(ingest, "/v1/leads/batch", {"leads": [leads[1]]}, key)
    assert all_bad.status_code == 422
    assert all_bad.json()["rejected"] == 1


def test_keys_name_their_channel(ingest: Pipeline) -> None:
    key = add_channel(ingest.database_url, "partner-a")
    other = add_channel(ingest.database_url, "partner-b")
    lead = {"source": "partner-a", "person": {"email": "x@acme.com"}}
    assert error_code(post(ingest, "/v1/leads", lead, None)) == (401, "missing_api_key")
    assert error_code(post(ingest, "/v1/leads", lead, "lf_not-a-key")) == (401, "unknown_api_key")
    assert error_code(post(ingest, "/v1/leads", lead, other)) == (403, "source_mismatch")
    assert post(ingest, "/v1/leads", lead, key).status_code == 202
    result = CliRunner().invoke(cli, ["channel", "revoke", "partner-a", "--database-url", ingest.database_url])
    assert result.exit_code == 0, result.output
    deadline = time.monotonic() + 20
    while (status := post(ingest, "/v1/leads", lead, key)).status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert error_code(status) == (403, "key_revoked")
    listed = CliRunner().invoke(cli, ["channel", "list", "--database-url", ingest.database_url])
    assert "revoked" in listed.output
    assert key not in listed.output  # only a hint of the key is ever shown again
    stored = sql_rows(ingest.database_url, "SELECT key_hash, key_hint FROM ingest.channels WHERE name = 'partner-a'")
    assert stored == [(hashlib.sha256(key.encode()).hexdigest(), key[:7] + "…")]  # the key itself is never stored


def test_limits_answer_413_and_429_with_retry_after(ingest: Pipeline) -> None:
    key = add_channel(ingest.database_url, "slow", "--rate", "50", "--burst", "1000")
    huge = (
        b'{"leads": ['
        + b",".join([b'{"person": {"email": "a@b.cn"}, "message": "' + b"x" * 9000 + b'"}'] * 1200)
        + b"]}"
    )
    assert len(huge) > 10_000_000
    assert error_code(post(ingest, "/v1/leads/batch", huge, key)) == (413, "body_too_large")
    leads = [{"person": {"email": f"u{i}@yunfan.cn"}} for i in range(1000)]
    assert post(ingest, "/v1/leads/batch", {"leads": leads}, key).status_code == 202
    limited = post(ingest, "/v1/leads/batch", {"leads": leads[:100]}, key)
    assert error_code(limited) == (429, "rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 3


def test_malformed_requests_get_a_clear_error(ingest: Pipeline) -> None:
    key = add_channel(ingest.database_url, "web")
    cases = [
        (b"", 400, "invalid_json"),
        (b"not json", 400, "invalid_json"),
        (b'{"leads": [', 400, "invalid_json"),
        (b'{"person": {"name": "\xff\xfe"}}', 400, "invalid_json"),  # invalid UTF-8
        (b'{"person": {"name": "\\ud800"}}', 400, "invalid_json"),  # a lone surrogate
        (b"[1, 2, 3]", 422, "invalid_request"),
    ]
    for body, status, code in cases:
        assert error_code(post(ingest, "/v1/leads", body, key)) == (status, code), body
    batch_cases = [
        ({"leads": "x"}, "invalid_request"),
        ({"leads": []}, "invalid_request"),
        ({"leads": [1, 2]}, "invalid_request"),
        ({"leads": [{"person": {"email": "a@b.cn"}}] * 1001}, "invalid_request"),
        ({"lead": []}, "invalid_request"),
    ]
    for body, code in batch_cases:
        assert error_code(post(ingest, "/v1/leads/batch", body, key)) == (422, code)
    assert sql_rows(ingest.database_url, "SELECT count(*) FROM ingest.submissions") == [(0,)]


def test_every_bad_input_case_gets_its_verdict_over_http(ingest: Pipeline) -> None:
    key = add_channel(ingest.database_url, "fuzz")
    cases = [c for c in CASES if not c.kafka_only]
    leads = [
        {**c.lead, "external_id": f"case-{i}"} if "external_id" not in c.lead else c.lead for i, c in enumerate(cases)
    ]
    response = post(ingest, "/v1/leads/batch", {"leads": leads}, key)
    assert response.status_code == 202, response.text
    results = response.json()["results"]
    for case, result in zip(cases, results, strict=True):
        if case.accepted:
            assert result["status"] == "accepted", (case.name, result)
        else:
            assert result["status"] == "rejected", (case.name, result)
            assert any(e["field"] == case.field and e["code"].startswith(case.code or "") for e in result["errors"]), (
                case.name,
                result["errors"],
            )
    accepted = {r["lead_id"]: c for c, r in zip(cases, results, strict=True) if r["status"] == "accepted"}
    got = asyncio.run(
        collect(
            ingest.bootstrap, [topics.LEADS_INGESTED], lambda c: len(c.of(topics.LEADS_INGESTED)) >= len(accepted), 60
        )
    )
    for event in got.of(topics.LEADS_INGESTED):
        case = accepted[event["lead_id"]]
        payload = event["payload"]
        assert case.check is None or case.check(payload), case.name
        assert set(case.flags) <= set(payload["quality"]["flags"]), (case.name, payload["quality"])
    # injection text was stored as data: the table it names is still there
    assert sql_rows(ingest.database_url, "SELECT count(*) > 0 FROM ingest.submissions") == [(True,)]


def test_openapi_document_describes_the_api(ingest: Pipeline) -> None:
    doc = httpx.get(url(ingest, "/openapi.json"), timeout=5).json()
    assert set(doc["paths"]) == {"/v1/leads", "/v1/leads/batch"}
    batch = doc["paths"]["/v1/leads/batch"]["post"]
    assert {"202", "400", "401", "403", "413", "422", "429", "503"} <= set(batch["responses"])
    assert batch["requestBody"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/BatchRequest"
    assert "LeadSubmission" in doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["ApiKey"]["name"] == "X-API-Key"
    assert httpx.get(url(ingest, "/docs"), timeout=5).status_code == 200


def error_code(response: httpx.Response) -> tuple[int, str]:
    try:
        return response.status_code, response.json()["error"]["code"]
    except (ValueError, KeyError):
        return response.status_code, response.text[:200]
