"""lost-webhooks: one sweep repairs every completion whose webhook was lost.

Guarantee (convergence): once faults stop and one sweep has run, every task
agrees with its issue, whatever deliveries were lost; the sweep's repair count
equals the number of lost completions, because each repair is a lost webhook.

Faults: while people close the first half of the issues in Jira, 100 % of the
webhook deliveries are dropped; while they close the second half, 30 %.

Checks: no lost completion is repaired by ticks alone (PeopleForce tasks stay
open until the sweep); right after one sweep every pair agrees; the sweep's
repairs equal the losses; one issue per task; zero writes at rest. With the
``skip_sweep`` knob the scenario must FAIL.
"""

from __future__ import annotations

from scenarios.checks import disagreeing_tasks, repairs_reported
from scenarios.harness import Harness
from scenarios.result import RunContext
from scenarios.steps import lost_issue_ids, split, sync_tasks

NAME = "lost-webhooks"
DEFAULT_TASKS = 40


async def run(h: Harness, ctx: RunContext) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    first, second = split(ids, len(ids) // 2)

    h.phase("closing issues while deliveries are lost")
    h.webhooks.set_faults(drop_rate=1.0)
    h.fault(f"100% of deliveries dropped while {len(first)} issues are closed")
    closed = [h.close_issue(t) for t in first]
    h.webhooks.set_faults(drop_rate=0.3)
    h.fault(f"30% of deliveries dropped while {len(second)} issues are closed")
    closed += [h.close_issue(t) for t in second]
    await h.deliver()
    await h.run_jobs()
    h.webhooks.clear_faults()
    lost = lost_issue_ids(h, closed)
    h.note(f"{len(lost)} of {len(closed)} completions lost")

    await h.settle()
    open_before = len(disagreeing_tasks(h))
    ctx.check(
        "ticks alone do not repair lost completions",
        open_before == len(lost),
        f"{open_before} disagreeing pairs before the sweep, {len(lost)} losses",
    )

    if not ctx.knobs.skip_sweep:
        h.phase("one sweep")
        await h.sweep()
    else:
        h.note("sweep skipped (knob)")
    wrong = disagreeing_tasks(h)
    ctx.check(
        "every pair agrees after one sweep",
        not wrong,
        f"{len(wrong)} tasks still disagree: {wrong[:10]}",
    )
    repairs = repairs_reported(h)
    ctx.check("repairs equal losses", repairs == len(lost), f"{repairs} repairs, {len(lost)} lost")
    await h.settle()
