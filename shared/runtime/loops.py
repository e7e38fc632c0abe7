"""Background loops (outbox relay, timers) that drain work, sleep, and outlive any single failure."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from shared.runtime.logging import get_logger
from shared.runtime.metrics import RuntimeMetrics

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from shared.runtime.service import ServiceContext

log = get_logger(__name__)


async def drain_forever(
    step: Callable[[], Awaitable[int]],
    *,
    interval_s: float,
    metrics: RuntimeMetrics,
    stage: str,
    after: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Call `step` until it reports no work (0), run `after`, sleep, repeat; failures are counted and logged."""
    while True:
        try:
            while await step() > 0:
                pass
            if after is not None:
                await after()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 -- the loop must outlive any single failure
            metrics.failures.labels(stage).inc()
            log.warning("background_loop_failed", stage=stage, error=repr(exc))
        await asyncio.sleep(interval_s)


async def gauges_forever(
    ctx: ServiceContext, observe: Callable[[AsyncConnection], Awaitable[None]], interval_s: float
) -> None:
    """Refresh gauges read from the service's tables (pool size, pending timers) every interval."""

    async def step() -> int:
        if ctx.engine is not None:
            async with ctx.engine.connect() as conn:
                await observe(conn)
        return 0

    await drain_forever(step, interval_s=interval_s, metrics=ctx.metrics, stage="gauges")
