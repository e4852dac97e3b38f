"""issue-moved: a mapping follows its issue to another project.

Guarantee (humans cannot break it silently): moving an issue gives it a new key
in the target project; its id stays. Nothing in Jira tells the gateway about an
open issue that moved (the webhook filter wants done issues), so the admin UI,
the audit log and every search by key would name a key that is no longer the
issue's. The reconciler reads tracked issues by id and records the new key
(audited); the gateway keeps writing to the issue by id meanwhile.

Faults: people move a third of the issues from HR to IT; HR then edits some of
those tasks, and people close a couple of the moved issues in Jira.

Checks: after one reconcile pass every mapping names its issue's current key, one
``issue_moved`` event per move; the edits reached the moved issues; one issue per
task, completion agrees, zero writes at rest. The ``skip_reconcile`` knob leaves
the pass out: the open moved issues keep their old keys in the ledger.
"""

from __future__ import annotations

from collections import Counter

from scenarios.harness import Harness
from scenarios.result import RunContext
from scenarios.steps import retitle, split, stale_titles, sync_tasks

NAME = "issue-moved"
DEFAULT_TASKS = 12


async def run(h: Harness, ctx: RunContext) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    moved, _rest = split(ids, max(3, len(ids) // 3))
    edited, closed = moved[: len(moved) // 2], moved[-1:]

    h.phase("issues moved to another project")
    for task_id in moved:
        h.move_issue(task_id, "IT")
    h.fault(f"{len(moved)} issues moved from HR to IT (new keys)")
    retitle(h, edited, "(moved)")
    for task_id in closed:
        h.close_issue(task_id)
    await h.settle()

    if ctx.knobs.skip_reconcile:
        h.note("reconcile pass left out (knob)")
    else:
        h.phase("one reconcile pass")
        await h.reconcile()
    await h.settle()

    states = h.states()
    stale = [t for t in moved if states[t].jira_issue_key != h.issue_of(t)["key"]]
    ctx.check("mappings follow the new keys", not stale, f"old keys kept for {stale[:10]}")
    audited = Counter(e.pf_task_id for e in h.events("issue_moved"))
    open_moved = [t for t in moved if t not in closed]
    wrong = [t for t in open_moved if audited[t] != 1]
    ctx.check("each move audited once", not wrong, f"{wrong[:10]}")
    behind = stale_titles(h, edited)
    ctx.check("edits reach the moved issues", not behind, f"{behind[:10]}")
