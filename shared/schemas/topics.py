"""Every public topic name, in one place (ARCHITECTURE.md §1)."""

from __future__ import annotations

from typing import Final

LEADS_CAPTURED: Final = "leads.captured.v1"
LEADS_INGESTED: Final = "leads.ingested.v1"
LEADS_REJECTED: Final = "leads.rejected.v1"
LEADS_RESUBMITTED: Final = "leads.resubmitted.v1"
LEADS_DEDUPLICATED: Final = "leads.deduplicated.v1"
LEADS_MERGED: Final = "leads.merged.v1"
LEADS_SCORED: Final = "leads.scored.v1"
LEADS_ASSIGNED: Final = "leads.assigned.v1"
LEADS_POOLED: Final = "leads.pooled.v1"
LEADS_DEFERRED: Final = "leads.deferred.v1"
SALES_ACTIVITY: Final = "sales.activity.v1"
SALES_REP_STATUS: Final = "sales.rep_status.v1"
POOL_COMMANDS: Final = "pool.commands.v1"
POOL_COMMAND_REJECTED: Final = "pool.command_rejected.v1"
DEDUP_COMMANDS: Final = "dedup.commands.v1"
MARKETING_ENGAGEMENT: Final = "marketing.engagement.v1"
NURTURE_TOUCH_REQUESTED: Final = "nurture.touch_requested.v1"
LEADS_SLA_WARNED: Final = "leads.sla_warned.v1"
LEADS_RECYCLED: Final = "leads.recycled.v1"
LEADS_REENGAGED: Final = "leads.reengaged.v1"
LEADS_ARCHIVED: Final = "leads.archived.v1"
PRIVACY_ERASURE_REQUESTED: Final = "privacy.erasure_requested.v1"
PRIVACY_ERASURE_COMPLETED: Final = "privacy.erasure_completed.v1"

ALL_TOPICS: Final[tuple[str, ...]] = (
    LEADS_CAPTURED,
    LEADS_INGESTED,
    LEADS_REJECTED,
    LEADS_RESUBMITTED,
    LEADS_DEDUPLICATED,
    LEADS_MERGED,
    LEADS_SCORED,
    LEADS_ASSIGNED,
    LEADS_POOLED,
    LEADS_DEFERRED,
    SALES_ACTIVITY,
    SALES_REP_STATUS,
    POOL_COMMANDS,
    POOL_COMMAND_REJECTED,
    DEDUP_COMMANDS,
    MARKETING_ENGAGEMENT,
    NURTURE_TOUCH_REQUESTED,
    LEADS_SLA_WARNED,
    LEADS_RECYCLED,
    LEADS_REENGAGED,
    LEADS_ARCHIVED,
    PRIVACY_ERASURE_REQUESTED,
    PRIVACY_ERASURE_COMPLETED,
)

# Outcomes: every captured submission ends in exactly one of these.
OUTCOME_TOPICS: Final[tuple[str, ...]] = (
    LEADS_ASSIGNED,
    LEADS_POOLED,
    LEADS_DEFERRED,
    LEADS_MERGED,
    LEADS_REJECTED,
    LEADS_RESUBMITTED,
)


DLQ_SUFFIX: Final = ".dlq"
# `leadflow dlq replay` → itself: one marker per re-driven dead letter, so none is sent twice (not a service topic).
DLQ_REPLAYED: Final = "dlq.replayed.v1"


class DlqHeader:
    """The headers a dead letter carries (ARCHITECTURE.md §4): written by the runtime, read by `leadflow dlq`."""

    ERROR_CODE: Final = "dlq.error_code"
    ERROR_MESSAGE: Final = "dlq.error_message"
    SERVICE: Final = "dlq.service"
    ORIGINAL_TOPIC: Final = "dlq.original_topic"
    ORIGINAL_PARTITION: Final = "dlq.original_partition"
    ORIGINAL_OFFSET: Final = "dlq.original_offset"
    FAILED_AT: Final = "dlq.failed_at"
    REPLAYED_FROM: Final = "dlq.replayed_from"  # on a replayed message: <dlq topic>:<partition>:<offset>


def dlq_topic(topic: str) -> str:
    """Dead-letter topic of a topic (ARCHITECTURE.md §4)."""
    return f"{topic}{DLQ_SUFFIX}"


def event_type_of(topic: str) -> str:
    """`leads.scored.v1` -> `leads.scored`."""
    return topic.rsplit(".", 1)[0]


def schema_version_of(topic: str) -> int:
    """`leads.scored.v1` -> 1."""
    return int(topic.rsplit(".v", 1)[1])
