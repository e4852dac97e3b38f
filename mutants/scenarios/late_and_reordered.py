"""late-and-reordered: late, shuffled deliveries end in the issues' current state.

Guarantee (convergence, act on state not on events): a job re-reads the issue,
so whatever order deliveries arrive in, each task ends completed exactly when
its issue is done now.

Faults: every delivery is delayed (0-200 ms) and the queue is shuffled. Five
groups of tasks: (A) issue closed in Jira; (B) closed then reopened in Jira
before the "done" delivery arrives; (C) closed, reopened and closed again, so
two "done" deliveries race; (D) completed in PeopleForce, the gateway closes
the issue, then HR reopens the task and the gateway reopens the issue, while
the "done" delivery of the gateway's own transition is still on its way;
(E) untouched.

Checks: A and C tasks completed, B and D tasks open with open issues, every
pair agrees (no issue is reopened in Jira after its task was completed, so no
pair is exempt), one issue per task, zero writes at rest.
"""

from __future__ import annotations

from scenarios.harness import Harness, chunks
from scenarios.result import RunContext
from scenarios.steps import sync_tasks

NAME = "late-and-reordered"
DEFAULT_TASKS = 40


async def run(h: Harness, ctx: RunContext) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    late, reopened, twice, pf_round_trip, _untouched = chunks(ids, 5)

    h.phase("people act while deliveries are delayed and shuffled")
    h.webhooks.set_faults(delay=(0.0, 0.2), reorder=True)
    h.fault("every delivery delayed 0-200 ms, queue shuffled")
    for task_id in late:
        h.close_issue(task_id)
    for task_id in reopened:
        h.close_issue(task_id)
        h.reopen_issue(task_id)
    for task_id in twice:
        h.close_issue(task_id)
        h.reopen_issue(task_id)
        h.close_issue(task_id)
    for task_id in pf_round_trip:
        h.complete_task(task_id)
    await h.tick()  # the gateway closes their issues; those deliveries wait too
    for task_id in pf_round_trip:
        h.reopen_task(task_id)
    await h.tick()  # and reopens the issues
    h.fault(f"{h.webhooks.pending} deliveries held back, then sent late and shuffled")

    h.phase("late deliveries arrive")
    await h.deliver()
    await h.run_jobs()
    await h.settle()
    h.webhooks.clear_faults()

    tasks, issues = h.pf.tasks, h.issues_by_task()

    def ends(group: list[int], completed: bool) -> list[int]:
        return [
            t
            for t in group
            if tasks[t]["completed"] != completed
            or any((i["status_category"] == "done") != completed for i in issues.get(t, []))
        ]

    wrong = ends(late, True) + ends(twice, True)
    ctx.check("closed issues completed their tasks", not wrong, f"not completed: {wrong[:10]}")
    wrong = ends(reopened, False)
    ctx.check("a done arriving after a reopen changes nothing", not wrong, f"wrong: {wrong[:10]}")
    wrong = ends(pf_round_trip, False)
    ctx.check("reopened in PeopleForce, reopened in Jira", not wrong, f"wrong: {wrong[:10]}")
