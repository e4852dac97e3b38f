"""reopened-in-jira: a done issue reopened in Jira follows the domain's reopen policy.

Guarantee (humans cannot break it silently): the documented webhook filter only
delivers done issues and the sweep lists only done issues, so a reopen never
reached the gateway and the policy ``incomplete`` could not fire. The reconciler
also reads the issues of tasks completed within the reopen window: under
``incomplete`` it marks the task incomplete again, under ``leave`` it leaves the
task completed and audits the reopen once (not on every pass).

Faults: people close every issue in Jira (the webhooks complete the tasks), then
reopen half of them with the policy ``incomplete`` and, after switching the
policy to ``leave``, a few more.

Checks: after reconcile passes the ``incomplete`` victims' tasks are open again
and agree with their issues; the ``leave`` victims' tasks stay completed with one
``reopened_from_jira`` event each over two passes (their disagreement is the
policy's, so exempt); one issue per task, zero writes at rest. The
``skip_reconcile`` knob leaves the passes out: the ``incomplete`` victims' tasks
stay completed while their issues are open.
"""

from __future__ import annotations

from collections import Counter

from gateway.models import ReopenPolicy
from scenarios.harness import Harness
from scenarios.result import RunContext
from scenarios.steps import split, sync_tasks

NAME = "reopened-in-jira"
DEFAULT_TASKS = 12


async def _reconcile(h: Harness, ctx: RunContext) -> None:
    if ctx.knobs.skip_reconcile:
        h.note("reconcile pass left out (knob)")
    else:
        await h.reconcile()


async def run(h: Harness, ctx: RunContext) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    h.phase("every issue closed in Jira")
    for task_id in ids:
        h.close_issue(task_id)
    await h.settle()
    incomplete, leave, _rest = split(ids, max(1, len(ids) // 2), max(1, len(ids) // 4))

    h.phase("reopened in Jira under the policy 'incomplete'")
    h.update_domain(reopen_policy=ReopenPolicy.INCOMPLETE)
    for task_id in incomplete:
        h.reopen_issue(task_id)
    h.fault(f"{len(incomplete)} done issues reopened (no webhook fires for a reopen)")
    await h.settle()
    await _reconcile(h, ctx)
    await h.settle()

    h.phase("reopened in Jira under the policy 'leave'")
    h.update_domain(reopen_policy=ReopenPolicy.LEAVE)
    for task_id in leave:
        h.reopen_issue(task_id)
    h.fault(f"{len(leave)} more done issues reopened")
    await _reconcile(h, ctx)
    await _reconcile(h, ctx)
    await h.settle()
    ctx.agreement_exempt.update(leave)

    reopened = [t for t in incomplete if h.pf.get_task(t)["completed"]]
    ctx.check("'incomplete' reopens the task", not reopened, f"still completed: {reopened[:10]}")
    kept = [t for t in leave if not h.pf.get_task(t)["completed"]]
    ctx.check("'leave' keeps the task completed", not kept, f"reopened: {kept[:10]}")
    audited = Counter(e.pf_task_id for e in h.events("reopened_from_jira"))
    wrong = [t for t in leave if audited[t] != 1]
    ctx.check("'leave' audits each reopen once", not wrong, f"{wrong[:10]}")
