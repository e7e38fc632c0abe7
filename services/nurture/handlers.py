"""nurture's subscribers: assignments start a follow-up clock; contact or pooling stops it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from services.nurture import store
from shared.runtime.db import Inbound, UnitOfWork
from shared.schemas.events import LeadAssigned, SalesActivity

# Any of these means the owner followed up (or the lead is settled): the recycle clock stops.
STOPPING_ACTIVITIES = frozenset(
    {"contacted", "follow_up", "qualified", "disqualified", "converted", "lost", "rejected"}
)


class Nurture:
    """Handlers bound to the follow-up policy."""

    def __init__(self, follow_up: timedelta) -> None:
        self.follow_up = follow_up

    async def on_lead_assigned(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Start the follow-up clock; a new assignment supersedes the lead's previous clock."""
        assigned: list[LeadAssigned] = [m.payload for m in messages]
        await store.stop_timers(
            uow.conn, [a.lead_id for a in assigned], uow.now(), keep=[a.assignment_id for a in assigned]
        )
        await store.start_timers(
            uow.conn,
            [
                {
                    "kind": "follow_up",
                    "lead_id": a.lead_id,
                    "assignment_id": a.assignment_id,
                    "rep_id": a.rep_id,
                    "team_id": a.team_id,
                    "correlation_id": m.envelope.correlation_id,
                    "due_at": uow.now() + self.follow_up,
                    "created_at": uow.now(),
                }
                for m, a in zip(messages, assigned, strict=True)
            ],
        )
        for message in messages:
            uow.outcome(message, "clock_started")

    async def on_lead_pooled(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """A pooled lead has no owner to chase."""
        await store.stop_timers(uow.conn, [m.payload.lead_id for m in messages], uow.now())

    async def on_sales_activity(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Contact (or a settled outcome) stops the lead's clock."""
        stopping: list[SalesActivity] = [m.payload for m in messages if m.payload.kind in STOPPING_ACTIVITIES]
        stopped = await store.stop_timers(uow.conn, [a.lead_id for a in stopping], uow.now())
        for message in messages:
            uow.outcome(
                message, "clock_stopped" if stopped and message.payload.kind in STOPPING_ACTIVITIES else "noted"
            )
