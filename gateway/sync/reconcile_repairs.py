"""The reconciler's repairs of one tracked issue, after one bulk read showed it.

``plan_repairs`` is pure: it compares the issue as Jira holds it now with the
mapping's row and decides what drifted. Most issues have not drifted, and those
cost nothing more - no lock, no database, no request. The rest are repaired under
the task's lock, re-reading the row first (a tick or a webhook job may have acted
since the bulk read): the mapping follows a move, the tracking label comes back,
a field a person edited is overwritten or left (the domain's policy, audited
either way, and a drift left alone is audited once, not every pass), a deleted
issue is recreated or let go. Completion and reopen go through the webhook job's
own path (``inbound.apply_issue_state``), so the reopen policy is the same
whoever notices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from gateway.clients.jira import JiraClient
from gateway.clients.models import JiraIssue
from gateway.models import (
    DeletedIssuePolicy,
    DomainConfig,
    EditedFieldPolicy,
    EventType,
    ReopenPolicy,
    SyncEvent,
    SyncState,
    SyncStatus,
)
from gateway.sync.deps import SyncDeps
from gateway.sync.drift import LABELS, drift_digest, edited_fields, missing_labels
from gateway.sync.inbound import Outcome, Source, apply_issue_state
from gateway.sync.ledger import Ledger
from gateway.sync.locks import task_lock

REOPENED = "reopened"


class TrackedRow(NamedTuple):
    """The columns of a mapping the reconciler compares with Jira."""

    id: int
    pf_task_id: int
    issue_id: str
    issue_key: str | None
    is_completed: bool
    written: dict[str, Any] | None
    acknowledged: dict[str, Any] | None


@dataclass
class ReconcileReport:
    """What one pass read and repaired; counters, the audit log has the details."""

    domain_id: int
    started_at: datetime
    finished_at: datetime | None = None
    tracked: int = 0
    requests: int = 0
    unread: int = 0
    moved: int = 0
    labels_restored: int = 0
    deleted: int = 0
    completed: int = 0
    reopened: int = 0
    reopens_left: int = 0
    """Issues reopened after their task was completed, left so by ``reopen_policy leave``."""
    fields_left: int = 0
    fields_overwritten: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def repaired(self) -> int:
        return (
            self.moved
            + self.labels_restored
            + self.deleted
            + self.completed
            + self.reopened
            + self.fields_overwritten
        )

    def summary(self) -> str:
        """One line for the domain page and the CLI, e.g. ``read 120 in 2 requests, 1 moved``."""
        parts = [f"read {self.tracked} in {self.requests} requests"]
        for name in ("moved", "labels_restored", "deleted", "completed", "reopened"):
            if getattr(self, name):
                parts.append(f"{getattr(self, name)} {name.replace('_', ' ')}")
        if self.fields_overwritten:
            parts.append(f"{self.fields_overwritten} fields overwritten")
        if self.fields_left:
            parts.append(f"{self.fields_left} edits left")
        if self.reopens_left:
            parts.append(f"{self.reopens_left} reopens left")
        if self.unread:
            parts.append(f"{self.unread} unread")
        if self.errors:
            parts.append(f"{len(self.errors)} errors")
        return ", ".join(parts)


@dataclass
class RepairPlan:
    """What drifted on one issue, and what to do about it."""

    new_key: str | None = None
    restore_labels: list[str] = field(default_factory=list)
    label_removed: bool = False
    overwrite: dict[str, Any] = field(default_factory=dict)
    edited: list[str] = field(default_factory=list)
    acknowledged: dict[str, Any] | None = None
    acknowledge_changed: bool = False
    status_changed: bool = False
    reopen_left: bool = False
    """A reopen newly seen that the policy leaves alone (the task stays completed)."""

    @property
    def needs_lock(self) -> bool:
        return bool(self.new_key or self.restore_labels or self.edited) or self.acknowledge_changed


def plan_repairs(domain: DomainConfig, row: TrackedRow, issue: JiraIssue) -> RepairPlan:
    """Compare the issue with its row (pure); an empty plan means nothing drifted."""
    plan = RepairPlan()
    if issue.key and issue.key != row.issue_key:
        plan.new_key = issue.key
    labels = issue.fields.get(LABELS)
    plan.label_removed = domain.tracking_label not in (labels or [])
    if plan.label_removed:
        plan.restore_labels.append(domain.tracking_label)
    ack = dict(row.acknowledged or {})
    if issue.status_category_key is None:
        return plan  # no status to judge by (Jira left it out): judge nothing this pass
    reopened_left = not issue.is_done and row.is_completed
    if reopened_left and domain.reopen_policy == ReopenPolicy.LEAVE:
        plan.status_changed = plan.reopen_left = ack.get("status") != REOPENED
        ack["status"] = REOPENED
    else:
        plan.status_changed = issue.is_done != row.is_completed
        ack.pop("status", None)
    if not row.is_completed and not issue.is_done:
        _plan_field_edits(domain, row, issue, plan, ack)
    else:
        ack.pop("fields", None)
    plan.acknowledge_changed = ack != (row.acknowledged or {})
    plan.acknowledged = ack or None
    return plan


def _plan_field_edits(
    domain: DomainConfig, row: TrackedRow, issue: JiraIssue, plan: RepairPlan, ack: dict[str, Any]
) -> None:
    written = row.written or {}
    edited = edited_fields(written, issue.fields)
    others = [
        label
        for label in missing_labels(written.get(LABELS), issue.fields.get(LABELS))
        if label != domain.tracking_label
    ]
    if others:
        edited = sorted([*edited, LABELS])
    if not edited:
        ack.pop("fields", None)
        return
    # The same drift seen again is left alone: audited once, and written back at most
    # once (a value Jira keeps in its own form would otherwise be rewritten every pass).
    digest = drift_digest({name: issue.fields.get(name) for name in edited})
    if ack.get("fields") == digest:
        return
    ack["fields"] = digest
    plan.edited = edited
    if domain.edited_field_policy == EditedFieldPolicy.OVERWRITE:
        plan.overwrite = {name: written[name] for name in edited if name != LABELS}
        plan.restore_labels.extend(others)


@dataclass
class RepairRun:
    """One pass's shared parts: who to call, where to write, what to count."""

    deps: SyncDeps
    domain: DomainConfig
    ledger: Ledger
    jira: JiraClient
    report: ReconcileReport


async def repair_issue(run: RepairRun, row: TrackedRow, issue: JiraIssue | None) -> None:
    """Repair whatever a person did to one tracked issue; nothing at all if nothing drifted."""
    if issue is None:
        await _issue_gone(run, row)
        return
    plan = plan_repairs(run.domain, row, issue)
    if plan.needs_lock:
        async with task_lock(run.deps.redis, run.ledger.domain_id, row.pf_task_id):
            state = await run.ledger.state(row.pf_task_id)
            if not _still_tracked(state, row):
                return
            assert state is not None
            await _apply(run, state, plan)
    if plan.status_changed:
        outcome = await apply_issue_state(
            run.deps, run.ledger, run.domain, issue, row.pf_task_id, Source.RECONCILER
        )
        if outcome == Outcome.COMPLETED:
            run.report.completed += 1
        elif outcome == Outcome.REOPENED:
            run.report.reopened += 1
        elif outcome == Outcome.ALREADY_AGREES and plan.reopen_left:
            run.report.reopens_left += 1  # audited by the webhook job's path, written nothing


def _still_tracked(state: SyncState | None, row: TrackedRow) -> bool:
    return (
        state is not None
        and state.status == SyncStatus.SYNCED
        and state.jira_issue_id == row.issue_id
    )


async def _apply(run: RepairRun, state: SyncState, plan: RepairPlan) -> None:
    """The locked part: one edit request at most, then the row and its audit in one write."""
    ledger, events = run.ledger, list[SyncEvent]()
    if plan.new_key:
        old, state.jira_issue_key = state.jira_issue_key, plan.new_key
        events.append(
            ledger.event(
                EventType.ISSUE_MOVED, f"moved in Jira: {old} -> {plan.new_key}", state=state
            )
        )
        run.report.moved += 1
    if plan.overwrite or plan.restore_labels:
        update = {LABELS: [{"add": label} for label in plan.restore_labels]}
        await run.jira.edit_issue(
            state.jira_issue_id or "",
            plan.overwrite,
            update=update if plan.restore_labels else None,
        )
    if plan.label_removed:
        reason = f"label {run.domain.tracking_label!r} removed in Jira; restored"
        events.append(ledger.event(EventType.LABEL_RESTORED, reason, state=state))
        run.report.labels_restored += 1
    if plan.edited:
        events.append(_edit_event(run, state, plan))
    state.acknowledged_drift = plan.acknowledged
    await ledger.save(state, *events)


def _edit_event(run: RepairRun, state: SyncState, plan: RepairPlan) -> SyncEvent:
    names = ", ".join(plan.edited)
    if run.domain.edited_field_policy == EditedFieldPolicy.OVERWRITE:
        run.report.fields_overwritten += len(plan.edited)
        reason = f"edited in Jira: {names}; overwritten with the task's values (policy overwrite)"
    else:
        run.report.fields_left += len(plan.edited)
        reason = f"edited in Jira: {names}; left as edited until the task changes (policy leave)"
    return run.ledger.event(
        EventType.FIELD_EDITED_IN_JIRA, reason, state=state, details={"fields": plan.edited}
    )


async def _issue_gone(run: RepairRun, row: TrackedRow) -> None:
    """Bulkfetch left the issue out: deleted (or hidden from us), which Jira does not tell
    apart. An open task's issue is recreated by the next tick (policy recreate, the
    default) or let go; a completed task has nothing to recreate."""
    async with task_lock(run.deps.redis, run.ledger.domain_id, row.pf_task_id):
        state = await run.ledger.state(row.pf_task_id)
        if not _still_tracked(state, row):
            return
        assert state is not None
        policy = run.domain.deleted_issue_policy
        if not state.is_completed and policy == DeletedIssuePolicy.RECREATE:
            await run.ledger.delete(state)
            reason = "issue deleted in Jira; the next tick creates it again (policy recreate)"
        else:
            state.status = SyncStatus.DELETED
            await run.ledger.save(state)
            reason = (
                "issue of a completed task deleted in Jira; nothing to recreate"
                if state.is_completed
                else "issue deleted in Jira; the task is no longer synced (policy leave)"
            )
        await run.ledger.record(EventType.ISSUE_DELETED, reason, state=state)
        run.report.deleted += 1
