"""Channel keys against a real Postgres: hashed storage, a new key seen at once even by concurrent requests."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.ingest import channels as ch
from services.ingest import store
from shared.runtime.db import create_engine
from shared.runtime.migrations import upgrade_to_head

pytestmark = pytest.mark.component
MIGRATIONS = Path(ch.__file__).parent / "migrations"


async def test_a_new_key_is_found_by_every_concurrent_request_and_a_revoked_one_reported(pg_url: str) -> None:
    upgrade_to_head(pg_url, "ingest", MIGRATIONS)
    engine = create_engine(pg_url)
    registry = ch.ChannelRegistry(store.channels, refresh_s=60, engine=engine)
    await registry.reload()  # loaded before the channel exists, as at service start
    sync = sa.create_engine(pg_url)
    with sync.begin() as conn:
        key = ch.add_channel(conn, store.channels, "web-form", default_country="CN", rate_per_s=10)
    try:
        found = await asyncio.gather(*(registry.lookup(key) for _ in range(8)))
        assert [c.name if c else None for c in found] == ["web-form"] * 8
        assert registry.countries == {"web-form": "CN"}
        assert await registry.lookup("lf_unknown") is None
        with sync.begin() as conn:
            ch.revoke_channel(conn, store.channels, "web-form")
            stored = conn.execute(sa.select(store.channels.c.key_hash)).scalar_one()
        assert stored == ch.hash_key(key)
        assert key not in stored
        await registry.reload()
        revoked = await registry.lookup(key)
        assert revoked is not None
        assert revoked.active is False
    finally:
        await engine.dispose()
        sync.dispose()


def test_rate_limiter_counts_leads_and_says_how_long_to_wait() -> None:
    limiter = ch.RateLimiter(default_rate=100, default_burst=1000)
    channel = ch.Channel("web-form", active=True)
    assert limiter.take(channel, 1000) == 0.0  # a full batch fits the burst
    wait = limiter.take(channel, 500)
    assert 4.0 < wait <= 5.0  # 500 leads at 100/s
    fast = ch.Channel("partner", active=True, rate_per_s=10_000, burst=2000)
    assert limiter.take(fast, 2000) == 0.0  # its own bucket and limits
