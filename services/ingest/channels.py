"""Channels and their API keys: a key names its channel (stored hashed), with a rate limit and defaults."""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Boolean, Column, DateTime, Float, MetaData, Table, Text, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.runtime.logging import get_logger

log = get_logger(__name__)

KEY_PREFIX = "lf_"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def channels_table(metadata: MetaData) -> Table:
    return Table(
        "channels",
        metadata,
        Column("name", Text, primary_key=True),
        Column("key_hash", Text, nullable=False, unique=True),
        Column("key_hint", Text, nullable=False),
        Column("default_country", Text),
        Column("rate_per_s", Float),
        Column("burst", Float),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("revoked_at", DateTime(timezone=True)),
        Column("active", Boolean, nullable=False, server_default="true"),
    )


def new_key() -> str:
    """A 256-bit random token; shown once, only its hash is kept."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """SHA-256 is enough for a high-entropy random token (no password stretching needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Channel:
    name: str
    active: bool
    default_country: str | None = None
    rate_per_s: float | None = None
    burst: float | None = None


class ChannelExistsError(ValueError):
    pass


class UnknownChannelError(LookupError):
    pass


def add_channel(  # noqa: PLR0913 -- a channel's settings, keyword-only
    conn: Connection,
    table: Table,
    name: str,
    *,
    default_country: str | None = None,
    rate_per_s: float | None = None,
    burst: float | None = None,
) -> str:
    """Create a channel; return its key (the only time it is ever visible)."""
    if not NAME_RE.match(name):
        raise ValueError("a channel name is 1-63 of a-z 0-9 . _ - and starts with a letter or digit")
    if conn.execute(select(table.c.name).where(table.c.name == name)).first():
        raise ChannelExistsError(name)
    key = new_key()
    conn.execute(
        table.insert().values(
            name=name,
            key_hash=hash_key(key),
            key_hint=key[:7] + "…",
            default_country=default_country,
            rate_per_s=rate_per_s,
            burst=burst,
            created_at=datetime.now(UTC),
            active=True,
        )
    )
    return key


def revoke_channel(conn: Connection, table: Table, name: str) -> None:
    """Revoke the channel's key; the service refuses it within its refresh interval."""
    result = conn.execute(update(table).where(table.c.name == name).values(active=False, revoked_at=datetime.now(UTC)))
    if result.rowcount == 0:
        raise UnknownChannelError(name)


@dataclass
class ChannelRegistry:
    """The service's view of the channels table, refreshed on an interval and on an unknown key."""

    table: Table
    refresh_s: float = 2.0
    engine: AsyncEngine | None = None  # set at start-up, when the service has one
    by_hash: dict[str, Channel] = field(default_factory=dict)
    countries: dict[str, str] = field(default_factory=dict)  # channel → default phone region, updated in place
    loaded_at: float = -math.inf
    _miss_reload_at: float = -math.inf
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def lookup(self, key: str) -> Channel | None:
        """The channel a key names (revoked ones too, so the caller can say so), or None."""
        await self.refresh_if_stale()
        digest = hash_key(key)
        if (channel := self.by_hash.get(digest)) is not None:
            return channel
        async with self._lock:  # concurrent requests with a new key wait for the one reload, not skip it
            channel = self.by_hash.get(digest)
            if channel is None and time.monotonic() - self._miss_reload_at > 1.0:
                # A key created a moment ago works at once; at most one reload a second for unknown keys.
                self._miss_reload_at = time.monotonic()
                await self.reload()
                channel = self.by_hash.get(digest)
        return channel

    async def refresh_if_stale(self) -> None:
        if time.monotonic() - self.loaded_at <= self.refresh_s:
            return
        async with self._lock:
            if time.monotonic() - self.loaded_at > self.refresh_s:  # not already done by a request we waited for
                await self.reload()

    async def reload(self) -> None:
        if self.engine is None:
            return
        t = self.table
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(t.c.name, t.c.key_hash, t.c.active, t.c.default_country, t.c.rate_per_s, t.c.burst)
                )
            ).all()
        self.by_hash = {r.key_hash: Channel(r.name, r.active, r.default_country, r.rate_per_s, r.burst) for r in rows}
        countries = {r.name: r.default_country for r in rows if r.default_country}
        self.countries.clear()
        self.countries.update(countries)
        self.loaded_at = time.monotonic()


@dataclass
class TokenBucket:
    rate: float
    capacity: float
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    """Per-channel token buckets counted in leads (a batch of 500 costs 500), in this process."""

    default_rate: float
    default_burst: float
    min_burst: float = 1000.0  # a full batch must be able to pass
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def take(self, channel: Channel, cost: float) -> float:
        """Take `cost` tokens; return 0 when allowed, else the seconds to wait before retrying."""
        rate = channel.rate_per_s or self.default_rate
        capacity = max(channel.burst or self.default_burst, self.min_burst, cost)
        now = time.monotonic()
        bucket = self.buckets.get(channel.name)
        if bucket is None or bucket.rate != rate or bucket.capacity != capacity:
            bucket = self.buckets[channel.name] = TokenBucket(rate, capacity, capacity, now)
        bucket.tokens = min(bucket.capacity, bucket.tokens + (now - bucket.updated) * bucket.rate)
        bucket.updated = now
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        return (cost - bucket.tokens) / bucket.rate
