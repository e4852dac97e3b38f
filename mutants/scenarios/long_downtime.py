"""long-downtime: three days with the gateway down are repaired by the next sweep.

Guarantee (convergence): the sweep's window covers the whole time since the
last successful sweep, so completions made in Jira while the gateway was down
for days - whose webhooks Jira gave up on - are all repaired by the next
scheduled sweep.

Faults: after a successful sweep, the gateway (API and workers) is down for
three simulated days. Each day people close a third of the issues; every
delivery fails and Jira gives up after its retries. HR also completes tasks
and creates new ones meanwhile.

Checks: the scheduler starts the overdue daily sweep by itself; right after it
every pair agrees; its repairs equal the completions whose deliveries all
failed; one issue per task, zero writes at rest. With ``skip_sweep`` (the
daily sweep is pushed past the end of the run) the scenario must FAIL.
"""

from __future__ import annotations

from datetime import timedelta

from scenarios.checks import disagreeing_tasks
from scenarios.harness import Harness, chunks
from scenarios.result import RunContext
from scenarios.steps import lost_issue_ids, split, sync_tasks

NAME = "long-downtime"
DEFAULT_TASKS = 30
DAY = 24 * 3600


async def run(h: Harness, ctx: RunContext) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    await h.sweep()  # the last successful sweep before the outage
    h.advance(3600)
    closing, completing, _rest = split(ids, (2 * len(ids)) // 3, max(1, len(ids) // 6))

    h.phase("the gateway is down for three days")
    h.stop_api()
    h.fault("gateway API and workers down for 3 simulated days")
    closed: list[str] = []
    for day, group in enumerate(chunks(closing, 3)):
        closed += [h.close_issue(t) for t in group]
        if day == 1:
            for task_id in completing:
                h.complete_task(task_id)
            h.create_tasks(max(1, len(ids) // 6))
        await h.deliver()  # every attempt fails; Jira retries, then gives up
        h.advance(DAY)
    lost = lost_issue_ids(h, closed)
    h.fault(f"{len(lost)} deliveries abandoned by Jira after its retries")

    h.phase("back up: the scheduler finds the daily sweep overdue")
    h.start_api()
    if ctx.knobs.skip_sweep:
        h.update_domain(next_sweep_at=h.now() + timedelta(days=30))
        h.note("daily sweep pushed past the run (knob)")
    await h.tick()
    sweeps = h.events("sweep")
    last = sweeps[-1].details or {} if len(sweeps) > 1 else {}
    wrong = disagreeing_tasks(h)
    ctx.check("every pair agrees after the first sweep", not wrong, f"{wrong[:10]}")
    ctx.check(
        "its repairs equal the lost completions",
        last.get("repaired") == len(lost),
        f"repaired {last.get('repaired')}, lost {len(lost)}, "
        f"window {last.get('window_minutes')} min",
    )
    await h.settle()
