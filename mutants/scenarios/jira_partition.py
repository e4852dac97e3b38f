"""jira-partition: creates and completions survive Jira being unreachable.

Guarantees (exactly one issue, convergence): creates that could not reach
Jira are made once after healing, completions in both directions are carried
over, and after healing and one sweep every pair agrees.

Faults: the gateway cannot connect to Jira for four ticks, while HR creates
and completes tasks and people close issues in Jira, so webhook deliveries are
due (and queued by the gateway) while no job can read the issues.

Checks: no issue is created during the partition; after healing and a sweep,
one issue per task, completion agrees, zero writes at rest. With the
``skip_sweep`` knob the sweep is left out (deliveries still arrive, so this
scenario does not need it to converge: it checks the sweep is harmless).
"""

from __future__ import annotations

import random

from gateway.clients.retry import RetryPolicy
from scenarios.harness import Harness, HarnessConfig
from scenarios.result import Knobs, RunContext
from scenarios.steps import split, sync_tasks

NAME = "jira-partition"
DEFAULT_TASKS = 30
PARTITION_TICKS = 4


def config(seed: int, knobs: Knobs) -> HarnessConfig:
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, rng=random.Random(seed))
    return HarnessConfig(seed=seed, retry_policy=policy)


async def run(h: Harness, ctx: RunContext) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    step = max(1, len(ids) // 3)
    completed, closed, _rest = split(ids, step, step)

    h.phase("Jira partitioned")
    issues_before = len(h.issues())
    h.jira_faults.partition("refuse")
    h.fault(f"Jira refuses the gateway's connections for {PARTITION_TICKS} ticks")
    new = [task["id"] for task in h.create_tasks(max(1, len(ids) // 3))]
    for task_id in completed:
        h.complete_task(task_id)
    for task_id in closed:
        h.close_issue(task_id)
    for _ in range(PARTITION_TICKS):
        await h.tick()
        await h.deliver()
        await h.run_jobs(wait_deferred=False)
    _ready, deferred = await h.queued_jobs()
    h.note(f"{deferred} webhook jobs backing off when the partition healed")
    ctx.check(
        "nothing created while unreachable",
        len(h.issues()) == issues_before,
        f"{len(h.issues()) - issues_before} issues appeared",
    )

    h.phase("healed; settling and sweeping")
    h.jira_faults.heal()
    await h.settle()
    if not ctx.knobs.skip_sweep:
        await h.sweep()
    await h.settle()
    issues = h.issues_by_task()
    missing = [t for t in new if len(issues.get(t, [])) != 1]
    ctx.check("tasks created during the partition synced once", not missing, f"{missing[:10]}")
