"""label-removed: a tracking label removed in Jira is put back, and the return path with it.

Guarantee (humans cannot break it silently; convergence): the webhook filter
(``labels = PeopleForce AND statusCategory = Done``) and the sweep find issues by
the tracking label, so a person who strips it cuts the issue's way back to
PeopleForce. The reconciler reads every tracked issue by id, not by label: it
restores the label (audited) and completes the task of an issue closed meanwhile.

Faults: people strip the label from a third of the issues, then close half of
those in Jira - no webhook fires (the filter needs the label) and the sweep, run
too, cannot see them.

Checks: after one reconcile pass every victim carries the label again, with one
``label_restored`` event each, and every closed victim's task is completed; one
issue per task, completion agrees, zero writes at rest. The ``skip_reconcile``
knob leaves the pass out: the labels stay off and the closed victims' tasks stay
open, so the pairs disagree.
"""

from __future__ import annotations

from collections import Counter

from scenarios.harness import Harness
from scenarios.result import RunContext
from scenarios.steps import split, sync_tasks

NAME = "label-removed"
DEFAULT_TASKS = 12
LABEL = "PeopleForce"


async def run(h: Harness, ctx: RunContext) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    victims, _rest = split(ids, max(2, len(ids) // 3))
    closed = victims[: max(1, len(victims) // 2)]

    h.phase("labels removed in Jira, then some of those issues closed")
    for task_id in victims:
        h.remove_label(task_id)
    for task_id in closed:
        h.close_issue(task_id)
    h.fault(f"label removed from {len(victims)} issues; {len(closed)} of them closed")
    await h.settle()
    await h.sweep()

    if ctx.knobs.skip_reconcile:
        h.note("reconcile pass left out (knob)")
    else:
        h.phase("one reconcile pass")
        await h.reconcile()
    await h.settle()

    unlabelled = [t for t in victims if LABEL not in h.issue_of(t)["labels"]]
    ctx.check("labels restored", not unlabelled, f"still without the label: {unlabelled[:10]}")
    restored = Counter(e.pf_task_id for e in h.events("label_restored"))
    wrong = [t for t in victims if restored[t] != 1]
    ctx.check("each restore audited once", not wrong, f"{wrong[:10]}")
    still_open = [t for t in closed if not h.pf.get_task(t)["completed"]]
    ctx.check("closed victims completed", not still_open, f"still open: {still_open[:10]}")
