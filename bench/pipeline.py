"""`make bench`: N submissions through the whole pipeline vs. five passthrough hops on the same broker."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cli.embedded import REPO_ROOT, spawn, terminate
from shared.runtime.kafka_admin import ensure_topics
from shared.schemas import topics
from tests.harness import Collected, Pipeline, collect, publish
from tests.infra import fresh_database, kafka_broker, postgres_server
from tests.leads import make_submissions

console = Console()
HOPS = [f"bench.hop{i}" for i in range(6)]


def percentiles(values: list[float]) -> dict[str, float]:
    qs = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": qs[49], "p95": qs[94], "p99": qs[98]}


def run_pipeline(bootstrap: str, database_url: str, n: int, workdir: Path, rate: float = 0.0) -> dict[str, Any]:
    """Publish n unique, valid submissions (all at once, or paced at `rate`/s); wait for n outcomes."""
    # A source of its own per run: its own lead ids, even on a broker that saw earlier runs.
    submissions = make_submissions(unique=n, duplicates=0, invalid=0, seed=11, source=f"bench-{uuid.uuid4().hex[:8]}")
    pipe = Pipeline(bootstrap, database_url, workdir)
    pipe.start()
    try:
        pipe.wait_healthy()
        _warm_pipeline(bootstrap)
        started = time.time()
        sent_at = asyncio.run(_publish(bootstrap, submissions, rate))
        outcome_topics = [topics.LEADS_ASSIGNED, topics.LEADS_POOLED]
        ours = {str(s.lead_id) for s in submissions}
        done = lambda c: sum(e["lead_id"] in ours for t in outcome_topics for e in c.events[t].values()) >= n  # noqa: E731
        got = asyncio.run(collect(bootstrap, outcome_topics, done, timeout=max(120, n / 50)))
    finally:
        pipe.stop()
    return _summarise(got, outcome_topics, sent_at, started, n)


def _warm_pipeline(bootstrap: str) -> None:
    """Measure steady state: consumer groups joined and first batches done before the clock starts."""
    warm = make_submissions(
        unique=20, duplicates=0, invalid=0, seed=3, source=f"warm-{uuid.uuid4().hex[:8]}", first=10_000_000
    )  # people of their own: the measured leads must not merge into them
    ours = {str(s.lead_id) for s in warm}
    asyncio.run(publish(bootstrap, topics.LEADS_CAPTURED, [s.envelope for s in warm]))
    outcome_topics = [topics.LEADS_ASSIGNED, topics.LEADS_POOLED]
    asyncio.run(
        collect(
            bootstrap,
            outcome_topics,
            lambda c: sum(e["lead_id"] in ours for t in outcome_topics for e in c.events[t].values()) >= len(warm),
            timeout=120,
        )
    )


async def _publish(bootstrap: str, submissions: list[Any], rate: float) -> dict[Any, float]:
    """Stamp each envelope's occurred_at at its moment of capture and send it; paced when rate > 0."""
    chunk = max(1, int(rate / 20)) if rate else len(submissions)
    sent_at: dict[Any, float] = {}
    for start in range(0, len(submissions), chunk):
        tick = time.monotonic()
        batch = submissions[start : start + chunk]
        for s in batch:
            object.__setattr__(s.envelope, "occurred_at", datetime.now(UTC))
            sent_at[s.lead_id] = s.envelope.occurred_at.timestamp()
        await publish(bootstrap, topics.LEADS_CAPTURED, [s.envelope for s in batch])
        if rate:
            await asyncio.sleep(max(0.0, chunk / rate - (time.monotonic() - tick)))
    return sent_at


def _summarise(
    got: Collected, outcome_topics: list[str], sent_at: dict[Any, float], started: float, n: int
) -> dict[str, Any]:
    latencies, last = [], started
    for topic in outcome_topics:
        first_copy = {}
        for record in got.records[topic]:
            event = json.loads(record.value)
            first_copy.setdefault(event["event_id"], (event, record.timestamp / 1000))
        for event, at in first_copy.values():
            if uuid.UUID(event["payload"]["lead_id"]) not in sent_at:
                continue  # an earlier run's outcome on the same broker
            latencies.append(at - sent_at[uuid.UUID(event["payload"]["lead_id"])])
            last = max(last, at)
    done = len(latencies)
    return {
        "messages": done,
        "complete": done >= n,
        "seconds": last - started,
        "per_second": done / (last - started),
        "latency_s": percentiles(latencies),
    }


def run_passthrough(bootstrap: str, n: int, workdir: Path) -> dict[str, Any]:
    """The same number of messages through five trivial FastStream hops, each its own process."""
    asyncio.run(ensure_topics(bootstrap, HOPS))
    procs = [
        spawn(
            [sys.executable, "-m", "faststream", "run", "bench.passthrough:create_app", "--factory"],
            workdir / f"hop{i}.log",
            env={
                **os.environ,
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "BENCH_HOP_IN": HOPS[i],
                "BENCH_HOP_OUT": HOPS[i + 1],
            },
            cwd=REPO_ROOT,
        )
        for i in range(5)
    ]
    try:
        asyncio.run(_warm_up(bootstrap))
        return asyncio.run(_measure_hops(bootstrap, n))
    finally:
        for proc in procs:
            terminate(proc)


async def _warm_up(bootstrap: str) -> None:
    """Wait until a message makes it through all five hops (consumer groups joined)."""
    from aiokafka import AIOKafkaProducer  # noqa: PLC0415

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    await producer.send_and_wait(HOPS[0], b'{"warm": true}')
    await producer.stop()
    await collect(bootstrap, [HOPS[-1]], lambda c: len(c.records[HOPS[-1]]) >= 1, timeout=120)


async def _measure_hops(bootstrap: str, n: int) -> dict[str, Any]:
    from aiokafka import AIOKafkaProducer  # noqa: PLC0415

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    started = time.time()
    futures = [await producer.send(HOPS[0], json.dumps({"i": i, "t": time.time()}).encode()) for i in range(n)]
    await asyncio.gather(*futures)
    await producer.stop()
    got = await collect(bootstrap, [HOPS[-1]], lambda c: len(c.records[HOPS[-1]]) >= n + 1, timeout=max(120, n / 50))
    bodies = [(json.loads(r.value), r.timestamp / 1000) for r in got.records[HOPS[-1]]]
    latencies = [at - body["t"] for body, at in bodies if "t" in body]
    last = max(at for _, at in bodies)
    return {
        "messages": len(latencies),
        "complete": len(latencies) >= n,
        "seconds": last - started,
        "per_second": len(latencies) / (last - started),
        "latency_s": percentiles(latencies),
    }


def report(n: int, results: list[tuple[str, dict[str, Any]]]) -> None:
    table = Table(title=f"leadflow benchmark — {n} submissions, {os.cpu_count()} cores")
    for column in ("run", "done", "seconds", "msgs/s", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="right")
    for name, r in results:
        lat = r["latency_s"]
        table.add_row(
            name,
            f"{r['messages']}",
            f"{r['seconds']:.1f}",
            f"{r['per_second']:.0f}",
            *(f"{lat[p] * 1000:.0f}" for p in ("p50", "p95", "p99")),
        )
    console.print(table)
    burst, baseline = results[0][1], results[-1][1]
    console.print(f"pipeline / passthrough throughput ratio: {burst['per_second'] / baseline['per_second']:.3f}")
    console.print(
        "burst latency is queueing behind n simultaneous submissions; the paced run shows latency"
        " at a sustainable arrival rate"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=int(os.environ.get("BENCH_N", "20000")))
    parser.add_argument("--paced-n", type=int, default=int(os.environ.get("BENCH_PACED_N", "5000")))
    parser.add_argument("--rate", type=float, default=float(os.environ.get("BENCH_RATE", "500")))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leadflow-bench-") as tmp:
        work = Path(tmp)
        (work / "logs").mkdir()
        with postgres_server(work) as server, kafka_broker(work / "kafka") as bootstrap:
            console.print(f"broker {bootstrap}; publishing {args.n} submissions")
            burst = run_pipeline(bootstrap, fresh_database(server), args.n, work / "logs")
            console.print(f"burst: {burst['per_second']:.0f} leads/s")
            paced = run_pipeline(bootstrap, fresh_database(server), args.paced_n, work / "logs", rate=args.rate)
            baseline = run_passthrough(bootstrap, args.n, work / "logs")
    results = [
        (f"pipeline, burst of {args.n}", burst),
        (f"pipeline, {args.paced_n} at {args.rate:.0f}/s", paced),
        ("passthrough, 5 FastStream hops", baseline),
    ]
    report(args.n, results)
    out = REPO_ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(dict(results), indent=2))


if __name__ == "__main__":
    main()
