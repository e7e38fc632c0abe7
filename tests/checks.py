"""Assertions shared by e2e and fault tests: the exact accounting of outcomes."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from tests.harness import Collected, Pipeline
from tests.leads import Submission, assignments_per_lead, outcomes


def check_accounting(pipeline: Pipeline, submissions: list[Submission], collected: Collected) -> None:
    """Exactly one outcome per submission, the right mix, no lead assigned twice (topics and ledger agree)."""
    found = outcomes(submissions, collected)
    missing = [s.external_id for s in submissions if s.external_id not in found]
    assert not missing, f"{len(missing)} submissions without an outcome, e.g. {missing[:5]}"
    several = {ext: outs for ext, outs in found.items() if len(outs) != 1}
    assert not several, f"submissions with more than one outcome: {list(several.items())[:5]}"
    kinds = {s.external_id: s.kind for s in submissions}
    rejected = sorted(ext for ext, outs in found.items() if outs == ["rejected"])
    assert rejected == sorted(ext for ext, kind in kinds.items() if kind == "invalid")
    assert sum(outs == ["merged"] for outs in found.values()) == sum(k == "duplicate" for k in kinds.values())
    assert all(count == 1 for count in assignments_per_lead(collected).values())
    twice = sql_rows(
        pipeline.database_url,
        "SELECT lead_id FROM router.assignments GROUP BY lead_id"
        " HAVING count(*) FILTER (WHERE close_reason IS NULL OR close_reason NOT IN"
        " ('rejected', 'recycled', 'released', 'qualified')) > 1",
    )
    assert not twice, f"leads assigned twice in the router's ledger: {twice[:5]}"


def sql_rows(database_url: str, query: str, params: dict[str, Any] | None = None) -> list[tuple]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(query), params or {}).all()]
    finally:
        engine.dispose()


def wait_for_count(database_url: str, query: str, expected: int, timeout: float = 60.0) -> int:
    """Poll a count until it reaches the expected value (services catch up asynchronously)."""
    engine = sa.create_engine(database_url)
    deadline = time.monotonic() + timeout
    value = -1
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                try:
                    value = int(conn.execute(sa.text(query)).scalar_one() or 0)
                except sa.exc.ProgrammingError:  # the service has not migrated its schema yet
                    conn.rollback()
                    value = -1
            if value >= expected:
                break
            time.sleep(0.05)
    finally:
        engine.dispose()
    return value
