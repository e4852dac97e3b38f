"""late-completion: a task completed long after it was created is confirmed in one tick.

Guarantee (convergence, bounded cost): PeopleForce has no read by id and no
documented order, so a task that left the open list is looked for in the
completed list, which grows forever. The gateway reads that list until it has
found the task, or to its end, once; it never gives up after a fixed number of
pages, and never pays a long read again on every tick for the same task.

Faults: a few tasks are synced; weeks pass in which 5 000 other tasks are created
and completed (they are newer, so in PeopleForce's id-descending order they all
come before the old task); then the old task is completed.

Checks: the old task's issue is done after one tick; that tick read at most the
whole completed list once (``ceil(completed / page size) + 1`` requests); the
next 10 ticks read no completed page; one issue per task, completion agrees,
zero writes at rest.
"""

from __future__ import annotations

import math

from scenarios.harness import Harness
from scenarios.result import RunContext
from scenarios.steps import sync_tasks

NAME = "late-completion"
DEFAULT_TASKS = 4
COMPLETED_BEFORE = 5000
QUIET_TICKS = 10
WEEKS = 6


async def run(h: Harness, ctx: RunContext) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    old = ids[0]

    h.phase(f"{WEEKS} weeks of work: {COMPLETED_BEFORE} tasks created and completed")
    h.advance(WEEKS * 7 * 86400)
    for n in range(COMPLETED_BEFORE):
        h.pf.create_task(f"Finished chore {n}", completed=True)
    h.fault(f"{COMPLETED_BEFORE} completed tasks ahead of the old one in the completed list")

    h.phase("the old task is completed")
    h.complete_task(old)
    before = _completed_reads(h)
    await h.tick()
    done = h.issue_of(old)["status_category"] == "done"
    ctx.check("the old task's issue is done after one tick", done, "")
    reads = _completed_reads(h) - before
    bound = math.ceil((COMPLETED_BEFORE + 1) / h.config.page_size) + 1
    ctx.check(
        "the completed list read at most once", reads <= bound, f"{reads} pages, bound {bound}"
    )

    before = _completed_reads(h)
    for _ in range(QUIET_TICKS):
        await h.round()
    again = _completed_reads(h) - before
    ctx.check(
        f"no completed page read in the next {QUIET_TICKS} ticks", again == 0, f"{again} pages"
    )


def _completed_reads(h: Harness) -> int:
    return sum(
        1
        for r in h.requests("peopleforce")
        if r.method == "GET" and r.endpoint.endswith("/tasks") and "completed=true" in r.query
    )
