"""The consistency verdict: both sides agree for every synced pair, no duplicates.

Read straight from the fakes (what PeopleForce and Jira really hold) and the
ledger, the way an auditor would compare the two systems.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from gateway.models import SyncState, SyncStatus

PROPERTY_KEY = "pf_sync_metadata"
DONE = "done"


@dataclass
class Verdict:
    """Counts of the comparison; ``ok`` is the demo's exit status."""

    tasks: int = 0
    pairs: int = 0
    agreeing: int = 0
    duplicates: int = 0
    missing: int = 0
    dropped: int = 0
    closed_unsynced: int = 0
    problems: list[str] = field(default_factory=list)
    aborted: str | None = None

    @property
    def ok(self) -> bool:
        if self.aborted is not None:
            return False
        return self.pairs == self.agreeing and self.duplicates == 0 and self.missing == 0

    def line(self) -> str:
        if self.aborted is not None:
            return f"VERDICT: NONE - {self.aborted}"
        word = "CONSISTENT" if self.ok else "INCONSISTENT"
        return (
            f"VERDICT: {word} - {self.agreeing}/{self.pairs} pairs agree, "
            f"duplicates={self.duplicates}, missing={self.missing}, "
            f"dropped by rule={self.dropped}, closed before sync={self.closed_unsynced}, "
            f"tasks={self.tasks}"
        )


def judge(
    engine: Engine, domain_id: int, tasks: list[dict[str, Any]], issues: list[dict[str, Any]]
) -> Verdict:
    """Compare PeopleForce ``tasks`` and Jira ``issues`` through the ledger."""
    verdict = Verdict(tasks=len(tasks))
    per_task: Counter[int] = Counter()
    by_id: dict[str, dict[str, Any]] = {}
    for issue in issues:
        by_id[issue["id"]] = issue
        lineage = (issue.get("properties") or {}).get(PROPERTY_KEY)
        if isinstance(lineage, dict) and isinstance(lineage.get("pf_task_id"), int):
            per_task[lineage["pf_task_id"]] += 1
    verdict.duplicates = sum(count - 1 for count in per_task.values() if count > 1)
    with Session(engine) as session:
        states = {
            s.pf_task_id: s
            for s in session.exec(select(SyncState).where(SyncState.domain_id == domain_id))
        }
    for task in tasks:
        state = states.get(task["id"])
        unsynced = state is None or state.status in (SyncStatus.PENDING_CREATE, SyncStatus.DEAD)
        if unsynced and task["completed"]:
            verdict.closed_unsynced += 1  # completed before the gateway ever saw it open
            continue
        if state is None or unsynced:
            verdict.missing += 1
            verdict.problems.append(f"task {task['id']}: open, but no Jira issue")
            continue
        if state.status == SyncStatus.DROPPED:
            verdict.dropped += 1
            continue
        if state.status != SyncStatus.SYNCED:
            continue
        verdict.pairs += 1
        issue = by_id.get(state.jira_issue_id or "")
        if issue is None:
            verdict.problems.append(f"task {task['id']}: issue {state.jira_issue_key} is gone")
            continue
        issue_done = issue["status_category"] == DONE
        if issue_done == bool(task["completed"]):
            verdict.agreeing += 1
        else:
            verdict.problems.append(
                f"task {task['id']} ({'done' if task['completed'] else 'open'}) vs "
                f"{issue['key']} ({issue['status']})"
            )
    return verdict
