"""duplicate-deliveries: five copies of every delivery complete each task once.

Guarantee (exactly once in effect): the ingress deduplicates deliveries by
Jira's identifier and the job acts on current state, so a delivery sent five
times causes one queued job and one completion write per task.

Faults: every webhook delivery is sent five times (the original plus four
duplicates carrying the same identifier), for issues closed by people in Jira
and for the issues the gateway itself moves to done.

Checks: each delivery identifier is accepted (202) once and answered
"duplicate" otherwise; each task closed in Jira is completed in PeopleForce by
exactly one write; tasks completed in PeopleForce get none; completion agrees;
zero writes at rest. With the ``fresh_delivery_ids`` knob (each copy under a new
identifier) the dedupe check fails; with the job also made non-idempotent the
one-write check fails too.
"""

from __future__ import annotations

from collections import Counter

from scenarios.harness import Harness
from scenarios.result import RunContext
from scenarios.steps import completion_writes, split, sync_tasks

NAME = "duplicate-deliveries"
DEFAULT_TASKS = 30


async def run(h: Harness, ctx: RunContext) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    in_jira, in_pf = split(ids, len(ids) // 2)

    h.phase("closing issues with every delivery sent five times")
    h.webhooks.set_faults(duplicate_rate=1.0, duplicate_count=4)
    h.fault("every delivery sent 5 times with the same identifier")
    if h.config.fresh_delivery_ids:
        h.fault("harness: every copy re-sent under a fresh identifier")
    for task_id in in_jira:
        h.close_issue(task_id)
    for task_id in in_pf:
        h.complete_task(task_id)
    await h.settle()
    h.webhooks.clear_faults()

    accepted: Counter[str] = Counter(r.identifier for r in h.webhooks.log if r.status == 202)
    repeated = sorted(i for i, n in accepted.items() if n > 1)
    ctx.check(
        "each delivery queued once",
        bool(accepted) and not repeated,
        f"{len(repeated)} identifiers accepted more than once",
    )
    writes = completion_writes(h)
    wrong = {t: writes.get(t, 0) for t in in_jira if writes.get(t, 0) != 1}
    wrong |= {t: writes[t] for t in in_pf if writes.get(t, 0)}
    ctx.check(
        "one completion write per task",
        not wrong,
        f"completion writes by task (want 1 for Jira-closed, 0 for PF-completed): "
        f"{dict(list(wrong.items())[:10])}",
    )
