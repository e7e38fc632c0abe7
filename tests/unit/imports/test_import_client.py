"""The batch API client of `leadflow import`: results per item, retries on 429/5xx/network errors, clear stops."""

from __future__ import annotations

import httpx
import pytest

from cli.imports import client
from cli.imports.client import ApiError, IngestClient, retry_after
from tests.unit.imports.fake_ingest import KEY, FakeIngest

pytestmark = pytest.mark.unit

LEADS = [{"source": "expo", "external_id": "a", "person": {"email": "a@x.io"}},
         {"source": "expo", "external_id": "b", "person": {"email": "not-an-email"}}]  # fmt: skip


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(client, "pause", slept.append)
    return slept


def use(monkeypatch: pytest.MonkeyPatch, transport: httpx.BaseTransport) -> None:
    monkeypatch.setattr(client, "make_transport", lambda: transport)


def test_results_per_item_and_idempotent_resend(monkeypatch: pytest.MonkeyPatch, waits: list[float]) -> None:
    fake = FakeIngest()
    use(monkeypatch, fake.transport())
    with IngestClient("http://ingest.test/", KEY) as api:
        first = api.post_batch(LEADS)
        again = api.post_batch(LEADS)
    assert [item.status for item in first] == ["accepted", "rejected"]
    assert [(p.field, p.code) for p in first[1].problems()] == [("person.email", "email_invalid")]
    assert [item.status for item in again] == ["resubmitted", "rejected"]
    assert waits == []
    assert fake.violations == []


def test_429_waits_retry_after_then_succeeds(monkeypatch: pytest.MonkeyPatch, waits: list[float]) -> None:
    fake = FakeIngest(script=[(429, {"Retry-After": "7"}), (429, {"Retry-After": "0"})])
    use(monkeypatch, fake.transport())
    with IngestClient("http://ingest.test", KEY) as api:
        assert [item.status for item in api.post_batch(LEADS[:1])] == ["accepted"]
    assert waits == [7.0, 0.0]
    assert fake.requests == 3


def test_5xx_backs_off_exponentially_then_succeeds(monkeypatch: pytest.MonkeyPatch, waits: list[float]) -> None:
    fake = FakeIngest(script=[(503, {}), (502, {}), (500, {})])
    use(monkeypatch, fake.transport())
    with IngestClient("http://ingest.test", KEY) as api:
        assert [item.status for item in api.post_batch(LEADS[:1])] == ["accepted"]
    assert waits == [0.5, 1.0, 2.0]


def test_503_with_retry_after_waits_as_told(monkeypatch: pytest.MonkeyPatch, waits: list[float]) -> None:
    use(monkeypatch, FakeIngest(script=[(503, {"Retry-After": "5"})]).transport())
    with IngestClient("http://ingest.test", KEY) as api:
        assert [item.status for item in api.post_batch(LEADS[:1])] == ["accepted"]
    assert waits == [5.0]


def test_5xx_gives_up_after_the_attempt_budget(monkeypatch: pytest.MonkeyPatch, waits: list[float]) -> None:
    fake = FakeIngest(script=[(503, {})] * 10)
    use(monkeypatch, fake.transport())
    with IngestClient("http://ingest.test", KEY) as api, pytest.raises(ApiError, match="gave up after 6 attempts"):
        api.post_batch(LEADS)
    assert fake.requests == client.MAX_ATTEMPTS


def test_network_errors_are_retried_a_bounded_number_of_times(
    monkeypatch: pytest.MonkeyPatch, waits: list[float]
) -> None:
    calls = 0

    def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("connection refused", request=request)

    use(monkeypatch, httpx.MockTransport(refuse))
    with IngestClient("http://ingest.test", KEY) as api, pytest.raises(ApiError, match="cannot reach"):
        api.post_batch(LEADS)
    assert calls == client.MAX_ATTEMPTS
    assert len(waits) == client.MAX_ATTEMPTS - 1


def test_a_timeout_then_success(monkeypatch: pytest.MonkeyPatch, waits: list[float]) -> None:
    fake = FakeIngest()
    timed_out = False

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal timed_out
        if not timed_out:
            timed_out = True
            raise httpx.ReadTimeout("slow", request=request)
        return fake.handle(request)

    use(monkeypatch, httpx.MockTransport(flaky))
    with IngestClient("http://ingest.test", KEY) as api:
        assert [item.status for item in api.post_batch(LEADS[:1])] == ["accepted"]
    assert waits == [0.5]


@pytest.mark.parametrize(
    ("key", "script", "hint"),
    [
        ("", [], "check --api-key or LEADFLOW_API_KEY"),
        ("wrong", [], "wrong or revoked"),
        (KEY, [(413, {})], "smaller --batch-size"),
        (KEY, [(400, {})], "could not read the request"),
        (KEY, [(422, {})], "smaller --batch-size"),
    ],
)
def test_refusals_stop_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, waits: list[float], key: str, script: list[tuple[int, dict[str, str]]], hint: str
) -> None:
    fake = FakeIngest(script=script)
    use(monkeypatch, fake.transport())
    with IngestClient("http://ingest.test", key) as api, pytest.raises(ApiError, match=hint):
        api.post_batch(LEADS)
    assert fake.requests == 1
    assert waits == []


def test_an_answer_without_one_result_per_lead_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, httpx.MockTransport(lambda _: httpx.Response(202, json={"results": []})))
    with IngestClient("http://ingest.test", KEY) as api, pytest.raises(ApiError, match="unexpected answer"):
        api.post_batch(LEADS)


@pytest.mark.parametrize(
    ("header", "seconds"), [("3", 3.0), ("0", 0.0), ("", 1.0), ("soon", 1.0), ("-5", 0.0), ("99999", 300.0)]
)
def test_retry_after_values(header: str, seconds: float) -> None:
    assert retry_after(httpx.Response(429, headers={"Retry-After": header})) == seconds


def test_retry_after_http_date_in_the_past_means_now() -> None:
    assert retry_after(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
