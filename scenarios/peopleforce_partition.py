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

from scenarios.harness import Harness
from scenarios.result import RunContext
from scenarios.steps import (
    finish_work,
    not_synced_once,
    partition_config,
    retitle,
    split,
    stale_titles,
    sync_tasks,
    through_partition,
)

NAME = "peopleforce-partition"
DEFAULT_TASKS = 30
PARTITION_TICKS = 5


config = partition_config


async def run(h: Harness, ctx: RunContext) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    step = max(1, len(ids) // 4)
    edited, completed, closed, _rest = split(ids, step, step, step)

    h.phase("PeopleForce partitioned")
    failures_before = len(h.events("tick_failed"))
    h.fault(f"PeopleForce refuses connections for {PARTITION_TICKS} ticks")

    def act() -> None:
        retitle(h, edited, "(moved)")
        finish_work(h, in_pf=completed, in_jira=closed)

    new, created = await through_partition(
        h, h.pf_faults, PARTITION_TICKS, new_tasks=max(1, len(ids) // 3), act=act
    )
    failed = len(h.events("tick_failed")) - failures_before
    ctx.check(
        "ticks failed while partitioned",
        failed >= PARTITION_TICKS,
        f"{failed} failed ticks during {PARTITION_TICKS}",
    )
    ctx.check(
        "nothing created from a partial view",
        not created,
        f"{created} issues created during the partition",
    )

    h.phase("healed; settling")
    h.pf_faults.heal()
    await h.settle()
    missing = not_synced_once(h, new)
    ctx.check("tasks created during the partition synced once", not missing, f"{missing[:10]}")
    stale = stale_titles(h, edited)
    ctx.check("edits made during the partition reached Jira", not stale, f"{stale[:10]}")
