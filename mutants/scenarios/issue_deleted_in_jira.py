"""issue-deleted-in-jira: a deleted issue is recreated exactly once.

Guarantee (exactly one issue per task): when the gateway meets a 404 on a
mapped issue it forgets the mapping, audits the deletion and recreates the
issue on the next tick - once, not on every tick after.

Faults: someone deletes a quarter of the mapped issues in Jira, and HR then
edits those tasks (the gateway only talks to Jira about a task when the task
changes, so that is when it learns of the deletion). For a few other tasks
the issue is deleted and the task then completed in PeopleForce: nothing is
recreated for a finished task.

Checks: each edited victim has exactly one (new) issue carrying the edit, two
``created`` audit events and one ``issue_deleted``; completed victims have no
issue and a completed ledger row; one issue per task, completion agrees,
zero writes at rest (so no further recreation).
"""

from __future__ import annotations

from collections import Counter

from scenarios.harness import Harness
from scenarios.result import RunContext
from scenarios.steps import split, sync_tasks

NAME = "issue-deleted-in-jira"
DEFAULT_TASKS = 20


async def run(h: Harness, ctx: RunContext) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    edited, completed, _rest = split(ids, max(1, len(ids) // 4), max(1, len(ids) // 10))

    h.phase("issues deleted in Jira")
    old = {t: h.issue_of(t)["id"] for t in edited + completed}
    for task_id in edited + completed:
        h.delete_issue(task_id)
    h.fault(f"{len(edited) + len(completed)} mapped issues deleted by a person")
    for task_id in edited:
        h.edit_task(task_id, title=f"{h.pf.get_task(task_id)['title']} (rescheduled)")
    for task_id in completed:
        h.complete_task(task_id)
    await h.settle()

    issues = h.issues_by_task()
    created = Counter(e.pf_task_id for e in h.events("created"))
    deleted = Counter(e.pf_task_id for e in h.events("issue_deleted"))
    wrong = [
        t
        for t in edited
        if len(issues.get(t, [])) != 1
        or issues[t][0]["id"] == old[t]
        or issues[t][0]["summary"] != h.pf.get_task(t)["title"]
        or created[t] != 2
        or deleted[t] != 1
    ]
    ctx.check("recreated exactly once", not wrong, f"{wrong[:10]}")
    states = h.states()
    wrong = [t for t in completed if issues.get(t) or not states[t].is_completed]
    ctx.check("nothing recreated for completed tasks", not wrong, f"{wrong[:10]}")
