"""The guarantees, checked from the fakes' state and request logs, never from the gateway's word.

Definitions used by every scenario:

- a task **must have an issue** when it is open in PeopleForce (and no rule
  dropped it); a completed task may have none (it may have been completed
  before it was ever synced, or its issue deleted after it was finished);
- **one issue per task**: no task has two labelled issues whose lineage
  property names it, and every task that must have an issue has exactly one;
- **completion agrees** for a pair when the task is completed in PeopleForce
  exactly when its issue's status category is ``done``. Under the default
  ``leave`` reopen policy an issue reopened in Jira after its task was
  completed legitimately disagrees; scenarios do not generate that case, or
  name the tasks in ``RunContext.agreement_exempt``;
- **at rest**: once settled, a round (tick, deliveries, jobs) sends nothing at
  all to Jira and no write to PeopleForce (its task list is read every tick).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict

from gateway.models import SyncStatus
from scenarios.harness import Harness, is_write
from scenarios.probes import ProbedRequest
from scenarios.result import RunContext

RETRY_AFTER_TOLERANCE = 0.01


def tasks_needing_issue(h: Harness) -> set[int]:
    """Open tasks, unless a rule dropped them or they predate ``sync_since``."""
    states = h.states()
    skipped = (SyncStatus.DROPPED, SyncStatus.HISTORICAL, SyncStatus.DELETED)
    return {
        task_id
        for task_id, task in h.pf.tasks.items()
        if not task["completed"]
        and (task_id not in states or states[task_id].status not in skipped)
    }


def check_one_issue_per_task(h: Harness, ctx: RunContext) -> Counter[int]:
    """Histogram of issues per task that must have one; records the check."""
    by_task = h.issues_by_task()
    needed = tasks_needing_issue(h)
    histogram: Counter[int] = Counter(len(by_task.get(t, [])) for t in needed)
    duplicated = sorted(t for t, issues in by_task.items() if len(issues) > 1)
    missing = sorted(t for t in needed if not by_task.get(t))
    detail = []
    if duplicated:
        detail.append(f"tasks with several issues: {duplicated[:10]}")
    if missing:
        detail.append(f"tasks without an issue: {missing[:10]}")
    ctx.check("one issue per task", not duplicated and not missing, "; ".join(detail))
    return histogram


def disagreeing_tasks(h: Harness, exempt: set[int] = frozenset()) -> list[int]:  # ty: ignore[invalid-parameter-default]
    """Tasks whose completion differs from one of their issues' done-ness."""
    tasks = h.pf.tasks
    wrong = []
    for task_id, issues in h.issues_by_task().items():
        task = tasks.get(task_id)
        if task is None or task_id in exempt:
            continue
        if any(task["completed"] != (i["status_category"] == "done") for i in issues):
            wrong.append(task_id)
    return sorted(wrong)


def check_completion_agrees(h: Harness, ctx: RunContext, label: str = "completion agrees") -> int:
    wrong = disagreeing_tasks(h, ctx.agreement_exempt)
    ctx.check(label, not wrong, f"{len(wrong)} tasks disagree: {wrong[:10]}" if wrong else "")
    return len(wrong)


AT_REST_SHOWN = 5  # requests named in a failed at-rest check, to say what still moved


async def check_at_rest(h: Harness, ctx: RunContext) -> int:
    """Run one more round after settling; nothing may be sent to Jira, nothing written to PF."""
    h.reset_logs()
    await h.round()
    jira = list(h.requests("jira"))
    pf_writes = [r for r in h.requests("peopleforce") if is_write("peopleforce", r)]
    sent = jira + pf_writes
    shown = ", ".join(f"{r.method} {r.path} ({r.status})" for r in sent[:AT_REST_SHOWN])
    ctx.check(
        "zero writes at rest",
        not sent,
        f"a round at rest sent {len(jira)} requests to Jira and {len(pf_writes)} writes to "
        f"PeopleForce: {shown}",
    )
    return len(sent)


def check_writes_bounded(ctx: RunContext, writes: int, human_changes: int) -> None:
    bound = ctx.write_bound * max(1, human_changes)
    ctx.check(
        "writes bounded",
        writes <= bound,
        f"{writes} writes for {human_changes} human changes (bound {ctx.write_bound:g} each)",
    )


def retry_after_violations(requests: list[ProbedRequest]) -> list[str]:
    """Requests repeated before the Retry-After of a 429 answering the same request elapsed.

    "The same request" is the same method, path, query and body, so concurrent
    calls to one endpoint (creates of different tasks) are told apart.
    """
    by_fingerprint: dict[str, list[ProbedRequest]] = defaultdict(list)
    for r in sorted(requests, key=lambda r: r.started):
        by_fingerprint[r.fingerprint].append(r)
    violations = []
    for sequence in by_fingerprint.values():
        for earlier, later in itertools.pairwise(sequence):
            if earlier.status != 429 or earlier.retry_after is None:
                continue
            waited = later.started - earlier.answered
            if waited < earlier.retry_after - RETRY_AFTER_TOLERANCE:
                violations.append(
                    f"{later.method} {later.path} repeated after {waited:.3f} s "
                    f"(Retry-After {earlier.retry_after:g} s)"
                )
    return violations


def concurrent_writes(requests: list[ProbedRequest]) -> list[str]:
    """Tasks that had two writes in flight at once: two processors working on one task."""
    by_task: dict[int, list[ProbedRequest]] = defaultdict(list)
    for r in requests:
        if r.task_id is not None and not r.is_read and r.status > 0:
            by_task[r.task_id].append(r)
    overlaps = []
    for task_id, writes in by_task.items():
        writes.sort(key=lambda r: r.started)
        for earlier, later in itertools.pairwise(writes):
            if later.started < earlier.answered:
                overlaps.append(f"task {task_id}: {earlier.path} and {later.path} overlapped")
    return overlaps


def repairs_reported(h: Harness) -> int:
    """Sum of what every sweep said it repaired (each repair is a lost webhook)."""
    return sum(int((e.details or {}).get("repaired", 0)) for e in h.events("sweep"))


def check_every_recovery(
    h: Harness,
    ctx: RunContext,
    recoveries: list[float | None],
    *,
    expected: int,
    check: str,
    noted: str,
) -> None:
    """One check that each of ``expected`` outages ended within its bound: ``recoveries``
    holds the seconds each took (None: not within the bound); ``noted`` (e.g. "ticks
    resumed") is followed by the range of those seconds."""
    slow = [n + 1 for n, seconds in enumerate(recoveries) if seconds is None]
    timed = [s for s in recoveries if s is not None]
    if timed:
        h.note(f"{noted} {min(timed):.1f}-{max(timed):.1f} s after each outage")
    ctx.check(
        check,
        len(recoveries) == expected and not slow,
        f"not within the bound after outages {slow} ({len(recoveries)} of {expected} ran)",
    )
