"""schema-drift: a newly required field dead-letters only the affected tasks; replay fixes them.

Guarantee (nothing accepted is lost): a create Jira refuses with 400 lands in
DeadLetter with Jira's message, is not retried blindly on every tick, leaves
every other task syncing, and succeeds when replayed after the admin fixes
the rule.

Faults: after the initial sync the admin of Jira makes ``priority`` required
for Task issues in project HR. HR keeps creating tasks (some routed to IT by
a rule, the rest to HR) and completing IT tasks.

Checks: exactly the new HR tasks are dead-lettered, with status 400 and the
field named; the new IT tasks sync and the IT completions reach Jira; a tick
sends no create for dead tasks; after a rule maps a priority for HR tasks,
replaying every dead letter syncs each task once and closes the letters; one
issue per task, completion agrees, zero writes at rest.
"""

from __future__ import annotations

import re

from gateway.models import MappingKind, SyncStatus
from scenarios.harness import Harness
from scenarios.result import RunContext
from scenarios.steps import sync_tasks

NAME = "schema-drift"
DEFAULT_TASKS = 20
IT_TITLES = "(?i)accounts|badge"
CREATE_ENDPOINT = "/rest/api/3/issue"


async def run(h: Harness, ctx: RunContext) -> None:
    h.add_rule(
        "accounts and badges to IT",
        [{"path": "title", "op": "regex", "value": IT_TITLES}],
        project="IT",
        issue_type="Task",
        priority=20,
    )
    base = await sync_tasks(h, ctx.tasks // 2, ctx)

    h.phase("Jira starts requiring a field")
    h.jira.require_field("HR", "Task", "priority")
    h.fault("project HR starts requiring priority on Task")
    new = [task["id"] for task in h.create_tasks(ctx.tasks - len(base))]
    routed_it = {t for t in base + new if _is_it(h, t)}
    completed_it = [t for t in base if t in routed_it]
    for task_id in completed_it:
        h.complete_task(task_id)
    await h.settle()

    hr_new = {t for t in new if t not in routed_it}
    letters = [d for d in h.dead_letters() if d.replayed_at is None]
    lettered = {d.pf_task_id for d in letters}
    ctx.check(
        "exactly the affected tasks dead-lettered",
        lettered == hr_new,
        f"dead letters {sorted(t for t in lettered if t)}, affected {sorted(hr_new)}",
    )
    ctx.check(
        "Jira's message kept",
        all(d.error_status == 400 and "priority" in d.error_message.lower() for d in letters),
        "a letter lacks status 400 or the field",
    )
    issues = h.issues_by_task()
    unsynced = [t for t in new if t in routed_it and len(issues.get(t, [])) != 1]
    ctx.check("the rest keep syncing", not unsynced, f"IT tasks without an issue: {unsynced}")
    before = _creates(h)
    await h.round()
    retried = _creates(h) - before
    ctx.check("dead tasks are not retried every tick", retried == 0, f"{retried} creates sent")

    h.phase("the admin fixes the rule; dead letters replayed")
    h.add_rule(
        "HR tasks carry a priority",
        [],
        project="HR",
        issue_type="Task",
        priority=50,
        mappings=(("priority", MappingKind.STATIC, '{"name": "Medium"}'),),
    )
    for letter in letters:
        assert letter.id is not None
        await h.replay(letter.id)
    await h.settle()
    still_open = [d.id for d in h.dead_letters() if d.replayed_at is None]
    ctx.check("replay succeeds", not still_open, f"letters still open: {still_open}")
    states = h.states()
    wrong = [t for t in hr_new if states[t].status != SyncStatus.SYNCED]
    ctx.check("replayed tasks synced", not wrong, f"{wrong}")


def _is_it(h: Harness, task_id: int) -> bool:
    return re.search(IT_TITLES, h.pf.get_task(task_id)["title"]) is not None


def _creates(h: Harness) -> int:
    return sum(
        1 for r in h.requests("jira") if r.method == "POST" and r.endpoint == CREATE_ENDPOINT
    )
