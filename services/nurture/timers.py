"""The timer loop: claim due rows with SKIP LOCKED, emit through the outbox in the same transaction."""

from __future__ import annotations

import uuid

from services.nurture import store
from shared.runtime.db import UnitOfWork, producer_name
from shared.runtime.logging import get_logger
from shared.runtime.loops import drain_forever
from shared.runtime.service import ServiceContext
from shared.schemas import topics
from shared.schemas.envelope import LEADFLOW_NS
from shared.schemas.events import LeadRecycled

log = get_logger(__name__)


async def fire_due_once(ctx: ServiceContext, limit: int = 500) -> int:
    """Fire up to `limit` due timers; safe with any number of nurture instances side by side."""
    if ctx.engine is None or ctx.outbox is None:
        raise RuntimeError("nurture timers started before the service")
    async with ctx.engine.begin() as conn:
        uow = UnitOfWork(conn, ctx.tables, producer_name(ctx.name), ctx.clock)
        fired = await store.claim_due(conn, ctx.clock.now(), limit)
        for timer in fired:
            recycled = LeadRecycled(
                lead_id=timer.lead_id,
                assignment_id=timer.assignment_id,
                previous_rep_id=timer.rep_id,
                team_id=timer.team_id,
                reason="follow_up_deadline_passed",
                exclude_rep_ids=[timer.rep_id],
            )
            uow.emit(
                topics.LEADS_RECYCLED,
                recycled,
                lead_id=timer.lead_id,
                correlation_id=timer.correlation_id,
                event_id=uuid.uuid5(LEADFLOW_NS, f"timer/{timer.id}"),
            )
        rows = await uow.flush_outbox()
    if fired:
        log.info("timers_fired", count=len(fired))
    await ctx.outbox.publish(rows)
    return len(fired)


async def run_timers(ctx: ServiceContext, interval_s: float) -> None:
    """Poll for due timers; never dies on a transient failure."""
    await drain_forever(lambda: fire_due_once(ctx), interval_s=interval_s, metrics=ctx.metrics, stage="timers")
