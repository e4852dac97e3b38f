"""The audit log (SyncEvent): what counts as a write or an error, and the filtered list.

Admin changes are in the same log (``admin_change`` events with an ``actor``),
written by ``gateway.admin.change_log``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case
from sqlmodel import Session, col, func, select

from gateway.admin.paging import clamp_page, newest_first
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


@dataclass(frozen=True)
class EventGroup:
    """Events of one kind for one task, shown as one row (a task-less event is a row of its own):
    the newest of them, how many there are, and when the first happened."""

    event: SyncEvent
    count: int
    first_at: datetime


def list_event_groups(
    session: Session, filters: EventFilter, page: int = 1, page_size: int = 50
) -> tuple[list[EventGroup], int]:
    """The audit log with repeats collapsed, newest group first, and how many groups.

    A task whose assignee has no Jira account records ``assignee_unmatched`` on every
    write: forty of them are one row with a count, not a page that hides the rest.
    """
    page, page_size = clamp_page(page, page_size)
    # Only repeats about one task collapse: a task-less event (an admin change, a failed
    # tick, a sweep) is its own group, keyed by its negated id, which no task id equals.
    task_or_own = case(
        (col(SyncEvent.pf_task_id).is_(None), -col(SyncEvent.id)), else_=col(SyncEvent.pf_task_id)
    )
    groups = (
        select(
            func.max(SyncEvent.id).label("newest"),
            func.count().label("count"),
            func.min(SyncEvent.created_at).label("first_at"),
        )
        .where(*_conditions(filters))
        .group_by(col(SyncEvent.domain_id), task_or_own, col(SyncEvent.event_type))
        .subquery()
    )
    total = session.exec(select(func.count()).select_from(groups)).one()
    rows = session.exec(
        select(groups.c.newest, groups.c["count"], groups.c.first_at)
        .order_by(groups.c.newest.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    ids = [row[0] for row in rows]
    events = {e.id: e for e in session.exec(select(SyncEvent).where(col(SyncEvent.id).in_(ids)))}
    return [EventGroup(events[newest], count, first) for newest, count, first in rows], total
