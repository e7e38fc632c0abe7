"""dedup's one-statement filing and lookup on a real Postgres: what a concurrent batch committed is read."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dedup import store
from services.dedup.profile import Profile
from shared.runtime.db import create_engine, fetch_binary
from shared.runtime.migrations import upgrade_to_head

MIGRATIONS = Path(store.__file__).parent / "migrations"
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
KEY, OTHER = 4242, 4343


def lead_row(lead_id: uuid.UUID) -> dict[str, object]:
    profile = Profile(lead_id, T0, source="web", phone="+8613800138000", phone_personal=True)
    return {
        "lead_id": lead_id,
        "source": "web",
        "first_seen_at": T0,
        "survivor_id": lead_id,
        "seen_at": T0,
        "last_seen_at": T0,
        "profile": profile.to_json(),
        "record": {"person.phone": "+8613800138000"},
        "sources": ["web"],
        "times_seen": 1,
        "history_of": None,
    }


async def waiting_for_a_lock(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        found = await conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"))
        return bool(found.scalar())


@pytest.fixture
def dedup_db(pg_url: str) -> str:
    upgrade_to_head(pg_url, "dedup", MIGRATIONS)
    return pg_url


def test_a_lead_committed_while_we_wait_for_its_key_is_read_as_a_candidate(dedup_db: str) -> None:
    """Batch A files X under a key and has not committed; batch B files Y under the same key and waits.

    When A commits, B's statement gets the key's new lead list (X, Y) from the upsert, but X's row is
    not in B's snapshot: it must be read by the follow-up, or Y would never be compared with X.
    """
    x, y = uuid.uuid4(), uuid.uuid4()

    async def scenario() -> store.Lookup:
        engine = create_engine(dedup_db)
        try:
            async with engine.connect() as a:
                await a.begin()
                first = await store.file_and_look_up(a, {KEY: [x], OTHER: [x]})
                assert first.filed == {KEY: [x], OTHER: [x]}
                assert first.members == []
                await fetch_binary(a, *store.insert_leads([lead_row(x)]))

                async def batch_b() -> store.Lookup:
                    async with engine.connect() as b:
                        await b.begin()
                        found = await store.file_and_look_up(b, {KEY: [y]})
                        await b.rollback()
                        return found

                b_task = asyncio.create_task(batch_b())
                for _ in range(200):
                    if await waiting_for_a_lock(engine):
                        break
                    await asyncio.sleep(0.05)
                else:
                    pytest.fail("batch B never waited for batch A's key")
                assert not b_task.done()
                await a.commit()
                return await asyncio.wait_for(b_task, 30)
        finally:
            await engine.dispose()

    found = asyncio.run(scenario())
    assert found.filed == {KEY: [x, y]}
    assert [m.lead_id for m in found.members] == [x]
    assert found.members[0].survivor_id == x
    assert found.members[0].profile["phone"] == "+8613800138000"
    assert found.known == set()


def test_a_known_lead_is_neither_filed_again_nor_looked_up(dedup_db: str) -> None:
    x = uuid.uuid4()

    async def scenario() -> tuple[store.Lookup, list[Any]]:
        engine = create_engine(dedup_db)
        try:
            async with engine.begin() as conn:
                await store.file_and_look_up(conn, {KEY: [x]})
                await fetch_binary(conn, *store.insert_leads([lead_row(x)]))
            async with engine.begin() as conn:
                again = await store.file_and_look_up(conn, {KEY: [x], OTHER: [x]})
            async with engine.connect() as conn:
                rows = list(await fetch_binary(conn, "SELECT key, lead_ids FROM dedup.blocks ORDER BY key", []))
            return again, rows
        finally:
            await engine.dispose()

    again, rows = asyncio.run(scenario())
    assert again.known == {x}
    assert again.filed == {}
    assert [(r.key, list(r.lead_ids)) for r in rows] == [(KEY, [x])]
