"""The audit log (SyncEvent): what counts as a write or an error, and the filtered list.

Admin changes are in the same log (``admin_change`` events with an ``actor``),
written by ``gateway.admin.change_log``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col

from gateway.admin.paging import newest_first
from gateway.models import EventType, SyncEvent

# Event types that wrote to PeopleForce or Jira, and those that report a failure.
WRITE_EVENTS = frozenset(
    {
        EventType.CREATED,
        EventType.ADOPTED,
        EventType.UPDATED,
        EventType.TRANSITIONED,
        EventType.COMPLETED_FROM_JIRA,
        EventType.REOPENED_FROM_JIRA,
        EventType.REPAIRED_BY_SWEEPER,
    }
)
ERROR_EVENTS = frozenset({EventType.FAILED, EventType.TICK_FAILED, EventType.DEAD_LETTERED})


@dataclass(frozen=True)
class EventFilter:
    """What the admin searches the audit log by; None means any."""

    domain_id: int | None = None
    pf_task_id: int | None = None
    jira_issue_key: str | None = None
    event_type: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _conditions(filters: EventFilter) -> list[Any]:
    conditions: list[Any] = []
    if filters.domain_id is not None:
        conditions.append(SyncEvent.domain_id == filters.domain_id)
    if filters.pf_task_id is not None:
        conditions.append(SyncEvent.pf_task_id == filters.pf_task_id)
    if filters.jira_issue_key:
        conditions.append(SyncEvent.jira_issue_key == filters.jira_issue_key.strip().upper())
    if filters.event_type:
        conditions.append(SyncEvent.event_type == filters.event_type)
    if filters.actor:
        conditions.append(SyncEvent.actor == filters.actor.strip())
    if filters.since is not None:
        conditions.append(col(SyncEvent.created_at) >= filters.since)
    if filters.until is not None:
        conditions.append(col(SyncEvent.created_at) < filters.until)
    return conditions


def list_events(
    session: Session, filters: EventFilter, page: int = 1, page_size: int = 50
) -> tuple[list[SyncEvent], int]:
    """Newest first, with the total count for pagination."""
    return newest_first(session, SyncEvent, _conditions(filters), page, page_size)
