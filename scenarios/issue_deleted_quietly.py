"""issue-deleted-quietly: an issue deleted while its task stays unchanged is recreated once.

Guarantee (exactly one issue per task; humans cannot break it silently): the tick
talks to Jira about a task only when the task changes, so a deleted issue of a
task nobody touches again would stay missing for good. The reconciler reads every
tracked issue by id; one that bulkfetch no longer returns was deleted, and under
the default policy (``recreate``) the mapping is forgotten and the next tick
creates the issue again - once, audited.

Faults: people delete a quarter of the mapped issues in Jira; nothing changes in
PeopleForce.

Checks: after one reconcile pass and the next tick every victim has exactly one
new issue (a new id), one ``issue_deleted`` event and two ``created`` events; one
issue per task, completion agrees, zero writes at rest (no further recreation).
The ``skip_reconcile`` knob leaves the pass out: the victims stay without an issue.
"""

from __future__ import annotations

from collections import Counter

from scenarios.harness import Harness
from scenarios.result import RunContext
from scenarios.steps import split, sync_tasks

NAME = "issue-deleted-quietly"
DEFAULT_TASKS = 12


async def run(h: Harness, ctx: RunContext) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    victims, _rest = split(ids, max(2, len(ids) // 4))

    h.phase("issues deleted in Jira, tasks left alone")
    old = {t: h.delete_issue(t) for t in victims}
    h.fault(f"{len(victims)} mapped issues deleted; their tasks unchanged")
    await h.settle()

    if ctx.knobs.skip_reconcile:
        h.note("reconcile pass left out (knob)")
    else:
        h.phase("one reconcile pass")
        await h.reconcile()
    await h.settle()

    issues = h.issues_by_task()
    created = Counter(e.pf_task_id for e in h.events("created"))
    deleted = Counter(e.pf_task_id for e in h.events("issue_deleted"))
    wrong = [
        t
        for t in victims
        if len(issues.get(t, [])) != 1
        or issues[t][0]["id"] == old[t]
        or created[t] != 2
        or deleted[t] != 1
    ]
    ctx.check("recreated exactly once", not wrong, f"{wrong[:10]}")
    untouched = [t for t in victims if h.pf.get_task(t)["completed"]]
    ctx.check("tasks unchanged", not untouched, f"{untouched[:10]}")
