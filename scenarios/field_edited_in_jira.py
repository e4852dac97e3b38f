"""field-edited-in-jira: a field the gateway writes, edited by a person, follows the policy.

Guarantee (humans cannot break it silently; no loops): the gateway sends Jira only
what changed in the task since it last wrote, so a summary a person edits in Jira
would silently stay as edited. The reconciler compares every gateway-owned field
with what was last written: under the policy ``leave`` (the default) the edit
stands and is audited once (not on every pass, and with no write); under
``overwrite`` the task's value is written back, audited.

Faults: with the policy ``leave`` people rename a third of the issues in Jira;
after switching to ``overwrite`` they rename (and re-date) a third more.

Checks: the ``leave`` victims keep the person's summary with one
``field_edited_in_jira`` event each over two passes; the ``overwrite`` victims
carry the task's title again, audited, while a due date the gateway never wrote
stays the person's (an edit already left stays left after the switch: a drift is
handled once); one issue per task,
completion agrees, zero writes at rest. The ``skip_reconcile`` knob leaves the
passes out: no edit is audited and the ``overwrite`` victims keep the person's
summary.
"""

from __future__ import annotations

from collections import Counter

from gateway.models import EditedFieldPolicy
from scenarios.harness import Harness
from scenarios.result import RunContext
from scenarios.steps import split, stale_titles, sync_tasks

NAME = "field-edited-in-jira"
DEFAULT_TASKS = 12
EDITED = "Renamed in Jira by a person"
PERSON_DATE = "2031-01-31"


async def _reconcile(h: Harness, ctx: RunContext) -> None:
    if ctx.knobs.skip_reconcile:
        h.note("reconcile pass left out (knob)")
    else:
        await h.reconcile()


async def run(h: Harness, ctx: RunContext) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    left, overwritten, _rest = split(ids, max(1, len(ids) // 3), max(1, len(ids) // 3))

    h.phase("summaries edited in Jira under the policy 'leave'")
    for task_id in left:
        h.edit_issue(task_id, summary=EDITED)
    h.fault(f"{len(left)} summaries edited in Jira")
    await _reconcile(h, ctx)
    await _reconcile(h, ctx)
    await h.settle()
    kept = [t for t in left if h.issue_of(t)["summary"] != EDITED]
    ctx.check("'leave' keeps the person's edit", not kept, f"{kept[:10]}")
    audited = Counter(e.pf_task_id for e in h.events("field_edited_in_jira"))
    wrong = [t for t in left if audited[t] != 1]
    ctx.check("'leave' audits each edit once", not wrong, f"{wrong[:10]}")

    h.phase("summaries and due dates edited in Jira under the policy 'overwrite'")
    h.update_domain(edited_field_policy=EditedFieldPolicy.OVERWRITE)
    for task_id in overwritten:
        h.edit_issue(task_id, summary=EDITED, duedate=PERSON_DATE)
    h.fault(f"{len(overwritten)} summaries and due dates edited in Jira")
    await _reconcile(h, ctx)
    await h.settle()
    behind = stale_titles(h, overwritten)
    ctx.check("'overwrite' writes the task's title back", not behind, f"{behind[:10]}")
    states = h.states()
    expected = {
        t: (states[t].last_synced_fields or {}).get("duedate", PERSON_DATE) for t in overwritten
    }
    wrong = [t for t in overwritten if h.issue_of(t)["duedate"] != expected[t]]
    ctx.check("'overwrite' touches only fields the gateway writes", not wrong, f"{wrong[:10]}")
    audited = Counter(e.pf_task_id for e in h.events("field_edited_in_jira"))
    wrong = [t for t in overwritten if audited[t] != 1]
    ctx.check("'overwrite' audits each edit", not wrong, f"{wrong[:10]}")
