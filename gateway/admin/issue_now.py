"""The task trace's Jira side: the mapped issue as Jira holds it now, and what drifted.

The ledger says what the gateway last did; an operator asking "why is this issue
still open?" also needs what people did since: the issue deleted, moved to another
project (a new key), its tracking label removed, done in Jira while the task is
open. One GET of the issue (the fields the reconciler compares and the lineage
property) answers all of them. Read-only: the reconciler repairs, this only tells.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import httpx

from gateway.admin.upstream import describe, jira_client
from gateway.clients import NotFoundError, UpstreamError
from gateway.models import DomainConfig, ReopenPolicy, SyncState
from gateway.sync.drift import BASE_FIELDS
from gateway.sync.lineage import lineage_matches


@dataclass(frozen=True)
class IssueNow:
    """The mapped issue in Jira now; ``drift`` lists what differs from the ledger."""

    found: str
    key: str | None = None
    status: str | None = None
    done: bool | None = None
    project: str | None = None
    labels: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)


def _project_key(fields: dict[str, object]) -> str | None:
    project = fields.get("project")
    key = project.get("key") if isinstance(project, dict) else None
    return key if isinstance(key, str) else None


def _drift(domain: DomainConfig, state: SyncState, issue_key: str, view: IssueNow) -> list[str]:
    """What a person changed that the gateway relies on, each with what happens next."""
    notes: list[str] = []
    if state.jira_issue_key and issue_key != state.jira_issue_key:
        notes.append(
            f"moved in Jira: {state.jira_issue_key} is now {issue_key}; the reconciler's "
            "next pass updates the mapping"
        )
    if domain.tracking_label not in view.labels:
        notes.append(
            f"the tracking label {domain.tracking_label!r} was removed: webhooks and the "
            "sweep do not see the issue until the reconciler's next pass restores it"
        )
    if view.done and not state.is_completed:
        notes.append(
            "done in Jira while the task is open: its webhook job, the sweep or the "
            "reconciler completes the task"
        )
    if not view.done and state.is_completed:
        then = (
            "the reconciler's next pass reopens the task"
            if domain.reopen_policy == ReopenPolicy.INCOMPLETE
            else "the task stays completed (reopen policy 'leave')"
        )
        notes.append(f"reopened in Jira after the task was completed: {then}")
    return notes


async def read_issue_now(
    http: httpx.AsyncClient, domain: DomainConfig, state: SyncState | None
) -> IssueNow | None:
    """The mapped issue as Jira holds it now; None when the task has no issue."""
    if state is None or not state.jira_issue_id:
        return None
    client = jira_client(http, domain)
    try:
        issue = await client.get_issue(
            state.jira_issue_id, fields=BASE_FIELDS, properties=[domain.property_key]
        )
    except NotFoundError:
        return IssueNow(
            found=f"issue {state.jira_issue_key or state.jira_issue_id} is deleted in Jira "
            "(or hidden from the gateway's account); the reconciler's next pass applies the "
            f"domain's deleted-issue policy ({domain.deleted_issue_policy})"
        )
    except UpstreamError as error:
        return IssueNow(found=f"Jira could not be read: {describe(error, domain)}")
    labels = issue.fields.get("labels")
    status = issue.status
    view = IssueNow(
        found="found",
        key=issue.key,
        status=status.name if status else None,
        done=issue.is_done,
        project=_project_key(issue.fields),
        labels=[str(label) for label in labels] if isinstance(labels, list) else [],
    )
    drift = _drift(domain, state, issue.key, view)
    if lineage_matches(issue.properties.get(domain.property_key), domain) != state.pf_task_id:
        drift.append("its lineage property does not name this task")
    return replace(view, drift=drift)
