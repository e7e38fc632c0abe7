"""SIGKILL a service mid-stream and restart it: no lead lost, none assigned twice."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from shared.schemas import topics
from tests.checks import check_accounting, wait_for_count
from tests.harness import SERVICE_NAMES, Pipeline, collect, publish
from tests.leads import Submission, all_accounted, assignments_per_lead, make_submissions

pytestmark = pytest.mark.faults
OUTCOME_TOPICS = [topics.LEADS_ASSIGNED, topics.LEADS_POOLED, topics.LEADS_MERGED, topics.LEADS_REJECTED]


def publish_in_chunks(bootstrap: str, submissions: list[Submission], chunk: int = 50, pause_s: float = 0.15) -> None:
    """Keep the stream flowing while the victim dies and comes back."""
    for start in range(0, len(submissions), chunk):
        batch = [s.envelope for s in submissions[start : start + chunk]]
        asyncio.run(publish(bootstrap, topics.LEADS_CAPTURED, batch))
        time.sleep(pause_s)


@pytest.mark.parametrize("victim", SERVICE_NAMES)
def test_sigkill_mid_stream_loses_nothing_and_assigns_nothing_twice(pipeline: Pipeline, victim: str) -> None:
    submissions = make_submissions()
    pipeline.start()
    pipeline.wait_healthy()
    producer = threading.Thread(target=publish_in_chunks, args=(pipeline.bootstrap, submissions))
    producer.start()
    # Kill once the victim has committed real work, while the stream is still arriving.
    processed = wait_for_count(pipeline.database_url, f"SELECT count(*) FROM {victim}.processed_events", 150)
    assert processed >= 150, f"{victim} never got going:\n{pipeline.log_tail(victim)}"
    pipeline.kill(victim)
    time.sleep(1.0)
    pipeline.start([victim])
    producer.join()
    pipeline.wait_healthy()
    collected = asyncio.run(collect(pipeline.bootstrap, OUTCOME_TOPICS, all_accounted(submissions), timeout=180))
    check_accounting(pipeline, submissions, collected)
    assigned = len(assignments_per_lead(collected))
    timers = wait_for_count(pipeline.database_url, "SELECT count(*) FROM nurture.timers", assigned)
    assert timers == assigned, "nurture lost or doubled a follow-up clock"
