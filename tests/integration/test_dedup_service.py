"""dedup as real processes on the real broker and Postgres: concurrency, verdicts, survivorship, unmerge."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka.partitioner import murmur2
from typer.testing import CliRunner

from cli.embedded import REPO_ROOT, free_port, start_service
from cli.main import app
from services.ingest.domain import Accepted, ingest
from shared.schemas import topics
from shared.schemas.envelope import Envelope, make_envelope
from tests.checks import sql_rows, wait_for_count
from tests.harness import TEST_ENV, Pipeline, collect, publish

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]
PARTITIONS = 8
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "海燕",
]
HOMOPHONE = {"伟": "炜", "丽": "莉", "静": "婧", "明": "铭", "军": "君", "涛": "韬", "杰": "洁", "磊": "垒", "敏": "闽"}


def partition_of(lead_id: uuid.UUID) -> int:
    return (murmur2(str(lead_id).encode()) & 0x7FFFFFFF) % PARTITIONS


def ingested(submission: dict[str, Any], lead_id: uuid.UUID | None = None) -> Envelope:
    """A submission through ingest's real normalisation, as the event dedup consumes."""
    lead_id = lead_id or uuid.uuid4()
    result = ingest(submission, lead_id, now=T0 + timedelta(days=400))
    assert isinstance(result, Accepted), result
    return make_envelope(topics.LEADS_INGESTED, result.payload, producer="tests@0", lead_id=lead_id)


def person(i: int, rng: random.Random) -> dict[str, Any]:
    name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // len(SURNAMES)) % len(GIVEN)]
    return {
        "name": name,
        "phone": f"13{rng.randrange(5, 10)}{i:08d}",
        "email": f"user{i}@corp{i}.com.cn",
        "company": f"第{i}号云帆科技有限公司",
    }


def duplicate_pair(i: int, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two submissions of one person, the second a realistic variant of the first."""
    p = person(i, rng)
    first = {
        "source": "web-form",
        "captured_at": T0.isoformat(),
        "person": {"name": p["name"], "phone": p["phone"], "email": p["email"]},
        "company": {"name": p["company"], "country": "CN"},
        "product_interest": ["CRM"],
    }
    kind = i % 3
    if kind == 0:  # the same mobile, typed differently, from a trade show
        person2 = {"name": p["name"], "phone": f"+86 {p['phone'][:3]} {p['phone'][3:7]} {p['phone'][7:]}"}
    elif kind == 1:  # the same mailbox in capitals
        person2 = {"name": p["name"], "email": p["email"].upper()}
    else:  # a homophone typo in the name, the same company and product, the switchboard
        given = p["name"][1:]
        person2 = {"name": p["name"][0] + HOMOPHONE.get(given, given), "phone": f"021-6{i:07d}"}
    second = {
        "source": "trade-show",
        "captured_at": (T0 + timedelta(minutes=1)).isoformat(),
        "person": person2,
        "company": {"name": p["company"].replace("有限公司", "股份有限公司"), "country": "CN"},
        "product_interest": ["CRM"],
    }
    return first, second


def split_ids(rng: random.Random) -> tuple[uuid.UUID, uuid.UUID]:
    """Two lead ids on different partitions: the pair is decided by different consumers."""
    while True:
        a, b = uuid.UUID(int=rng.getrandbits(128), version=4), uuid.UUID(int=rng.getrandbits(128), version=4)
        if partition_of(a) % 2 != partition_of(b) % 2:
            return a, b


def start_dedup(pipeline: Pipeline, label: str) -> Any:
    env = {**TEST_ENV, "KAFKA_BOOTSTRAP_SERVERS": pipeline.bootstrap, "DATABASE_URL": pipeline.database_url}
    port = free_port()
    proc = start_service("dedup", env, port, pipeline.logdir / f"{label}.log", REPO_ROOT)
    pipeline.procs[label], pipeline.ports[label] = proc, port
    return proc


def outcomes(collected: Any) -> dict[str, str]:
    found = {e["lead_id"]: "new" for e in collected.of(topics.LEADS_DEDUPLICATED)}
    found |= {e["payload"]["lead_id"]: "merged" for e in collected.of(topics.LEADS_MERGED)}
    return found


def test_two_dedup_processes_racing_on_duplicates_leave_exactly_one_survivor(pipeline: Pipeline) -> None:
    rng = random.Random(4)
    start_dedup(pipeline, "dedup-a")
    start_dedup(pipeline, "dedup-b")
    pipeline.wait_healthy()
    time.sleep(8)  # both members joined and own half the partitions each (a join takes ~half the session timeout)
    pairs, envelopes = [], []
    for i in range(150):
        first, second = duplicate_pair(i, rng)
        a, b = split_ids(rng)
        pairs.append((a, b))
        envelopes += [ingested(first, a), ingested(second, b)]  # the two arrive together
    asyncio.run(publish(pipeline.bootstrap, topics.LEADS_INGESTED, envelopes))
    out = [topics.LEADS_DEDUPLICATED, topics.LEADS_MERGED]
    got = asyncio.run(collect(pipeline.bootstrap, out, lambda c: len(outcomes(c)) >= len(envelopes), timeout=180))

    verdicts = outcomes(got)
    assert len(verdicts) == len(envelopes), "a lead got no verdict"
    for a, b in pairs:
        assert sorted([verdicts[str(a)], verdicts[str(b)]]) == ["merged", "new"], (a, b)
    rows = sql_rows(pipeline.database_url, "SELECT lead_id::text, survivor_id::text FROM dedup.leads")
    survivor = dict(rows)
    for a, b in pairs:
        assert survivor[str(a)] == survivor[str(b)], "a pair ended with two survivors"
    survivors = Counter(s for lead, s in rows if lead == s)
    assert len(survivors) == len(pairs)
    merged_into = {e["payload"]["lead_id"]: e["payload"]["surviving_lead_id"] for e in got.of(topics.LEADS_MERGED)}
    assert all(survivor[lead] == target for lead, target in merged_into.items())
    # both processes decided leads: the pairs really were split between two instances
    for label in ("dedup-a", "dedup-b"):
        text = (pipeline.logdir / f"{label}.log").read_text(errors="replace")
        assert text.count('"event_processed"') > 0, f"{label} processed nothing:\n{pipeline.log_tail(label)}"


def test_verdicts_history_window_survivorship_and_unmerge(  # noqa: PLR0915 -- one story, told in order
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline.start(["dedup"])
    pipeline.wait_healthy()
    base = {"company": {"name": "杭州远景咨询有限公司", "country": "CN", "city": "杭州"}, "product_interest": ["CRM"]}
    original = ingested(
        {
            **base,
            "source": "web-form",
            "captured_at": T0.isoformat(),
            "person": {"name": "陈静", "phone": "13800138000"},
        }
    )
    repeat = ingested(
        {
            **base,
            "source": "expo",
            "captured_at": (T0 + timedelta(days=30)).isoformat(),
            "person": {"name": "陈静", "phone": "138 0013 8000", "email": "chen.jing@yuanjing.cn", "title": "采购经理"},
            "product_interest": ["ERP"],
        }
    )
    maybe = ingested(  # the same name in the same city, nothing else: for a human to confirm
        {
            "source": "partner",
            "captured_at": (T0 + timedelta(days=31)).isoformat(),
            "person": {"name": "陈静", "email": "cj1990@163.com"},
            "company": {"country": "CN", "city": "杭州"},
        }
    )
    late = ingested(  # the same person again, long after the last sighting
        {
            **base,
            "source": "web-form",
            "captured_at": (T0 + timedelta(days=30 + 200)).isoformat(),
            "person": {"name": "陈静", "phone": "13800138000"},
        }
    )
    for done, envelope in enumerate((original, repeat, maybe, late), start=1):  # one at a time: the order matters
        asyncio.run(publish(pipeline.bootstrap, topics.LEADS_INGESTED, [envelope]))
        assert wait_for_count(pipeline.database_url, "SELECT count(*) FROM dedup.processed_events", done) == done
    out = [topics.LEADS_DEDUPLICATED, topics.LEADS_MERGED]
    got = asyncio.run(collect(pipeline.bootstrap, out, lambda c: len(outcomes(c)) >= 4, timeout=60))
    new = {e["lead_id"]: e["payload"]["dedup"] for e in got.of(topics.LEADS_DEDUPLICATED)}
    merges = [e["payload"] for e in got.of(topics.LEADS_MERGED)]
    assert len(merges) == 1, [(m["lead_id"], m["rule"], m["score"]) for m in merges]
    [merge] = merges

    assert merge["lead_id"] == str(repeat.lead_id)
    assert merge["surviving_lead_id"] == str(original.lead_id)
    assert merge["rule"] == "phone_exact"
    assert merge["changed_fields"]["person.email"] == "chen.jing@yuanjing.cn"
    assert merge["changed_fields"]["product_interest"] == ["ERP"]
    assert merge["sources"] == ["web-form", "expo"]
    assert new[str(maybe.lead_id)]["verdict"] == "possible_duplicate"
    assert new[str(maybe.lead_id)]["possible_duplicate_of"] == str(original.lead_id)
    assert new[str(maybe.lead_id)]["evidence"], "a possible duplicate carries its evidence"
    assert new[str(late.lead_id)]["verdict"] == "new"
    assert new[str(late.lead_id)]["history_of"] == str(original.lead_id)

    [(record, sources, times)] = sql_rows(
        pipeline.database_url,
        f"SELECT record, sources, times_seen FROM dedup.leads WHERE lead_id = '{original.lead_id}'",
    )
    assert record["person.email"] == "chen.jing@yuanjing.cn"
    assert record["product_interest"] == ["CRM", "ERP"]
    assert sources == ["web-form", "expo"]
    assert times == 2

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", pipeline.bootstrap)
    monkeypatch.setenv("DATABASE_URL", pipeline.database_url)
    runner = CliRunner()
    refused = runner.invoke(app, ["dedup", "unmerge", str(original.lead_id), "--wait", "60"])
    assert refused.exit_code == 1, refused.output
    assert "not_merged" in refused.output
    done = runner.invoke(app, ["dedup", "unmerge", str(repeat.lead_id), "--reason", "two people", "--wait", "60"])
    assert done.exit_code == 0, done.output

    restored = asyncio.run(
        collect(
            pipeline.bootstrap,
            [topics.LEADS_DEDUPLICATED],
            lambda c: any(e["lead_id"] == str(repeat.lead_id) for e in c.of(topics.LEADS_DEDUPLICATED)),
            timeout=60,
        )
    )
    [sent_on] = [e for e in restored.of(topics.LEADS_DEDUPLICATED) if e["lead_id"] == str(repeat.lead_id)]
    assert sent_on["payload"]["dedup"]["unmerged_from"] == str(original.lead_id)
    assert sent_on["payload"]["person"]["email"] == "chen.jing@yuanjing.cn"
    rows = dict(
        sql_rows(pipeline.database_url, "SELECT lead_id::text, survivor_id::text FROM dedup.leads")  # type: ignore[arg-type]
    )
    assert rows[str(repeat.lead_id)] == str(repeat.lead_id)
    [(record, sources, times)] = sql_rows(
        pipeline.database_url,
        f"SELECT record, sources, times_seen FROM dedup.leads WHERE lead_id = '{original.lead_id}'",
    )
    assert "person.email" not in record, "what the merge filled in is taken back"
    assert record["product_interest"] == ["CRM"]
    assert sources == ["web-form"]
    assert times == 1
    [(unmerged_at, reason, payload_kept)] = sql_rows(
        pipeline.database_url,
        f"SELECT unmerged_at, unmerge_reason, payload IS NOT NULL FROM dedup.merges WHERE lead_id = '{repeat.lead_id}'",
    )
    assert unmerged_at is not None
    assert reason == "two people"
    assert payload_kept, "the merge log keeps both sides"


def test_unmerge_without_a_running_dedup_says_so(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", pipeline.bootstrap)
    monkeypatch.setenv("DATABASE_URL", pipeline.database_url)
    result = CliRunner().invoke(app, ["dedup", "unmerge", str(uuid.uuid4()), "--wait", "2"])
    assert result.exit_code == 3, result.output
    assert "is the dedup service running" in result.output
