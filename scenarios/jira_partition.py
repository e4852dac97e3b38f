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

import functools

from scenarios.harness import Harness
from scenarios.result import RunContext
from scenarios.steps import (
    finish_work,
    not_synced_once,
    partition_config,
    split,
    sync_tasks,
    through_partition,
)

NAME = "jira-partition"
DEFAULT_TASKS = 30
PARTITION_TICKS = 4


config = partition_config


async def run(h: Harness, ctx: RunContext) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    step = max(1, len(ids) // 3)
    completed, closed, _rest = split(ids, step, step)

    h.phase("Jira partitioned")
    h.fault(f"Jira refuses the gateway's connections for {PARTITION_TICKS} ticks")
    new, created = await through_partition(
        h,
        h.jira_faults,
        PARTITION_TICKS,
        new_tasks=max(1, len(ids) // 3),
        act=functools.partial(finish_work, h, in_pf=completed, in_jira=closed),
    )
    _ready, deferred = await h.queued_jobs()
    h.note(f"{deferred} webhook jobs backing off when the partition healed")
    ctx.check("nothing created while unreachable", not created, f"{created} issues appeared")

    h.phase("healed; settling and sweeping")
    h.jira_faults.heal()
    await h.settle()
    if not ctx.knobs.skip_sweep:
        await h.sweep()
    await h.settle()
    missing = not_synced_once(h, new)
    ctx.check("tasks created during the partition synced once", not missing, f"{missing[:10]}")
