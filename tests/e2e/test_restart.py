"""Stopping everything (services, broker, database) and starting again keeps leads, assignments and timers."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from cli.embedded import EmbeddedBroker
from shared.runtime.kafka_admin import ensure_topics
from shared.schemas import topics
from tests.checks import sql_rows, wait_for_count
from tests.harness import Pipeline, collect, nurture_policy, publish
from tests.leads import all_accounted, make_submissions

pytestmark = pytest.mark.e2e
FOLLOW_UP_S = 25


def test_a_full_restart_keeps_leads_assignments_and_pending_timers(pg_url: str, tmp_path: Path) -> None:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    broker = None if external else EmbeddedBroker(data_dir=tmp_path / "kafka", log_path=tmp_path / "tansu.log")
    bootstrap = external or broker.start()
    asyncio.run(ensure_topics(bootstrap))
    (tmp_path / "logs").mkdir()
    submissions = make_submissions(unique=40, duplicates=5, invalid=5)
    pipeline = Pipeline(
        bootstrap,
        pg_url,
        tmp_path / "logs",
        env={
            "NURTURE_POLICY_FILE": str(nurture_policy(tmp_path / "nurture.yaml", f"{FOLLOW_UP_S}s")),
            "NURTURE_TIMER_INTERVAL_S": "0.5",
        },
    )
    try:
        pipeline.start()
        pipeline.wait_healthy()
        asyncio.run(publish(bootstrap, topics.LEADS_CAPTURED, [s.envelope for s in submissions]))
        before = asyncio.run(
            collect(
                bootstrap,
                [topics.LEADS_ASSIGNED, topics.LEADS_POOLED, topics.LEADS_MERGED, topics.LEADS_REJECTED],
                all_accounted(submissions),
            )
        )
        assigned = {e["payload"]["lead_id"] for e in before.of(topics.LEADS_ASSIGNED)}
        assert wait_for_count(
            pg_url, "SELECT count(*) FROM nurture.timers WHERE status = 'pending'", len(assigned)
        ) == len(assigned)

        pipeline.stop()  # everything down while the follow-up clocks are still running
        if broker is not None:
            broker.stop()
            bootstrap = broker.start()
            pipeline.bootstrap = bootstrap
        pipeline.start()
        pipeline.wait_healthy()

        kept = asyncio.run(
            collect(bootstrap, [topics.LEADS_CAPTURED, topics.LEADS_ASSIGNED], lambda c: False, timeout=5)
        )
        assert len(kept.of(topics.LEADS_CAPTURED)) == len(submissions), "the broker lost captured events"
        assert {e["payload"]["lead_id"] for e in kept.of(topics.LEADS_ASSIGNED)} == assigned
        assert sql_rows(pg_url, "SELECT count(*) FROM router.assignments WHERE attempt = 1") == [(len(assigned),)]
        # The pending clocks survived: they fire after the restart and the leads go to other reps.
        after = asyncio.run(
            collect(
                bootstrap,
                [topics.LEADS_RECYCLED, topics.LEADS_ASSIGNED],
                lambda c: len({e["payload"]["lead_id"] for e in c.of(topics.LEADS_RECYCLED)}) >= len(assigned),
                timeout=FOLLOW_UP_S + 90,
            )
        )
        assert {e["payload"]["lead_id"] for e in after.of(topics.LEADS_RECYCLED)} == assigned
        fired = sql_rows(pg_url, "SELECT count(*) FROM nurture.timers WHERE status = 'fired'")
        assert fired[0][0] >= len(assigned)
        twice = sql_rows(
            pg_url,
            "SELECT lead_id FROM router.assignments WHERE status = 'active' GROUP BY lead_id HAVING count(*) > 1",
        )
        assert not twice
    finally:
        pipeline.stop()
        if broker is not None:
            broker.stop()
