"""Runs the five services as real processes and reads what they publish, for e2e and fault tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from cli.embedded import REPO_ROOT, free_port, start_service
from shared.schemas.envelope import Envelope

SERVICE_NAMES = ("ingest", "dedup", "scoring", "router", "nurture")
# Fast rebalances and relays for tests (INFRA.md: a join takes about half the session timeout).
TEST_ENV = {
    "LEADFLOW_SESSION_TIMEOUT_MS": "6000",
    "LEADFLOW_HEARTBEAT_INTERVAL_MS": "1000",
    "LEADFLOW_RELAY_GRACE_S": "2",
    "LEADFLOW_RELAY_INTERVAL_S": "0.5",
    "LEADFLOW_LOG_JSON": "true",
    "LEADFLOW_TOPIC_PARTITIONS": "8",
}


ROUTING_RULES = REPO_ROOT / "deploy" / "config" / "routing.yaml"


def round_the_clock(source: Path, target: Path) -> Path:
    """A copy of a routing file whose reps all work round the clock, every day, without caps."""
    spec = yaml.safe_load(source.read_text(encoding="utf-8"))
    spec["version"] = f"{spec['version']}-round-the-clock"
    spec["defaults"] = {**spec.get("defaults", {}), "hours": {"mon-sun": "00:00-24:00"}, "holidays": None}
    spec["defaults"]["caps"] = {"day": None, "week": None, "open": None}
    spec["defaults"].pop("days_off", None)
    for rep in spec.get("reps", []):
        for key in ("hours", "holidays", "caps"):
            rep.pop(key, None)
    target.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def nurture_policy(target: Path, deadline: str = "1d", routing_file: Path | None = None) -> Path:
    """A nurture policy for tests: one follow-up deadline round the clock, no warnings, no no-deal clock."""
    spec = {
        "version": f"test-{deadline}",
        "sla": {"deadline": deadline, "working_time": False, "warn": []},
        "tracks": {"cold-leads": {"steps": [{"delay": "1d", "channel": "email", "template": "t"}]}},
        "default_track": "cold-leads",
    }
    if routing_file is not None:
        spec["routing_file"] = str(routing_file)
    target.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


@dataclass
class Pipeline:
    """The services as subprocesses, each with its own port and log file."""

    bootstrap: str
    database_url: str
    logdir: Path
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def start(self, names: Iterable[str] = SERVICE_NAMES) -> None:
        if "ROUTER_RULES_FILE" not in self.env:  # the shipped teams and rules, but no test depends on the hour
            self.env["ROUTER_RULES_FILE"] = str(round_the_clock(ROUTING_RULES, self.logdir / "routing.yaml"))
        if "NURTURE_POLICY_FILE" not in self.env:  # a day to follow up, round the clock: no test hits it by accident
            self.env["NURTURE_POLICY_FILE"] = str(nurture_policy(self.logdir / "nurture.yaml"))
        for name in names:
            self.ports.setdefault(name, free_port(taken=set(self.ports.values())))
            env = {**TEST_ENV, **self.env, "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "DATABASE_URL": self.database_url}
            self.procs[name] = start_service(name, env, self.ports[name], self.logdir / f"{name}.log", REPO_ROOT)

    def wait_healthy(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.procs)
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                if self.procs[name].poll() is not None:
                    raise RuntimeError(f"{name} exited with {self.procs[name].returncode}:\n{self.log_tail(name)}")
                try:
                    if httpx.get(f"http://127.0.0.1:{self.ports[name]}/healthz", timeout=1).status_code == 200:
                        pending.discard(name)
                except httpx.HTTPError:
                    pass
            time.sleep(0.3)
        if pending:
            raise RuntimeError(f"not healthy after {timeout}s: {sorted(pending)}")

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.procs.clear()

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logdir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logdir.glob("*.log")))


async def publish(bootstrap: str, topic: str, envelopes: Sequence[Envelope], raw: Sequence[bytes] = ()) -> None:
    """Send envelopes (keyed by lead id when they have one) and raw byte values; wait for every ack."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, e.model_dump_json().encode(), key=e.kafka_key(), headers=e.kafka_headers())
            for e in envelopes
        ]
        futures += [await producer.send(topic, value) for value in raw]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


@dataclass
class Collected:
    """Everything read from some topics: events by topic, first copy per event id, and raw records."""

    events: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    copies: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    records: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))

    def add(self, record: Any) -> None:
        self.records[record.topic].append(record)
        try:
            event = json.loads(record.value)
        except ValueError:
            return
        if isinstance(event, dict) and "event_id" in event:
            self.copies[event["event_id"]] += 1
            self.events[record.topic].setdefault(event["event_id"], event)

    def of(self, topic: str) -> list[dict[str, Any]]:
        return list(self.events[topic].values())


async def collect(bootstrap: str, topics: Sequence[str], done: Any, timeout: float = 120.0) -> Collected:
    """Read the topics from the beginning until `done(collected)` holds or the timeout passes."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    collected = Collected()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or range(8))]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                for record in records:
                    collected.add(record)
            if done(collected):
                break
    finally:
        await consumer.stop()
    return collected
