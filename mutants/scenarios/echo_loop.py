"""echo-loop: a completion made on both sides at once settles without echoes.

Guarantee (no loops): a change on one side causes a bounded number of writes,
and at rest a tick makes zero writes to either side - the state hash and the
recorded completion keep the gateway from echoing its own writes back.

Faults: for a third of the tasks, HR completes the task in PeopleForce while
someone closes its issue in Jira; the tick and the webhook jobs then run at
the same time in two workers. Another third is closed in Jira only; the last
third is edited in PeopleForce and stays open.

Checks: raced tasks end completed with done issues; the raced and Jira-closed
pairs caused at most one write each; edits caused one update each; a later
round makes zero writes (and sends nothing to Jira at all).
"""

from __future__ import annotations

import asyncio

from scenarios.harness import SCHEDULE_JOB, Harness, chunks
from scenarios.result import RunContext
from scenarios.steps import sync_tasks

NAME = "echo-loop"
DEFAULT_TASKS = 30


async def run(h: Harness, ctx: RunContext) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    raced, jira_only, edited = chunks(ids, 3)

    h.phase("completing on both sides at once")
    h.fault(f"{len(raced)} tasks completed in PeopleForce while their issues are closed in Jira")
    for task_id in raced:
        h.close_issue(task_id)
        h.complete_task(task_id)
    for task_id in jira_only:
        h.close_issue(task_id)
    for task_id in edited:
        h.edit_task(task_id, description=f"<p>Room {task_id}, floor 2</p>")
    before = sum(h.writes().values())
    await h.deliver()  # the deliveries are queued as jobs: the tick will race them
    h.advance(h.config.round_seconds)
    await h.pool.enqueue_job(SCHEDULE_JOB)
    await asyncio.gather(h.run_jobs(), h.run_jobs())
    await h.settle()
    caused = sum(h.writes().values()) - before
    changes = len(raced) * 2 + len(jira_only) + len(edited)
    ctx.check(
        "writes bounded by the changes",
        caused <= len(raced) + len(jira_only) + len(edited),
        f"{caused} writes for {changes} human changes on {len(ids)} tasks",
    )
    tasks, issues = h.pf.tasks, h.issues_by_task()
    wrong = [
        t
        for t in raced + jira_only
        if not tasks[t]["completed"] or any(i["status_category"] != "done" for i in issues[t])
    ]
    ctx.check("both sides end completed", not wrong, f"{wrong[:10]}")
