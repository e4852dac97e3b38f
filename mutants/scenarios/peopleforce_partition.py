"""peopleforce-partition: nothing is lost or duplicated while PeopleForce is unreachable.

Guarantees (nothing accepted is lost, exactly one issue, no loops): changes
made while the gateway cannot reach PeopleForce are all synced once it heals,
with no duplicate issue, and the system returns to zero writes at rest.

Faults: PeopleForce refuses every connection for five ticks. Meanwhile HR
creates tasks, edits and completes existing ones, and people close issues in
Jira (the webhook jobs cannot complete the tasks and back off).

Checks: ticks fail during the partition and no issue is created from a
half-read task list; after healing, new tasks have one issue each, edits reach
their issues, completions agree both ways, zero writes at rest.
"""

from __future__ import annotations

import random

from gateway.clients.retry import RetryPolicy
from scenarios.harness import Harness, HarnessConfig
from scenarios.result import Knobs, RunContext
from scenarios.steps import split, sync_tasks

NAME = "peopleforce-partition"
DEFAULT_TASKS = 30
PARTITION_TICKS = 5


def config(seed: int, knobs: Knobs) -> HarnessConfig:
    # A refused connection is retried a few times per call, then the tick gives up.
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, rng=random.Random(seed))
    return HarnessConfig(seed=seed, retry_policy=policy)


async def run(h: Harness, ctx: RunContext) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    step = max(1, len(ids) // 4)
    edited, completed, closed, _rest = split(ids, step, step, step)

    h.phase("PeopleForce partitioned")
    issues_before = len(h.issues())
    failures_before = len(h.events("tick_failed"))
    h.pf_faults.partition("refuse")
    h.fault(f"PeopleForce refuses connections for {PARTITION_TICKS} ticks")
    new = [task["id"] for task in h.create_tasks(max(1, len(ids) // 3))]
    for task_id in edited:
        h.edit_task(task_id, title=f"{h.pf.get_task(task_id)['title']} (moved)")
    for task_id in completed:
        h.complete_task(task_id)
    for task_id in closed:
        h.close_issue(task_id)
    for _ in range(PARTITION_TICKS):
        await h.tick()
        await h.deliver()
        await h.run_jobs(wait_deferred=False)
    failed = len(h.events("tick_failed")) - failures_before
    ctx.check(
        "ticks failed while partitioned",
        failed >= PARTITION_TICKS,
        f"{failed} failed ticks during {PARTITION_TICKS}",
    )
    ctx.check(
        "nothing created from a partial view",
        len(h.issues()) == issues_before,
        f"{len(h.issues()) - issues_before} issues created during the partition",
    )

    h.phase("healed; settling")
    h.pf_faults.heal()
    await h.settle()
    issues = h.issues_by_task()
    missing = [t for t in new if len(issues.get(t, [])) != 1]
    ctx.check("tasks created during the partition synced once", not missing, f"{missing[:10]}")
    stale = [
        t
        for t in edited
        if not any(i["summary"] == h.pf.get_task(t)["title"] for i in issues.get(t, []))
    ]
    ctx.check("edits made during the partition reached Jira", not stale, f"{stale[:10]}")
