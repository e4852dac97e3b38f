"""One log line per write, taken from the audit event that records it.

Every write the gateway makes to Jira or PeopleForce is recorded as a SyncEvent
through the Ledger, so logging there (after the commit) gives exactly one line per
write, in the operator's words (``created IT-8 for task 31``), without a log call
beside every write. A dead letter logs at WARNING (it needs the operator); a failed
attempt at INFO (it is retried, and its cause was logged at WARNING where it
happened); bookkeeping (a dropped task, a historical task, an unmatched assignee, a
failed tick already logged by the tick) at DEBUG, since the audit log has them, as is
an event that found both sides already agreeing (``NOTHING_WRITTEN``): no write, no
INFO line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from gateway.models import EventType, SyncEvent

log = logging.getLogger("gateway.sync.writes")

# How each write reads in the log; {key} is the Jira issue key, {task} the task id.
WRITE_MESSAGES: dict[str, str] = {
    EventType.CREATED: "created {key} for task {task}",
    EventType.ADOPTED: "adopted {key} for task {task} ({reason})",
    EventType.UPDATED: "updated {key} for task {task} ({reason})",
    EventType.TRANSITIONED: "moved {key} to done for task {task} ({reason})",
    EventType.COMPLETED_FROM_JIRA: "completed task {task} from {key}",
    EventType.REPAIRED_BY_SWEEPER: "completed task {task} from {key} (sweep: webhook lost)",
    EventType.REOPENED_FROM_JIRA: "task {task} from {key}: {reason}",
    EventType.REOPENED_IN_PEOPLEFORCE: "task {task} of {key}: {reason}",
    EventType.ISSUE_DELETED: "task {task}, issue {key}: {reason}",
    EventType.TASK_DELETED: "task {task}, issue {key}: {reason}",
    EventType.REPLAYED: "task {task}: {reason}",
    EventType.DISCARDED: "task {task}: {reason}",
    EventType.FAILED: "failed task {task} ({key}): {reason}",
}
WARNING_EVENTS = frozenset({EventType.DEAD_LETTERED})
# The details of an event of a write type that records an agreement found, not a write
# (say, a completion both sides already had): the audit keeps it, the log at DEBUG.
NOTHING_WRITTEN: dict[str, Any] = {"written": False}


def wrote(event: SyncEvent) -> bool:
    """Whether the event records a write the gateway made (not one it found done)."""
    return (event.details or {}).get("written") is not False


def log_events(events: Iterable[SyncEvent]) -> None:
    """Log each recorded event: writes at INFO, failures at WARNING, the rest at DEBUG."""
    for event in events:
        key = event.jira_issue_key or event.jira_issue_id or "no issue"
        template = WRITE_MESSAGES.get(event.event_type)
        if template is not None:
            level = logging.INFO if wrote(event) else logging.DEBUG
        else:
            level = logging.WARNING if event.event_type in WARNING_EVENTS else logging.DEBUG
            template = "{kind} task {task}: {reason}"
            if event.pf_task_id is None:
                template = "{kind}: {reason}"
        if not log.isEnabledFor(level):
            continue
        message = template.format(
            key=key, task=event.pf_task_id, reason=event.reason, kind=event.event_type
        )
        log.log(
            level,
            message,
            extra={
                "task_id": event.pf_task_id,
                "issue_key": event.jira_issue_key,
                "issue_id": event.jira_issue_id,
                "event": event.event_type,
            },
        )
